/* test_diffusion_guidance.c - classifier-free and gradient guidance raise
 * the true reward on the subspace task (fixture in test_diffusion_subspace.h). */
#include <criterion/criterion.h>

#include "test_diffusion_subspace.h"

enum { NS = 1000 };

/* gradient of the true linear reward: theta everywhere (original units) */
static int linear_grad(void *ctx, size_t n, const double *X, double *grad) {
    const subspace_task *t = ctx;
    (void)X;
    for (size_t i = 0; i < n; i++) memcpy(grad + i * SS_D, t->theta, sizeof t->theta);
    return GENBO_OK;
}

static double mean_reward(const genbo_diffusion *m, const subspace_task *t,
                          const genbo_sample_params *sp, double a, double *support) {
    double *G = malloc(sizeof(double) * NS * SS_D), reward;
    genbo_sample_params p = *sp;
    p.grad = linear_grad;
    p.grad_ctx = (void *)t;
    cr_assert_eq(genbo_diffusion_sample(m, &p, a, NS, G), GENBO_OK, "%s", genbo_errmsg());
    ss_means(t, NS, G, &reward, support);
    free(G);
    return reward;
}

Test(diffusion_guidance, cfg_and_gradient_guidance_raise_reward, .timeout = 180) {
    subspace_task t;
    /* Noisy labels (sd 0.5): conditioning on y then only partly pins f(x),
     * so guidance has room to act. With sharp labels p(x | y) already puts
     * f(x) at y and CFG (which sharpens p(y | x)) cannot move it. */
    ss_make(&t, 32, 0.5);
    genbo_diffusion *m = ss_train(&t, 3000);
    cr_assert_not_null(m, "%s", genbo_errmsg());
    const double a = ss_quantile(&t, 0.75);
    genbo_sample_params sp;
    genbo_sample_params_default(&sp);
    sp.steps = 100;
    double sup;

    double base = mean_reward(m, &t, &sp, a, &sup);
    cr_log_info("conditional, no guidance: reward %.3f support %.4f (target %.3f)", base, sup, a);
    sp.cfg_weight = 2.0;
    double cfg = mean_reward(m, &t, &sp, a, &sup);
    cr_log_info("CFG w = 2: reward %.3f support %.4f", cfg, sup);
    cr_expect_gt(cfg, base + 0.1, "CFG %.3f vs %.3f", cfg, base);

    sp.cfg_weight = 0.0;
    sp.grad_mode = GENBO_GRAD_LOOKAHEAD;
    sp.grad_eta = 1.0;
    double look = mean_reward(m, &t, &sp, a, &sup);
    cr_log_info("look-ahead gradient eta 1: reward %.3f support %.4f", look, sup);
    cr_expect_gt(look, base + 0.1, "look-ahead %.3f vs %.3f", look, base);
    cr_expect_lt(sup, 0.1, "look-ahead guidance leaves the support: %.4f", sup);

    sp.grad_mode = GENBO_GRAD_NAIVE;
    double naive = mean_reward(m, &t, &sp, a, &sup);
    cr_log_info("naive gradient eta 1: reward %.3f support %.4f", naive, sup);
    cr_expect_gt(naive, base + 0.1, "naive %.3f vs %.3f", naive, base);

    /* plain reward-gradient guidance on the unconditional score */
    sp.conditional = 0;
    sp.grad_mode = GENBO_GRAD_NONE;
    double unc = mean_reward(m, &t, &sp, a, &sup);
    sp.grad_mode = GENBO_GRAD_LOOKAHEAD;
    double unc_g = mean_reward(m, &t, &sp, a, &sup);
    cr_log_info("unconditional %.3f, with look-ahead gradient %.3f (support %.4f)", unc, unc_g,
                sup);
    cr_expect_gt(unc_g, unc + 0.2, "unconditional gradient %.3f vs %.3f", unc_g, unc);
    genbo_diffusion_free(m);
    ss_free(&t);
}
