/* test_reward_ridge.c - ridge regression: exact recovery, a closed form
 * computed by hand, GCV against brute-force leave-one-out, k-fold = LOO,
 * constant features, and the errors for bad input. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "genbo.h"
#include "reward/reward.h"

/* X ~ N(offset_j, scale_j^2) per column: standardisation has work to do. */
static void random_design(genbo__rng *r, size_t n, size_t d, double *X) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) X[i * d + j] = 0.5 * (double)j - 1.0 + (1.0 + j) * genbo__rng_normal(r);
}

Test(reward_ridge, recovers_theta_on_noiseless_data) {
    const size_t n = 200, d = 8;
    genbo__rng r;
    genbo__rng_seed(&r, 11, 0);
    double *X = malloc(n * d * sizeof(double)), y[200], theta[8];
    random_design(&r, n, d, X);
    for (size_t j = 0; j < d; j++) theta[j] = genbo__rng_normal(&r);
    for (size_t i = 0; i < n; i++) {
        y[i] = 3.0;
        for (size_t j = 0; j < d; j++) y[i] += theta[j] * X[i * d + j];
    }
    genbo_reward_params p;
    genbo_reward_params_default(&p);
    genbo_reward *m = NULL;
    cr_assert_eq(genbo_reward_fit(&p, n, d, X, y, &m), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_reward_get_kind(m), GENBO_REWARD_RIDGE);
    cr_assert_eq(genbo_reward_dim(m), d);
    double grad[3 * 8], num = 0, den = 0;
    cr_assert_eq(genbo_reward_gradient(m, 3, X, grad), GENBO_OK);
    for (size_t j = 0; j < d; j++) {
        num += pow(grad[2 * d + j] - theta[j], 2);
        den += theta[j] * theta[j];
    }
    cr_assert_lt(sqrt(num / den), 1e-8, "relative error %g", sqrt(num / den));
    /* intercept too: f(0) = 3 */
    double zero[8] = {0}, f0;
    cr_assert_eq(genbo_reward_predict(m, 1, zero, &f0, NULL), GENBO_OK);
    cr_assert_lt(fabs(f0 - 3.0), 1e-8 * 3.0, "f(0) = %.15g", f0);
    cr_assert(strstr(genbo_reward_describe(m), "GCV") != NULL, "%s", genbo_reward_describe(m));
    genbo_reward_free(m);
    free(X);
}

/* 5 x 2 by hand: population-sd standardisation, centring, 2 x 2 normal
 * equations solved by Cramer's rule. */
Test(reward_ridge, matches_hand_computed_normal_equations) {
    const double X[10] = {1.0, 2.0, 2.0, -1.0, 3.0, 0.5, 4.0, 3.0, 6.0, 1.0};
    const double y[5] = {1.0, 0.3, 2.2, 4.1, 3.3};
    const double lambda = 0.7;
    double mu[2] = {0}, sd[2] = {0}, ybar = 0;
    for (int i = 0; i < 5; i++) {
        mu[0] += X[2 * i] / 5;
        mu[1] += X[2 * i + 1] / 5;
        ybar += y[i] / 5;
    }
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 2; j++) sd[j] += pow(X[2 * i + j] - mu[j], 2) / 5;
    sd[0] = sqrt(sd[0]);
    sd[1] = sqrt(sd[1]);
    double a = lambda, b = 0, c = lambda, u = 0, v = 0; /* [a b; b c] theta = [u; v] */
    for (int i = 0; i < 5; i++) {
        double z0 = (X[2 * i] - mu[0]) / sd[0], z1 = (X[2 * i + 1] - mu[1]) / sd[1];
        a += z0 * z0;
        b += z0 * z1;
        c += z1 * z1;
        u += z0 * (y[i] - ybar);
        v += z1 * (y[i] - ybar);
    }
    double det = a * c - b * b;
    double t0 = (c * u - b * v) / det, t1 = (a * v - b * u) / det;

    genbo_reward_params p;
    genbo_reward_params_default(&p);
    p.lambda_select = GENBO_LAMBDA_FIXED;
    p.lambda = lambda;
    genbo_reward *m = NULL;
    cr_assert_eq(genbo_reward_fit(&p, 5, 2, X, y, &m), GENBO_OK, "%s", genbo_errmsg());
    const double q[6] = {0.0, 0.0, 2.5, 1.5, -3.0, 7.0};
    double mean[3], var[3], grad[6];
    cr_assert_eq(genbo_reward_predict(m, 3, q, mean, var), GENBO_OK);
    cr_assert_eq(genbo_reward_gradient(m, 3, q, grad), GENBO_OK);
    for (int i = 0; i < 3; i++) {
        double z0 = (q[2 * i] - mu[0]) / sd[0], z1 = (q[2 * i + 1] - mu[1]) / sd[1];
        double f = ybar + t0 * z0 + t1 * z1;
        /* z^T [a b; b c]^{-1} z */
        double s2 = (c * z0 * z0 - 2 * b * z0 * z1 + a * z1 * z1) / det;
        cr_assert_lt(fabs(mean[i] - f), 1e-12 * (1 + fabs(f)), "mean %d: %.17g vs %.17g", i, mean[i], f);
        cr_assert_lt(fabs(var[i] - s2), 1e-12 * (1 + s2), "var %d: %.17g vs %.17g", i, var[i], s2);
        cr_assert_lt(fabs(grad[2 * i] - t0 / sd[0]), 1e-12);
        cr_assert_lt(fabs(grad[2 * i + 1] - t1 / sd[1]), 1e-12);
    }
    genbo_reward_free(m);
}

