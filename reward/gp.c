/* gp.c - Gaussian-process (kernel ridge) reward model.
 *
 * Inputs are standardised per feature, outputs to zero mean and unit sd; the
 * prior mean is the mean of y. Hyper-parameters theta = [log ell (1 or d),
 * log sf2, log sn2] maximise the log marginal likelihood
 *   lml = -1/2 y^T K^{-1} y - sum log L_ii - n/2 log 2 pi
 * with NLopt's L-BFGS and the analytic gradient
 *   dlml/dtheta = 1/2 tr(W dK/dtheta),  W = alpha alpha^T - K^{-1},
 * from one Cholesky (dpotrf) and one inverse (dpotri) per evaluation. The
 * ARD lengthscale terms use M = W o F (elementwise, F = -2 dk/dr2):
 *   1/2 sum_ij M_ij (x_ik - x_jk)^2 = sum_i x_ik^2 (M 1)_i - x_k^T M x_k,
 * i.e. one n x n x d product for all d lengthscales instead of d n^2 passes.
 * Tuning runs on a random subset of at most GENBO_GP_TUNE_MAX points; the
 * model is then fitted exactly on all n points. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>
#include <nlopt.h>

#include "core/core.h"
#include "reward/reward.h"

#define LOG_2PI 1.83787706640934548356

/* Bounds of the hyper-parameters (standardised x and y). */
#define ELL_MIN 1e-2
#define ELL_MAX 1e3
#define SF2_MIN 1e-3
#define SF2_MAX 1e3
#define SN2_MIN 1e-6
#define SN2_MAX 10.0

struct genbo__gp_lml {
    size_t n, d;
    genbo_kernel kernel;
    int ard;
    double *Z, *y;        /* inputs (n x d), outputs (n) */
    double *xs, *sq;      /* Z / ell and its squared row norms */
    double *R, *A, *B;    /* n x n: squared distances, K -> chol, K^{-1} -> W o F */
    double *alpha, *rs;   /* n */
    double *P;            /* n x d */
    double *ell;          /* d */
};

int genbo__gp_lml_create(size_t n, size_t d, const double *Z, const double *y,
                         genbo_kernel kernel, int ard, genbo__gp_lml **out) {
    *out = NULL;
    size_t nn;
    if (!genbo__mul_ok(n, n, &nn) || nn > ((size_t)1 << 58) / 3)
        return genbo__fail(GENBO_ENOMEM, "gp: n = %zu is too large", n);
    genbo__gp_lml *w = genbo__calloc(1, sizeof *w);
    if (!w) return GENBO_ENOMEM;
    size_t total = 3 * n * d + 4 * n + 3 * nn + d;
    double *buf = genbo__malloc(total * sizeof(double));
    if (!buf) {
        free(w);
        return GENBO_ENOMEM;
    }
    w->n = n;
    w->d = d;
    w->kernel = kernel;
    w->ard = ard;
    w->Z = buf;
    w->xs = w->Z + n * d;
    w->P = w->xs + n * d;
    w->y = w->P + n * d;
    w->sq = w->y + n;
    w->alpha = w->sq + n;
    w->rs = w->alpha + n;
    w->R = w->rs + n;
    w->A = w->R + nn;
    w->B = w->A + nn;
    w->ell = w->B + nn;
    memcpy(w->Z, Z, n * d * sizeof(double));
    memcpy(w->y, y, n * sizeof(double));
    *out = w;
    return GENBO_OK;
}

void genbo__gp_lml_free(genbo__gp_lml *w) {
    if (!w) return;
    free(w->Z); /* the one allocation */
    free(w);
}

static void scale_inputs(size_t n, size_t d, const double *Z, const double *ell, double *xs) {
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < d; k++) xs[i * d + k] = Z[i * d + k] / ell[k];
}

