/* trials.c - the trials table: reserving trial ids, storing designs,
 * telling values and failures. Every write is one short BEGIN IMMEDIATE
 * transaction: ids come from SQLite under the write lock (never shared
 * between processes) and a tell is on disk when it returns. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "studies/store.h"
#include "studies/study.h"

/* Inside a write transaction. */
static int reserve_in_txn(genbo_study *s, int64_t run_id, int round, double target,
                          const char *target_label, const char *method, size_t n, int64_t *ids) {
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db,
                              "INSERT INTO trials (study_id, run_id, round, target, target_label, method, "
                              "state, asked) VALUES (?, ?, ?, ?, ?, ?, 'asked', ?) RETURNING id", &st);
    double now = genbo__unix_now();
    for (size_t i = 0; !rc && i < n; i++) {
        genbo__db_bind_int64(st, 1, s->id);
        if (run_id > 0) genbo__db_bind_int64(st, 2, run_id);
        else genbo__db_bind_null(st, 2);
        if (round >= 0) genbo__db_bind_int(st, 3, round);
        else genbo__db_bind_null(st, 3);
        genbo__db_bind_double(st, 4, target);
        genbo__db_bind_text(st, 5, target_label, -1, GENBO__DB_STATIC);
        genbo__db_bind_text(st, 6, method, -1, GENBO__DB_STATIC);
        genbo__db_bind_double(st, 7, now);
        /* RETURNING: the id in the same round trip on either back end */
        if (genbo__db_step(st) != GENBO__DB_ROW) rc = genbo__store_fail(s->db, "inserting a trial");
        else ids[i] = genbo__db_column_int64(st, 0);
        genbo__db_reset(st);
    }
    genbo__db_finalize(st);
    return rc;
}

/* A write of this file as one transaction body: genbo__store_txn runs it
 * again from the start when the transaction failed transiently (a
 * dropped connection to a PostgreSQL server). */
typedef struct trials_op {
    genbo_study *s;
    int kind; /* OP_* */
    int64_t run_id;
    int round;
    double target;
    const char *target_label, *method, *reason, *batch_reason;
    size_t n;
    const int64_t *ids_in;
    int64_t *ids;
    const double *X, *pred, *support, *y, *value;
    const unsigned *flags;
    char *const *reasons;
    int64_t trial_id;
} trials_op;
enum { OP_RESERVE, OP_SET, OP_INSERT, OP_TELL, OP_FAIL, OP_BATCH };

static int tell_in_txn(genbo_study *s, int64_t trial_id, const double *value, const char *reason);
static int set_in_txn(genbo_study *s, size_t n, const int64_t *ids, const double *X,
                      const double *pred, const double *support, const unsigned *flags);
static int exec_bound(genbo_study *s, const char *sql, int64_t id, const double *value, const char *text);

static int op_txn(genbo__db *db, void *ctx) {
    (void)db;
    trials_op *o = ctx;
    genbo_study *s = o->s;
    int rc = GENBO_OK;
    switch (o->kind) {
    case OP_RESERVE:
        return reserve_in_txn(s, o->run_id, o->round, o->target, o->target_label, o->method, o->n, o->ids);
    case OP_SET: return set_in_txn(s, o->n, o->ids_in, o->X, o->pred, o->support, o->flags);
    case OP_INSERT:
        rc = reserve_in_txn(s, o->run_id, o->round, o->target, o->target_label, o->method, o->n, o->ids);
        return rc ? rc : set_in_txn(s, o->n, o->ids, o->X, o->pred, o->support, o->flags);
    case OP_TELL: return tell_in_txn(s, o->trial_id, o->value, o->reason);
    case OP_FAIL:
        for (size_t i = 0; !rc && i < o->n; i++)
            rc = exec_bound(s, "UPDATE trials SET state = 'failed', finished = ?2, reason = ?3 "
                               "WHERE id = ?1 AND state = 'asked'", o->ids_in[i], NULL, o->reason);
        return rc;
    default:
        for (size_t i = 0; !rc && i < o->n; i++) {
            if (!o->batch_reason && isfinite(o->y[i])) rc = tell_in_txn(s, o->ids_in[i], &o->y[i], NULL);
            else rc = tell_in_txn(s, o->ids_in[i], NULL,
                                  o->batch_reason ? o->batch_reason
                                  : o->reasons && o->reasons[i] ? o->reasons[i] : "evaluator returned nan");
        }
        return rc;
    }
}

int genbo__trials_reserve(genbo_study *s, int64_t run_id, int round, double target,
                          const char *target_label, const char *method, size_t n, int64_t *ids) {
    trials_op o = {.s = s, .kind = OP_RESERVE, .run_id = run_id, .round = round, .target = target,
                   .target_label = target_label, .method = method, .n = n, .ids = ids};
    return genbo__store_txn(s->db, op_txn, &o);
}

