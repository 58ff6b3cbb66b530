/* baselines.h - the methods genbo is compared with, at the same budget of
 * n designs per target (internal). Pure computation. */
#ifndef GENBO_OPTIMIZER_BASELINES_H
#define GENBO_OPTIMIZER_BASELINES_H

#include <stddef.h>
#include <stdint.h>

#include "genbo.h"

/* Default NLopt evaluation budget of surrogate ascent, per start point. */
#define GENBO__ASCENT_MAX_EVALS 200

/* Per-coordinate min and max over the rows of A (na x dim) and B (nb x dim;
 * B may be NULL): the data's bounding box. */
int genbo__bounding_box(size_t dim, const double *A, size_t na, const double *B, size_t nb,
                        double *lo, double *hi);

/* The n labelled designs of highest reward, best first. When n > n_label
 * the ranking is repeated from the top (best, 2nd, ..., best, ...), so the
 * batch always has n rows. Ties keep the labelled set's order. */
int genbo__best_labelled(const double *label_X, const double *label_y, size_t n_label,
                         size_t dim, size_t n, double *out);

/* Random search on the support: n pool designs drawn uniformly without
 * replacement (with replacement only when n > n_pool), seeded. */
int genbo__random_pool(const double *pool_X, size_t n_pool, size_t dim, size_t n, uint64_t seed,
                       double *out);

/* f and its gradient at one design x (dim). Non-zero return (a GENBO_E*
 * code with its message) aborts the ascent. */
typedef int (*genbo__objective_fn)(void *ctx, size_t dim, const double *x, double *f,
                                   double *grad);

/* Maximise f from each of the n start rows (n x dim) with NLopt's L-BFGS
 * inside the box [lo, hi], at most max_evals evaluations per start
 * (<= 0: GENBO__ASCENT_MAX_EVALS). out[i] is the best point evaluated from
 * start i (so f(out[i]) >= f(start[i]) always, even when NLopt stops with
 * a round-off status). Starts outside the box are clipped into it.
 * out_f (n, may be NULL) receives f at out. */
int genbo__surrogate_ascent(genbo__objective_fn f, void *ctx, size_t dim, const double *starts,
                            size_t n, const double *lo, const double *hi, int max_evals,
                            double *out, double *out_f);

/* The classic baseline: ascent on the learned reward f_hat (predictive mean
 * and gradient of m) from the n best labelled designs, inside the bounding
 * box of labelled + pool. */
int genbo__surrogate_ascent_reward(const genbo_reward *m, const double *label_X,
                                   const double *label_y, size_t n_label, const double *pool_X,
                                   size_t n_pool, size_t dim, size_t n, int max_evals,
                                   double *out);

#endif
