/* test_read_api.c - the read API of genbo.h (studies/db.c, read.c,
 * read_results.c, config_get.c) against the database rows it reads: a
 * fixture database made by the store itself (current schema) with awkward
 * values, compared with SQLite's own answers; paging, snapshots, errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genbo.h"
#include "studies/store.h"
#include "study_fixture.h"

static const char *db_path = GENBO_BINARY_DIR "/test_read_api.db";

static void exec(genbo__db *db, const char *sql) {
    int rc = genbo__db_exec(db, sql);
    cr_assert_eq(rc, GENBO__DB_OK, "%s: %s", sql, genbo__db_errmsg(db));
}

static double one(genbo__db *db, const char *sql) {
    genbo__db_stmt *st = NULL;
    cr_assert_eq(genbo__db_prepare(db, sql, &st), GENBO__DB_OK, "%s", sql);
    cr_assert_eq(genbo__db_step(st), GENBO__DB_ROW, "%s", sql);
    double v = genbo__db_column_double(st, 0);
    genbo__db_finalize(st);
    return v;
}

/* "alpha": 2 runs, metrics of 2 methods x 2 targets, a loop round, 7
 * trials; "beta": a stored configuration naming a CSV that does not exist. */
static genbo_db *fixture(void) {
    fixture_remove_db(db_path);
    genbo__db *db = NULL;
    cr_assert_eq(genbo__store_open(db_path, GENBO__STORE_CREATE, &db), GENBO_OK, "%s", genbo_errmsg());
    exec(db,
         "INSERT INTO studies VALUES (1, 'alpha', '[study]\nname = alpha\n[generate]\ntargets = p90, max\n', 3, 10);"
         "INSERT INTO studies VALUES (2, 'beta', '[study]\nname = beta\n[data]\ntask = csv\n"
         "labelled = /no/such/file.csv\n', NULL, 20);"
         "INSERT INTO runs VALUES (1, 1, 'run', 'cfg one', 11, '0.1.0', 'done', 100, 130, 'rounds', NULL);"
         "INSERT INTO runs VALUES (2, 1, 'ask', 'cfg two', 12, '0.1.0', 'failed', 200, NULL, NULL, 'nan loss');"
         "INSERT INTO runs VALUES (3, 2, 'run', 'cfg beta', 13, '0.1.0', 'running', 300, NULL, NULL, NULL);"
         "INSERT INTO targets VALUES (1, 'max', 2.5), (1, 'p90', 1.0/3), (2, 'p90', 0.4), (3, 'p90', 9);"
         "INSERT INTO metrics(run_id, round, target_label, target, method, subopt, subopt_kind, mean_true,"
         " mean_pred, support_distance, support_kind, diversity, n, n_failed) VALUES"
         " (1, 0, 'p90', 1.0/3, 'genbo', 0.1, 'true', 0.2, 0.3, 1e-300, 'task', 2.0/3, 8, 0),"
         " (2, 0, 'p90', 0.4, 'genbo', 0.05, 'predicted', NULL, 0.35, 0.125, 'knn', 0.7, 8, 1),"
         " (1, 0, 'max', 2.5, 'random', 0.5, 'true', 2.0, NULL, NULL, NULL, -0.0, 4, 0),"
         " (1, 2, 'p90', 1.0/3, 'genbo', 0.25, 'true', 0.1, 0.2, 0.3, 'task', 0.5, 4, 2),"
         " (3, 0, 'p90', 9, 'genbo', 1, 'true', 8, 8, 0, 'task', 1, 1, 0);"
         "INSERT INTO reward_samples VALUES (2, 'labelled', 5), (1, 'labelled', 0.1), (1, 'labelled', -1.0/7),"
         " (1, 'pool', 0.5), (3, 'pool', 99);"
         "INSERT INTO trainings(run_id, round, stop, steps, best_step, best_val_loss, val_loss, train_loss,"
         " seconds, resumed_from, n_train, n_val, val_seed, width, depth, batch) VALUES"
         " (1, 0, 'converged', 900, 750, 0.25, 0.26, 0.3, 4.5, 0, 90, 10, 77, 64, 3, 32),"
         " (1, 2, 'steps', 10, NULL, NULL, NULL, 0.5, 0.1, 0, 90, 10, 77, 64, 3, 32);"
         "INSERT INTO train_curve VALUES (1, 0, 500, 0.4, 0.35, 0.002, 2), (1, 0, 250, 0.5, NULL, 0.001, 1);"
         "INSERT INTO trials(id, study_id, run_id, round, target, target_label, method, state, predicted,"
         " reason, asked, finished) VALUES"
         " (1, 1, 1, 0, 1.0/3, 'p90', 'genbo', 'told', 0.3, NULL, 101, 102),"
         " (2, 1, 1, 0, 1.0/3, 'p90', 'genbo', 'failed', NULL, 'crash', 101, 103),"
         " (4, 1, 2, NULL, 0.4, 'p90', 'genbo', 'asked', 0.2, NULL, 201, NULL),"
         " (5, 2, 3, 0, 9, 'p90', 'genbo', 'told', 1, NULL, 301, 302),"
         " (7, 1, 1, 2, 1.0/3, 'p90', 'genbo', 'told', 0.5, NULL, 140, 141),"
         " (8, 1, 1, 2, 1.0/3, 'p90', 'genbo', 'told', 0.6, NULL, 142, 143),"
         " (9, 1, 1, 0, 2.5, 'max', 'random', 'told', NULL, NULL, 104, 105);"
         "INSERT INTO observations VALUES (1, 0.1 + 0.2, 102), (5, 4, 302), (7, 1.5, 141), (8, -2, 143),"
         " (9, 1.5, 105);");
    genbo__store_close(db);
    genbo_db *out = NULL;
    cr_assert_eq(genbo_db_open(db_path, &out), GENBO_OK, "%s", genbo_errmsg());
    return out;
}

