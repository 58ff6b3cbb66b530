/* thompson.h - batch Thompson sampling over a candidate set (internal).
 *
 * The exploring part of a genbo batch: each remaining slot takes the best
 * candidate under one joint draw of f from the reward model's posterior
 * (mean mu, covariance genbo_reward_covariance x var_scale) over the
 * candidates on the support, subject to the same diversity rule as the
 * rest of the batch (select.h, per-candidate radii). A draw favours a
 * design with the probability that it is the best one (Kandasamy et al.
 * 2018, parallel Thompson sampling), so the part spreads over every design
 * that could be the best instead of packing where mean + kappa sd is
 * highest: it aims at the best single design of the batch.
 *
 * Only the GENBO__THOMPSON_MAX candidates with the highest optimistic
 * score opt are drawn over (the covariance is K x K); when the joint
 * covariance cannot be factored even with jitter, the draws are taken
 * from the marginals. */
#ifndef GENBO_OPTIMIZER_THOMPSON_H
#define GENBO_OPTIMIZER_THOMPSON_H

#include <stddef.h>
#include <stdint.h>

#include "genbo.h"

#define GENBO__THOMPSON_MAX 1024

/* Fill chosen[n_have..n) (candidate indices into the m rows of X, with
 * their standardised Z, mean mu, optimistic score opt and support ratio)
 * by one posterior draw per slot. Seeded. */
int genbo__thompson_more(const genbo_reward *reward, double var_scale, size_t m, size_t dim,
                         const double *X, const double *Z, const double *mu, const double *opt,
                         const double *ratio, double ratio_max, const double *radius,
                         double delta, size_t n_have, size_t n, uint64_t seed, size_t *chosen);

#endif