/* A design as a JSON array, %.17g (reads back exactly); a non-finite
 * coordinate (a diverged sample) is null, as JSON has no NaN. */
static char *design_json(const double *x, size_t dim) {
    size_t cap = 2 + dim * 26, k = 0;
    char *out = genbo__malloc(cap);
    if (!out) return NULL;
    out[k++] = '[';
    for (size_t j = 0; j < dim; j++)
        k += isfinite(x[j]) ? (size_t)snprintf(out + k, cap - k, "%s%.17g", j ? "," : "", x[j])
                            : (size_t)snprintf(out + k, cap - k, "%snull", j ? "," : "");
    out[k++] = ']';
    out[k] = '\0';
    return out;
}

static int set_in_txn(genbo_study *s, size_t n, const int64_t *ids, const double *X,
                      const double *pred, const double *support, const unsigned *flags) {
    size_t dim = s->data.dim;
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db,
                              "UPDATE trials SET x = ?, x_json = ?, predicted = ?, support_distance = ?, "
                              "flags = ? WHERE id = ?", &st);
    for (size_t i = 0; !rc && i < n; i++) {
        char *json = design_json(X + i * dim, dim);
        if (!json) {
            rc = GENBO_ENOMEM;
            break;
        }
        genbo__db_bind_blob(st, 1, X + i * dim, (int)(dim * sizeof(double)), GENBO__DB_STATIC);
        genbo__db_bind_text(st, 2, json, -1, free);
        if (pred && isfinite(pred[i])) genbo__db_bind_double(st, 3, pred[i]);
        else genbo__db_bind_null(st, 3);
        if (support && isfinite(support[i])) genbo__db_bind_double(st, 4, support[i]);
        else genbo__db_bind_null(st, 4);
        const char *ft = flags ? genbo__design_flags_text(flags[i]) : NULL;
        if (ft) genbo__db_bind_text(st, 5, ft, -1, GENBO__DB_STATIC);
        else genbo__db_bind_null(st, 5);
        genbo__db_bind_int64(st, 6, ids[i]);
        if (genbo__db_step(st) != GENBO__DB_DONE) rc = genbo__store_fail(s->db, "storing a design");
        genbo__db_reset(st);
        genbo__db_clear_bindings(st);
    }
    genbo__db_finalize(st);
    return rc;
}

int genbo__trials_set_designs(genbo_study *s, size_t n, const int64_t *ids, const double *X,
                              const double *pred, const double *support, const unsigned *flags) {
    trials_op o = {.s = s, .kind = OP_SET, .n = n, .ids_in = ids, .X = X, .pred = pred, .support = support,
                   .flags = flags};
    return genbo__store_txn(s->db, op_txn, &o);
}

int genbo__trials_insert(genbo_study *s, int64_t run_id, int round, double target,
                         const char *target_label, const char *method, size_t n, const double *X,
                         const double *pred, const double *support, const unsigned *flags,
                         int64_t *ids) {
    trials_op o = {.s = s, .kind = OP_INSERT, .run_id = run_id, .round = round, .target = target,
                   .target_label = target_label, .method = method, .n = n, .ids = ids, .X = X,
                   .pred = pred, .support = support, .flags = flags};
    return genbo__store_txn(s->db, op_txn, &o);
}

/* Inside a write transaction: check the trial can be told. */
static int check_askable(genbo_study *s, int64_t trial_id) {
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db, "SELECT state, x IS NULL FROM trials WHERE id = ? AND study_id = ?", &st);
    if (rc) return rc;
    genbo__db_bind_int64(st, 1, trial_id);
    genbo__db_bind_int64(st, 2, s->id);
    int r = genbo__db_step(st);
    if (r == GENBO__DB_ROW) {
        const char *state = (const char *)genbo__db_column_text(st, 0);
        if (strcmp(state, "asked"))
            rc = genbo__fail(GENBO_ESTATE, "trial %lld of study '%s' was already %s", (long long)trial_id,
                             s->name, state);
        else if (genbo__db_column_int(st, 1))
            rc = genbo__fail(GENBO_ESTATE, "trial %lld of study '%s' has no design (its ask did not finish)",
                             (long long)trial_id, s->name);
    } else if (r == GENBO__DB_DONE) {
        rc = genbo__fail(GENBO_ENOTFOUND, "study '%s' has no trial %lld", s->name, (long long)trial_id);
    } else {
        rc = genbo__store_fail(s->db, "looking up a trial");
    }
    genbo__db_finalize(st);
    return rc;
}

