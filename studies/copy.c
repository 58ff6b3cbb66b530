/* copy.c - genbo_db_copy: move studies between databases (SQLite file or
 * PostgreSQL server, either direction), every row of every table.
 *
 * The tables are copied parents first, in id order, with SELECT * on the
 * source and an INSERT of the same columns on the destination, so a column
 * added by a later migration is carried without a change here (both ends
 * are at this genbo's schema version). Ids are kept when the destination
 * has none of them (workers holding trial ids can go on telling against
 * the copy); otherwise they are renumbered and the foreign keys
 * (study_id, run_id, trial_id) follow. One read snapshot on the source,
 * one transaction on the destination: a failed copy leaves nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "studies/store.h"

#define RUNS_OF "run_id IN (SELECT id FROM runs WHERE study_id = ?1)"
/* Every table of the schema (tests/test_db.c checks none is missing). */
static const struct {
    const char *table, *filter, *order;
    int has_id;
} PLAN[] = {
    {"studies", "id = ?1", "id", 1},
    {"runs", "study_id = ?1", "id", 1},
    {"steps", RUNS_OF, "rowid", 0},
    {"datasets", RUNS_OF, "id", 1},
    {"models", RUNS_OF, "id", 1},
    {"trials", "study_id = ?1", "id", 1},
    {"observations", "trial_id IN (SELECT id FROM trials WHERE study_id = ?1)", "trial_id", 0},
    {"metrics", RUNS_OF, "rowid", 0},
    {"reward_samples", RUNS_OF, "rowid", 0},
    {"targets", RUNS_OF, "rowid", 0},
    {"trainings", RUNS_OF, "rowid", 0},
    {"train_curve", RUNS_OF, "rowid", 0},
    {"train_checkpoints", RUNS_OF, "rowid", 0},
};
#define N_PLAN (sizeof PLAN / sizeof PLAN[0])

size_t genbo__copy_tables(const char *const **names) {
    static const char *list[N_PLAN];
    for (size_t i = 0; i < N_PLAN; i++) list[i] = PLAN[i].table;
    *names = list;
    return N_PLAN;
}

/* old id -> new id, appended in ascending old-id order (rows come in id
 * order), looked up by bisection. */
typedef struct idmap {
    int64_t *old, *new_;
    size_t n, cap;
} idmap;

static int map_add(idmap *m, int64_t old, int64_t new_) {
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 256;
        int64_t *o = realloc(m->old, cap * sizeof *o);
        if (!o) return GENBO_ENOMEM;
        m->old = o;
        int64_t *n = realloc(m->new_, cap * sizeof *n);
        if (!n) return GENBO_ENOMEM;
        m->new_ = n;
        m->cap = cap;
    }
    m->old[m->n] = old;
    m->new_[m->n++] = new_;
    return GENBO_OK;
}

static int map_get(const idmap *m, int64_t old, int64_t *out) {
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->old[mid] < old) lo = mid + 1;
        else hi = mid;
    }
    if (lo < m->n && m->old[lo] == old) {
        *out = m->new_[lo];
        return 1;
    }
    return 0;
}

typedef struct copier {
    genbo__db *src, *dst;
    const char *src_label, *dst_label;
    int keep_ids;
    idmap studies, runs, trials;
    size_t rows;
} copier;

static idmap *map_of_table(copier *c, const char *table) {
    return !strcmp(table, "studies") ? &c->studies : !strcmp(table, "runs") ? &c->runs
                                                 : !strcmp(table, "trials") ? &c->trials : NULL;
}

static idmap *map_of_column(copier *c, const char *col) {
    return !strcmp(col, "study_id") ? &c->studies : !strcmp(col, "run_id") ? &c->runs
                                                  : !strcmp(col, "trial_id") ? &c->trials : NULL;
}

/* Can the destination take the source's ids as they are? */
static int ids_free(copier *c, int64_t study_id, int *free_) {
    *free_ = 1;
    for (size_t t = 0; t < N_PLAN && *free_; t++) {
        if (!PLAN[t].has_id) continue;
        char sql[512];
        snprintf(sql, sizeof sql, "SELECT min(id), max(id) FROM %s WHERE %s", PLAN[t].table, PLAN[t].filter);
        genbo__db_stmt *st;
        int rc = genbo__store_prepare(c->src, sql, &st);
        if (rc) return rc;
        genbo__db_bind_int64(st, 1, study_id);
        int64_t lo = 0, hi = -1;
        if (genbo__db_step(st) == GENBO__DB_ROW && genbo__db_column_type(st, 0) != GENBO__DB_NULL) {
            lo = genbo__db_column_int64(st, 0);
            hi = genbo__db_column_int64(st, 1);
        }
        genbo__db_finalize(st);
        if (hi < lo) continue;
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE id BETWEEN ? AND ?", PLAN[t].table);
        rc = genbo__store_prepare(c->dst, sql, &st);
        if (rc) return rc;
        genbo__db_bind_int64(st, 1, lo);
        genbo__db_bind_int64(st, 2, hi);
        if (genbo__db_step(st) != GENBO__DB_ROW) rc = genbo__store_fail(c->dst, "checking ids");
        else if (genbo__db_column_int64(st, 0) > 0) *free_ = 0;
        genbo__db_finalize(st);
        if (rc) return rc;
    }
    return GENBO_OK;
}

