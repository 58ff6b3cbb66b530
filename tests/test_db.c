/* test_db.c - the storage interface (studies/db.h) on SQLite, with what
 * does not need a server: password masking, every type through bind and
 * column, genbo copy file -> file row for row (ids kept, and renumbered
 * when the destination has them), stale trials and heartbeats. The same
 * checks on PostgreSQL: tests/test_pg_storage.c. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "db_checks.h"
#include "db_dump.h"
#include "genbo.h"
#include "studies/db.h"
#include "studies/store.h"
#include "study_fixture.h"

TestSuite(db, .init = fixture_make_dir, .timeout = 120);

static void mask_is(const char *in, const char *want) {
    char out[256];
    genbo__db_mask(in, out, sizeof out);
    cr_assert_str_eq(out, want, "mask(%s)", in);
}

Test(db, a_password_never_shows) {
    mask_is("postgresql://alice:s3cret@db.example:5432/genbo", "postgresql://alice:***@db.example:5432/genbo");
    mask_is("postgres://bob:p@ss@host/x", "postgres://bob:***@host/x");
    mask_is("postgresql://carol@host/db?password=pw&sslmode=require",
            "postgresql://carol@host/db?password=***&sslmode=require");
    mask_is("postgresql://host/db", "postgresql://host/db");
    mask_is("postgresql:///db?host=/tmp", "postgresql:///db?host=/tmp");
    /* a file name is only a file name, whatever it looks like */
    mask_is("/tmp/a:b@c.db", "/tmp/a:b@c.db");
    cr_assert(genbo__db_is_url("PostgreSQL://h/d") && genbo__db_is_url("postgres://h/d"));
    cr_assert(!genbo__db_is_url("postgresql.db") && !genbo__db_is_url("./postgres://x"));
    /* the stored study file never holds it */
    genbo_config *c = tiny_config();
    cr_assert_eq(genbo_config_set(c, "study", "db", "postgresql://alice:s3cret@h/db"), GENBO_OK);
    FIXTURE_PATH(path, "mask.db");
    genbo_study *s;
    cr_assert_eq(genbo_study_open(path, "tiny", c, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s", genbo_errmsg());
    genbo_study_close(s);
    genbo_config_free(c);
    genbo__db *db;
    cr_assert_eq(genbo__store_open(path, GENBO__STORE_READONLY, &db), GENBO_OK);
    genbo__db_stmt *st;
    cr_assert_eq(genbo__db_prepare(db, "SELECT config FROM studies", &st), GENBO__DB_OK);
    cr_assert_eq(genbo__db_step(st), GENBO__DB_ROW);
    const char *cfg = (const char *)genbo__db_column_text(st, 0);
    cr_assert(strstr(cfg, "db = postgresql://alice:***@h/db") && !strstr(cfg, "s3cret"), "%s", cfg);
    genbo__db_finalize(st);
    genbo__db_close(db);
}

Test(db, sqlite_statements_round_trip) {
    FIXTURE_PATH(path, "rt.db");
    genbo__db *db;
    cr_assert_eq(genbo__db_connect(path, 0, 1, &db), GENBO_OK, "%s", genbo_errmsg());
    cr_assert(!genbo__db_is_pg(db));
    check_round_trip(db);
    check_dialect(db);
    int64_t v = -1;
    cr_assert_eq(genbo__db_schema_version(db, &v), GENBO__DB_OK);
    cr_assert_eq(v, 0);
    genbo__db_close(db);
}

/* genbo copy's plan names every table of the schema (a new table must be
 * added there, or copies would silently drop it). */
Test(db, copy_covers_every_table) {
    FIXTURE_PATH(path, "plan.db");
    genbo__db *db;
    cr_assert_eq(genbo__store_open(path, GENBO__STORE_CREATE, &db), GENBO_OK, "%s", genbo_errmsg());
    const char *const *names;
    size_t n = genbo__copy_tables(&names);
    int64_t tables = 0;
    cr_assert_eq(genbo__db_table_count(db, &tables), GENBO__DB_OK);
    for (size_t i = 0; i < n; i++) cr_assert(genbo__db_has_table(db, names[i]), "%s", names[i]);
    /* + sqlite_sequence (AUTOINCREMENT) */
    cr_assert_eq((size_t)tables, n + 1, "%lld tables, the copy plan has %zu", (long long)tables, n);
    genbo__db_close(db);
}

static char *dump_of(const char *path, long *rows) {
    genbo__db *db;
    cr_assert_eq(genbo__store_open(path, GENBO__STORE_READONLY, &db), GENBO_OK, "%s", genbo_errmsg());
    char *d = dump_study(db, "tiny", NULL, rows);
    cr_assert_not_null(d, "%s", genbo__db_errmsg(db));
    genbo__db_close(db);
    return d;
}

Test(db, copy_file_to_file_keeps_every_row, .timeout = 240) {
    FIXTURE_PATH(a, "a.db");
    FIXTURE_PATH(b, "b.db");
    run_tiny(a);
    size_t copied = 0;
    cr_assert_eq(genbo_db_copy(a, b, "tiny", &copied), GENBO_OK, "%s", genbo_errmsg());
    long ra, rb;
    char *da = dump_of(a, &ra), *db_ = dump_of(b, &rb);
    cr_assert_gt(ra, 500, "a tiny study has hundreds of rows, got %ld", ra);
    cr_assert_eq((long)copied, ra);
    cr_assert_eq(rb, ra);
    cr_assert_str_eq(db_, da, "the copy differs from the original");
    free(db_);
    /* again: refused, the study exists there */
    cr_assert_eq(genbo_db_copy(a, b, "tiny", NULL), GENBO_ESTATE);
    cr_assert(strstr(genbo_errmsg(), "exists already"), "%s", genbo_errmsg());
    /* into a database whose ids are taken: renumbered, same rows otherwise */
    FIXTURE_PATH(c, "c.db");
    FIXTURE_PATH(ini, "other.ini");
    genbo_config *oc = tiny_config();
    cr_assert_eq(genbo_config_set(oc, "study", "name", "other"), GENBO_OK);
    genbo_study *s;
    cr_assert_eq(genbo_study_open(c, "other", oc, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s", genbo_errmsg());
    int64_t id;
    cr_assert_eq(ask_n(s, 1, &id), GENBO_OK, "%s", genbo_errmsg());
    genbo_study_close(s);
    genbo_config_free(oc);
    (void)ini;
    cr_assert_eq(genbo_db_copy(a, c, NULL, &copied), GENBO_OK, "%s", genbo_errmsg());
    static const char *const ids[] = {"id", "study_id", "run_id", "trial_id", NULL};
    genbo__db *x, *y;
    cr_assert_eq(genbo__store_open(a, GENBO__STORE_READONLY, &x), GENBO_OK);
    cr_assert_eq(genbo__store_open(c, GENBO__STORE_READONLY, &y), GENBO_OK);
    long r1, r2;
    char *d1 = dump_study(x, "tiny", ids, &r1), *d2 = dump_study(y, "tiny", ids, &r2);
    cr_assert_eq(r2, r1);
    cr_assert_str_eq(d2, d1);
    int64_t min_trial = 0;
    cr_assert_eq(genbo__store_int(y, "SELECT min(t.id) FROM trials t JOIN studies s ON s.id = t.study_id "
                                     "WHERE s.name = 'tiny'", 0, 0, &min_trial), GENBO_OK);
    cr_assert_gt(min_trial, id, "renumbered after the destination's own trial %lld", (long long)id);
    free(d1), free(d2), free(da);
    genbo__db_close(x);
    genbo__db_close(y);
}

/* Optuna's rule: an asked trial with no tell and no heartbeat for longer
 * than the timeout is failed with a reason; a heartbeat keeps it. */
Test(db, stale_trials_fail_and_heartbeats_keep_them) {
    FIXTURE_PATH(path, "stale.db");
    genbo_config *c = tiny_config();
    genbo_study *s;
    cr_assert_eq(genbo_study_open(path, "tiny", c, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s", genbo_errmsg());
    size_t n = 99;
    cr_assert_eq(genbo_study_fail_stale(s, 0, &n), GENBO_EINVAL, "no timeout anywhere: an error");
    int64_t ids[3];
    cr_assert_eq(ask_n(s, 3, ids), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_tell(s, ids[0], 1.0), GENBO_OK);
    cr_assert_eq(genbo_study_fail_stale(s, 30, &n), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(n, 0, "nothing is 30 s old yet");
    usleep(1300 * 1000);
    cr_assert_eq(genbo_study_heartbeat(s, ids[1]), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_fail_stale(s, 1.0, &n), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(n, 1, "only the trial without a heartbeat is stale");
    cr_assert_eq(genbo_study_tell(s, ids[2], 2.0), GENBO_ESTATE, "a stale trial cannot be told");
    cr_assert(strstr(genbo_errmsg(), "already failed"), "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_heartbeat(s, ids[2]), GENBO_ESTATE);
    cr_assert_eq(genbo_study_heartbeat(s, 999999), GENBO_ENOTFOUND);
    cr_assert_eq(genbo_study_tell(s, ids[1], 3.0), GENBO_OK, "the beating one is still open");
    genbo_study_close(s);
    genbo__db *db;
    cr_assert_eq(genbo__store_open(path, GENBO__STORE_READONLY, &db), GENBO_OK);
    genbo__db_stmt *st;
    cr_assert_eq(genbo__db_prepare(db, "SELECT state, reason FROM trials WHERE id = ?", &st), GENBO__DB_OK);
    genbo__db_bind_int64(st, 1, ids[2]);
    cr_assert_eq(genbo__db_step(st), GENBO__DB_ROW);
    cr_assert_str_eq((const char *)genbo__db_column_text(st, 0), "failed");
    cr_assert(strstr((const char *)genbo__db_column_text(st, 1), "stale"), "%s", genbo__db_column_text(st, 1));
    genbo__db_finalize(st);
    genbo__db_close(db);
    /* [ask] timeout: every ask fails the stale ones first */
    cr_assert_eq(genbo_config_set(c, "ask", "timeout", "1"), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_open(path, "tiny", c, 0, &s), GENBO_OK, "%s", genbo_errmsg());
    int64_t more[2];
    cr_assert_eq(ask_n(s, 2, more), GENBO_OK, "%s", genbo_errmsg());
    usleep(1300 * 1000);
    int64_t last;
    cr_assert_eq(ask_n(s, 1, &last), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_tell(s, more[0], 1.0), GENBO_ESTATE, "failed by the ask after the timeout");
    cr_assert_eq(genbo_study_tell(s, last, 1.0), GENBO_OK, "%s", genbo_errmsg());
    genbo_study_close(s);
    genbo_config_free(c);
}
