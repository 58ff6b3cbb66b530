/* test_optimizer_metrics.c - metrics against values computed by hand,
 * the kNN support distance on and off the pool, percentiles. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "optimizer/metrics.h"

static void gaussian(double *X, size_t n, size_t d, double shift, uint64_t seed) {
    genbo__rng r;
    genbo__rng_seed(&r, seed, 0);
    for (size_t i = 0; i < n * d; i++) X[i] = genbo__rng_normal(&r) + shift;
}

Test(metrics, three_points_by_hand) {
    /* Triangle (0,0), (3,0), (0,4): sides 3, 4, 5 -> diversity 4. */
    double X[6] = {0, 0, 3, 0, 0, 4};
    /* Labelled designs: nearest distances 1 (to (0,1)), 1 (to (3,1)), 2 (to (0,6)). */
    double L[6] = {0, 1, 3, 1, 0, 6};
    double yt[3] = {1.0, 2.0, 6.0}, yp[3] = {0.5, 0.5, 2.0};
    genbo__metrics_input in = {.n = 3, .dim = 2, .X = X, .target = 5.0, .y_true = yt,
                               .y_pred = yp, .label_X = L, .n_label = 3};
    genbo__metrics m;
    cr_assert_eq(genbo__metrics_compute(&in, &m), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_float_eq(m.diversity, 4.0, 1e-12);
    cr_assert_float_eq(m.novelty, 4.0 / 3.0, 1e-12);
    cr_assert(m.has_true);
    cr_assert_eq(m.subopt_kind, GENBO__SUBOPT_TRUE);
    cr_assert_float_eq(m.true_mean, 3.0, 1e-12);
    cr_assert_float_eq(m.subopt, 2.0, 1e-12);
    cr_assert_float_eq(m.true_best, 6.0, 0);
    /* sample sd of 1, 2, 6: deviations -2, -1, 3 -> sqrt(14 / 2) */
    cr_assert_float_eq(m.true_sd, sqrt(7.0), 1e-12);
    cr_assert_float_eq(m.pred_mean, 1.0, 1e-12);
    cr_assert_float_eq(m.pred_best, 2.0, 0);
    cr_assert_eq(m.support_kind, GENBO__SUPPORT_NONE);
    cr_assert(isnan(m.support));
}

Test(metrics, subopt_is_flagged_predicted_without_true_rewards) {
    double X[4] = {0, 0, 1, 1}, yp[2] = {1.0, 3.0};
    genbo__metrics_input in = {.n = 2, .dim = 2, .X = X, .target = 4.0, .y_pred = yp};
    genbo__metrics m;
    cr_assert_eq(genbo__metrics_compute(&in, &m), GENBO_OK);
    cr_assert_eq(m.has_true, 0);
    cr_assert_eq(m.subopt_kind, GENBO__SUBOPT_PREDICTED);
    cr_assert_float_eq(m.subopt, 2.0, 1e-12);
    cr_assert(isnan(m.true_mean));
    /* all true rewards failed (NaN): still predicted, failures counted */
    double yt[2] = {NAN, NAN};
    in.y_true = yt;
    cr_assert_eq(genbo__metrics_compute(&in, &m), GENBO_OK);
    cr_assert_eq(m.subopt_kind, GENBO__SUBOPT_PREDICTED);
    cr_assert_eq(m.n_failed, 2);
    /* one failure among two: the mean is over the finite one */
    yt[1] = 3.5;
    cr_assert_eq(genbo__metrics_compute(&in, &m), GENBO_OK);
    cr_assert_eq(m.subopt_kind, GENBO__SUBOPT_TRUE);
    cr_assert_float_eq(m.subopt, 0.5, 1e-12);
    cr_assert_eq(m.n_true, 1);
    cr_assert_eq(m.n_failed, 1);
    /* neither */
    in.y_true = NULL, in.y_pred = NULL;
    cr_assert_eq(genbo__metrics_compute(&in, &m), GENBO_OK);
    cr_assert_eq(m.subopt_kind, GENBO__SUBOPT_NONE);
    cr_assert(isnan(m.subopt));
}

Test(metrics, task_support_distance_is_averaged) {
    double X[4] = {0, 0, 1, 1}, s[2] = {0.25, 0.75};
    genbo__metrics_input in = {.n = 2, .dim = 2, .X = X, .support = s};
    genbo__metrics m;
    cr_assert_eq(genbo__metrics_compute(&in, &m), GENBO_OK);
    cr_assert_eq(m.support_kind, GENBO__SUPPORT_TASK);
    cr_assert_float_eq(m.support, 0.5, 1e-15);
}

/* Brute-force mean distance to the k nearest rows, for reference. */
static double brute_knn(const double *q, const double *P, size_t np, size_t d, size_t k) {
    double *dist = malloc(np * sizeof *dist);
    for (size_t j = 0; j < np; j++) {
        double s = 0;
        for (size_t c = 0; c < d; c++) s += (q[c] - P[j * d + c]) * (q[c] - P[j * d + c]);
        dist[j] = sqrt(s);
    }
    double sum = 0;
    for (size_t m = 0; m < k; m++) { /* selection of the k smallest */
        size_t best = 0;
        for (size_t j = 1; j < np; j++)
            if (dist[j] < dist[best]) best = j;
        sum += dist[best];
        dist[best] = INFINITY;
    }
    free(dist);
    return sum / (double)k;
}

