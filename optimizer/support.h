/* support.h - a data-driven support distance for selecting designs
 * (internal). The optimizer never sees a task's own support distance (that
 * is a metric, not an input): "on the support" is judged from the pool.
 *
 * Features are standardised by the pool's per-feature mean and sd. The
 * support ratio of a design x is
 *
 *     r(x) = (mean distance from x to its k nearest reference rows) / s_k
 *
 * where s_k is the same distance averaged over reference rows (each
 * excluding itself), k = GENBO__KNN_K. A fresh draw from the data
 * distribution has r ~ 1. x counts as on the support when r(x) <= r_max,
 * the GENBO__SUPPORT_QUANTILE-th percentile of the reference rows' own
 * ratios: a design drawn from the data passes with about that probability,
 * whatever the data's scale or dimension. The reference rows are the pool,
 * or a seeded subset of GENBO__SUPPORT_MAX_REF of them for larger pools. */
#ifndef GENBO_OPTIMIZER_SUPPORT_H
#define GENBO_OPTIMIZER_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "genbo.h"

#define GENBO__SUPPORT_QUANTILE 95
#define GENBO__SUPPORT_MAX_REF 20000
/* reference rows whose own ratios give s_k, r_max and the spacing */
#define GENBO__SUPPORT_SUBSET 512

typedef struct genbo__support {
    size_t dim, n_ref;
    double *mean, *sd; /* standardisation (dim each) */
    double *Z;         /* standardised reference rows (n_ref x dim) */
    double knn_scale;  /* s_k */
    double ratio_max;  /* r_max */
    double nn_spacing; /* mean distance of a reference row to its nearest other row */
} genbo__support;

/* Build from the pool (n_pool x dim, at least GENBO__KNN_K + 2 rows). */
int genbo__support_build(const double *pool_X, size_t n_pool, size_t dim, uint64_t seed,
                         genbo__support *s);
void genbo__support_free(genbo__support *s);
/* Standardise n rows of X (n x dim) into Z. */
void genbo__support_standardise(const genbo__support *s, size_t n, const double *X, double *Z);
/* r(x) for n standardised rows Z into ratio (n). */
int genbo__support_ratio(const genbo__support *s, size_t n, const double *Z, double *ratio);

#endif
