/* test_tasks.c - synthetic tasks: orthonormal basis, exact support
 * distance, oracle against independent formulas, off_ratio, label noise,
 * GP covariance within statistical bounds, reproducibility. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "datasets/manifold.h"
#include "datasets/tasks.h"
#include "tests/support/task_view.h"
#include "genbo.h"

static genbo_task *make_task(genbo_task_kind kind, int D, int d, double off, uint64_t seed) {
    genbo_task_params p;
    genbo_task_params_default(&p);
    p.kind = kind;
    p.D = D;
    p.d = d;
    p.off_ratio = off;
    p.seed = seed;
    genbo_task *t = NULL;
    cr_assert_eq(genbo_task_create(&p, &t), GENBO_OK, "%s", genbo_errmsg());
    return t;
}

static genbo_task *make_gp(int len, int dim, double ell, uint64_t seed) {
    genbo_task_params p;
    genbo_task_params_default(&p);
    p.kind = GENBO_TASK_GP_SEQUENCE;
    p.seq_len = len;
    p.seq_dim = dim;
    p.lengthscale = ell;
    p.seed = seed;
    genbo_task *t = NULL;
    cr_assert_eq(genbo_task_create(&p, &t), GENBO_OK, "%s", genbo_errmsg());
    return t;
}

static double *sample(const genbo_task *t, size_t n, uint64_t seed) {
    double *X = malloc(n * genbo_task_dim(t) * sizeof(double));
    cr_assert_eq(genbo_task_sample(t, n, seed, X), GENBO_OK, "%s", genbo_errmsg());
    return X;
}

static void mean_sd(const double *v, size_t n, double *mean, double *sd) {
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) s += v[i];
    *mean = s / (double)n;
    for (size_t i = 0; i < n; i++) s2 += (v[i] - *mean) * (v[i] - *mean);
    *sd = sqrt(s2 / (double)(n - 1));
}

/* v minus its projection on span(A), A (D x d) orthonormal columns. */
static void remove_span(const double *A, size_t D, size_t d, double *v) {
    for (size_t k = 0; k < d; k++) {
        double c = 0;
        for (size_t i = 0; i < D; i++) c += A[i * d + k] * v[i];
        for (size_t i = 0; i < D; i++) v[i] -= c * A[i * d + k];
    }
}

Test(tasks, basis_has_orthonormal_columns) {
    genbo_task *t = make_task(GENBO_TASK_SUBSPACE_LINEAR, 64, 16, 0, 3);
    size_t d;
    const double *A = genbo__task_basis(t, &d);
    cr_assert_eq(d, 16);
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b < d; b++) {
            double s = 0;
            for (size_t i = 0; i < 64; i++) s += A[i * d + a] * A[i * d + b];
            cr_assert_lt(fabs(s - (a == b)), 1e-12, "A^T A [%zu][%zu] = %g", a, b, s);
        }
    genbo_task_free(t);
}

Test(tasks, subspace_support_distance_zero_on_data_and_exact_off_it) {
    for (int kind = 0; kind < 2; kind++) {
        genbo_task *t = make_task((genbo_task_kind)kind, 64, 16, 0, 5);
        size_t n = 2000, D = 64, d;
        const double *A = genbo__task_basis(t, &d);
        double *X = sample(t, n, 9), *dist = malloc(n * sizeof(double));
        cr_assert_eq(genbo_task_support_distance(t, n, X, dist), GENBO_OK);
        for (size_t i = 0; i < n; i++) cr_assert_lt(dist[i], 1e-12, "row %zu: %g", i, dist[i]);
        /* x + v with v orthogonal to span(A) and ||v|| = s ||x||: the
         * distance is ||v|| / ||x + v|| = s / sqrt(1 + s^2). */
        genbo__rng r;
        genbo__rng_seed(&r, 77, 0);
        for (size_t i = 0; i < n; i++) {
            double v[64], nx = 0, nv = 0, s = 0.1 + 2.0 * genbo__rng_uniform(&r);
            for (size_t k = 0; k < D; k++) v[k] = genbo__rng_normal(&r);
            remove_span(A, D, d, v);
            for (size_t k = 0; k < D; k++) {
                nx += X[i * D + k] * X[i * D + k];
                nv += v[k] * v[k];
            }
            for (size_t k = 0; k < D; k++) X[i * D + k] += v[k] * s * sqrt(nx / nv);
            dist[i] = s / sqrt(1 + s * s); /* expected */
        }
        double *got = malloc(n * sizeof(double));
        cr_assert_eq(genbo_task_support_distance(t, n, X, got), GENBO_OK);
        for (size_t i = 0; i < n; i++)
            cr_assert_lt(fabs(got[i] - dist[i]), 1e-10, "row %zu: %g vs %g", i, got[i], dist[i]);
        free(X);
        free(dist);
        free(got);
        genbo_task_free(t);
    }
}

