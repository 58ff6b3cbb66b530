/* store.c - SQLite connection, migrations and write transactions.
 *
 * Concurrency model: WAL journal (readers never block the writer and the
 * writer never blocks readers), a busy timeout for the short waits, every
 * write in BEGIN IMMEDIATE ... COMMIT so the write lock is taken at the start
 * (a deferred transaction that later upgrades can fail with SQLITE_BUSY
 * without waiting), and explicit retries with back-off on top of the busy
 * timeout for the rare long waits. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

int genbo__store_commit(sqlite3 *db) {
    for (int attempt = 0;; attempt++) {
        int s = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        if (s == SQLITE_OK) {
            fault_after_commit();
            return GENBO_OK;
        }
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

/* A URI for sqlite3_open_v2 (SQLITE_OPEN_URI): path percent-encoded. */
static int file_uri(const char *path, const char *query, char *out, size_t size) {
    size_t k = (size_t)snprintf(out, size, "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p && k + 4 < size; p++) {
        if (*p == '%' || *p == '?' || *p == '#' || *p < 0x20 || *p >= 0x7f) k += (size_t)snprintf(out + k, size - k, "%%%02X", *p);
        else out[k++] = (char)*p;
    }
    if (k + strlen(query) + 1 >= size) return 0;
    snprintf(out + k, size - k, "%s", query);
    return 1;
}

static int probe(sqlite3 *db) {
    return sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
}

int genbo__sqlite_open_read(const char *path, int extra_flags, sqlite3 **out) {
    *out = NULL;
    sqlite3 *db = NULL;
    int s = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | extra_flags, NULL);
    if (s == SQLITE_OK) {
        sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
        s = probe(db);
    }
    /* A WAL database in a directory we cannot write: SQLite cannot create
     * the -shm file a WAL reader needs ("attempt to write a readonly
     * database"). With no -wal file (or an empty one) the main file holds
     * every commit, and nobody can be writing it (a writer would need that
     * directory too), so it can be opened as immutable. */
    if (s != SQLITE_OK && ((s & 0xff) == SQLITE_READONLY || (s & 0xff) == SQLITE_CANTOPEN) &&
        access(path, R_OK) == 0) {
        char wal[4200];
        struct stat stw;
        snprintf(wal, sizeof wal, "%s-wal", path);
        int wal_empty = stat(wal, &stw) != 0 || stw.st_size == 0;
        char uri[12800];
        if (wal_empty && file_uri(path, "?immutable=1", uri, sizeof uri)) {
            sqlite3_close(db);
            db = NULL;
            s = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | extra_flags, NULL);
            if (s == SQLITE_OK) s = probe(db);
        }
    }
    if (s != SQLITE_OK) {
        genbo__fail(GENBO_ENOTFOUND, "%s: cannot open database: %s", path,
                    db ? sqlite3_errmsg(db) : sqlite3_errstr(s));
        sqlite3_close(db);
        return GENBO_ENOTFOUND;
    }
    sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
    *out = db;
    return GENBO_OK;
}

/* Is this a genbo database? user_version > 0 and a studies table. A file
 * that is not (another program's SQLite file, a 0-byte file) is left
 * exactly as it was: nothing below writes before this check passes. */
static int check_genbo(sqlite3 *db, const char *path, int mode, int64_t *version) {
    /* One statement, one snapshot: another process may be creating the
     * schema right now (its migration commits version and tables at once). */
    int64_t tables = 0, studies = 0;
    sqlite3_stmt *st = NULL;
    int rc = GENBO_OK;
    if (sqlite3_prepare_v2(db, "SELECT (SELECT user_version FROM pragma_user_version), "
                               "(SELECT count(*) FROM sqlite_master WHERE type = 'table'), "
                               "(SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'studies')",
                           -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
        rc = genbo__fail(GENBO_EFORMAT, "%s: not a genbo database (%s)", path, sqlite3_errmsg(db));
    } else {
        *version = sqlite3_column_int64(st, 0);
        tables = sqlite3_column_int64(st, 1);
        studies = sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    if (rc) return rc;
    if (*version > genbo__n_migrations)
        return genbo__fail(GENBO_EVERSION, "%s: database schema version %lld is newer than this genbo's (%d)",
                           path, (long long)*version, genbo__n_migrations);
    if (mode == GENBO__STORE_CREATE) {
        if (*version == 0 && tables > 0)
            return genbo__fail(GENBO_EFORMAT, "%s: not a genbo database (it has %lld tables of another "
                               "program and no genbo schema); genbo creates only new or empty files",
                               path, (long long)tables);
        return GENBO_OK;
    }
    if (*version == 0 || !studies)
        return genbo__fail(GENBO_EFORMAT, "%s: not a genbo database (%s; only genbo run creates one)", path,
                           tables ? "no genbo schema" : "empty");
    if (*version < genbo__n_migrations)
        return genbo__fail(GENBO_EFORMAT, "%s: database schema version %lld, this genbo writes version %d: "
                           "genbo run upgrades it", path, (long long)*version, genbo__n_migrations);
    return GENBO_OK;
}

int genbo__store_open(const char *path, int mode, sqlite3 **out) {
    *out = NULL;
    if (!path || !*path) return genbo__fail(GENBO_EINVAL, "no database path given");
    int readonly = mode == GENBO__STORE_READONLY;
    /* A missing file is the common mistake (a mistyped --db): say so plainly. */
    if (mode != GENBO__STORE_CREATE && access(path, F_OK) != 0)
        return genbo__fail(GENBO_ENOTFOUND, "%s: no such database", path);
    sqlite3 *db = NULL;
    int rc = GENBO_OK;
    if (readonly) {
        rc = genbo__sqlite_open_read(path, SQLITE_OPEN_NOMUTEX, &db);
        if (rc) return rc;
    } else {
        int flags = SQLITE_OPEN_READWRITE | (mode == GENBO__STORE_CREATE ? SQLITE_OPEN_CREATE : 0);
        if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
            rc = genbo__fail(mode == GENBO__STORE_CREATE ? GENBO_EDB : GENBO_ENOTFOUND,
                             "%s: cannot open database: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
            sqlite3_close(db);
            return rc;
        }
        sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
    }
    int64_t version = 0;
    if (!readonly) rc = check_genbo(db, path, mode, &version);
    if (!rc) rc = genbo__store_exec(db, "PRAGMA foreign_keys = ON");
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
        if (!rc && mode == GENBO__STORE_CREATE) rc = migrate(db, path);
    } else if (!rc) {
        rc = genbo__store_int(db, "PRAGMA user_version", 0, 0, &version);
        /* Version 0: not a genbo database at all (another program's file,
         * an empty one); this is the one test of what a genbo database is. */
        if (!rc && version == 0)
            rc = genbo__fail(GENBO_EFORMAT, "%s: not a genbo study database (schema version 0, this "
                             "genbo reads version %d)", path, genbo__n_migrations);
        else if (!rc && version != genbo__n_migrations)
            rc = genbo__fail(version > genbo__n_migrations ? GENBO_EVERSION : GENBO_EFORMAT,
                             "%s: database schema version %lld, this genbo reads version %d%s",
                             path, (long long)version, genbo__n_migrations,
                             version < genbo__n_migrations
                                 ? " (genbo run upgrades it)"
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
