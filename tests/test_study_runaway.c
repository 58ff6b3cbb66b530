/* test_study_runaway.c - the design loop that ran away (issue 14): an
 * evaluator on another scale than the labels (-1000 ||x||^2 - 500 where
 * the labels are O(1)), four rounds with fine-tuning. Before the fix the
 * told values went -3e6, -4e15, -4e24, -2e36 (designs of norm 1e18). Every
 * round must now propose finite designs inside the trust region, refit a
 * reward model whose predictions are finite and on the scale of what was
 * told, and record what the trust region did. The root causes are checked
 * too: the told values' other scale is detected and named in the round's
 * step, and the diffusion model is not fine-tuned on them; with an
 * evaluator on the labels' scale the rounds fine-tune as configured. */
#include <criterion/criterion.h>
#include <math.h>
#include <sqlite3.h>

#include "optimizer/trust.h"
#include "studies/study.h"
#include "study_fixture.h"

enum { ROUNDS = 4, BATCH = 8 };

static genbo_config *runaway_config(const char *command) {
    fixture_write("runaway.ini", TINY_STUDY);
    genbo_config *c;
    cr_assert_eq(genbo_config_load(fixture_path("runaway.ini"), &c), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_config_set(c, "diffusion", "steps", "300"), GENBO_OK);
    cr_assert_eq(genbo_config_set(c, "generate", "targets", "p90"), GENBO_OK);
    cr_assert_eq(genbo_config_set(c, "generate", "methods", "genbo"), GENBO_OK);
    cr_assert_eq(genbo_config_set(c, "generate", "n", "8"), GENBO_OK);
    cr_assert_eq(genbo_config_set(c, "evaluate", "command", command), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_config_set(c, "evaluate", "evaluator", "command"), GENBO_OK, "%s", genbo_errmsg());
    char r[16];
    snprintf(r, sizeof r, "%d", ROUNDS);
    cr_assert_eq(genbo_config_set(c, "loop", "rounds", r), GENBO_OK);
    snprintf(r, sizeof r, "%d", BATCH);
    cr_assert_eq(genbo_config_set(c, "loop", "batch", r), GENBO_OK);
    cr_assert_eq(genbo_config_set(c, "loop", "finetune_steps", "100"), GENBO_OK);
    return c;
}

#define AWK_NEGSQ(k, b)                                                                  \
    "awk -F, 'NR > 1 { s = 0; for (i = 1; i <= NF; i++) s += $i * $i; printf \"%.17g\\n\", " \
    k " * s + " b " }'"

static long long count(sqlite3 *h, const char *sql) {
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(h));
    long long v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
}

Test(study_runaway, other_scale_evaluator_stays_bounded_every_round, .init = fixture_make_dir,
     .timeout = 120) {
    genbo_config *c = runaway_config(AWK_NEGSQ("-1000", "-500"));
    FIXTURE_PATH(db, "runaway.db");
    genbo_study *s;
    cr_assert_eq(genbo_study_open(db, "tiny", c, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_run(s, NULL, NULL), GENBO_OK, "%s", genbo_errmsg());
    const genbo__trust *t = &s->data.trust;
    const size_t D = s->data.dim;
    cr_assert_eq(t->dim, D);

    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    /* designs: finite, in the region, values on the evaluator's scale */
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(h, "SELECT t.round, t.x, o.value FROM trials t JOIN observations o "
                                       "ON o.trial_id = t.id ORDER BY t.id", -1, &st, NULL), SQLITE_OK);
    int per_round[ROUNDS + 1] = {0};
    double worst[ROUNDS + 1];
    for (int r = 0; r <= ROUNDS; r++) worst[r] = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int r = sqlite3_column_int(st, 0);
        cr_assert(r >= 0 && r <= ROUNDS);
        cr_assert_eq((size_t)sqlite3_column_bytes(st, 1), D * sizeof(double));
        const double *x = sqlite3_column_blob(st, 1);
        cr_assert_eq(genbo__trust_check(t, x), 0u, "round %d: a design outside the trust region", r);
        double v = sqlite3_column_double(st, 2);
        cr_assert(isfinite(v));
        worst[r] = fmin(worst[r], v);
        per_round[r]++;
    }
    sqlite3_finalize(st);
    /* the region bounds -1000 ||x||^2 - 500: the most negative value it allows */
    double x2max = 0;
    for (size_t j = 0; j < D; j++) x2max += fmax(t->lo[j] * t->lo[j], t->hi[j] * t->hi[j]);
    for (int r = 0; r <= ROUNDS; r++) {
        cr_log_info("round %d: %d designs, lowest value %.4g (bound %.4g)", r, per_round[r], worst[r],
                    -1000 * x2max - 500);
        cr_assert_eq(per_round[r], r == 0 ? 8 : BATCH, "round %d told %d designs", r, per_round[r]);
        cr_assert_geq(worst[r], -1000 * x2max - 500 - 1e-6, "round %d ran away: %g", r, worst[r]);
    }
    /* a refit per round, each finite on the pool and on the scale of the
     * values told (not 1e6 times beyond it) */
    cr_assert_eq(sqlite3_prepare_v2(h, "SELECT round, data FROM models WHERE kind = 'reward' AND round >= 1 "
                                       "ORDER BY round", -1, &st, NULL), SQLITE_OK);
    int refits = 0;
    double *pred = malloc(s->data.n_pool * sizeof *pred);
    while (sqlite3_step(st) == SQLITE_ROW) {
        genbo_reward *m;
        cr_assert_eq(genbo_reward_load_buffer(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), &m),
                     GENBO_OK, "%s", genbo_errmsg());
        cr_assert_eq(genbo_reward_predict(m, s->data.n_pool, s->data.pool_X, pred, NULL), GENBO_OK);
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < s->data.n_pool; i++) {
            cr_assert(isfinite(pred[i]), "round %d: refit predicts %g", sqlite3_column_int(st, 0), pred[i]);
            lo = fmin(lo, pred[i]), hi = fmax(hi, pred[i]);
        }
        cr_log_info("round %d refit: pool predictions %.4g .. %.4g", sqlite3_column_int(st, 0), lo, hi);
        cr_assert_gt(lo, 1e3 * (-1000 * x2max - 500), "round %d refit ran away: %g",
                     sqlite3_column_int(st, 0), lo);
        genbo_reward_free(m);
        refits++;
    }
    sqlite3_finalize(st);
    free(pred);
    cr_assert_eq(refits, ROUNDS);
    /* the other scale is found and named, and nothing is fine-tuned on it */
    cr_assert_eq(count(h, "SELECT COUNT(*) FROM steps WHERE step LIKE 'round %' AND detail LIKE "
                          "'%another scale than the labels%'"), ROUNDS);
    cr_assert_eq(count(h, "SELECT COUNT(*) FROM models WHERE kind = 'diffusion' AND round >= 1"), 0);
    /* every moved design says so */
    cr_assert_eq(count(h, "SELECT COUNT(*) FROM trials WHERE flags IS NOT NULL AND flags NOT IN "
                          "('projected', 'resampled', 'resampled,projected')"), 0);
    sqlite3_close(h);
    genbo_study_close(s);
    genbo_config_free(c);
}

