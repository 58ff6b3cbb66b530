/* test_trust.c - the trust region: bounds from the data with the margin,
 * user bounds, the simplex projection (closed forms), non-finite designs,
 * and the study file's [constraints] keys. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "optimizer/trust.h"
#include "studies/config.h"

/* data: feature 0 uniform on {0, 1} (sd 0.5), feature 1 constant 3 */
static const double DATA[8] = {0, 3, 1, 3, 0, 3, 1, 3};

Test(trust, bounds_come_from_the_data_widened_by_the_margin) {
    genbo__trust t;
    cr_assert_eq(genbo__trust_init(&t, 2, DATA, 4, NULL, 0, 0.5, NULL, NULL, NULL), GENBO_OK);
    cr_assert_float_eq(t.lo[0], -0.25, 1e-12);
    cr_assert_float_eq(t.hi[0], 1.25, 1e-12);
    cr_assert_float_eq(t.lo[1], 3.0, 1e-12); /* sd 0: no widening */
    cr_assert_float_eq(t.hi[1], 3.0, 1e-12);
    double in[2] = {1.2, 3}, out[2] = {1.3, 3};
    cr_assert_eq(genbo__trust_check(&t, in), 0u);
    cr_assert_eq(genbo__trust_check(&t, out), (unsigned)GENBO__TRUST_OUTSIDE);
    double X[6] = {1.2, 3, 1.3, 3, -7, 2.5};
    unsigned flags[3] = {0, 0, 0};
    cr_assert_eq(genbo__trust_project(&t, 3, X, flags), 2u);
    cr_assert_eq(flags[0], 0u);
    cr_assert_eq(flags[1], (unsigned)GENBO_DESIGN_PROJECTED);
    cr_assert_float_eq(X[2], 1.25, 1e-12);
    cr_assert_float_eq(X[4], -0.25, 1e-12);
    cr_assert_float_eq(X[5], 3.0, 1e-12);
    cr_assert_float_eq(X[0], 1.2, 0, "a design inside must not move");
    genbo__trust_free(&t);
}

Test(trust, user_bounds_replace_the_data_per_feature_and_nan_is_replaced) {
    genbo__trust t;
    double lo[2] = {NAN, -1}, hi[2] = {NAN, 10};
    cr_assert_eq(genbo__trust_init(&t, 2, DATA, 2, DATA + 4, 2, 0, lo, hi, NULL), GENBO_OK);
    cr_assert_float_eq(t.lo[0], 0.0, 1e-12);
    cr_assert_float_eq(t.hi[0], 1.0, 1e-12);
    cr_assert_float_eq(t.lo[1], -1.0, 1e-12);
    cr_assert_float_eq(t.hi[1], 10.0, 1e-12);
    double x[2] = {NAN, INFINITY};
    unsigned f = 0;
    cr_assert_eq(genbo__trust_check(&t, x) & GENBO__TRUST_NONFINITE, (unsigned)GENBO__TRUST_NONFINITE);
    genbo__trust_project(&t, 1, x, &f);
    cr_assert_float_eq(x[0], 0.5, 1e-12, "a NaN goes to its interval's middle");
    cr_assert_float_eq(x[1], 4.5, 1e-12);
    cr_assert_eq(f, (unsigned)GENBO_DESIGN_PROJECTED);
    hi[1] = -2; /* lo > hi */
    cr_assert_eq(genbo__trust_init(&t, 2, DATA, 4, NULL, 0, 0, lo, hi, NULL), GENBO_EINVAL);
    cr_assert(strstr(genbo_errmsg(), "feature 1"), "%s", genbo_errmsg());
}

Test(trust, simplex_projection_is_the_euclidean_one) {
    const double S[9] = {0.2, 0.3, 0.5, 0.6, 0.2, 0.2, 0.1, 0.1, 0.8};
    const unsigned char all[3] = {1, 1, 1};
    genbo__trust t;
    cr_assert_eq(genbo__trust_init(&t, 3, S, 3, NULL, 0, 10.0, NULL, NULL, all), GENBO_OK);
    /* the margin is wide, so the simplex clips every feature to [0, 1] */
    for (int j = 0; j < 3; j++) cr_assert(t.lo[j] == 0 && t.hi[j] == 1);
    double X[9] = {0.5, 0.5, 0.5, 2, -1, 0, 0.2, 0.3, 0.5};
    unsigned f[3] = {0, 0, 0};
    cr_assert_eq(genbo__trust_project(&t, 3, X, f), 2u);
    for (int j = 0; j < 3; j++) cr_assert_float_eq(X[j], 1.0 / 3, 1e-12, "x%d = %g", j, X[j]);
    cr_assert_float_eq(X[3], 1.0, 1e-12); /* (2, -1, 0) -> (1, 0, 0) */
    cr_assert_float_eq(X[4], 0.0, 1e-12);
    cr_assert_float_eq(X[5], 0.0, 1e-12);
    cr_assert_eq(f[2], 0u, "a design on the simplex must not move");
    for (int i = 0; i < 3; i++) cr_assert_eq(genbo__trust_check(&t, X + 3 * i), 0u);
    genbo__trust_free(&t);
    /* bounds that cannot sum to one */
    double lo[3] = {0.5, 0.5, 0.5}, hi[3] = {1, 1, 1};
    cr_assert_eq(genbo__trust_init(&t, 3, S, 3, NULL, 0, 0, lo, hi, all), GENBO_EINVAL);
    cr_assert(strstr(genbo_errmsg(), "sum to one"), "%s", genbo_errmsg());
}