/* K = kernel(R) + sn2 I into A (full), R with an exact zero diagonal. */
static void build_k(size_t n, genbo_kernel kernel, double sf2, double sn2, double *R,
                    double *A) {
    for (size_t i = 0; i < n; i++) R[i * n + i] = 0.0;
    memcpy(A, R, n * n * sizeof(double));
    genbo__kernel_apply(kernel, sf2, n * n, A);
    for (size_t i = 0; i < n; i++) A[i * n + i] += sn2;
}

int genbo__gp_lml_eval(genbo__gp_lml *w, const double *theta, double *lml, double *grad) {
    size_t n = w->n, d = w->d, nl = w->ard ? d : 1;
    double *ell = w->ell;
    for (size_t k = 0; k < d; k++) ell[k] = exp(theta[w->ard ? k : 0]);
    double sf2 = exp(theta[nl]), sn2 = exp(theta[nl + 1]);

    scale_inputs(n, d, w->Z, ell, w->xs);
    genbo__row_sqnorms(n, d, w->xs, w->sq);
    genbo__sqdist(n, n, d, w->xs, w->sq, w->xs, w->sq, w->R);
    build_k(n, w->kernel, sf2, sn2, w->R, w->A);
    /* Row-major lower == column-major upper for a symmetric matrix: after
     * this, A's lower triangle is L (K = L L^T) and its upper still K. */
    lapack_int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (lapack_int)n, w->A, (lapack_int)n);
    if (info != 0)
        return genbo__fail(GENBO_ENUMERIC,
                           "gp: kernel matrix not positive definite (sf2 = %g, sn2 = %g)", sf2,
                           sn2);
    memcpy(w->alpha, w->y, n * sizeof(double));
    LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'U', (lapack_int)n, 1, w->A, (lapack_int)n, w->alpha,
                   (lapack_int)n);
    double logdet = 0.0;
    for (size_t i = 0; i < n; i++) logdet += log(w->A[i * n + i]);
    *lml = -0.5 * cblas_ddot((int)n, w->y, 1, w->alpha, 1) - logdet - 0.5 * (double)n * LOG_2PI;
    if (!grad) return GENBO_OK;

    /* K^{-1} into B's lower triangle */
    double *A = w->A, *B = w->B, *R = w->R, *al = w->alpha;
    for (size_t i = 0; i < n; i++) memcpy(B + i * n, A + i * n, (i + 1) * sizeof(double));
    info = LAPACKE_dpotri(LAPACK_COL_MAJOR, 'U', (lapack_int)n, B, (lapack_int)n);
    if (info != 0)
        return genbo__fail(GENBO_ENUMERIC, "gp: inverting the kernel matrix failed (info %d)",
                           (int)info);
    double tr_w = 0.0, g_sf2 = 0.0, g_ell = 0.0;
    for (size_t i = 0; i < n; i++) {
        tr_w += al[i] * al[i] - B[i * n + i];
        for (size_t j = 0; j < i; j++) {
            double wij = al[i] * al[j] - B[i * n + j];
            double r2 = R[i * n + j];
            g_sf2 += wij * A[j * n + i]; /* upper triangle: K_ij without noise */
            double mij = wij * -2.0 * genbo__kernel_dr2(w->kernel, sf2, r2);
            g_ell += mij * r2;
            B[i * n + j] = mij;
            B[j * n + i] = mij;
        }
        B[i * n + i] = 0.0; /* r2 = 0 on the diagonal: no lengthscale term */
    }
    grad[nl] = 0.5 * sf2 * tr_w + g_sf2;
    grad[nl + 1] = 0.5 * sn2 * tr_w;
    if (!w->ard) {
        grad[0] = g_ell;
        return GENBO_OK;
    }
    /* rs = M 1, P = M xs */
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (size_t j = 0; j < n; j++) s += B[i * n + j];
        w->rs[i] = s;
    }
    cblas_dsymm(CblasRowMajor, CblasLeft, CblasLower, (int)n, (int)d, 1.0, B, (int)n, w->xs,
                (int)d, 0.0, w->P, (int)d);
    for (size_t k = 0; k < d; k++) grad[k] = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double *x = w->xs + i * d, *p = w->P + i * d;
        for (size_t k = 0; k < d; k++) grad[k] += x[k] * (x[k] * w->rs[i] - p[k]);
    }
    return GENBO_OK;
}

