/* training.c - a diffusion training as the study database sees it: the
 * loss curve (train_curve, one row per validation), the last checkpoint
 * (train_checkpoints, one row per run and round, replaced in place) and
 * the summary (trainings). step_diffusion and the design loop's fine-tune
 * attach these callbacks to their genbo_diffusion_params. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "studies/store.h"
#include "studies/study.h"

/* Step a prepared and bound statement in its own transaction and
 * finalize it; `what` names the write in an error message. */
static int step_in_transaction(genbo_study *s, genbo__db_stmt *st, const char *what) {
    int rc = genbo__store_begin(s->db);
    if (rc) {
        genbo__db_finalize(st);
        return rc;
    }
    if (genbo__db_step(st) != GENBO__DB_DONE) rc = genbo__store_fail(s->db, what);
    genbo__db_finalize(st);
    if (rc) {
        genbo__store_rollback(s->db);
        return rc;
    }
    return genbo__store_commit(s->db);
}

static int curve_row(void *ctx, const genbo_train_point *pt) {
    genbo__study_training *tr = ctx;
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(tr->s->db,
                                  "INSERT OR REPLACE INTO train_curve (run_id, round, step, train_loss, "
                                  "val_loss, lr, seconds) VALUES (?, ?, ?, ?, ?, ?, ?)", &st);
    if (rc) return rc;
    genbo__db_bind_int64(st, 1, tr->run_id);
    genbo__db_bind_int(st, 2, tr->round);
    genbo__db_bind_int64(st, 3, pt->step);
    if (isfinite(pt->train_loss)) genbo__db_bind_double(st, 4, pt->train_loss);
    if (isfinite(pt->val_loss)) genbo__db_bind_double(st, 5, pt->val_loss);
    genbo__db_bind_double(st, 6, pt->lr);
    genbo__db_bind_double(st, 7, pt->seconds);
    return step_in_transaction(tr->s, st, "storing the training curve");
}

static int checkpoint_row(void *ctx, long step, const void *buf, size_t len) {
    genbo__study_training *tr = ctx;
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(tr->s->db,
                                  "INSERT OR REPLACE INTO train_checkpoints (run_id, round, step, created, "
                                  "data) VALUES (?, ?, ?, ?, ?)", &st);
    if (rc) return rc;
    genbo__db_bind_int64(st, 1, tr->run_id);
    genbo__db_bind_int(st, 2, tr->round);
    genbo__db_bind_int64(st, 3, step);
    genbo__db_bind_double(st, 4, genbo__unix_now());
    genbo__db_bind_blob(st, 5, buf, (uint64_t)len, GENBO__DB_STATIC);
    return step_in_transaction(tr->s, st, "storing a training checkpoint");
}

/* Run one statement binding (run_id, round, [step]) in its own transaction. */
static int exec_run_round(genbo_study *s, const char *sql, int64_t run_id, int round, long step) {
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db, sql, &st);
    if (rc) return rc;
    genbo__db_bind_int64(st, 1, run_id);
    genbo__db_bind_int(st, 2, round);
    if (genbo__db_bind_parameter_count(st) >= 3) genbo__db_bind_int64(st, 3, step);
    return step_in_transaction(s, st, "updating the training records");
}

int genbo__training_attach(genbo_study *s, int64_t run_id, int round, genbo_diffusion_params *dp,
                           genbo__study_training *tr) {
    memset(tr, 0, sizeof *tr);
    tr->s = s;
    tr->run_id = run_id;
    tr->round = round;
    dp->report = &tr->report;
    dp->on_eval = curve_row;
    dp->eval_ctx = tr;
    dp->checkpoint = checkpoint_row;
    dp->checkpoint_ctx = tr;
    /* the checkpoint of an interrupted training of this run and round */
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db, "SELECT step, data FROM train_checkpoints WHERE run_id = ? AND round = ?", &st);
    if (rc) return rc;
    genbo__db_bind_int64(st, 1, run_id);
    genbo__db_bind_int(st, 2, round);
    long step = 0;
    if (genbo__db_step(st) == GENBO__DB_ROW) {
        size_t len = (size_t)genbo__db_column_bytes(st, 1);
        step = (long)genbo__db_column_int64(st, 0);
        tr->resume = len ? genbo__malloc(len) : NULL;
        if (len && !tr->resume) rc = GENBO_ENOMEM;
        else if (len) memcpy(tr->resume, genbo__db_column_blob(st, 1), len);
        tr->resume_len = len;
    }
    genbo__db_finalize(st);
    if (rc) return rc;
    dp->resume = tr->resume;
    dp->resume_len = tr->resume_len;
    /* curve rows recorded after the checkpoint will be recorded again */
    return exec_run_round(s, "DELETE FROM train_curve WHERE run_id = ? AND round = ? AND step > ?", run_id, round,
                          step);
}

