/* run.c - genbo_study_run: the whole pipeline, resumable.
 *
 *   data -> reward -> pseudo -> diffusion        (pipeline.c)
 *   generate: for each target and method a batch of n designs
 *   round 1..R: a batch at the loop target, refit, optional fine-tune
 *
 * A batch is idempotent: its designs are inserted as 'asked' trials (one
 * transaction), then evaluated and told (one transaction), then its metrics
 * row is written. After a crash the rerun finds the batch's trials, tells
 * only those still asked, and writes the missing metrics - nothing told is
 * ever evaluated twice or lost. Designs are seeded by (round, target,
 * method), so a batch regenerated after a crash is the same batch. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/core.h"
#include "optimizer/evaluator.h"
#include "optimizer/metrics.h"
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

static int target_value(genbo_study *s, int64_t run_id, const char *label, double *value) {
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

/* ---- one batch ------------------------------------------------------------ */

typedef struct batch {
    int64_t run_id;
    int round;
    const char *label, *method;
    double target;
    size_t n;
    uint64_t seed;
} batch;

typedef struct batch_rows {
    size_t n;
    int64_t *ids;
    double *X, *pred, *supp, *y; /* y: observed value or NaN */
    int *asked;
    int has_supp;
} batch_rows;

static void rows_free(batch_rows *r) {
    free(r->ids);
    free(r->X);
    free(r->pred);
    free(r->supp);
    free(r->y);
    free(r->asked);
    memset(r, 0, sizeof *r);
}

static int bind_batch(genbo__db_stmt *st, const batch *b) {
    genbo__db_bind_int64(st, 1, b->run_id);
    genbo__db_bind_int(st, 2, b->round);
    genbo__db_bind_text(st, 3, b->label, -1, GENBO__DB_STATIC);
    genbo__db_bind_text(st, 4, b->method, -1, GENBO__DB_STATIC);
    return 0;
}

static int count_where(genbo_study *s, const char *sql, const batch *b, int64_t *out) {
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db, sql, &st);
    if (rc) return rc;
    bind_batch(st, b);
    *out = genbo__db_step(st) == GENBO__DB_ROW ? genbo__db_column_int64(st, 0) : 0;
    genbo__db_finalize(st);
    return GENBO_OK;
}

