/* store.c - a study database's connection, migrations and write
 * transactions, on either back end of studies/db.h.
 *
 * Concurrency model: every write in a transaction that takes the write
 * lock at its start (SQLite: WAL journal, BEGIN IMMEDIATE, so readers
 * never block the writer and a transaction never fails half-way on a
 * lock; PostgreSQL: one advisory lock, the same rule), a busy timeout for
 * the short waits and explicit retries with back-off on top for the rare
 * long ones, and for a dropped connection. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "studies/store.h"

#define STORE_RETRIES 200
#define STORE_TXN_RETRIES 40

int genbo__store_fail(genbo__db *db, const char *what) {
    return genbo__fail(GENBO_EDB, "%s: %s", what, genbo__db_errmsg(db));
}

int genbo__store_exec(genbo__db *db, const char *sql) {
    if (genbo__db_exec(db, sql) != GENBO__DB_OK)
        return genbo__fail(GENBO_EDB, "%s: %s", genbo__db_is_pg(db) ? "postgresql" : "sqlite", genbo__db_errmsg(db));
    return GENBO_OK;
}

int genbo__store_prepare(genbo__db *db, const char *sql, genbo__db_stmt **st) {
    if (genbo__db_prepare(db, sql, st) != GENBO__DB_OK)
        return genbo__store_fail(db, "preparing a statement");
    return GENBO_OK;
}

int genbo__store_int(genbo__db *db, const char *sql, int64_t arg, int64_t dflt, int64_t *out) {
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(db, sql, &st);
    if (rc) return rc;
    if (genbo__db_bind_parameter_count(st) > 0) genbo__db_bind_int64(st, 1, arg);
    int s = genbo__db_step(st);
    if (s == GENBO__DB_ROW) {
        *out = genbo__db_column_type(st, 0) == GENBO__DB_NULL ? dflt : genbo__db_column_int64(st, 0);
    } else if (s == GENBO__DB_DONE) {
        *out = dflt;
    } else {
        rc = genbo__store_fail(db, "query");
    }
    genbo__db_finalize(st);
    return rc;
}

double genbo__store_col_double(genbo__db_stmt *st, int col) {
    return genbo__db_column_type(st, col) == GENBO__DB_NULL ? NAN : genbo__db_column_double(st, col);
}

void genbo__store_col_text(genbo__db_stmt *st, int col, char *buf, size_t size) {
    const char *t = (const char *)genbo__db_column_text(st, col);
    snprintf(buf, size, "%s", t ? t : "");
}

int genbo__store_rows(genbo__db *db, genbo__db_stmt *st, const char *what, size_t elem, genbo__row_fn fn,
                      void **out, size_t *n) {
    *out = NULL;
    *n = 0;
    char *v = NULL;
    size_t k = 0, cap = 0;
    int rc = GENBO_OK, r;
    while ((r = genbo__db_step(st)) == GENBO__DB_ROW) {
        if ((rc = genbo__grow(&v, &cap, k + 1, elem, what))) break;
        memset(v + k * elem, 0, elem);
        fn(st, v + k * elem);
        k++;
    }
    if (!rc && r != GENBO__DB_DONE) rc = genbo__store_fail(db, what);
    genbo__db_finalize(st);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = k;
    return GENBO_OK;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int genbo__store_begin(genbo__db *db) {
    for (int attempt = 0;; attempt++) {
        int s = genbo__db_begin_write(db);
        if (s == GENBO__DB_OK) return GENBO_OK;
        if (s != GENBO__DB_BUSY) return genbo__store_fail(db, "beginning a write transaction");
        if (attempt >= STORE_RETRIES)
            return genbo__store_fail(db, "beginning a write transaction (gave up after retries)");
        sleep_ms(1 + attempt % 20);
    }
}

/* Fault injection for the exact-resume tests: GENBO_FAULT_KILL_AFTER_COMMIT=N
 * makes the process SIGKILL itself right after its N-th successful commit,
 * i.e. at a chosen step boundary, as a crash or kill -9 would. Unset (the
 * normal case) it costs one getenv per process. A testing hook: the only
 * place the library ends its process. */
