/* test_tasks_olympus.c - the offline protocol on the real Olympus data:
 * labelled rows below the 80th percentile, nearest-row oracle, simplex
 * projection and support distance. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "tests/support/olympus.h"

#define OLYMPUS_DIR GENBO_SHARED_DIR "/datasets/olympus"

static const char *const stems[] = {"oer_plate_3496", "oer_plate_3851", "photo_pce10", "hplc",
                                    "crossed_barrel"};

static genbo__olympus *load(const char *stem) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.csv", OLYMPUS_DIR, stem);
    if (access(path, R_OK) != 0) cr_skip_test("shared data missing: %s", path);
    genbo__olympus *o = NULL;
    cr_assert_eq(genbo__olympus_load(path, &o), GENBO_OK, "%s", genbo_errmsg());
    return o;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

Test(olympus, protocol_facts_and_percentile) {
    for (size_t k = 0; k < 5; k++) {
        genbo__olympus *o = load(stems[k]);
        cr_assert_eq(o->minimise, k < 3, "%s goal", stems[k]);
        cr_assert_eq(o->support, k < 3 ? GENBO__SUPPORT_SIMPLEX : GENBO__SUPPORT_BOX);
        for (size_t i = 0; i < o->n; i++)
            cr_assert_eq(o->reward[i], o->minimise ? -o->objective_values[i]
                                                   : o->objective_values[i]);
        /* the 80th percentile, recomputed: 80% of rows at or below it */
        double *s = malloc(o->n * sizeof(double));
        memcpy(s, o->reward, o->n * sizeof(double));
        qsort(s, o->n, sizeof(double), cmp);
        cr_assert_eq(o->r_min, s[0]);
        cr_assert_eq(o->r_max, s[o->n - 1]);
        size_t below = 0, at_or_below = 0;
        for (size_t i = 0; i < o->n; i++) {
            below += s[i] < o->r_p80;
            at_or_below += s[i] <= o->r_p80;
        }
        cr_assert_leq(below, (size_t)ceil(0.8 * (o->n - 1)) + 1, "%s", stems[k]);
        cr_assert_geq(at_or_below, (size_t)floor(0.8 * (o->n - 1)) + 1, "%s", stems[k]);
        free(s);
        genbo__olympus_free(o);
    }
    genbo__olympus *o = (genbo__olympus *)0x1;
    cr_assert_eq(genbo__olympus_load("/tmp/not_a_known_set.csv", &o), GENBO_ENOTFOUND);
    cr_assert_null(o);
    cr_assert(strstr(genbo_errmsg(), "not_a_known_set"));
}

Test(olympus, labelled_rows_are_below_the_80th_percentile) {
    for (size_t k = 0; k < 5; k++) {
        genbo__olympus *o = load(stems[k]);
        size_t nl = 100, d = o->d;
        genbo_dataset *L = NULL, *P = NULL, *L2 = NULL, *P2 = NULL;
        cr_assert_eq(genbo__olympus_split(o, nl, 17, &L, &P), GENBO_OK, "%s", genbo_errmsg());
        cr_assert_eq(genbo_dataset_rows(L), nl);
        cr_assert_eq(genbo_dataset_rows(P), o->n);
        cr_assert_null(genbo_dataset_y(P));
        cr_assert_eq(memcmp(genbo_dataset_x(P), o->X, o->n * d * sizeof(double)), 0);
        cr_assert_str_eq(genbo_dataset_column_name(L, 0), genbo_dataset_column_name(o->data, 0));
        const double *XL = genbo_dataset_x(L), *yL = genbo_dataset_y(L);
        size_t *used = calloc(o->n, sizeof(size_t));
        for (size_t i = 0; i < nl; i++) {
            cr_assert_lt(yL[i], o->r_p80, "%s: labelled reward %g >= p80 %g", stems[k], yL[i],
                         o->r_p80);
            /* each labelled row is a distinct measured row with its reward */
            size_t hit = o->n;
            for (size_t r = 0; r < o->n && hit == o->n; r++)
                if (!used[r] && o->reward[r] == yL[i] &&
                    memcmp(o->X + r * d, XL + i * d, d * sizeof(double)) == 0)
                    hit = r;
            cr_assert_lt(hit, o->n, "%s: labelled row %zu is not a data row", stems[k], i);
            used[hit] = 1;
        }
        free(used);
        cr_assert_eq(genbo__olympus_split(o, nl, 17, &L2, &P2), GENBO_OK);
        cr_assert_eq(memcmp(genbo_dataset_y(L2), yL, nl * sizeof(double)), 0, "reproducible");
        genbo_dataset_free(L2);
        genbo_dataset_free(P2);
        cr_assert_eq(genbo__olympus_split(o, o->n, 17, &L2, &P2), GENBO_EINVAL);
        cr_assert_null(L2);
        genbo_dataset_free(L);
        genbo_dataset_free(P);
        genbo__olympus_free(o);
    }
}