static const char *stop_name(genbo_train_stop stop) {
    switch (stop) {
    case GENBO_STOP_CONVERGED: return "converged";
    case GENBO_STOP_MAX_STEPS: return "max_steps";
    case GENBO_STOP_MAX_SECONDS: return "max_seconds";
    case GENBO_STOP_INTERRUPTED: return "interrupted";
    default: return "steps";
    }
}

const char *genbo__train_stop_name(genbo_train_stop stop) { return stop_name(stop); }

int genbo__training_finish(genbo__study_training *tr, int train_rc) {
    genbo_study *s = tr->s;
    const genbo_train_report *r = &tr->report;
    int rc = GENBO_OK;
    /* a report exists after success and after an interruption */
    if (!train_rc || r->stop == GENBO_STOP_INTERRUPTED) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", genbo_errmsg());
        rc = genbo__store_begin(s->db);
        genbo__db_stmt *st;
        if (!rc) rc = genbo__store_prepare(s->db,
                                           "INSERT OR REPLACE INTO trainings (run_id, round, stop, steps, best_step, "
                                           "best_val_loss, val_loss, train_loss, seconds, resumed_from, n_train, "
                                           "n_val, val_seed, width, depth, batch) "
                                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st);
        if (!rc) {
#define BIND_D(i, v) (isfinite(v) ? genbo__db_bind_double(st, i, v) : genbo__db_bind_null(st, i))
            genbo__db_bind_int64(st, 1, tr->run_id);
            genbo__db_bind_int(st, 2, tr->round);
            genbo__db_bind_text(st, 3, stop_name(r->stop), -1, GENBO__DB_STATIC);
            genbo__db_bind_int64(st, 4, r->steps);
            genbo__db_bind_int64(st, 5, r->best_step);
            BIND_D(6, r->best_val_loss);
            BIND_D(7, r->val_loss);
            BIND_D(8, r->train_loss);
            genbo__db_bind_double(st, 9, r->seconds);
            genbo__db_bind_int64(st, 10, r->resumed_from);
            genbo__db_bind_int64(st, 11, (int64_t)r->n_train);
            genbo__db_bind_int64(st, 12, (int64_t)r->n_val);
            genbo__db_bind_int64(st, 13, (int64_t)r->val_seed);
            genbo__db_bind_int(st, 14, r->width);
            genbo__db_bind_int(st, 15, r->depth);
            genbo__db_bind_int(st, 16, r->batch);
#undef BIND_D
            if (genbo__db_step(st) != GENBO__DB_DONE) rc = genbo__store_fail(s->db, "storing the training summary");
            genbo__db_finalize(st);
        }
        if (rc) genbo__store_rollback(s->db);
        else rc = genbo__store_commit(s->db);
        if (train_rc) genbo__fail(train_rc, "%s", msg); /* keep the training's message */
    }
    free(tr->resume);
    tr->resume = NULL;
    return train_rc ? train_rc : rc;
}

int genbo__training_done(genbo__study_training *tr) {
    /* the model is stored with its step mark: the checkpoint is obsolete */
    return exec_run_round(tr->s, "DELETE FROM train_checkpoints WHERE run_id = ? AND round = ?", tr->run_id,
                          tr->round, 0);
}