/* ---- hyper-parameter search --------------------------------------------- */

typedef struct {
    genbo__gp_lml *w;
    size_t dim;
    double best;
    double *best_theta;
    int ok_evals;
} search_state;

static double objective(unsigned dim, const double *theta, double *grad, void *data) {
    search_state *s = data;
    double lml;
    if (genbo__gp_lml_eval(s->w, theta, &lml, grad) != GENBO_OK || !isfinite(lml)) {
        /* not positive definite: a very bad value steers the line search back */
        if (grad) memset(grad, 0, dim * sizeof(double));
        return -1e30;
    }
    if (grad)
        for (unsigned k = 0; k < dim; k++)
            if (!isfinite(grad[k])) grad[k] = 0.0;
    s->ok_evals++;
    if (lml > s->best) {
        s->best = lml;
        memcpy(s->best_theta, theta, dim * sizeof(double));
    }
    return lml;
}

static double clamp(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

static int tune(const genbo_reward_params *p, size_t n, size_t d, const double *Z,
                const double *ys, double *theta_out, size_t *n_tune) {
    size_t nl = p->ard ? d : 1, dim = nl + 2;
    genbo__rng rng;
    genbo__rng_seed(&rng, p->seed, 0x47504859ULL); /* "GPHY" stream */

    /* a random subset bounds the O(n^3) tuning cost */
    size_t m = n > GENBO_GP_TUNE_MAX ? GENBO_GP_TUNE_MAX : n;
    double *Zt = NULL, *yt = NULL;
    size_t *perm = NULL;
    const double *Zu = Z, *yu = ys;
    if (m < n) {
        perm = genbo__malloc(n * sizeof(size_t));
        Zt = genbo__malloc(m * d * sizeof(double));
        yt = genbo__malloc(m * sizeof(double));
        if (!perm || !Zt || !yt) {
            free(perm);
            free(Zt);
            free(yt);
            return GENBO_ENOMEM;
        }
        for (size_t i = 0; i < n; i++) perm[i] = i;
        genbo__rng_shuffle_prefix(&rng, perm, n, m);
        for (size_t i = 0; i < m; i++) {
            memcpy(Zt + i * d, Z + perm[i] * d, d * sizeof(double));
            yt[i] = ys[perm[i]];
        }
        Zu = Zt;
        yu = yt;
    }
    *n_tune = m;
    genbo__gp_lml *w = NULL;
    int rc = genbo__gp_lml_create(m, d, Zu, yu, p->kernel, p->ard, &w);
    free(perm);
    free(Zt);
    free(yt);
    if (rc) return rc;

    double *lb = genbo__malloc(4 * dim * sizeof(double));
    if (!lb) {
        genbo__gp_lml_free(w);
        return GENBO_ENOMEM;
    }
    double *ub = lb + dim, *x = ub + dim, *best_theta = x + dim;
    for (size_t k = 0; k < nl; k++) {
        lb[k] = log(ELL_MIN);
        ub[k] = log(ELL_MAX);
    }
    lb[nl] = log(SF2_MIN);
    ub[nl] = log(SF2_MAX);
    lb[nl + 1] = log(SN2_MIN);
    ub[nl + 1] = log(SN2_MAX);
    search_state st = {w, dim, -INFINITY, best_theta, 0};
    nlopt_opt opt = nlopt_create(NLOPT_LD_LBFGS, (unsigned)dim);
    if (!opt) {
        genbo__gp_lml_free(w);
        free(lb);
        return genbo__fail(GENBO_ENOMEM, "gp: nlopt_create failed");
    }
    nlopt_set_lower_bounds(opt, lb);
    nlopt_set_upper_bounds(opt, ub);
    nlopt_set_max_objective(opt, objective, &st);
    nlopt_set_maxeval(opt, p->max_evals);
    nlopt_set_ftol_rel(opt, 1e-9);
    nlopt_set_xtol_rel(opt, 1e-7);
    /* typical distance between standardised points grows like sqrt(d) */
    double log_ell0 = log(sqrt((double)d));
    for (int start = 0; start <= p->restarts; start++) {
        for (size_t k = 0; k < nl; k++) {
            double jitter = start ? 3.0 * (genbo__rng_uniform(&rng) - 0.5) : 0.0;
            x[k] = clamp(log_ell0 + jitter, lb[k], ub[k]);
        }
        x[nl] = start ? 2.0 * (genbo__rng_uniform(&rng) - 0.5) : 0.0;
        x[nl + 1] = start ? log(1e-4) + genbo__rng_uniform(&rng) * (log(0.5) - log(1e-4))
                          : log(0.1);
        double f;
        nlopt_optimize(opt, x, &f); /* the best point is tracked in st either way */
    }
    nlopt_destroy(opt);
    genbo__gp_lml_free(w);
    if (st.ok_evals) memcpy(theta_out, best_theta, dim * sizeof(double));
    free(lb);
    if (st.ok_evals == 0)
        return genbo__fail(GENBO_ENUMERIC,
                           "gp: the kernel matrix was never positive definite while tuning");
    return GENBO_OK;
}

int genbo__gp_fit(genbo_reward *m, const genbo_reward_params *p, size_t n, const double *X,
                  const double *y) {
    size_t d = m->d, nl = p->ard ? d : 1;
    genbo__gp_model *g = &m->gp;
    g->kernel = p->kernel;
    g->ard = p->ard ? 1 : 0;
    g->n = n;
    g->ell = genbo__malloc(d * sizeof(double));
    g->xs = genbo__malloc(n * d * sizeof(double));
    g->xs_sq = genbo__malloc(n * sizeof(double));
    g->alpha = genbo__malloc(n * sizeof(double));
    g->chol = genbo__malloc(n * n * sizeof(double));
    double *theta = genbo__malloc((nl + 2) * sizeof(double));
    if (!g->ell || !g->xs || !g->xs_sq || !g->alpha || !g->chol || !theta) {
        free(theta);
        return GENBO_ENOMEM;
    }
    /* standardised inputs in xs, outputs in alpha (both overwritten below) */
    genbo__reward_standardise(m, n, X, g->xs);
    double ybar = 0.0, ss = 0.0;
    for (size_t i = 0; i < n; i++) ybar += y[i];
    ybar /= (double)n;
    for (size_t i = 0; i < n; i++) ss += (y[i] - ybar) * (y[i] - ybar);
    double ysd = sqrt(ss / (double)n);
    if (!(ysd > 1e-300)) ysd = 1.0; /* constant rewards */
    g->y_mean = ybar;
    g->y_sd = ysd;
    for (size_t i = 0; i < n; i++) g->alpha[i] = (y[i] - ybar) / ysd;

    int rc = tune(p, n, d, g->xs, g->alpha, theta, &g->n_tune);
    if (rc) {
        free(theta);
        return rc;
    }
    for (size_t k = 0; k < d; k++) g->ell[k] = exp(theta[p->ard ? k : 0]);
    g->sf2 = exp(theta[nl]);
    g->sn2 = exp(theta[nl + 1]);
    free(theta);

    /* exact fit on all n points */
    double *ys = genbo__malloc(n * sizeof(double));
    if (!ys) return GENBO_ENOMEM;
    memcpy(ys, g->alpha, n * sizeof(double));
    scale_inputs(n, d, g->xs, g->ell, g->xs);
    genbo__row_sqnorms(n, d, g->xs, g->xs_sq);
    lapack_int info = 1;
    /* The subset's noise level can leave the full matrix (near-duplicate
     * points) numerically singular: add noise tenfold, a few times at most. */
    for (int attempt = 0; attempt < 4 && info != 0; attempt++) {
        if (attempt) g->sn2 *= 10.0;
        genbo__sqdist(n, n, d, g->xs, g->xs_sq, g->xs, g->xs_sq, g->chol);
        for (size_t i = 0; i < n; i++) g->chol[i * n + i] = 0.0;
        genbo__kernel_apply(g->kernel, g->sf2, n * n, g->chol);
        for (size_t i = 0; i < n; i++) g->chol[i * n + i] += g->sn2;
        info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (lapack_int)n, g->chol, (lapack_int)n);
    }
    if (info != 0) {
        free(ys);
        return genbo__fail(GENBO_ENUMERIC,
                           "gp: kernel matrix on all %zu points not positive definite "
                           "(sf2 = %g, sn2 = %g)",
                           n, g->sf2, g->sn2);
    }
    for (size_t i = 0; i < n; i++) /* keep only L: the upper part is never read */
        memset(g->chol + i * n + i + 1, 0, (n - i - 1) * sizeof(double));
    LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'U', (lapack_int)n, 1, g->chol, (lapack_int)n, g->alpha,
                   (lapack_int)n);
    double logdet = 0.0;
    for (size_t i = 0; i < n; i++) logdet += log(g->chol[i * n + i]);
    g->lml = -0.5 * cblas_ddot((int)n, ys, 1, g->alpha, 1) - logdet - 0.5 * (double)n * LOG_2PI;
    free(ys);
    return GENBO_OK;
}

