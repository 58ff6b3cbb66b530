/* reward.c - the public reward-model API: parameter defaults, input checks,
 * standardisation, dispatch to ridge.c / gp.c, and the description text. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/fields.h"
#include "reward/reward.h"

void genbo_reward_params_default(genbo_reward_params *p) {
    memset(p, 0, sizeof *p);
    p->kind = GENBO_REWARD_RIDGE;
    p->lambda_select = GENBO_LAMBDA_GCV;
    p->lambda = 1e-3;
    p->kfold = 5;
    p->kernel = GENBO_KERNEL_RBF;
    p->ard = 0;
    p->max_evals = 200;
    p->restarts = 2;
    p->seed = 1;
}

genbo_reward *genbo__reward_alloc(genbo_reward_kind kind, size_t d) {
    genbo_reward *m = genbo__calloc(1, sizeof *m);
    if (!m) return NULL;
    m->kind = kind;
    m->d = d;
    m->x_mean = genbo__calloc(d, sizeof(double));
    m->x_sd = genbo__calloc(d, sizeof(double));
    if (!m->x_mean || !m->x_sd) {
        genbo_reward_free(m);
        return NULL;
    }
    return m;
}

void genbo_reward_free(genbo_reward *m) {
    if (!m) return;
    free(m->x_mean);
    free(m->x_sd);
    free(m->ridge.theta);
    free(m->ridge.ainv);
    free(m->ridge.vt);
    free(m->ridge.shrink);
    free(m->gp.ell);
    free(m->gp.xs);
    free(m->gp.xs_sq);
    free(m->gp.alpha);
    free(m->gp.chol);
    free(m);
}

size_t genbo_reward_dim(const genbo_reward *m) { return m ? m->d : 0; }

genbo_reward_kind genbo_reward_get_kind(const genbo_reward *m) {
    return m ? m->kind : GENBO_REWARD_RIDGE;
}

const char *genbo_reward_describe(const genbo_reward *m) { return m ? m->desc : ""; }

void genbo__reward_standardise_fit(genbo_reward *m, size_t n, const double *X) {
    genbo__column_stats(n, NULL, m->d, X, 0, m->x_mean, m->x_sd);
}

void genbo__reward_standardise(const genbo_reward *m, size_t n, const double *X, double *Z) {
    size_t d = m->d;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) Z[i * d + j] = (X[i * d + j] - m->x_mean[j]) / m->x_sd[j];
}

size_t genbo__reward_block_rows(size_t n_train) {
    size_t rows = GENBO_REWARD_BLOCK_ELEMS / (n_train ? n_train : 1);
    if (rows > GENBO_REWARD_BLOCK_MAX_ROWS) rows = GENBO_REWARD_BLOCK_MAX_ROWS;
    if (rows < 16) rows = 16;
    return rows;
}

static int check_finite(const char *what, size_t n, size_t d, const double *X) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            if (!isfinite(X[i * d + j]))
                return genbo__fail(GENBO_EINVAL, "%s: non-finite value %g at row %zu, column %zu",
                                   what, X[i * d + j], i, j);
    return GENBO_OK;
}

/* The range of every settable field: check_params and the study file's
 * [reward] keys (studies/config.c) both read this table. */
