/* read_results.c - the results of a study for programs (the CLI's tables,
 * the dashboard, the Python module): resolved targets, metrics per batch
 * and their summary over runs, diffusion trainings and loss curves, reward
 * samples, stored configurations. All SQL of these reads is here; each
 * function runs one query and copies its rows into a malloc'ed array. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "studies/store.h"
#include "studies/study.h"

/* Run sql with ?1 = the study id and ?2 = run_id (0 = every run) and copy
 * each row with fn into a malloc'ed array of elem-byte elements. */
static int read_rows(genbo_study *s, const char *what, const char *sql, int64_t run_id, size_t elem,
                     genbo__row_fn fn, void **out, size_t *n) {
    if (!s || !out || !n) return genbo__fail(GENBO_EINVAL, "reading %s: NULL argument", what);
    *out = NULL;
    *n = 0;
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db, sql, &st);
    if (rc) return rc;
    genbo__db_bind_int64(st, 1, s->id);
    if (genbo__db_bind_parameter_count(st) >= 2) genbo__db_bind_int64(st, 2, run_id);
    return genbo__store_rows(s->db, st, what, elem, fn, out, n);
}

/* ---- targets ------------------------------------------------------------ */

static void target_row(genbo__db_stmt *st, void *elem) {
    genbo_target_info *t = elem;
    t->run_id = genbo__db_column_int64(st, 0);
    genbo__store_col_text(st, 1, t->label, sizeof t->label);
    t->value = genbo__store_col_double(st, 2);
}

int genbo_study_targets(genbo_study *s, int64_t run_id, genbo_target_info **out, size_t *n) {
    return read_rows(s, "targets",
                     "SELECT t.run_id, t.label, t.value FROM targets t JOIN runs r ON r.id = t.run_id"
                     " WHERE r.study_id = ?1 AND (?2 = 0 OR t.run_id = ?2) ORDER BY t.run_id, t.value",
                     run_id, sizeof **out, target_row, (void **)out, n);
}

/* ---- metrics ------------------------------------------------------------ */

static void metric_row(genbo__db_stmt *st, void *elem) {
    genbo_metric *m = elem;
    m->run_id = genbo__db_column_int64(st, 0);
    m->round = genbo__db_column_int(st, 1);
    genbo__store_col_text(st, 2, m->target_label, sizeof m->target_label);
    m->target = genbo__store_col_double(st, 3);
    genbo__store_col_text(st, 4, m->method, sizeof m->method);
    m->subopt = genbo__store_col_double(st, 5);
    genbo__store_col_text(st, 6, m->subopt_kind, sizeof m->subopt_kind);
    m->mean_true = genbo__store_col_double(st, 7);
    m->best_true = genbo__store_col_double(st, 8);
    m->sd_true = genbo__store_col_double(st, 9);
    m->mean_pred = genbo__store_col_double(st, 10);
    m->best_pred = genbo__store_col_double(st, 11);
    m->sd_pred = genbo__store_col_double(st, 12);
    m->support_distance = genbo__store_col_double(st, 13);
    genbo__store_col_text(st, 14, m->support_kind, sizeof m->support_kind);
    m->diversity = genbo__store_col_double(st, 15);
    m->novelty = genbo__store_col_double(st, 16);
    m->n = genbo__db_column_int64(st, 17);
    m->n_failed = genbo__db_column_int64(st, 18);
}

int genbo_study_metrics(genbo_study *s, int64_t run_id, genbo_metric **out, size_t *n) {
    return read_rows(s, "metrics",
                     "SELECT m.run_id, m.round, m.target_label, m.target, m.method, m.subopt,"
                     " m.subopt_kind, m.mean_true, m.best_true, m.sd_true, m.mean_pred, m.best_pred,"
                     " m.sd_pred, m.support_distance, m.support_kind, m.diversity, m.novelty, m.n,"
                     " m.n_failed FROM metrics m JOIN runs r ON r.id = m.run_id"
                     " WHERE r.study_id = ?1 AND (?2 = 0 OR m.run_id = ?2)"
                     " ORDER BY m.run_id, m.round, m.target, m.method",
                     run_id, sizeof **out, metric_row, (void **)out, n);
}

