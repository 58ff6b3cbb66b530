/* test_dashboard.c - the dashboard's JSON documents equal the database.
 *
 * A fixture database is created by the study store itself (so it always has
 * the current schema, migrations included) and filled with awkward values
 * that a real run would rarely produce: thirds, tiny and huge magnitudes,
 * NULLs, a "</script>" in text. A second test runs a tiny real study. The documents must carry every value
 * bit-for-bit (also after printing and parsing back), aggregate exactly as
 * SQLite does, refuse unknown studies, and the connection must be
 * read-only. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/dashboard_data.h"
#include "cli/dashboard_page.h"
#include "genbo.h"
#include "studies/store.h"
#include "study_fixture.h"

static const char *db_path = GENBO_BINARY_DIR "/test_dashboard_fixture.db";

static void exec(genbo__db *db, const char *sql) {
    int rc = genbo__db_exec(db, sql);
    cr_assert_eq(rc, GENBO__DB_OK, "%s: %s", sql, genbo__db_errmsg(db));
}

/* Two studies; "alpha" has 2 runs x 2 methods x 2 targets of metrics, a
 * design-loop round, reward samples and 5 trials (told, failed, asked). */
static void make_fixture(void) {
    fixture_remove_db(db_path);
    genbo__db *db = NULL;
    /* The store creates the file and applies every migration. */
    cr_assert_eq(genbo__store_open(db_path, 0, &db), GENBO_OK, "%s", genbo_errmsg());
    exec(db,
         "INSERT INTO studies VALUES (1, 'alpha', '[study]\nname = alpha\n# </script><b>', 8, "
         "1700000000.25);"
         "INSERT INTO studies VALUES (2, 'beta', '[study]', NULL, 1700000001);"
         "INSERT INTO runs VALUES (1, 1, 'run', 'cfg1', 11, '0.1.0', 'done', 100.5, 131.25, "
         "'rounds', NULL);"
         "INSERT INTO runs VALUES (2, 1, 'run', 'cfg2', 12, '0.1.0', 'failed', 200, NULL, "
         "'train', 'loss is nan');"
         "INSERT INTO targets VALUES (1, 'p90', 1.0/3), (1, 'max', 2.5), (2, 'p90', 0.4), "
         "(2, 'max', 2.75);"
         "INSERT INTO metrics(run_id, round, target_label, target, method, subopt, subopt_kind,"
         " mean_true, best_true, sd_true, mean_pred, support_distance, support_kind, diversity,"
         " n, n_failed) VALUES"
         " (1, 0, 'p90', 1.0/3, 'genbo', 1.0/3 - 0.3, 'true', 0.3, 0.9, 0.1, 0.31, 1e-300, "
         "'task', 2.0/3, 8, 0),"
         " (2, 0, 'p90', 0.4, 'genbo', 0.4 - 0.35, 'true', 0.35, 1.1, 0.2, 0.36, 0.125, "
         "'task', 0.7, 8, 1),"
         " (1, 0, 'max', 2.5, 'genbo', 0.5, 'true', 2.0, 2.9, 0.3, 2.1, 0.5, 'task', 1e300, 8, "
         "0),"
         " (1, 0, 'p90', 1.0/3, 'random', 1.0/3 + 0.1, 'true', -0.1, 0.2, 0.4, NULL, 0.01, "
         "'task', 3.0, 8, 0),"
         " (1, 1, 'max', 2.5, 'genbo', 0.25, 'predicted', NULL, NULL, NULL, 2.25, NULL, NULL, "
         "-0.0, 4, 0);"
         "INSERT INTO reward_samples VALUES (1, 'labelled', 0.1), (1, 'labelled', -1.0/7),"
         " (2, 'labelled', 12345.25), (1, 'pool', 0.5), (1, 'pool_true', 0.45);"
         "INSERT INTO trials(id, study_id, run_id, round, target, target_label, method, state,"
         " predicted, support_distance, reason, asked, finished) VALUES"
         " (1, 1, 1, 0, 1.0/3, 'p90', 'genbo', 'told', 0.3, 0.01, NULL, 101, 102),"
         " (2, 1, 1, 0, 1.0/3, 'p90', 'genbo', 'failed', 0.2, NULL, 'crash </script>', 101, "
         "103),"
         " (3, 1, NULL, NULL, 2.5, 'max', 'genbo', 'asked', 2.4, NULL, NULL, 300, NULL),"
         " (4, 1, 2, 0, 0.4, 'p90', 'random', 'told', NULL, NULL, NULL, 201, 202),"
         " (5, 2, NULL, NULL, 1, '1', 'genbo', 'told', 1, NULL, NULL, 400, 401);"
         "INSERT INTO observations VALUES (1, 0.1 + 0.2, 102), (4, -7e-5, 202), (5, 1, 401);");
    genbo__store_close(db);
}

