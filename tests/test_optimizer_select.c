/* test_optimizer_select.c - the genbo method's selection: the diversity
 * rule, the support and trust-region rules, and the whole batch on a small
 * trained model (never more than n designs, none off the trust region). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "optimizer/methods.h"
#include "optimizer/select.h"
#include "optimizer/support.h"
#include "optimizer/thompson.h"
#include "optimizer/trust.h"

static double min_pair_dist(size_t n, size_t dim, const double *Z, const size_t *idx) {
    double best = INFINITY;
    for (size_t a = 0; a < n; a++)
        for (size_t b = a + 1; b < n; b++) {
            double s = 0;
            for (size_t j = 0; j < dim; j++) {
                double d = Z[idx[a] * dim + j] - Z[idx[b] * dim + j];
                s += d * d;
            }
            if (sqrt(s) < best) best = sqrt(s);
        }
    return best;
}

/* 12 clusters of 10 near-duplicates 1 apart; the best acquisitions all sit
 * in cluster 0. Without the rule the batch is cluster 0; with delta = 0.5
 * it takes one design per cluster, best cluster first. */
Test(select, diversity_rule_keeps_min_distance) {
    enum { NCL = 12, PER = 10, M = NCL * PER, D = 3, N = 8 };
    double Z[M * D], acq[M], ratio[M];
    genbo__rng r;
    genbo__rng_seed(&r, 3, 0);
    for (int c = 0; c < NCL; c++)
        for (int k = 0; k < PER; k++) {
            int i = c * PER + k;
            for (int j = 0; j < D; j++) Z[i * D + j] = (j == 0 ? c : 0) + 1e-3 * genbo__rng_normal(&r);
            acq[i] = 100.0 - c - 0.01 * k; /* cluster 0 best */
            ratio[i] = 1.0;
        }
    size_t ch[N + 1];
    ch[N] = 12345; /* guard: never written */
    cr_assert_eq(genbo__select(M, D, Z, acq, ratio, 2.0, 0.0, N, ch, NULL), GENBO_OK);
    for (int k = 0; k < N; k++) cr_assert_lt(ch[k], PER, "no rule: all from cluster 0");
    double used;
    cr_assert_eq(genbo__select(M, D, Z, acq, ratio, 2.0, 0.5, N, ch, &used), GENBO_OK);
    cr_assert_eq(ch[N], 12345);
    cr_assert_eq(used, 0.5);
    cr_assert_geq(min_pair_dist(N, D, Z, ch), 0.5);
    for (int k = 0; k < N; k++) cr_assert_eq(ch[k] / PER, (size_t)k, "design %d from cluster %zu", k, ch[k] / PER);
    /* more designs than clusters: the rule relaxes (halves) only as far as
     * needed, the batch is full and its designs are distinct */
    size_t ch2[20];
    cr_assert_eq(genbo__select(M, D, Z, acq, ratio, 2.0, 0.5, 20, ch2, &used), GENBO_OK);
    cr_assert_lt(used, 0.5);
    cr_assert_gt(used, 0);
    cr_assert_geq(min_pair_dist(20, D, Z, ch2), used);
}

Test(select, support_first_then_closest_and_never_non_finite) {
    enum { M = 6, D = 1 };
    double Z[M] = {0, 1, 2, 3, 4, 5};
    double acq[M] = {10, 1, 2, 3, 9, NAN};
    double ratio[M] = {5, 1, 1, 1, 3, 1}; /* 0 and 4 are off the support (r_max 2) */
    size_t ch[5];
    cr_assert_eq(genbo__select(M, D, Z, acq, ratio, 2.0, 0, 3, ch, NULL), GENBO_OK);
    cr_assert(ch[0] == 3 && ch[1] == 2 && ch[2] == 1, "on-support by acquisition: %zu %zu %zu", ch[0], ch[1], ch[2]);
    cr_assert_eq(genbo__select(M, D, Z, acq, ratio, 2.0, 0, 5, ch, NULL), GENBO_OK);
    cr_assert(ch[3] == 4 && ch[4] == 0, "then off-support by ratio: %zu %zu", ch[3], ch[4]);
    /* the NaN candidate is never chosen: 5 finite, 6 asked for */
    size_t ch6[6];
    cr_assert_eq(genbo__select(M, D, Z, acq, ratio, 2.0, 0, 6, ch6, NULL), GENBO_ENUMERIC);
}