/* Leave-one-out MSE for every grid lambda by refitting n times (public API,
 * fixed lambda: every refit re-standardises on its n - 1 rows). */
static void brute_loo(size_t n, size_t d, const double *X, const double *y, double *loo) {
    double grid[GENBO_RIDGE_GRID_N];
    genbo__ridge_grid(grid);
    double *Xt = malloc(n * d * sizeof(double)), *yt = malloc(n * sizeof(double));
    genbo_reward_params p;
    genbo_reward_params_default(&p);
    p.lambda_select = GENBO_LAMBDA_FIXED;
    for (int g = 0; g < GENBO_RIDGE_GRID_N; g++) {
        p.lambda = grid[g];
        double sse = 0;
        for (size_t out = 0; out < n; out++) {
            size_t k = 0;
            for (size_t i = 0; i < n; i++)
                if (i != out) {
                    memcpy(Xt + k * d, X + i * d, d * sizeof(double));
                    yt[k++] = y[i];
                }
            genbo_reward *m = NULL;
            cr_assert_eq(genbo_reward_fit(&p, n - 1, d, Xt, yt, &m), GENBO_OK, "%s", genbo_errmsg());
            double f;
            genbo_reward_predict(m, 1, X + out * d, &f, NULL);
            sse += (f - y[out]) * (f - y[out]);
            genbo_reward_free(m);
        }
        loo[g] = sse / (double)n;
    }
    free(Xt);
    free(yt);
}

static void noisy_problem(uint64_t seed, size_t n, size_t d, double *X, double *y) {
    genbo__rng r;
    genbo__rng_seed(&r, seed, 0);
    random_design(&r, n, d, X);
    double theta[16];
    for (size_t j = 0; j < d; j++) theta[j] = 0.5 * genbo__rng_normal(&r) / (1.0 + j);
    for (size_t i = 0; i < n; i++) {
        y[i] = 1.0 + 1.0 * genbo__rng_normal(&r);
        for (size_t j = 0; j < d; j++) y[i] += theta[j] * X[i * d + j];
    }
}

Test(reward_ridge, gcv_choice_is_near_brute_force_loo) {
    const size_t n = 30, d = 12;
    double X[30 * 12], y[30], loo[GENBO_RIDGE_GRID_N], grid[GENBO_RIDGE_GRID_N];
    noisy_problem(5, n, d, X, y);
    brute_loo(n, d, X, y, loo);
    genbo__ridge_grid(grid);
    int best = 0;
    for (int g = 1; g < GENBO_RIDGE_GRID_N; g++)
        if (loo[g] < loo[best]) best = g;
    genbo_reward *m = NULL;
    cr_assert_eq(genbo_reward_fit(NULL, n, d, X, y, &m), GENBO_OK, "%s", genbo_errmsg());
    int chosen = -1;
    for (int g = 0; g < GENBO_RIDGE_GRID_N; g++)
        if (fabs(m->ridge.lambda - grid[g]) <= 1e-12 * grid[g]) chosen = g;
    cr_assert_geq(chosen, 0);
    /* LOO optimum must be an interior, regularised choice for the test to mean
     * something */
    cr_assert(best > 0 && best < GENBO_RIDGE_GRID_N - 1, "LOO optimum at grid edge %d", best);
    cr_log_info("GCV idx %d lambda %g LOO %g; LOO idx %d LOO %g", chosen, grid[chosen], loo[chosen], best, loo[best]);
    cr_assert(abs(chosen - best) <= 2 || loo[chosen] <= 1.03 * loo[best],
              "GCV lambda %g (idx %d, LOO %g) vs LOO lambda %g (idx %d, LOO %g)", grid[chosen],
              chosen, loo[chosen], grid[best], best, loo[best]);
    genbo_reward_free(m);
}