static cJSON *study_doc(genbo_db *db, const char *name) {
    cJSON *doc = NULL;
    int rc = dashboard_study_json(db, name, &doc);
    cr_assert_eq(rc, GENBO_OK, "%s", genbo_errmsg());
    cr_assert_not_null(doc);
    return doc;
}

static double num(const cJSON *obj, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    cr_assert(cJSON_IsNumber(v), "key '%s' is not a number", key);
    return v->valuedouble;
}

static int is_null(const cJSON *obj, const char *key) {
    return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(obj, key));
}

static const char *str(const cJSON *obj, const char *key) {
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, key));
    cr_assert_not_null(s, "key '%s' is not a string", key);
    return s;
}

/* Every metrics row of the document equals its database row exactly. */
static void check_metrics_equal_db(genbo_db *gdb, const cJSON *doc, int n_rows) {
    genbo__db *db = genbo__db_connection(gdb);
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(doc, "metrics");
    cr_assert_eq(cJSON_GetArraySize(rows), n_rows);
    static const char *const cols[] = {"target", "subopt", "mean_true", "mean_pred",
                                       "support_distance", "diversity"};
    genbo__db_stmt *st = NULL;
    cr_assert_eq(genbo__db_prepare(db, "SELECT target, subopt, mean_true, mean_pred, "
                                    "support_distance, diversity, n FROM metrics WHERE run_id = ?1"
                                    " AND round = ?2 AND target_label = ?3 AND method = ?4", &st),
                 GENBO__DB_OK);
    const cJSON *row;
    cJSON_ArrayForEach(row, rows) {
        genbo__db_reset(st);
        genbo__db_bind_int64(st, 1, (int64_t)num(row, "run"));
        genbo__db_bind_int64(st, 2, (int64_t)num(row, "round"));
        genbo__db_bind_text(st, 3, str(row, "target_label"), -1, GENBO__DB_TRANSIENT);
        genbo__db_bind_text(st, 4, str(row, "method"), -1, GENBO__DB_TRANSIENT);
        cr_assert_eq(genbo__db_step(st), GENBO__DB_ROW);
        for (int i = 0; i < 6; i++) {
            if (genbo__db_column_type(st, i) == GENBO__DB_NULL) {
                cr_assert(is_null(row, cols[i]), "%s should be null", cols[i]);
            } else {
                double want = genbo__db_column_double(st, i), got = num(row, cols[i]);
                cr_assert(got == want, "%s: %.17g != %.17g", cols[i], got, want);
                cr_assert_eq(signbit(got), signbit(want), "%s: sign of zero lost", cols[i]);
            }
        }
        cr_assert_eq(num(row, "n"), (double)genbo__db_column_int(st, 6));
    }
    genbo__db_finalize(st);
}

static genbo_db *open_fixture(void) {
    make_fixture();
    genbo_db *db = NULL;
    int rc = dashboard_db_open(db_path, &db);
    cr_assert_eq(rc, GENBO_OK, "%s", genbo_errmsg());
    return db;
}

Test(dashboard, study_document_equals_database_rows) {
    genbo_db *db = open_fixture();
    cJSON *doc = study_doc(db, "alpha");
    const cJSON *study = cJSON_GetObjectItemCaseSensitive(doc, "study");
    cr_assert_str_eq(str(study, "name"), "alpha");
    cr_assert_eq(num(study, "created"), 1700000000.25);
    cr_assert_eq(num(study, "dim"), 8);
    check_metrics_equal_db(db, doc, 5);

    /* runs: duration = ended - started, null while not ended */
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(doc, "runs");
    cr_assert_eq(cJSON_GetArraySize(runs), 2);
    cr_assert_eq(num(cJSON_GetArrayItem(runs, 0), "duration"), 131.25 - 100.5);
    cr_assert(is_null(cJSON_GetArrayItem(runs, 1), "duration"));
    cr_assert_str_eq(str(cJSON_GetArrayItem(runs, 1), "error"), "loss is nan");

    /* trials with their observations; only this study's */
    const cJSON *trials = cJSON_GetObjectItemCaseSensitive(doc, "trials");
    cr_assert_eq(cJSON_GetArraySize(trials), 4);
    cr_assert_eq(num(cJSON_GetArrayItem(trials, 0), "value"), 0.1 + 0.2);
    cr_assert_eq(num(cJSON_GetArrayItem(trials, 3), "value"), -7e-5);
    cr_assert(is_null(cJSON_GetArrayItem(trials, 1), "value"));
    cr_assert_str_eq(str(cJSON_GetArrayItem(trials, 1), "reason"), "crash </script>");
    cr_assert(is_null(cJSON_GetArrayItem(trials, 2), "round"));
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(doc, "counts");
    cr_assert_eq(num(counts, "trials"), 4);
    cr_assert_eq(num(counts, "told"), 2);
    cr_assert_eq(num(counts, "failed"), 1);
    cr_assert_eq(num(counts, "asked"), 1);
    cr_assert_eq(num(counts, "runs"), 2);
    cr_assert_eq(num(counts, "last_activity"), 300);

    /* reward samples pooled over the study's runs, in order */
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(doc, "reward_samples");
    const cJSON *lab = cJSON_GetObjectItemCaseSensitive(rs, "labelled");
    cr_assert_eq(cJSON_GetArraySize(lab), 3);
    cr_assert_eq(cJSON_GetArrayItem(lab, 1)->valuedouble, -1.0 / 7);
    cr_assert_eq(cJSON_GetArrayItem(lab, 2)->valuedouble, 12345.25);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(rs, "pool")), 1);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(rs, "pool_true")), 1);
    cJSON_Delete(doc);
    genbo_db_close(db);
}