static genbo_study *study(genbo_db *db, const char *name) {
    genbo_study *s = NULL;
    cr_assert_eq(genbo_db_study(db, name, &s), GENBO_OK, "%s", genbo_errmsg());
    return s;
}

Test(read_api, config_getters_read_numbers_and_list_items) {
    genbo_config *c = NULL;
    cr_assert_eq(genbo_config_default(&c), GENBO_OK);
    double v = 0;
    cr_assert_eq(genbo_config_get_double(c, "diffusion", "max_steps", &v), GENBO_OK);
    cr_assert_eq(v, 50000);
    cr_assert_eq(genbo_config_get_double(c, "diffusion", "steps", &v), GENBO_EINVAL, "steps is 'auto'");
    cr_assert_eq(genbo_config_get_double(c, "diffusion", "nope", &v), GENBO_ENOTFOUND);
    cr_assert_eq(genbo_config_set(c, "generate", "targets", " p10,, max ,2.5"), GENBO_OK, "%s", genbo_errmsg());
    size_t n = 0;
    cr_assert_eq(genbo_config_list_size(c, "generate", "targets", &n), GENBO_OK);
    cr_assert_eq(n, 3);
    static const char *const want[] = {"p10", "max", "2.5"};
    char buf[32];
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(genbo_config_list_item(c, "generate", "targets", i, buf, sizeof buf), GENBO_OK);
        cr_assert_str_eq(buf, want[i]);
    }
    cr_assert_eq(genbo_config_list_item(c, "generate", "targets", 3, buf, sizeof buf), GENBO_ENOTFOUND);
    cr_assert_eq(genbo_config_list_size(c, "generate", "methods", &n), GENBO_OK);
    cr_assert_eq(n, 8, "the default methods");
    genbo_config_free(c);
}

