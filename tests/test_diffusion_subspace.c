/* test_diffusion_subspace.c - samples stay on a low-dimensional support and
 * follow the reward they are conditioned on (fixture in the .h). */
#include <criterion/criterion.h>

#include "precision_fixture.h"
#include "test_diffusion_subspace.h"

enum { NS = 1000 };

static void support_and_target_case(genbo_precision prec) {
    ss_precision = prec;
    subspace_task t;
    ss_make(&t, 31, 0.1);
    genbo_diffusion *m = ss_train(&t, 3000);
    cr_assert_not_null(m, "%s", genbo_errmsg());
    double *G = malloc(sizeof(double) * NS * SS_D), reward, support;

    /* 3. unguided (unconditional) samples are on the support; noise is not */
    genbo_sample_params sp;
    genbo_sample_params_default(&sp);
    sp.conditional = 0;
    sp.steps = 100;
    cr_assert_eq(genbo_diffusion_sample(m, &sp, 0, NS, G), GENBO_OK, "%s", genbo_errmsg());
    ss_means(&t, NS, G, &reward, &support);
    cr_log_info("%s unconditional: support distance %.4f, reward %.3f", genbo_precision_name(prec),
                support, reward);
    cr_expect_leq(support, 0.05, "support distance %.4f", support);
    genbo__rng r;
    genbo__rng_seed(&r, 5, 0);
    for (int i = 0; i < NS * SS_D; i++) G[i] = genbo__rng_normal(&r);
    double noise_support;
    ss_means(&t, NS, G, &reward, &noise_support);
    cr_expect_gt(noise_support, 0.8, "noise support distance %.4f", noise_support);

    /* 4. conditioning on the 50th / 75th / 95th percentile of the pool */
    const double qs[3] = {0.50, 0.75, 0.95};
    double got[3];
    sp.conditional = 1;
    for (int q = 0; q < 3; q++) {
        double a = ss_quantile(&t, qs[q]);
        cr_assert_eq(genbo_diffusion_sample(m, &sp, a, NS, G), GENBO_OK);
        ss_means(&t, NS, G, &got[q], &support);
        cr_log_info("target %.3f (q %.2f): mean reward %.3f, support %.4f", a, qs[q], got[q],
                    support);
        /* the pool's reward sd is 1 (||beta|| = 1, label noise 0.1) */
        if (q < 2) cr_expect_lt(fabs(got[q] - a), 0.25, "target %.3f got %.3f", a, got[q]);
        cr_expect_leq(support, 0.08, "support distance %.4f at target %.3f", support, a);
    }
    cr_expect_lt(got[0], got[1]);
    cr_expect_lt(got[1], got[2]);
    free(G);
    genbo_diffusion_free(m);
    ss_free(&t);
}

TEST_BOTH_PRECISIONS(diffusion_subspace, samples_on_support_and_reward_follows_target,
                     support_and_target_case, .timeout = 180)
