/* batch.h - one batch of a run: the n designs of one (run, round, target,
 * method; the types are the loop's, optimizer/loop.h). Its stored rows and
 * its metrics row live here (batch.c); the loop that generates, evaluates
 * and tells batches is optimizer/loop.c, which reaches these through its
 * storage operations (loop_store.c). Internal. */
#ifndef GENBO_STUDIES_BATCH_H
#define GENBO_STUDIES_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "optimizer/loop.h"
#include "studies/study.h"

/* Trials stored for the batch / metrics rows stored for it (0 or 1). */
int genbo__batch_count_trials(genbo_study *s, const genbo__batch *b, int64_t *n);
int genbo__batch_count_metrics(genbo_study *s, const genbo__batch *b, int64_t *n);
int genbo__batch_load_rows(genbo_study *s, const genbo__batch *b, genbo__batch_rows *r);
/* The metrics row of a batch from its rows: true rewards when there are
 * any (with_true), else the predicted ones. */
int genbo__batch_metrics(genbo_study *s, const genbo__batch *b, genbo__batch_rows *r, int with_true);

#endif