Test(tasks, linear_oracle_is_theta_dot_x_and_has_unit_sd) {
    genbo_task *t = make_task(GENBO_TASK_SUBSPACE_LINEAR, 64, 16, 0, 7);
    size_t n = 50000, D = 64;
    const double *theta = genbo__task_theta(t);
    double *X = sample(t, n, 1), *y = malloc(n * sizeof(double));
    cr_assert_eq(genbo_task_oracle(t, n, X, y), GENBO_OK);
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t k = 0; k < D; k++) s += theta[k] * X[i * D + k];
        cr_assert_lt(fabs(y[i] - s), 1e-12 * (1 + fabs(s)));
    }
    double mean, sd;
    mean_sd(y, n, &mean, &sd);
    /* y ~ N(0, 1): 5 standard errors */
    cr_assert_lt(fabs(mean), 5.0 / sqrt((double)n));
    cr_assert_lt(fabs(sd - 1.0), 5.0 / sqrt(2.0 * (double)n));
    cr_assert_eq(genbo__task_reward_sd(t), 1.0);
    free(X);
    free(y);
    genbo_task_free(t);
}

Test(tasks, off_ratio_is_honoured_and_invisible_on_data) {
    const double ratios[] = {0.0, 0.3, 2.0};
    for (int k = 0; k < 3; k++) {
        genbo_task *t = make_task(GENBO_TASK_SUBSPACE_LINEAR, 32, 8, ratios[k], 4);
        size_t D = 32, d;
        const double *A = genbo__task_basis(t, &d), *theta = genbo__task_theta(t);
        double perp[32], par = 0, np = 0;
        memcpy(perp, theta, sizeof perp);
        remove_span(A, D, d, perp);
        for (size_t i = 0; i < D; i++) {
            np += perp[i] * perp[i];
            par += (theta[i] - perp[i]) * (theta[i] - perp[i]);
        }
        cr_assert_lt(fabs(sqrt(par) - 1.0), 1e-12, "||A beta|| = %g", sqrt(par));
        cr_assert_lt(fabs(sqrt(np) - ratios[k]), 1e-12, "||theta_perp|| = %g", sqrt(np));
        genbo_task_free(t);
    }
    /* the same seed gives the same A and beta whatever off_ratio is, and the
     * off-subspace part never changes rewards on the data */
    genbo_task *a = make_task(GENBO_TASK_SUBSPACE_LINEAR, 32, 8, 0.0, 4);
    genbo_task *b = make_task(GENBO_TASK_SUBSPACE_LINEAR, 32, 8, 2.0, 4);
    double *X = sample(a, 100, 3), ya[100], yb[100];
    genbo_task_oracle(a, 100, X, ya);
    genbo_task_oracle(b, 100, X, yb);
    for (int i = 0; i < 100; i++) cr_assert_lt(fabs(ya[i] - yb[i]), 1e-12);
    free(X);
    genbo_task_free(a);
    genbo_task_free(b);

    genbo_task_params p;
    genbo_task_params_default(&p);
    p.D = p.d = 8;
    p.off_ratio = 1;
    genbo_task *bad = (genbo_task *)0x1;
    cr_assert_eq(genbo_task_create(&p, &bad), GENBO_EINVAL);
    cr_assert_null(bad);
    cr_assert(strstr(genbo_errmsg(), "off_ratio"));
}

