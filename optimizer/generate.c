/* generate.c - one call per (target, method): dispatch to the diffusion
 * sampler or to a baseline. */
#include "core/core.h"
#include "optimizer/baselines.h"
#include "optimizer/methods.h"

int genbo__generate(genbo__method m, const genbo__models *models, double target, size_t n,
                    uint64_t seed, double *designs) {
    if (!models || !designs || n == 0 || models->dim == 0)
        return genbo__fail(GENBO_EINVAL, "generate: no models or no designs asked for");
    const char *name = genbo__method_name(m);
    if (!name) return genbo__fail(GENBO_EINVAL, "generate: method %d out of range", (int)m);
    int rc;
    if (m == GENBO__METHOD_GENBO) {
        if (!models->diffusion)
            return genbo__fail(GENBO_ESTATE, "method '%s' needs a trained diffusion model", name);
        rc = genbo__genbo_batch(models, target, n, seed, designs);
    } else if (m == GENBO__METHOD_EDIT) {
        if (!models->diffusion)
            return genbo__fail(GENBO_ESTATE, "method '%s' needs a trained diffusion model", name);
        rc = genbo__edit_batch(models, target, n, seed, designs);
    } else if (genbo__method_uses_diffusion(m)) {
        const genbo_diffusion *dm =
            m == GENBO__METHOD_REWEIGHTED ? models->reweighted : models->diffusion;
        if (!dm)
            return genbo__fail(GENBO_ESTATE, "method '%s' needs a trained %sdiffusion model", name,
                               m == GENBO__METHOD_REWEIGHTED ? "reweighted " : "");
        if (genbo_diffusion_dim(dm) != models->dim)
            return genbo__fail(GENBO_EINVAL, "method '%s': diffusion model has dim %zu, data %zu",
                               name, genbo_diffusion_dim(dm), models->dim);
        genbo_sample_params p;
        rc = genbo__method_sample_params(m, &models->sample, models->reward, seed, &p);
        if (rc == GENBO_OK) rc = genbo_diffusion_sample(dm, &p, target, n, designs);
    } else if (m == GENBO__METHOD_SURROGATE_ASCENT) {
        rc = genbo__surrogate_ascent_reward(models->reward, models->label_X, models->label_y,
                                            models->n_label, models->pool_X, models->n_pool,
                                            models->dim, n, models->ascent_max_evals, designs);
    } else if (m == GENBO__METHOD_BEST_LABELLED) {
        rc = genbo__best_labelled(models->label_X, models->label_y, models->n_label, models->dim,
                                  n, designs);
    } else {
        rc = genbo__random_pool(models->pool_X, models->n_pool, models->dim, n, seed, designs);
    }
    return rc == GENBO_OK ? rc : genbo__fail_prefix(rc, "method '%s' at target %g", name, target);
}
