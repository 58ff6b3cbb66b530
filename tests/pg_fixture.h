/* pg_fixture.h - one throw-away PostgreSQL server per Criterion test program
 * (issue 13). Include it in ONE tests/test_pg_*.c and end that file with
 * PG_TEST_MAIN(): its main() starts the server (tests/pg_server.sh: initdb in
 * a temporary directory, pg_ctl start on a free port of 127.0.0.1) before
 * Criterion runs any test, and stops and removes it afterwards, also when
 * tests fail or crash (they run in child processes) and on SIGINT/SIGTERM;
 * a program killed outright leaves a directory that the next start sweeps.
 * Without the server binaries main() prints why and exits 77, which ctest
 * reports as skipped (SKIP_RETURN_CODE in CMakeLists.txt), never as passed.
 *
 *   const char *url = pg_db("mytest");   // fresh database, its postgresql:// URL
 *   long long n = pg_int("mytest", "SELECT count(*) FROM trials");
 *   pg_sql_to_file("mytest", "SELECT id, value FROM ...", path);  // rows as a|b
 *   cr_assert_eq(pg_restart(), 0);        // pg_ctl restart, same port
 *
 * The test processes inherit GENBO_PG_DIR and GENBO_PG_URL (the server's
 * `genbo_test` database) from main(). */
#ifndef GENBO_TEST_PG_FIXTURE_H
#define GENBO_TEST_PG_FIXTURE_H

#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "genbo.h"

#define PG_SCRIPT GENBO_SOURCE_DIR "/tests/pg_server.sh"
#define PG_SKIP 77

/* The server's directory (GENBO_PG_DIR, set by main). */
static inline const char *pg_dir(void) {
    const char *d = getenv("GENBO_PG_DIR");
    cr_assert_not_null(d, "GENBO_PG_DIR unset: the test program must end with PG_TEST_MAIN()");
    return d;
}

static inline int pg_port(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/port", pg_dir());
    FILE *f = fopen(path, "r");
    int port = 0;
    if (f) {
        if (fscanf(f, "%d", &port) != 1) port = 0;
        fclose(f);
    }
    cr_assert_gt(port, 0, "no port in %s", path);
    return port;
}

/* The URL of database `name` on the server. */
static inline const char *pg_url_of(const char *name) {
    static char url[8][256];
    static int k = 0;
    k = (k + 1) % 8;
    snprintf(url[k], sizeof url[k], "postgresql://genbo@127.0.0.1:%d/%s", pg_port(), name);
    return url[k];
}

/* The shell command running sql on database db through pg_server.sh psql
 * (single quotes inside sql written '\'' for the shell), then `tail`. */
static inline void pg__psql_cmd(char *cmd, size_t cap, const char *db, const char *sql, const char *tail) {
    size_t n = (size_t)snprintf(cmd, cap, "sh %s psql %s '", PG_SCRIPT, pg_dir());
    for (const char *p = sql; *p && n + 8 < cap; p++) {
        if (*p == '\'') n += (size_t)snprintf(cmd + n, cap - n, "'\\''");
        else cmd[n++] = *p;
    }
    snprintf(cmd + n, cap - n, "' %s %s", db, tail);
}

/* Run SQL on database `db` through psql; the first line of the output in
 * out (may be NULL). Returns psql's exit status. */
static inline int pg_sql(const char *db, const char *sql, char *out, size_t cap) {
    char cmd[8192];
    pg__psql_cmd(cmd, sizeof cmd, db, sql, "");
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f, "popen %s", cmd);
    char line[4096] = "";
    if (!fgets(line, sizeof line, f)) line[0] = 0;
    char rest[4096];
    while (fgets(rest, sizeof rest, f)) {}
    int st = pclose(f);
    line[strcspn(line, "\n")] = 0;
    if (out) snprintf(out, cap, "%s", line);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Run SQL on database db; every row (columns separated by |) into the
 * file at path. Returns psql's exit status. */
