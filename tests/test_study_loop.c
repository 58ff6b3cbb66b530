/* test_study_loop.c - a study without a run: create checks the data,
 * prepare trains with progress and can be cancelled and resumed, ask
 * resolves target specs as the study file does and warns beyond the
 * data, best_trial keeps the loop and the run phase apart, a run phase
 * with evaluator = none turns true when its trials are told, delete and
 * the database's study list. */
#include <criterion/criterion.h>
#include <math.h>
#include <sqlite3.h>

#include "study_fixture.h"

static genbo_config *config_of(const char *file, const char *text) {
    fixture_write(file, text);
    genbo_config *c;
    cr_assert_eq(genbo_config_load(fixture_path(file), &c), GENBO_OK, "%s", genbo_errmsg());
    return c;
}

TestSuite(study_loop, .init = fixture_make_dir, .timeout = 120);

Test(study_loop, create_checks_the_data_and_refuses_a_changed_configuration) {
    FIXTURE_PATH(db, "c.db");
    /* A CSV study whose file has a bad row: create fails naming the file
     * and leaves no study behind. */
    fixture_write("bad.csv", "a,b,reward\n1,2,3\n4,x,6\n");
    genbo_config *bad = config_of("bad.ini", "[study]\nname = csvstudy\n[data]\ntask = csv\nlabelled = bad.csv\n");
    cr_assert_neq(genbo_study_create(db, bad, NULL), GENBO_OK);
    cr_assert_not_null(strstr(genbo_errmsg(), "bad.csv"), "%s", genbo_errmsg());
    genbo_config_free(bad);
    genbo_study_summary *v;
    size_t n = 99;
    int rc = genbo_db_studies(db, &v, &n);
    cr_assert(rc == GENBO_ENOTFOUND || (rc == GENBO_OK && n == 0), "rc %d n %zu", rc, n);
    if (!rc) free(v);

    fixture_write("good.csv", "temp,press,reward\n1,2,3\n4,5,6\n7,8,8\n2,1,1\n");
    genbo_config *good = config_of("good.ini", "[study]\nname = csvstudy\n[data]\ntask = csv\nlabelled = good.csv\n");
    genbo_study *s;
    cr_assert_eq(genbo_study_create(db, good, &s), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_dim(s), 2);
    cr_assert_str_eq(genbo_study_feature_name(s, 0), "temp");
    cr_assert_str_eq(genbo_study_feature_name(s, 1), "press");
    cr_assert_null(genbo_study_feature_name(s, 2));
    genbo_study_close(s);
    /* Same configuration again: fine. Another one: refused. */
    cr_assert_eq(genbo_study_create(db, good, NULL), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_config_set(good, "reward", "model", "gp"), GENBO_OK);
    cr_assert_eq(genbo_study_create(db, good, NULL), GENBO_ESTATE);
    cr_assert_not_null(strstr(genbo_errmsg(), "another configuration"), "%s", genbo_errmsg());
    char buf[32];
    cr_assert_eq(genbo_config_get(good, "reward", "model", buf, sizeof buf), GENBO_OK);
    cr_assert_str_eq(buf, "gp");
    cr_assert_eq(genbo_config_get(good, "reward", "nope", buf, sizeof buf), GENBO_ENOTFOUND);
    genbo_config_free(good);

    cr_assert_eq(genbo_db_studies(db, &v, &n), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(n, 1);
    cr_assert_str_eq(v[0].name, "csvstudy");
    cr_assert_eq(v[0].dim, 2);
    cr_assert_eq(v[0].runs, 0);
    cr_assert(isnan(v[0].best_value));
    free(v);
    cr_assert_eq(genbo_study_delete(db, "csvstudy"), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_delete(db, "csvstudy"), GENBO_ENOTFOUND);
    cr_assert_eq(genbo_db_studies(db, &v, &n), GENBO_OK);
    cr_assert_eq(n, 0);
    free(v);
}

typedef struct {
    long train_reports, cancel_after;
} progress_log;

static int count_progress(void *ctx, const char *stage, long done, long total, const char *msg) {
    (void)done, (void)total, (void)msg;
    progress_log *p = ctx;
    if (!strcmp(stage, "train")) p->train_reports++;
    return p->cancel_after > 0 && p->train_reports >= p->cancel_after;
}

Test(study_loop, prepare_reports_progress_cancels_and_resumes) {
    FIXTURE_PATH(db, "p.db");
    genbo_config *c = config_of("tiny.ini", TINY_STUDY);
    genbo_study *s;
    cr_assert_eq(genbo_study_create(db, c, &s), GENBO_OK, "%s", genbo_errmsg());
    progress_log log = {0, 3};
    cr_assert_eq(genbo_study_prepare(s, count_progress, &log), GENBO_ESTATE);
    cr_assert_not_null(strstr(genbo_errmsg(), "interrupted"), "%s", genbo_errmsg());
    cr_assert_eq(log.train_reports, 3);
    genbo_run_info *runs;
    size_t nr;
    cr_assert_eq(genbo_study_runs(s, &runs, &nr), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(nr, 1);
    cr_assert_str_eq(runs[0].kind, "ask");
    cr_assert_str_eq(runs[0].status, "failed");
    cr_assert_not_null(strstr(runs[0].error, "interrupted"), "%s", runs[0].error);
    cr_assert_str_eq(runs[0].last_step, "pseudo"); /* data, reward, pseudo kept */
    cr_assert_str_eq(runs[0].version, genbo_version());
    free(runs);
    /* The reward step was completed and is kept: the resumed prepare uses
     * the same run and trains to the end. */
    progress_log log2 = {0, 0};
    cr_assert_eq(genbo_study_prepare(s, count_progress, &log2), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_gt(log2.train_reports, 3);
    cr_assert_eq(fixture_db_double(db, "SELECT count(*) FROM runs"), 1);
    cr_assert_eq(genbo_study_runs(s, &runs, &nr), GENBO_OK);
    cr_assert_eq(nr, 1);
    cr_assert_str_eq(runs[0].status, "done");
    cr_assert_str_eq(runs[0].error, "");
    cr_assert_geq(runs[0].ended, runs[0].started);
    free(runs);
    cr_assert_eq(fixture_db_double(db, "SELECT count(*) FROM models WHERE kind = 'diffusion'"), 1);
    /* Prepared: a second prepare trains nothing. */
    progress_log log3 = {0, 0};
    cr_assert_eq(genbo_study_prepare(s, count_progress, &log3), GENBO_OK);
    cr_assert_eq(log3.train_reports, 0);
    genbo_study_close(s);
    genbo_config_free(c);
}

Test(study_loop, ask_specs_warning_best_and_predicted_metrics_turn_true) {
    FIXTURE_PATH(db, "a.db");
    /* evaluator = none: the run phase leaves its trials asked. */
    char text[2048];
    snprintf(text, sizeof text, "%s[evaluate]\nevaluator = none\n", TINY_STUDY);
    char *rounds = strstr(text, "rounds = 2");
    cr_assert_not_null(rounds);
    rounds[9] = '0';
    genbo_config *c = config_of("none.ini", text);
    genbo_study *s;
    cr_assert_eq(genbo_study_open(db, "tiny", c, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_run(s, NULL, NULL), GENBO_OK, "%s", genbo_errmsg());
    size_t dim = genbo_study_dim(s);
    cr_assert_eq(dim, 8);

    /* "p90" means the run's resolved p90; p75 (not in the file) is resolved
     * the same way, on the pool's pseudo-labels, and lies between p50 and p90. */
    double p50 = fixture_db_double(db, "SELECT value FROM targets WHERE label = 'p50'");
    double p90 = fixture_db_double(db, "SELECT value FROM targets WHERE label = 'p90'");
    int64_t ids[4];
    double *X = malloc(4 * dim * sizeof *X);
    genbo_ask_info info;
    genbo_ask_options o = {"p90", "conditional", NULL, NULL};
    cr_assert_eq(genbo_study_ask_with(s, &o, 2, ids, X, &info), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(info.target, p90);
    cr_assert_str_eq(info.target_label, "p90");
    cr_assert_str_eq(info.method, "conditional");
    cr_assert_eq(info.beyond_data, 0, "%s", info.warning);
    o.target = "p75";
    cr_assert_eq(genbo_study_ask_with(s, &o, 1, ids, X, &info), GENBO_OK, "%s", genbo_errmsg());
    cr_assert(info.target > p50 && info.target < p90, "p50 %g < p75 %g < p90 %g", p50, info.target, p90);
    cr_assert_eq(fixture_db_double(db, "SELECT value FROM targets WHERE label = 'p75'"), info.target);
    /* Far beyond the data: asked anyway, with a warning. */
    o.target = "100";
    o.method = NULL;
    cr_assert_eq(genbo_study_ask_with(s, &o, 1, ids, X, &info), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(info.beyond_data, 1);
    cr_assert_lt(info.data_max, 100);
    cr_assert_not_null(strstr(info.warning, "beyond the data"), "%s", info.warning);
    cr_assert_str_eq(info.method, "genbo"); /* [loop] method */
    o.target = "p101";
    cr_assert_eq(genbo_study_ask_with(s, &o, 1, ids, X, &info), GENBO_EINVAL);
    o.target = "p90";
    o.method = "annealing";
    cr_assert_eq(genbo_study_ask_with(s, &o, 1, ids, X, &info), GENBO_EINVAL);

    /* Tell every trial of one run-phase batch: its metrics turn true, with
     * the mean of the told values; other batches stay predicted. */
    genbo_trial_list *run;
    cr_assert_eq(genbo_study_trials(s, GENBO_PHASE_RUN, &run), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_trial_list_size(run), 2 * 4 * 16);
    double sum = 0;
    int told = 0;
    for (size_t i = 0; i < genbo_trial_list_size(run); i++) {
        const genbo_trial *t = genbo_trial_list_get(run, i);
        cr_assert_eq(t->round, 0);
        cr_assert_eq(t->state, GENBO_TRIAL_ASKED);
        cr_assert_not_null(t->x);
        if (strcmp(t->method, "random") || strcmp(t->target_label, "p90")) continue;
        double y = 0.01 * (double)(told + 1);
        cr_assert_eq(genbo_study_tell(s, t->id, y), GENBO_OK, "%s", genbo_errmsg());
        sum += y;
        told++;
    }
    cr_assert_eq(told, 16);
    genbo_trial_list_free(run);
    cr_assert_float_eq(fixture_db_double(db, "SELECT mean_true FROM metrics WHERE method = 'random' AND "
                                     "target_label = 'p90' AND subopt_kind = 'true'"), sum / 16, 1e-12);
    cr_assert_float_eq(fixture_db_double(db, "SELECT subopt FROM metrics WHERE method = 'random' AND target_label = 'p90'"),
                       p90 - sum / 16, 1e-12);
    cr_assert_eq(fixture_db_double(db, "SELECT count(*) FROM metrics WHERE subopt_kind = 'predicted'"), 7);

    /* The loop's best is the best of the asks, the run's the best of round 0. */
    genbo_trial_list *loop;
    cr_assert_eq(genbo_study_trials(s, GENBO_PHASE_LOOP, &loop), GENBO_OK);
    cr_assert_eq(genbo_trial_list_size(loop), 4);
    int64_t first_ask = genbo_trial_list_get(loop, 0)->id;
    cr_assert_eq(genbo_trial_list_get(loop, 0)->round, -1);
    genbo_trial_list_free(loop);
    cr_assert_eq(genbo_study_tell(s, first_ask, 0.05), GENBO_OK);
    cr_assert_eq(genbo_study_tell(s, first_ask + 1, 0.02), GENBO_OK);
    genbo_trial_list *b;
    cr_assert_eq(genbo_study_best_trial(s, GENBO_PHASE_LOOP, &b), GENBO_OK);
    cr_assert_eq(genbo_trial_list_size(b), 1);
    cr_assert_eq(genbo_trial_list_get(b, 0)->id, first_ask);
    cr_assert_eq(genbo_trial_list_get(b, 0)->value, 0.05);
    genbo_trial_list_free(b);
    cr_assert_eq(genbo_study_best_trial(s, GENBO_PHASE_RUN, &b), GENBO_OK);
    cr_assert_float_eq(genbo_trial_list_get(b, 0)->value, 0.16, 1e-15);
    cr_assert_str_eq(genbo_trial_list_get(b, 0)->method, "random");
    genbo_trial_list_free(b);
    cr_assert_eq(genbo_study_best_trial(s, GENBO_PHASE_ALL, &b), GENBO_OK);
    cr_assert_float_eq(genbo_trial_list_get(b, 0)->value, 0.16, 1e-15);
    genbo_trial_list_free(b);
    free(X);
    genbo_study_close(s);
    genbo_config_free(c);
}
