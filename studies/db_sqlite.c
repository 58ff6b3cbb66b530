/* db_sqlite.c - the SQLite back end of the storage interface: a thin
 * layer over sqlite3 (the codes and types of db.h are SQLite's own).
 *
 * Opening read-only falls back to immutable=1 where the directory cannot
 * be written (a WAL reader needs to create the -shm file). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "studies/db_backend.h"

#define LITE_BUSY_TIMEOUT_MS 5000

typedef struct lite_db {
    genbo__db base;
    sqlite3 *h;
} lite_db;

typedef struct lite_stmt {
    genbo__db_stmt base;
    sqlite3_stmt *h;
} lite_stmt;

#define H(db) (((lite_db *)(db))->h)
#define S(st) (((lite_stmt *)(st))->h)

static int code(genbo__db *db, int rc) {
    int primary = rc & 0xff;
    db->transient = primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
    return db->transient ? GENBO__DB_BUSY : rc;
}

static void lite_close(genbo__db *db) {
    sqlite3_close(H(db));
    free(db);
}
static const char *lite_errmsg(genbo__db *db) { return sqlite3_errmsg(H(db)); }

static int lite_prepare(genbo__db *db, const char *sql, genbo__db_stmt **out) {
    lite_stmt *st = calloc(1, sizeof *st);
    if (!st) return SQLITE_NOMEM;
    int rc = sqlite3_prepare_v2(H(db), sql, -1, &st->h, NULL);
    if (rc != SQLITE_OK) {
        free(st);
        return code(db, rc);
    }
    st->base.db = db;
    *out = &st->base;
    return GENBO__DB_OK;
}

static int lite_bind_int64(genbo__db_stmt *st, int i, int64_t v) { return sqlite3_bind_int64(S(st), i, v); }
static int lite_bind_double(genbo__db_stmt *st, int i, double v) { return sqlite3_bind_double(S(st), i, v); }
static int lite_bind_null(genbo__db_stmt *st, int i) { return sqlite3_bind_null(S(st), i); }
/* GENBO__DB_STATIC / TRANSIENT have SQLite's values. */
static int lite_bind_text(genbo__db_stmt *st, int i, const char *v, int n, genbo__db_free_fn dtor) {
    return sqlite3_bind_text(S(st), i, v, n, dtor);
}
static int lite_bind_blob(genbo__db_stmt *st, int i, const void *v, size_t n, genbo__db_free_fn dtor) {
    return sqlite3_bind_blob64(S(st), i, v, (uint64_t)n, dtor);
}
static int lite_bind_parameter_count(genbo__db_stmt *st) { return sqlite3_bind_parameter_count(S(st)); }
static int lite_clear_bindings(genbo__db_stmt *st) { return sqlite3_clear_bindings(S(st)); }
static int lite_step(genbo__db_stmt *st) {
    int rc = sqlite3_step(S(st));
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? rc : code(st->db, rc);
}
static int lite_reset(genbo__db_stmt *st) { return sqlite3_reset(S(st)); }
static void lite_finalize(genbo__db_stmt *st) {
    sqlite3_finalize(S(st));
    free(st);
}
static int lite_column_count(genbo__db_stmt *st) { return sqlite3_column_count(S(st)); }
static const char *lite_column_name(genbo__db_stmt *st, int i) { return sqlite3_column_name(S(st), i); }
static int lite_column_type(genbo__db_stmt *st, int i) { return sqlite3_column_type(S(st), i); }
static int64_t lite_column_int64(genbo__db_stmt *st, int i) { return sqlite3_column_int64(S(st), i); }
static double lite_column_double(genbo__db_stmt *st, int i) { return sqlite3_column_double(S(st), i); }
static const unsigned char *lite_column_text(genbo__db_stmt *st, int i) { return sqlite3_column_text(S(st), i); }
static const void *lite_column_blob(genbo__db_stmt *st, int i) { return sqlite3_column_blob(S(st), i); }
static int lite_column_bytes(genbo__db_stmt *st, int i) { return sqlite3_column_bytes(S(st), i); }

static int lite_exec(genbo__db *db, const char *sql) {
    return code(db, sqlite3_exec(H(db), sql, NULL, NULL, NULL));
}
static int64_t lite_changes(genbo__db *db) { return sqlite3_changes64(H(db)); }
static int64_t lite_last_insert_id(genbo__db *db) { return sqlite3_last_insert_rowid(H(db)); }
static int lite_in_txn(genbo__db *db) { return !sqlite3_get_autocommit(H(db)); }
/* IMMEDIATE: the write lock is taken now, so a transaction never fails
 * half-way on a lock (a deferred one that upgrades can get SQLITE_BUSY
 * without waiting). */
static int lite_begin_write(genbo__db *db) { return lite_exec(db, "BEGIN IMMEDIATE"); }
static int lite_begin_read(genbo__db *db) { return lite_exec(db, "BEGIN DEFERRED"); }

