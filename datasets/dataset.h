/* dataset.h - the dataset struct, shared inside the library (not installed).
 *
 * A dataset is n rows of d doubles (one contiguous row-major block), an
 * optional reward per row, d column names and optional text ids. Ids live
 * in one text block (NUL-separated) with one offset per row, so a million
 * ids cost two allocations, not a million. */
#ifndef GENBO_DATASET_H
#define GENBO_DATASET_H

#include <stddef.h>

#include "genbo.h"

struct genbo_dataset {
    size_t n, d;
    double *X;          /* n x d, row-major */
    double *y;          /* n rewards, or NULL when unlabelled */
    char **names;       /* d pointers into names_text */
    char *names_text;   /* the d names, NUL-separated */
    char *id_text;      /* the n ids, NUL-separated; NULL when no ids */
    size_t *id_off;     /* n offsets into id_text; NULL when no ids */
};

/* Build a dataset that takes ownership of X (n x d) and y (n, may be NULL),
 * both from malloc: no copy of the numbers. names (d strings, may be NULL
 * for x0, x1, ...) are copied. On failure X and y are freed too, so the
 * caller never has to clean up after this call. n may be 0. */
int genbo__dataset_take(size_t n, size_t d, double *X, double *y, const char *const *names,
                        genbo_dataset **out);

/* Copy names (or make x0..x{d-1} when names is NULL) into ds. */
int genbo__dataset_set_names(genbo_dataset *ds, const char *const *names);

#endif
