/* batch.c - the stored rows of a batch (its trials with their designs,
 * predictions, support distances and told values) and its metrics row
 * (batch.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "optimizer/metrics.h"
#include "studies/batch.h"
#include "studies/store.h"

static int bind_batch(genbo__db_stmt *st, const genbo__batch *b) {
    genbo__db_bind_int64(st, 1, b->run_id);
    genbo__db_bind_int(st, 2, b->round);
    genbo__db_bind_text(st, 3, b->label, -1, GENBO__DB_STATIC);
    genbo__db_bind_text(st, 4, b->method, -1, GENBO__DB_STATIC);
    return 0;
}

static int count_where(genbo_study *s, const char *sql, const genbo__batch *b, int64_t *out) {
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db, sql, &st);
    if (rc) return rc;
    bind_batch(st, b);
    *out = genbo__db_step(st) == GENBO__DB_ROW ? genbo__db_column_int64(st, 0) : 0;
    genbo__db_finalize(st);
    return GENBO_OK;
}

int genbo__batch_count_trials(genbo_study *s, const genbo__batch *b, int64_t *n) {
    return count_where(s, "SELECT COUNT(*) FROM trials WHERE run_id = ?1 AND round = ?2 AND "
                          "target_label = ?3 AND method = ?4", b, n);
}

int genbo__batch_count_metrics(genbo_study *s, const genbo__batch *b, int64_t *n) {
    return count_where(s, "SELECT COUNT(*) FROM metrics WHERE run_id = ?1 AND round = ?2 AND "
                          "target_label = ?3 AND method = ?4", b, n);
}

int genbo__batch_load_rows(genbo_study *s, const genbo__batch *b, genbo__batch_rows *r) {
    size_t dim = s->data.dim;
    int64_t n;
    int rc = genbo__batch_count_trials(s, b, &n);
    if (rc) return rc;
    r->n = (size_t)n;
    r->ids = genbo__calloc(r->n, sizeof *r->ids);
    r->X = genbo__calloc(r->n * dim, sizeof *r->X);
    r->pred = genbo__calloc(r->n, sizeof *r->pred);
    r->supp = genbo__calloc(r->n, sizeof *r->supp);
    r->y = genbo__calloc(r->n, sizeof *r->y);
    r->asked = genbo__calloc(r->n, sizeof *r->asked);
    if (!r->ids || !r->X || !r->pred || !r->supp || !r->y || !r->asked) return GENBO_ENOMEM;
    genbo__db_stmt *st;
    rc = genbo__store_prepare(s->db,
                              "SELECT t.id, t.state, t.x, t.predicted, t.support_distance, o.value FROM trials t "
                              "LEFT JOIN observations o ON o.trial_id = t.id WHERE t.run_id = ?1 AND "
                              "t.round = ?2 AND t.target_label = ?3 AND t.method = ?4 ORDER BY t.id", &st);
    if (rc) return rc;
    bind_batch(st, b);
    r->has_supp = 1;
    size_t i = 0;
    while (i < r->n && genbo__db_step(st) == GENBO__DB_ROW) {
        r->ids[i] = genbo__db_column_int64(st, 0);
        r->asked[i] = !strcmp((const char *)genbo__db_column_text(st, 1), "asked");
        if ((size_t)genbo__db_column_bytes(st, 2) == dim * sizeof(double))
            memcpy(r->X + i * dim, genbo__db_column_blob(st, 2), dim * sizeof(double));
        r->pred[i] = genbo__db_column_type(st, 3) == GENBO__DB_NULL ? NAN : genbo__db_column_double(st, 3);
        if (genbo__db_column_type(st, 4) == GENBO__DB_NULL) r->has_supp = 0;
        else r->supp[i] = genbo__db_column_double(st, 4);
        r->y[i] = genbo__db_column_type(st, 5) == GENBO__DB_NULL ? NAN : genbo__db_column_double(st, 5);
        i++;
    }
    genbo__db_finalize(st);
    r->n = i;
    return GENBO_OK;
}

static int store_metrics(genbo_study *s, const genbo__batch *b, const genbo__metrics *m) {
    int rc = genbo__store_begin(s->db);
    if (rc) return rc;
    genbo__db_stmt *st;
    rc = genbo__store_prepare(
        s->db,
        "INSERT OR REPLACE INTO metrics (run_id, round, target_label, target, method, subopt, subopt_kind, "
        "mean_true, best_true, sd_true, mean_pred, best_pred, sd_pred, support_distance, support_kind, "
        "diversity, novelty, n, n_failed) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &st);
    if (!rc) {
#define BIND_D(i, v) (isfinite(v) ? genbo__db_bind_double(st, i, v) : genbo__db_bind_null(st, i))
        bind_batch(st, b);
        /* bind_batch binds 1..4 as run, round, label, method; the metrics
         * table orders them run, round, label, target, method. */
        genbo__db_bind_double(st, 4, b->target);
        genbo__db_bind_text(st, 5, b->method, -1, GENBO__DB_STATIC);
        BIND_D(6, m->subopt);
        if (m->subopt_kind == GENBO__SUBOPT_TRUE) genbo__db_bind_text(st, 7, "true", -1, GENBO__DB_STATIC);
        else if (m->subopt_kind == GENBO__SUBOPT_PREDICTED) genbo__db_bind_text(st, 7, "predicted", -1, GENBO__DB_STATIC);
        if (m->has_true) {
            BIND_D(8, m->true_mean);
            BIND_D(9, m->true_best);
            BIND_D(10, m->true_sd);
        }
        if (m->has_pred) {
            BIND_D(11, m->pred_mean);
            BIND_D(12, m->pred_best);
            BIND_D(13, m->pred_sd);
        }
        if (m->support_kind != GENBO__SUPPORT_NONE) {
            BIND_D(14, m->support);
            genbo__db_bind_text(st, 15, m->support_kind == GENBO__SUPPORT_TASK ? "task" : "knn", -1, GENBO__DB_STATIC);
        }
        BIND_D(16, m->diversity);
        BIND_D(17, m->novelty);
        genbo__db_bind_int64(st, 18, (int64_t)m->n);
        genbo__db_bind_int64(st, 19, (int64_t)m->n_failed);
