/* db_dump.h - every row a study owns, as one canonical text, through the
 * storage interface (studies/db.h), so two databases - SQLite or
 * PostgreSQL - can be compared row for row. Ids are written as they are;
 * columns named in `skip` (e.g. timestamps, which differ between two runs
 * of the same study) are left out. Doubles %.17g, blobs as length + CRC. */
#ifndef GENBO_TEST_DB_DUMP_H
#define GENBO_TEST_DB_DUMP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "studies/db.h"

size_t genbo__copy_tables(const char *const **names);

typedef struct dump_buf {
    char *s;
    size_t n, cap;
} dump_buf;

static inline void dump_add(dump_buf *b, const char *text, size_t len) {
    if (b->n + len + 1 > b->cap) {
        b->cap = 2 * (b->n + len + 1) + 4096;
        b->s = realloc(b->s, b->cap);
        if (!b->s) abort();
    }
    memcpy(b->s + b->n, text, len);
    b->n += len;
    b->s[b->n] = '\0';
}

static inline int dump_skipped(const char *col, const char *const *skip) {
    for (size_t i = 0; skip && skip[i]; i++)
        if (!strcmp(skip[i], col)) return 1;
    return 0;
}

/* Rows of table `t` restricted by `filter` (?1 = the study id), ordered. */
static inline long dump_table(genbo__db *db, const char *t, const char *filter, const char *order,
                              long long study_id, const char *const *skip, dump_buf *b) {
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT * FROM %s WHERE %s ORDER BY %s", t, filter, order);
    genbo__db_stmt *st;
    if (genbo__db_prepare(db, sql, &st) != GENBO__DB_OK) return -1;
    genbo__db_bind_int64(st, 1, study_id);
    long rows = 0;
    int r;
    while ((r = genbo__db_step(st)) == GENBO__DB_ROW) {
        char cell[256];
        int k = snprintf(cell, sizeof cell, "%s:", t);
        dump_add(b, cell, (size_t)k);
        for (int i = 0; i < genbo__db_column_count(st); i++) {
            const char *name = genbo__db_column_name(st, i);
            if (dump_skipped(name, skip)) continue;
            switch (genbo__db_column_type(st, i)) {
            case GENBO__DB_NULL: k = snprintf(cell, sizeof cell, " %s=NULL", name); break;
            case GENBO__DB_INTEGER:
                k = snprintf(cell, sizeof cell, " %s=%lld", name, (long long)genbo__db_column_int64(st, i));
                break;
            case GENBO__DB_FLOAT: k = snprintf(cell, sizeof cell, " %s=%.17g", name, genbo__db_column_double(st, i)); break;
            case GENBO__DB_BLOB:
                k = snprintf(cell, sizeof cell, " %s=blob%d/%08x", name, genbo__db_column_bytes(st, i),
                             (unsigned)genbo__crc32(0, genbo__db_column_blob(st, i), (size_t)genbo__db_column_bytes(st, i)));
                break;
            default: {
                const char *v = (const char *)genbo__db_column_text(st, i);
                k = snprintf(cell, sizeof cell, " %s='", name);
                dump_add(b, cell, (size_t)k);
                dump_add(b, v, strlen(v));
                k = snprintf(cell, sizeof cell, "'");
            }
            }
            dump_add(b, cell, (size_t)k);
        }
        dump_add(b, "\n", 1);
        rows++;
    }
    genbo__db_finalize(st);
    return r == GENBO__DB_DONE ? rows : -1;
}

#define DUMP_RUNS_OF "run_id IN (SELECT id FROM runs WHERE study_id = ?1)"
/* Every table of the study `name` (the copy plan of studies/copy.c, which
 * names every table of the schema); NULL on an error. *rows counts rows. */
static inline char *dump_study(genbo__db *db, const char *name, const char *const *skip, long *rows) {
    static const struct { const char *t, *filter, *order; } T[] = {
        {"studies", "id = ?1", "id"},
        {"runs", "study_id = ?1", "id"},
        {"steps", DUMP_RUNS_OF, "run_id, step"},
        {"datasets", DUMP_RUNS_OF, "id"},
        {"models", DUMP_RUNS_OF, "id"},
        {"trials", "study_id = ?1", "id"},
        {"observations", "trial_id IN (SELECT id FROM trials WHERE study_id = ?1)", "trial_id"},
        {"metrics", DUMP_RUNS_OF, "run_id, round, target_label, method"},
        {"reward_samples", DUMP_RUNS_OF, "run_id, kind, value"},
        {"targets", DUMP_RUNS_OF, "run_id, label"},
        {"trainings", DUMP_RUNS_OF, "run_id, round"},
        {"train_curve", DUMP_RUNS_OF, "run_id, round, step"},
        {"train_checkpoints", DUMP_RUNS_OF, "run_id, round"},
    };
    genbo__db_stmt *st;
    long long id = -1;
    if (genbo__db_prepare(db, "SELECT id FROM studies WHERE name = ?", &st) != GENBO__DB_OK) return NULL;
    genbo__db_bind_text(st, 1, name, -1, GENBO__DB_STATIC);
    if (genbo__db_step(st) == GENBO__DB_ROW) id = genbo__db_column_int64(st, 0);
    genbo__db_finalize(st);
    if (id < 0) return NULL;
    dump_buf b = {0};
    dump_add(&b, "", 0);
    *rows = 0;
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        long n = dump_table(db, T[i].t, T[i].filter, T[i].order, id, skip, &b);
        if (n < 0) {
            free(b.s);
            return NULL;
        }
        *rows += n;
    }
    return b.s;
}

#endif