void genbo__gp_finish_load(genbo_reward *m) {
    genbo__row_sqnorms(m->gp.n, m->d, m->gp.xs, m->gp.xs_sq);
}

/* ---- prediction ----------------------------------------------------------- */

/* Standardised test rows divided by ell, and their squared norms. */
static void scale_queries(const genbo_reward *m, size_t mb, const double *X, double *Q,
                          double *q_sq) {
    size_t d = m->d;
    for (size_t i = 0; i < mb; i++)
        for (size_t k = 0; k < d; k++)
            Q[i * d + k] = (X[i * d + k] - m->x_mean[k]) / m->x_sd[k] / m->gp.ell[k];
    genbo__row_sqnorms(mb, d, Q, q_sq);
}

int genbo__gp_predict(const genbo_reward *m, size_t n, const double *X, double *mean,
                      double *var) {
    const genbo__gp_model *g = &m->gp;
    size_t d = m->d, nt = g->n, rows = genbo__reward_block_rows(nt);
    double *buf = genbo__malloc((rows * d + rows + rows * nt) * sizeof(double));
    if (!buf) return GENBO_ENOMEM;
    double *Q = buf, *q_sq = Q + rows * d, *Ks = q_sq + rows;
    for (size_t i0 = 0; i0 < n; i0 += rows) {
        size_t mb = n - i0 < rows ? n - i0 : rows;
        scale_queries(m, mb, X + i0 * d, Q, q_sq);
        genbo__sqdist(mb, nt, d, Q, q_sq, g->xs, g->xs_sq, Ks);
        genbo__kernel_apply(g->kernel, g->sf2, mb * nt, Ks);
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)mb, (int)nt, 1.0, Ks, (int)nt, g->alpha, 1,
                    0.0, mean + i0, 1);
        for (size_t i = 0; i < mb; i++) mean[i0 + i] = g->y_mean + g->y_sd * mean[i0 + i];
        if (var) {
            /* rows of Ks L^{-T} are v_i = L^{-1} k_i: var = sf2 - |v_i|^2 */
            cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)mb,
                        (int)nt, 1.0, g->chol, (int)nt, Ks, (int)nt);
            for (size_t i = 0; i < mb; i++) {
                double v = g->sf2 - cblas_ddot((int)nt, Ks + i * nt, 1, Ks + i * nt, 1);
                var[i0 + i] = g->y_sd * g->y_sd * (v > 0.0 ? v : 0.0);
            }
        }
    }
    free(buf);
    return GENBO_OK;
}

