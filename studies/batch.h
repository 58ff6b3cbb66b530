/* batch.h - one batch of a run: the n designs of one (run, round, target,
 * method). Its stored rows and its metrics row live here (batch.c); the
 * loop that generates, evaluates and tells batches is optimizer/loop.c.
 * Internal. */
#ifndef GENBO_STUDIES_BATCH_H
#define GENBO_STUDIES_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "studies/study.h"

typedef struct genbo__batch {
    int64_t run_id;
    int round;
    const char *label, *method;
    double target;
    size_t n;
    uint64_t seed;
} genbo__batch;

/* The batch's trials as stored, in id order. */
typedef struct genbo__batch_rows {
    size_t n;
    int64_t *ids;
    double *X, *pred, *supp, *y; /* y: observed value or NaN */
    int *asked;
    int has_supp;
} genbo__batch_rows;

void genbo__batch_rows_free(genbo__batch_rows *r);
/* Trials stored for the batch / metrics rows stored for it (0 or 1). */
int genbo__batch_count_trials(genbo_study *s, const genbo__batch *b, int64_t *n);
int genbo__batch_count_metrics(genbo_study *s, const genbo__batch *b, int64_t *n);
int genbo__batch_load_rows(genbo_study *s, const genbo__batch *b, genbo__batch_rows *r);
/* The metrics row of a batch from its rows: true rewards when there are
 * any (with_true), else the predicted ones. */
int genbo__batch_metrics(genbo_study *s, const genbo__batch *b, genbo__batch_rows *r, int with_true);

#endif
