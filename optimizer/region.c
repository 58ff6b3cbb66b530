/* region.c - the data's trust box (region.h) as a thin wrapper around the
 * study trust region (trust.h), so the box, the "inside" test and the
 * projection are one piece of code: trust.c's default region (no user
 * bounds, no simplex, margin GENBO__TRUST_MARGIN). */
#include <string.h>

#include "core/core.h"
#include "optimizer/baselines.h"
#include "optimizer/region.h"
#include "optimizer/trust.h"

int genbo__region_box(size_t dim, const double *A, size_t na, const double *B, size_t nb,
                     double *lo, double *hi) {
    /* the bounding box only validates here: region.h promises failure on
     * no rows or a non-finite value (trust.c would skip the value) */
    int rc = genbo__bounding_box(dim, A, na, B, nb, lo, hi);
    if (rc) return genbo__fail_prefix(rc, "trust region");
    genbo__trust t;
    rc = genbo__trust_init(&t, dim, A, na, B, B ? nb : 0, GENBO__REGION_MARGIN, NULL, NULL, NULL);
    if (rc) return rc;
    memcpy(lo, t.lo, dim * sizeof *lo);
    memcpy(hi, t.hi, dim * sizeof *hi);
    genbo__trust_free(&t);
    return GENBO_OK;
}

/* A region over caller-owned bounds; trust.c only reads lo/hi. */
static genbo__trust box_view(size_t dim, const double *lo, const double *hi) {
    genbo__trust t = {dim, (double *)lo, (double *)hi, NULL};
    return t;
}

int genbo__region_inside(size_t dim, const double *x, const double *lo, const double *hi) {
    genbo__trust t = box_view(dim, lo, hi);
    return genbo__trust_check(&t, x) == 0;
}

size_t genbo__region_project(size_t dim, size_t n, double *X, const double *lo, const double *hi) {
    genbo__trust t = box_view(dim, lo, hi);
    return genbo__trust_project(&t, n, X, NULL);
}