int genbo__gp_gradient(const genbo_reward *m, size_t n, const double *X, double *grad) {
    const genbo__gp_model *g = &m->gp;
    size_t d = m->d, nt = g->n, rows = genbo__reward_block_rows(nt);
    double *buf = genbo__malloc((2 * rows * d + 2 * rows + rows * nt + d) * sizeof(double));
    if (!buf) return GENBO_ENOMEM;
    double *Q = buf, *q_sq = Q + rows * d, *P = q_sq + rows, *s = P + rows * d, *G = s + rows,
           *scale = G + rows * nt;
    /* d x_tilde_k / d x_k = 1 / (sd_k ell_k) */
    for (size_t k = 0; k < d; k++) scale[k] = 2.0 * g->y_sd / (m->x_sd[k] * g->ell[k]);
    for (size_t i0 = 0; i0 < n; i0 += rows) {
        size_t mb = n - i0 < rows ? n - i0 : rows;
        scale_queries(m, mb, X + i0 * d, Q, q_sq);
        genbo__sqdist(mb, nt, d, Q, q_sq, g->xs, g->xs_sq, G);
        /* G_ij = alpha_j dk/dr2(x*_i, x_j); grad_i = 2 sum_j G_ij (q_i - x_j) */
        for (size_t i = 0; i < mb; i++) {
            double *gi = G + i * nt, si = 0.0;
            for (size_t j = 0; j < nt; j++) {
                gi[j] = g->alpha[j] * genbo__kernel_dr2(g->kernel, g->sf2, gi[j]);
                si += gi[j];
            }
            s[i] = si;
        }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)mb, (int)d, (int)nt, 1.0, G,
                    (int)nt, g->xs, (int)d, 0.0, P, (int)d);
        for (size_t i = 0; i < mb; i++) {
            double *out = grad + (i0 + i) * d;
            for (size_t k = 0; k < d; k++)
                out[k] = scale[k] * (Q[i * d + k] * s[i] - P[i * d + k]);
        }
    }
    free(buf);
    return GENBO_OK;
}

