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

/* Open a database. readonly: SQLITE_OPEN_READONLY, the file must exist and
 * carry the current schema. Otherwise it is created if missing, put in WAL
 * mode and migrated. Both: foreign keys on, busy timeout. */
int genbo__store_open(const char *path, int readonly, sqlite3 **out);
void genbo__store_close(sqlite3 *db);

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
