/* sample_api.c - genbo_diffusion_sample: the sampler core with the reward
 * model's gradient (genbo_reward_gradient, original units) as the
 * gradient-guidance callback. */
#include "diffusion/diffusion_internal.h"

static int reward_grad(void *ctx, size_t n, const double *X, double *grad) {
    return genbo_reward_gradient((const genbo_reward *)ctx, n, X, grad);
}

int genbo_diffusion_sample(const genbo_diffusion *m, const genbo_sample_params *p,
                           double target, size_t n, double *X) {
    if (!m || !p) return genbo__fail(GENBO_EINVAL, "diffusion_sample: NULL model or params");
    if (p->grad_mode == GENBO_GRAD_NONE)
        return gd_sample_core(m, p, target, n, X, NULL, NULL);
    if (!p->reward)
        return genbo__fail(GENBO_EINVAL,
                           "diffusion_sample: gradient guidance needs a reward model (reward)");
    if (genbo_reward_dim(p->reward) != (size_t)m->cfg.D)
        return genbo__fail(GENBO_EINVAL,
                           "diffusion_sample: reward model has dimension %zu, diffusion model %d",
                           genbo_reward_dim(p->reward), m->cfg.D);
    return gd_sample_core(m, p, target, n, X, reward_grad, (void *)p->reward);
}
