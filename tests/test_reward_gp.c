/* test_reward_gp.c - GP reward model: prediction against a plain O(n^3)
 * reference, the analytic gradients of the log marginal likelihood and of
 * the mean against central differences, tuning improves the likelihood,
 * blocked pseudo-labelling equals row-by-row prediction. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "genbo.h"
#include "reward/reward.h"

static double smooth_f(const double *x, size_t d) {
    double s = sin(1.3 * x[0]) + 0.4 * x[1] * x[1];
    for (size_t k = 2; k < d; k++) s += 0.1 * x[k];
    return s;
}

static void make_data(uint64_t seed, size_t n, size_t d, double noise, double *X, double *y) {
    genbo__rng r;
    genbo__rng_seed(&r, seed, 0);
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < d; k++) X[i * d + k] = 2.0 * genbo__rng_normal(&r) + 0.5 * k;
        y[i] = 10.0 + 3.0 * smooth_f(X + i * d, d) + noise * genbo__rng_normal(&r);
    }
}

static genbo_reward *fit_gp(size_t n, size_t d, const double *X, const double *y,
                            genbo_kernel kernel, int ard, int max_evals) {
    genbo_reward_params p;
    genbo_reward_params_default(&p);
    p.kind = GENBO_REWARD_GP;
    p.kernel = kernel;
    p.ard = ard;
    p.max_evals = max_evals;
    genbo_reward *m = NULL;
    int rc = genbo_reward_fit(&p, n, d, X, y, &m);
    cr_assert_eq(rc, GENBO_OK, "%s", genbo_errmsg());
    return m;
}

/* ---- plain reference, written independently of reward/ --------------- */

static double ref_kernel(const genbo_reward *m, const double *a, const double *b) {
    double r2 = 0;
    for (size_t k = 0; k < m->d; k++) {
        double u = (a[k] - m->x_mean[k]) / m->x_sd[k] / m->gp.ell[k];
        double v = (b[k] - m->x_mean[k]) / m->x_sd[k] / m->gp.ell[k];
        r2 += (u - v) * (u - v);
    }
    if (m->gp.kernel == GENBO_KERNEL_RBF) return m->gp.sf2 * exp(-0.5 * r2);
    double r = sqrt(r2);
    return m->gp.sf2 * (1 + sqrt(5.0) * r + 5.0 * r2 / 3.0) * exp(-sqrt(5.0) * r);
}

/* Gauss-Jordan with partial pivoting: A (n x n) -> A^{-1} in inv. */
static void gauss_jordan_inverse(size_t n, double *A, double *inv) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) inv[i * n + j] = i == j;
    for (size_t c = 0; c < n; c++) {
        size_t piv = c;
        for (size_t i = c + 1; i < n; i++)
            if (fabs(A[i * n + c]) > fabs(A[piv * n + c])) piv = i;
        for (size_t j = 0; j < n; j++) {
            double t = A[c * n + j];
            A[c * n + j] = A[piv * n + j];
            A[piv * n + j] = t;
            t = inv[c * n + j];
            inv[c * n + j] = inv[piv * n + j];
            inv[piv * n + j] = t;
        }
        double p = A[c * n + c];
        for (size_t j = 0; j < n; j++) {
            A[c * n + j] /= p;
            inv[c * n + j] /= p;
        }
        for (size_t i = 0; i < n; i++)
            if (i != c) {
                double f = A[i * n + c];
                for (size_t j = 0; j < n; j++) {
                    A[i * n + j] -= f * A[c * n + j];
                    inv[i * n + j] -= f * inv[c * n + j];
                }
            }
    }
}

static void check_against_reference(genbo_kernel kernel) {
    const size_t n = 40, d = 3, nq = 15;
    double X[40 * 3], y[40], Q[15 * 3], yq[15];
    make_data(21, n, d, 1.0, X, y); /* noisy enough for a well-conditioned K */
    make_data(22, nq, d, 0.0, Q, yq);
    genbo_reward *m = fit_gp(n, d, X, y, kernel, 1, 60);
    double *K = malloc(n * n * sizeof(double)), *Ki = malloc(n * n * sizeof(double));
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) K[i * n + j] = ref_kernel(m, X + i * d, X + j * d) + (i == j) * m->gp.sn2;
    gauss_jordan_inverse(n, K, Ki);
    double ybar = 0, ysd = 0;
    for (size_t i = 0; i < n; i++) ybar += y[i] / n;
    for (size_t i = 0; i < n; i++) ysd += (y[i] - ybar) * (y[i] - ybar) / n;
    ysd = sqrt(ysd);
    double mean[15], var[15];
    cr_assert_eq(genbo_reward_predict(m, nq, Q, mean, var), GENBO_OK);
    for (size_t q = 0; q < nq; q++) {
        double ks[40], mu = 0, quad = 0;
        for (size_t i = 0; i < n; i++) ks[i] = ref_kernel(m, Q + q * d, X + i * d);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                mu += ks[i] * Ki[i * n + j] * (y[j] - ybar) / ysd;
                quad += ks[i] * Ki[i * n + j] * ks[j];
            }
        double ref_mean = ybar + ysd * mu, ref_var = ysd * ysd * (m->gp.sf2 - quad);
        cr_assert_lt(fabs(mean[q] - ref_mean), 1e-8 * ysd, "mean %zu: %.15g vs %.15g", q, mean[q], ref_mean);
        /* var = sf2 - k^T K^{-1} k cancels: compare on the prior's scale */
        cr_assert_lt(fabs(var[q] - ref_var), 1e-8 * m->gp.sf2 * ysd * ysd, "var %zu: %.15g vs %.15g", q, var[q], ref_var);
    }
    free(K);
    free(Ki);
    genbo_reward_free(m);
}

