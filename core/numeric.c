/* numeric.c - small dense numerics more than one folder needs: per-column
 * mean and sd (the standardisation of both model kinds), Gram-Schmidt
 * (the synthetic tasks' tangent spaces, the tests' subspace data) and a
 * deterministic ranking by a key. */
#include <math.h>
#include <stdlib.h>

#include "core/core.h"

void genbo__column_stats(size_t n, const size_t *idx, size_t d, const double *X, size_t ddof, double *mean,
                         double *sd) {
    for (size_t j = 0; j < d; j++) {
        double s = 0.0, ss = 0.0;
        for (size_t t = 0; t < n; t++) s += X[(idx ? idx[t] : t) * d + j];
        double mu = s / (double)n;
        for (size_t t = 0; t < n; t++) {
            double e = X[(idx ? idx[t] : t) * d + j] - mu;
            ss += e * e;
        }
        double v = n > ddof ? sqrt(ss / (double)(n - ddof)) : 0.0;
        mean[j] = mu;
        sd[j] = v > 1e-12 * (1.0 + fabs(mu)) ? v : 1.0;
    }
}

void genbo__orthonormalise(size_t rows, size_t cols, double *A, int passes) {
    for (size_t a = 0; a < cols; a++)
        for (int pass = 0; pass < passes; pass++) {
            for (size_t b = 0; b < a; b++) {
                double s = 0;
                for (size_t i = 0; i < rows; i++) s += A[i * cols + a] * A[i * cols + b];
                for (size_t i = 0; i < rows; i++) A[i * cols + a] -= s * A[i * cols + b];
            }
            double s = 0;
            for (size_t i = 0; i < rows; i++) s += A[i * cols + a] * A[i * cols + a];
            for (size_t i = 0; i < rows; i++) A[i * cols + a] /= sqrt(s);
        }
}

static int by_key_desc(const void *a, const void *b) {
    const genbo__ranked *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? 1 : -1;
    return (x->i > y->i) - (x->i < y->i);
}

void genbo__rank_desc(genbo__ranked *r, size_t n) { qsort(r, n, sizeof *r, by_key_desc); }