Test(tasks, quadratic_oracle_matches_formula_and_moments) {
    genbo_task *t = make_task(GENBO_TASK_SUBSPACE_QUADRATIC, 64, 16, 0, 8);
    size_t n = 50000, D = 64, d;
    double c;
    const double *A = genbo__task_basis(t, &d), *zs = genbo__task_zstar(t, &c);
    cr_assert_null(genbo__task_theta(t));
    cr_assert_eq(c, 8.5);
    double nz = 0;
    for (size_t k = 0; k < d; k++) nz += zs[k] * zs[k];
    cr_assert_lt(fabs(nz - 1.0), 1e-12, "||z*|| = 1");
    double *X = sample(t, n, 2), *y = malloc(n * sizeof(double));
    cr_assert_eq(genbo_task_oracle(t, n, X, y), GENBO_OK);
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t k = 0; k < d; k++) {
            double z = 0;
            for (size_t j = 0; j < D; j++) z += A[j * d + k] * X[i * D + j];
            s += (z - zs[k]) * (z - zs[k]);
        }
        cr_assert_lt(fabs(y[i] - (c - 0.5 * s)), 1e-10);
    }
    /* closed forms: mean 0, sd sqrt((d + 2) / 2) = 3 for d = 16 */
    double mean, sd;
    mean_sd(y, n, &mean, &sd);
    cr_assert_float_eq(genbo__task_reward_sd(t), 3.0, 1e-15);
    cr_assert_lt(fabs(mean), 5.0 * 3.0 / sqrt((double)n));
    cr_assert_lt(fabs(sd / 3.0 - 1.0), 0.02, "sd %g", sd);
    /* the optimum x = A z* is on the data support and scores c */
    double xs[64], ys, ds;
    for (size_t j = 0; j < D; j++) {
        xs[j] = 0;
        for (size_t k = 0; k < d; k++) xs[j] += A[j * d + k] * zs[k];
    }
    genbo_task_oracle(t, 1, xs, &ys);
    genbo_task_support_distance(t, 1, xs, &ds);
    cr_assert_lt(fabs(ys - c), 1e-12);
    cr_assert_lt(ds, 1e-12);
    free(X);
    free(y);
    genbo_task_free(t);
}

Test(tasks, split_label_noise_and_streams) {
    genbo_task_params p;
    genbo_task_params_default(&p);
    p.noise_sd = 0.25;
    genbo_task *t = NULL;
    cr_assert_eq(genbo_task_create(&p, &t), GENBO_OK);
    size_t nl = 20000, np = 300, D = 64;
    genbo_dataset *L = NULL, *P = NULL, *L2 = NULL, *P2 = NULL;
    cr_assert_eq(genbo_task_split(t, nl, np, 42, &L, &P), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_dataset_rows(L), nl);
    cr_assert_eq(genbo_dataset_rows(P), np);
    cr_assert_eq(genbo_dataset_dim(P), D);
    cr_assert_null(genbo_dataset_y(P));
    cr_assert_str_eq(genbo_dataset_column_name(L, 0), "x0");
    cr_assert_str_eq(genbo_dataset_column_name(L, 63), "x63");
    double *f = malloc(nl * sizeof(double));
    genbo_task_oracle(t, nl, genbo_dataset_x(L), f);
    const double *y = genbo_dataset_y(L);
    for (size_t i = 0; i < nl; i++) f[i] = y[i] - f[i];
    double mean, sd;
    mean_sd(f, nl, &mean, &sd);
    cr_assert_lt(fabs(mean), 5.0 * 0.25 / sqrt((double)nl));
    cr_assert_lt(fabs(sd / 0.25 - 1.0), 5.0 / sqrt(2.0 * (double)nl), "noise sd %g", sd);
    /* pool and labelled designs come from different streams */
    cr_assert_neq(memcmp(genbo_dataset_x(L), genbo_dataset_x(P), D * sizeof(double)), 0);
    /* same seed -> identical; another seed -> different */
    cr_assert_eq(genbo_task_split(t, nl, np, 42, &L2, &P2), GENBO_OK);
    cr_assert_eq(memcmp(genbo_dataset_y(L), genbo_dataset_y(L2), nl * sizeof(double)), 0);
    cr_assert_eq(memcmp(genbo_dataset_x(P), genbo_dataset_x(P2), np * D * sizeof(double)), 0);
    genbo_dataset_free(L2);
    genbo_dataset_free(P2);
    cr_assert_eq(genbo_task_split(t, nl, np, 43, &L2, &P2), GENBO_OK);
    cr_assert_neq(memcmp(genbo_dataset_x(P), genbo_dataset_x(P2), D * sizeof(double)), 0);
    genbo_dataset_free(L2);
    genbo_dataset_free(P2);
    free(f);
    genbo_dataset_free(L);
    genbo_dataset_free(P);
    genbo_task_free(t);
}

