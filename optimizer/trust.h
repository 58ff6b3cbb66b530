/* trust.h - the trust region of a study's designs (internal).
 *
 * A design is trusted when every feature j lies in [lo_j, hi_j] and, if a
 * simplex constraint names a set S of features, sum_{j in S} x_j = 1. By
 * default lo_j / hi_j are the data's range (labelled and pool designs)
 * widened by `margin` data standard deviations on each side
 * (GENBO__TRUST_MARGIN); the study file can state them ([constraints]).
 *
 * What happens to an untrusted design (genbo__generate_trusted):
 *   - a batch whose sampler diverged (GENBO_ENUMERIC) or that holds a
 *     non-finite design is drawn again with another seed, at most
 *     GENBO__TRUST_RESAMPLES times; the replaced designs are flagged
 *     RESAMPLED (a non-finite coordinate left after that is set to the
 *     middle of its interval and flagged PROJECTED);
 *   - a finite design outside the region is projected onto it (the
 *     Euclidean projection: clipping per feature, plus a shift of the
 *     simplex features to sum one) and flagged PROJECTED. Projection, not
 *     resampling, because it is cheap and keeps what the sampler found in
 *     the features that were in range; an off-region design is the
 *     symptom of guidance or a model extrapolating, which resampling with
 *     the same settings would repeat. */
#ifndef GENBO_OPTIMIZER_TRUST_H
#define GENBO_OPTIMIZER_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include "genbo.h"
#include "optimizer/methods.h"

#define GENBO__TRUST_MARGIN 0.5  /* default widening, in data sd per side */
#define GENBO__TRUST_RESAMPLES 2 /* extra draws of a diverged batch */

typedef struct genbo__trust {
    size_t dim;
    double *lo, *hi;        /* dim each, original units */
    unsigned char *simplex; /* dim flags (NULL = no simplex constraint) */
} genbo__trust;

/* The region from data A (nA x dim) and B (nB x dim; either may be empty):
 * per feature [min - margin sd, max + margin sd]. user_lo / user_hi (dim
 * each, may be NULL; a NaN entry means "from the data") replace the data's
 * bounds per feature. simplex (dim flags, may be NULL) constrains those
 * features to sum to one; their bounds are then intersected with [0, 1].
 * Fails with GENBO_EINVAL (naming the feature) on lo > hi or an infeasible
 * simplex. */
int genbo__trust_init(genbo__trust *t, size_t dim, const double *A, size_t nA, const double *B,
                      size_t nB, double margin, const double *user_lo, const double *user_hi,
                      const unsigned char *simplex);
void genbo__trust_free(genbo__trust *t);
/* The data's default region (no user bounds, no simplex, margin
 * GENBO__TRUST_MARGIN) for callers without a study region (the genbo
 * method outside a study, benchmarks, tests). Unlike trust_init, which
 * skips them, a non-finite value or no rows fails (GENBO_EINVAL). */
int genbo__trust_default(genbo__trust *t, size_t dim, const double *A, size_t nA, const double *B,
                         size_t nB);

/* 0 if design x (dim) is in the region (to a relative 1e-9), otherwise
 * the reasons it is not: GENBO__TRUST_OUTSIDE and / or _NONFINITE. This is
 * the one test of "is this candidate trusted" (selection uses it too). */
enum { GENBO__TRUST_OUTSIDE = 1, GENBO__TRUST_NONFINITE = 2 };
unsigned genbo__trust_check(const genbo__trust *t, const double *x);

/* Project n designs (n x dim) onto the region in place. flags (n, may be
 * NULL) gets GENBO_DESIGN_PROJECTED or'ed in for each design that moved.
 * Returns the number of designs that moved. */
size_t genbo__trust_project(const genbo__trust *t, size_t n, double *X, unsigned *flags);

/* genbo__generate, then the policy above: the returned designs are finite
 * and in the region (t == NULL: no region, only the non-finite rule).
 * flags (n, may be NULL) receives GENBO_DESIGN_* per design. */
int genbo__generate_trusted(genbo__method m, const genbo__models *models, const genbo__trust *t,
                            double target, size_t n, uint64_t seed, double *designs,
                            unsigned *flags);

/* "projected", "resampled", "resampled,projected" or NULL for 0 (static). */
const char *genbo__design_flags_text(unsigned flags);

#endif
