/* select.h - choose the n designs a batch returns from m >= n candidates
 * (internal, pure computation).
 *
 * Order: candidates on the support (ratio <= ratio_max) by acquisition,
 * best first; then the others by support ratio, closest first (used only
 * when fewer than n candidates are on the support). Non-finite candidates
 * (any coordinate, the acquisition or the ratio) are never chosen.
 *
 * Diversity: greedy in that order, a candidate is taken only if its
 * distance (in the standardised coordinates Z) to every design taken so
 * far is at least delta. If a pass ends with fewer than n designs, delta
 * is halved and the pass repeated over the candidates not yet taken (up to
 * GENBO__SELECT_HALVINGS times, then delta = 0), so the batch is always
 * full, as spread as the candidates allow, and never larger than n. */
#ifndef GENBO_OPTIMIZER_SELECT_H
#define GENBO_OPTIMIZER_SELECT_H

#include <stddef.h>

#include "genbo.h"

#define GENBO__SELECT_HALVINGS 20

/* Choose n of the m candidates (Z: m x dim standardised designs; acq and
 * ratio: m each). chosen (n) receives candidate indices in the order they
 * were taken; *delta_used (may be NULL) the distance rule that filled the
 * batch. Fails with GENBO_ENUMERIC when fewer than n candidates are
 * finite. */
int genbo__select(size_t m, size_t dim, const double *Z, const double *acq, const double *ratio,
                  double ratio_max, double delta, size_t n, size_t *chosen, double *delta_used);
/* The same, continuing a batch: chosen[0..n_have) are already taken
 * (candidate indices; they are never taken again and every new design
 * keeps delta from them too); fills chosen[n_have..n). */
int genbo__select_more(size_t m, size_t dim, const double *Z, const double *acq,
                       const double *ratio, double ratio_max, double delta, size_t n_have,
                       size_t n, size_t *chosen, double *delta_used);
/* The same with a radius per candidate (radius: m, NULL = delta for all):
 * a design is taken only if its distance to every design t taken so far
 * is at least radius[t] (the ball of the design already in the batch, as
 * in local penalisation); halving scales every radius. */
int genbo__select_radii(size_t m, size_t dim, const double *Z, const double *acq,
                        const double *ratio, double ratio_max, const double *radius, double delta,
                        size_t n_have, size_t n, size_t *chosen, double *delta_used);
#endif
