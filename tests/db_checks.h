/* db_checks.h - checks of the storage interface (studies/db.h) that both
 * back ends must pass, run by tests/test_db.c on SQLite and by
 * tests/test_pg_storage.c on a PostgreSQL server. */
#ifndef GENBO_TEST_DB_CHECKS_H
#define GENBO_TEST_DB_CHECKS_H

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "genbo.h"
#include "studies/db.h"
#include "studies/store.h"
#include "study_fixture.h"

/* The tiny study both back ends run (study_fixture.h's TINY_STUDY). */
static inline genbo_config *tiny_config(void) {
    fixture_write("tiny.ini", TINY_STUDY);
    genbo_config *c;
    cr_assert_eq(genbo_config_load(fixture_path("tiny.ini"), &c), GENBO_OK, "%s", genbo_errmsg());
    return c;
}

/* n designs at an absolute target (the first ask trains the models). */
static inline int ask_n(genbo_study *s, size_t n, int64_t *ids) {
    double X[8 * 8];
    return genbo_study_ask(s, 1.0, n, ids, X);
}

/* The tiny study run once, then one trial told, one failed and one left
 * asked: every kind of trial row, for the comparisons of both back ends. */
static inline void run_tiny(const char *db) {
    genbo_config *c = tiny_config();
    genbo_study *s;
    cr_assert_eq(genbo_study_open(db, "tiny", c, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_run(s, NULL, NULL), GENBO_OK, "%s", genbo_errmsg());
    int64_t ids[3];
    cr_assert_eq(ask_n(s, 3, ids), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_tell(s, ids[0], 0.25), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_tell_failed(s, ids[1], "crashed"), GENBO_OK, "%s", genbo_errmsg());
    genbo_study_close(s); /* ids[2] stays asked */
    genbo_config_free(c);
}

/* Every type through bind and column, exactly: 64-bit integers, doubles
 * that need 17 digits, text with quotes and '?', blobs with zero bytes,
 * NULL; RETURNING id; changes; ?N placeholders; rollback. */
static inline void check_round_trip(genbo__db *db) {
    cr_assert_eq(genbo__db_exec_ddl(db, "CREATE TABLE rt (id INTEGER PRIMARY KEY, i INTEGER, r REAL, "
                                        "s TEXT, b BLOB)"), GENBO__DB_OK, "%s", genbo__db_errmsg(db));
    static const unsigned char blob[6] = {0, 1, 0, 255, 0x5c, 'x'};
    const double vals[3] = {0.1 + 0.2, -1e-300, 123456789.123456789};
    genbo__db_stmt *st;
    cr_assert_eq(genbo__db_prepare(db, "INSERT INTO rt (i, r, s, b) VALUES (?, ?, ?, ?) RETURNING id", &st),
                 GENBO__DB_OK, "%s", genbo__db_errmsg(db));
    int64_t ids[3];
    for (int k = 0; k < 3; k++) {
        genbo__db_bind_int64(st, 1, k == 0 ? INT64_MAX : -(int64_t)k);
        genbo__db_bind_double(st, 2, vals[k]);
        if (k == 2) genbo__db_bind_null(st, 3);
        else genbo__db_bind_text(st, 3, k ? "it's a ?1 ?" : "", -1, GENBO__DB_TRANSIENT);
        genbo__db_bind_blob(st, 4, blob, k == 1 ? 0 : sizeof blob, GENBO__DB_STATIC);
        cr_assert_eq(genbo__db_step(st), GENBO__DB_ROW, "%s", genbo__db_errmsg(db));
        ids[k] = genbo__db_column_int64(st, 0);
        genbo__db_reset(st);
        genbo__db_clear_bindings(st);
    }
    genbo__db_finalize(st);
    cr_assert(ids[0] > 0 && ids[1] == ids[0] + 1 && ids[2] == ids[1] + 1);

    cr_assert_eq(genbo__db_prepare(db, "SELECT id, i, r, s, b, i IS NULL FROM rt WHERE id >= ?1 AND ?1 > 0 "
                                       "ORDER BY id", &st), GENBO__DB_OK, "%s", genbo__db_errmsg(db));
    genbo__db_bind_int64(st, 1, ids[0]);
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(genbo__db_step(st), GENBO__DB_ROW, "%s", genbo__db_errmsg(db));
        cr_assert_eq(genbo__db_column_count(st), 6);
        cr_assert_str_eq(genbo__db_column_name(st, 3), "s");
        cr_assert_eq(genbo__db_column_int64(st, 0), ids[k]);
        cr_assert_eq(genbo__db_column_type(st, 1), GENBO__DB_INTEGER);
        cr_assert_eq(genbo__db_column_int64(st, 1), k == 0 ? INT64_MAX : -(int64_t)k);
        cr_assert_eq(genbo__db_column_type(st, 2), GENBO__DB_FLOAT);
        cr_assert_eq(genbo__db_column_double(st, 2), vals[k], "%.17g", genbo__db_column_double(st, 2));
        if (k == 2) {
            cr_assert_eq(genbo__db_column_type(st, 3), GENBO__DB_NULL);
            cr_assert_null(genbo__db_column_text(st, 3));
        } else {
            cr_assert_eq(genbo__db_column_type(st, 3), GENBO__DB_TEXT);
            cr_assert_str_eq((const char *)genbo__db_column_text(st, 3), k ? "it's a ?1 ?" : "");
        }
        int n = genbo__db_column_bytes(st, 4);
        cr_assert_eq(n, k == 1 ? 0 : (int)sizeof blob);
        if (n) cr_assert_eq(memcmp(genbo__db_column_blob(st, 4), blob, sizeof blob), 0);
        cr_assert_eq(genbo__db_column_int(st, 5), 0);
    }
    cr_assert_eq(genbo__db_step(st), GENBO__DB_DONE);
    genbo__db_finalize(st);

    /* changes, and a rolled-back write leaves nothing */
    cr_assert_eq(genbo__db_begin_write(db), GENBO__DB_OK, "%s", genbo__db_errmsg(db));
    cr_assert(genbo__db_in_txn(db));
    cr_assert_eq(genbo__db_exec(db, "UPDATE rt SET i = 7 WHERE i < 0"), GENBO__DB_OK);
    cr_assert_eq(genbo__db_changes(db), 2);
    cr_assert_eq(genbo__db_rollback(db), GENBO__DB_OK);
    cr_assert(!genbo__db_in_txn(db));
    int64_t n7 = -1;
    cr_assert_eq(genbo__store_int(db, "SELECT count(*) FROM rt WHERE i = 7", 0, -1, &n7), GENBO_OK);
    cr_assert_eq(n7, 0);
    /* an error names the problem and leaves the connection usable */
    cr_assert_neq(genbo__db_prepare(db, "SELECT nosuchcolumn FROM rt", &st) == GENBO__DB_OK &&
                      genbo__db_step(st) == GENBO__DB_ROW, 1);
    genbo__db_finalize(st);
    cr_assert(strstr(genbo__db_errmsg(db), "nosuchcolumn"), "%s", genbo__db_errmsg(db));
    cr_assert_eq(genbo__store_int(db, "SELECT count(*) FROM rt", 0, -1, &n7), GENBO_OK);
    cr_assert_eq(n7, 3);
    cr_assert(genbo__db_has_table(db, "rt"));
    cr_assert(!genbo__db_has_table(db, "nosuchtable"));
}

/* INSERT OR REPLACE / OR IGNORE and `IS ?` mean the same on both. */
static inline void check_dialect(genbo__db *db) {
    cr_assert_eq(genbo__db_exec_ddl(db, "CREATE TABLE targets_like (run_id INTEGER, label TEXT, v REAL, "
                                        "PRIMARY KEY (run_id, label))"), GENBO__DB_OK, "%s", genbo__db_errmsg(db));
    cr_assert_eq(genbo__db_exec(db, "INSERT INTO targets_like VALUES (1, 'a', 1.5)"), GENBO__DB_OK);
    genbo__db_stmt *st;
    cr_assert_eq(genbo__db_prepare(db, "SELECT count(*) FROM targets_like WHERE label IS ? AND v IS ?", &st),
                 GENBO__DB_OK, "%s", genbo__db_errmsg(db));
    genbo__db_bind_text(st, 1, "a", -1, GENBO__DB_STATIC);
    genbo__db_bind_double(st, 2, 1.5);
    cr_assert_eq(genbo__db_step(st), GENBO__DB_ROW, "%s", genbo__db_errmsg(db));
    cr_assert_eq(genbo__db_column_int64(st, 0), 1);
    genbo__db_finalize(st);
}

#endif
