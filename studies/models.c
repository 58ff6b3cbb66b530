/* models.c - reward and diffusion models as BLOBs in the models table, in
 * the library's versioned binary formats (*_save_buffer / *_load_buffer). */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "studies/store.h"
#include "studies/study.h"

/* Insert one model row; the caller holds the write transaction. */
static int insert_blob(genbo_study *s, int64_t run_id, const char *kind, const char *role, int round,
                       int64_t n_labels, const char *describe, const void *buf, size_t len) {
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db,
                              "INSERT INTO models (run_id, kind, round, n_labels, describe, created, data, role) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", &st);
    if (!rc) {
        genbo__db_bind_int64(st, 1, run_id);
        genbo__db_bind_text(st, 2, kind, -1, GENBO__DB_STATIC);
        if (round >= 0) genbo__db_bind_int(st, 3, round);
        if (n_labels >= 0) genbo__db_bind_int64(st, 4, n_labels);
        if (describe) genbo__db_bind_text(st, 5, describe, -1, GENBO__DB_TRANSIENT);
        genbo__db_bind_double(st, 6, genbo__unix_now());
        genbo__db_bind_blob(st, 7, buf, (uint64_t)len, GENBO__DB_STATIC);
        if (role) genbo__db_bind_text(st, 8, role, -1, GENBO__DB_STATIC);
        if (genbo__db_step(st) != GENBO__DB_DONE) rc = genbo__store_fail(s->db, "storing a model");
        genbo__db_finalize(st);
    }
    return rc;
}

typedef struct blob_row {
    genbo_study *s;
    int64_t run_id, n_labels;
    const char *kind, *role, *describe, *step;
    int round;
    const void *buf;
    size_t len;
    double seconds;
} blob_row;

static int store_blob_txn(genbo__db *db, void *ctx) {
    (void)db;
    const blob_row *b = ctx;
    int rc = insert_blob(b->s, b->run_id, b->kind, b->role, b->round, b->n_labels, b->describe, b->buf, b->len);
    if (!rc && b->step) rc = genbo__step_mark(b->s, b->run_id, b->step, b->seconds, b->describe);
    return rc;
}

/* Insert one model row inside its own write transaction, together with a
 * completed-step mark when step != NULL (retried whole after a dropped
 * connection, as the trial writes are). */
static int store_blob(genbo_study *s, int64_t run_id, const char *kind, const char *role,
                      int round, int64_t n_labels, const char *describe, const void *buf,
                      size_t len, const char *step, double seconds) {
    blob_row b = {s, run_id, n_labels, kind, role, describe, step, round, buf, len, seconds};
    return genbo__store_txn(s->db, store_blob_txn, &b);
}

int genbo__store_reward_step(genbo_study *s, int64_t run_id, int round, int64_t n_labels,
                             const genbo_reward *m, const char *step, double seconds) {
    void *buf;
    size_t len;
    int rc = genbo_reward_save_buffer(m, &buf, &len);
    if (rc) return rc;
    rc = store_blob(s, run_id, "reward", NULL, round, n_labels, genbo_reward_describe(m), buf, len, step,
                    seconds);
    free(buf);
    return rc;
}

int genbo__store_diffusion_step(genbo_study *s, int64_t run_id, int round,
                                const genbo_diffusion *m, const char *step, double seconds) {
    return genbo__store_diffusion_role_step(s, run_id, NULL, round, m, step, seconds);
}

int genbo__store_diffusion_role_step(genbo_study *s, int64_t run_id, const char *role, int round,
                                     const genbo_diffusion *m, const char *step, double seconds) {
    void *buf;
    size_t len;
    int rc = genbo_diffusion_save_buffer(m, &buf, &len);
    if (rc) return rc;
    rc = store_blob(s, run_id, "diffusion", role, round, -1, genbo_diffusion_describe(m), buf,
                    len, step, seconds);
    free(buf);
    return rc;
}

int genbo__store_reward(genbo_study *s, int64_t run_id, int round, int64_t n_labels,
                        const genbo_reward *m) {
    return genbo__store_reward_step(s, run_id, round, n_labels, m, NULL, 0);
}

int genbo__store_diffusion(genbo_study *s, int64_t run_id, int round, const genbo_diffusion *m) {
    return genbo__store_diffusion_step(s, run_id, round, m, NULL, 0);
}

/* The newest model of a kind (and role: NULL = the main one) for a run:
 * its BLOB is handed to `load`. */
static int load_latest(genbo_study *s, int64_t run_id, const char *kind, const char *role,
                       int is_reward, void **out, int64_t *n_labels) {
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db,
                                  "SELECT data, n_labels FROM models WHERE run_id = ? AND kind = ? "
                                  "AND role IS ? ORDER BY id DESC LIMIT 1", &st);
    if (rc) return rc;
    genbo__db_bind_int64(st, 1, run_id);
    genbo__db_bind_text(st, 2, kind, -1, GENBO__DB_STATIC);
    if (role) genbo__db_bind_text(st, 3, role, -1, GENBO__DB_STATIC);
    else genbo__db_bind_null(st, 3);
    int r = genbo__db_step(st);
    if (r == GENBO__DB_ROW) {
        const void *blob = genbo__db_column_blob(st, 0);
        size_t len = (size_t)genbo__db_column_bytes(st, 0);
        if (is_reward) rc = genbo_reward_load_buffer(blob, len, (genbo_reward **)out);
        else rc = genbo_diffusion_load_buffer(blob, len, (genbo_diffusion **)out);
        if (rc) genbo__fail_prefix(rc, "loading the %s model of run %lld", kind, (long long)run_id);
        if (n_labels) *n_labels = genbo__db_column_type(st, 1) == GENBO__DB_NULL ? 0 : genbo__db_column_int64(st, 1);
    } else if (r == GENBO__DB_DONE) {
        rc = genbo__fail(GENBO_ENOTFOUND, "run %lld has no %s%s%s model", (long long)run_id,
                         role ? role : "", role ? " " : "", kind);
    } else {
        rc = genbo__store_fail(s->db, "loading a model");
    }
    genbo__db_finalize(st);
    return rc;
}

