/* tasks.h - internal view of the synthetic tasks (not installed).
 *
 * The optimizer and the benchmarks use these to report exact quantities
 * (the true subspace, the true reward direction, the reward's spread on
 * the data) next to what the pipeline estimated. All pointers are borrowed
 * and live as long as the task. */
#ifndef GENBO_TASKS_H
#define GENBO_TASKS_H

#include <stddef.h>

#include "datasets/manifold.h"
#include "genbo.h"

/* GENBO_TASK_CURVED_MANIFOLD's constants (docs/datasets.md):
 * f*(x) = c - 1/2 ||A^T x - z*||^2 - PENALTY dist(x)^2, with
 * z* = phi(u*) + OFFSET n* (||u*|| = USTAR_NORM, n* a unit normal of the
 * manifold at phi(u*)) and c such that the best design on the manifold
 * scores OPTIMUM. */
#define GENBO__CURVED_PENALTY 10.0
#define GENBO__CURVED_OFFSET 0.5
#define GENBO__CURVED_USTAR_NORM 0.5
#define GENBO__CURVED_OPTIMUM 2.0

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
