/* baselines_reward.c - surrogate ascent on a learned reward model (own
 * file: only programs that use it link reward/). */
#include <stdlib.h>

#include "core/core.h"
#include "optimizer/baselines.h"

static int reward_objective(void *ctx, size_t dim, const double *x, double *f, double *grad) {
    (void)dim;
    const genbo_reward *m = ctx;
    int rc = genbo_reward_predict(m, 1, x, f, NULL);
    if (rc == GENBO_OK && grad) rc = genbo_reward_gradient(m, 1, x, grad);
    return rc;
}

int genbo__surrogate_ascent_reward(const genbo_reward *m, const double *label_X,
                                   const double *label_y, size_t n_label, const double *pool_X,
                                   size_t n_pool, size_t dim, size_t n, int max_evals,
                                   double *out) {
    if (!m) return genbo__fail(GENBO_EINVAL, "surrogate ascent: no reward model");
    if (genbo_reward_dim(m) != dim)
        return genbo__fail(GENBO_EINVAL, "surrogate ascent: reward model has dim %zu, data %zu",
                           genbo_reward_dim(m), dim);
    double *lo = genbo__malloc(dim * sizeof *lo), *hi = genbo__malloc(dim * sizeof *hi);
    double *starts = genbo__malloc(n * dim * sizeof *starts);
    int rc = (lo && hi && starts) ? GENBO_OK : GENBO_ENOMEM;
    if (rc == GENBO_OK) rc = genbo__bounding_box(dim, label_X, n_label, pool_X, n_pool, lo, hi);
    if (rc == GENBO_OK) rc = genbo__best_labelled(label_X, label_y, n_label, dim, n, starts);
    if (rc == GENBO_OK)
        rc = genbo__surrogate_ascent(reward_objective, (void *)m, dim, starts, n, lo, hi,
                                     max_evals, out, NULL);
    free(lo), free(hi), free(starts);
    return rc;
}
