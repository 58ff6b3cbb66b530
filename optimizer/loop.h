/* loop.h - the optimisation loop of a study run (loop.c). Internal. */
#ifndef GENBO_OPTIMIZER_LOOP_H
#define GENBO_OPTIMIZER_LOOP_H

#include <stdint.h>

#include "genbo.h"

/* Every step of run_id not yet completed: the models (studies/pipeline.c),
 * the generate phase (a batch per target and method) and the design-loop
 * rounds (a batch at the loop target, refit, optional fine-tune). */
int genbo__loop_run(genbo_study *s, int64_t run_id);

#endif