Test(trust, study_file_constraints_keys) {
    genbo_config *c;
    cr_assert_eq(genbo_config_default(&c), GENBO_OK);
    cr_assert_str_eq(c->bounds, "data");
    cr_assert_float_eq(c->trust_margin, 0.5, 0);
    cr_assert_str_eq(c->simplex, "none");
    cr_assert_eq(genbo_config_set(c, "constraints", "bounds", "0:1, data, -5:5"), GENBO_OK);
    double lo[3], hi[3];
    size_t n;
    const char *why;
    cr_assert_eq(genbo__parse_bounds(c->bounds, 3, lo, hi, &n, &why), GENBO_OK);
    cr_assert(n == 3 && lo[0] == 0 && hi[0] == 1 && isnan(lo[1]) && lo[2] == -5 && hi[2] == 5);
    cr_assert_eq(genbo__parse_bounds(c->bounds, 4, lo, hi, &n, &why), GENBO_EINVAL);
    cr_assert(strstr(why, "one range per feature"), "%s", why);
    cr_assert_eq(genbo_config_set(c, "constraints", "bounds", "1:0"), GENBO_EINVAL);
    cr_assert(strstr(genbo_errmsg(), "[constraints] bounds") && strstr(genbo_errmsg(), "LO above HI"),
              "%s", genbo_errmsg());
    cr_assert_eq(genbo_config_set(c, "constraints", "bounds", "0:1:2"), GENBO_EINVAL);
    cr_assert_eq(genbo_config_set(c, "constraints", "margin", "-1"), GENBO_EINVAL);
    cr_assert_str_eq(c->bounds, "0:1, data, -5:5", "a rejected value must leave the old one");
    genbo_config_free(c);
}

/* Generation under the region: a pool whose rows are half NaN and half far
 * outside. Every returned design is finite and inside; every design that
 * was NaN is flagged resampled (or, if every redraw was NaN too, projected);
 * every one that was outside is flagged projected. */
Test(trust, generate_trusted_never_returns_an_unmarked_design) {
    enum { NP = 8, DIM = 2, N = 6 };
    double pool[NP * DIM];
    for (int i = 0; i < NP; i++) {
        pool[i * DIM] = i % 2 ? NAN : 10.0 + i; /* even rows outside [0, 1] */
        pool[i * DIM + 1] = 0.5;
    }
    genbo__trust t;
    double lo[DIM] = {0, 0}, hi[DIM] = {1, 1};
    cr_assert_eq(genbo__trust_init(&t, DIM, DATA, 4, NULL, 0, 0, lo, hi, NULL), GENBO_OK);
    genbo__models mm;
    memset(&mm, 0, sizeof mm);
    mm.dim = DIM, mm.pool_X = pool, mm.n_pool = NP;
    double X[N * DIM], raw[N * DIM];
    unsigned flags[N];
    cr_assert_eq(genbo__generate(GENBO__METHOD_RANDOM, &mm, 0, N, 5, raw), GENBO_OK);
    cr_assert_eq(genbo__generate_trusted(GENBO__METHOD_RANDOM, &mm, &t, 0, N, 5, X, flags),
                 GENBO_OK, "%s", genbo_errmsg());
    int resampled = 0;
    for (int i = 0; i < N; i++) {
        cr_assert_eq(genbo__trust_check(&t, X + i * DIM), 0u, "design %d is outside", i);
        if (isnan(raw[i * DIM])) cr_assert(flags[i] != 0, "design %d was NaN, unmarked", i);
        else if (raw[i * DIM] > 1) cr_assert(flags[i] & GENBO_DESIGN_PROJECTED, "design %d", i);
        else cr_assert_eq(flags[i], 0u);
        resampled += (flags[i] & GENBO_DESIGN_RESAMPLED) != 0;
        cr_assert_str_eq(genbo__design_flags_text(flags[i]) ? genbo__design_flags_text(flags[i]) : "",
                         flags[i] == 3 ? "resampled,projected" : flags[i] == 1 ? "projected"
                                                              : flags[i] == 2 ? "resampled" : "");
    }
    cr_assert_gt(resampled, 0, "no NaN design was drawn again");
    /* without a region, a design that stays NaN is an error, not a result */
    for (int i = 0; i < NP; i++) pool[i * DIM] = NAN;
    cr_assert_eq(genbo__generate_trusted(GENBO__METHOD_RANDOM, &mm, NULL, 0, N, 5, X, flags),
                 GENBO_ENUMERIC);
    genbo__trust_free(&t);
}
