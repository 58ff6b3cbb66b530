/* test_diffusion_quality.c - the trained model against closed forms and
 * known distributions: the score of Gaussian data, a ring of 8 Gaussians. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diffusion/diffusion_internal.h"
#include "precision_fixture.h"

/* ---- small dense helpers (row-major, n x n) ----------------------------- */
static void cholesky(int n, const double *A, double *L) {
    memset(L, 0, sizeof(double) * n * n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) {
            double s = A[i * n + j];
            for (int k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
            L[i * n + j] = i == j ? sqrt(s) : s / L[j * n + j];
        }
}

/* solve (L L^T) x = b in place */
static void chol_solve(int n, const double *L, double *b) {
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < i; k++) b[i] -= L[i * n + k] * b[k];
        b[i] /= L[i * n + i];
    }
    for (int i = n - 1; i >= 0; i--) {
        for (int k = i + 1; k < n; k++) b[i] -= L[k * n + i] * b[k];
        b[i] /= L[i * n + i];
    }
}

/* ---- 1. Gaussian data: the learned score against the closed form -------- */
static void gaussian_score_case(genbo_precision prec) {
    enum { D = 4, N = 20000, M = 2000 };
    const double mu[D] = {1.0, -2.0, 0.5, 3.0};
    /* Sigma = C C^T: correlated, feature scales 0.5 .. 2 */
    const double C[D * D] = {1.0, 0, 0, 0, 0.8, 0.6, 0, 0, -0.5, 0.3, 0.4, 0, 0.6, -0.9, 0.7, 1.2};
    double Sigma[D * D];
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++) {
            double s = 0;
            for (int k = 0; k < D; k++) s += C[i * D + k] * C[j * D + k];
            Sigma[i * D + j] = s;
        }
    double *X = malloc(sizeof(double) * N * D);
    genbo__rng r;
    genbo__rng_seed(&r, 2024, 0);
    for (int i = 0; i < N; i++) {
        double z[D];
        for (int k = 0; k < D; k++) z[k] = genbo__rng_normal(&r);
        for (int j = 0; j < D; j++) {
            double s = mu[j];
            for (int k = 0; k < D; k++) s += C[j * D + k] * z[k];
            X[i * D + j] = s;
        }
    }
    genbo_diffusion_params p;
    genbo_diffusion_params_default(&p);
    p.precision = prec;
    p.width = 64;
    p.depth = 2;
    p.t_embed = 16;
    p.y_embed = 16;
    p.steps = 3000;
    p.batch = 256;
    p.lr = 2e-3;
    genbo_diffusion *m = NULL;
    cr_assert_eq(genbo_diffusion_train(&p, N, D, X, NULL, &m), GENBO_OK, "%s", genbo_errmsg());

    /* With the model's convention x_t = mean + sd * z_t (the process runs
     * on standardised data, mean/sd from the training set):
     * x_t ~ N(mean + alpha (mu - mean), alpha^2 Sigma + sigma^2 diag(sd^2)) */
    const double ts[3] = {0.05, 0.5, 2.0};
    double *Xt = malloc(sizeof(double) * M * D), *S = malloc(sizeof(double) * M * D);
    for (int q = 0; q < 3; q++) {
        genbo__sched_coef k = genbo__sched_schedule(GENBO_SCHEDULE_OU, p.T, ts[q]);
        double Ct[D * D], L[D * D], c[D];
        for (int i = 0; i < D; i++) {
            c[i] = m->x_mean[i] + k.alpha * (mu[i] - m->x_mean[i]);
            for (int j = 0; j < D; j++)
                Ct[i * D + j] = k.alpha * k.alpha * Sigma[i * D + j] +
                                (i == j ? k.sigma * k.sigma * m->x_sd[i] * m->x_sd[i] : 0.0);
        }
        cholesky(D, Ct, L);
        for (int i = 0; i < M; i++) {
            double z[D];
            for (int j = 0; j < D; j++) z[j] = genbo__rng_normal(&r);
            for (int j = 0; j < D; j++) {
                double s = c[j];
                for (int l = 0; l <= j; l++) s += L[j * D + l] * z[l];
                Xt[i * D + j] = s;
            }
        }
        cr_assert_eq(genbo_diffusion_score(m, M, Xt, NULL, ts[q], S), GENBO_OK);
        double num = 0, den = 0;
        for (int i = 0; i < M; i++) {
            double b[D];
            for (int j = 0; j < D; j++) b[j] = Xt[i * D + j] - c[j];
            chol_solve(D, L, b); /* true score = -b */
            for (int j = 0; j < D; j++) {
                num += (S[i * D + j] + b[j]) * (S[i * D + j] + b[j]);
                den += b[j] * b[j];
            }
        }
        double rel = num / den;
        cr_log_info("gaussian score (%s): t = %g relative MSE %.4f", genbo_precision_name(prec), ts[q], rel);
        cr_expect_lt(rel, 0.10, "t = %g: relative MSE %.4f", ts[q], rel);
    }
    free(Xt);
    free(S);
    free(X);
    genbo_diffusion_free(m);
}

