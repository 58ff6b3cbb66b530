/* db_dispatch.c - the storage interface's dispatch (one call per back end through
 * a table of functions) and what does not depend on the back end: which
 * back end a target names, and masking passwords out of it. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"
#include "genbo.h"
#include "studies/db_backend.h"

int genbo__db_is_url(const char *t) {
    return t && (!strncasecmp(t, "postgresql://", 13) || !strncasecmp(t, "postgres://", 11));
}

/* URL: scheme://user:PASSWORD@host/... -> scheme://user:***@host/...;
 * any password=VALUE parameter (in the query part or a key=value
 * conninfo) -> password=***. */
void genbo__db_mask(const char *t, char *out, size_t size) {
    if (!size) return;
    out[0] = '\0';
    if (!t) return;
    size_t k = 0;
    const char *p = t, *auth_end = NULL, *colon = NULL;
    const char *scheme = strstr(t, "://");
    if (scheme && genbo__db_is_url(t)) {
        const char *start = scheme + 3;
        const char *slash = start + strcspn(start, "/?");
        /* the last '@' before the path ends the userinfo */
        for (const char *q = start; q < slash; q++)
            if (*q == '@') auth_end = q;
        if (auth_end)
            for (const char *q = start; q < auth_end; q++)
                if (*q == ':') {
                    colon = q;
                    break;
                }
    }
    while (*p && k + 1 < size) {
        if (colon && p == colon + 1) {
            k += (size_t)snprintf(out + k, size - k, "***");
            p = auth_end;
            colon = NULL;
            continue;
        }
        if (!strncasecmp(p, "password=", 9) && (p == t || p[-1] == '?' || p[-1] == '&' || p[-1] == ' ')) {
            k += (size_t)snprintf(out + k, size - k, "%.9s***", p);
            p += 9 + strcspn(p + 9, "& ");
            continue;
        }
        out[k++] = *p++;
    }
    if (k >= size) k = size - 1;
    out[k] = '\0';
}

int genbo__db_connect(const char *target, int readonly, int create, genbo__db **out) {
    *out = NULL;
    if (!target || !*target) return genbo__fail(GENBO_EINVAL, "no database given");
    if (genbo__db_is_url(target)) return genbo__db_pg_connect(target, readonly, out);
    return genbo__db_sqlite_connect(target, readonly, create, out);
}

void genbo__db_close(genbo__db *db) {
    if (db) db->ops->close(db);
}
int genbo__db_is_pg(const genbo__db *db) { return db && db->ops->name[0] == 'p'; }
const char *genbo__db_errmsg(genbo__db *db) { return db ? db->ops->errmsg(db) : "no database"; }
int genbo__db_transient(genbo__db *db) { return db && db->transient; }

int genbo__db_prepare(genbo__db *db, const char *sql, genbo__db_stmt **st) {
    *st = NULL;
    return db->ops->prepare(db, sql, st);
}
int genbo__db_bind_int(genbo__db_stmt *st, int i, int v) { return st->db->ops->bind_int64(st, i, v); }
int genbo__db_bind_int64(genbo__db_stmt *st, int i, int64_t v) { return st->db->ops->bind_int64(st, i, v); }
int genbo__db_bind_double(genbo__db_stmt *st, int i, double v) { return st->db->ops->bind_double(st, i, v); }
int genbo__db_bind_null(genbo__db_stmt *st, int i) { return st->db->ops->bind_null(st, i); }
int genbo__db_bind_text(genbo__db_stmt *st, int i, const char *v, int n, genbo__db_free_fn dtor) {
    return st->db->ops->bind_text(st, i, v, n, dtor);
}
int genbo__db_bind_blob(genbo__db_stmt *st, int i, const void *v, size_t n, genbo__db_free_fn dtor) {
    return st->db->ops->bind_blob(st, i, v, n, dtor);
}
int genbo__db_bind_parameter_count(genbo__db_stmt *st) { return st->db->ops->bind_parameter_count(st); }
int genbo__db_clear_bindings(genbo__db_stmt *st) { return st->db->ops->clear_bindings(st); }
int genbo__db_step(genbo__db_stmt *st) { return st->db->ops->step(st); }
int genbo__db_reset(genbo__db_stmt *st) { return st->db->ops->reset(st); }
void genbo__db_finalize(genbo__db_stmt *st) {
    if (st) st->db->ops->finalize(st);
}
int genbo__db_column_count(genbo__db_stmt *st) { return st->db->ops->column_count(st); }
const char *genbo__db_column_name(genbo__db_stmt *st, int i) { return st->db->ops->column_name(st, i); }
int genbo__db_column_type(genbo__db_stmt *st, int i) { return st->db->ops->column_type(st, i); }
int64_t genbo__db_column_int64(genbo__db_stmt *st, int i) { return st->db->ops->column_int64(st, i); }
int genbo__db_column_int(genbo__db_stmt *st, int i) { return (int)st->db->ops->column_int64(st, i); }
double genbo__db_column_double(genbo__db_stmt *st, int i) { return st->db->ops->column_double(st, i); }
const unsigned char *genbo__db_column_text(genbo__db_stmt *st, int i) { return st->db->ops->column_text(st, i); }
const void *genbo__db_column_blob(genbo__db_stmt *st, int i) { return st->db->ops->column_blob(st, i); }
int genbo__db_column_bytes(genbo__db_stmt *st, int i) { return st->db->ops->column_bytes(st, i); }

int genbo__db_exec(genbo__db *db, const char *sql) { return db->ops->exec(db, sql); }
int64_t genbo__db_changes(genbo__db *db) { return db->ops->changes(db); }
int64_t genbo__db_last_insert_id(genbo__db *db) { return db->ops->last_insert_id(db); }
int genbo__db_in_txn(genbo__db *db) { return db->ops->in_txn(db); }
int genbo__db_begin_write(genbo__db *db) { return db->ops->begin_write(db); }
int genbo__db_begin_read(genbo__db *db) { return db->ops->begin_read(db); }
int genbo__db_commit(genbo__db *db) { return db->ops->exec(db, "COMMIT"); }
int genbo__db_rollback(genbo__db *db) { return db->ops->exec(db, "ROLLBACK"); }
int genbo__db_schema_version(genbo__db *db, int64_t *v) { return db->ops->schema_version(db, v); }
int genbo__db_set_schema_version(genbo__db *db, int64_t v) { return db->ops->set_schema_version(db, v); }
int genbo__db_table_count(genbo__db *db, int64_t *n) { return db->ops->table_count(db, n); }
int genbo__db_has_table(genbo__db *db, const char *name) { return db->ops->has_table(db, name); }
int genbo__db_exec_ddl(genbo__db *db, const char *sql) { return db->ops->exec_ddl(db, sql); }
int genbo__db_prepare_writes(genbo__db *db) { return db->ops->prepare_writes(db); }
int genbo__db_sync_ids(genbo__db *db, const char *table) { return db->ops->sync_ids(db, table); }
int genbo_postgresql_available(void) { return genbo__db_pg_available(); }
void genbo_db_label(const char *db, char *out, size_t size) { genbo__db_mask(db, out, size); }
int genbo__db_data_version(genbo__db *db, int64_t *out) { return db->ops->data_version(db, out); }
int genbo__db_try_lock(genbo__db *db, const char *name, int *got) { return db->ops->try_lock(db, name, got); }
int genbo__db_unlock(genbo__db *db, const char *name) { return db->ops->unlock(db, name); }
