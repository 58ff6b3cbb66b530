/* store.c - SQLite connection, migrations and write transactions.
 *
 * Concurrency model: WAL journal (readers never block the writer and the
 * writer never blocks readers), a busy timeout for the short waits, every
 * write in BEGIN IMMEDIATE ... COMMIT so the write lock is taken at the start
 * (a deferred transaction that later upgrades can fail with SQLITE_BUSY
 * without waiting), and explicit retries with back-off on top of the busy
 * timeout for the rare long waits. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "studies/store.h"

#define STORE_BUSY_TIMEOUT_MS 5000
#define STORE_RETRIES 200

int genbo__store_fail(sqlite3 *db, const char *what) {
    return genbo__fail(GENBO_EDB, "%s: %s", what, db ? sqlite3_errmsg(db) : "no database");
}

int genbo__store_exec(sqlite3 *db, const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        int rc = genbo__fail(GENBO_EDB, "sqlite: %s", err ? err : sqlite3_errmsg(db));
        sqlite3_free(err);
        return rc;
    }
    return GENBO_OK;
}

int genbo__store_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st) {
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
        return genbo__store_fail(db, "preparing a statement");
    return GENBO_OK;
}

int genbo__store_int(sqlite3 *db, const char *sql, int64_t arg, int64_t dflt, int64_t *out) {
    sqlite3_stmt *st;
    int rc = genbo__store_prepare(db, sql, &st);
    if (rc) return rc;
    if (sqlite3_bind_parameter_count(st) > 0) sqlite3_bind_int64(st, 1, arg);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        *out = sqlite3_column_type(st, 0) == SQLITE_NULL ? dflt : sqlite3_column_int64(st, 0);
    } else if (s == SQLITE_DONE) {
        *out = dflt;
    } else {
        rc = genbo__store_fail(db, "query");
    }
    sqlite3_finalize(st);
    return rc;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int genbo__store_begin(sqlite3 *db) {
    for (int attempt = 0;; attempt++) {
        int s = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (s == SQLITE_OK) return GENBO_OK;
        if ((s & 0xff) != SQLITE_BUSY && (s & 0xff) != SQLITE_LOCKED)
            return genbo__store_fail(db, "BEGIN IMMEDIATE");
        if (attempt >= STORE_RETRIES)
            return genbo__store_fail(db, "BEGIN IMMEDIATE (gave up after retries)");
        sleep_ms(1 + attempt % 20);
    }
}

int genbo__store_commit(sqlite3 *db) {
    for (int attempt = 0;; attempt++) {
        int s = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        if (s == SQLITE_OK) return GENBO_OK;
        if ((s & 0xff) != SQLITE_BUSY || attempt >= STORE_RETRIES) {
            int rc = genbo__store_fail(db, "COMMIT");
            genbo__store_rollback(db);
            return rc;
        }
        sleep_ms(1 + attempt % 20);
    }
}

void genbo__store_rollback(sqlite3 *db) {
    if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

/* Bring the schema up to date inside one write transaction (re-reading
 * user_version under the lock: several processes may open a new database
 * at the same moment). */
static int migrate(sqlite3 *db, const char *path) {
    int rc = genbo__store_begin(db);
    if (rc) return rc;
    int64_t version;
    rc = genbo__store_int(db, "PRAGMA user_version", 0, 0, &version);
    if (!rc && version > genbo__n_migrations)
        rc = genbo__fail(GENBO_EVERSION,
                         "%s: database schema version %lld is newer than this genbo's (%d)", path,
                         (long long)version, genbo__n_migrations);
    for (int64_t v = version; !rc && v < genbo__n_migrations; v++) {
        rc = genbo__store_exec(db, genbo__migrations[v]);
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %lld", (long long)(v + 1));
        if (!rc) rc = genbo__store_exec(db, sql);
        if (rc) genbo__fail_prefix(rc, "%s: migrating the schema to version %lld", path,
                                   (long long)(v + 1));
    }
    if (rc) {
        genbo__store_rollback(db);
        return rc;
    }
    return genbo__store_commit(db);
}

int genbo__store_open(const char *path, int readonly, sqlite3 **out) {
    *out = NULL;
    if (!path || !*path) return genbo__fail(GENBO_EINVAL, "no database path given");
    /* A missing file is the common mistake (a mistyped --db): say so plainly. */
    if (readonly && access(path, F_OK) != 0) return genbo__fail(GENBO_ENOTFOUND, "%s: no such database", path);
    sqlite3 *db = NULL;
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        int rc = genbo__fail(readonly ? GENBO_ENOTFOUND : GENBO_EDB, "%s: cannot open database: %s",
                             path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return rc;
    }
    sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
    int rc = genbo__store_exec(db, "PRAGMA foreign_keys = ON");
    if (!rc && !readonly) {
        /* Switching to WAL needs a moment of exclusive access; it is
         * persistent, so only the very first open of a file does work.
         * synchronous = FULL: a commit is on disk when it returns (a told
         * value survives a power cut, not only a crash). */
        for (int attempt = 0;; attempt++) {
            rc = genbo__store_exec(db, "PRAGMA journal_mode = WAL");
            if (!rc || attempt >= STORE_RETRIES) break;
            sleep_ms(5);
        }
        if (!rc) rc = genbo__store_exec(db, "PRAGMA synchronous = FULL");
        if (!rc) rc = migrate(db, path);
    } else if (!rc) {
        int64_t version;
        rc = genbo__store_int(db, "PRAGMA user_version", 0, 0, &version);
        if (!rc && version != genbo__n_migrations)
            rc = genbo__fail(version > genbo__n_migrations ? GENBO_EVERSION : GENBO_EFORMAT,
                             "%s: database schema version %lld, this genbo reads version %d%s",
                             path, (long long)version, genbo__n_migrations,
                             version == 0 ? " (not a genbo database?)"
                             : version < genbo__n_migrations
                                 ? " (any writing command, e.g. genbo ask or tell, upgrades it)"
                                 : "");
        if (!rc) rc = genbo__store_exec(db, "PRAGMA query_only = ON");
    }
    if (rc) {
        if (rc == GENBO_EDB) genbo__fail_prefix(rc, "%s", path);
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return GENBO_OK;
}

void genbo__store_close(sqlite3 *db) {
    if (db) sqlite3_close(db);
}