Test(tasks, sampling_is_reproducible_across_chunks) {
    genbo_task *s = make_task(GENBO_TASK_SUBSPACE_LINEAR, 64, 16, 0, 1);
    genbo_task *g = make_gp(16, 4, 3.0, 1);
    genbo_task *tasks[2] = {s, g};
    for (int k = 0; k < 2; k++) {
        size_t D = genbo_task_dim(tasks[k]);
        double *big = sample(tasks[k], 5000, 12), *small = sample(tasks[k], 10, 12);
        cr_assert_eq(memcmp(big, small, 10 * D * sizeof(double)), 0);
        free(big);
        free(small);
    }
    genbo_task_free(s);
    genbo_task_free(g);
}

Test(tasks, gp_covariance_is_gamma_kron_lambda) {
    const int N = 8, m = 3, D = N * m;
    const double ell = 2.0;
    genbo_task *t = make_gp(N, m, ell, 6);
    cr_assert_eq(genbo_task_dim(t), (size_t)D);
    size_t nN, mm;
    const double *G = genbo__task_gp_gamma(t, &nN), *Lam = genbo__task_gp_lambda(t, &mm);
    cr_assert_eq(nN, (size_t)N);
    cr_assert_eq(mm, (size_t)m);
    /* Gamma is the RBF kernel over time steps (plus 1e-6 jitter) */
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            cr_assert_lt(fabs(G[i * N + j] - exp(-0.5 * (i - j) * (i - j) / (ell * ell)) -
                              (i == j ? 1e-6 : 0)),
                         1e-15);
    const size_t n = 100000;
    double *X = sample(t, n, 4);
    double *S = calloc((size_t)D * D, sizeof(double)), mu[24] = {0};
    for (size_t r = 0; r < n; r++)
        for (int a = 0; a < D; a++) {
            mu[a] += X[r * D + a];
            for (int b = 0; b <= a; b++) S[a * D + b] += X[r * D + a] * X[r * D + b];
        }
    for (int a = 0; a < D; a++) {
        double C_aa = G[(a / m) * N + a / m] * Lam[(a % m) * m + a % m];
        cr_assert_lt(fabs(mu[a] / n), 5.0 * sqrt(C_aa / n), "mean of feature %d", a);
        for (int b = 0; b <= a; b++) {
            double C_ab = G[(a / m) * N + b / m] * Lam[(a % m) * m + b % m];
            double C_bb = G[(b / m) * N + b / m] * Lam[(b % m) * m + b % m];
            /* sd of a sample covariance of Gaussians: sqrt((C_aa C_bb + C_ab^2) / n) */
            double se = sqrt((C_aa * C_bb + C_ab * C_ab) / n);
            cr_assert_lt(fabs(S[a * D + b] / n - C_ab), 5.0 * se, "cov[%d][%d] = %g vs %g", a, b,
                         S[a * D + b] / n, C_ab);
        }
    }
    free(S);
    free(X);
    genbo_task_free(t);
}