Test(reward_gp, rbf_prediction_matches_naive_reference) { check_against_reference(GENBO_KERNEL_RBF); }
Test(reward_gp, matern_prediction_matches_naive_reference) { check_against_reference(GENBO_KERNEL_MATERN52); }

/* ---- log marginal likelihood gradient ----------------------------------- */

static void check_lml_gradient(genbo_kernel kernel, int ard) {
    const size_t n = 35, d = 4;
    double X[35 * 4], y[35];
    make_data(31, n, d, 0.3, X, y);
    /* standardise roughly like the model does; any data will do here */
    double ybar = 0;
    for (size_t i = 0; i < n; i++) ybar += y[i] / n;
    for (size_t i = 0; i < n; i++) y[i] = (y[i] - ybar) / 3.0;
    for (size_t i = 0; i < n * d; i++) X[i] /= 2.0;
    genbo__gp_lml *w = NULL;
    cr_assert_eq(genbo__gp_lml_create(n, d, X, y, kernel, ard, &w), GENBO_OK);
    size_t dim = (ard ? d : 1) + 2;
    double theta[6] = {0.3, -0.2, 0.6, 0.1, 0.0, 0.0};
    theta[dim - 2] = 0.4;            /* log sf2 */
    theta[dim - 1] = log(0.05);      /* log sn2 */
    double lml, grad[6];
    cr_assert_eq(genbo__gp_lml_eval(w, theta, &lml, grad), GENBO_OK);
    cr_assert(isfinite(lml));
    for (size_t k = 0; k < dim; k++) {
        const double h = 1e-5;
        double tp[6], tm[6], fp, fm;
        memcpy(tp, theta, sizeof tp);
        memcpy(tm, theta, sizeof tm);
        tp[k] += h;
        tm[k] -= h;
        genbo__gp_lml_eval(w, tp, &fp, NULL);
        genbo__gp_lml_eval(w, tm, &fm, NULL);
        double fd = (fp - fm) / (2 * h);
        cr_assert_lt(fabs(grad[k] - fd), 1e-6 * (1 + fabs(fd)), "param %zu: analytic %.10g vs fd %.10g",
                     k, grad[k], fd);
    }
    genbo__gp_lml_free(w);
}

Test(reward_gp, lml_gradient_rbf_ard) { check_lml_gradient(GENBO_KERNEL_RBF, 1); }
Test(reward_gp, lml_gradient_matern_ard) { check_lml_gradient(GENBO_KERNEL_MATERN52, 1); }
Test(reward_gp, lml_gradient_rbf_iso) { check_lml_gradient(GENBO_KERNEL_RBF, 0); }
Test(reward_gp, lml_gradient_matern_iso) { check_lml_gradient(GENBO_KERNEL_MATERN52, 0); }

/* ---- gradient of the predictive mean ------------------------------------- */

static void check_mean_gradient(genbo_kernel kernel) {
    const size_t n = 60, d = 3, nq = 8;
    double X[60 * 3], y[60], Q[8 * 3], yq[8];
    make_data(41, n, d, 0.5, X, y);
    make_data(42, nq, d, 0.0, Q, yq);
    genbo_reward *m = fit_gp(n, d, X, y, kernel, 1, 60);
    double grad[8 * 3];
    cr_assert_eq(genbo_reward_gradient(m, nq, Q, grad), GENBO_OK);
    for (size_t q = 0; q < nq; q++)
        for (size_t k = 0; k < d; k++) {
            const double h = 1e-4;
            double xp[3], xm[3], fp, fm;
            memcpy(xp, Q + q * d, sizeof xp);
            memcpy(xm, Q + q * d, sizeof xm);
            xp[k] += h;
            xm[k] -= h;
            genbo_reward_predict(m, 1, xp, &fp, NULL);
            genbo_reward_predict(m, 1, xm, &fm, NULL);
            double fd = (fp - fm) / (2 * h);
            cr_assert_lt(fabs(grad[q * d + k] - fd), 1e-6 * (1 + fabs(fd)),
                         "point %zu dim %zu: analytic %.10g vs fd %.10g", q, k, grad[q * d + k], fd);
        }
    genbo_reward_free(m);
}