static inline int pg_sql_to_file(const char *db, const char *sql, const char *path) {
    char cmd[8192], tail[600];
    snprintf(tail, sizeof tail, "> %s", path);
    pg__psql_cmd(cmd, sizeof cmd, db, sql, tail);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* One integer from a query on database db (the test fails on an error). */
static inline long long pg_int(const char *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline long long pg_int(const char *db, const char *fmt, ...) {
    char sql[4096], out[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    cr_assert_eq(pg_sql(db, sql, out, sizeof out), 0, "psql failed on %s", sql);
    char *end;
    long long v = strtoll(out, &end, 10);
    cr_assert(end != out, "'%s' answered '%s', not an integer", sql, out);
    return v;
}

/* A fresh, empty database `name` (dropped first if it exists); its URL. */
static inline const char *pg_db(const char *name) {
    char sql[512];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    cr_assert_eq(pg_sql("genbo_test", sql, NULL, 0), 0, "%s", sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    cr_assert_eq(pg_sql("genbo_test", sql, NULL, 0), 0, "%s", sql);
    return pg_url_of(name);
}

/* pg_ctl restart -m fast on the same port: every connection is cut. */
static inline int pg_restart(void) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sh %s restart %s", PG_SCRIPT, pg_dir());
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Study `name` of the study file `ini` created at url and trained by one
 * ask (at target 1) and its tell, so workers find its models. */
static inline void pg_train_study(const char *url, const char *ini, const char *name) {
    genbo_config *c;
    cr_assert_eq(genbo_config_load(ini, &c), GENBO_OK, "%s", genbo_errmsg());
    genbo_study *s;
    cr_assert_eq(genbo_study_open(url, name, c, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s", genbo_errmsg());
    int64_t id;
    double x[16];
    cr_assert_eq(genbo_study_ask(s, 1.0, 1, &id, x), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_tell(s, id, -1.0), GENBO_OK, "%s", genbo_errmsg());
    genbo_study_close(s);
    genbo_config_free(c);
}

/* ---- main: the server's life ------------------------------------------ */
static char pg__dir[512];
static pid_t pg__owner;

static void pg__stop(void) {
    if (!pg__dir[0] || getpid() != pg__owner) return; /* never from a test child */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sh %s stop %s", PG_SCRIPT, pg__dir);
    if (system(cmd) != 0) fprintf(stderr, "pg_fixture: could not stop the server in %s\n", pg__dir);
    pg__dir[0] = 0;
}

static void pg__on_signal(int sig) {
    pg__stop();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Start the server; 0, PG_SKIP (no binaries, or a genbo without the
 * PostgreSQL back end - `genbo info` must say "postgresql: yes": said on
 * stderr) or 1. A test program of the fixture alone defines
 * PG_FIXTURE_ONLY (it needs no PostgreSQL back end in genbo). */
static inline int pg__start(void) {
    char cmd[1024];
#ifndef PG_FIXTURE_ONLY
    const char *g = getenv("GENBO_CLI");
    if (g) {
        snprintf(cmd, sizeof cmd, "%s info 2>/dev/null | grep -qi 'postgresql: *yes'", g);
        if (system(cmd) != 0) {
            fprintf(stderr, "pg_fixture: this genbo has no PostgreSQL back end (genbo info does not say "
                            "'postgresql: yes': built without libpq)\n");
            return PG_SKIP;
        }
    }
#endif
    pg__owner = getpid();
    snprintf(cmd, sizeof cmd, "sh %s start --owner %d", PG_SCRIPT, (int)pg__owner);
    FILE *f = popen(cmd, "r");
    if (!f) return 1;
    char line[400], url[400] = "";
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!strncmp(line, "GENBO_PG_DIR=", 13)) snprintf(pg__dir, sizeof pg__dir, "%s", line + 13);
        if (!strncmp(line, "GENBO_PG_URL=", 13)) snprintf(url, sizeof url, "%s", line + 13);
    }
    int st = pclose(f);
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
    if (rc == PG_SKIP) return PG_SKIP;
    if (rc != 0 || !pg__dir[0] || !url[0]) {
        fprintf(stderr, "pg_fixture: the PostgreSQL test server did not start (%s exit %d)\n", PG_SCRIPT, rc);
        return 1;
    }
    atexit(pg__stop);
    signal(SIGINT, pg__on_signal);
    signal(SIGTERM, pg__on_signal);
    signal(SIGHUP, pg__on_signal);
    setenv("GENBO_PG_DIR", pg__dir, 1);
    setenv("GENBO_PG_URL", url, 1);
    fprintf(stderr, "pg_fixture: PostgreSQL test server %s (%s)\n", url, pg__dir);
    return 0;
}

/* The test program's main: Criterion's own, with the server around the run.
 * After the run the server directory must be gone (checked). */
#define PG_TEST_MAIN()                                                                        \
    int main(int argc, char *argv[]) {                                                        \
        struct criterion_test_set *tests = criterion_initialize();                            \
        int result = 0;                                                                       \
        if (criterion_handle_args(argc, argv, true)) {                                        \
            int rc = pg__start();                                                             \
            if (rc == PG_SKIP) {                                                              \
                fprintf(stderr, "SKIPPED: no PostgreSQL server or back end, these tests did not run\n"); \
                criterion_finalize(tests);                                                    \
                return PG_SKIP;                                                               \
            }                                                                                 \
            if (rc != 0) {                                                                    \
                criterion_finalize(tests);                                                    \
                return 1;                                                                     \
            }                                                                                 \
            char dir[512];                                                                    \
            snprintf(dir, sizeof dir, "%s", pg__dir);                                         \
            result = !criterion_run_all_tests(tests);                                         \
            pg__stop();                                                                       \
            struct stat st_;                                                                  \
            if (stat(dir, &st_) == 0) {                                                       \
                fprintf(stderr, "pg_fixture: %s still exists after stop\n", dir);            \
                result = 1;                                                                   \
            }                                                                                 \
        }                                                                                     \
        criterion_finalize(tests);                                                            \
        return result;                                                                        \
    }

#endif