Test(dashboard, summary_is_mean_min_max_over_runs_of_round_zero) {
    genbo_db *db = open_fixture();
    cJSON *doc = study_doc(db, "alpha");
    const cJSON *summary = cJSON_GetObjectItemCaseSensitive(doc, "summary");
    /* (genbo, max), (genbo, p90), (random, p90); round 1 is left out */
    cr_assert_eq(cJSON_GetArraySize(summary), 3);
    const cJSON *g90 = NULL, *row;
    cJSON_ArrayForEach(row, summary) {
        if (!strcmp(str(row, "method"), "genbo") && !strcmp(str(row, "target_label"), "p90"))
            g90 = row;
    }
    cr_assert_not_null(g90);
    double s1 = 1.0 / 3 - 0.3, s2 = 0.4 - 0.35;
    cr_assert_eq(num(g90, "runs"), 2);
    cr_assert_float_eq(num(g90, "subopt"), (s1 + s2) / 2, 1e-15);
    cr_assert_eq(num(g90, "subopt_min"), fmin(s1, s2));
    cr_assert_eq(num(g90, "subopt_max"), fmax(s1, s2));
    cr_assert_eq(num(g90, "subopt_n"), 2);
    cr_assert_float_eq(num(g90, "target"), (1.0 / 3 + 0.4) / 2, 1e-15);
    cr_assert_float_eq(num(g90, "support_distance_min"), 1e-300, 1e-310);
    cr_assert_eq(num(g90, "n"), 16);
    cr_assert_eq(num(g90, "n_failed"), 1);
    cr_assert_str_eq(str(g90, "subopt_kind"), "true");
    /* exactly SQLite's own avg() */
    genbo__db_stmt *st = NULL;
    genbo__db_prepare(genbo__db_connection(db), "SELECT avg(subopt), avg(diversity), min(support_distance) FROM metrics"
                       " WHERE round = 0 AND method = 'genbo' AND target_label = 'p90'", &st);
    cr_assert_eq(genbo__db_step(st), GENBO__DB_ROW);
    cr_assert_eq(num(g90, "subopt"), genbo__db_column_double(st, 0));
    cr_assert_eq(num(g90, "diversity"), genbo__db_column_double(st, 1));
    /* bit for bit what SQLite stored for the literal 1e-300 (under valgrind,
     * whose long double is a double, SQLite parses it a few ulps off) */
    cr_assert_eq(num(g90, "support_distance_min"), genbo__db_column_double(st, 2));
    genbo__db_finalize(st);
    cJSON_Delete(doc);
    genbo_db_close(db);
}