static int one_int(genbo__db *db, const char *sql, const char *arg, int64_t *out) {
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(H(db), sql, -1, &st, NULL);
    if (rc != SQLITE_OK) return code(db, rc);
    if (arg) sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        *out = 0;
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return code(db, rc);
}
static int lite_schema_version(genbo__db *db, int64_t *v) { return one_int(db, "PRAGMA user_version", NULL, v); }
static int lite_set_schema_version(genbo__db *db, int64_t v) {
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %lld", (long long)v);
    return lite_exec(db, sql);
}
static int lite_table_count(genbo__db *db, int64_t *n) {
    return one_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'", NULL, n);
}
static int lite_has_table(genbo__db *db, const char *name) {
    int64_t n = 0;
    if (one_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", name, &n)) return 0;
    return n > 0;
}
/* Switching to WAL needs a moment of exclusive access; it is persistent,
 * so only the very first open of a file does work. synchronous = FULL: a
 * commit is on disk when it returns (a told value survives a power cut,
 * not only a crash). */
static int lite_prepare_writes(genbo__db *db) {
    int rc = SQLITE_OK;
    for (int attempt = 0; attempt <= 200; attempt++) {
        rc = lite_exec(db, "PRAGMA journal_mode = WAL");
        if (rc == SQLITE_OK) break;
        sqlite3_sleep(5);
    }
    return rc ? rc : lite_exec(db, "PRAGMA synchronous = FULL");
}
/* INTEGER PRIMARY KEY continues after max(rowid) by itself. */
static int lite_sync_ids(genbo__db *db, const char *table) {
    (void)db, (void)table;
    return GENBO__DB_OK;
}
static int lite_data_version(genbo__db *db, int64_t *out) { return one_int(db, "PRAGMA data_version", NULL, out); }
static int lite_try_lock(genbo__db *db, const char *name, int *got) {
    (void)db, (void)name, (void)got;
    return SQLITE_MISUSE; /* SQLite studies lock with an flock (run.c) */
}
static int lite_unlock(genbo__db *db, const char *name) {
    (void)db, (void)name;
    return SQLITE_MISUSE;
}

static const genbo__db_ops lite_ops = {
    "sqlite", lite_close, lite_errmsg, lite_prepare, lite_bind_int64, lite_bind_double, lite_bind_null,
    lite_bind_text, lite_bind_blob, lite_bind_parameter_count, lite_clear_bindings, lite_step, lite_reset,
    lite_finalize, lite_column_count, lite_column_name, lite_column_type, lite_column_int64,
    lite_column_double, lite_column_text, lite_column_blob, lite_column_bytes, lite_exec, lite_changes,
    lite_last_insert_id, lite_in_txn, lite_begin_write, lite_begin_read, lite_schema_version,
    lite_set_schema_version, lite_table_count, lite_has_table, lite_exec, lite_prepare_writes, lite_sync_ids,
    lite_data_version,
    lite_try_lock, lite_unlock,
};

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

static int open_read(const char *path, sqlite3 **out) {
    *out = NULL;
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX;
    int s = sqlite3_open_v2(path, &db, flags, NULL);
    if (s == SQLITE_OK) {
        sqlite3_busy_timeout(db, LITE_BUSY_TIMEOUT_MS);
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
            s = sqlite3_open_v2(uri, &db, flags | SQLITE_OPEN_URI, NULL);
            if (s == SQLITE_OK) s = probe(db);
        }
    }
    if (s != SQLITE_OK) {
        genbo__fail(GENBO_ENOTFOUND, "%s: cannot open database: %s", path,
                    db ? sqlite3_errmsg(db) : sqlite3_errstr(s));
        sqlite3_close(db);
        return GENBO_ENOTFOUND;
    }
    *out = db;
    return GENBO_OK;
}

int genbo__db_sqlite_connect(const char *path, int readonly, int create, genbo__db **out) {
    *out = NULL;
    sqlite3 *h = NULL;
    int rc = GENBO_OK;
    if (readonly) {
        rc = open_read(path, &h);
        if (rc) return rc;
    } else {
        int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
        if (sqlite3_open_v2(path, &h, flags, NULL) != SQLITE_OK) {
            rc = genbo__fail(create ? GENBO_EDB : GENBO_ENOTFOUND, "%s: cannot open database: %s", path,
                             h ? sqlite3_errmsg(h) : "out of memory");
            sqlite3_close(h);
            return rc;
        }
    }
    sqlite3_busy_timeout(h, LITE_BUSY_TIMEOUT_MS);
    lite_db *db = calloc(1, sizeof *db);
    if (!db) {
        sqlite3_close(h);
        return genbo__fail(GENBO_ENOMEM, "out of memory");
    }
    db->base.ops = &lite_ops;
    db->h = h;
    snprintf(db->base.label, sizeof db->base.label, "%s", path);
    /* Neither is a write: safe before the caller has checked the file is
     * a genbo database. */
    if (sqlite3_exec(h, "PRAGMA foreign_keys = ON", NULL, NULL, NULL) != SQLITE_OK ||
        (readonly && sqlite3_exec(h, "PRAGMA query_only = ON", NULL, NULL, NULL) != SQLITE_OK)) {
        rc = genbo__fail(GENBO_EDB, "%s: %s", path, sqlite3_errmsg(h));
        lite_close(&db->base);
        return rc;
    }
    *out = &db->base;
    return GENBO_OK;
}
