/* stale.c - trials whose worker died: Optuna's heartbeat rule.
 *
 * An asked trial is alive while its worker shows signs of life: the ask
 * itself, then genbo_study_heartbeat (`genbo heartbeat`) at least every
 * [ask] heartbeat seconds. One whose last sign (trials.heartbeat, else
 * trials.asked) is older than the timeout ([ask] timeout; 0 = twice the
 * heartbeat, Optuna's default grace) is failed with a reason, so a worker
 * that was killed does not leave its trials waiting forever. Every ask
 * does this first when a timeout is in force; `genbo fail-stale` does it
 * on demand. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "studies/store.h"
#include "studies/study.h"

double genbo__stale_timeout(const genbo_config *c) {
    if (c->ask_timeout > 0) return c->ask_timeout;
    return c->ask_heartbeat > 0 ? 2 * c->ask_heartbeat : 0;
}

typedef struct stale_args {
    genbo_study *s;
    double timeout, now;
    int64_t n;
} stale_args;

static int fail_stale_txn(genbo__db *db, void *ctx) {
    stale_args *a = ctx;
    char reason[160];
    snprintf(reason, sizeof reason, "stale: no tell or heartbeat for %g s (the worker is presumed dead)",
             a->timeout);
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(db,
                                  "UPDATE trials SET state = 'failed', finished = ?, reason = ? "
                                  "WHERE study_id = ? AND state = 'asked' AND coalesce(heartbeat, asked) < ?",
                                  &st);
    if (rc) return rc;
    genbo__db_bind_double(st, 1, a->now);
    genbo__db_bind_text(st, 2, reason, -1, GENBO__DB_TRANSIENT);
    genbo__db_bind_int64(st, 3, a->s->id);
    genbo__db_bind_double(st, 4, a->now - a->timeout);
    if (genbo__db_step(st) != GENBO__DB_DONE) rc = genbo__store_fail(db, "failing stale trials");
    else a->n = genbo__db_changes(db);
    genbo__db_finalize(st);
    return rc;
}

int genbo_study_fail_stale(genbo_study *s, double timeout, size_t *n_failed) {
    if (n_failed) *n_failed = 0;
    if (!s) return genbo__fail(GENBO_EINVAL, "genbo_study_fail_stale: NULL study");
    if (s->readonly) return genbo__fail(GENBO_ESTATE, "study '%s' is open read-only", s->name);
    if (!(timeout > 0)) timeout = genbo__stale_timeout(s->cfg);
    if (!(timeout > 0) || !isfinite(timeout))
        return genbo__fail(GENBO_EINVAL, "study '%s': no timeout for stale trials (set [ask] timeout or "
                           "[ask] heartbeat, or give one)", s->name);
    stale_args a = {s, timeout, genbo__unix_now(), 0};
    int rc = genbo__store_txn(s->db, fail_stale_txn, &a);
    if (!rc && n_failed) *n_failed = (size_t)a.n;
    return rc;
}

typedef struct beat_args {
    genbo_study *s;
    int64_t trial_id;
} beat_args;

static int heartbeat_txn(genbo__db *db, void *ctx) {
    beat_args *a = ctx;
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(db, "SELECT state FROM trials WHERE id = ? AND study_id = ?", &st);
    if (rc) return rc;
    genbo__db_bind_int64(st, 1, a->trial_id);
    genbo__db_bind_int64(st, 2, a->s->id);
    int r = genbo__db_step(st);
    if (r == GENBO__DB_DONE)
        rc = genbo__fail(GENBO_ENOTFOUND, "study '%s' has no trial %lld", a->s->name, (long long)a->trial_id);
    else if (r != GENBO__DB_ROW) rc = genbo__store_fail(db, "looking up a trial");
    else if (strcmp((const char *)genbo__db_column_text(st, 0), "asked"))
        rc = genbo__fail(GENBO_ESTATE, "trial %lld of study '%s' was already %s", (long long)a->trial_id,
                         a->s->name, (const char *)genbo__db_column_text(st, 0));
    genbo__db_finalize(st);
    if (rc) return rc;
    rc = genbo__store_prepare(db, "UPDATE trials SET heartbeat = ? WHERE id = ?", &st);
    if (rc) return rc;
    genbo__db_bind_double(st, 1, genbo__unix_now());
    genbo__db_bind_int64(st, 2, a->trial_id);
    if (genbo__db_step(st) != GENBO__DB_DONE) rc = genbo__store_fail(db, "recording a heartbeat");
    genbo__db_finalize(st);
    return rc;
}

int genbo_study_heartbeat(genbo_study *s, int64_t trial_id) {
    if (!s) return genbo__fail(GENBO_EINVAL, "genbo_study_heartbeat: NULL study");
    if (s->readonly) return genbo__fail(GENBO_ESTATE, "study '%s' is open read-only", s->name);
    beat_args a = {s, trial_id};
    return genbo__store_txn(s->db, heartbeat_txn, &a);
}
