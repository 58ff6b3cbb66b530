/* store.h - the SQLite connection of a study database: open (creating and
 * migrating the schema), short write transactions with retries, error
 * mapping. Internal to studies/. */
#ifndef GENBO_STUDIES_STORE_H
#define GENBO_STUDIES_STORE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "genbo.h"

/* The schema: migration i (0-based) brings user_version from i to i + 1. */
extern const char *const genbo__migrations[];
extern const int genbo__n_migrations;

/* Open a database. mode READONLY: SQLITE_OPEN_READONLY (immutable in a
 * directory without write access), the file must exist and carry the
 * current schema. WRITE: the file must be a genbo database of the current
 * schema (anything else is refused and left byte-identical). CREATE: created
 * if missing or empty, put in WAL mode and migrated (a file with another
 * program's tables is refused). All: foreign keys on, busy timeout. */
enum { GENBO__STORE_CREATE = 0, GENBO__STORE_READONLY = 1, GENBO__STORE_WRITE = 2 };
int genbo__store_open(const char *path, int mode, sqlite3 **out);
/* sqlite3_open_v2 read-only plus extra_flags, falling back to immutable=1
 * when the directory cannot be written and there is no pending -wal. Sets
 * the busy timeout; the error is GENBO_ENOTFOUND with the message set. */
int genbo__sqlite_open_read(const char *path, int extra_flags, sqlite3 **out);
void genbo__store_close(sqlite3 *db);
/* The connection of a genbo_db (db.c), for tests that check it is read-only. */
sqlite3 *genbo__db_connection(genbo_db *d);

/* BEGIN IMMEDIATE (takes the write lock now, so a transaction never fails
 * half-way on a lock), retried with back-off while another writer holds it. */
int genbo__store_begin(sqlite3 *db);
int genbo__store_commit(sqlite3 *db);
void genbo__store_rollback(sqlite3 *db);

/* Set a GENBO_EDB message "what: <sqlite message>" and return GENBO_EDB. */
int genbo__store_fail(sqlite3 *db, const char *what);
/* Execute SQL without results. */
int genbo__store_exec(sqlite3 *db, const char *sql);
int genbo__store_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st);
/* Run a single-row query returning one integer (or `dflt` when no row). */
int genbo__store_int(sqlite3 *db, const char *sql, int64_t arg, int64_t dflt, int64_t *out);

#endif
