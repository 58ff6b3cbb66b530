/* db.c - a study database opened for reading (genbo_db): the dashboards'
 * connection. Opening it is the one check that a file is a genbo database
 * (studies/store.c: the schema version); a snapshot is a deferred read
 * transaction; studies opened on it share its connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "studies/store.h"
#include "studies/study.h"

struct genbo_db {
    sqlite3 *db;
    char *path;
    int in_read; /* inside genbo_db_read_begin */
};

int genbo_db_open(const char *path, genbo_db **out) {
    if (!out) return genbo__fail(GENBO_EINVAL, "genbo_db_open: NULL out");
    *out = NULL;
    if (!path || !*path) return genbo__fail(GENBO_EINVAL, "no database given");
    genbo_db *d = genbo__calloc(1, sizeof *d);
    if (!d) return GENBO_ENOMEM;
    d->path = strdup(path);
    int rc = d->path ? genbo__store_open(path, GENBO__STORE_READONLY, &d->db)
                     : genbo__fail(GENBO_ENOMEM, "out of memory");
    if (rc) {
        genbo_db_close(d);
        return rc;
    }
    *out = d;
    return GENBO_OK;
}

void genbo_db_close(genbo_db *d) {
    if (!d) return;
    if (d->in_read) genbo_db_read_end(d);
    genbo__store_close(d->db);
    free(d->path);
    free(d);
}

sqlite3 *genbo__db_connection(genbo_db *d) { return d ? d->db : NULL; }

int genbo_db_read_begin(genbo_db *d) {
    if (!d) return genbo__fail(GENBO_EINVAL, "genbo_db_read_begin: NULL database");
    if (d->in_read) return genbo__fail(GENBO_ESTATE, "%s: a read snapshot is already open", d->path);
    /* Deferred: the snapshot starts at the first read and, in WAL mode,
     * never blocks a writer. */
    if (sqlite3_exec(d->db, "BEGIN DEFERRED", NULL, NULL, NULL) != SQLITE_OK)
        return genbo__store_fail(d->db, "beginning a read");
    d->in_read = 1;
    return GENBO_OK;
}

void genbo_db_read_end(genbo_db *d) {
    if (!d || !d->in_read) return;
    sqlite3_exec(d->db, "COMMIT", NULL, NULL, NULL);
    genbo__store_rollback(d->db); /* only if the commit left it open */
    d->in_read = 0;
}

int genbo_db_data_version(genbo_db *d, int64_t *out) {
    if (!d || !out) return genbo__fail(GENBO_EINVAL, "genbo_db_data_version: NULL argument");
    return genbo__store_int(d->db, "PRAGMA data_version", 0, 0, out);
}

int genbo_db_list_studies(genbo_db *d, genbo_study_summary **out, size_t *n) {
    if (!d || !out || !n) return genbo__fail(GENBO_EINVAL, "genbo_db_list_studies: NULL argument");
    return genbo__studies_list(d->db, out, n);
}

int genbo_db_study(genbo_db *d, const char *name, genbo_study **out) {
    if (!out) return genbo__fail(GENBO_EINVAL, "genbo_db_study: NULL out");
    *out = NULL;
    if (!d) return genbo__fail(GENBO_EINVAL, "genbo_db_study: NULL database");
    if (!name || !*name) return genbo__fail(GENBO_EINVAL, "no study name given");
    if (strlen(name) >= sizeof ((genbo_study *)0)->name)
        return genbo__fail(GENBO_ENOTFOUND, "unknown study '%s'", name);
    sqlite3_stmt *st;
    int rc = genbo__store_prepare(d->db, "SELECT id, config FROM studies WHERE name = ?", &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    int64_t id = 0;
    char *text = NULL;
    if (r == SQLITE_ROW) {
        id = sqlite3_column_int64(st, 0);
        const char *t = (const char *)sqlite3_column_text(st, 1);
        text = strdup(t ? t : "");
        if (!text) rc = genbo__fail(GENBO_ENOMEM, "out of memory");
    } else if (r == SQLITE_DONE) {
        rc = genbo__fail(GENBO_ENOTFOUND, "unknown study '%s'", name);
    } else {
        rc = genbo__store_fail(d->db, "looking up the study");
    }
    sqlite3_finalize(st);
    genbo_study *s = rc ? NULL : genbo__calloc(1, sizeof *s);
    if (!rc && !s) rc = GENBO_ENOMEM;
    if (!rc) {
        s->db = d->db;
        s->shared_db = 1;
        s->readonly = 1;
        s->id = id;
        snprintf(s->name, sizeof s->name, "%s", name);
        s->cfg_text = text;
        text = NULL;
        s->db_path = strdup(d->path);
        if (!s->db_path) rc = genbo__fail(GENBO_ENOMEM, "out of memory");
    }
    /* A reader shows what is stored even when this genbo cannot use the
     * configuration (a CSV file it names was moved, a key of a newer
     * genbo): the handle then carries the defaults and never loads data. */
    if (!rc && genbo__config_parse_text(s->cfg_text, s->name, &s->cfg) != GENBO_OK) {
        s->cfg_broken = 1;
        rc = genbo_config_default(&s->cfg);
    }
    free(text);
    if (rc) {
        genbo_study_close(s);
        return rc;
    }
    *out = s;
    return GENBO_OK;
}