/* Columns c, c_min, c_max, c_n of the summary. */
#define STAT(c) " avg(m." c "), min(m." c "), max(m." c "), count(m." c "),"

static int stat_at(genbo__db_stmt *st, int col, genbo_stat *out) {
    out->mean = genbo__store_col_double(st, col);
    out->min = genbo__store_col_double(st, col + 1);
    out->max = genbo__store_col_double(st, col + 2);
    out->n = genbo__db_column_int64(st, col + 3);
    return col + 4;
}

static void summary_row(genbo__db_stmt *st, void *elem) {
    genbo_metric_summary *m = elem;
    genbo__store_col_text(st, 0, m->method, sizeof m->method);
    genbo__store_col_text(st, 1, m->target_label, sizeof m->target_label);
    m->runs = genbo__db_column_int64(st, 2);
    int c = stat_at(st, 3, &m->target);
    c = stat_at(st, c, &m->subopt);
    genbo__store_col_text(st, c++, m->subopt_kind, sizeof m->subopt_kind);
    c = stat_at(st, c, &m->mean_true);
    c = stat_at(st, c, &m->mean_pred);
    c = stat_at(st, c, &m->best_true);
    c = stat_at(st, c, &m->best_pred);
    c = stat_at(st, c, &m->support_distance);
    genbo__store_col_text(st, c++, m->support_kind, sizeof m->support_kind);
    c = stat_at(st, c, &m->diversity);
    m->n = genbo__db_column_int64(st, c);
    m->n_failed = genbo__db_column_int64(st, c + 1);
}

int genbo_study_metric_summary(genbo_study *s, genbo_metric_summary **out, size_t *n) {
    /* A target label resolves to slightly different values in different
     * runs (a percentile of each run's pool): its mean orders the rows. */
    return read_rows(s, "the metrics summary",
                     "SELECT m.method, m.target_label, count(*)," STAT("target") STAT("subopt")
                     " CASE WHEN count(CASE WHEN m.subopt_kind = 'predicted' THEN 1 END) > 0 THEN 'predicted'"
                     "      WHEN count(CASE WHEN m.subopt_kind = 'true' THEN 1 END) > 0 THEN 'true' END,"
                     STAT("mean_true") STAT("mean_pred") STAT("best_true") STAT("best_pred")
                     STAT("support_distance") " max(m.support_kind)," STAT("diversity")
                     " sum(m.n), sum(m.n_failed)"
                     " FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.study_id = ?1 AND m.round = 0"
                     " GROUP BY m.method, m.target_label ORDER BY m.method, avg(m.target)",
                     0, sizeof **out, summary_row, (void **)out, n);
}
#undef STAT

/* ---- diffusion trainings ------------------------------------------------ */

static void training_row(genbo__db_stmt *st, void *elem) {
    genbo_training_info *t = elem;
    t->run_id = genbo__db_column_int64(st, 0);
    t->round = genbo__db_column_int(st, 1);
    genbo__store_col_text(st, 2, t->stop, sizeof t->stop);
    t->steps = genbo__db_column_int64(st, 3);
    t->best_step = genbo__db_column_type(st, 4) == GENBO__DB_NULL ? -1 : genbo__db_column_int64(st, 4);
    t->best_val_loss = genbo__store_col_double(st, 5);
    t->val_loss = genbo__store_col_double(st, 6);
    t->train_loss = genbo__store_col_double(st, 7);
    t->seconds = genbo__store_col_double(st, 8);
    t->resumed_from = genbo__db_column_int64(st, 9);
    t->n_train = genbo__db_column_int64(st, 10);
    t->n_val = genbo__db_column_int64(st, 11);
    t->val_seed = genbo__db_column_int64(st, 12);
    t->width = genbo__db_column_int(st, 13);
    t->depth = genbo__db_column_int(st, 14);
    t->batch = genbo__db_column_int(st, 15);
}

int genbo_study_trainings(genbo_study *s, int64_t run_id, genbo_training_info **out, size_t *n) {
    return read_rows(s, "trainings",
                     "SELECT t.run_id, t.round, t.stop, t.steps, t.best_step, t.best_val_loss, t.val_loss,"
                     " t.train_loss, t.seconds, t.resumed_from, t.n_train, t.n_val, t.val_seed, t.width,"
                     " t.depth, t.batch FROM trainings t JOIN runs r ON r.id = t.run_id"
                     " WHERE r.study_id = ?1 AND (?2 = 0 OR t.run_id = ?2) ORDER BY t.run_id, t.round",
                     run_id, sizeof **out, training_row, (void **)out, n);
}

