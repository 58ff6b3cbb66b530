/* test_reward_cv.c - genbo_reward_cv_rmse (reward/cv.c): on a linear reward
 * with known noise the cross-validated RMSE is the noise level (within a
 * statistical bound), it is deterministic for a seed, and bad fold counts
 * are refused. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "genbo.h"
#include "tests/support/support.h"

#define N 400
#define D 5
#define NOISE 0.1

static void data(double *X, double *y) {
    genbo__support_rng *r = genbo__support_rng_new(7, 0);
    cr_assert_not_null(r);
    for (size_t i = 0; i < N; i++) {
        double s = 0;
        for (size_t k = 0; k < D; k++) {
            X[i * D + k] = genbo__support_rng_normal(r);
            s += (double)(k + 1) * X[i * D + k];
        }
        y[i] = s + NOISE * genbo__support_rng_normal(r);
    }
    genbo__support_rng_free(r);
}

Test(reward_cv, linear_data_give_the_noise_level_reproducibly) {
    static double X[N * D], y[N];
    data(X, y);
    genbo_reward_params p;
    genbo_reward_params_default(&p);
    double a = NAN, b = NAN, loo = NAN;
    cr_assert_eq(genbo_reward_cv_rmse(&p, N, D, X, y, 5, &a), GENBO_OK, "%s", genbo_errmsg());
    /* ridge with d = 5 on 320 rows: out-of-sample error ~ NOISE sqrt(1 + d/n);
     * the sample sd of 400 noise draws is within 10% of NOISE at > 4 sigma */
    cr_assert(a > 0.9 * NOISE && a < 1.15 * NOISE, "5-fold CV RMSE %g, noise %g", a, NOISE);
    cr_assert_eq(genbo_reward_cv_rmse(&p, N, D, X, y, 5, &b), GENBO_OK);
    cr_assert_eq(a, b, "the same seed gives the same folds");
    cr_assert_eq(genbo_reward_cv_rmse(&p, 50, D, X, y, 50, &loo), GENBO_OK, "leave-one-out");
    cr_assert(loo > 0.7 * NOISE && loo < 1.4 * NOISE, "LOO RMSE %g on 50 rows", loo);
}

Test(reward_cv, fold_counts_outside_two_to_n_are_refused) {
    static double X[N * D], y[N];
    data(X, y);
    genbo_reward_params p;
    genbo_reward_params_default(&p);
    double r = 42;
    cr_assert_eq(genbo_reward_cv_rmse(&p, N, D, X, y, 1, &r), GENBO_EINVAL);
    cr_assert_eq(genbo_reward_cv_rmse(&p, 10, D, X, y, 11, &r), GENBO_EINVAL);
    cr_assert_eq(r, 42, "nothing written on failure");
    cr_assert_eq(genbo_reward_cv_rmse(NULL, N, D, X, y, 5, &r), GENBO_EINVAL);
}