Test(read_api, opening_recognises_only_genbo_databases) {
    genbo_db *db = (genbo_db *)1;
    cr_assert_eq(genbo_db_open(GENBO_BINARY_DIR "/no/such/x.db", &db), GENBO_ENOTFOUND);
    cr_assert_null(db);
    const char *other = GENBO_BINARY_DIR "/test_read_api_other.db";
    remove(other);
    genbo__db *o = NULL;
    cr_assert_eq(genbo__db_connect(other, 0, 1, &o), GENBO_OK);
    exec(o, "CREATE TABLE studies(x)");
    genbo__db_close(o);
    cr_assert_eq(genbo_db_open(other, &db), GENBO_EFORMAT);
    cr_assert(strstr(genbo_errmsg(), "not a genbo study database"), "%s", genbo_errmsg());
    remove(other);
    db = fixture();
    genbo_study *s = (genbo_study *)1;
    cr_assert_eq(genbo_db_study(db, "zeta", &s), GENBO_ENOTFOUND);
    cr_assert_str_eq(genbo_errmsg(), "unknown study 'zeta'");
    cr_assert_null(s);
    cr_assert_eq(genbo_db_study(db, "", &s), GENBO_EINVAL);
    genbo_db_close(db);
}

Test(read_api, trial_pages_cover_every_trial_once_in_order) {
    genbo_db *db = fixture();
    genbo_study *s = study(db, "alpha");
    genbo_trial_list *all = NULL;
    cr_assert_eq(genbo_study_trials(s, GENBO_PHASE_ALL, &all), GENBO_OK);
    cr_assert_eq(genbo_trial_list_size(all), 6, "alpha's trials only");
    for (size_t limit = 1; limit <= 7; limit++) {
        size_t seen = 0;
        int64_t after = 0;
        for (;;) {
            genbo_trial_list *page = NULL;
            cr_assert_eq(genbo_study_trials_page(s, GENBO_PHASE_ALL, after, limit, &page), GENBO_OK);
            size_t n = genbo_trial_list_size(page);
            cr_assert_leq(n, limit);
            for (size_t i = 0; i < n; i++, seen++) {
                const genbo_trial *t = genbo_trial_list_get(page, i);
                cr_assert_eq(t->id, genbo_trial_list_get(all, seen)->id, "limit %zu", limit);
                double want = genbo_trial_list_get(all, seen)->value;
                cr_assert(t->value == want || (isnan(t->value) && isnan(want)));
                after = t->id;
            }
            genbo_trial_list_free(page);
            if (n < limit) break;
        }
        cr_assert_eq(seen, 6, "limit %zu", limit);
    }
    genbo_trial_list *loop = NULL;
    cr_assert_eq(genbo_study_trials_page(s, GENBO_PHASE_LOOP, 4, 0, &loop), GENBO_OK);
    cr_assert_eq(genbo_trial_list_size(loop), 2, "loop trials after id 4: 7 and 8");
    cr_assert_eq(genbo_trial_list_get(loop, 0)->id, 7);
    genbo_trial_list_free(loop);
    genbo_trial_list_free(all);
    genbo_study_close(s);
    genbo_db_close(db);
}

