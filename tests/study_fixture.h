/* study_fixture.h - a tiny synthetic study (seconds to train) shared by the
 * studies tests. */
#ifndef GENBO_TEST_STUDY_FIXTURE_H
#define GENBO_TEST_STUDY_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <sys/wait.h>

#include "genbo.h"

/* Remove an SQLite database file with its -wal and -shm companions (a
 * fixture database built afresh by each test program). */
static inline void fixture_remove_db(const char *db_path) {
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s%s", db_path, suffixes[i]);
        remove(p);
    }
}

/* The first column of the first row of sql, through a separate read-only
 * connection (the test's own view of what genbo stored): as an integer,
 * or as a number (NaN for NULL). The query must return a row. */
static inline sqlite3_stmt *fixture_db_row(const char *db_path, const char *sql, sqlite3 **db) {
    cr_assert_eq(sqlite3_open_v2(db_path, db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(*db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(*db));
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
    return st;
}
static inline long long fixture_db_int(const char *db_path, const char *sql) {
    sqlite3 *db;
    sqlite3_stmt *st = fixture_db_row(db_path, sql, &db);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}
static inline double fixture_db_double(const char *db_path, const char *sql) {
    sqlite3 *db;
    sqlite3_stmt *st = fixture_db_row(db_path, sql, &db);
    double v = sqlite3_column_type(st, 0) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* The genbo program under test (ctest sets GENBO_CLI). Criterion tests only. */
static inline const char *cli(void) {
    const char *p = getenv("GENBO_CLI");
    cr_assert_not_null(p, "GENBO_CLI must name the genbo program");
    return p;
}

/* Run a shell command line; return its exit status (128 + n for signal n). */
static inline int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int sh(const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* D = 8 on a 2-dimensional subspace, a small network, few steps. */
static const char *const TINY_STUDY =
    "[study]\nname = tiny\nseed = 3\n"
    "[data]\nD = 8\nd = 2\nn_label = 100\nn_unlabel = 2000\n"
    "[diffusion]\nwidth = 32\ndepth = 1\nt_embed = 16\ny_embed = 16\nsteps = 200\nbatch = 128\n"
    "[generate]\ntargets = p50, p90\nn = 16\nsteps = 30\n"
    "methods = genbo, unguided, surrogate_ascent, random\n"
    "[loop]\nrounds = 2\nbatch = 4\n"
    "[ask]\nsteps = 10\n";

static char fixture_dir[64];

static inline void fixture_make_dir(void) {
    snprintf(fixture_dir, sizeof fixture_dir, "/tmp/genbo_test_study_XXXXXX");
    if (!mkdtemp(fixture_dir)) abort();
}

static inline const char *fixture_path(const char *name) {
    static char path[8][160];
    static int k = 0;
    k = (k + 1) % 8; /* short-lived: FIXTURE_PATH for long-lived ones */
    snprintf(path[k], sizeof path[k], "%s/%s", fixture_dir, name);
    return path[k];
}

/* A path in the fixture directory that lives as long as the test. */
#define FIXTURE_PATH(var, name) \
    char var[160];              \
    snprintf(var, sizeof var, "%s/%s", fixture_dir, name)

static inline void fixture_write(const char *name, const char *text) {
    FILE *f = fopen(fixture_path(name), "w");
    if (!f) abort();
    fputs(text, f);
    fclose(f);
}

#endif