#define RF(name, type, lo, hi, flags, words) \
    {#name, GENBO__FIELD_##type, offsetof(genbo_reward_params, name), lo, hi, flags, words}
static const genbo__field reward_rows[] = {
    RF(kind, ENUM, 0, 0, 0, "ridge|gp"),
    RF(lambda_select, ENUM, 0, 0, 0, "gcv|kfold|fixed"),
    RF(lambda, DOUBLE, 0, GENBO__FIELD_NOMAX, 0, NULL),
    RF(kfold, INT, 2, 1000, 0, NULL),
    RF(kernel, ENUM, 0, 0, 0, "rbf|matern52"),
    RF(ard, BOOL, 0, 1, 0, NULL),
    RF(max_evals, INT, 1, 1000000, 0, NULL),
    RF(restarts, INT, 0, 1000, 0, NULL),
    RF(seed, U64, 0, 0, 0, NULL),
};
#undef RF
const genbo__fields genbo__reward_fields = GENBO__FIELDS("reward params", reward_rows);

int genbo__reward_check_params(const genbo_reward_params *p, size_t n) {
    const genbo__fields *t = &genbo__reward_fields;
    int rc = genbo__field_check_named(t, "kind", p);
    if (!rc && p->kind == GENBO_REWARD_RIDGE) {
        rc = genbo__field_check_named(t, "lambda_select", p);
        if (!rc && p->lambda_select == GENBO_LAMBDA_KFOLD) {
            rc = genbo__field_check_named(t, "kfold", p);
            if (!rc && (size_t)p->kfold > n)
                rc = genbo__fail(GENBO_EINVAL, "reward params: kfold = %d must be in [2, n = %zu]",
                                 p->kfold, n);
        }
        if (!rc && p->lambda_select == GENBO_LAMBDA_FIXED) rc = genbo__field_check_named(t, "lambda", p);
    } else if (!rc) {
        rc = genbo__field_check_named(t, "kernel", p);
        if (!rc) rc = genbo__field_check_named(t, "max_evals", p);
        if (!rc) rc = genbo__field_check_named(t, "restarts", p);
    }
    return rc;
}

int genbo_reward_fit(const genbo_reward_params *p, size_t n, size_t d, const double *X,
                     const double *y, genbo_reward **out) {
    if (!out) return genbo__fail(GENBO_EINVAL, "genbo_reward_fit: out is NULL");
    *out = NULL;
    genbo_reward_params defaults;
    if (!p) {
        genbo_reward_params_default(&defaults);
        p = &defaults;
    }
    if (!X || !y) return genbo__fail(GENBO_EINVAL, "genbo_reward_fit: X or y is NULL");
    if (n < 2) return genbo__fail(GENBO_EINVAL, "genbo_reward_fit: need n >= 2 labelled rows, got %zu", n);
    if (d < 1) return genbo__fail(GENBO_EINVAL, "genbo_reward_fit: need d >= 1 features");
    size_t nd;
    if (!genbo__mul_ok(n, d, &nd) || n > (size_t)1 << 31 || d > (size_t)1 << 20)
        return genbo__fail(GENBO_EINVAL, "genbo_reward_fit: n = %zu x d = %zu is too large", n, d);
    int rc = genbo__reward_check_params(p, n);
    if (rc) return rc;
    if ((rc = check_finite("genbo_reward_fit: X", n, d, X))) return rc;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(y[i]))
            return genbo__fail(GENBO_EINVAL, "genbo_reward_fit: y: non-finite value %g at row %zu",
                               y[i], i);

    genbo_reward *m = genbo__reward_alloc(p->kind, d);
    if (!m) return GENBO_ENOMEM;
    genbo__reward_standardise_fit(m, n, X);
    rc = p->kind == GENBO_REWARD_RIDGE ? genbo__ridge_fit(m, p, n, X, y)
                                       : genbo__gp_fit(m, p, n, X, y);
    if (rc) {
        genbo_reward_free(m);
        return rc;
    }
    genbo__reward_describe_update(m);
    *out = m;
    return GENBO_OK;
}

int genbo_reward_predict(const genbo_reward *m, size_t n, const double *X, double *mean,
                         double *var) {
    if (!m || (n && (!X || !mean)))
        return genbo__fail(GENBO_EINVAL, "genbo_reward_predict: model, X or mean is NULL");
    if (n == 0) return GENBO_OK;
    int rc = check_finite("genbo_reward_predict: X", n, m->d, X);
    if (rc) return rc;
    return m->kind == GENBO_REWARD_RIDGE ? genbo__ridge_predict(m, n, X, mean, var)
                                         : genbo__gp_predict(m, n, X, mean, var);
}