Test(reward_gp, mean_gradient_rbf) { check_mean_gradient(GENBO_KERNEL_RBF); }
Test(reward_gp, mean_gradient_matern) { check_mean_gradient(GENBO_KERNEL_MATERN52); }

/* ---- tuning ----------------------------------------------------------------- */

Test(reward_gp, tuning_raises_likelihood_and_fits_held_out_data) {
    const size_t n = 150, d = 2, nt = 200;
    double *X = malloc(n * d * sizeof(double)), y[150], *T = malloc(nt * d * sizeof(double)),
           yt[200];
    make_data(51, n, d, 0.05, X, y);
    make_data(52, nt, d, 0.0, T, yt);
    genbo_kernel kernels[2] = {GENBO_KERNEL_RBF, GENBO_KERNEL_MATERN52};
    for (int kk = 0; kk < 2; kk++) {
        genbo_reward *m = fit_gp(n, d, X, y, kernels[kk], 1, 200);
        /* likelihood at the first starting point, on the same standardised data */
        double *Z = malloc(n * d * sizeof(double)), ys[150];
        genbo__reward_standardise(m, n, X, Z);
        for (size_t i = 0; i < n; i++) ys[i] = (y[i] - m->gp.y_mean) / m->gp.y_sd;
        genbo__gp_lml *w = NULL;
        cr_assert_eq(genbo__gp_lml_create(n, d, Z, ys, kernels[kk], 1, &w), GENBO_OK);
        double theta0[4] = {log(sqrt(2.0)), log(sqrt(2.0)), 0.0, log(0.1)}, lml0;
        cr_assert_eq(genbo__gp_lml_eval(w, theta0, &lml0, NULL), GENBO_OK);
        cr_assert_gt(m->gp.lml, lml0 + 1.0, "tuned lml %g vs initial %g", m->gp.lml, lml0);
        cr_assert_eq(m->gp.n_tune, n);
        genbo__gp_lml_free(w);
        free(Z);
        /* held-out RMSE well below the reward's spread (sd of 3 * f is ~3) */
        double pred[200], se = 0;
        genbo_reward_predict(m, nt, T, pred, NULL);
        for (size_t i = 0; i < nt; i++) se += (pred[i] - yt[i]) * (pred[i] - yt[i]);
        double rmse = sqrt(se / nt);
        cr_log_info("%s: %s, held-out RMSE %.4f", kk ? "matern" : "rbf", genbo_reward_describe(m), rmse);
        double sd = 0, mu = 0;
        for (size_t i = 0; i < nt; i++) mu += yt[i] / nt;
        for (size_t i = 0; i < nt; i++) sd += (yt[i] - mu) * (yt[i] - mu) / nt;
        sd = sqrt(sd);
        cr_assert_lt(rmse, 0.1 * sd, "held-out RMSE %g vs sd %g", rmse, sd);
        genbo_reward_free(m);
    }
    free(X);
    free(T);
}

/* ---- pseudo-labelling in blocks ------------------------------------------- */

Test(reward_gp, blocked_pool_prediction_equals_row_by_row) {
    const size_t n = 50, d = 4, pool = 5000; /* > one 4096-row block */
    double X[50 * 4], y[50];
    make_data(61, n, d, 0.1, X, y);
    double *P = malloc(pool * d * sizeof(double)), *yp = malloc(pool * sizeof(double));
    make_data(62, pool, d, 0.0, P, yp);
    genbo_reward *models[2] = {fit_gp(n, d, X, y, GENBO_KERNEL_MATERN52, 0, 40), NULL};
    genbo_reward_params p;
    genbo_reward_params_default(&p);
    cr_assert_eq(genbo_reward_fit(&p, n, d, X, y, &models[1]), GENBO_OK);
    double *mean = malloc(pool * sizeof(double)), *var = malloc(pool * sizeof(double));
    double *grad = malloc(pool * d * sizeof(double));
    for (int k = 0; k < 2; k++) {
        genbo_reward *m = models[k];
        cr_assert_eq(genbo_reward_predict(m, pool, P, mean, var), GENBO_OK);
        cr_assert_eq(genbo_reward_gradient(m, pool, P, grad), GENBO_OK);
        for (size_t i = 0; i < pool; i += 7) {
            double m1, v1, g1[4];
            genbo_reward_predict(m, 1, P + i * d, &m1, &v1);
            genbo_reward_gradient(m, 1, P + i * d, g1);
            cr_assert_lt(fabs(m1 - mean[i]), 1e-12 * (1 + fabs(m1)), "row %zu mean", i);
            cr_assert_lt(fabs(v1 - var[i]), 1e-12 * (1 + fabs(v1)), "row %zu var", i);
            for (size_t j = 0; j < d; j++)
                cr_assert_lt(fabs(g1[j] - grad[i * d + j]), 1e-12 * (1 + fabs(g1[j])));
        }
        genbo_reward_free(m);
    }
    free(P);
    free(yp);
    free(mean);
    free(var);
    free(grad);
}