static void fault_after_commit(void) {
    static long limit = -1, done = 0; /* -1: not read yet, 0: off */
    if (limit < 0) {
        const char *e = getenv("GENBO_FAULT_KILL_AFTER_COMMIT");
        limit = e && *e ? strtol(e, NULL, 10) : 0;
        if (limit < 0) limit = 0;
    }
    if (limit > 0 && ++done >= limit) raise(SIGKILL);
}

int genbo__store_commit(genbo__db *db) {
    for (int attempt = 0;; attempt++) {
        int s = genbo__db_commit(db);
        if (s == GENBO__DB_OK) {
            fault_after_commit();
            return GENBO_OK;
        }
        /* SQLite: a reader still finishing; PostgreSQL: no second try (a
         * failed COMMIT has ended the transaction). */
        if (s != GENBO__DB_BUSY || attempt >= STORE_RETRIES || genbo__db_is_pg(db)) {
            int rc = genbo__store_fail(db, "COMMIT");
            genbo__store_rollback(db);
            return rc;
        }
        sleep_ms(1 + attempt % 20);
    }
}

void genbo__store_rollback(genbo__db *db) {
    if (genbo__db_in_txn(db)) genbo__db_rollback(db);
}

int genbo__store_txn(genbo__db *db, int (*fn)(genbo__db *db, void *ctx), void *ctx) {
    for (int attempt = 0;; attempt++) {
        int rc = genbo__store_begin(db);
        if (!rc) rc = fn(db, ctx);
        /* a COMMIT that did not commit (PostgreSQL: the connection was lost
         * and txid_status says aborted or unknown) is retried whole too */
        if (!rc && !(rc = genbo__store_commit(db))) return GENBO_OK;
        int again = rc == GENBO_EDB && genbo__db_transient(db) && attempt < STORE_TXN_RETRIES;
        genbo__store_rollback(db);
        if (!again) return rc;
        sleep_ms(attempt < 10 ? 10 << (attempt / 3) : 500);
    }
}

int genbo__store_read(genbo__db *db, int (*fn)(genbo__db *db, void *ctx), void *ctx) {
    for (int attempt = 0;; attempt++) {
        int rc = genbo__db_begin_read(db) == GENBO__DB_OK ? fn(db, ctx) : genbo__store_fail(db, "beginning a read");
        /* (transient is read before the ROLLBACK that ends the read clears it) */
        int again = rc == GENBO_EDB && genbo__db_transient(db) && attempt < STORE_TXN_RETRIES;
        genbo__store_rollback(db);
        if (!again) return rc;
        sleep_ms(attempt < 10 ? 10 << (attempt / 3) : 500);
    }
}

/* Bring the schema up to date inside one write transaction (re-reading
 * the version under the lock: several processes may open a new database
 * at the same moment). */
static int migrate(genbo__db *db, const char *label) {
    int rc = genbo__store_begin(db);
    if (rc) return rc;
    int64_t version = 0;
    if (genbo__db_schema_version(db, &version)) rc = genbo__store_fail(db, "reading the schema version");
    if (!rc && version > genbo__n_migrations)
        rc = genbo__fail(GENBO_EVERSION,
                         "%s: database schema version %lld is newer than this genbo's (%d)", label,
                         (long long)version, genbo__n_migrations);
    for (int64_t v = version; !rc && v < genbo__n_migrations; v++) {
        if (genbo__db_exec_ddl(db, genbo__migrations[v]) || genbo__db_set_schema_version(db, v + 1))
            rc = genbo__store_fail(db, "schema");
        if (rc) genbo__fail_prefix(rc, "%s: migrating the schema to version %lld", label,
                                   (long long)(v + 1));
    }
    if (rc) {
        genbo__store_rollback(db);
        return rc;
    }
    return genbo__store_commit(db);
}

/* Is this a genbo database? version > 0 and a studies table. A file
 * that is not (another program's SQLite file, a 0-byte file) is left
 * exactly as it was: nothing below writes before this check passes. */
