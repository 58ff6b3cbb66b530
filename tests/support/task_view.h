/* task_view.h - what tests and benchmarks read of a synthetic task beyond
 * the public API (support library, not part of libgenbo): the true
 * subspace, the true reward direction, the reward's spread on the data,
 * so they can report exact quantities next to what the pipeline
 * estimated. All pointers are borrowed and live as long as the task. */
#ifndef GENBO_SUPPORT_TASK_VIEW_H
#define GENBO_SUPPORT_TASK_VIEW_H

#include <stddef.h>

#include "genbo.h"

/* The curved task's manifold (datasets/manifold.h, which a test that
 * calls its functions includes itself). */
typedef struct genbo__manifold genbo__manifold;

const genbo_task_params *genbo__task_params(const genbo_task *t);

/* Subspace tasks: the basis A (D x d, row-major, orthonormal columns) and
 * d through *d. NULL for GP sequences. */
const double *genbo__task_basis(const genbo_task *t, size_t *d);

/* The reward's linear direction (length D) when the reward is linear:
 * theta = A beta + theta_perp for SUBSPACE_LINEAR, the functional
 * g = (1/N) 1_N (x) w for GP_SEQUENCE (f*(x) = g^T x in both). NULL for
 * the quadratic task. */
const double *genbo__task_theta(const genbo_task *t);

/* Quadratic and curved tasks: z* (length d) and the offset c in
 * f*(x) = c - 1/2 ||A^T x - z*||^2 (- the curved task's penalty). NULL for
 * the other tasks. */
const double *genbo__task_zstar(const genbo_task *t, double *c);

/* Exact mean and standard deviation of the noiseless reward f*(x) under
 * the data distribution (closed forms, see docs/datasets.md). */
double genbo__task_reward_mean(const genbo_task *t);
double genbo__task_reward_sd(const genbo_task *t);

/* GP sequences: the time covariance Gamma (N x N, jitter included) and
 * the per-step covariance Lambda (m x m); NULL for subspace tasks. */
const double *genbo__task_gp_gamma(const genbo_task *t, size_t *N);
const double *genbo__task_gp_lambda(const genbo_task *t, size_t *m);

/* GP sequences: the Mahalanobis radius beyond which a design is off the
 * support: sqrt of the chi-square(D) quantile at z = 5 (Wilson-Hilferty). */
double genbo__task_gp_radius(const genbo_task *t);

/* Curved manifold task: the manifold (in subspace coordinates z = A^T x)
 * and through *ustar the parameter of the best valid design, whose design
 * is A phi(u*) and scores GENBO__CURVED_OPTIMUM. NULL for other kinds. */
const genbo__manifold *genbo__task_manifold(const genbo_task *t, const double **ustar);

/* Mean and sd (genbo__task_reward_mean/sd) of the curved task are Monte
 * Carlo estimates over 2^15 designs of a fixed stream, not closed forms. */

#endif
