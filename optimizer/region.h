/* region.h - the trust region a returned design must lie in (internal).
 *
 * Per feature, the data's range (labelled + pool) widened on each side by
 * GENBO__REGION_MARGIN standard deviations of that feature: the same box as
 * optimizer/trust.h's default. The genbo method uses the study's trust
 * region (genbo__models.trust) when it has one and this box only when it
 * has none (callers outside a study, e.g. the benchmarks). */
#ifndef GENBO_OPTIMIZER_REGION_H
#define GENBO_OPTIMIZER_REGION_H

#include <stddef.h>

#include "genbo.h"
#include "optimizer/trust.h"

/* Margin in standard deviations of each feature (pool + labelled): the
 * trust region's default (trust.h), which computes the box. */
#define GENBO__REGION_MARGIN GENBO__TRUST_MARGIN

/* The box [lo, hi] (dim each) of labelled (na rows) + pool (nb rows, may
 * be NULL). Fails on no rows or a non-finite value. */
int genbo__region_box(size_t dim, const double *A, size_t na, const double *B, size_t nb,
                     double *lo, double *hi);

/* 1 if x (dim) is finite and inside the box (to trust.h's relative 1e-9). */
int genbo__region_inside(size_t dim, const double *x, const double *lo, const double *hi);

/* Clip the n rows of X (n x dim) into the box; a non-finite coordinate
 * becomes the box's midpoint. Returns how many rows had to move. */
size_t genbo__region_project(size_t dim, size_t n, double *X, const double *lo, const double *hi);

#endif
