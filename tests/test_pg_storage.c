/* test_pg_storage.c - the PostgreSQL back end of studies/db.h against a
 * real server this program starts (tests/pg_fixture.h): every type through
 * bind and column, the same study run on SQLite and on PostgreSQL holds the
 * same rows, genbo copy SQLite -> PostgreSQL -> SQLite keeps every row
 * exactly, the run lock across two connections (and its release when a
 * connection ends), stale trials, no password in any message. */
#include "pg_fixture.h"

#include <math.h>
#include <unistd.h>

#include "db_checks.h"
#include "db_dump.h"
#include "genbo.h"
#include "studies/study.h"
#include "study_fixture.h"

TestSuite(pg_storage, .init = fixture_make_dir, .timeout = 300);

Test(pg_storage, statements_round_trip) {
    const char *url = pg_db("rt");
    genbo__db *db;
    cr_assert_eq(genbo__db_connect(url, 0, 0, &db), GENBO_OK, "%s", genbo_errmsg());
    cr_assert(genbo__db_is_pg(db));
    check_round_trip(db);
    check_dialect(db);
    genbo__db_close(db);
}

Test(pg_storage, schema_version_and_every_table) {
    const char *url = pg_db("schema");
    genbo__db *db;
    cr_assert_eq(genbo__store_open(url, GENBO__STORE_CREATE, &db), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(pg_int("schema", "SELECT version FROM genbo_schema_version"), genbo__n_migrations);
    const char *const *names;
    size_t n = genbo__copy_tables(&names);
    for (size_t i = 0; i < n; i++) cr_assert(genbo__db_has_table(db, names[i]), "%s", names[i]);
    int64_t tables = 0;
    cr_assert_eq(genbo__db_table_count(db, &tables), GENBO__DB_OK);
    cr_assert_eq((size_t)tables, n + 1, "+ genbo_schema_version");
    /* the types of the mapping */
    cr_assert_eq(pg_int("schema", "SELECT count(*) FROM information_schema.columns WHERE table_name = 'trials' "
                                  "AND column_name = 'x' AND data_type = 'bytea'"), 1);
    cr_assert_eq(pg_int("schema", "SELECT count(*) FROM information_schema.columns WHERE table_name = 'trials' "
                                  "AND column_name = 'id' AND data_type = 'bigint' AND column_default LIKE 'nextval%%'"), 1);
    genbo__db_close(db);
    /* opening again migrates nothing and keeps the version */
    cr_assert_eq(genbo__store_open(url, GENBO__STORE_CREATE, &db), GENBO_OK, "%s", genbo_errmsg());
    genbo__db_close(db);
    cr_assert_eq(pg_int("schema", "SELECT count(*) FROM genbo_schema_version"), 1);
}

Test(pg_storage, no_password_in_messages) {
    char url[256];
    snprintf(url, sizeof url, "postgresql://genbo:topsecret42@127.0.0.1:%d/no_such_database", pg_port());
    genbo_study *s = NULL;
    cr_assert_neq(genbo_study_open(url, "tiny", NULL, 0, &s), GENBO_OK);
    cr_assert_null(s);
    cr_assert(strstr(genbo_errmsg(), "genbo:***@127.0.0.1") && !strstr(genbo_errmsg(), "topsecret42"), "%s",
              genbo_errmsg());
}

static char *dump_of(const char *target, const char *const *skip, long *rows) {
    genbo__db *db;
    cr_assert_eq(genbo__store_open(target, GENBO__STORE_READONLY, &db), GENBO_OK, "%s", genbo_errmsg());
    char *d = dump_study(db, "tiny", skip, rows);
    cr_assert_not_null(d, "%s", genbo__db_errmsg(db));
    genbo__db_close(db);
    return d;
}

/* The same study (same seed) on both back ends: the same rows, value for
 * value (doubles to the last bit, models byte for byte), apart from the
 * clock: timestamps and durations. */
Test(pg_storage, both_back_ends_hold_the_same_rows) {
    FIXTURE_PATH(file, "same.db");
    const char *url = pg_db("same");
    run_tiny(file);
    run_tiny(url);
    static const char *const clock[] = {"created", "started", "ended", "seconds", "finished", "asked",
                                        "time", "heartbeat", NULL};
    long rl, rp;
    char *dl = dump_of(file, clock, &rl), *dp = dump_of(url, clock, &rp);
    cr_assert_gt(rl, 500, "%ld rows", rl);
    cr_assert_eq(rp, rl);
    cr_assert_str_eq(dp, dl, "SQLite and PostgreSQL differ");
    free(dl), free(dp);
}

Test(pg_storage, copy_both_ways_keeps_every_row) {
    FIXTURE_PATH(a, "a.db");
    FIXTURE_PATH(back, "back.db");
    const char *url = pg_db("copy");
    run_tiny(a);
    size_t n1 = 0, n2 = 0;
    cr_assert_eq(genbo_db_copy(a, url, NULL, &n1), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_db_copy(url, back, "tiny", &n2), GENBO_OK, "%s", genbo_errmsg());
    long ra, rp, rb;
    char *da = dump_of(a, NULL, &ra), *dp = dump_of(url, NULL, &rp), *db_ = dump_of(back, NULL, &rb);
    cr_assert_eq((long)n1, ra);
    cr_assert_eq((long)n2, ra);
    cr_assert_str_eq(dp, da, "SQLite -> PostgreSQL changed rows");
    cr_assert_str_eq(db_, da, "PostgreSQL -> SQLite changed rows");
    free(da), free(dp), free(db_);
    /* the copy is a working study: its open trial can be told, new trials
     * get new ids after the copied ones */
    genbo_study *s;
    cr_assert_eq(genbo_study_open(url, "tiny", NULL, 0, &s), GENBO_OK, "%s", genbo_errmsg());
    long long open_id = pg_int("copy", "SELECT min(id) FROM trials WHERE state = 'asked'");
    long long max_id = pg_int("copy", "SELECT max(id) FROM trials");
    cr_assert_eq(genbo_study_tell(s, open_id, 0.5), GENBO_OK, "%s", genbo_errmsg());
    int64_t id;
    cr_assert_eq(ask_n(s, 1, &id), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(id, max_id + 1);
    genbo_study_close(s);
}

/* One genbo run per study: the advisory lock of one connection refuses a
 * second, and the server drops it when the connection ends. */
Test(pg_storage, run_lock_is_an_advisory_lock) {
    const char *url = pg_db("lock");
    genbo_config *c = tiny_config();
    genbo_study *a, *b;
    cr_assert_eq(genbo_study_open(url, "tiny", c, GENBO_OPEN_CREATE, &a), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_open(url, "tiny", NULL, 0, &b), GENBO_OK, "%s", genbo_errmsg());
    int la, lb;
    cr_assert_eq(genbo__run_lock(a, &la), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo__run_lock(b, &lb), GENBO_ESTATE);
    cr_assert(strstr(genbo_errmsg(), "being run by another process"), "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_delete(url, "tiny"), GENBO_ESTATE, "no delete under a run");
    genbo_study_close(a); /* the connection ends: the lock goes with it */
    /* (the server's backend ends a moment after the socket closes) */
    int rc = GENBO_ESTATE;
    for (int i = 0; i < 100 && rc == GENBO_ESTATE; i++) {
        rc = genbo__run_lock(b, &lb);
        if (rc) usleep(20000);
    }
    cr_assert_eq(rc, GENBO_OK, "%s", genbo_errmsg());
    genbo__run_unlock(b, lb);
    genbo_study_close(b);
    cr_assert_eq(genbo_study_delete(url, "tiny"), GENBO_OK, "%s", genbo_errmsg());
    genbo_config_free(c);
}

Test(pg_storage, stale_trials_fail) {
    const char *url = pg_db("stale");
    genbo_config *c = tiny_config();
    genbo_study *s;
    cr_assert_eq(genbo_study_open(url, "tiny", c, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s", genbo_errmsg());
    int64_t ids[4];
    cr_assert_eq(ask_n(s, 4, ids), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_tell(s, ids[0], 1.0), GENBO_OK);
    /* two workers went quiet 100 s ago, one of them beat 10 s ago */
    pg_int("stale", "WITH u AS (UPDATE trials SET asked = asked - 100 WHERE id IN (%lld, %lld, %lld) RETURNING 1) "
                    "SELECT count(*) FROM u", (long long)ids[1], (long long)ids[2], (long long)ids[0]);
    pg_int("stale", "WITH u AS (UPDATE trials SET heartbeat = asked + 90 WHERE id = %lld RETURNING 1) "
                    "SELECT count(*) FROM u", (long long)ids[2]);
    size_t n = 0;
    cr_assert_eq(genbo_study_fail_stale(s, 50, &n), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(n, 1);
    cr_assert_eq(pg_int("stale", "SELECT count(*) FROM trials WHERE state = 'failed' AND reason LIKE 'stale:%%' "
                                 "AND id = %lld", (long long)ids[1]), 1);
    cr_assert_eq(genbo_study_tell(s, ids[2], 2.0), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_tell(s, ids[3], 3.0), GENBO_OK, "%s", genbo_errmsg());
    genbo_study_close(s);
    genbo_config_free(c);
}

PG_TEST_MAIN()