#undef BIND_D
        if (genbo__db_step(st) != GENBO__DB_DONE) rc = genbo__store_fail(s->db, "storing metrics");
        genbo__db_finalize(st);
    }
    if (rc) {
        genbo__store_rollback(s->db);
        return rc;
    }
    return genbo__store_commit(s->db);
}

int genbo__batch_metrics(genbo_study *s, const genbo__batch *b, genbo__batch_rows *r, int with_true) {
    const genbo__study_data *d = &s->data;
    int rc = GENBO_OK;
    if (!r->has_supp && d->knn_scale <= 0)
        rc = genbo__knn_scale(d->pool_X, d->n_pool, d->dim, GENBO__KNN_K, GENBO__KNN_SCALE_SUBSET,
                              genbo__seed_mix(s->cfg->seed, 5, 0), &s->data.knn_scale);
    genbo__metrics_input in;
    memset(&in, 0, sizeof in);
    in.n = r->n;
    in.dim = d->dim;
    in.X = r->X;
    in.target = b->target;
    in.y_true = with_true ? r->y : NULL;
    in.y_pred = r->pred;
    in.support = r->has_supp ? r->supp : NULL;
    in.label_X = d->label_X;
    in.n_label = d->n_label;
    in.pool_X = d->pool_X;
    in.n_pool = d->n_pool;
    in.knn_scale = s->data.knn_scale;
    in.seed = genbo__seed_mix(s->cfg->seed, 5, 0);
    genbo__metrics m;
    if (!rc) rc = genbo__metrics_compute(&in, &m);
    if (!rc) rc = store_metrics(s, b, &m);
    return rc;
}

int genbo__batch_metrics_after_tell(genbo_study *s, int64_t trial_id) {
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(
        s->db,
        "SELECT t.run_id, t.round, t.target_label, t.method, m.target, "
        " (SELECT count(*) FROM trials u WHERE u.run_id = t.run_id AND u.round = t.round AND "
        "  u.target_label = t.target_label AND u.method = t.method AND u.state = 'asked') "
        "FROM trials t JOIN metrics m ON m.run_id = t.run_id AND m.round = t.round AND "
        " m.target_label = t.target_label AND m.method = t.method "
        "WHERE t.id = ? AND m.subopt_kind = 'predicted'", &st);
    if (rc) return rc;
    genbo__db_bind_int64(st, 1, trial_id);
    char label[64] = "", method[64] = "";
    genbo__batch b;
    memset(&b, 0, sizeof b);
    int due = 0;
    if (genbo__db_step(st) == GENBO__DB_ROW && genbo__db_column_int64(st, 5) == 0) {
        due = 1;
        b.run_id = genbo__db_column_int64(st, 0);
        b.round = genbo__db_column_int(st, 1);
        snprintf(label, sizeof label, "%s", (const char *)genbo__db_column_text(st, 2));
        snprintf(method, sizeof method, "%s", (const char *)genbo__db_column_text(st, 3));
        b.target = genbo__db_column_double(st, 4);
    }
    genbo__db_finalize(st);
    if (!due) return GENBO_OK;
    b.label = label;
    b.method = method;
    rc = genbo__study_load_data(s);
    genbo__batch_rows r;
    memset(&r, 0, sizeof r);
    if (!rc) rc = genbo__batch_load_rows(s, &b, &r);
    if (!rc && r.n > 0) rc = genbo__batch_metrics(s, &b, &r, 1);
    genbo__batch_rows_free(&r);
    return rc ? genbo__fail_prefix(rc, "metrics of batch %s at %s (round %d)", method, label, b.round) : rc;
}

