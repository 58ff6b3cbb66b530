/* baselines.c - best labelled designs, random pool designs, and gradient
 * ascent of a surrogate with NLopt (the baseline that leaves the support:
 * nothing here keeps it on the data, on purpose). */
#include <math.h>
#include <nlopt.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "optimizer/baselines.h"

int genbo__bounding_box(size_t dim, const double *A, size_t na, const double *B, size_t nb,
                        double *lo, double *hi) {
    if (!A || na == 0 || dim == 0 || !lo || !hi)
        return genbo__fail(GENBO_EINVAL, "bounding box: no designs");
    for (size_t j = 0; j < dim; j++) lo[j] = INFINITY, hi[j] = -INFINITY;
    for (int pass = 0; pass < 2; pass++) {
        const double *M = pass ? B : A;
        size_t m = pass ? (B ? nb : 0) : na;
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < dim; j++) {
                double v = M[i * dim + j];
                if (!isfinite(v))
                    return genbo__fail(GENBO_EINVAL, "bounding box: %s design %zu, column %zu is %g",
                                       pass ? "pool" : "labelled", i, j, v);
                if (v < lo[j]) lo[j] = v;
                if (v > hi[j]) hi[j] = v;
            }
    }
    return GENBO_OK;
}

int genbo__best_labelled(const double *label_X, const double *label_y, size_t n_label,
                         size_t dim, size_t n, double *out) {
    if (!label_X || !label_y || n_label == 0 || dim == 0 || !out)
        return genbo__fail(GENBO_EINVAL, "best labelled: no labelled designs");
    genbo__ranked *r = genbo__malloc(n_label * sizeof *r);
    if (!r) return GENBO_ENOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n_label; i++)
        if (isfinite(label_y[i])) r[m++] = (genbo__ranked){label_y[i], i};
    if (m == 0) {
        free(r);
        return genbo__fail(GENBO_EINVAL, "best labelled: no finite labelled reward");
    }
    genbo__rank_desc(r, m);
    for (size_t k = 0; k < n; k++)
        memcpy(out + k * dim, label_X + r[k % m].i * dim, dim * sizeof *out);
    free(r);
    return GENBO_OK;
}

int genbo__random_pool(const double *pool_X, size_t n_pool, size_t dim, size_t n, uint64_t seed,
                       double *out) {
    if (!pool_X || n_pool == 0 || dim == 0 || !out)
        return genbo__fail(GENBO_EINVAL, "random search: empty pool");
    genbo__rng r;
    genbo__rng_seed(&r, seed, 0x72616e64); /* "rand" stream */
    if (n > n_pool) {
        for (size_t k = 0; k < n; k++)
            memcpy(out + k * dim, pool_X + genbo__rng_below(&r, n_pool) * dim, dim * sizeof *out);
        return GENBO_OK;
    }
    /* Without replacement: Floyd's algorithm would need a set; a partial
     * Fisher-Yates over an index array is simple and O(n_pool) memory. */
    size_t *idx = genbo__malloc(n_pool * sizeof *idx);
    if (!idx) return GENBO_ENOMEM;
    for (size_t i = 0; i < n_pool; i++) idx[i] = i;
    genbo__rng_shuffle_prefix(&r, idx, n_pool, n);
    for (size_t k = 0; k < n; k++) memcpy(out + k * dim, pool_X + idx[k] * dim, dim * sizeof *out);
    free(idx);
    return GENBO_OK;
}

/* NLopt callback state: the objective plus the best point seen, kept
 * because L-BFGS may end on a failure status after real progress. */
typedef struct ascent_state {
    genbo__objective_fn f;
    void *ctx;
    size_t dim;
    nlopt_opt opt;
    int status;      /* first error of the objective */
    double best_f;
    double *best_x;
    double *grad;    /* scratch when NLopt asks for no gradient */
} ascent_state;

static double ascent_objective(unsigned n, const double *x, double *grad, void *data) {
    ascent_state *s = data;
    double f = 0;
    int rc = s->f(s->ctx, n, x, &f, grad ? grad : s->grad);
    if (rc == GENBO_OK && !isfinite(f))
        rc = genbo__fail(GENBO_ENUMERIC, "surrogate ascent: objective is %g", f);
    if (rc != GENBO_OK) {
        if (s->status == GENBO_OK) s->status = rc;
        nlopt_force_stop(s->opt);
        return -HUGE_VAL;
    }
    if (f > s->best_f) {
        s->best_f = f;
        memcpy(s->best_x, x, n * sizeof *x);
    }
    return f;
}

