/* reweight.h - DDOM's training weights toward high rewards (internal).
 *
 * Krishnamoorthy, Mashkaria, Grover, "Diffusion Models for Black-Box
 * Optimization" (ICML 2023), after Kumar & Levine's MINs: the rewards y
 * are binned into GENBO__REWEIGHT_BINS equal-width bins with frequencies
 * h_b (summing to 1); with the temperature tau = max(y) - (the Q-th
 * percentile of y) (floored at 1e-3 of the range of y, so the rule is
 * scale-free), bin b gets the probability
 *
 *     p_b  proportional to  exp((e_b - e_max) / tau) * h_b / (h_b + 0.001)
 *
 * (e_b the bin's upper edge; the second factor keeps nearly empty bins
 * from being drawn), and a row in bin b the weight p_b / h_b, clipped to
 * [0, GENBO__REWEIGHT_CLIP]. A weight of 1 is the uniform draw; the clip
 * keeps the top rows from being drawn more than 5 times as often. DDOM's
 * default is Q = 90. Non-finite rewards get weight 0. */
#ifndef GENBO_OPTIMIZER_REWEIGHT_H
#define GENBO_OPTIMIZER_REWEIGHT_H

#include <stddef.h>

#include "genbo.h"

#define GENBO__REWEIGHT_BINS 20
#define GENBO__REWEIGHT_CLIP 5.0

/* w (n) from y (n); percentile Q in [0, 100). Fails when no y is finite. */
int genbo__ddom_weights(size_t n, const double *y, double percentile, double *w);

#endif