Test(dashboard, printed_json_round_trips_and_cannot_close_a_script) {
    genbo_db *db = open_fixture();
    cJSON *doc = NULL;
    cr_assert_eq(dashboard_report_json(db, "fixture.db", NULL, &doc), GENBO_OK, "%s",
                 genbo_errmsg());
    char *text = dashboard_json_print(doc);
    cr_assert_not_null(text);
    cr_assert_null(strchr(text, '<'), "a '<' would let </script> end the page's data");
    cJSON *back = cJSON_Parse(text);
    cr_assert_not_null(back);
    const cJSON *docs = cJSON_GetObjectItemCaseSensitive(back, "docs");
    cr_assert_eq(cJSON_GetArraySize(docs), 2);
    const cJSON *alpha = cJSON_GetObjectItemCaseSensitive(docs, "alpha");
    check_metrics_equal_db(db, alpha, 5);
    const cJSON *study = cJSON_GetObjectItemCaseSensitive(alpha, "study");
    cr_assert_str_eq(str(study, "config"), "[study]\nname = alpha\n# </script><b>");
    cr_assert(cJSON_Compare(doc, back, 1), "print/parse changed the document");

    /* The page: the document sits in the data slot, the rest is the template. */
    size_t len = 0;
    char *page = dashboard_page_render(text, &len);
    cr_assert_not_null(page);
    cr_assert_eq(len, strlen(page));
    cr_assert_eq(len, dashboard_template_len - 4 + strlen(text));
    cr_assert_not_null(strstr(page, text));
    cr_assert_null(strstr(page, "type=\"application/json\">null</script>"));
    char *live = dashboard_page_render(NULL, &len);
    cr_assert_str_eq(live, dashboard_template);
    free(live);
    free(page);
    free(text);
    cJSON_Delete(back);
    cJSON_Delete(doc);
    genbo_db_close(db);
}

Test(dashboard, report_can_be_limited_to_one_study) {
    genbo_db *db = open_fixture();
    cJSON *doc = NULL;
    cr_assert_eq(dashboard_report_json(db, "x", "beta", &doc), GENBO_OK);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "studies")), 1);
    const cJSON *beta =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "docs"), "beta");
    cr_assert_not_null(beta);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(beta, "trials")), 1);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(beta, "metrics")), 0);
    cJSON_Delete(doc);

    cJSON *list = NULL;
    cr_assert_eq(dashboard_studies_json(db, &list), GENBO_OK);
    const cJSON *studies = cJSON_GetObjectItemCaseSensitive(list, "studies");
    cr_assert_eq(cJSON_GetArraySize(studies), 2);
    const cJSON *a = cJSON_GetArrayItem(studies, 0);
    cr_assert_str_eq(str(a, "name"), "alpha");
    cr_assert_eq(num(a, "trials"), 4);
    cr_assert_eq(num(a, "failed"), 1);
    cr_assert_eq(num(a, "runs"), 2);
    cJSON_Delete(list);
    genbo_db_close(db);
}

Test(dashboard, data_version_changes_when_another_connection_commits) {
    genbo_db *db = open_fixture();
    long long v0 = -1, v1 = -1, v2 = -1;
    cr_assert_eq(dashboard_data_version(db, &v0), GENBO_OK);
    cJSON *doc = study_doc(db, "alpha");
    cr_assert_eq(num(doc, "data_version"), (double)v0);
    cJSON_Delete(doc);
    cr_assert_eq(dashboard_data_version(db, &v1), GENBO_OK);
    cr_assert_eq(v1, v0, "reading must not change the version");
    genbo__db *writer = NULL;
    cr_assert_eq(genbo__db_connect(db_path, 0, 0, &writer), GENBO_OK);
    exec(writer, "INSERT INTO observations VALUES (3, 2.5, 500)");
    genbo__db_close(writer);
    cr_assert_eq(dashboard_data_version(db, &v2), GENBO_OK);
    cr_assert_neq(v2, v1);
    doc = study_doc(db, "alpha");
    cr_assert_eq(num(doc, "data_version"), (double)v2);
    cr_assert_eq(num(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "trials"), 2), "value"),
                 2.5);
    cJSON_Delete(doc);
    genbo_db_close(db);
}

/* The page orders methods by the library's own list, carried by every
 * study document (it keeps no copy of the names). */
Test(dashboard, documents_carry_the_librarys_method_list) {
    genbo_db *db = open_fixture();
    cJSON *doc = study_doc(db, "beta");
    const cJSON *methods = cJSON_GetObjectItemCaseSensitive(doc, "methods");
    cr_assert(cJSON_IsArray(methods));
    int n = 0;
    while (genbo_method_name(n)) n++;
    cr_assert_gt(n, 5);
    cr_assert_eq(cJSON_GetArraySize(methods), n);
    for (int i = 0; i < n; i++)
        cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(methods, i)), genbo_method_name(i));
    cJSON_Delete(doc);
    genbo_db_close(db);
}

Test(dashboard, unknown_study_is_an_error_naming_it) {
    genbo_db *db = open_fixture();
    cJSON *doc = (cJSON *)1;
    cr_assert_eq(dashboard_study_json(db, "gamma", &doc), GENBO_ENOTFOUND);
    cr_assert_null(doc);
    cr_assert_str_eq(genbo_errmsg(), "unknown study 'gamma'");
    cr_assert_eq(dashboard_report_json(db, "x", "gamma", &doc), GENBO_ENOTFOUND);
    cr_assert_null(doc);
    cr_assert_eq(dashboard_study_json(db, "", &doc), GENBO_EINVAL);
    /* the connection is still usable after the failed transactions */
    doc = study_doc(db, "beta");
    cJSON_Delete(doc);
    genbo_db_close(db);
}

