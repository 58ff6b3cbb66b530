/* test_optimizer_reweight.c - DDOM's histogram weights (closed form on a
 * small example, scale-free, clipped) and the alias table that draws
 * training rows by them. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "diffusion/diffusion_internal.h"
#include "optimizer/reweight.h"

Test(reweight, ddom_weights_closed_form_and_clip) {
    /* 20 bins on [0, 20] (width 1): 10 rows at 0 (bin 0), 9 at 10.5
     * (bin 10), 1 at 20 (bin 19). p90 = 10.5 -> tau = 9.5. */
    enum { M = 20 };
    double y[M], w[M];
    for (int i = 0; i < 10; i++) y[i] = 0;
    for (int i = 10; i < 19; i++) y[i] = 10.5;
    y[19] = 20;
    cr_assert_eq(genbo__ddom_weights(M, y, 90, w), GENBO_OK);
    double tau = 20 - 10.5, h[3] = {0.5, 0.45, 0.05}, e[3] = {1, 11, 20}, p[3], ps = 0;
    for (int k = 0; k < 3; k++) ps += p[k] = exp((e[k] - 20) / tau) * h[k] / (h[k] + 1e-3);
    double want0 = p[0] / ps / h[0], want1 = p[1] / ps / h[1], want2 = fmin(p[2] / ps / h[2], 5.0);
    cr_assert_float_eq(w[0], want0, 1e-12);
    cr_assert_float_eq(w[12], want1, 1e-12);
    cr_assert_float_eq(w[19], want2, 1e-12);
    cr_assert_lt(w[0], w[12], "higher rewards weigh more");
    cr_assert_leq(w[19], GENBO__REWEIGHT_CLIP);
}

Test(reweight, ddom_weights_are_scale_free_and_skip_nan) {
    enum { M = 500 };
    double y[M], z[M], w[M], v[M];
    for (int i = 0; i < M; i++) y[i] = sin(0.37 * i) + 0.002 * i;
    for (int i = 0; i < M; i++) z[i] = 1e4 * y[i] - 3e5; /* other units, other offset */
    y[7] = NAN;
    z[7] = NAN;
    cr_assert_eq(genbo__ddom_weights(M, y, 90, w), GENBO_OK);
    cr_assert_eq(genbo__ddom_weights(M, z, 90, v), GENBO_OK);
    cr_assert_eq(w[7], 0);
    for (int i = 0; i < M; i++) cr_assert_float_eq(w[i], v[i], 1e-9 * (1 + w[i]), "row %d", i);
    double all_nan[3] = {NAN, NAN, NAN};
    cr_assert_eq(genbo__ddom_weights(3, all_nan, 90, w), GENBO_EINVAL);
    cr_assert_eq(genbo__ddom_weights(M, y, 100, w), GENBO_EINVAL);
}

/* 10^6 draws: each row's count within 5 binomial sd of n p_i. */
Test(reweight, alias_draws_follow_the_weights) {
    enum { K = 7 };
    const double wt[K] = {0, 1, 2, 0.5, 10, 3, 0.25};
    double sum = 0;
    for (int i = 0; i < K; i++) sum += wt[i];
    genbo__gd_alias a;
    cr_assert_eq(genbo__gd_alias_build(&a, K, wt), GENBO_OK);
    genbo__rng r;
    genbo__rng_seed(&r, 9, 1);
    const long n = 1000000;
    long cnt[K] = {0};
    for (long k = 0; k < n; k++) cnt[genbo__gd_alias_draw(&a, &r)]++;
    for (int i = 0; i < K; i++) {
        double p = wt[i] / sum, sdv = sqrt(n * p * (1 - p));
        cr_assert_leq(fabs(cnt[i] - n * p), 5 * sdv + 1e-9, "row %d: %ld draws, expected %.0f", i, cnt[i], n * p);
    }
    cr_assert_eq(cnt[0], 0, "a zero weight is never drawn");
    genbo__gd_alias_free(&a);
    const double bad[2] = {1, -1}, zero[2] = {0, 0};
    cr_assert_eq(genbo__gd_alias_build(&a, 2, bad), GENBO_EINVAL);
    cr_assert_eq(genbo__gd_alias_build(&a, 2, zero), GENBO_EINVAL);
}