static int check_genbo(genbo__db *db, const char *label, int mode, int64_t *version) {
    /* One snapshot: another process may be creating the schema right now
     * (its migration commits version and tables at once). */
    int64_t tables = 0;
    int studies = 0;
    int rc = GENBO_OK;
    if (genbo__db_begin_read(db) || genbo__db_schema_version(db, version) ||
        genbo__db_table_count(db, &tables)) {
        rc = genbo__fail(GENBO_EFORMAT, "%s: not a genbo database (%s)", label, genbo__db_errmsg(db));
    } else {
        studies = genbo__db_has_table(db, "studies");
    }
    if (genbo__db_in_txn(db)) genbo__db_commit(db);
    if (rc) return rc;
    if (*version > genbo__n_migrations)
        return genbo__fail(GENBO_EVERSION, "%s: database schema version %lld is newer than this genbo's (%d)",
                           label, (long long)*version, genbo__n_migrations);
    if (mode == GENBO__STORE_CREATE) {
        if (*version == 0 && tables > 0)
            return genbo__fail(GENBO_EFORMAT, "%s: not a genbo database (it has %lld tables of another "
                               "program and no genbo schema); genbo creates only new or empty %s",
                               label, (long long)tables, genbo__db_is_pg(db) ? "databases" : "files");
        return GENBO_OK;
    }
    if (*version == 0 || !studies)
        return genbo__fail(GENBO_EFORMAT, "%s: not a genbo database (%s; only genbo run creates one)", label,
                           tables ? "no genbo schema" : "empty");
    if (*version < genbo__n_migrations)
        return genbo__fail(GENBO_EFORMAT, "%s: database schema version %lld, this genbo writes version %d: "
                           "genbo run upgrades it", label, (long long)*version, genbo__n_migrations);
    return GENBO_OK;
}

int genbo__store_exists(const char *path) {
    return genbo__db_is_url(path) || (path && access(path, F_OK) == 0);
}

int genbo__store_open(const char *path, int mode, genbo__db **out) {
    *out = NULL;
    if (!path || !*path) return genbo__fail(GENBO_EINVAL, "no database path given");
    int readonly = mode == GENBO__STORE_READONLY;
    char label[512];
    genbo__db_mask(path, label, sizeof label);
    /* A missing file is the common mistake (a mistyped --db): say so plainly. */
    if (mode != GENBO__STORE_CREATE && !genbo__store_exists(path))
        return genbo__fail(GENBO_ENOTFOUND, "%s: no such database", label);
    genbo__db *db = NULL;
    int rc = genbo__db_connect(path, readonly, mode == GENBO__STORE_CREATE, &db);
    if (rc) return rc;
    int64_t version = 0;
    if (!readonly) {
        rc = check_genbo(db, label, mode, &version);
        if (!rc && genbo__db_prepare_writes(db)) rc = genbo__store_fail(db, "setting up for writes");
        if (!rc && mode == GENBO__STORE_CREATE) rc = migrate(db, label);
    } else {
        if (genbo__db_schema_version(db, &version)) rc = genbo__store_fail(db, "reading the schema version");
        /* Version 0: not a genbo database at all (another program's file,
         * an empty one); this is the one test of what a genbo database is. */
        if (!rc && version == 0)
            rc = genbo__fail(GENBO_EFORMAT, "%s: not a genbo study database (schema version 0, this "
                             "genbo reads version %d)", label, genbo__n_migrations);
        else if (!rc && version != genbo__n_migrations)
            rc = genbo__fail(version > genbo__n_migrations ? GENBO_EVERSION : GENBO_EFORMAT,
                             "%s: database schema version %lld, this genbo reads version %d%s",
                             label, (long long)version, genbo__n_migrations,
                             version < genbo__n_migrations
                                 ? " (genbo run upgrades it)"
                                 : "");
    }
    if (rc) {
        if (rc == GENBO_EDB) genbo__fail_prefix(rc, "%s", label);
        genbo__db_close(db);
        return rc;
    }
    *out = db;
    return GENBO_OK;
}

void genbo__store_close(genbo__db *db) {
    if (db) genbo__db_close(db);
}