Test(read_api, metrics_targets_and_summary_equal_the_rows) {
    genbo_db *db = fixture();
    genbo__db *raw = genbo__db_connection(db);
    genbo_study *s = study(db, "alpha");
    genbo_metric *m = NULL;
    size_t n = 0;
    cr_assert_eq(genbo_study_metrics(s, 0, &m, &n), GENBO_OK);
    cr_assert_eq(n, 4, "alpha's runs only");
    /* by run, round, target, method */
    cr_assert_eq(m[0].run_id, 1);
    cr_assert_eq(m[0].round, 0);
    cr_assert_str_eq(m[0].target_label, "p90");
    cr_assert_eq(m[0].target, 1.0 / 3);
    cr_assert_eq(m[0].support_distance, one(raw, "SELECT support_distance FROM metrics WHERE run_id = 1 AND round = 0 "
                                                  "AND method = 'genbo'"));
    cr_assert(isnan(m[0].best_true), "NULL is NaN");
    cr_assert_str_eq(m[1].method, "random");
    cr_assert_eq(signbit(m[1].diversity) != 0,
                 signbit(one(raw, "SELECT diversity FROM metrics WHERE method = 'random'")) != 0, "sign as stored");
    cr_assert(isnan(m[1].mean_pred));
    cr_assert_str_eq(m[1].support_kind, "");
    cr_assert_eq(m[2].round, 2);
    cr_assert_eq(m[2].n_failed, 2);
    cr_assert_eq(m[3].run_id, 2);
    cr_assert_str_eq(m[3].subopt_kind, "predicted");
    free(m);
    cr_assert_eq(genbo_study_metrics(s, 2, &m, &n), GENBO_OK);
    cr_assert_eq(n, 1);
    free(m);
    cr_assert_eq(genbo_study_metrics(s, 3, &m, &n), GENBO_OK);
    cr_assert_eq(n, 0, "run 3 is beta's");
    cr_assert_null(m);

    genbo_target_info *t = NULL;
    cr_assert_eq(genbo_study_targets(s, 0, &t, &n), GENBO_OK);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(t[0].label, "p90"); /* run 1 by value: 1/3 before 2.5 */
    cr_assert_str_eq(t[1].label, "max");
    cr_assert_eq(t[2].run_id, 2);
    free(t);

    genbo_metric_summary *sm = NULL;
    cr_assert_eq(genbo_study_metric_summary(s, &sm, &n), GENBO_OK);
    cr_assert_eq(n, 2, "(genbo, p90) and (random, max); round 2 left out");
    cr_assert_str_eq(sm[0].method, "genbo");
    cr_assert_eq(sm[0].runs, 2);
    cr_assert_eq(sm[0].subopt.mean, one(raw, "SELECT avg(subopt) FROM metrics WHERE round = 0 AND run_id IN (1, 2) "
                                             "AND method = 'genbo'"));
    cr_assert_eq(sm[0].subopt.min, 0.05);
    cr_assert_eq(sm[0].subopt.max, 0.1);
    cr_assert_eq(sm[0].mean_true.n, 1, "one run has a true mean");
    cr_assert_str_eq(sm[0].subopt_kind, "predicted");
    cr_assert_eq(sm[0].n, 16);
    cr_assert_eq(sm[0].n_failed, 1);
    cr_assert_eq(sm[1].support_distance.n, 0);
    cr_assert(isnan(sm[1].support_distance.mean));
    free(sm);
    genbo_study_close(s);
    genbo_db_close(db);
}