Test(reward_ridge, kfold_with_n_folds_is_exactly_leave_one_out) {
    const size_t n = 24, d = 6;
    double X[24 * 6], y[24], loo[GENBO_RIDGE_GRID_N];
    noisy_problem(9, n, d, X, y);
    brute_loo(n, d, X, y, loo);
    double grid[GENBO_RIDGE_GRID_N];
    genbo__ridge_grid(grid);
    int best = 0;
    for (int g = 1; g < GENBO_RIDGE_GRID_N; g++)
        if (loo[g] < loo[best]) best = g;
    genbo_reward_params p;
    genbo_reward_params_default(&p);
    p.lambda_select = GENBO_LAMBDA_KFOLD;
    p.kfold = (int)n;
    genbo_reward *m = NULL;
    cr_assert_eq(genbo_reward_fit(&p, n, d, X, y, &m), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_float_eq(m->ridge.lambda, grid[best], 1e-12 * grid[best]);
    cr_assert_lt(fabs(m->ridge.score - loo[best]), 1e-9 * loo[best], "cv %.15g vs loo %.15g",
                 m->ridge.score, loo[best]);
    genbo_reward_free(m);
}

Test(reward_ridge, constant_feature_gets_zero_weight) {
    const size_t n = 50, d = 3;
    double X[150], y[50];
    genbo__rng r;
    genbo__rng_seed(&r, 2, 0);
    for (size_t i = 0; i < n; i++) {
        X[i * d] = genbo__rng_normal(&r);
        X[i * d + 1] = 4.25; /* constant */
        X[i * d + 2] = genbo__rng_normal(&r);
        y[i] = 2.0 * X[i * d] - X[i * d + 2] + 0.01 * genbo__rng_normal(&r);
    }
    genbo_reward *m = NULL;
    cr_assert_eq(genbo_reward_fit(NULL, n, d, X, y, &m), GENBO_OK, "%s", genbo_errmsg());
    double g[3], mean, var;
    genbo_reward_gradient(m, 1, X, g);
    cr_assert_eq(g[1], 0.0);
    cr_assert_lt(fabs(g[0] - 2.0), 0.01);
    cr_assert_lt(fabs(g[2] + 1.0), 0.01);
    cr_assert_eq(genbo_reward_predict(m, 1, X, &mean, &var), GENBO_OK);
    cr_assert(isfinite(mean) && isfinite(var) && var > 0);
    genbo_reward_free(m);

    /* without regularisation the constant column makes the system singular */
    genbo_reward_params p;
    genbo_reward_params_default(&p);
    p.lambda_select = GENBO_LAMBDA_FIXED;
    p.lambda = 0.0;
    m = (genbo_reward *)0x1;
    cr_assert_eq(genbo_reward_fit(&p, n, d, X, y, &m), GENBO_ENUMERIC);
    cr_assert_null(m);
    cr_assert(strstr(genbo_errmsg(), "lambda") != NULL, "%s", genbo_errmsg());
}

Test(reward_ridge, bad_input_is_named) {
    double X[20], y[10];
    for (int i = 0; i < 20; i++) X[i] = i * 0.37;
    for (int i = 0; i < 10; i++) y[i] = i;
    genbo_reward *m = NULL;
    cr_assert_eq(genbo_reward_fit(NULL, 1, 2, X, y, &m), GENBO_EINVAL);
    cr_assert(strstr(genbo_errmsg(), "n >= 2") != NULL, "%s", genbo_errmsg());
    X[3 * 2 + 1] = NAN;
    cr_assert_eq(genbo_reward_fit(NULL, 10, 2, X, y, &m), GENBO_EINVAL);
    cr_assert(strstr(genbo_errmsg(), "row 3, column 1") != NULL, "%s", genbo_errmsg());
    X[3 * 2 + 1] = 1.0;
    y[7] = INFINITY;
    cr_assert_eq(genbo_reward_fit(NULL, 10, 2, X, y, &m), GENBO_EINVAL);
    cr_assert(strstr(genbo_errmsg(), "y") && strstr(genbo_errmsg(), "row 7"), "%s", genbo_errmsg());
    y[7] = 7.0;
    genbo_reward_params p;
    genbo_reward_params_default(&p);
    p.lambda_select = GENBO_LAMBDA_KFOLD;
    p.kfold = 11;
    cr_assert_eq(genbo_reward_fit(&p, 10, 2, X, y, &m), GENBO_EINVAL);
    cr_assert(strstr(genbo_errmsg(), "kfold") != NULL, "%s", genbo_errmsg());
    cr_assert_null(m);
    cr_assert_eq(genbo_reward_fit(NULL, 10, 2, X, y, &m), GENBO_OK);
    double q[4] = {1, 2, 3, NAN}, out[2];
    cr_assert_eq(genbo_reward_predict(m, 2, q, out, NULL), GENBO_EINVAL);
    cr_assert(strstr(genbo_errmsg(), "row 1, column 1") != NULL, "%s", genbo_errmsg());
    genbo_reward_free(m);
}

/* genbo_reward_covariance for ridge is the bilinear form of var:
 * var(z_i + z_j) = var_i + var_j + 2 cov_ij, and z_i + z_j is the
 * standardised x_i + x_j - x_mean. Checked on tall data (A^{-1} stored)
 * and on wide data (n < d: the thin-SVD form). */
static void check_ridge_covariance(size_t n, size_t d) {
    enum { Q = 5 };
    double *X = malloc(n * d * sizeof *X), *y = malloc(n * sizeof *y);
    genbo__rng r;
    genbo__rng_seed(&r, 8, d);
    for (size_t i = 0; i < n * d; i++) X[i] = genbo__rng_normal(&r) + 0.3 * (double)(i % d);
    for (size_t i = 0; i < n; i++) y[i] = X[i * d] - 0.5 * X[i * d + 1] + 0.1 * genbo__rng_normal(&r);
    genbo_reward_params p;
    genbo_reward_params_default(&p);
    genbo_reward *m;
    cr_assert_eq(genbo_reward_fit(&p, n, d, X, y, &m), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(m->ridge.rank != 0, n < d, "the %s form", n < d ? "SVD" : "A^{-1}");
    double *Xq = malloc((Q + 1) * d * sizeof *Xq), C[Q * Q], mu[Q + 1], var[Q + 1];
    for (size_t i = 0; i < Q * d; i++) Xq[i] = 2 * genbo__rng_normal(&r);
    cr_assert_eq(genbo_reward_covariance(m, Q, Xq, C), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_reward_predict(m, Q, Xq, mu, var), GENBO_OK);
    for (int i = 0; i < Q; i++) {
        cr_assert_float_eq(C[i * Q + i], var[i], 1e-9 * (1 + var[i]));
        for (int j = 0; j < Q; j++) {
            cr_assert_eq(C[i * Q + j], C[j * Q + i]);
            if (j == i) continue;
            for (size_t k = 0; k < d; k++) Xq[Q * d + k] = Xq[i * d + k] + Xq[j * d + k] - m->x_mean[k];
            double v2;
            cr_assert_eq(genbo_reward_predict(m, 1, Xq + Q * d, mu + Q, &v2), GENBO_OK);
            double want = (v2 - var[i] - var[j]) / 2;
            cr_assert_float_eq(C[i * Q + j], want, 1e-8 * (1 + fabs(v2)), "cov %d,%d: %g vs %g", i, j, C[i * Q + j], want);
        }
    }
    genbo_reward_free(m);
    free(X), free(y), free(Xq);
}
Test(reward_ridge, covariance_is_the_bilinear_form_of_var) {
    check_ridge_covariance(40, 4);
    check_ridge_covariance(6, 12);
}