Test(dashboard, connection_is_read_only_and_checks_the_schema) {
    genbo_db *db = open_fixture();
    cr_assert_neq(genbo__db_exec(genbo__db_connection(db), "DELETE FROM trials"), GENBO__DB_OK);
    genbo_db_close(db);

    genbo_db *bad = (genbo_db *)1;
    cr_assert_eq(dashboard_db_open(GENBO_BINARY_DIR "/no/such/dir/x.db", &bad), GENBO_EIO);
    cr_assert_null(bad);
    cr_assert(strstr(genbo_errmsg(), "no/such/dir/x.db") != NULL, "%s", genbo_errmsg());

    const char *other = GENBO_BINARY_DIR "/test_dashboard_other.db";
    remove(other);
    genbo__db *o = NULL;
    genbo__db_connect(other, 0, 1, &o);
    exec(o, "CREATE TABLE t(x)");
    genbo__db_close(o);
    cr_assert_eq(dashboard_db_open(other, &bad), GENBO_EFORMAT);
    cr_assert_null(bad);
    cr_assert(strstr(genbo_errmsg(), "not a genbo study database") != NULL, "%s",
              genbo_errmsg());
    remove(other);
}

static long long count(genbo__db *db, const char *sql) {
    genbo__db_stmt *st = NULL;
    cr_assert_eq(genbo__db_prepare(db, sql, &st), GENBO__DB_OK, "%s", sql);
    cr_assert_eq(genbo__db_step(st), GENBO__DB_ROW);
    long long n = genbo__db_column_int64(st, 0);
    genbo__db_finalize(st);
    return n;
}

/* A real `genbo run` of a tiny study (seconds): every metrics row, trial and
 * reward sample of the database is in the document, with the values of the
 * database, and the summary has one row per (method, target) of round 0. */
Test(dashboard, a_real_run_is_carried_row_for_row, .timeout = 120) {
    fixture_make_dir();
    fixture_write("tiny.ini", TINY_STUDY);
    FIXTURE_PATH(ini, "tiny.ini");
    FIXTURE_PATH(path, "tiny.db");
    genbo_config *cfg = NULL;
    genbo_study *s = NULL;
    cr_assert_eq(genbo_config_load(ini, &cfg), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_open(path, "tiny", cfg, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s",
                 genbo_errmsg());
    cr_assert_eq(genbo_study_run(s, NULL, NULL), GENBO_OK, "%s", genbo_errmsg());
    genbo_study_close(s);
    genbo_config_free(cfg);

    genbo_db *gdb = NULL;
    cr_assert_eq(dashboard_db_open(path, &gdb), GENBO_OK, "%s", genbo_errmsg());
    genbo__db *db = genbo__db_connection(gdb);
    cJSON *doc = study_doc(gdb, "tiny");
    long long n_metrics = count(db, "SELECT count(*) FROM metrics");
    /* 2 targets x 4 methods in round 0, then 2 design-loop rounds */
    cr_assert_eq(n_metrics, 2 * 4 + 2);
    check_metrics_equal_db(gdb, doc, (int)n_metrics);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "summary")),
                 count(db, "SELECT count(*) FROM (SELECT DISTINCT method, target_label FROM metrics"
                           " WHERE round = 0)"));
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "trials")),
                 count(db, "SELECT count(*) FROM trials"));
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(doc, "counts");
    cr_assert_eq(num(counts, "told"), (double)count(db, "SELECT count(*) FROM observations"));
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(doc, "reward_samples");
    static const char *const kinds[] = {"labelled", "pool", "pool_true"};
    for (int i = 0; i < 3; i++) {
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM reward_samples WHERE kind = '%s'", kinds[i]);
        long long want = count(db, sql);
        cr_assert_gt(want, 0, "%s: the run stored no samples", kinds[i]);
        cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(rs, kinds[i])), want,
                     "%s", kinds[i]);
    }
    /* the first run's targets, as resolved by the run */
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "targets")),
                 count(db, "SELECT count(*) FROM targets"));
    cJSON_Delete(doc);
    genbo_db_close(gdb);
    static const char *const files[] = {"tiny.ini", "tiny.db", "tiny.db-wal", "tiny.db-shm"};
    for (int i = 0; i < 4; i++) remove(fixture_path(files[i]));
    remove(fixture_dir);
}
