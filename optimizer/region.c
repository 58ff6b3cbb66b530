/* region.c - the per-feature trust box around the data (see trust.h). */
#include <math.h>

#include "core/core.h"
#include "optimizer/baselines.h"
#include "optimizer/region.h"

int genbo__region_box(size_t dim, const double *A, size_t na, const double *B, size_t nb,
                     double *lo, double *hi) {
    int rc = genbo__bounding_box(dim, A, na, B, nb, lo, hi);
    if (rc) return genbo__fail_prefix(rc, "trust region");
    size_t n = na + (B ? nb : 0);
    for (size_t j = 0; j < dim; j++) {
        /* sd of feature j over both sets (two passes, double) */
        double s = 0, s2 = 0;
        for (int pass = 0; pass < 2; pass++) {
            const double *M = pass ? B : A;
            size_t m = pass ? (B ? nb : 0) : na;
            for (size_t i = 0; i < m; i++) s += M[i * dim + j];
        }
        double mu = s / (double)n;
        for (int pass = 0; pass < 2; pass++) {
            const double *M = pass ? B : A;
            size_t m = pass ? (B ? nb : 0) : na;
            for (size_t i = 0; i < m; i++) s2 += (M[i * dim + j] - mu) * (M[i * dim + j] - mu);
        }
        double sd = n > 1 ? sqrt(s2 / (double)(n - 1)) : 0.0;
        lo[j] -= GENBO__REGION_MARGIN * sd;
        hi[j] += GENBO__REGION_MARGIN * sd;
    }
    return GENBO_OK;
}

int genbo__region_inside(size_t dim, const double *x, const double *lo, const double *hi) {
    for (size_t j = 0; j < dim; j++)
        if (!(x[j] >= lo[j] && x[j] <= hi[j])) return 0; /* also false for NaN */
    return 1;
}

size_t genbo__region_project(size_t dim, size_t n, double *X, const double *lo, const double *hi) {
    size_t moved = 0;
    for (size_t i = 0; i < n; i++) {
        double *x = X + i * dim;
        if (genbo__region_inside(dim, x, lo, hi)) continue;
        moved++;
        for (size_t j = 0; j < dim; j++) {
            if (!isfinite(x[j])) x[j] = 0.5 * (lo[j] + hi[j]);
            else if (x[j] < lo[j]) x[j] = lo[j];
            else if (x[j] > hi[j]) x[j] = hi[j];
        }
    }
    return moved;
}
