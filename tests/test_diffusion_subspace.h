/* test_diffusion_subspace.h - the shared fixture of the subspace tests:
 * x = A z (D = 32, A orthonormal 32 x 4, z ~ N(0, I_4)), true reward
 * f(x) = theta^T x with theta = A beta (reward sd 1), pseudo-labels
 * f(x) + N(0, label_noise^2), and a conditional model trained on a 20,000 pool. */
#ifndef TEST_DIFFUSION_SUBSPACE_H
#define TEST_DIFFUSION_SUBSPACE_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diffusion/diffusion_internal.h"

#define SS_D 32
#define SS_d 4
#define SS_N 20000

typedef struct subspace_task {
    double A[SS_D * SS_d]; /* orthonormal columns */
    double theta[SS_D];
    double *X, *y;         /* pool and its pseudo-labels */
} subspace_task;

static void ss_make(subspace_task *t, uint64_t seed, double label_noise) {
    genbo__rng r;
    genbo__rng_seed(&r, seed, 0);
    /* Gram-Schmidt on Gaussian columns */
    for (int k = 0; k < SS_d; k++)
        for (int j = 0; j < SS_D; j++) t->A[j * SS_d + k] = genbo__rng_normal(&r);
    genbo__orthonormalise(SS_D, SS_d, t->A, 1);
    const double beta[SS_d] = {0.6, 0.5, -0.5, 0.374}; /* ||beta|| = 1: reward sd 1 */
    for (int j = 0; j < SS_D; j++) {
        t->theta[j] = 0;
        for (int k = 0; k < SS_d; k++) t->theta[j] += t->A[j * SS_d + k] * beta[k];
    }
    t->X = malloc(sizeof(double) * SS_N * SS_D);
    t->y = malloc(sizeof(double) * SS_N);
    for (int i = 0; i < SS_N; i++) {
        double z[SS_d];
        for (int k = 0; k < SS_d; k++) z[k] = genbo__rng_normal(&r);
        for (int j = 0; j < SS_D; j++) {
            double s = 0;
            for (int k = 0; k < SS_d; k++) s += t->A[j * SS_d + k] * z[k];
            t->X[i * SS_D + j] = s;
        }
    }
    for (int i = 0; i < SS_N; i++) t->y[i] = 0;
    for (int i = 0; i < SS_N; i++) {
        for (int j = 0; j < SS_D; j++) t->y[i] += t->theta[j] * t->X[i * SS_D + j];
        t->y[i] += label_noise * genbo__rng_normal(&r);
    }
}

static void ss_free(subspace_task *t) {
    free(t->X);
    free(t->y);
}

static double ss_reward(const subspace_task *t, const double *x) {
    double s = 0;
    for (int j = 0; j < SS_D; j++) s += t->theta[j] * x[j];
    return s;
}

/* ||(I - A A^T) x|| / ||x|| */
static double ss_support_distance(const subspace_task *t, const double *x) {
    double z[SS_d] = {0}, off = 0, nx = 0;
    for (int k = 0; k < SS_d; k++)
        for (int j = 0; j < SS_D; j++) z[k] += t->A[j * SS_d + k] * x[j];
    for (int j = 0; j < SS_D; j++) {
        double p = 0;
        for (int k = 0; k < SS_d; k++) p += t->A[j * SS_d + k] * z[k];
        off += (x[j] - p) * (x[j] - p);
        nx += x[j] * x[j];
    }
    return sqrt(off / nx);
}

static void ss_means(const subspace_task *t, int n, const double *X, double *reward,
                     double *support) {
    double r = 0, s = 0;
    for (int i = 0; i < n; i++) {
        r += ss_reward(t, X + (size_t)i * SS_D);
        s += ss_support_distance(t, X + (size_t)i * SS_D);
    }
    *reward = r / n;
    *support = s / n;
}

/* precision ss_train trains at (tests run both) */
static genbo_precision ss_precision = GENBO_PRECISION_AUTO;

static genbo_diffusion *ss_train(const subspace_task *t, long steps) {
    genbo_diffusion_params p;
    genbo_diffusion_params_default(&p);
    p.precision = ss_precision;
    p.width = 128;
    p.depth = 2;
    p.t_embed = 32;
    p.y_embed = 32;
    p.steps = steps;
    p.batch = 256;
    p.lr = 2e-3;
    genbo_diffusion *m = NULL;
    int rc = genbo_diffusion_train(&p, SS_N, SS_D, t->X, t->y, &m);
    return rc ? NULL : m;
}

static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* q-quantile of the pool's rewards */
static double ss_quantile(const subspace_task *t, double q) {
    double *s = malloc(sizeof(double) * SS_N);
    memcpy(s, t->y, sizeof(double) * SS_N);
    qsort(s, SS_N, sizeof(double), cmp_dbl);
    double v = s[(int)(q * (SS_N - 1))];
    free(s);
    return v;
}

#endif