int genbo__load_reward(genbo_study *s, int64_t run_id, genbo_reward **out, int64_t *n_labels) {
    return load_latest(s, run_id, "reward", NULL, 1, (void **)out, n_labels);
}

int genbo__load_diffusion(genbo_study *s, int64_t run_id, genbo_diffusion **out) {
    return load_latest(s, run_id, "diffusion", NULL, 0, (void **)out, NULL);
}

int genbo__load_diffusion_role(genbo_study *s, int64_t run_id, const char *role,
                               genbo_diffusion **out) {
    return load_latest(s, run_id, "diffusion", role, 0, (void **)out, NULL);
}

/* The reward model a run stored for a round (0: its first fit), the
 * earliest of that round. */
int genbo__load_reward_round(genbo_study *s, int64_t run_id, int round, genbo_reward **out) {
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db,
                                  "SELECT data FROM models WHERE run_id = ? AND kind = 'reward' AND round = ? "
                                  "ORDER BY id LIMIT 1", &st);
    if (rc) return rc;
    genbo__db_bind_int64(st, 1, run_id);
    genbo__db_bind_int(st, 2, round);
    int r = genbo__db_step(st);
    if (r == GENBO__DB_ROW) {
        rc = genbo_reward_load_buffer(genbo__db_column_blob(st, 0), (size_t)genbo__db_column_bytes(st, 0), out);
        if (rc) genbo__fail_prefix(rc, "loading the reward model of run %lld", (long long)run_id);
    } else if (r == GENBO__DB_DONE) {
        rc = genbo__fail(GENBO_ENOTFOUND, "run %lld has no reward model of round %d", (long long)run_id, round);
    } else {
        rc = genbo__store_fail(s->db, "loading a model");
    }
    genbo__db_finalize(st);
    return rc;
}

int genbo__store_round(genbo_study *s, int64_t run_id, int round, int64_t n_labels,
                       const genbo_reward *reward, const genbo_diffusion *diffusion, const char *step,
                       double seconds) {
    void *rbuf = NULL, *dbuf = NULL;
    size_t rlen = 0, dlen = 0;
    int rc = genbo_reward_save_buffer(reward, &rbuf, &rlen);
    if (!rc && diffusion) rc = genbo_diffusion_save_buffer(diffusion, &dbuf, &dlen);
    if (!rc) rc = genbo__store_begin(s->db);
    if (!rc) {
        const char *describe = genbo_reward_describe(reward);
        if (diffusion) rc = insert_blob(s, run_id, "diffusion", NULL, round, -1, NULL, dbuf, dlen);
        if (!rc) rc = insert_blob(s, run_id, "reward", NULL, round, n_labels, describe, rbuf, rlen);
        if (!rc) rc = genbo__step_mark(s, run_id, step, seconds, describe);
        if (rc) genbo__store_rollback(s->db);
        else rc = genbo__store_commit(s->db);
    }
    free(rbuf);
    free(dbuf);
    return rc;
}

/* One ask refit as a whole transaction (genbo__store_txn): on PostgreSQL a
 * dropped connection replays it, and a replay whose MAX(n_labels) differs
 * (another worker stored a refit meanwhile) must run it again from the
 * top, not fail the ask. */
typedef struct {
    genbo_study *s;
    int64_t run_id, n_labels;
    const char *describe;
    const void *buf;
    size_t len;
} ask_refit;

static int store_ask_refit_txn(genbo__db *db, void *ctx) {
    const ask_refit *a = ctx;
    /* Only a refit on more labels replaces the stored one (another
     * process may have stored a newer refit meanwhile). */
    genbo__db_stmt *st;
    int64_t have = 0;
    int rc = genbo__store_prepare(db, "SELECT COALESCE(MAX(n_labels), -1) FROM models WHERE run_id = ? AND "
                                      "kind = 'reward' AND round IS NULL", &st);
    if (!rc) {
        genbo__db_bind_int64(st, 1, a->run_id);
        have = genbo__db_step(st) == GENBO__DB_ROW ? genbo__db_column_int64(st, 0) : -1;
        genbo__db_finalize(st);
    }
    if (rc || have >= a->n_labels) return rc;
    rc = genbo__store_prepare(db, "DELETE FROM models WHERE run_id = ? AND kind = 'reward' AND round IS NULL", &st);
    if (!rc) {
        genbo__db_bind_int64(st, 1, a->run_id);
        if (genbo__db_step(st) != GENBO__DB_DONE) rc = genbo__store_fail(db, "replacing the refit");
        genbo__db_finalize(st);
    }
    if (!rc) rc = insert_blob(a->s, a->run_id, "reward", NULL, -1, a->n_labels, a->describe, a->buf, a->len);
    return rc;
}

int genbo__store_ask_refit(genbo_study *s, int64_t run_id, int64_t n_labels, const genbo_reward *m) {
    void *buf;
    size_t len;
    int rc = genbo_reward_save_buffer(m, &buf, &len);
    if (rc) return rc;
    ask_refit a = {s, run_id, n_labels, genbo_reward_describe(m), buf, len};
    rc = genbo__store_txn(s->db, store_ask_refit_txn, &a);
    free(buf);
    return rc;
}