Test(tasks, gp_reward_and_support_distance) {
    const int N = 16, m = 4, D = N * m;
    genbo_task *t = make_gp(N, m, 3.0, 2);
    size_t n = 20000;
    double *X = sample(t, n, 5), *y = malloc(n * sizeof(double)), *dist = malloc(n * sizeof(double));
    /* reward: mean over time of w^T x_t -> the functional is the same at every step */
    const double *g = genbo__task_theta(t);
    for (int s = 1; s < N; s++)
        for (int k = 0; k < m; k++) cr_assert_eq(g[s * m + k], g[k]);
    cr_assert_eq(genbo_task_oracle(t, n, X, y), GENBO_OK);
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (int step = 0; step < N; step++)
            for (int k = 0; k < m; k++) s += g[k] * N * X[i * D + step * m + k];
        cr_assert_lt(fabs(y[i] - s / N), 1e-12 * (1 + fabs(s)));
    }
    double mean, sd;
    mean_sd(y, n, &mean, &sd);
    cr_assert_lt(fabs(mean), 5.0 / sqrt((double)n));
    cr_assert_lt(fabs(sd - 1.0), 5.0 / sqrt(2.0 * (double)n), "reward sd %g", sd);

    /* on the data: 0 for every sample (threshold at the z = 5 quantile) */
    cr_assert_eq(genbo_task_support_distance(t, n, X, dist), GENBO_OK);
    for (size_t i = 0; i < n; i++) cr_assert_eq(dist[i], 0.0, "sample %zu: %g", i, dist[i]);
    /* a jagged (sign-alternating) sequence is far off the smooth GP support */
    double jag[64];
    for (int i = 0; i < D; i++) jag[i] = X[i] + (((i / m) % 2) ? 0.5 : -0.5);
    double dj;
    genbo_task_support_distance(t, 1, jag, &dj);
    cr_assert_gt(dj, 1.0, "jagged distance %g", dj);
    /* beyond the radius the distance grows linearly with the Mahalanobis
     * norm: scaling a design by 10 and by 20 */
    double x10[64], x20[64], d10, d20, R = genbo__task_gp_radius(t);
    for (int i = 0; i < D; i++) {
        x10[i] = 10 * X[i];
        x20[i] = 20 * X[i];
    }
    genbo_task_support_distance(t, 1, x10, &d10);
    genbo_task_support_distance(t, 1, x20, &d20);
    cr_assert_gt(d10, 0.0);
    cr_assert_lt(fabs((d20 * sqrt(D) + R) - 2 * (d10 * sqrt(D) + R)), 1e-9 * R);
    /* R^2 is the chi-square(D) quantile with the normal tail of z = 5
     * (2.87e-7): integrate the chi-square density beyond R^2 */
    double tail = 0, h = 1e-3, k = D / 2.0;
    for (double x = R * R + h / 2; x < R * R + 300; x += h)
        tail += h * exp((k - 1) * log(x) - x / 2 - k * log(2.0) - lgamma(k));
    cr_assert(tail > 2.0e-7 && tail < 3.5e-7, "tail probability %g", tail);
    free(X);
    free(y);
    free(dist);
    genbo_task_free(t);
}

Test(tasks, bad_parameters_fail_cleanly) {
    genbo_task_params p;
    genbo_task_params_default(&p);
    genbo_task *t = (genbo_task *)0x1;
    p.d = 65;
    cr_assert_eq(genbo_task_create(&p, &t), GENBO_EINVAL);
    cr_assert_null(t);
    cr_assert(strstr(genbo_errmsg(), "d <= D"));
    genbo_task_params_default(&p);
    p.noise_sd = -1;
    cr_assert_eq(genbo_task_create(&p, &t), GENBO_EINVAL);
    cr_assert(strstr(genbo_errmsg(), "noise_sd"));
    genbo_task_params_default(&p);
    p.kind = GENBO_TASK_GP_SEQUENCE;
    p.lengthscale = 0;
    cr_assert_eq(genbo_task_create(&p, &t), GENBO_EINVAL);
    cr_assert(strstr(genbo_errmsg(), "lengthscale"));
    p.kind = (genbo_task_kind)9;
    cr_assert_eq(genbo_task_create(&p, &t), GENBO_EINVAL);
    cr_assert(strstr(genbo_errmsg(), "kind"));
}

/* ---- curved manifold (the issue-14 case: D = 48, d = 6, k = 3) ---------- */

static genbo_task *make_curved(int D, int d, int k, uint64_t seed) {
    genbo_task_params p;
    genbo_task_params_default(&p);
    p.kind = GENBO_TASK_CURVED_MANIFOLD;
    p.D = D;
    p.d = d;
    p.manifold_dim = k;
    p.seed = seed;
    genbo_task *t = NULL;
    cr_assert_eq(genbo_task_create(&p, &t), GENBO_OK, "%s", genbo_errmsg());
    return t;
}

