/* test_core.c - error messages, the random-number generator, CRC-32. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

Test(core, errmsg_holds_formatted_message) {
    int rc = genbo__fail(GENBO_EINVAL, "bad field '%s' at line %d", "width", 7);
    cr_assert_eq(rc, GENBO_EINVAL);
    cr_assert_str_eq(genbo_errmsg(), "bad field 'width' at line 7");
    genbo__fail_prefix(GENBO_EINVAL, "study.ini");
    cr_assert_str_eq(genbo_errmsg(), "study.ini: bad field 'width' at line 7");
    cr_assert_str_eq(genbo_strstatus(GENBO_EDB), "GENBO_EDB");
}

Test(core, rng_is_reproducible_and_streams_differ) {
    genbo__rng a, b, c;
    genbo__rng_seed(&a, 42, 0);
    genbo__rng_seed(&b, 42, 0);
    genbo__rng_seed(&c, 42, 1);
    int same_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = genbo__rng_u64(&a), y = genbo__rng_u64(&b), z = genbo__rng_u64(&c);
        cr_assert_eq(x, y);
        same_c += (x == z);
    }
    cr_assert_eq(same_c, 0);
}

Test(core, normal_moments_within_statistical_bounds) {
    genbo__rng r;
    genbo__rng_seed(&r, 7, 0);
    const int n = 200000;
    double s = 0, s2 = 0, s4 = 0;
    for (int i = 0; i < n; i++) {
        double x = genbo__rng_normal(&r);
        s += x;
        s2 += x * x;
        s4 += x * x * x * x;
    }
    double mean = s / n, var = s2 / n - mean * mean, kurt = s4 / n;
    /* 5 standard errors: sd(mean) = 1/sqrt(n), sd(var) = sqrt(2/n), sd(m4) = sqrt(96/n) */
    cr_assert_lt(fabs(mean), 5.0 / sqrt(n));
    cr_assert_lt(fabs(var - 1.0), 5.0 * sqrt(2.0 / n));
    cr_assert_lt(fabs(kurt - 3.0), 5.0 * sqrt(96.0 / n));
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The ziggurat (genbo__rng_normal_fill): the law as a whole by the
 * Kolmogorov-Smirnov distance, which catches a wrong strip table; the
 * moments; and the two slow paths by their own frequencies: the tail
 * beyond the base strip's edge r = 3.6541528853610088 (P(|Z| > r) =
 * 2.58e-4) and the far tail (P(|Z| > 4.5) = 6.8e-6). */
Test(core, ziggurat_normals_follow_the_normal_law) {
    genbo__rng r;
    genbo__rng_seed(&r, 13, 0);
    const size_t n = 1000000;
    double *x = malloc(n * sizeof *x);
    cr_assert_not_null(x);
    genbo__rng_normal_fill(&r, x, n / 2);
    genbo__rng_normal_fill(&r, x + n / 2, n - n / 2); /* two calls continue one stream */
    double s = 0, s2 = 0, s4 = 0;
    size_t tail = 0, far = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert(isfinite(x[i]));
        s += x[i], s2 += x[i] * x[i], s4 += x[i] * x[i] * x[i] * x[i];
        tail += fabs(x[i]) > 3.6541528853610088;
        far += fabs(x[i]) > 4.5;
    }
    double mean = s / n, var = s2 / n - mean * mean, kurt = s4 / n;
    cr_assert_lt(fabs(mean), 5.0 / sqrt(n));
    cr_assert_lt(fabs(var - 1.0), 5.0 * sqrt(2.0 / n));
    cr_assert_lt(fabs(kurt - 3.0), 5.0 * sqrt(96.0 / n));
    /* counts: Poisson, 5 sd */
    double et = n * erfc(3.6541528853610088 / sqrt(2.0)), ef = n * erfc(4.5 / sqrt(2.0));
    cr_assert_lt(fabs(tail - et), 5.0 * sqrt(et), "tail %zu expected %.1f", tail, et);
    cr_assert_lt(fabs(far - ef), 5.0 * sqrt(ef) + 1.0, "far tail %zu expected %.1f", far, ef);
    /* KS: P(sqrt(n) D > 1.95) = 0.001 */
    qsort(x, n, sizeof *x, cmp_double);
    double dmax = 0;
    for (size_t i = 0; i < n; i++) {
        double F = 0.5 * erfc(-x[i] / sqrt(2.0));
        dmax = fmax(dmax, fmax(fabs(F - (double)i / n), fabs((double)(i + 1) / n - F)));
    }
    cr_assert_lt(sqrt((double)n) * dmax, 1.95, "KS distance %.3g", dmax);
    free(x);
    /* the float fill is the same stream, rounded */
    genbo__rng a, b;
    genbo__rng_seed(&a, 5, 1);
    genbo__rng_seed(&b, 5, 1);
    double d[4096];
    float f[4096];
    genbo__rng_normal_fill(&a, d, 4096);
    genbo__rng_normal_f(&b, f, 4096);
    for (int i = 0; i < 4096; i++) cr_assert_eq(f[i], (float)d[i]);
}