int genbo__surrogate_ascent(genbo__objective_fn f, void *ctx, size_t dim, const double *starts,
                            size_t n, const double *lo, const double *hi, int max_evals,
                            double *out, double *out_f) {
    if (!f || !starts || !lo || !hi || !out || dim == 0 || n == 0)
        return genbo__fail(GENBO_EINVAL, "surrogate ascent: missing input");
    for (size_t j = 0; j < dim; j++)
        if (!(lo[j] <= hi[j]))
            return genbo__fail(GENBO_EINVAL, "surrogate ascent: empty box in column %zu", j);
    if (max_evals <= 0) max_evals = GENBO__ASCENT_MAX_EVALS;
    nlopt_opt opt = nlopt_create(NLOPT_LD_LBFGS, (unsigned)dim);
    double *x = genbo__malloc(dim * sizeof *x), *bx = genbo__malloc(dim * sizeof *bx);
    double *g = genbo__malloc(dim * sizeof *g);
    if (!opt || !x || !bx || !g) {
        if (opt) nlopt_destroy(opt);
        free(x), free(bx), free(g);
        return opt ? GENBO_ENOMEM : genbo__fail(GENBO_ENOMEM, "surrogate ascent: nlopt_create");
    }
    ascent_state s = {f, ctx, dim, opt, GENBO_OK, -HUGE_VAL, bx, g};
    nlopt_set_lower_bounds(opt, lo);
    nlopt_set_upper_bounds(opt, hi);
    nlopt_set_max_objective(opt, ascent_objective, &s);
    nlopt_set_maxeval(opt, max_evals);
    nlopt_set_xtol_rel(opt, 1e-10);
    nlopt_set_ftol_rel(opt, 1e-12);
    int rc = GENBO_OK;
    for (size_t i = 0; i < n && rc == GENBO_OK; i++) {
        for (size_t j = 0; j < dim; j++) {
            double v = starts[i * dim + j];
            x[j] = v < lo[j] ? lo[j] : v > hi[j] ? hi[j] : v;
        }
        /* the start itself is the fallback: evaluate it first */
        s.best_f = -HUGE_VAL;
        memcpy(bx, x, dim * sizeof *x);
        ascent_objective((unsigned)dim, x, NULL, &s);
        if (s.status != GENBO_OK) {
            rc = s.status;
            break;
        }
        double fx;
        nlopt_result r = nlopt_optimize(opt, x, &fx);
        if (s.status != GENBO_OK) rc = s.status;
        else if (r == NLOPT_OUT_OF_MEMORY)
            rc = genbo__fail(GENBO_ENOMEM, "surrogate ascent: NLopt out of memory");
        /* other NLopt failures (round-off, line search) keep the best point */
        memcpy(out + i * dim, bx, dim * sizeof *bx);
        if (out_f) out_f[i] = s.best_f;
    }
    nlopt_destroy(opt);
    free(x), free(bx), free(g);
    return rc;
}

/* ---- surrogate ascent on a learned reward model ----------------------------- */

static int reward_objective(void *ctx, size_t dim, const double *x, double *f, double *grad) {
    (void)dim;
    const genbo_reward *m = ctx;
    int rc = genbo_reward_predict(m, 1, x, f, NULL);
    if (rc == GENBO_OK && grad) rc = genbo_reward_gradient(m, 1, x, grad);
    return rc;
}

int genbo__surrogate_ascent_reward(const genbo_reward *m, const double *label_X,
                                   const double *label_y, size_t n_label, const double *pool_X,
                                   size_t n_pool, size_t dim, size_t n, int max_evals,
                                   double *out) {
    if (!m) return genbo__fail(GENBO_EINVAL, "surrogate ascent: no reward model");
    if (genbo_reward_dim(m) != dim)
        return genbo__fail(GENBO_EINVAL, "surrogate ascent: reward model has dim %zu, data %zu",
                           genbo_reward_dim(m), dim);
    double *lo = genbo__malloc(dim * sizeof *lo), *hi = genbo__malloc(dim * sizeof *hi);
    double *starts = genbo__malloc(n * dim * sizeof *starts);
    int rc = (lo && hi && starts) ? GENBO_OK : GENBO_ENOMEM;
    if (rc == GENBO_OK) rc = genbo__bounding_box(dim, label_X, n_label, pool_X, n_pool, lo, hi);
    if (rc == GENBO_OK) rc = genbo__best_labelled(label_X, label_y, n_label, dim, n, starts);
    if (rc == GENBO_OK)
        rc = genbo__surrogate_ascent(reward_objective, (void *)m, dim, starts, n, lo, hi,
                                     max_evals, out, NULL);
    free(lo), free(hi), free(starts);
    return rc;
}
