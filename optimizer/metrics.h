/* metrics.h - what a batch of generated designs is worth (internal).
 *
 * For n designs generated at target a: SubOpt(a) from true rewards when
 * there are any (else from predicted rewards, flagged as such), mean / best
 * / sd of the true and of the predicted rewards, a support distance,
 * diversity and novelty. Pure computation: no I/O, no printing. */
#ifndef GENBO_OPTIMIZER_METRICS_H
#define GENBO_OPTIMIZER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "genbo.h"

/* Neighbours used by the kNN support distance. */
#define GENBO__KNN_K 5
/* Pool designs used to estimate the pool's own mean kNN distance. */
#define GENBO__KNN_SCALE_SUBSET 512

typedef enum genbo__subopt_kind {
    GENBO__SUBOPT_NONE = 0,      /* neither true nor predicted rewards given */
    GENBO__SUBOPT_TRUE = 1,      /* a - mean true reward */
    GENBO__SUBOPT_PREDICTED = 2  /* a - mean predicted reward (NOT a true SubOpt) */
} genbo__subopt_kind;

typedef enum genbo__support_kind {
    GENBO__SUPPORT_NONE = 0, /* no pool and no task distances: not computed */
    GENBO__SUPPORT_TASK = 1, /* mean of the task's own per-design distances */
    GENBO__SUPPORT_KNN = 2   /* mean kNN distance to the pool / pool's own */
} genbo__support_kind;

typedef struct genbo__metrics_input {
    size_t n, dim;
    const double *X;       /* n x dim generated designs */
    double target;         /* a */
    const double *y_true;  /* n true rewards (oracle/evaluator) or NULL; NaN
                              entries are failed designs and are skipped */
    const double *y_pred;  /* n predicted rewards (reward model) or NULL */
    const double *support; /* n per-design task support distances or NULL */
    const double *label_X; /* n_label x dim labelled designs (novelty), may be NULL */
    size_t n_label;
    const double *pool_X;  /* n_pool x dim unlabelled pool (kNN support), may be NULL */
    size_t n_pool;
    /* The pool's own mean kNN distance; <= 0 means "compute it here" from
     * a random subset of the pool seeded with `seed`. Compute it once per
     * pool with genbo__knn_scale and pass it in to save time. */
    double knn_scale;
    uint64_t seed;
} genbo__metrics_input;

typedef struct genbo__metrics {
    size_t n;              /* designs in the batch */
    double target;
    /* SubOpt(a) = a - mean reward; subopt_kind says from which rewards. */
    double subopt;
    genbo__subopt_kind subopt_kind;
    /* true rewards: has_true = 1 when at least one finite true reward */
    int has_true;
    size_t n_true;         /* designs with a finite true reward */
    size_t n_failed;       /* designs whose true reward is NaN (failed) */
    double true_mean, true_best, true_sd;
    int has_pred;
    double pred_mean, pred_best, pred_sd;
    /* support distance (see genbo__support_kind), ~1 on support for kNN */
    double support;
    genbo__support_kind support_kind;
    double diversity;      /* mean pairwise Euclidean distance (0 if n < 2) */
    double novelty;        /* mean distance to the nearest labelled design */
} genbo__metrics;

/* Fill *out. Quantities that cannot be computed are NaN (e.g. novelty
 * without labelled designs). Fails on n == 0, dim == 0, NULL X or a pool
 * smaller than k + 1 designs when the kNN support distance is needed. */
int genbo__metrics_compute(const genbo__metrics_input *in, genbo__metrics *out);

/* q-th percentile (q in [0, 100]) of v, linear interpolation between order
 * statistics (numpy's default). NaN for n == 0, q outside [0, 100], a NaN
 * in v or an allocation failure. */
double genbo__percentile(const double *v, size_t n, double q);

/* Mean over the n designs Q of the mean Euclidean distance to their k
 * nearest rows of P (n_p x dim), blocked through cblas_dgemm. When
 * skip_self is non-NULL, skip_self[i] is an index of P that row i of Q must
 * not count (itself), or (size_t)-1. Fails if n_p < k (+1 with skip_self). */
int genbo__knn_mean_dist(const double *Q, size_t n, const double *P, size_t n_p, size_t dim,
                         size_t k, const size_t *skip_self, double *per_design, double *mean);

/* The pool's own mean kNN distance, estimated on min(subset, n_pool) pool
 * designs drawn without replacement with seed (each excluding itself). */
int genbo__knn_scale(const double *pool_X, size_t n_pool, size_t dim, size_t k, size_t subset,
                     uint64_t seed, double *scale);

#endif