/* cov = y_sd^2 (K(X, X) - V^T V), V = L^{-1} K(train, X): the posterior
 * covariance of f (its diagonal is genbo__gp_predict's var). */
int genbo__gp_covariance(const genbo_reward *m, size_t n, const double *X, double *cov) {
    const genbo__gp_model *g = &m->gp;
    size_t d = m->d, nt = g->n;
    double *Q = genbo__malloc((n * d + n + n * nt) * sizeof(double));
    if (!Q) return GENBO_ENOMEM;
    double *q_sq = Q + n * d, *V = q_sq + n;
    scale_queries(m, n, X, Q, q_sq);
    genbo__sqdist(n, n, d, Q, q_sq, Q, q_sq, cov);
    for (size_t i = 0; i < n; i++) cov[i * n + i] = 0.0;
    genbo__kernel_apply(g->kernel, g->sf2, n * n, cov);
    genbo__sqdist(n, nt, d, Q, q_sq, g->xs, g->xs_sq, V);
    genbo__kernel_apply(g->kernel, g->sf2, n * nt, V);
    cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)n, (int)nt,
                1.0, g->chol, (int)nt, V, (int)nt);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)nt, -1.0, V, (int)nt,
                V, (int)nt, 1.0, cov, (int)n);
    double s2 = g->y_sd * g->y_sd;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j <= i; j++) {
            double v = 0.5 * s2 * (cov[i * n + j] + cov[j * n + i]);
            cov[i * n + j] = cov[j * n + i] = i == j && v < 0.0 ? 0.0 : v;
        }
    free(Q);
    return GENBO_OK;
}
