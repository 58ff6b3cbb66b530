/* olympus.h - the offline protocol for the Olympus data sets (support
 * library of the tests and benchmarks, not part of libgenbo; see
 * ../shared/datasets/README.md and docs/datasets.md).
 *
 *   reward   = the objective, negated where the goal is to minimise;
 *   labelled = n_label rows drawn with a seed from the rows whose reward is
 *              strictly below the 80th percentile (best designs hidden);
 *   pool     = every row's inputs, unlabelled;
 *   oracle   = reward of the nearest measured row (after projecting onto
 *              the simplex for simplex data), its distance, and the
 *              normalised score (r - r_min) / (r_max - r_min). */
#ifndef GENBO_OLYMPUS_H
#define GENBO_OLYMPUS_H

#include <stddef.h>
#include <stdint.h>

#include "genbo.h"

typedef enum genbo__olympus_support {
    GENBO__SUPPORT_BOX = 0,    /* each input within the data's [min, max] */
    GENBO__SUPPORT_SIMPLEX = 1 /* inputs >= 0 and summing to 1 */
} genbo__olympus_support;

typedef struct genbo__olympus {
    char name[64];             /* file stem, e.g. "oer_plate_3496" */
    const char *objective;     /* objective column (static string) */
    int minimise;              /* 1 if the goal is to minimise the objective */
    genbo__olympus_support support;
    size_t n, d;
    const double *X;           /* n x d inputs (owned by data) */
    const double *objective_values; /* n measured objectives (owned by data) */
    double *reward;            /* n rewards: objective, negated if minimised */
    double *lo, *hi;           /* d per-input min / max over the rows */
    double r_min, r_max;       /* reward range over all rows */
    double r_p80;              /* 80th percentile of the reward (linear interpolation) */
    genbo_dataset *data;       /* the file as read (objective as y) */
} genbo__olympus;

/* Protocol facts for a known file stem ("hplc", "oer_plate_3496", ...).
 * Fails with GENBO_ENOTFOUND for an unknown name. */
int genbo__olympus_lookup(const char *stem, const char **objective, int *minimise,
                          genbo__olympus_support *support);

/* Read path (its file stem must be a known data set). */
int genbo__olympus_load(const char *path, genbo__olympus **out);
void genbo__olympus_free(genbo__olympus *o);

/* Labelled set (rewards as y) and pool (all inputs, no y); column names
 * are the file's. Fails with GENBO_EINVAL if n_label exceeds the number of
 * rows below the 80th percentile. */
int genbo__olympus_split(const genbo__olympus *o, size_t n_label, uint64_t seed,
                         genbo_dataset **labelled, genbo_dataset **pool);

/* Oracle for n designs (n x d). Any output may be NULL. Nearest row by
 * Euclidean distance: on the raw inputs after simplex projection for
 * simplex data; on inputs scaled by each column's range for box data.
 * Rows tied at the minimal distance (repeated measurements of the same
 * design) contribute the mean of their rewards. */
int genbo__olympus_oracle(const genbo__olympus *o, size_t n, const double *X, double *reward,
                          double *dist, double *score);

/* Support distance per design: the simplex distance below for simplex
 * data; for box data the Euclidean norm of the per-input excursion outside
 * [lo, hi], each in units of that input's range. */
int genbo__olympus_support_distance(const genbo__olympus *o, size_t n, const double *X,
                                    double *dist);

/* |sum(x) - 1| + sum(max(0, -x_i)) */
double genbo__simplex_distance(size_t d, const double *x);
/* Euclidean projection of x onto the probability simplex (out may be x). */
void genbo__simplex_project(size_t d, const double *x, double *out);

#endif