static int exec_bound(genbo_study *s, const char *sql, int64_t id, const double *value,
                      const char *text) {
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db, sql, &st);
    if (rc) return rc;
    genbo__db_bind_int64(st, 1, id);
    genbo__db_bind_double(st, 2, genbo__unix_now());
    if (value) genbo__db_bind_double(st, 3, *value);
    if (text) genbo__db_bind_text(st, 3, text, -1, GENBO__DB_STATIC);
    if (genbo__db_step(st) != GENBO__DB_DONE) rc = genbo__store_fail(s->db, "telling a trial");
    genbo__db_finalize(st);
    return rc;
}

static int tell_in_txn(genbo_study *s, int64_t trial_id, const double *value, const char *reason) {
    int rc = check_askable(s, trial_id);
    if (!rc && value) {
        rc = exec_bound(s, "UPDATE trials SET state = 'told', finished = ?2 WHERE id = ?1", trial_id, NULL, NULL);
        if (!rc)
            rc = exec_bound(s, "INSERT INTO observations (trial_id, time, value) VALUES (?1, ?2, ?3)",
                            trial_id, value, NULL);
    } else if (!rc) {
        rc = exec_bound(s, "UPDATE trials SET state = 'failed', finished = ?2, reason = ?3 WHERE id = ?1",
                        trial_id, NULL, reason);
    }
    return rc;
}

/* Tell a value (value != NULL) or a failure (reason) in one transaction. */
static int tell_one(genbo_study *s, int64_t trial_id, const double *value, const char *reason) {
    trials_op o = {.s = s, .kind = OP_TELL, .trial_id = trial_id, .value = value, .reason = reason};
    return genbo__store_txn(s->db, op_txn, &o);
}

/* The tell is on disk before this runs; a failure here must say so. */
static int metrics_after_tell(genbo_study *s, int64_t trial_id) {
    int rc = genbo__batch_metrics_after_tell(s, trial_id);
    if (rc) genbo__fail_prefix(rc, "trial %lld was recorded, but", (long long)trial_id);
    return rc;
}

int genbo_study_tell(genbo_study *s, int64_t trial_id, double value) {
    if (!s) return genbo__fail(GENBO_EINVAL, "genbo_study_tell: NULL study");
    if (s->readonly) return genbo__fail(GENBO_ESTATE, "study '%s' is open read-only", s->name);
    if (!isfinite(value))
        return genbo__fail(GENBO_EINVAL, "trial %lld: the value %g is not a finite number (tell a failure instead)",
                           (long long)trial_id, value);
    int rc = tell_one(s, trial_id, &value, NULL);
    return rc ? rc : metrics_after_tell(s, trial_id);
}

int genbo_study_tell_failed(genbo_study *s, int64_t trial_id, const char *reason) {
    if (!s) return genbo__fail(GENBO_EINVAL, "genbo_study_tell_failed: NULL study");
    if (s->readonly) return genbo__fail(GENBO_ESTATE, "study '%s' is open read-only", s->name);
    int rc = tell_one(s, trial_id, NULL, reason && *reason ? reason : "failed");
    return rc ? rc : metrics_after_tell(s, trial_id);
}

int genbo__trials_fail(genbo_study *s, size_t n, const int64_t *ids, const char *reason) {
    trials_op o = {.s = s, .kind = OP_FAIL, .n = n, .ids_in = ids, .reason = reason};
    return genbo__store_txn(s->db, op_txn, &o);
}

int genbo__trials_tell_batch(genbo_study *s, size_t n, const int64_t *ids, const double *y,
                             char *const *reasons, const char *batch_reason) {
    trials_op o = {.s = s, .kind = OP_BATCH, .n = n, .ids_in = ids, .y = y, .reasons = reasons,
                   .batch_reason = batch_reason};
    return genbo__store_txn(s->db, op_txn, &o);
}

int genbo_study_trial_flags(genbo_study *s, int64_t trial_id, unsigned *flags) {
    if (!s || !flags) return genbo__fail(GENBO_EINVAL, "genbo_study_trial_flags: NULL argument");
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db, "SELECT flags FROM trials WHERE id = ? AND study_id = ?", &st);
    if (rc) return rc;
    genbo__db_bind_int64(st, 1, trial_id);
    genbo__db_bind_int64(st, 2, s->id);
    if (genbo__db_step(st) == GENBO__DB_ROW) {
        const char *t = (const char *)genbo__db_column_text(st, 0);
        *flags = (t && strstr(t, "projected") ? GENBO_DESIGN_PROJECTED : 0u) |
                 (t && strstr(t, "resampled") ? GENBO_DESIGN_RESAMPLED : 0u);
    } else {
        rc = genbo__fail(GENBO_ENOTFOUND, "study '%s' has no trial %lld", s->name, (long long)trial_id);
    }
    genbo__db_finalize(st);
    return rc;
}