Test(metrics, knn_blocks_match_brute_force) {
    /* pool larger than one block (2048) and queries over one block (256) */
    enum { NP = 5000, NQ = 300, D = 7 };
    double *P = malloc(sizeof(double) * NP * D), *Q = malloc(sizeof(double) * NQ * D);
    double per[NQ], mean;
    gaussian(P, NP, D, 0, 1);
    gaussian(Q, NQ, D, 0.5, 2);
    cr_assert_eq(genbo__knn_mean_dist(Q, NQ, P, NP, D, 5, NULL, per, &mean), GENBO_OK);
    double s = 0;
    for (size_t i = 0; i < NQ; i++) {
        double ref = brute_knn(Q + i * D, P, NP, D, 5);
        cr_assert_float_eq(per[i], ref, 1e-9 * (1 + ref), "design %zu", i);
        s += ref;
    }
    cr_assert_float_eq(mean, s / NQ, 1e-9);
    free(P), free(Q);
}

Test(metrics, knn_support_is_one_on_the_pool_and_large_off_it) {
    enum { NP = 20000, NQ = 400, D = 8 };
    double *P = malloc(sizeof(double) * NP * D), *Q = malloc(sizeof(double) * NQ * D);
    gaussian(P, NP, D, 0, 11);
    gaussian(Q, NQ, D, 0, 12); /* fresh draws from the pool's distribution */
    genbo__metrics_input in = {.n = NQ, .dim = D, .X = Q, .pool_X = P, .n_pool = NP, .seed = 5};
    genbo__metrics on, off;
    cr_assert_eq(genbo__metrics_compute(&in, &on), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(on.support_kind, GENBO__SUPPORT_KNN);
    cr_assert(on.support > 0.9 && on.support < 1.1, "on-support distance %.4f", on.support);
    /* the same designs moved 10 sd away along every axis */
    for (size_t i = 0; i < NQ * D; i++) Q[i] += 10.0;
    cr_assert_eq(genbo__metrics_compute(&in, &off), GENBO_OK);
    cr_assert(off.support > 5.0, "off-support distance %.4f", off.support);
    /* the scale computed once and passed in gives the same answer */
    double scale;
    cr_assert_eq(genbo__knn_scale(P, NP, D, GENBO__KNN_K, GENBO__KNN_SCALE_SUBSET, 5, &scale),
                 GENBO_OK);
    in.knn_scale = scale;
    genbo__metrics again;
    cr_assert_eq(genbo__metrics_compute(&in, &again), GENBO_OK);
    cr_assert_float_eq(again.support, off.support, 1e-12);
    free(P), free(Q);
}

Test(metrics, knn_scale_excludes_self) {
    /* 1-D pool at 0, 1, 2, ..., 9: the nearest other point is 1 away for all. */
    double P[10];
    for (int i = 0; i < 10; i++) P[i] = i;
    double scale;
    cr_assert_eq(genbo__knn_scale(P, 10, 1, 1, 100, 1, &scale), GENBO_OK);
    cr_assert_float_eq(scale, 1.0, 1e-12);
    /* k = 2: ends have neighbours at 1 and 2 (mean 1.5), inner ones 1 and 1 */
    cr_assert_eq(genbo__knn_scale(P, 10, 1, 2, 100, 1, &scale), GENBO_OK);
    cr_assert_float_eq(scale, (2 * 1.5 + 8 * 1.0) / 10.0, 1e-12);
    cr_assert_eq(genbo__knn_scale(P, 2, 1, 2, 100, 1, &scale), GENBO_EINVAL);
}

Test(metrics, percentile_interpolates) {
    double v[5] = {5, 1, 4, 2, 3};
    cr_assert_float_eq(genbo__percentile(v, 5, 0), 1.0, 0);
    cr_assert_float_eq(genbo__percentile(v, 5, 100), 5.0, 0);
    cr_assert_float_eq(genbo__percentile(v, 5, 50), 3.0, 0);
    cr_assert_float_eq(genbo__percentile(v, 5, 90), 4.6, 1e-12); /* h = 3.6 */
    cr_assert_float_eq(genbo__percentile(v, 1, 37), 5.0, 0);
    cr_assert(isnan(genbo__percentile(v, 0, 50)));
    cr_assert(isnan(genbo__percentile(v, 5, 101)));
    double w[2] = {1, NAN};
    cr_assert(isnan(genbo__percentile(w, 2, 50)));
    cr_assert_eq(v[0], 5.0); /* input untouched */
}

Test(metrics, bad_input_fails) {
    genbo__metrics m;
    genbo__metrics_input in = {.n = 0, .dim = 2};
    cr_assert_eq(genbo__metrics_compute(&in, &m), GENBO_EINVAL);
    double X[2] = {0, 0}, P[4] = {0, 0, 1, 1};
    genbo__metrics_input small = {.n = 1, .dim = 2, .X = X, .pool_X = P, .n_pool = 2};
    cr_assert_eq(genbo__metrics_compute(&small, &m), GENBO_EINVAL);
    cr_assert(strstr(genbo_errmsg(), "support distance") != NULL, "%s", genbo_errmsg());
}