/* The INSERT for the source row's columns (without id when renumbering). */
static char *insert_sql(genbo__db_stmt *row, const char *table, int skip_id, int returning) {
    int n = genbo__db_column_count(row);
    size_t cap = 256 + (size_t)n * 40, k = 0;
    char *sql = malloc(cap);
    if (!sql) return NULL;
    k += (size_t)snprintf(sql + k, cap - k, "INSERT INTO %s (", table);
    int first = 1;
    for (int i = 0; i < n; i++) {
        const char *name = genbo__db_column_name(row, i);
        if (skip_id && !strcmp(name, "id")) continue;
        k += (size_t)snprintf(sql + k, cap - k, "%s%s", first ? "" : ", ", name);
        first = 0;
    }
    k += (size_t)snprintf(sql + k, cap - k, ") VALUES (");
    first = 1;
    for (int i = 0; i < n; i++) {
        if (skip_id && !strcmp(genbo__db_column_name(row, i), "id")) continue;
        k += (size_t)snprintf(sql + k, cap - k, "%s?", first ? "" : ", ");
        first = 0;
    }
    snprintf(sql + k, cap - k, ")%s", returning ? " RETURNING id" : "");
    return sql;
}

static int copy_table(copier *c, size_t t, int64_t study_id) {
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT * FROM %s WHERE %s ORDER BY %s", PLAN[t].table, PLAN[t].filter,
             PLAN[t].order);
    genbo__db_stmt *row = NULL, *ins = NULL;
    int rc = genbo__store_prepare(c->src, sql, &row);
    if (rc) return rc;
    genbo__db_bind_int64(row, 1, study_id);
    idmap *own = PLAN[t].has_id ? map_of_table(c, PLAN[t].table) : NULL;
    int renumber = PLAN[t].has_id && !c->keep_ids;
    int id_col = -1, r;
    while (!rc && (r = genbo__db_step(row)) == GENBO__DB_ROW) {
        int n = genbo__db_column_count(row);
        if (!ins) {
            char *isql = insert_sql(row, PLAN[t].table, renumber, renumber);
            if (!isql) return genbo__fail(GENBO_ENOMEM, "out of memory");
            rc = genbo__store_prepare(c->dst, isql, &ins);
            free(isql);
            if (rc) break;
            for (int i = 0; i < n; i++)
                if (!strcmp(genbo__db_column_name(row, i), "id")) id_col = i;
        }
        int k = 0;
        for (int i = 0; i < n; i++) {
            const char *name = genbo__db_column_name(row, i);
            if (renumber && i == id_col) continue;
            k++;
            switch (genbo__db_column_type(row, i)) {
            case GENBO__DB_NULL: genbo__db_bind_null(ins, k); break;
            case GENBO__DB_INTEGER: {
                int64_t v = genbo__db_column_int64(row, i);
                idmap *m = i == id_col ? NULL : map_of_column(c, name);
                if (m && !map_get(m, v, &v))
                    rc = genbo__fail(GENBO_EFORMAT, "%s: %s.%s = %lld refers to a row that was not copied",
                                     c->src_label, PLAN[t].table, name, (long long)v);
                genbo__db_bind_int64(ins, k, v);
                break;
            }
            case GENBO__DB_FLOAT: genbo__db_bind_double(ins, k, genbo__db_column_double(row, i)); break;
            case GENBO__DB_BLOB:
                genbo__db_bind_blob(ins, k, genbo__db_column_blob(row, i), (size_t)genbo__db_column_bytes(row, i),
                                    GENBO__DB_TRANSIENT);
                break;
            default:
                genbo__db_bind_text(ins, k, (const char *)genbo__db_column_text(row, i),
                                    genbo__db_column_bytes(row, i), GENBO__DB_TRANSIENT);
            }
        }
        if (rc) break;
        int s = genbo__db_step(ins);
        if (s != (renumber ? GENBO__DB_ROW : GENBO__DB_DONE)) {
            rc = genbo__store_fail(c->dst, PLAN[t].table);
            break;
        }
        if (own) {
            int64_t old = genbo__db_column_int64(row, id_col);
            rc = map_add(own, old, renumber ? genbo__db_column_int64(ins, 0) : old);
        }
        genbo__db_reset(ins);
        genbo__db_clear_bindings(ins);
        c->rows++;
    }
    if (!rc && r != GENBO__DB_DONE) rc = genbo__store_fail(c->src, PLAN[t].table);
    genbo__db_finalize(row);
    genbo__db_finalize(ins);
    if (!rc && PLAN[t].has_id && genbo__db_sync_ids(c->dst, PLAN[t].table))
        rc = genbo__store_fail(c->dst, "advancing the id sequence");
    return rc;
}

