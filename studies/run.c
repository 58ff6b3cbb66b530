/* run.c - genbo_study_run: the whole pipeline, resumable, and the runs
 * table (a run's row: created, resumed, finished).
 *
 *   the run lock                                 (run_lock.c)
 *   data -> reward -> pseudo -> diffusion        (pipeline.c)
 *   generate: for each target and method a batch of n designs,
 *   round 1..R: a batch at the loop target, refit, optional fine-tune
 *                                                (optimizer/loop.c, on the
 *                                                 storage of loop_store.c)
 *
 * A batch is idempotent: its designs are inserted as 'asked' trials (one
 * transaction), then evaluated and told (one transaction), then its metrics
 * row is written. After a crash the rerun finds the batch's trials, tells
 * only those still asked, and writes the missing metrics - nothing told is
 * ever evaluated twice or lost. Designs are seeded by (round, target,
 * method), so a batch regenerated after a crash is the same batch. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "studies/store.h"
#include "studies/study.h"

int genbo__run_create(genbo_study *s, const char *kind, int64_t *run_id) {
    int rc = genbo__store_begin(s->db);
    if (rc) return rc;
    genbo__db_stmt *st;
    rc = genbo__store_prepare(s->db,
                              "INSERT INTO runs (study_id, kind, config, seed, version, status, started) "
                              "VALUES (?, ?, ?, ?, ?, 'running', ?)", &st);
    if (!rc) {
        genbo__db_bind_int64(st, 1, s->id);
        genbo__db_bind_text(st, 2, kind, -1, GENBO__DB_STATIC);
        genbo__db_bind_text(st, 3, s->cfg_text, -1, GENBO__DB_STATIC);
        genbo__db_bind_int64(st, 4, (int64_t)s->cfg->seed);
        genbo__db_bind_text(st, 5, genbo_version(), -1, GENBO__DB_STATIC);
        genbo__db_bind_double(st, 6, genbo__unix_now());
        if (genbo__db_step(st) != GENBO__DB_DONE) rc = genbo__store_fail(s->db, "creating a run");
        *run_id = genbo__db_last_insert_id(s->db);
        genbo__db_finalize(st);
    }
    if (rc) {
        genbo__store_rollback(s->db);
        return rc;
    }
    return genbo__store_commit(s->db);
}

int genbo__run_finish(genbo_study *s, int64_t run_id, int status) {
    /* Keep the failure's message: the bookkeeping below must not replace it. */
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", status ? genbo_errmsg() : "");
    int rc = genbo__store_begin(s->db);
    if (rc) return rc;
    genbo__db_stmt *st;
    rc = genbo__store_prepare(s->db, "UPDATE runs SET status = ?, ended = ?, error = ? WHERE id = ?", &st);
    if (!rc) {
        genbo__db_bind_text(st, 1, status ? "failed" : "done", -1, GENBO__DB_STATIC);
        genbo__db_bind_double(st, 2, genbo__unix_now());
        if (status) genbo__db_bind_text(st, 3, msg, -1, GENBO__DB_STATIC);
        genbo__db_bind_int64(st, 4, run_id);
        if (genbo__db_step(st) != GENBO__DB_DONE) rc = genbo__store_fail(s->db, "finishing a run");
        genbo__db_finalize(st);
    }
    if (rc) genbo__store_rollback(s->db);
    else rc = genbo__store_commit(s->db);
    if (status) genbo__fail(status, "%s", msg);
    return rc;
}

/* The run to resume (the newest unfinished 'run' with this configuration),
 * or a new one. */
static int resume_or_create(genbo_study *s, int64_t *run_id, int *resumed) {
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db,
                                  "SELECT id, config FROM runs WHERE study_id = ? AND kind = 'run' "
                                  "AND status <> 'done' ORDER BY id DESC LIMIT 1", &st);
    if (rc) return rc;
    genbo__db_bind_int64(st, 1, s->id);
    *run_id = 0;
    if (genbo__db_step(st) == GENBO__DB_ROW && !strcmp((const char *)genbo__db_column_text(st, 1), s->cfg_text))
        *run_id = genbo__db_column_int64(st, 0);
    genbo__db_finalize(st);
    *resumed = *run_id != 0;
    if (*resumed) {
        rc = genbo__store_begin(s->db);
        if (rc) return rc;
        rc = genbo__store_prepare(s->db, "UPDATE runs SET status = 'running', error = NULL, ended = NULL "
                                         "WHERE id = ?", &st);
        if (!rc) {
            genbo__db_bind_int64(st, 1, *run_id);
            if (genbo__db_step(st) != GENBO__DB_DONE) rc = genbo__store_fail(s->db, "resuming a run");
            genbo__db_finalize(st);
        }
        if (rc) genbo__store_rollback(s->db);
        else rc = genbo__store_commit(s->db);
        return rc;
    }
    return genbo__run_create(s, "run", run_id);
}

int genbo__run_target_value(genbo_study *s, int64_t run_id, const char *label, double *value) {
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db, "SELECT value FROM targets WHERE run_id = ? AND label = ?", &st);
    if (rc) return rc;
    genbo__db_bind_int64(st, 1, run_id);
    genbo__db_bind_text(st, 2, label, -1, GENBO__DB_STATIC);
    if (genbo__db_step(st) == GENBO__DB_ROW) *value = genbo__db_column_double(st, 0);
    else rc = genbo__fail(GENBO_ENOTFOUND, "run %lld has no resolved target '%s'", (long long)run_id, label);
    genbo__db_finalize(st);
    return rc;
}

int genbo_study_run(genbo_study *s, genbo_progress_fn progress_fn, void *ctx) {
    if (!s) return genbo__fail(GENBO_EINVAL, "genbo_study_run: NULL study");
    if (s->readonly) return genbo__fail(GENBO_ESTATE, "study '%s' is open read-only", s->name);
    int lock;
    int rc = genbo__run_lock(s, &lock);
    if (rc) return rc;
    int64_t run_id;
    int resumed;
    rc = resume_or_create(s, &run_id, &resumed);
    if (rc) {
        genbo__run_unlock(s, lock);
        return rc;
    }
    s->progress = progress_fn;
    s->progress_ctx = ctx;
    if (resumed && progress_fn) {
        char msg[64];
        snprintf(msg, sizeof msg, "resuming run %lld", (long long)run_id);
        progress_fn(ctx, "resume", 0, 0, msg);
    }
    rc = genbo__study_loop(s, run_id);
    int rc2 = genbo__run_finish(s, run_id, rc);
    genbo__run_unlock(s, lock);
    s->progress = NULL;
    s->progress_ctx = NULL;
    return rc ? rc : rc2;
}

int64_t genbo__study_last_run(genbo_study *s) {
    int64_t id = 0;
    genbo__store_int(s->db, "SELECT MAX(id) FROM runs WHERE study_id = ? AND kind = 'run'", s->id, 0, &id);
    return id;
}