int genbo_reward_covariance(const genbo_reward *m, size_t n, const double *X, double *cov) {
    if (!m || (n && (!X || !cov)))
        return genbo__fail(GENBO_EINVAL, "genbo_reward_covariance: model, X or cov is NULL");
    if (n == 0) return GENBO_OK;
    size_t nn;
    if (!genbo__mul_ok(n, n, &nn) || nn > ((size_t)1 << 56))
        return genbo__fail(GENBO_ENOMEM, "genbo_reward_covariance: n = %zu is too large", n);
    int rc = check_finite("genbo_reward_covariance: X", n, m->d, X);
    if (rc) return rc;
    return m->kind == GENBO_REWARD_RIDGE ? genbo__ridge_covariance(m, n, X, cov)
                                         : genbo__gp_covariance(m, n, X, cov);
}

int genbo_reward_gradient(const genbo_reward *m, size_t n, const double *X, double *grad) {
    if (!m || (n && (!X || !grad)))
        return genbo__fail(GENBO_EINVAL, "genbo_reward_gradient: model, X or grad is NULL");
    if (n == 0) return GENBO_OK;
    int rc = check_finite("genbo_reward_gradient: X", n, m->d, X);
    if (rc) return rc;
    return m->kind == GENBO_REWARD_RIDGE ? genbo__ridge_gradient(m, n, grad)
                                         : genbo__gp_gradient(m, n, X, grad);
}

/* The reward model as a sampler's guiding function (genbo_sample_params'
 * callbacks): diffusion/ sees only the callbacks, never this type. */
static int guide_grad(void *ctx, size_t n, const double *X, double *grad) {
    return genbo_reward_gradient((const genbo_reward *)ctx, n, X, grad);
}
static int guide_value(void *ctx, size_t n, const double *X, double *f) {
    return genbo_reward_predict((const genbo_reward *)ctx, n, X, f, NULL);
}

int genbo_reward_guidance(const genbo_reward *m, genbo_sample_params *p) {
    if (!m || !p) return genbo__fail(GENBO_EINVAL, "genbo_reward_guidance: NULL model or params");
    p->grad = guide_grad;
    p->value = guide_value;
    p->grad_ctx = (void *)m;
    double sd = m->kind == GENBO_REWARD_RIDGE ? m->ridge.y_sd : m->gp.y_sd;
    p->grad_scale = isfinite(sd) && sd > 0 ? sd : 0.0;
    return GENBO_OK;
}

static const char *select_name(genbo_lambda_select s) {
    return s == GENBO_LAMBDA_GCV ? "GCV" : s == GENBO_LAMBDA_KFOLD ? "k-fold CV" : "fixed";
}

void genbo__reward_describe_update(genbo_reward *m) {
    char *b = m->desc;
    size_t cap = sizeof m->desc, k = 0;
#define APPEND(...)                                                            \
    do {                                                                       \
        if (k < cap) {                                                         \
            int w_ = snprintf(b + k, cap - k, __VA_ARGS__);                    \
            if (w_ > 0) k += (size_t)w_;                                       \
        }                                                                      \
    } while (0)
    if (m->kind == GENBO_REWARD_RIDGE) {
        const genbo__ridge_model *r = &m->ridge;
        APPEND("ridge lambda=%.3g (%s", r->lambda, select_name(r->select));
        if (r->select == GENBO_LAMBDA_GCV) APPEND(", gcv=%.4g", r->score);
        if (r->select == GENBO_LAMBDA_KFOLD) APPEND(", %d-fold cv mse=%.4g", r->kfold, r->score);
        APPEND(")");
    } else {
        const genbo__gp_model *g = &m->gp;
        APPEND("gp %s ell=", g->kernel == GENBO_KERNEL_RBF ? "rbf" : "matern52");
        if (g->ard) {
            APPEND("[");
            size_t shown = m->d < 16 ? m->d : 16;
            for (size_t j = 0; j < shown; j++) APPEND("%s%.3g", j ? "," : "", g->ell[j]);
            if (shown < m->d) APPEND(",...(%zu)", m->d);
            APPEND("]");
        } else {
            APPEND("%.3g", g->ell[0]);
        }
        APPEND(" sf2=%.3g sn2=%.3g lml=%.4g n=%zu", g->sf2, g->sn2, g->lml, g->n);
        if (g->n_tune < g->n) APPEND(" (tuned on %zu)", g->n_tune);
        APPEND(" (standardised x, y)");
    }
#undef APPEND
}
