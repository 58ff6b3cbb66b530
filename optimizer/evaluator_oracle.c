/* evaluator_oracle.c - the built-in oracle of a synthetic task as an
 * evaluator (own file: only programs that use it link datasets/). */
#include "core/core.h"
#include "optimizer/evaluator.h"

static int oracle_fn(void *ctx, size_t n, size_t dim, const double *X, double *y) {
    (void)dim;
    return genbo_task_oracle((const genbo_task *)ctx, n, X, y);
}

int genbo__evaluator_oracle(const genbo_task *task, genbo__evaluator **out) {
    if (out) *out = NULL;
    if (!task) return genbo__fail(GENBO_EINVAL, "evaluator: oracle needs a synthetic task");
    /* the evaluator only reads the task; the cast drops const for ctx */
    return genbo__evaluator_from_fn(genbo_task_dim(task), oracle_fn, (void *)task, out);
}