/* x = A z (A: D x d orthonormal columns) */
static void embed(const double *A, size_t D, size_t d, const double *z, double *x) {
    for (size_t i = 0; i < D; i++) {
        x[i] = 0;
        for (size_t k = 0; k < d; k++) x[i] += A[i * d + k] * z[k];
    }
}

/* A unit vector normal to the manifold at phi(u): Gaussian minus its
 * least-squares fit by the tangent columns (normal equations, k <= 3). */
static void unit_normal(const genbo__manifold *m, const double *u, genbo__rng *r, double *n) {
    size_t d = m->d, k = m->k;
    double J[6 * 3], G[9] = {0}, c[3] = {0};
    cr_assert(d <= 6 && k <= 3);
    genbo__manifold_jacobian(m, u, J);
    for (size_t i = 0; i < d; i++) n[i] = genbo__rng_normal(r);
    for (size_t a = 0; a < k; a++) {
        for (size_t i = 0; i < d; i++) c[a] += J[i * k + a] * n[i];
        for (size_t b = 0; b < k; b++)
            for (size_t i = 0; i < d; i++) G[a * k + b] += J[i * k + a] * J[i * k + b];
    }
    /* Gram-Schmidt on the columns would do as well; Cramer's rule for 3x3 */
    double det = G[0] * (G[4] * G[8] - G[5] * G[7]) - G[1] * (G[3] * G[8] - G[5] * G[6]) +
                 G[2] * (G[3] * G[7] - G[4] * G[6]);
    cr_assert(k == 3 && fabs(det) > 1e-12);
    double s[3];
    for (int a = 0; a < 3; a++) {
        double M[9];
        memcpy(M, G, sizeof M);
        for (int b = 0; b < 3; b++) M[b * 3 + a] = c[b];
        s[a] = (M[0] * (M[4] * M[8] - M[5] * M[7]) - M[1] * (M[3] * M[8] - M[5] * M[6]) +
                M[2] * (M[3] * M[7] - M[4] * M[6])) / det;
    }
    double nn = 0;
    for (size_t i = 0; i < d; i++) {
        for (size_t a = 0; a < k; a++) n[i] -= J[i * k + a] * s[a];
        nn += n[i] * n[i];
    }
    for (size_t i = 0; i < d; i++) n[i] /= sqrt(nn);
    for (size_t a = 0; a < k; a++) { /* really normal */
        double dot = 0;
        for (size_t i = 0; i < d; i++) dot += J[i * k + a] * n[i];
        cr_assert_lt(fabs(dot), 1e-10);
    }
}

Test(tasks, curved_support_distance_zero_on_data_exact_near_it) {
    genbo_task *t = make_curved(48, 6, 3, 2);
    size_t n = 2000, D = 48, d;
    const double *A = genbo__task_basis(t, &d);
    const genbo__manifold *m = genbo__task_manifold(t, NULL);
    cr_assert_not_null(m);
    cr_assert_eq(d, 6);
    double *X = sample(t, n, 4), *dist = malloc(n * sizeof(double));
    cr_assert_eq(genbo_task_support_distance(t, n, X, dist), GENBO_OK);
    for (size_t i = 0; i < n; i++) cr_assert_lt(dist[i], 1e-9, "row %zu: %g", i, dist[i]);
    /* x = A (phi(u) + h n) + v, n a unit normal, v orthogonal to span(A):
     * the distance is sqrt(h^2 + ||v||^2) while h is below the local
     * radius of curvature (>= 1 / max ||w_j||^2, about 0.1 here) */
    genbo__rng r;
    genbo__rng_seed(&r, 5, 0);
    for (size_t i = 0; i < 500; i++) {
        double u[3], z[6], nv[6], x[48], v[48], got;
        for (int a = 0; a < 3; a++) u[a] = genbo__rng_normal(&r);
        genbo__manifold_map(m, u, z);
        unit_normal(m, u, &r, nv);
        double h = 0.002 + 0.03 * genbo__rng_uniform(&r), p = 2.0 * genbo__rng_uniform(&r), nv2 = 0;
        for (size_t k = 0; k < d; k++) z[k] += h * nv[k];
        embed(A, D, d, z, x);
        for (size_t k = 0; k < D; k++) v[k] = genbo__rng_normal(&r);
        remove_span(A, D, d, v);
        for (size_t k = 0; k < D; k++) nv2 += v[k] * v[k];
        for (size_t k = 0; k < D; k++) x[k] += p * v[k] / sqrt(nv2);
        cr_assert_eq(genbo_task_support_distance(t, 1, x, &got), GENBO_OK);
        cr_assert_lt(fabs(got - sqrt(h * h + p * p)), 1e-7, "h %g p %g: %g", h, p, got);
    }
    free(X);
    free(dist);
    genbo_task_free(t);
}

