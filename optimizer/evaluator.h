/* evaluator.h - the black box that scores designs (internal).
 *
 * Three kinds, one call (genbo__evaluate):
 *   - a C function (tests, embedding applications);
 *   - the built-in oracle of a synthetic task (genbo_task_oracle,
 *     evaluator.c);
 *   - an external command: genbo writes the batch as CSV to the child's
 *     standard input (header row of column names, then one design per
 *     line, %.17g) and reads one reward per line from its standard output.
 *
 * Failure of a whole batch (time-out, crash, non-zero exit, wrong number of
 * lines, a line that is not a number) returns GENBO_ETIMEOUT or
 * GENBO_EEXTERNAL with a readable reason in genbo_errmsg(), e.g.
 *   "evaluator 'python3 f.py' timed out after 5 s"
 *   "evaluator 'python3 f.py' exited with status 2 (stderr: ...)"
 *   "evaluator 'python3 f.py' killed by signal 11"
 *   "evaluator 'python3 f.py' printed 3 lines for 4 designs"
 *   "evaluator 'python3 f.py': line 3: 'abc' is not a number"
 * and sets every y to NaN: the caller records the trials as failed and
 * goes on. A single design may fail on its own: its line reads "nan" or
 * "fail" optionally followed by a reason ("fail: did not converge"); its y
 * is NaN, its reason (if asked for) is returned, and the call succeeds. */
#ifndef GENBO_OPTIMIZER_EVALUATOR_H
#define GENBO_OPTIMIZER_EVALUATOR_H

#include <stddef.h>

#include "genbo.h"

typedef struct genbo__evaluator genbo__evaluator;

/* y[i] = f(X[i]) for n designs; NaN marks a failed design. Non-zero return
 * (a GENBO_E* code, message set) fails the batch. */
typedef int (*genbo__eval_fn)(void *ctx, size_t n, size_t dim, const double *X, double *y);

int genbo__evaluator_from_fn(size_t dim, genbo__eval_fn fn, void *ctx, genbo__evaluator **out);
/* timeout_s > 0 per batch. names: dim column names for the CSV header, or
 * NULL for x0..x{dim-1}. */
int genbo__evaluator_command(const char *cmd, double timeout_s, size_t dim,
                             const char *const *names, genbo__evaluator **out);
/* The task's noiseless f* (the task must outlive the evaluator). */
int genbo__evaluator_oracle(const genbo_task *task, genbo__evaluator **out);
void genbo__evaluator_free(genbo__evaluator *ev);
size_t genbo__evaluator_dim(const genbo__evaluator *ev);

/* Score n designs X (n x dim) into y (n). reasons may be NULL; else it
 * receives n pointers, NULL or a malloc'ed reason for each failed design
 * (free them with genbo__reasons_free). */
int genbo__evaluate(genbo__evaluator *ev, size_t n, const double *X, double *y, char **reasons);
void genbo__reasons_free(char **reasons, size_t n);

/* Most of stdout genbo reads from one batch (bytes). */
#define GENBO__EVAL_MAX_OUTPUT ((size_t)64 << 20)

#endif