/* The same loop with an evaluator on the labels' scale: no alarm, and the
 * rounds fine-tune (on the told designs the region did not move). */
Test(study_runaway, same_scale_evaluator_fine_tunes_every_round, .init = fixture_make_dir,
     .timeout = 120) {
    genbo_config *c = runaway_config(AWK_NEGSQ("-0.5", "1"));
    FIXTURE_PATH(db, "same.db");
    genbo_study *s;
    cr_assert_eq(genbo_study_open(db, "tiny", c, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_run(s, NULL, NULL), GENBO_OK, "%s", genbo_errmsg());
    genbo_study_close(s);
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_assert_eq(count(h, "SELECT COUNT(*) FROM steps WHERE detail LIKE '%another scale%'"), 0);
    cr_assert_eq(count(h, "SELECT COUNT(DISTINCT round) FROM models WHERE kind = 'diffusion' AND "
                          "round >= 1"), ROUNDS);
    sqlite3_close(h);
    genbo_config_free(c);
}

/* The study file's [constraints]: stated bounds and a simplex over two
 * named features hold for every design of every method, moved designs are
 * flagged (trials.flags and genbo_study_trial_flags agree), and a simplex
 * naming no column fails naming the key. */
Test(study_runaway, stated_bounds_and_simplex_hold_for_every_design, .init = fixture_make_dir,
     .timeout = 120) {
    fixture_write("c.ini", TINY_STUDY);
    genbo_config *c;
    cr_assert_eq(genbo_config_load(fixture_path("c.ini"), &c), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_config_set(c, "generate", "targets", "p90"), GENBO_OK);
    cr_assert_eq(genbo_config_set(c, "generate", "methods", "genbo, random"), GENBO_OK);
    cr_assert_eq(genbo_config_set(c, "loop", "rounds", "1"), GENBO_OK);
    cr_assert_eq(genbo_config_set(c, "constraints", "bounds", "-0.5:0.5"), GENBO_OK);
    cr_assert_eq(genbo_config_set(c, "constraints", "simplex", "x0, x1"), GENBO_OK);
    FIXTURE_PATH(db, "c.db");
    genbo_study *s;
    cr_assert_eq(genbo_study_open(db, "tiny", c, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_run(s, NULL, NULL), GENBO_OK, "%s", genbo_errmsg());
    const size_t D = genbo_study_dim(s);
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(h, "SELECT id, x, flags FROM trials ORDER BY id", -1, &st, NULL),
                 SQLITE_OK);
    int n = 0, moved = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const double *x = sqlite3_column_blob(st, 1);
        cr_assert_float_eq(x[0] + x[1], 1.0, 1e-9, "trial %d: x0 + x1 = %g", n, x[0] + x[1]);
        cr_assert(x[0] >= 0 && x[0] <= 0.5 && x[1] >= 0 && x[1] <= 0.5);
        for (size_t j = 2; j < D; j++) cr_assert(x[j] >= -0.5 && x[j] <= 0.5, "x%zu = %g", j, x[j]);
        unsigned f;
        cr_assert_eq(genbo_study_trial_flags(s, sqlite3_column_int64(st, 0), &f), GENBO_OK);
        cr_assert_eq(f != 0, sqlite3_column_type(st, 2) != SQLITE_NULL);
        moved += f != 0;
        n++;
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    cr_assert_eq(n, 2 * 16 + 4, "%d trials", n); /* 2 methods x n = 16, one round of 4 */
    cr_assert_gt(moved, 0, "the pool's own rows break the simplex: some must be projected");
    cr_assert_eq(genbo_study_trial_flags(s, 99999, &(unsigned){0}), GENBO_ENOTFOUND);
    genbo_study_close(s);
    /* a simplex over a column the data do not have */
    cr_assert_eq(genbo_config_set(c, "constraints", "simplex", "x0, nope"), GENBO_OK);
    FIXTURE_PATH(db2, "c2.db");
    cr_assert_eq(genbo_study_open(db2, "tiny", c, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_dim(s), 0u);
    cr_assert(strstr(genbo_errmsg(), "[constraints] simplex") && strstr(genbo_errmsg(), "'nope'"),
              "%s", genbo_errmsg());
    genbo_study_close(s);
    genbo_config_free(c);
}