/* ---- 2. ring of 8 Gaussians ---------------------------------------------- */
#define RING_R 2.0
#define RING_SD 0.1

static void ring_sample(genbo__rng *r, int n, double *X) {
    for (int i = 0; i < n; i++) {
        int k = (int)genbo__rng_below(r, 8);
        double a = 2 * M_PI * k / 8;
        X[2 * i] = RING_R * cos(a) + RING_SD * genbo__rng_normal(r);
        X[2 * i + 1] = RING_R * sin(a) + RING_SD * genbo__rng_normal(r);
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sliced Wasserstein-1 over 64 fixed directions. */
static double sliced_w1(int n, const double *A, const double *B) {
    double *pa = malloc(sizeof(double) * n), *pb = malloc(sizeof(double) * n), sum = 0;
    for (int d = 0; d < 64; d++) {
        double th = M_PI * (d + 0.5) / 64, u = cos(th), v = sin(th);
        for (int i = 0; i < n; i++) {
            pa[i] = u * A[2 * i] + v * A[2 * i + 1];
            pb[i] = u * B[2 * i] + v * B[2 * i + 1];
        }
        qsort(pa, n, sizeof(double), cmp_double);
        qsort(pb, n, sizeof(double), cmp_double);
        double w = 0;
        for (int i = 0; i < n; i++) w += fabs(pa[i] - pb[i]);
        sum += w / n;
    }
    free(pa);
    free(pb);
    return sum / 64;
}

static void ring_case(genbo_precision prec) {
    enum { N = 20000, M = 2000 };
    double *X = malloc(sizeof(double) * N * 2), *H1 = malloc(sizeof(double) * M * 2),
           *H2 = malloc(sizeof(double) * M * 2), *G = malloc(sizeof(double) * M * 2);
    genbo__rng r;
    genbo__rng_seed(&r, 77, 0);
    ring_sample(&r, N, X);
    ring_sample(&r, M, H1);
    ring_sample(&r, M, H2);
    genbo_diffusion_params p;
    genbo_diffusion_params_default(&p);
    p.precision = prec;
    p.width = 128;
    p.depth = 2;
    p.t_embed = 32;
    p.y_embed = 16;
    p.steps = 3000;
    p.batch = 256;
    p.lr = 2e-3;
    genbo_diffusion *m = NULL;
    cr_assert_eq(genbo_diffusion_train(&p, N, 2, X, NULL, &m), GENBO_OK, "%s", genbo_errmsg());
    genbo_sample_params sp;
    genbo_sample_params_default(&sp);
    sp.conditional = 0;
    sp.steps = 100;
    cr_assert_eq(genbo_diffusion_sample(m, &sp, 0, M, G), GENBO_OK, "%s", genbo_errmsg());

    double base = sliced_w1(M, H1, H2), dist = sliced_w1(M, G, H1);
    cr_log_info("ring (%s): SW1 generated-heldout %.4f, heldout-heldout %.4f",
                genbo_precision_name(prec), dist, base);
    cr_expect_lt(dist, 2.0 * base, "SW1 %.4f vs held-out baseline %.4f", dist, base);
    int count[8] = {0};
    for (int i = 0; i < M; i++) {
        double a = atan2(G[2 * i + 1], G[2 * i]);
        int k = ((int)lround(a / (2 * M_PI / 8)) + 8) % 8;
        count[k]++;
    }
    for (int k = 0; k < 8; k++) {
        cr_log_info("ring: mode %d gets %.3f", k, count[k] / (double)M);
        cr_expect(count[k] >= 0.08 * M && count[k] <= 0.17 * M, "mode %d: %d of %d", k,
                  count[k], M);
    }
    free(X);
    free(H1);
    free(H2);
    free(G);
    genbo_diffusion_free(m);
}

/* both precisions: bf16 must not trade quality away silently */
TEST_BOTH_PRECISIONS(diffusion_quality, gaussian_score_matches_closed_form, gaussian_score_case,
                     .timeout = 120)
TEST_BOTH_PRECISIONS(diffusion_quality, ring_of_gaussians_is_reproduced, ring_case,
                     .timeout = 120)
