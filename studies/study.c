/* study.c - opening and closing a study in a database, the completed-steps
 * bookkeeping. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "core/core.h"
#include "studies/store.h"
#include "studies/study.h"

/* Wall-clock time stored in the database: Unix seconds (the dashboard
 * shows them as dates). genbo__now() is monotonic, not a date. */
double genbo__unix_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Find the study row; *found = 0 if missing. */
static int find_study(genbo__db *db, const char *name, int64_t *id, char **config, int *found) {
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(db, "SELECT id, config FROM studies WHERE name = ?", &st);
    if (rc) return rc;
    genbo__db_bind_text(st, 1, name, -1, GENBO__DB_STATIC);
    int s = genbo__db_step(st);
    *found = 0;
    if (s == GENBO__DB_ROW) {
        *found = 1;
        *id = genbo__db_column_int64(st, 0);
        if (config) {
            const char *t = (const char *)genbo__db_column_text(st, 1);
            *config = strdup(t ? t : "");
            if (!*config) rc = genbo__fail(GENBO_ENOMEM, "out of memory");
        }
    } else if (s != GENBO__DB_DONE) {
        rc = genbo__store_fail(db, "looking up the study");
    }
    genbo__db_finalize(st);
    return rc;
}

/* Create the study, or update its stored configuration to cfg_text. Under
 * the write lock, so two processes creating the same study agree. */
static int upsert_study(genbo__db *db, const char *name, const char *cfg_text, int64_t *id) {
    int rc = genbo__store_begin(db);
    if (rc) return rc;
    int found;
    rc = find_study(db, name, id, NULL, &found);
    genbo__db_stmt *st = NULL;
    if (!rc) {
        const char *sql = found ? "UPDATE studies SET config = ?2 WHERE id = ?1 AND config <> ?2"
                                : "INSERT INTO studies (name, config, created) VALUES (?1, ?2, ?3)";
        rc = genbo__store_prepare(db, sql, &st);
    }
    if (!rc) {
        if (found) genbo__db_bind_int64(st, 1, *id);
        else genbo__db_bind_text(st, 1, name, -1, GENBO__DB_STATIC);
        genbo__db_bind_text(st, 2, cfg_text, -1, GENBO__DB_STATIC);
        if (!found) genbo__db_bind_double(st, 3, genbo__unix_now());
        if (genbo__db_step(st) != GENBO__DB_DONE) rc = genbo__store_fail(db, "storing the study");
        else if (!found) *id = genbo__db_last_insert_id(db);
    }
    genbo__db_finalize(st);
    if (rc) {
        genbo__store_rollback(db);
        return rc;
    }
    return genbo__store_commit(db);
}

char *genbo__study_config_text(const genbo_config *cfg) {
    genbo_config *c = genbo__malloc(sizeof *c);
    if (!c) return NULL;
    memcpy(c, cfg, sizeof *c);
    char masked[sizeof c->db];
    genbo__db_mask(c->db, masked, sizeof masked);
    memcpy(c->db, masked, sizeof masked);
    char *text = genbo_config_to_ini(c);
    free(c);
    return text;
}

int genbo_study_open(const char *db_path, const char *name, const genbo_config *cfg, int flags,
                     genbo_study **out) {
    if (!out) return genbo__fail(GENBO_EINVAL, "genbo_study_open: NULL out");
    *out = NULL;
    if (!db_path || !name || !*name) return genbo__fail(GENBO_EINVAL, "genbo_study_open: no database or study name");
    if (strlen(name) >= sizeof ((genbo_study *)0)->name)
        return genbo__fail(GENBO_EINVAL, "study name '%s' is too long", name);
    int readonly = (flags & GENBO_OPEN_READONLY) != 0;
    if (readonly && (flags & GENBO_OPEN_CREATE))
        return genbo__fail(GENBO_EINVAL, "genbo_study_open: READONLY and CREATE together");
    /* Without CREATE the database must exist: a mistyped --db on `genbo ask`
     * must not leave an empty database behind. */
    char label[512]; /* the target as messages may show it: no password */
    genbo__db_mask(db_path, label, sizeof label);
    if (!(flags & GENBO_OPEN_CREATE) && !genbo__store_exists(db_path))
        return genbo__fail(GENBO_ENOTFOUND, "%s: no such database", label);
    genbo_study *s = genbo__calloc(1, sizeof *s);
    if (!s) return GENBO_ENOMEM;
    s->readonly = readonly;
    snprintf(s->name, sizeof s->name, "%s", name);
    s->db_path = strdup(label);
    int rc = s->db_path ? GENBO_OK : genbo__fail(GENBO_ENOMEM, "out of memory");
    if (!rc) rc = genbo__store_open(db_path, readonly ? GENBO__STORE_READONLY
                                               : (flags & GENBO_OPEN_CREATE) ? GENBO__STORE_CREATE
                                                                             : GENBO__STORE_WRITE, &s->db);
    int found = 0;
    char *stored = NULL;
    if (!rc) rc = find_study(s->db, name, &s->id, &stored, &found);
    if (!rc && cfg && !readonly && (found || (flags & GENBO_OPEN_CREATE))) {
        /* The given configuration becomes the study's (each run keeps the
         * configuration it ran with). */
        s->cfg_text = genbo__study_config_text(cfg);
        rc = s->cfg_text ? upsert_study(s->db, name, s->cfg_text, &s->id) : GENBO_ENOMEM;
        if (!rc) {
            s->cfg = genbo__malloc(sizeof *s->cfg);
            if (s->cfg) memcpy(s->cfg, cfg, sizeof *s->cfg);
            else rc = GENBO_ENOMEM;
        }
    } else if (!rc && !found) {
        rc = genbo__fail(GENBO_ENOTFOUND, "%s: no study named '%s'%s", label, name,
                         cfg ? "" : " (create it with a study file: genbo create STUDY.ini)");
    } else if (!rc) {
        char source[800];
        snprintf(source, sizeof source, "%s: study '%s' configuration", label, name);
        rc = genbo__config_parse_text(stored, source, &s->cfg);
        if (!rc) {
            s->cfg_text = stored;
            stored = NULL;
        }
    }
    free(stored);
    if (rc) {
        genbo_study_close(s);
        return rc;
    }
    *out = s;
    return GENBO_OK;
}