static int load_rows(genbo_study *s, const batch *b, batch_rows *r) {
    size_t dim = s->data.dim;
    int64_t n;
    int rc = count_where(s, "SELECT COUNT(*) FROM trials WHERE run_id = ?1 AND round = ?2 AND "
                            "target_label = ?3 AND method = ?4", b, &n);
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

static int generate_batch(genbo_study *s, const batch *b) {
    size_t dim = s->data.dim;
    double *X = genbo__malloc(b->n * dim * sizeof *X), *pred = genbo__malloc(b->n * sizeof *pred);
    double *supp = s->data.task ? genbo__malloc(b->n * sizeof *supp) : NULL;
    int64_t *ids = genbo__malloc(b->n * sizeof *ids);
    unsigned *flags = genbo__malloc(b->n * sizeof *flags);
    int rc = X && pred && ids && flags && (supp || !s->data.task) ? GENBO_OK : GENBO_ENOMEM;
    genbo__method method;
    if (!rc) rc = genbo__method_from_name(b->method, &method);
    if (!rc) {
        genbo__models mm;
        genbo__study_method_models(s, &mm);
        rc = genbo__generate_trusted(method, &mm, mm.trust, b->target, b->n, b->seed, X, flags);
    }
    if (!rc) rc = genbo_reward_predict(s->models.reward, b->n, X, pred, NULL);
    if (!rc && supp) rc = genbo_task_support_distance(s->data.task, b->n, X, supp);
    if (!rc) rc = genbo__trials_insert(s, b->run_id, b->round, b->target, b->label, b->method, b->n,
                                       X, pred, supp, flags, ids);
    free(flags);
    free(X);
    free(pred);
    free(supp);
    free(ids);
    return rc;
}

/* Evaluate the batch's trials still 'asked' and tell their values. A
 * failing evaluator fails the trials (with its reason), not the run. */
static int evaluate_rows(genbo_study *s, genbo__evaluator *ev, batch_rows *r) {
    size_t dim = s->data.dim, k = 0;
    for (size_t i = 0; i < r->n; i++) k += r->asked[i];
    if (!ev || k == 0) return GENBO_OK;
    double *X = genbo__malloc(k * dim * sizeof *X), *y = genbo__malloc(k * sizeof *y);
    int64_t *ids = genbo__malloc(k * sizeof *ids);
    char **reasons = genbo__calloc(k, sizeof *reasons);
    int rc = X && y && ids && reasons ? GENBO_OK : GENBO_ENOMEM;
    for (size_t i = 0, j = 0; !rc && i < r->n; i++) {
        if (!r->asked[i]) continue;
        memcpy(X + j * dim, r->X + i * dim, dim * sizeof *X);
        ids[j++] = r->ids[i];
    }
    if (!rc) {
        int erc = genbo__evaluate(ev, k, X, y, reasons);
        char why[1100];
        if (erc) snprintf(why, sizeof why, "%s", genbo_errmsg());
        rc = genbo__trials_tell_batch(s, k, ids, y, reasons, erc ? why : NULL);
        for (size_t i = 0, j = 0; !rc && i < r->n; i++) {
            if (!r->asked[i]) continue;
            r->y[i] = erc ? NAN : y[j];
            r->asked[i] = 0;
            j++;
        }
    }
    if (reasons) genbo__reasons_free(reasons, k); /* the strings; the array is ours */
    free(reasons);
    free(X);
    free(y);
    free(ids);
    return rc;
}

static int store_metrics(genbo_study *s, const batch *b, const genbo__metrics *m) {
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

/* The metrics row of a batch from its rows: true rewards when there are
 * any (with_true), else the predicted ones. */
static int batch_metrics(genbo_study *s, const batch *b, batch_rows *r, int with_true) {
    const study_data *d = &s->data;
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
    batch b;
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
    batch_rows r;
    memset(&r, 0, sizeof r);
    if (!rc) rc = load_rows(s, &b, &r);
    if (!rc && r.n > 0) rc = batch_metrics(s, &b, &r, 1);
    rows_free(&r);
    return rc ? genbo__fail_prefix(rc, "metrics of batch %s at %s (round %d)", method, label, b.round) : rc;
}

static int run_batch(genbo_study *s, genbo__evaluator *ev, const batch *b) {
    int64_t have;
    int rc = count_where(s, "SELECT COUNT(*) FROM metrics WHERE run_id = ?1 AND round = ?2 AND "
                            "target_label = ?3 AND method = ?4", b, &have);
    if (rc || have) return rc;
    rc = count_where(s, "SELECT COUNT(*) FROM trials WHERE run_id = ?1 AND round = ?2 AND "
                        "target_label = ?3 AND method = ?4", b, &have);
    if (!rc && have == 0) rc = generate_batch(s, b);
    batch_rows r;
    memset(&r, 0, sizeof r);
    if (!rc) rc = load_rows(s, b, &r);
    if (!rc) rc = evaluate_rows(s, ev, &r);
    if (!rc && r.n > 0) rc = batch_metrics(s, b, &r, ev != NULL);
    rows_free(&r);
    return rc ? genbo__fail_prefix(rc, "batch %s at %s (round %d)", b->method, b->label, b->round) : rc;
}

/* ---- the design loop ------------------------------------------------------ */

/* Told values on another scale than the labels: an evaluator in other
 * units (or a broken one) mixes two scales in the refit. The measure:
 * z = |median(told) - mean(labels)| / sd(labels) and the spread ratio
 * 1.4826 MAD(told) / sd(labels); either above SCALE_ALARM (or the ratio
 * below 1 / SCALE_ALARM with 4+ values) is a mismatch. A loop that finds
 * better designs moves the median by a few label sd, not by SCALE_ALARM. */
#define SCALE_ALARM 20.0

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int scale_mismatch(const double *label_y, size_t nl, const double *told, size_t nt,
                          char *why, size_t cap) {
    if (nt == 0 || nl < 2) return 0;
    double mu = 0, ss = 0;
    for (size_t i = 0; i < nl; i++) mu += label_y[i] / (double)nl;
    for (size_t i = 0; i < nl; i++) ss += (label_y[i] - mu) * (label_y[i] - mu);
    double sd = sqrt(ss / (double)(nl - 1));
    if (!(sd > 0)) return 0;
    double *v = genbo__malloc(nt * sizeof *v);
    if (!v) return 0;
    memcpy(v, told, nt * sizeof *v);
    qsort(v, nt, sizeof *v, cmp_double);
    double med = nt % 2 ? v[nt / 2] : 0.5 * (v[nt / 2 - 1] + v[nt / 2]);
    for (size_t i = 0; i < nt; i++) v[i] = fabs(v[i] - med);
    qsort(v, nt, sizeof *v, cmp_double);
    double mad = 1.4826 * (nt % 2 ? v[nt / 2] : 0.5 * (v[nt / 2 - 1] + v[nt / 2]));
    free(v);
    double z = fabs(med - mu) / sd, ratio = mad / sd;
    int bad = z > SCALE_ALARM || ratio > SCALE_ALARM || (nt >= 4 && ratio < 1.0 / SCALE_ALARM);
    if (bad)
        snprintf(why, cap, "the told values are on another scale than the labels (median %.4g, "
                 "spread %.4g; labels: mean %.4g, sd %.4g): the diffusion model is not fine-tuned "
                 "on them; check the evaluator's units", med, mad, mu, sd);
    return bad;
}

/* Told designs the diffusion model may be fine-tuned on: those the trust
 * region did not have to move (flags NULL). A projected or resampled
 * design is an artefact of the region, not a sample of the model; fine-
 * tuning on it would teach the model its own off-support excursions. */
static int trusted_told(genbo_study *s, int64_t run_id, double **Xout, double **yout,
                        size_t *nout) {
    const size_t dim = s->data.dim;
    *Xout = *yout = NULL;
    *nout = 0;
    int64_t told = genbo__run_told_count(s, run_id);
    if (told < 0) return GENBO_EDB;
    size_t cap = (size_t)told, k = 0;
    double *X = genbo__malloc((cap ? cap : 1) * dim * sizeof *X);
    double *y = genbo__malloc((cap ? cap : 1) * sizeof *y);
    if (!X || !y) {
        free(X), free(y);
        return GENBO_ENOMEM;
    }
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db, "SELECT t.x, o.value FROM trials t JOIN observations o ON "
                                         "o.trial_id = t.id WHERE t.run_id = ? AND t.state = 'told' "
                                         "AND t.flags IS NULL ORDER BY t.id", &st);
    if (!rc) {
        genbo__db_bind_int64(st, 1, run_id);
        while (k < cap && genbo__db_step(st) == GENBO__DB_ROW) {
            if ((size_t)genbo__db_column_bytes(st, 0) != dim * sizeof(double)) continue;
            memcpy(X + k * dim, genbo__db_column_blob(st, 0), dim * sizeof(double));
            y[k++] = genbo__db_column_double(st, 1);
        }
        genbo__db_finalize(st);
    }
    if (rc) {
        free(X), free(y);
        return rc;
    }
    *Xout = X, *yout = y, *nout = k;
    return GENBO_OK;
}

static int step_detail(genbo_study *s, int64_t run_id, const char *step, const char *detail) {
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
static int finish_round(genbo_study *s, int64_t run_id, int round, double t_start) {
    study_models *m = &s->models;
    const study_data *d = &s->data;
    genbo_reward *fresh;
    int64_t n_labels;
    int rc = genbo__refit_reward(s, run_id, &fresh, &n_labels);
    if (rc) return rc;
    genbo_reward_free(m->reward);
    m->reward = fresh;
    m->reward_labels = n_labels;
    if (!m->pseudo) m->pseudo = genbo__malloc(d->n_pool * sizeof *m->pseudo);
    rc = m->pseudo ? genbo_reward_predict(m->reward, d->n_pool, d->pool_X, m->pseudo, NULL) : GENBO_ENOMEM;
    study_training tr;
    memset(&tr, 0, sizeof tr);
    char why[512] = "";
    if (!rc) { /* the scale check looks at every told value of the run */
        double *Xl = NULL, *yl = NULL;
        size_t nl = 0;
        rc = genbo__run_labels(s, run_id, &Xl, &yl, &nl);
        if (!rc && scale_mismatch(d->label_y, d->n_label, yl + d->n_label, nl - d->n_label, why,
                                  sizeof why) && s->progress)
            (void)s->progress(s->progress_ctx, "warning", 1, 1, why);
        free(Xl);
        free(yl);
    }
    if (!rc && s->cfg->finetune_steps > 0 && !why[0]) {
        double *Xt = NULL, *yt = NULL;
        size_t extra = 0;
        rc = trusted_told(s, run_id, &Xt, &yt, &extra);
        size_t n = d->n_pool + extra;
        double *X = rc ? NULL : genbo__malloc(n * d->dim * sizeof *X);
        double *y = rc ? NULL : genbo__malloc(n * sizeof *y);
        if (!rc && (!X || !y)) rc = GENBO_ENOMEM;
        if (!rc) {
            memcpy(X, d->pool_X, d->n_pool * d->dim * sizeof *X);
            memcpy(y, m->pseudo, d->n_pool * sizeof *y);
            memcpy(X + d->n_pool * d->dim, Xt, extra * d->dim * sizeof *X);
            memcpy(y + d->n_pool, yt, extra * sizeof *y);
            genbo_diffusion_params dp;
            genbo__config_diffusion_params(s->cfg, &dp);
            dp.steps = s->cfg->finetune_steps;
            dp.seed = genbo__seed_mix(s->cfg->seed, 11, (uint64_t)round);
            dp.progress = s->progress;
            dp.progress_ctx = s->progress_ctx;
            rc = genbo__training_attach(s, run_id, round, &dp, &tr); /* curve, checkpoint, summary */
            if (!rc) rc = genbo__training_finish(&tr, genbo_diffusion_finetune(m->diffusion, &dp, n, X, y));
            else free(tr.resume);
        }
        free(X);
        free(y);
        free(Xt);
        free(yt);
    }
    char step[32];
    snprintf(step, sizeof step, "round %d", round);
    /* The reward model, the fine-tuned diffusion model and the round's mark
     * commit together: a rerun after a crash before this point finds the
     * previous round's models and redoes the (deterministic) refit and
     * fine-tune from them. (Committing the fine-tuned model on its own made
     * a resume fine-tune it twice: issue 10.1.) */
    if (!rc) rc = genbo__store_round(s, run_id, round, n_labels, m->reward,
                                     s->cfg->finetune_steps > 0 && !why[0] ? m->diffusion : NULL, step,
                                     genbo__now() - t_start);
    if (!rc && tr.s) rc = genbo__training_done(&tr); /* the fine-tune's checkpoint is obsolete */
    if (!rc && why[0]) rc = step_detail(s, run_id, step, why);
    return rc;
}

static genbo__evaluator *make_evaluator(genbo_study *s, int *rc) {
    const genbo_config *c = s->cfg;
    genbo__evaluator *ev = NULL;
    int kind = c->evaluator;
    if (kind == CFG_EVAL_AUTO) kind = s->data.task ? CFG_EVAL_ORACLE : CFG_EVAL_NONE;
    *rc = GENBO_OK;
    if (kind == CFG_EVAL_ORACLE) {
        if (!s->data.task) *rc = genbo__fail(GENBO_EINVAL, "[evaluate] evaluator = oracle needs a synthetic task");
        else *rc = genbo__evaluator_oracle(s->data.task, &ev);
    } else if (kind == CFG_EVAL_COMMAND) {
        size_t dim = s->data.dim;
        const char **names = genbo__calloc(dim, sizeof *names);
        if (!names) {
            *rc = GENBO_ENOMEM;
            return NULL;
        }
        for (size_t j = 0; j < dim; j++) names[j] = genbo_dataset_column_name(s->data.labelled, j);
        *rc = genbo__evaluator_command(c->command, c->timeout, dim, names, &ev);
        free(names);
    }
    return ev;
}

static int progress(genbo_study *s, const char *stage, long done, long total, const char *msg) {
    if (s->progress && s->progress(s->progress_ctx, stage, done, total, msg))
        return genbo__fail(GENBO_ESTATE, "interrupted");
    return GENBO_OK;
}

static int run_steps(genbo_study *s, int64_t run_id) {
    const genbo_config *c = s->cfg;
    int rc = genbo__pipeline_models(s, run_id);
    genbo__evaluator *ev = NULL;
    if (!rc) ev = make_evaluator(s, &rc);
    if (!rc && !genbo__step_done(s, run_id, "generate")) {
        double t = genbo__now();
        long total = (long)c->n_targets * c->n_methods, k = 0;
        for (int i = 0; !rc && i < c->n_targets; i++) {
            batch b = {run_id, 0, c->targets[i].label, NULL, 0, (size_t)c->n, 0};
            rc = target_value(s, run_id, b.label, &b.target);
            for (int j = 0; !rc && j < c->n_methods; j++, k++) {
                char msg[96];
                snprintf(msg, sizeof msg, "%s at %s", c->methods[j], b.label);
                rc = progress(s, "generate", k, total, msg);
                b.method = c->methods[j];
                /* Seeded by target and method, not by their order in the file. */
                b.seed = genbo__seed_mix(c->seed, 100 + genbo__crc32(0, b.label, strlen(b.label)),
                                         genbo__crc32(0, b.method, strlen(b.method)));
                if (!rc) rc = run_batch(s, ev, &b);
            }
        }
        if (!rc) rc = progress(s, "generate", total, total, "done");
        if (!rc) rc = genbo__store_begin(s->db);
        if (!rc) {
            rc = genbo__step_mark(s, run_id, "generate", genbo__now() - t, NULL);
            if (rc) genbo__store_rollback(s->db);
            else rc = genbo__store_commit(s->db);
        }
    }
    for (int r = 1; !rc && r <= c->rounds; r++) {
        char step[32];
        snprintf(step, sizeof step, "round %d", r);
        if (genbo__step_done(s, run_id, step)) continue;
        double t = genbo__now();
        batch b = {run_id, r, c->loop_target.label, c->loop_method, 0, (size_t)c->loop_batch,
                   genbo__seed_mix(c->seed, 200, (uint64_t)r)};
        rc = progress(s, "round", r - 1, c->rounds, step);
        if (!rc) rc = target_value(s, run_id, b.label, &b.target);
        if (!rc) rc = run_batch(s, ev, &b);
        if (!rc) rc = finish_round(s, run_id, r, t);
        if (!rc) rc = progress(s, "round", r, c->rounds, step);
    }
    genbo__evaluator_free(ev);
    return rc;
}

/* One `genbo run` of a study at a time: two processes resuming the same
 * unfinished run would both generate its batches. An flock on a file beside
 * the database marks the owner; the kernel drops it when the process ends,
 * even by SIGKILL, so a killed run can always be resumed. */
/* The study name as a file-name part: bytes other than [A-Za-z0-9._-]
 * percent-encoded (a '/' in a name must not make a path), long names cut
 * and tagged with their CRC so the name stays under NAME_MAX. */
static void lock_name(const char *name, char *out, size_t size) {
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p && k + 4 < size && k < 120; p++) {
        if (isalnum(*p) || *p == '.' || *p == '_' || *p == '-') out[k++] = (char)*p;
        else k += (size_t)snprintf(out + k, size - k, "%%%02X", *p);
    }
    out[k] = '\0';
    if (k >= 120) snprintf(out + 100, size - 100, "~%08x", (unsigned)genbo__crc32(0, name, strlen(name)));
}

void genbo__run_lock_path(const char *db_path, const char *name, char *out, size_t size) {
    char part[160];
    lock_name(name, part, sizeof part);
    snprintf(out, size, "%s.%s.runlock", db_path, part);
}

/* PostgreSQL: a session advisory lock on the study's own connection
 * (pg_try_advisory_lock), dropped by the server when the connection ends,
 * so the rule is the same: a killed run can be resumed at once. */
static int run_lock(genbo_study *s, int *lock_fd) {
    if (genbo__db_is_pg(s->db)) {
        int got = 0;
        if (genbo__db_try_lock(s->db, s->name, &got)) return genbo__store_fail(s->db, "taking the run lock");
        if (!got)
            return genbo__fail(GENBO_ESTATE, "study '%s' in %s is being run by another process (advisory lock)",
                               s->name, s->db_path);
        *lock_fd = -1;
        return GENBO_OK;
    }
    char path[4096];
    genbo__run_lock_path(s->db_path, s->name, path, sizeof path);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return genbo__fail(GENBO_EIO, "%s: cannot create the run lock: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int busy = errno == EWOULDBLOCK;
        close(fd);
        if (busy)
            return genbo__fail(GENBO_ESTATE, "study '%s' in %s is being run by another process (lock %s)",
                               s->name, s->db_path, path);
        return genbo__fail(GENBO_EIO, "%s: cannot lock: %s", path, strerror(errno));
    }
    *lock_fd = fd;
    return GENBO_OK;
}

static void run_unlock(genbo_study *s, int lock_fd) {
    if (lock_fd >= 0) close(lock_fd);
    else genbo__db_unlock(s->db, s->name);
}

int genbo_study_run(genbo_study *s, genbo_progress_fn progress_fn, void *ctx) {
    if (!s) return genbo__fail(GENBO_EINVAL, "genbo_study_run: NULL study");
    if (s->readonly) return genbo__fail(GENBO_ESTATE, "study '%s' is open read-only", s->name);
    int lock;
    int rc = run_lock(s, &lock);
    if (rc) return rc;
    int64_t run_id;
    int resumed;
    rc = resume_or_create(s, &run_id, &resumed);
    if (rc) {
        run_unlock(s, lock);
        return rc;
    }
    s->progress = progress_fn;
    s->progress_ctx = ctx;
    if (resumed && progress_fn) {
        char msg[64];
        snprintf(msg, sizeof msg, "resuming run %lld", (long long)run_id);
        progress_fn(ctx, "resume", 0, 0, msg);
    }
    rc = run_steps(s, run_id);
    int rc2 = genbo__run_finish(s, run_id, rc);
    run_unlock(s, lock);
    s->progress = NULL;
    s->progress_ctx = NULL;
    return rc ? rc : rc2;
}

int64_t genbo__study_last_run(genbo_study *s) {
    int64_t id = 0;
    genbo__store_int(s->db, "SELECT MAX(id) FROM runs WHERE study_id = ? AND kind = 'run'", s->id, 0, &id);
    return id;
}