/* The studies to copy: one by name, or all. */
static int source_studies(copier *c, const char *name, int64_t **ids, char ***names, size_t *n) {
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(c->src, name ? "SELECT id, name FROM studies WHERE name = ? ORDER BY id"
                                               : "SELECT id, name FROM studies ORDER BY id", &st);
    if (rc) return rc;
    if (name) genbo__db_bind_text(st, 1, name, -1, GENBO__DB_STATIC);
    *ids = NULL;
    *names = NULL;
    *n = 0;
    size_t cap = 0;
    int r;
    while (!rc && (r = genbo__db_step(st)) == GENBO__DB_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 8;
            int64_t *i2 = realloc(*ids, cap * sizeof *i2);
            if (i2) *ids = i2;
            char **n2 = i2 ? realloc(*names, cap * sizeof *n2) : NULL;
            if (n2) *names = n2;
            if (!i2 || !n2) {
                rc = genbo__fail(GENBO_ENOMEM, "out of memory");
                break;
            }
        }
        (*ids)[*n] = genbo__db_column_int64(st, 0);
        (*names)[*n] = strdup((const char *)genbo__db_column_text(st, 1));
        if (!(*names)[(*n)++]) rc = genbo__fail(GENBO_ENOMEM, "out of memory");
    }
    if (!rc && r != GENBO__DB_DONE) rc = genbo__store_fail(c->src, "listing the studies");
    genbo__db_finalize(st);
    if (!rc && name && *n == 0) rc = genbo__fail(GENBO_ENOTFOUND, "%s: no study named '%s'", c->src_label, name);
    if (!rc && *n == 0) rc = genbo__fail(GENBO_ENOTFOUND, "%s: no studies to copy", c->src_label);
    return rc;
}

static int copy_all(copier *c, size_t n, const int64_t *ids, char **names) {
    for (size_t i = 0; i < n; i++) {
        int64_t exists = 0;
        genbo__db_stmt *st;
        int rc = genbo__store_prepare(c->dst, "SELECT count(*) FROM studies WHERE name = ?", &st);
        if (rc) return rc;
        genbo__db_bind_text(st, 1, names[i], -1, GENBO__DB_STATIC);
        if (genbo__db_step(st) == GENBO__DB_ROW) exists = genbo__db_column_int64(st, 0);
        genbo__db_finalize(st);
        if (exists)
            return genbo__fail(GENBO_ESTATE, "%s: a study named '%s' exists already (genbo delete it there first)",
                               c->dst_label, names[i]);
        rc = ids_free(c, ids[i], &c->keep_ids);
        c->studies.n = c->runs.n = c->trials.n = 0;
        for (size_t t = 0; !rc && t < N_PLAN; t++) rc = copy_table(c, t, ids[i]);
        if (rc) {
            genbo__fail_prefix(rc, "copying study '%s'", names[i]);
            return rc;
        }
    }
    return GENBO_OK;
}

int genbo_db_copy(const char *from, const char *to, const char *study, size_t *n_rows) {
    if (n_rows) *n_rows = 0;
    if (!from || !to) return genbo__fail(GENBO_EINVAL, "genbo_db_copy: no source or destination");
    char src_label[512], dst_label[512];
    genbo__db_mask(from, src_label, sizeof src_label);
    genbo__db_mask(to, dst_label, sizeof dst_label);
    if (!strcmp(from, to)) return genbo__fail(GENBO_EINVAL, "%s: source and destination are the same", src_label);
    copier c = {0};
    c.src_label = src_label;
    c.dst_label = dst_label;
    int rc = genbo__store_open(from, GENBO__STORE_READONLY, &c.src);
    if (!rc) rc = genbo__store_open(to, GENBO__STORE_CREATE, &c.dst);
    int64_t *ids = NULL;
    char **names = NULL;
    size_t n = 0;
    if (!rc && genbo__db_begin_read(c.src)) rc = genbo__store_fail(c.src, "beginning a read");
    if (!rc) rc = source_studies(&c, study, &ids, &names, &n);
    if (!rc) rc = genbo__store_begin(c.dst);
    if (!rc) {
        rc = copy_all(&c, n, ids, names);
        if (rc) genbo__store_rollback(c.dst);
        else rc = genbo__store_commit(c.dst);
    }
    if (c.src && genbo__db_in_txn(c.src)) genbo__db_commit(c.src);
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    free(ids);
    free(c.studies.old), free(c.studies.new_), free(c.runs.old), free(c.runs.new_);
    free(c.trials.old), free(c.trials.new_);
    genbo__store_close(c.src);
    genbo__store_close(c.dst);
    if (!rc && n_rows) *n_rows = c.rows;
    return rc;
}