Test(tasks, curved_projection_is_no_worse_than_a_dense_search) {
    /* designs off the manifold by about the data's own spread (what an
     * undertrained model makes): the Gauss-Newton projection must find a
     * manifold point at least as close as the best of 20,000 candidates
     * drawn in the ball that contains the nearest point */
    genbo_task *t = make_curved(48, 6, 3, 3);
    const genbo__manifold *m = genbo__task_manifold(t, NULL);
    genbo__rng r;
    genbo__rng_seed(&r, 6, 0);
    double worst = 0, mean_d = 0;
    for (int i = 0; i < 40; i++) {
        double u[3], z[6], zc[6], uc[3], res[6];
        for (int a = 0; a < 3; a++) u[a] = genbo__rng_normal(&r);
        genbo__manifold_map(m, u, z);
        for (int k = 0; k < 6; k++) z[k] += 0.6 * genbo__rng_normal(&r);
        double f = genbo__manifold_project(m, z, NULL);
        /* F(a) bounds the search radius */
        genbo__manifold_map(m, z, zc);
        double R2 = 0;
        for (int k = 0; k < 6; k++) R2 += (zc[k] - z[k]) * (zc[k] - z[k]);
        double best = INFINITY, R = sqrt(R2);
        for (int j = 0; j < 20000; j++) {
            double s = 0;
            for (int a = 0; a < 3; a++) uc[a] = z[a] + R * (2 * genbo__rng_uniform(&r) - 1);
            genbo__manifold_map(m, uc, res);
            for (int k = 0; k < 6; k++) s += (res[k] - z[k]) * (res[k] - z[k]);
            best = fmin(best, s);
        }
        cr_assert_leq(f, best + 1e-12, "design %d: projection %g, dense search %g", i, f, best);
        worst = fmax(worst, best - f);
        mean_d += sqrt(f) / 40;
    }
    /* these really are off the manifold, by a fraction of the spread */
    cr_assert(mean_d > 0.1 && mean_d < 1.0, "mean distance %g", mean_d);
    genbo_task_free(t);
}