Test(olympus, nearest_row_oracle_is_exact_on_measured_rows) {
    for (size_t k = 0; k < 5; k++) {
        genbo__olympus *o = load(stems[k]);
        size_t d = o->d, checked = 0;
        for (size_t r = 0; r < o->n; r += 7) {
            /* only rows whose inputs are measured once (no repeats to average) */
            size_t same = 0;
            for (size_t q = 0; q < o->n; q++)
                same += memcmp(o->X + q * d, o->X + r * d, d * sizeof(double)) == 0;
            if (same != 1) continue;
            /* simplex rows are projected first: only rows already on the
             * simplex (up to rounding of the file) map to themselves */
            double x[16], p[16];
            memcpy(x, o->X + r * d, d * sizeof(double));
            if (o->support == GENBO__SUPPORT_SIMPLEX) {
                genbo__simplex_project(d, x, p);
                double moved = 0;
                for (size_t j = 0; j < d; j++) moved += fabs(p[j] - x[j]);
                if (moved > 1e-9) continue;
            }
            double rew, dist, score;
            cr_assert_eq(genbo__olympus_oracle(o, 1, x, &rew, &dist, &score), GENBO_OK);
            cr_assert_eq(rew, o->reward[r], "%s row %zu", stems[k], r);
            cr_assert_lt(dist, 1e-9);
            cr_assert_float_eq(score, (o->reward[r] - o->r_min) / (o->r_max - o->r_min), 1e-15);
            checked++;
        }
        cr_assert_gt(checked, o->n / 20, "%s: checked only %zu rows", stems[k], checked);
        /* a design off the measured rows gets its nearest row's reward */
        double x[16];
        memcpy(x, o->X, d * sizeof(double));
        if (o->support == GENBO__SUPPORT_SIMPLEX) /* move within the simplex */
            for (size_t j = 0; j < d; j++) x[j] = (1 - 1e-4) * x[j] + 1e-4 / (double)d;
        else
            x[0] += 1e-4 * (o->hi[0] - o->lo[0]);
        double rew, dist;
        genbo__olympus_oracle(o, 1, x, &rew, &dist, NULL);
        cr_assert_gt(dist, 0.0, "%s: %g", stems[k], dist);
        cr_assert_lt(dist, 1e-3);
        genbo__olympus_free(o);
    }
}

Test(olympus, simplex_projection_lands_on_the_simplex_and_is_nearest) {
    genbo__rng r;
    genbo__rng_seed(&r, 21, 0);
    for (int trial = 0; trial < 2000; trial++) {
        size_t d = 2 + genbo__rng_below(&r, 8);
        double x[10], p[10];
        for (size_t j = 0; j < d; j++) x[j] = 0.7 * genbo__rng_normal(&r) + 0.2;
        if (trial % 5 == 0) x[1] = x[0]; /* ties */
        genbo__simplex_project(d, x, p);
        double s = 0;
        for (size_t j = 0; j < d; j++) {
            cr_assert_geq(p[j], 0.0);
            s += p[j];
        }
        cr_assert_lt(fabs(s - 1.0), 1e-12);
        cr_assert_lt(genbo__simplex_distance(d, p), 1e-12);
        /* optimality: no other simplex point (random, or p nudged along an
         * edge) is closer to x */
        double dp = 0;
        for (size_t j = 0; j < d; j++) dp += (x[j] - p[j]) * (x[j] - p[j]);
        for (int k = 0; k < 20; k++) {
            double q[10], t = 0;
            for (size_t j = 0; j < d; j++) t += (q[j] = -log(1.0 - genbo__rng_uniform(&r)));
            double mix = k < 10 ? 1.0 : 1e-3; /* far and near competitors */
            double dq = 0;
            for (size_t j = 0; j < d; j++) {
                double v = (1 - mix) * p[j] + mix * q[j] / t;
                dq += (x[j] - v) * (x[j] - v);
            }
            cr_assert_geq(dq, dp - 1e-12, "a simplex point is closer than the projection");
        }
        /* idempotent */
        double pp[10];
        genbo__simplex_project(d, p, pp);
        for (size_t j = 0; j < d; j++) cr_assert_lt(fabs(pp[j] - p[j]), 1e-12);
    }
    /* closed cases */
    double a[3] = {2, 0, 0}, b[3] = {0.2, 0.2, 0.2}, pa[3], pb[3];
    genbo__simplex_project(3, a, pa);
    genbo__simplex_project(3, b, pb);
    cr_assert_eq(pa[0], 1.0);
    cr_assert_eq(pa[1], 0.0);
    for (int j = 0; j < 3; j++) cr_assert_float_eq(pb[j], 1.0 / 3, 1e-15);
    double c[3] = {0.5, 0.7, -0.1};
    cr_assert_float_eq(genbo__simplex_distance(3, c), 0.1 + 0.1, 1e-15);
}

Test(olympus, support_distance_on_and_off_the_data) {
    for (size_t k = 0; k < 5; k++) {
        genbo__olympus *o = load(stems[k]);
        size_t n = o->n, d = o->d;
        double *dist = malloc(n * sizeof(double));
        cr_assert_eq(genbo__olympus_support_distance(o, n, o->X, dist), GENBO_OK);
        /* measured compositions sum to 1 up to rounding; box data lie in
         * their own bounding box exactly */
        double worst = 0;
        for (size_t i = 0; i < n; i++) worst = dist[i] > worst ? dist[i] : worst;
        if (o->support == GENBO__SUPPORT_SIMPLEX)
            cr_assert_lt(worst, 1e-12, "%s: worst support distance %g", stems[k], worst);
        else
            cr_assert_eq(worst, 0.0, "%s: worst support distance %g", stems[k], worst);
        double x[16], dx;
        memcpy(x, o->X, d * sizeof(double));
        if (o->support == GENBO__SUPPORT_SIMPLEX) {
            x[0] += 0.3; /* sum off by 0.3 */
            genbo__olympus_support_distance(o, 1, x, &dx);
            cr_assert_float_eq(dx, 0.3 + dist[0], 1e-9);
        } else {
            x[0] = o->hi[0] + 0.5 * (o->hi[0] - o->lo[0]); /* half a range beyond */
            genbo__olympus_support_distance(o, 1, x, &dx);
            cr_assert_float_eq(dx, 0.5, 1e-12);
        }
        free(dist);
        genbo__olympus_free(o);
    }
}