void genbo_study_close(genbo_study *s) {
    if (!s) return;
    genbo__study_models_free(&s->models);
    genbo__study_names_free(s);
    genbo__study_data_free(&s->data);
    if (!s->shared_db) genbo__store_close(s->db);
    genbo_config_free(s->cfg);
    free(s->cfg_text);
    free(s->db_path);
    free(s);
}

size_t genbo_study_dim(const genbo_study *s) {
    if (!s) return 0;
    if (s->have_data) return s->data.dim;
    int64_t dim = 0;
    if (genbo__store_int(s->db, "SELECT dim FROM studies WHERE id = ?", s->id, 0, &dim)) return 0;
    if (dim > 0 || s->shared_db) return dim > 0 ? (size_t)dim : 0;
    /* Not recorded yet (no run so far): load the data to find out. The
     * handle caches them, which does not change what it represents. */
    genbo_study *mut = (genbo_study *)s;
    return genbo__study_load_data(mut) ? 0 : mut->data.dim;
}

void genbo__study_models_free(genbo__study_models *m) {
    genbo_reward_free(m->reward);
    genbo_diffusion_free(m->diffusion);
    genbo_diffusion_free(m->reweighted);
    free(m->pseudo);
    memset(m, 0, sizeof *m);
}

int genbo__step_done(genbo_study *s, int64_t run_id, const char *step) {
    genbo__db_stmt *st;
    if (genbo__store_prepare(s->db, "SELECT 1 FROM steps WHERE run_id = ? AND step = ?", &st)) return 0;
    genbo__db_bind_int64(st, 1, run_id);
    genbo__db_bind_text(st, 2, step, -1, GENBO__DB_STATIC);
    int done = genbo__db_step(st) == GENBO__DB_ROW;
    genbo__db_finalize(st);
    return done;
}

/* Record a completed step; the caller holds the write transaction, so the
 * step's results and its mark commit together. */
int genbo__step_mark(genbo_study *s, int64_t run_id, const char *step, double seconds,
                     const char *detail) {
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db,
                                  "INSERT OR REPLACE INTO steps (run_id, step, seconds, finished, detail) "
                                  "VALUES (?, ?, ?, ?, ?)", &st);
    if (rc) return rc;
    genbo__db_bind_int64(st, 1, run_id);
    genbo__db_bind_text(st, 2, step, -1, GENBO__DB_STATIC);
    genbo__db_bind_double(st, 3, seconds);
    genbo__db_bind_double(st, 4, genbo__unix_now());
    if (detail) genbo__db_bind_text(st, 5, detail, -1, GENBO__DB_STATIC);
    if (genbo__db_step(st) != GENBO__DB_DONE) rc = genbo__store_fail(s->db, "recording a step");
    genbo__db_finalize(st);
    if (rc) return rc;
    rc = genbo__store_prepare(s->db, "UPDATE runs SET last_step = ? WHERE id = ?", &st);
    if (rc) return rc;
    genbo__db_bind_text(st, 1, step, -1, GENBO__DB_STATIC);
    genbo__db_bind_int64(st, 2, run_id);
    if (genbo__db_step(st) != GENBO__DB_DONE) rc = genbo__store_fail(s->db, "recording a step");
    genbo__db_finalize(st);
    return rc;
}

int genbo__step_detail(genbo_study *s, int64_t run_id, const char *step, const char *detail) {
    int rc = genbo__store_begin(s->db);
    if (rc) return rc;
    genbo__db_stmt *st;
    rc = genbo__store_prepare(s->db, "UPDATE steps SET detail = ? WHERE run_id = ? AND step = ?", &st);
    if (!rc) {
        genbo__db_bind_text(st, 1, detail, -1, GENBO__DB_STATIC);
        genbo__db_bind_int64(st, 2, run_id);
        genbo__db_bind_text(st, 3, step, -1, GENBO__DB_STATIC);
        if (genbo__db_step(st) != GENBO__DB_DONE) rc = genbo__store_fail(s->db, "noting a step");
        genbo__db_finalize(st);
    }
    if (rc) genbo__store_rollback(s->db);
    else rc = genbo__store_commit(s->db);
    return rc;
}

/* After round r: refit the reward on every label, re-pseudo-label the pool,
 * optionally fine-tune the diffusion model on the pool's new pseudo-labels
 * plus the trusted told designs, and commit the models with the round's
 * mark. Two causes of the runaway loop (issue 14) are refused here: told
 * values on another scale than the labels (the refit keeps them - they are
 * the user's data - but the diffusion model, conditioned in label units,
 * is not fine-tuned on them, and the round's step says why) and fine-
 * tuning on designs the trust region had to move. */
