/* store.h - the connection of a study database (an SQLite file or a
 * PostgreSQL server, through studies/db.h): open (creating and migrating
 * the schema), short write transactions with retries, error mapping.
 * Internal to studies/. */
#ifndef GENBO_STUDIES_STORE_H
#define GENBO_STUDIES_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "genbo.h"
#include "studies/db.h"

/* The schema: migration i (0-based) brings user_version from i to i + 1. */
extern const char *const genbo__migrations[];
extern const int genbo__n_migrations;

/* Open a database (a file path or a postgresql:// URL). mode READONLY:
 * read-only (an SQLite file immutable in a directory without write
 * access), it must exist and carry the current schema. WRITE: the file must be a genbo database of the current
 * schema (anything else is refused and left byte-identical). CREATE: created
 * if missing or empty, put in WAL mode and migrated (a file with another
 * program's tables is refused). All: foreign keys on, busy timeout. */
enum { GENBO__STORE_CREATE = 0, GENBO__STORE_READONLY = 1, GENBO__STORE_WRITE = 2 };
int genbo__store_open(const char *path, int mode, genbo__db **out);
void genbo__store_close(genbo__db *db);
/* Does the database exist (a URL: assumed, the server says)? */
int genbo__store_exists(const char *path);
/* The connection of a genbo_db (db.c), for tests that check it is read-only. */
genbo__db *genbo__db_connection(genbo_db *d);

/* Begin a write transaction (it takes the write lock now, so it never
 * fails half-way on a lock), retried with back-off while another writer
 * holds it or the connection is being re-established. */
int genbo__store_begin(genbo__db *db);
int genbo__store_commit(genbo__db *db);
void genbo__store_rollback(genbo__db *db);
/* fn(db, ctx) inside one write transaction, the whole transaction retried
 * with back-off when it failed transiently (a dropped connection, a
 * serialisation failure): fn must be safe to run again from the start. */
int genbo__store_txn(genbo__db *db, int (*fn)(genbo__db *db, void *ctx), void *ctx);
/* fn(db, ctx) inside one read snapshot (genbo__db_begin_read), ended
 * after it; taken again from the top when it failed transiently (on
 * PostgreSQL a snapshot cut by a dropped connection is replayed, and a
 * replay that differs, because a write landed meanwhile, is transient):
 * fn must free what it made when it fails. */
int genbo__store_read(genbo__db *db, int (*fn)(genbo__db *db, void *ctx), void *ctx);

/* Set a GENBO_EDB message "what: <database message>" and return GENBO_EDB. */
int genbo__store_fail(genbo__db *db, const char *what);
/* Execute SQL without results. */
int genbo__store_exec(genbo__db *db, const char *sql);
int genbo__store_prepare(genbo__db *db, const char *sql, genbo__db_stmt **st);
/* Run a single-row query returning one integer (or `dflt` when no row). */
int genbo__store_int(genbo__db *db, const char *sql, int64_t arg, int64_t dflt, int64_t *out);

/* A column as a double, NULL as NAN; a text column copied into buf
 * (NULL as ""), cut to size. */
double genbo__store_col_double(genbo__db_stmt *st, int col);
void genbo__store_col_text(genbo__db_stmt *st, int col, char *buf, size_t size);
/* Step the prepared, bound statement st to its end, copying each row with
 * fn into a growing malloc'ed array of elem-byte elements (each zeroed
 * before fn); st is finalized. A read that ends on an error (busy,
 * corrupt) fails with "what: ..." rather than look complete. On success
 * *out (NULL when no row) and *n are the caller's. */
typedef void (*genbo__row_fn)(genbo__db_stmt *st, void *elem);
int genbo__store_rows(genbo__db *db, genbo__db_stmt *st, const char *what, size_t elem, genbo__row_fn fn,
                      void **out, size_t *n);

#endif