Test(read_api, runs_trainings_curves_samples_and_configs) {
    genbo_db *db = fixture();
    genbo_study *s = study(db, "alpha");
    genbo_training_info *tr = NULL;
    size_t n = 0;
    cr_assert_eq(genbo_study_trainings(s, 1, &tr, &n), GENBO_OK);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(tr[0].stop, "converged");
    cr_assert_eq(tr[0].best_step, 750);
    cr_assert_eq(tr[0].val_seed, 77);
    cr_assert_eq(tr[1].best_step, -1, "NULL best step");
    cr_assert(isnan(tr[1].best_val_loss));
    free(tr);
    genbo_curve_point *c = NULL;
    cr_assert_eq(genbo_study_train_curve(s, 0, &c, &n), GENBO_OK);
    cr_assert_eq(n, 2);
    cr_assert_eq(c[0].pt.step, 250, "by step");
    cr_assert(isnan(c[0].pt.val_loss));
    cr_assert_eq(c[1].pt.val_loss, 0.35);
    free(c);
    double *v = NULL;
    cr_assert_eq(genbo_study_reward_samples(s, GENBO_SAMPLES_LABELLED, &v, &n), GENBO_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(v[0], 0.1, "run 1 first, in stored order");
    cr_assert_eq(v[1], -1.0 / 7);
    cr_assert_eq(v[2], 5);
    free(v);
    cr_assert_eq(genbo_study_reward_samples(s, GENBO_SAMPLES_POOL_TRUE, &v, &n), GENBO_OK);
    cr_assert_eq(n, 0);
    cr_assert_eq(genbo_study_reward_samples(s, 7, &v, &n), GENBO_EINVAL);

    char *ini = NULL;
    cr_assert_eq(genbo_study_run_config(s, 2, &ini), GENBO_OK);
    cr_assert_str_eq(ini, "cfg two");
    free(ini);
    cr_assert_eq(genbo_study_run_config(s, 3, &ini), GENBO_ENOTFOUND, "run 3 is beta's");
    cr_assert_null(ini);
    genbo_run_info *runs = NULL;
    cr_assert_eq(genbo_study_runs(s, &runs, &n), GENBO_OK);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(runs[1].error, "nan loss");
    free(runs);

    genbo_study_summary sum;
    cr_assert_eq(genbo_study_get_summary(s, &sum), GENBO_OK);
    cr_assert_eq(sum.told, 4);
    cr_assert_eq(sum.failed, 1);
    cr_assert_eq(sum.asked, 1);
    cr_assert_eq(sum.best_value, 1.5);
    cr_assert_eq(sum.best_loop, 1.5);
    cr_assert_eq(genbo_study_dim(s), 3, "the stored dimension");
    const genbo_config *cfg = genbo_study_config(s);
    cr_assert_not_null(cfg);
    char buf[64];
    cr_assert_eq(genbo_config_get(cfg, "generate", "targets", buf, sizeof buf), GENBO_OK);
    cr_assert_str_eq(buf, "p90, max");
    genbo_study_close(s);

    /* a configuration this genbo cannot use is still shown as stored */
    s = study(db, "beta");
    cr_assert_null(genbo_study_config(s));
    cr_assert(strstr(genbo_study_config_text(s), "/no/such/file.csv"));
    cr_assert_eq(genbo_study_dim(s), 0, "never loads data");
    cr_assert_null(genbo_study_feature_name(s, 0));
    cr_assert_eq(genbo_study_ask(s, 1.0, 1, (int64_t[1]){0}, (double[1]){0}), GENBO_ESTATE, "read-only");
    genbo_study_close(s);
    genbo_db_close(db);
}

Test(read_api, a_snapshot_hides_commits_until_it_ends) {
    genbo_db *db = fixture();
    genbo_study *s = study(db, "alpha");
    int64_t v0 = 0, v1 = 0;
    cr_assert_eq(genbo_db_read_begin(db), GENBO_OK);
    cr_assert_eq(genbo_db_read_begin(db), GENBO_ESTATE, "not nested");
    genbo_study_summary a;
    cr_assert_eq(genbo_study_get_summary(s, &a), GENBO_OK);
    cr_assert_eq(genbo_db_data_version(db, &v0), GENBO_OK);
    genbo__db *w = NULL;
    cr_assert_eq(genbo__db_connect(db_path, 0, 0, &w), GENBO_OK);
    exec(w, "INSERT INTO observations VALUES (4, 7, 500); UPDATE trials SET state = 'told' WHERE id = 4");
    genbo__db_close(w);
    genbo_study_summary b;
    cr_assert_eq(genbo_study_get_summary(s, &b), GENBO_OK);
    cr_assert_eq(b.told, a.told, "inside the snapshot the commit is not seen");
    genbo_db_read_end(db);
    cr_assert_eq(genbo_db_data_version(db, &v1), GENBO_OK);
    cr_assert_neq(v1, v0, "another connection committed");
    cr_assert_eq(genbo_study_get_summary(s, &b), GENBO_OK);
    cr_assert_eq(b.told, a.told + 1);
    cr_assert_eq(b.best_loop, 7);
    genbo_study_summary *all = NULL;
    size_t n = 0;
    cr_assert_eq(genbo_db_list_studies(db, &all, &n), GENBO_OK);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(all[1].name, "beta");
    cr_assert_eq(all[1].dim, 0);
    free(all);
    genbo_study_close(s);
    genbo_db_close(db);
}
