/* catalog.c - the studies of a database as a whole: create a study without
 * running it (its data checked at once), delete one, list them with their
 * counts. The list opens the database read-only. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/core.h"
#include "studies/store.h"
#include "studies/study.h"

/* The stored configuration of study `name`, or NULL in *config (missing). */
static int stored_config(sqlite3 *db, const char *name, char **config) {
    *config = NULL;
    sqlite3_stmt *st;
    int rc = genbo__store_prepare(db, "SELECT config FROM studies WHERE name = ?", &st);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        *config = strdup(t ? t : "");
        if (!*config) rc = genbo__fail(GENBO_ENOMEM, "out of memory");
    } else if (r != SQLITE_DONE) {
        rc = genbo__store_fail(db, "looking up the study");
    }
    sqlite3_finalize(st);
    return rc;
}

int genbo_study_create(const char *db_path, const genbo_config *cfg, genbo_study **out) {
    if (out) *out = NULL;
    if (!db_path || !cfg) return genbo__fail(GENBO_EINVAL, "genbo_study_create: NULL argument");
    /* The data first: a study whose files cannot be read is not created. */
    genbo_study probe;
    memset(&probe, 0, sizeof probe);
    probe.cfg = (genbo_config *)cfg;
    snprintf(probe.name, sizeof probe.name, "%s", cfg->name);
    int rc = genbo__study_load_data(&probe);
    size_t dim = probe.data.dim;
    genbo__study_data_free(&probe.data);
    if (rc) return rc;
    sqlite3 *db;
    rc = genbo__store_open(db_path, 0, &db);
    if (rc) return rc;
    char *stored = NULL, *want = genbo_config_to_ini(cfg);
    rc = want ? stored_config(db, cfg->name, &stored) : GENBO_ENOMEM;
    genbo__store_close(db);
    /* Compare resolved configurations: the stored text parsed and written
     * again by this genbo, so keys added by a newer version (at their
     * defaults) do not make the same study file look changed. */
    if (!rc && stored) {
        genbo_config *old_cfg = NULL;
        char *again = NULL;
        if (genbo__config_parse_text(stored, "stored configuration", &old_cfg) == GENBO_OK &&
            (again = genbo_config_to_ini(old_cfg)) != NULL) {
            free(stored);
            stored = again;
        }
        genbo_config_free(old_cfg);
    }
    if (!rc && stored && strcmp(stored, want))
        rc = genbo__fail(GENBO_ESTATE,
                         "%s: study '%s' already exists with another configuration (genbo delete "
                         "--db %s --study %s first, or genbo run STUDY.ini to run it as changed)",
                         db_path, cfg->name, db_path, cfg->name);
    free(stored);
    free(want);
    if (rc) return rc;
    genbo_study *s;
    rc = genbo_study_open(db_path, cfg->name, cfg, GENBO_OPEN_CREATE, &s);
    if (rc) return rc;
    /* Record the dimension, so readers know it before any run. */
    sqlite3_stmt *st;
    rc = genbo__store_begin(s->db);
    if (!rc) rc = genbo__store_prepare(s->db, "UPDATE studies SET dim = ? WHERE id = ? AND dim IS NULL", &st);
    if (!rc) {
        sqlite3_bind_int64(st, 1, (int64_t)dim);
        sqlite3_bind_int64(st, 2, s->id);
        if (sqlite3_step(st) != SQLITE_DONE) rc = genbo__store_fail(s->db, "storing the dimension");
        sqlite3_finalize(st);
        if (rc) genbo__store_rollback(s->db);
        else rc = genbo__store_commit(s->db);
    }
    if (rc || !out) genbo_study_close(s);
    else *out = s;
    return rc;
}

int genbo_study_delete(const char *db_path, const char *name) {
    if (!db_path || !name || !*name) return genbo__fail(GENBO_EINVAL, "genbo_study_delete: no database or study name");
    if (access(db_path, F_OK) != 0) return genbo__fail(GENBO_ENOTFOUND, "%s: no such database", db_path);
    /* A running `genbo run` holds this lock; deleting under it would pull
     * its rows away mid-batch. */
    char lock[4096];
    genbo__run_lock_path(db_path, name, lock, sizeof lock);
    int fd = open(lock, O_RDWR | O_CLOEXEC);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return genbo__fail(GENBO_ESTATE, "study '%s' in %s is being run by another process (lock %s)",
                           name, db_path, lock);
    }
    sqlite3 *db;
    int rc = genbo__store_open(db_path, GENBO__STORE_WRITE, &db); /* never creates or migrates */
    sqlite3_stmt *st = NULL;
    if (!rc) rc = genbo__store_begin(db);
    if (!rc) rc = genbo__store_prepare(db, "DELETE FROM studies WHERE name = ?", &st);
    if (!rc) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) rc = genbo__store_fail(db, "deleting the study");
        else if (sqlite3_changes(db) == 0)
            rc = genbo__fail(GENBO_ENOTFOUND, "%s: no study named '%s'", db_path, name);
    }
    sqlite3_finalize(st);
    if (db) {
        if (rc) genbo__store_rollback(db);
        else rc = genbo__store_commit(db);
    }
    genbo__store_close(db);
    if (fd >= 0) {
        if (!rc) unlink(lock);
        close(fd);
    }
    return rc;
}

