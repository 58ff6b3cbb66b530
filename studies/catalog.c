/* catalog.c - the studies of a database as a whole: create a study without
 * running it (its data checked at once), delete one, list them with their
 * counts. The list opens the database read-only. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/core.h"
#include "studies/store.h"
#include "studies/study.h"

/* The stored configuration of study `name`, or NULL in *config (missing). */
static int stored_config(genbo__db *db, const char *name, char **config) {
    *config = NULL;
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(db, "SELECT config FROM studies WHERE name = ?", &st);
    if (rc) return rc;
    genbo__db_bind_text(st, 1, name, -1, GENBO__DB_STATIC);
    int r = genbo__db_step(st);
    if (r == GENBO__DB_ROW) {
        const char *t = (const char *)genbo__db_column_text(st, 0);
        *config = strdup(t ? t : "");
        if (!*config) rc = genbo__fail(GENBO_ENOMEM, "out of memory");
    } else if (r != GENBO__DB_DONE) {
        rc = genbo__store_fail(db, "looking up the study");
    }
    genbo__db_finalize(st);
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
    genbo__db *db;
    rc = genbo__store_open(db_path, 0, &db);
    if (rc) return rc;
    char *stored = NULL, *want = genbo__study_config_text(cfg);
    rc = want ? stored_config(db, cfg->name, &stored) : GENBO_ENOMEM;
    genbo__store_close(db);
    /* Compare resolved configurations: the stored text parsed and written
     * again by this genbo, so keys added by a newer version (at their
     * defaults) do not make the same study file look changed. */
    if (!rc && stored) {
        genbo_config *old_cfg = NULL;
        char *again = NULL;
        if (genbo__config_parse_text(stored, "stored configuration", &old_cfg) == GENBO_OK &&
            (again = genbo__study_config_text(old_cfg)) != NULL) {
            free(stored);
            stored = again;
        }
        genbo_config_free(old_cfg);
    }
    char label[512];
    genbo__db_mask(db_path, label, sizeof label);
    if (!rc && stored && strcmp(stored, want))
        rc = genbo__fail(GENBO_ESTATE,
                         "%s: study '%s' already exists with another configuration (genbo delete "
                         "--db %s --study %s first, or genbo run STUDY.ini to run it as changed)",
                         label, cfg->name, label, cfg->name);
    free(stored);
    free(want);
    if (rc) return rc;
    genbo_study *s;
    rc = genbo_study_open(db_path, cfg->name, cfg, GENBO_OPEN_CREATE, &s);
    if (rc) return rc;
    /* Record the dimension, so readers know it before any run. */
    genbo__db_stmt *st;
    rc = genbo__store_begin(s->db);
    if (!rc) rc = genbo__store_prepare(s->db, "UPDATE studies SET dim = ? WHERE id = ? AND dim IS NULL", &st);
    if (!rc) {
        genbo__db_bind_int64(st, 1, (int64_t)dim);
        genbo__db_bind_int64(st, 2, s->id);
        if (genbo__db_step(st) != GENBO__DB_DONE) rc = genbo__store_fail(s->db, "storing the dimension");
        genbo__db_finalize(st);
        if (rc) genbo__store_rollback(s->db);
        else rc = genbo__store_commit(s->db);
    }
    if (rc || !out) genbo_study_close(s);
    else *out = s;
    return rc;
}

int genbo_study_delete(const char *db_path, const char *name) {
    if (!db_path || !name || !*name) return genbo__fail(GENBO_EINVAL, "genbo_study_delete: no database or study name");
    char label[512];
    genbo__db_mask(db_path, label, sizeof label);
    if (!genbo__store_exists(db_path)) return genbo__fail(GENBO_ENOTFOUND, "%s: no such database", label);
    /* A running `genbo run` holds the run lock; deleting under it would
     * pull its rows away mid-batch. SQLite: an flock on a file beside the
     * database; PostgreSQL: an advisory lock (taken below). */
    char lock[4096] = "";
    int fd = -1;
    if (!genbo__db_is_url(db_path)) {
        genbo__run_lock_path(db_path, name, lock, sizeof lock);
        fd = open(lock, O_RDWR | O_CLOEXEC);
        if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) {
            close(fd);
            return genbo__fail(GENBO_ESTATE, "study '%s' in %s is being run by another process (lock %s)",
                               name, label, lock);
        }
    }
    genbo__db *db;
    int rc = genbo__store_open(db_path, GENBO__STORE_WRITE, &db); /* never creates or migrates */
    int locked = 0;
    if (!rc && genbo__db_is_pg(db)) {
        if (genbo__db_try_lock(db, name, &locked)) rc = genbo__store_fail(db, "taking the run lock");
        else if (!locked)
            rc = genbo__fail(GENBO_ESTATE, "study '%s' in %s is being run by another process (advisory lock)",
                             name, label);
    }
    genbo__db_stmt *st = NULL;
    if (!rc) rc = genbo__store_begin(db);
    if (!rc) rc = genbo__store_prepare(db, "DELETE FROM studies WHERE name = ?", &st);
    if (!rc) {
        genbo__db_bind_text(st, 1, name, -1, GENBO__DB_STATIC);
        if (genbo__db_step(st) != GENBO__DB_DONE) rc = genbo__store_fail(db, "deleting the study");
        else if (genbo__db_changes(db) == 0)
            rc = genbo__fail(GENBO_ENOTFOUND, "%s: no study named '%s'", label, name);
    }
    genbo__db_finalize(st);
    if (db) {
        if (rc) genbo__store_rollback(db);
        else rc = genbo__store_commit(db);
        if (locked) genbo__db_unlock(db, name);
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

static void summary_row(genbo__db_stmt *st, void *elem) {
    genbo_study_summary *e = elem;
    e->id = genbo__db_column_int64(st, 0);
    genbo__store_col_text(st, 1, e->name, sizeof e->name);
    e->dim = (size_t)genbo__db_column_int64(st, 2);
    e->created = genbo__db_column_double(st, 3);
    e->runs = genbo__db_column_int64(st, 4);
    e->running = genbo__db_column_int64(st, 5);
    e->asked = genbo__db_column_int64(st, 6);
    e->told = genbo__db_column_int64(st, 7);
    e->failed = genbo__db_column_int64(st, 8);
    e->best_value = genbo__store_col_double(st, 9);
    e->last_activity = genbo__db_column_type(st, 10) == GENBO__DB_NULL ? e->created : genbo__db_column_double(st, 10);
    e->best_loop = genbo__store_col_double(st, 11);
    e->best_run = genbo__store_col_double(st, 12);
}

/* Run sql (?1 = id when it has a parameter) into a malloc'ed array. */
static int summary_rows(genbo__db *db, const char *sql, int64_t id, genbo_study_summary **out, size_t *n) {
    *out = NULL;
    *n = 0;
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(db, sql, &st);
    if (rc) return rc;
    if (genbo__db_bind_parameter_count(st) > 0) genbo__db_bind_int64(st, 1, id);
    return genbo__store_rows(db, st, "reading the studies", sizeof **out, summary_row, (void **)out, n);
}

int genbo__studies_list(genbo__db *db, genbo_study_summary **out, size_t *n) {
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
    genbo__db *db;
    int rc = genbo__store_open(db_path, 1, &db); /* says "no such database" */
    if (rc) return rc;
    rc = genbo__studies_list(db, out, n);
    genbo__store_close(db);
    return rc;
}
