/* db.h - the statement-level storage interface of a study database, with
 * two back ends: an SQLite file (db_sqlite.c) and a PostgreSQL server
 * through libpq (db_pg.c). The names and return codes mirror SQLite's own
 * C API one for one, so studies/ code reads the same on both; what differs
 * between the two SQL dialects is handled here and in db_pg.c only:
 *  - placeholders `?` and `?N` (rewritten to $N for PostgreSQL);
 *  - schema DDL (INTEGER PRIMARY KEY -> bigserial, INTEGER -> bigint,
 *    REAL -> double precision, BLOB -> bytea), see genbo__db_exec_ddl;
 *  - the schema version (PRAGMA user_version / table genbo_schema_version);
 *  - write transactions (BEGIN IMMEDIATE / BEGIN + a transaction-level
 *    advisory lock, so writers serialise exactly as on SQLite);
 *  - read snapshots, change detection, table lookups, run locks.
 * SQL passed to prepare/exec must be portable (SQLite >= 3.39, PostgreSQL
 * >= 12): ON CONFLICT upserts, IS NOT DISTINCT FROM, no rowid/PRAGMA. A
 * database target is a file path, or a URL starting postgresql:// or
 * postgres:// (libpq's connection URI: PGPASSWORD, ~/.pgpass, PGHOST and
 * the other PG* variables apply). Internal to studies/. */
#ifndef GENBO_STUDIES_DB_H
#define GENBO_STUDIES_DB_H

#include <stddef.h>
#include <stdint.h>

typedef struct genbo__db genbo__db;
typedef struct genbo__db_stmt genbo__db_stmt;

/* Return codes: the same numbers as SQLite's. BUSY = transient (a lock
 * held by another writer, a serialisation failure or deadlock, a dropped
 * connection): the caller may retry the whole transaction. */
enum {
    GENBO__DB_OK = 0,
    GENBO__DB_ERROR = 1,
    GENBO__DB_BUSY = 5,
    GENBO__DB_ROW = 100,
    GENBO__DB_DONE = 101
};
/* Column types (SQLite's numbers). */
enum {
    GENBO__DB_INTEGER = 1,
    GENBO__DB_FLOAT = 2,
    GENBO__DB_TEXT = 3,
    GENBO__DB_BLOB = 4,
    GENBO__DB_NULL = 5
};
/* Lifetime of bound text/blob: STATIC = valid until the statement is
 * stepped/reset, TRANSIENT = copied now, or a function that frees it. */
typedef void (*genbo__db_free_fn)(void *);
#define GENBO__DB_STATIC ((genbo__db_free_fn)0)
#define GENBO__DB_TRANSIENT ((genbo__db_free_fn)(intptr_t)-1)

/* Targets. */
int genbo__db_is_url(const char *target); /* postgresql:// or postgres:// */
/* The target with any password replaced by "***" (URL userinfo and a
 * password= parameter): the only form that may appear in a message. */
void genbo__db_mask(const char *target, char *out, size_t size);
/* 1 when this genbo was built with libpq. */
int genbo__db_pg_available(void);

/* Connections. readonly: no writes accepted (SQLite: read-only open,
 * immutable where the directory cannot be written; PostgreSQL: read-only
 * session). create: an SQLite file may be created. The error (GENBO_*
 * status) has its message set (masked target). */
int genbo__db_connect(const char *target, int readonly, int create, genbo__db **out);
void genbo__db_close(genbo__db *db);
int genbo__db_is_pg(const genbo__db *db);
const char *genbo__db_errmsg(genbo__db *db);
/* Did the last failure look transient (see GENBO__DB_BUSY)? */
int genbo__db_transient(genbo__db *db);

/* Statements. prepare returns GENBO__DB_OK or an error code. */
int genbo__db_prepare(genbo__db *db, const char *sql, genbo__db_stmt **st);
int genbo__db_bind_int(genbo__db_stmt *st, int i, int v);
int genbo__db_bind_int64(genbo__db_stmt *st, int i, int64_t v);
int genbo__db_bind_double(genbo__db_stmt *st, int i, double v);
int genbo__db_bind_null(genbo__db_stmt *st, int i);
int genbo__db_bind_text(genbo__db_stmt *st, int i, const char *v, int n, genbo__db_free_fn dtor);
int genbo__db_bind_blob(genbo__db_stmt *st, int i, const void *v, size_t n, genbo__db_free_fn dtor);
int genbo__db_bind_parameter_count(genbo__db_stmt *st);
int genbo__db_clear_bindings(genbo__db_stmt *st);
int genbo__db_step(genbo__db_stmt *st); /* ROW, DONE, BUSY or ERROR */
int genbo__db_reset(genbo__db_stmt *st);
void genbo__db_finalize(genbo__db_stmt *st);
int genbo__db_column_count(genbo__db_stmt *st);
const char *genbo__db_column_name(genbo__db_stmt *st, int i);
int genbo__db_column_type(genbo__db_stmt *st, int i);
int64_t genbo__db_column_int64(genbo__db_stmt *st, int i);
int genbo__db_column_int(genbo__db_stmt *st, int i);
double genbo__db_column_double(genbo__db_stmt *st, int i);
const unsigned char *genbo__db_column_text(genbo__db_stmt *st, int i);
const void *genbo__db_column_blob(genbo__db_stmt *st, int i);
int genbo__db_column_bytes(genbo__db_stmt *st, int i);

/* Connection-level statements. exec runs SQL without parameters or
 * results (several statements allowed). */
int genbo__db_exec(genbo__db *db, const char *sql);
/* Rows changed by the last INSERT/UPDATE/DELETE. */
int64_t genbo__db_changes(genbo__db *db);
/* The id the last INSERT into a table with an `id` key got. */
int64_t genbo__db_last_insert_id(genbo__db *db);
int genbo__db_in_txn(genbo__db *db);

/* Transactions: begin_write serialises writers (it may return BUSY);
 * begin_read opens a consistent snapshot for several reads. */
int genbo__db_begin_write(genbo__db *db);
int genbo__db_begin_read(genbo__db *db);
int genbo__db_commit(genbo__db *db);
int genbo__db_rollback(genbo__db *db);

/* Schema: the version (0 on a new database), the number of tables and
 * whether one is named `name`; DDL in SQLite's spelling, translated for
 * PostgreSQL. */
int genbo__db_schema_version(genbo__db *db, int64_t *version);
int genbo__db_set_schema_version(genbo__db *db, int64_t version);
int genbo__db_table_count(genbo__db *db, int64_t *n);
int genbo__db_has_table(genbo__db *db, const char *name);
int genbo__db_exec_ddl(genbo__db *db, const char *sql);
/* Once the target is known to be a genbo database (or new): settings
 * for writing (SQLite: WAL journal, synchronous = FULL). */
int genbo__db_prepare_writes(genbo__db *db);
/* After inserting rows with explicit ids into `table` (which has an id
 * key): make the next generated id follow them (PostgreSQL's sequence). */
int genbo__db_sync_ids(genbo__db *db, const char *table);
/* A number that changes whenever another connection commits (SQLite's
 * PRAGMA data_version; PostgreSQL: the WAL position). */
int genbo__db_data_version(genbo__db *db, int64_t *out);

/* A session-level lock named `name` (PostgreSQL advisory lock, released
 * when the connection ends; retaken after a reconnect). got = 0 when
 * another session holds it. Only for PostgreSQL (SQLite uses an flock). */
int genbo__db_try_lock(genbo__db *db, const char *name, int *got);
int genbo__db_unlock(genbo__db *db, const char *name);

#endif
