/* db_backend.h - what a storage back end (db_sqlite.c, db_pg.c) provides
 * to the dispatch in db_dispatch.c. Internal to studies/db*.c. */
#ifndef GENBO_STUDIES_DB_BACKEND_H
#define GENBO_STUDIES_DB_BACKEND_H

#include "studies/db.h"

typedef struct genbo__db_ops {
    const char *name; /* "sqlite" or "postgresql" */
    void (*close)(genbo__db *db);
    const char *(*errmsg)(genbo__db *db);
    int (*prepare)(genbo__db *db, const char *sql, genbo__db_stmt **st);
    int (*bind_int64)(genbo__db_stmt *st, int i, int64_t v);
    int (*bind_double)(genbo__db_stmt *st, int i, double v);
    int (*bind_null)(genbo__db_stmt *st, int i);
    int (*bind_text)(genbo__db_stmt *st, int i, const char *v, int n, genbo__db_free_fn dtor);
    int (*bind_blob)(genbo__db_stmt *st, int i, const void *v, size_t n, genbo__db_free_fn dtor);
    int (*bind_parameter_count)(genbo__db_stmt *st);
    int (*clear_bindings)(genbo__db_stmt *st);
    int (*step)(genbo__db_stmt *st);
    int (*reset)(genbo__db_stmt *st);
    void (*finalize)(genbo__db_stmt *st);
    int (*column_count)(genbo__db_stmt *st);
    const char *(*column_name)(genbo__db_stmt *st, int i);
    int (*column_type)(genbo__db_stmt *st, int i);
    int64_t (*column_int64)(genbo__db_stmt *st, int i);
    double (*column_double)(genbo__db_stmt *st, int i);
    const unsigned char *(*column_text)(genbo__db_stmt *st, int i);
    const void *(*column_blob)(genbo__db_stmt *st, int i);
    int (*column_bytes)(genbo__db_stmt *st, int i);
    int (*exec)(genbo__db *db, const char *sql);
    int64_t (*changes)(genbo__db *db);
    int64_t (*last_insert_id)(genbo__db *db);
    int (*in_txn)(genbo__db *db);
    int (*begin_write)(genbo__db *db);
    int (*begin_read)(genbo__db *db);
    int (*schema_version)(genbo__db *db, int64_t *version);
    int (*set_schema_version)(genbo__db *db, int64_t version);
    int (*table_count)(genbo__db *db, int64_t *n);
    int (*has_table)(genbo__db *db, const char *name);
    int (*exec_ddl)(genbo__db *db, const char *sql);
    int (*prepare_writes)(genbo__db *db);
    int (*sync_ids)(genbo__db *db, const char *table);
    int (*data_version)(genbo__db *db, int64_t *out);
    int (*try_lock)(genbo__db *db, const char *name, int *got);
    int (*unlock)(genbo__db *db, const char *name);
} genbo__db_ops;

/* The head of every back end's connection and statement. */
struct genbo__db {
    const genbo__db_ops *ops;
    char label[512]; /* the masked target, for messages */
    int transient;   /* the last failure looked transient */
};
struct genbo__db_stmt {
    genbo__db *db;
};

int genbo__db_sqlite_connect(const char *path, int readonly, int create, genbo__db **out);
int genbo__db_pg_connect(const char *url, int readonly, genbo__db **out);

#endif