Test(select, trust_project_brings_every_design_inside) {
    enum { NL = 20, D = 3, NC = 5 };
    double L[NL * D];
    for (int i = 0; i < NL * D; i++) L[i] = sin(1.7 * i);
    genbo__trust box;
    cr_assert_eq(genbo__trust_default(&box, D, L, NL, NULL, 0), GENBO_OK);
    const double *lo = box.lo, *hi = box.hi;
    double X[NC * D] = {0, 0, 0, 1e6, -1e6, 0, NAN, 0.5, 0, INFINITY, 0, 0, 0.9, 0.9, 0.9};
    cr_assert_eq(genbo__trust_check(&box, X) == 0, 1);
    cr_assert_eq(genbo__trust_project(&box, NC, X, NULL), 3);
    for (int i = 0; i < NC; i++) cr_assert(genbo__trust_check(&box, X + i * D) == 0, "row %d", i);
    /* the box is the data's range widened by the margin (sd units) */
    for (int j = 0; j < D; j++) {
        double mn = INFINITY, mx = -INFINITY;
        for (int i = 0; i < NL; i++) mn = fmin(mn, L[i * D + j]), mx = fmax(mx, L[i * D + j]);
        cr_assert_lt(lo[j], mn);
        cr_assert_gt(hi[j], mx);
        cr_assert_lt(hi[j] - mx, 2 * GENBO__TRUST_MARGIN * (mx - mn));
    }
    genbo__trust_free(&box);
}

/* A design drawn from the data has ratio ~ 1 and passes; a design far off
 * a 1-dimensional data line does not. */
