/* kernel.c - stationary kernels over squared scaled distances and the
 * BLAS-3 squared-distance matrix they are built from.
 *
 * Everything is written in terms of r2 = sum_k ((x_k - x'_k) / ell_k)^2, so
 * one squared-distance matrix serves the kernel, its lengthscale gradient
 * (dk/dlog ell_k = -2 dk/dr2 * delta_k^2) and the gradient of the mean. */
#include <math.h>

#include <cblas.h>

#include "reward/reward.h"

#define SQRT5 2.23606797749978969641

void genbo__kernel_apply(genbo_kernel kernel, double sf2, size_t count, double *v) {
    if (kernel == GENBO_KERNEL_RBF) {
        for (size_t i = 0; i < count; i++) v[i] = sf2 * exp(-0.5 * v[i]);
    } else {
        for (size_t i = 0; i < count; i++) {
            double r = sqrt(v[i]);
            v[i] = sf2 * (1.0 + SQRT5 * r + (5.0 / 3.0) * v[i]) * exp(-SQRT5 * r);
        }
    }
}

double genbo__kernel_dr2(genbo_kernel kernel, double sf2, double r2) {
    if (kernel == GENBO_KERNEL_RBF) return -0.5 * sf2 * exp(-0.5 * r2);
    double r = sqrt(r2);
    /* d/dr2 of (1 + s r + 5 r^2 / 3) e^{-s r}, s = sqrt 5: finite at r = 0 */
    return -(5.0 / 6.0) * sf2 * (1.0 + SQRT5 * r) * exp(-SQRT5 * r);
}

void genbo__row_sqnorms(size_t n, size_t d, const double *A, double *out) {
    for (size_t i = 0; i < n; i++) {
        const double *a = A + i * d;
        double s = 0.0;
        for (size_t k = 0; k < d; k++) s += a[k] * a[k];
        out[i] = s;
    }
}

void genbo__sqdist(size_t m, size_t n, size_t d, const double *A, const double *a_sq,
                   const double *B, const double *b_sq, double *out) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)d, -2.0, A,
                (int)d, B, (int)d, 0.0, out, (int)n);
    for (size_t i = 0; i < m; i++) {
        double *o = out + i * n;
        for (size_t j = 0; j < n; j++) {
            double v = o[j] + a_sq[i] + b_sq[j];
            o[j] = v > 0.0 ? v : 0.0; /* cancellation can go slightly negative */
        }
    }
}