Test(core, uniform_below_is_unbiased) {
    genbo__rng r;
    genbo__rng_seed(&r, 3, 0);
    int counts[7] = {0};
    const int n = 70000;
    for (int i = 0; i < n; i++) counts[genbo__rng_below(&r, 7)]++;
    double chi2 = 0;
    for (int k = 0; k < 7; k++) chi2 += pow(counts[k] - n / 7.0, 2) / (n / 7.0);
    cr_assert_lt(chi2, 22.46); /* chi-square, 6 dof, p = 0.001 */
}

Test(core, crc32_matches_check_value) {
    cr_assert_eq(genbo__crc32(0, "123456789", 9), 0xCBF43926u);
}

Test(core, shuffle_prefix_draws_uniform_subsets) {
    /* Each of 10 items lands in a 3-subset with probability 3/10. */
    genbo__rng r;
    genbo__rng_seed(&r, 11, 0);
    const int trials = 30000;
    int hits[10] = {0};
    for (int t = 0; t < trials; t++) {
        size_t idx[10];
        for (size_t i = 0; i < 10; i++) idx[i] = i;
        genbo__rng_shuffle_prefix(&r, idx, 10, 3);
        int seen[10] = {0};
        for (int k = 0; k < 3; k++) {
            cr_assert_lt(idx[k], 10u);
            cr_assert_eq(seen[idx[k]], 0, "an item was drawn twice");
            seen[idx[k]] = 1;
            hits[idx[k]]++;
        }
    }
    double chi2 = 0, e = trials * 0.3;
    for (int k = 0; k < 10; k++) chi2 += (hits[k] - e) * (hits[k] - e) / e;
    cr_assert_lt(chi2, 27.88); /* chi-square, 9 dof, p = 0.001 */
}

/* The one seed mixer (core/rng.c, formerly studies/study.c): the values of
 * earlier builds are kept, so a study run by them resumes with the same
 * seeds; (a, b) labels give unrelated seeds (about half the bits differ). */
Test(core, seed_mix_keeps_its_values_and_separates_labels) {
    cr_assert_eq(genbo__seed_mix(0, 0, 0), 0);
    cr_assert_eq(genbo__seed_mix(42, 5, 0), 0x3a3790371a46687bULL);
    cr_assert_eq(genbo__seed_mix(7, 11, 3), 0x2feabce6275fbbbbULL);
    cr_assert_eq(genbo__seed_mix(UINT64_MAX, 200, 9), 0xd96a09264de97d71ULL);
    int bits = 0;
    for (uint64_t k = 0; k < 64; k++)
        bits += __builtin_popcountll(genbo__seed_mix(1, 200, k) ^ genbo__seed_mix(1, 200, k + 1));
    cr_assert(bits > 64 * 24 && bits < 64 * 40, "%d differing bits over 64 pairs", bits);
}

/* The one growth helper: keeps the contents, doubles, and on an impossible
 * size fails with GENBO_ENOMEM leaving the array as it was. */
Test(core, grow_keeps_contents_and_fails_cleanly) {
    int *v = NULL;
    size_t cap = 0;
    for (int k = 0; k < 1000; k++) {
        cr_assert_eq(genbo__grow(&v, &cap, (size_t)k + 1, sizeof *v, "ints"), GENBO_OK);
        cr_assert_geq(cap, (size_t)k + 1);
        v[k] = 3 * k;
    }
    cr_assert_lt(cap, 2048, "growth is doubling, not more: cap %zu", cap);
    for (int k = 0; k < 1000; k++) cr_assert_eq(v[k], 3 * k);
    int *before = v;
    size_t cap_before = cap;
    cr_assert_eq(genbo__grow(&v, &cap, (size_t)-1 / 2, sizeof *v, "ints"), GENBO_ENOMEM);
    cr_assert(strstr(genbo_errmsg(), "out of memory for ints"), "%s", genbo_errmsg());
    cr_assert(v == before && cap == cap_before && v[999] == 2997);
    free(v);
}

/* Column statistics (the standardisation of both model kinds): the closed
 * form on a small matrix, the ddof denominator, a row subset, and sd 1 for
 * a constant column. */
Test(core, column_stats_closed_form) {
    const double X[4 * 2] = {1, 5, 2, 5, 3, 5, 6, 5}; /* column 1 constant */
    double mu[2], sd[2];
    genbo__column_stats(4, NULL, 2, X, 0, mu, sd);
    cr_assert_float_eq(mu[0], 3.0, 1e-15);
    cr_assert_float_eq(sd[0], sqrt(14.0 / 4.0), 1e-15); /* deviations -2 -1 0 3 */
    cr_assert(mu[1] == 5.0 && sd[1] == 1.0, "constant column: mean %g sd %g", mu[1], sd[1]);
    genbo__column_stats(4, NULL, 2, X, 1, mu, sd);
    cr_assert_float_eq(sd[0], sqrt(14.0 / 3.0), 1e-15);
    const size_t rows[2] = {3, 0};
    genbo__column_stats(2, rows, 2, X, 0, mu, sd);
    cr_assert_float_eq(mu[0], 3.5, 1e-15);
    cr_assert_float_eq(sd[0], 2.5, 1e-15);
    genbo__column_stats(1, NULL, 2, X, 1, mu, sd); /* n <= ddof: no spread */
    cr_assert(mu[0] == 1.0 && sd[0] == 1.0);
}