Test(select, support_ratio_separates_on_and_off) {
    enum { NP = 2000, D = 4, NQ = 200 };
    double *P = malloc(sizeof(double) * NP * D), *Q = malloc(sizeof(double) * NQ * D);
    genbo__rng r;
    genbo__rng_seed(&r, 5, 0);
    for (int i = 0; i < NP + NQ; i++) {
        double t = genbo__rng_normal(&r), *row = i < NP ? P + i * D : Q + (i - NP) * D;
        for (int j = 0; j < D; j++) row[j] = (j + 1) * t;
    }
    genbo__support s;
    cr_assert_eq(genbo__support_build(P, NP, D, 1, &s), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_gt(s.ratio_max, 1.0);
    cr_assert_lt(s.ratio_max, 5.0);
    double *Z = malloc(sizeof(double) * NQ * D), *ratio = malloc(sizeof(double) * NQ);
    genbo__support_standardise(&s, NQ, Q, Z);
    cr_assert_eq(genbo__support_ratio(&s, NQ, Z, ratio), GENBO_OK);
    int pass = 0;
    for (int i = 0; i < NQ; i++) pass += ratio[i] <= s.ratio_max;
    cr_assert_geq(pass, NQ * 85 / 100, "fresh data designs on the support: %d of %d", pass, NQ);
    double off[D] = {1, -1, 1, -1}, zo[D], ro;
    genbo__support_standardise(&s, 1, off, zo);
    cr_assert_eq(genbo__support_ratio(&s, 1, zo, &ro), GENBO_OK);
    cr_assert_gt(ro, s.ratio_max, "off the line: ratio %.2f vs r_max %.2f", ro, s.ratio_max);
    genbo__support_free(&s);
    free(P), free(Q), free(Z), free(ratio);
}

/* Continuing a batch: the designs already taken are kept, never taken
 * again, and every new one keeps delta from them; the count is exact. */
Test(select, select_more_continues_a_batch) {
    enum { M = 60, D = 2, N = 10, H = 4 };
    double Z[M * D], acq[M], ratio[M];
    genbo__rng r;
    genbo__rng_seed(&r, 5, 0);
    for (int i = 0; i < M; i++) {
        Z[i * D] = 3 * genbo__rng_normal(&r), Z[i * D + 1] = 3 * genbo__rng_normal(&r);
        acq[i] = -Z[i * D] * Z[i * D] - Z[i * D + 1] * Z[i * D + 1]; /* best near the origin */
        ratio[i] = i % 7 == 0 ? 5.0 : 1.0; /* every 7th off the support */
    }
    size_t ch[N + 1];
    ch[N] = 777;
    for (int t = 0; t < H; t++) ch[t] = (size_t)(10 * t + 3); /* taken by an earlier part */
    double used;
    cr_assert_eq(genbo__select_more(M, D, Z, acq, ratio, 2.0, 1.0, H, N, ch, &used), GENBO_OK);
    cr_assert_eq(ch[N], 777, "wrote past n");
    for (int t = 0; t < H; t++) cr_assert_eq(ch[t], (size_t)(10 * t + 3), "the first part changed");
    for (int a = 0; a < N; a++)
        for (int b = a + 1; b < N; b++) cr_assert_neq(ch[a], ch[b], "design taken twice");
    for (int k = H; k < N; k++) {
        cr_assert_neq(ch[k] % 7, 0, "an off-support design while on-support ones remain");
        for (int t = 0; t < k; t++) {
            double dx = Z[ch[k] * D] - Z[ch[t] * D], dy = Z[ch[k] * D + 1] - Z[ch[t] * D + 1];
            cr_assert_geq(sqrt(dx * dx + dy * dy), used, "design %d too close to %d", k, t);
        }
    }
    cr_assert_gt(used, 0.1, "60 spread points need no large relaxation for 10 designs");
}

/* Per-candidate radii (local penalisation): a design taken keeps its own
 * radius around it. On a line of candidates 0.1 apart with the best at 0,
 * radius 0.25 for the first two taken and 0 for the rest: the second
 * design lies at least 0.25 past the first, the third at least 0.25 past
 * the second, and from then on neighbours may be 0.1 apart. */
Test(select, per_candidate_radii_are_the_taken_designs_balls) {
    enum { M = 40, D = 1, N = 6 };
    double Z[M], acq[M], ratio[M], rad[M];
    for (int i = 0; i < M; i++) Z[i] = 0.1 * i, acq[i] = -i, ratio[i] = 1.0, rad[i] = 0;
    rad[0] = rad[3] = 0.25;
    size_t ch[N];
    cr_assert_eq(genbo__select_radii(M, D, Z, acq, ratio, 2.0, rad, 99.0, 0, N, ch, NULL), GENBO_OK);
    size_t want[N] = {0, 3, 6, 7, 8, 9}; /* 0.3 >= 0.25 from 0; 0.6 >= 0.25 from 0.3 */
    for (int k = 0; k < N; k++) cr_assert_eq(ch[k], want[k], "design %d is %zu, not %zu", k, ch[k], want[k]);
    /* radius NULL: delta for every design (the fixed rule) */
    cr_assert_eq(genbo__select_radii(M, D, Z, acq, ratio, 2.0, NULL, 0.25, 0, N, ch, NULL), GENBO_OK);
    for (int k = 0; k < N; k++) cr_assert_eq(ch[k], (size_t)(3 * k));
}

/* Thompson sampling (thompson.h) on a 1-dim GP fitted to y = x at x = 0..9:
 * candidates x = 0 (mean 0, sure), x = 4.5 (mean 4.5, fairly sure) and two
 * designs far away on either side (the prior: mean = the labels' mean 4.5,
 * a wide sd, independent of each other). The first pick is the candidate
 * that is best under the draw: x = 4.5 when both far draws fall below 4.5
 * (probability 1/4), else the higher far one (3/8 each), the sure low x = 0
 * never. Bounds of +-0.1 are 4 binomial sd at 400 draws. Every batch has
 * distinct designs, is never larger than asked, and the same seed gives
 * the same batch. */
Test(select, thompson_picks_with_the_probability_of_being_best) {
    enum { NL = 10, M = 4, T = 400 };
    double LX[NL], LY[NL];
    for (int i = 0; i < NL; i++) LX[i] = i, LY[i] = i;
    genbo_reward_params p;
    genbo_reward_params_default(&p);
    p.kind = GENBO_REWARD_GP;
    genbo_reward *gp;
    cr_assert_eq(genbo_reward_fit(&p, NL, 1, LX, LY, &gp), GENBO_OK, "%s", genbo_errmsg());
    double X[M] = {0, 4.5, -3e4, 3e4}, mu[M], var[M], opt[M], ratio[M] = {1, 1, 1, 1};
    cr_assert_eq(genbo_reward_predict(gp, M, X, mu, var), GENBO_OK);
    for (int i = 0; i < M; i++) opt[i] = mu[i] + sqrt(var[i]);
    int first[M] = {0};
    for (int t = 0; t < T; t++) {
        size_t ch[M + 1];
        ch[2] = 999; /* guard */
        cr_assert_eq(genbo__thompson_more(gp, 1.0, M, 1, X, X, mu, opt, ratio, 2.0, NULL, 0, 0, 2,
                                          (uint64_t)t, ch),
                     GENBO_OK, "%s", genbo_errmsg());
        cr_assert_eq(ch[2], 999, "wrote past n");
        cr_assert_neq(ch[0], ch[1]);
        first[ch[0]]++;
        if (t == 0) {
            size_t again[2];
            cr_assert_eq(genbo__thompson_more(gp, 1.0, M, 1, X, X, mu, opt, ratio, 2.0, NULL, 0, 0, 2, 0, again), GENBO_OK);
            cr_assert(again[0] == ch[0] && again[1] == ch[1], "the same seed, another batch");
        }
    }
    cr_log_info("first picks of %d draws: x=0 %d, x=4.5 %d, far left %d, far right %d", T, first[0], first[1], first[2], first[3]);
    cr_assert_lt(first[0], T / 50);
    const double want[M] = {0, 0.25, 0.375, 0.375};
    for (int k = 1; k < M; k++)
        cr_assert(fabs(first[k] / (double)T - want[k]) < 0.1, "candidate %d first in %d of %d, want %.3f",
                  k, first[k], T, want[k]);
    genbo_reward_free(gp);
}