Test(reward_gp, large_n_tunes_on_a_subset_and_fits_all) {
    const size_t n = GENBO_GP_TUNE_MAX + 300, d = 2;
    double *X = malloc(n * d * sizeof(double)), *y = malloc(n * sizeof(double));
    make_data(71, n, d, 0.1, X, y);
    genbo_reward *m = fit_gp(n, d, X, y, GENBO_KERNEL_RBF, 0, 30);
    cr_assert_eq(m->gp.n, n);
    cr_assert_eq(m->gp.n_tune, (size_t)GENBO_GP_TUNE_MAX);
    cr_assert(strstr(genbo_reward_describe(m), "tuned on 1000") != NULL, "%s", genbo_reward_describe(m));
    /* exact on all points: the training residuals are at the noise level */
    double *f = malloc(n * sizeof(double)), se = 0;
    genbo_reward_predict(m, n, X, f, NULL);
    for (size_t i = 0; i < n; i++) se += (f[i] - y[i]) * (f[i] - y[i]);
    cr_assert_lt(sqrt(se / n), 0.15, "train RMSE %g", sqrt(se / n));
    genbo_reward_free(m);
    free(X);
    free(y);
    free(f);
}

/* genbo_reward_covariance: its diagonal is genbo_reward_predict's var, it is
 * symmetric and positive semi-definite, two copies of one design are
 * perfectly correlated, and far from the data it is the prior kernel
 * y_sd^2 sf2 exp(-r^2 / 2) (r in lengthscales). */
Test(reward_gp, covariance_diagonal_is_var_and_far_points_get_the_prior) {
    enum { N = 60, D = 3, Q = 7 };
    double X[N * D], y[N], Xq[Q * D], C[Q * Q], mu[Q], var[Q];
    make_data(5, N, D, 0.1, X, y);
    genbo_reward *m = fit_gp(N, D, X, y, GENBO_KERNEL_RBF, 0, 200);
    genbo__rng r;
    genbo__rng_seed(&r, 6, 0);
    for (int i = 0; i < 4 * D; i++) Xq[i] = genbo__rng_normal(&r);
    memcpy(Xq + 4 * D, Xq, D * sizeof *Xq); /* row 4 = row 0 */
    /* rows 5, 6: far from every design, 0.5 lengthscales apart in feature 0 */
    const genbo__gp_model *g = &m->gp;
    for (int j = 0; j < D; j++) Xq[5 * D + j] = Xq[6 * D + j] = m->x_mean[j] + 1e3 * m->x_sd[j] * g->ell[j];
    Xq[6 * D] += 0.5 * m->x_sd[0] * g->ell[0];
    cr_assert_eq(genbo_reward_covariance(m, Q, Xq, C), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_reward_predict(m, Q, Xq, mu, var), GENBO_OK);
    for (int i = 0; i < Q; i++) {
        cr_assert_float_eq(C[i * Q + i], var[i], 1e-9 * (1 + var[i]), "diagonal %d: %g vs var %g", i, C[i * Q + i], var[i]);
        for (int j = 0; j < Q; j++) cr_assert_eq(C[i * Q + j], C[j * Q + i]);
    }
    cr_assert_float_eq(C[0 * Q + 4], var[0], 1e-9 * (1 + var[0]));
    double prior = g->y_sd * g->y_sd * g->sf2;
    cr_assert_float_eq(C[5 * Q + 5], prior, 1e-6 * prior);
    cr_assert_float_eq(C[5 * Q + 6], prior * exp(-0.125), 1e-6 * prior);
    /* positive semi-definite: x^T C x >= 0 for random x */
    for (int t = 0; t < 20; t++) {
        double v[Q], s = 0;
        for (int i = 0; i < Q; i++) v[i] = genbo__rng_normal(&r);
        for (int i = 0; i < Q; i++)
            for (int j = 0; j < Q; j++) s += v[i] * C[i * Q + j] * v[j];
        cr_assert_geq(s, -1e-9 * prior);
    }
    genbo_reward_free(m);
}