Test(tasks, curved_oracle_formula_optimum_and_penalty) {
    genbo_task *t = make_curved(48, 6, 3, 4);
    size_t n = 4000, D = 48, d;
    double c;
    const double *ustar;
    const double *A = genbo__task_basis(t, &d), *zs = genbo__task_zstar(t, &c);
    const genbo__manifold *m = genbo__task_manifold(t, &ustar);
    cr_assert_null(genbo__task_theta(t));
    /* the best valid design A phi(u*) scores exactly 2 and is on the support */
    double zb[6], xb[48], yb, db;
    genbo__manifold_map(m, ustar, zb);
    embed(A, D, d, zb, xb);
    cr_assert_eq(genbo_task_oracle(t, 1, xb, &yb), GENBO_OK);
    genbo_task_support_distance(t, 1, xb, &db);
    cr_assert_lt(fabs(yb - GENBO__CURVED_OPTIMUM), 1e-9, "f*(best valid) = %.12g", yb);
    cr_assert_lt(db, 1e-9);
    /* the quadratic's own peak A z* lies off the manifold (by the offset)
     * and the penalty makes it score low */
    double xz[48], yz, dz;
    embed(A, D, d, zs, xz);
    genbo_task_oracle(t, 1, xz, &yz);
    genbo_task_support_distance(t, 1, xz, &dz);
    cr_assert_lt(fabs(dz - GENBO__CURVED_OFFSET), 1e-6, "dist(A z*) = %g", dz);
    cr_assert_lt(fabs(yz - (c - GENBO__CURVED_PENALTY * dz * dz)), 1e-9);
    cr_assert_lt(yz, 0.0);
    /* on the data: f* = c - 1/2 ||A^T x - z*||^2 (no penalty), never above
     * the optimum, mean and sd as reported (Monte Carlo, 5 standard errors) */
    double *X = sample(t, n, 8), *y = malloc(n * sizeof(double));
    cr_assert_eq(genbo_task_oracle(t, n, X, y), GENBO_OK);
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t k = 0; k < d; k++) {
            double z = 0;
            for (size_t j = 0; j < D; j++) z += A[j * d + k] * X[i * D + j];
            s += (z - zs[k]) * (z - zs[k]);
        }
        cr_assert_lt(fabs(y[i] - (c - 0.5 * s)), 1e-9);
        cr_assert_leq(y[i], GENBO__CURVED_OPTIMUM + 1e-9);
    }
    double mean, sd, sdr = genbo__task_reward_sd(t);
    mean_sd(y, n, &mean, &sd);
    cr_assert(sdr > 0.3 && sdr < 5, "sd %g", sdr);
    cr_assert_lt(fabs(mean - genbo__task_reward_mean(t)), 5.0 * sdr / sqrt((double)n));
    /* penalty: moving a data design by v off the subspace changes nothing
     * but the penalty, -10 ||v||^2, so the score falls as the distance grows */
    genbo__rng r;
    genbo__rng_seed(&r, 9, 0);
    for (size_t i = 0; i < 50; i++) {
        double v[48], x[48], nv2 = 0, prev = y[i];
        for (size_t k = 0; k < D; k++) v[k] = genbo__rng_normal(&r);
        remove_span(A, D, d, v);
        for (size_t k = 0; k < D; k++) nv2 += v[k] * v[k];
        for (double p = 0.1; p < 2.0; p *= 2) {
            double yp, dp;
            for (size_t k = 0; k < D; k++) x[k] = X[i * D + k] + p * v[k] / sqrt(nv2);
            genbo_task_oracle(t, 1, x, &yp);
            genbo_task_support_distance(t, 1, x, &dp);
            cr_assert_lt(fabs(dp - p), 1e-9);
            cr_assert_lt(fabs(yp - (y[i] - GENBO__CURVED_PENALTY * p * p)), 1e-9);
            cr_assert_lt(yp, prev);
            prev = yp;
        }
    }
    /* designs drawn in the subspace around the data but off the manifold
     * (Gaussian with the data's per-coordinate spread) score far lower */
    double off_mean = 0;
    for (size_t i = 0; i < 1000; i++) {
        double z[6], x[48], yo;
        for (size_t k = 0; k < d; k++) z[k] = genbo__rng_normal(&r) * (k < 3 ? 1.0 : 0.7);
        embed(A, D, d, z, x);
        genbo_task_oracle(t, 1, x, &yo);
        off_mean += yo / 1000;
    }
    cr_assert_lt(off_mean, mean - 2 * sdr, "off-manifold mean %g vs data %g (sd %g)", off_mean,
                 mean, sdr);
    free(X);
    free(y);
    genbo_task_free(t);
}

Test(tasks, curved_bad_parameters_and_reproducibility) {
    genbo_task_params p;
    genbo_task_params_default(&p);
    p.kind = GENBO_TASK_CURVED_MANIFOLD;
    p.D = 48;
    p.d = 6;
    p.manifold_dim = 6;
    genbo_task *t = (genbo_task *)0x1;
    cr_assert_eq(genbo_task_create(&p, &t), GENBO_EINVAL);
    cr_assert_null(t);
    cr_assert(strstr(genbo_errmsg(), "manifold_dim"), "%s", genbo_errmsg());
    p.manifold_dim = 0;
    cr_assert_eq(genbo_task_create(&p, &t), GENBO_EINVAL);
    /* chunking never changes the designs */
    genbo_task *c = make_curved(48, 6, 3, 1);
    double *big = sample(c, 5000, 12), *small = sample(c, 10, 12);
    cr_assert_eq(memcmp(big, small, 10 * 48 * sizeof(double)), 0);
    free(big);
    free(small);
    genbo_task_free(c);
}