/* The columns of a genbo_study_summary, one row per study. */
#define SUMMARY_SQL                                                                                     \
    "SELECT s.id, s.name, s.dim, s.created,"                                                            \
    " (SELECT count(*) FROM runs r WHERE r.study_id = s.id),"                                           \
    " (SELECT count(*) FROM runs r WHERE r.study_id = s.id AND r.status = 'running'),"                  \
    " (SELECT count(*) FROM trials t WHERE t.study_id = s.id AND t.state = 'asked'),"                   \
    " (SELECT count(*) FROM trials t WHERE t.study_id = s.id AND t.state = 'told'),"                    \
    " (SELECT count(*) FROM trials t WHERE t.study_id = s.id AND t.state = 'failed'),"                  \
    " (SELECT max(o.value) FROM observations o JOIN trials t ON t.id = o.trial_id WHERE t.study_id = s.id)," \
    " (SELECT max(coalesce(t.finished, t.asked)) FROM trials t WHERE t.study_id = s.id),"               \
    " (SELECT max(o.value) FROM observations o JOIN trials t ON t.id = o.trial_id WHERE t.study_id = s.id" \
    "  AND (t.round IS NULL OR t.round >= 1)),"                                                         \
    " (SELECT max(o.value) FROM observations o JOIN trials t ON t.id = o.trial_id WHERE t.study_id = s.id" \
    "  AND t.round = 0)"                                                                                \
    " FROM studies s "

/* Run sql (?1 = id when it has a parameter) into a malloc'ed array. */
static int summary_rows(sqlite3 *db, const char *sql, int64_t id, genbo_study_summary **out, size_t *n) {
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    int rc = genbo__store_prepare(db, sql, &st);
    if (rc) return rc;
    if (sqlite3_bind_parameter_count(st) > 0) sqlite3_bind_int64(st, 1, id);
    genbo_study_summary *v = NULL;
    size_t k = 0, cap = 0;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if ((rc = genbo__grow(&v, &cap, k + 1, sizeof *v, "studies"))) break;
        genbo_study_summary *e = &v[k++];
        memset(e, 0, sizeof *e);
        e->id = sqlite3_column_int64(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        snprintf(e->name, sizeof e->name, "%s", name ? name : "");
        e->dim = (size_t)sqlite3_column_int64(st, 2);
        e->created = sqlite3_column_double(st, 3);
        e->runs = sqlite3_column_int64(st, 4);
        e->running = sqlite3_column_int64(st, 5);
        e->asked = sqlite3_column_int64(st, 6);
        e->told = sqlite3_column_int64(st, 7);
        e->failed = sqlite3_column_int64(st, 8);
        e->best_value = sqlite3_column_type(st, 9) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 9);
        e->last_activity = sqlite3_column_type(st, 10) == SQLITE_NULL ? e->created : sqlite3_column_double(st, 10);
        e->best_loop = sqlite3_column_type(st, 11) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 11);
        e->best_run = sqlite3_column_type(st, 12) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 12);
    }
    /* A read that ends on an error must not look complete. */
    if (!rc && r != SQLITE_DONE) rc = genbo__store_fail(db, "reading the studies");
    sqlite3_finalize(st);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = k;
    return GENBO_OK;
}

int genbo__studies_list(sqlite3 *db, genbo_study_summary **out, size_t *n) {
    return summary_rows(db, SUMMARY_SQL "ORDER BY s.id", 0, out, n);
}

int genbo_study_get_summary(genbo_study *s, genbo_study_summary *out) {
    if (!s || !out) return genbo__fail(GENBO_EINVAL, "genbo_study_get_summary: NULL argument");
    genbo_study_summary *v;
    size_t n;
    int rc = summary_rows(s->db, SUMMARY_SQL "WHERE s.id = ?1", s->id, &v, &n);
    if (rc) return rc;
    if (n == 1) *out = v[0];
    else rc = genbo__fail(GENBO_ENOTFOUND, "unknown study '%s'", s->name);
    free(v);
    return rc;
}

int genbo_db_studies(const char *db_path, genbo_study_summary **out, size_t *n) {
    if (!out || !n) return genbo__fail(GENBO_EINVAL, "genbo_db_studies: NULL argument");
    *out = NULL;
    *n = 0;
    if (!db_path) return genbo__fail(GENBO_EINVAL, "genbo_db_studies: no database");
    if (access(db_path, F_OK) != 0) return genbo__fail(GENBO_ENOTFOUND, "%s: no such database", db_path);
    sqlite3 *db;
    int rc = genbo__store_open(db_path, 1, &db);
    if (rc) return rc;
    rc = genbo__studies_list(db, out, n);
    genbo__store_close(db);
    return rc;
}