static void curve_row(genbo__db_stmt *st, void *elem) {
    genbo_curve_point *c = elem;
    c->run_id = genbo__db_column_int64(st, 0);
    c->round = genbo__db_column_int(st, 1);
    c->pt.step = (long)genbo__db_column_int64(st, 2);
    c->pt.train_loss = genbo__store_col_double(st, 3);
    c->pt.val_loss = genbo__store_col_double(st, 4);
    c->pt.lr = genbo__store_col_double(st, 5);
    c->pt.seconds = genbo__store_col_double(st, 6);
}

int genbo_study_train_curve(genbo_study *s, int64_t run_id, genbo_curve_point **out, size_t *n) {
    return read_rows(s, "the loss curves",
                     "SELECT c.run_id, c.round, c.step, c.train_loss, c.val_loss, c.lr, c.seconds"
                     " FROM train_curve c JOIN runs r ON r.id = c.run_id"
                     " WHERE r.study_id = ?1 AND (?2 = 0 OR c.run_id = ?2)"
                     " ORDER BY c.run_id, c.round, c.step",
                     run_id, sizeof **out, curve_row, (void **)out, n);
}

/* ---- reward samples ----------------------------------------------------- */

static void sample_row(genbo__db_stmt *st, void *elem) { *(double *)elem = genbo__db_column_double(st, 0); }

int genbo_study_reward_samples(genbo_study *s, int kind, double **out, size_t *n) {
    static const char *const sql[] = {
        "SELECT s.value FROM reward_samples s JOIN runs r ON r.id = s.run_id"
        " WHERE r.study_id = ?1 AND s.kind = 'labelled' ORDER BY s.run_id, s.rowid",
        "SELECT s.value FROM reward_samples s JOIN runs r ON r.id = s.run_id"
        " WHERE r.study_id = ?1 AND s.kind = 'pool' ORDER BY s.run_id, s.rowid",
        "SELECT s.value FROM reward_samples s JOIN runs r ON r.id = s.run_id"
        " WHERE r.study_id = ?1 AND s.kind = 'pool_true' ORDER BY s.run_id, s.rowid"};
    if (kind < GENBO_SAMPLES_LABELLED || kind > GENBO_SAMPLES_POOL_TRUE) {
        if (out) *out = NULL;
        if (n) *n = 0;
        return genbo__fail(GENBO_EINVAL, "genbo_study_reward_samples: unknown kind %d", kind);
    }
    return read_rows(s, "reward samples", sql[kind], 0, sizeof **out, sample_row, (void **)out, n);
}

/* ---- configurations and the study's own line ---------------------------- */

const genbo_config *genbo_study_config(const genbo_study *s) {
    return s && !s->cfg_broken ? s->cfg : NULL;
}

const char *genbo_study_config_text(const genbo_study *s) { return s ? s->cfg_text : NULL; }

int genbo_study_run_config(genbo_study *s, int64_t run_id, char **ini) {
    if (!s || !ini) return genbo__fail(GENBO_EINVAL, "genbo_study_run_config: NULL argument");
    *ini = NULL;
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db, "SELECT config FROM runs WHERE id = ?2 AND study_id = ?1", &st);
    if (rc) return rc;
    genbo__db_bind_int64(st, 1, s->id);
    genbo__db_bind_int64(st, 2, run_id);
    int r = genbo__db_step(st);
    if (r == GENBO__DB_ROW) {
        const char *t = (const char *)genbo__db_column_text(st, 0);
        *ini = strdup(t ? t : "");
        if (!*ini) rc = genbo__fail(GENBO_ENOMEM, "out of memory");
    } else if (r == GENBO__DB_DONE) {
        rc = genbo__fail(GENBO_ENOTFOUND, "study '%s' has no run %lld", s->name, (long long)run_id);
    } else {
        rc = genbo__store_fail(s->db, "reading a run's configuration");
    }
    genbo__db_finalize(st);
    return rc;
}
