/* read.c - the read side of a study for programs (the CLI, the dashboard,
 * the Python module): its trials with their designs, the best trial of a
 * phase, the names of its features. All SQL of these reads is here. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "studies/store.h"
#include "studies/study.h"

struct genbo_trial_list {
    size_t n, dim;
    genbo_trial *v;
    double *x; /* n * dim, design i at x + i * dim */
};

static const char *const TRIAL_COLS =
    "SELECT t.id, t.run_id, t.round, t.state, t.target, o.value, t.predicted, t.support_distance, "
    "t.asked, t.finished, t.method, t.target_label, t.reason, t.x "
    "FROM trials t LEFT JOIN observations o ON o.trial_id = t.id WHERE t.study_id = ?1 ";

static const char *phase_sql(int phase) {
    switch (phase) {
    case GENBO_PHASE_RUN: return "AND t.round = 0 ";
    case GENBO_PHASE_LOOP: return "AND (t.round IS NULL OR t.round >= 1) ";
    default: return "";
    }
}

/* sql binds ?1 = the study; a page also ?2 = after_id and ?3 = limit. */
static int read_list(genbo_study *s, const char *sql, int64_t after_id, int64_t limit,
                     genbo_trial_list **out) {
    *out = NULL;
    /* 0 when the study's data never loaded (a run that failed on its
     * files): the trials are still listed, without designs. */
    size_t dim = genbo_study_dim(s);
    genbo_trial_list *l = genbo__calloc(1, sizeof *l);
    if (!l) return GENBO_ENOMEM;
    l->dim = dim;
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db, sql, &st);
    if (rc) {
        free(l);
        return rc;
    }
    genbo__db_bind_int64(st, 1, s->id);
    if (genbo__db_bind_parameter_count(st) >= 3) {
        genbo__db_bind_int64(st, 2, after_id);
        genbo__db_bind_int64(st, 3, limit);
    }
    size_t cap = 0, cap_x = 0;
    int r;
    while ((r = genbo__db_step(st)) == GENBO__DB_ROW) {
        if ((rc = genbo__grow(&l->v, &cap, l->n + 1, sizeof *l->v, "trials")) ||
            (rc = genbo__grow(&l->x, &cap_x, (l->n + 1) * (dim ? dim : 1), sizeof *l->x, "trials")))
            break;
        genbo_trial *t = &l->v[l->n];
        memset(t, 0, sizeof *t);
        t->id = genbo__db_column_int64(st, 0);
        t->run_id = genbo__db_column_int64(st, 1);
        t->round = genbo__db_column_type(st, 2) == GENBO__DB_NULL ? -1 : genbo__db_column_int(st, 2);
        const char *state = (const char *)genbo__db_column_text(st, 3);
        t->state = state && !strcmp(state, "told") ? GENBO_TRIAL_TOLD
                   : state && !strcmp(state, "failed") ? GENBO_TRIAL_FAILED : GENBO_TRIAL_ASKED;
        t->target = genbo__store_col_double(st, 4);
        t->value = genbo__store_col_double(st, 5);
        t->predicted = genbo__store_col_double(st, 6);
        t->support_distance = genbo__store_col_double(st, 7);
        t->asked = genbo__store_col_double(st, 8);
        t->finished = genbo__store_col_double(st, 9);
        genbo__store_col_text(st, 10, t->method, sizeof t->method);
        genbo__store_col_text(st, 11, t->target_label, sizeof t->target_label);
        genbo__store_col_text(st, 12, t->reason, sizeof t->reason);
        t->dim = dim;
        /* x is fixed up below: the array may still move. */
        if (dim > 0 && (size_t)genbo__db_column_bytes(st, 13) == dim * sizeof(double)) {
            memcpy(l->x + l->n * dim, genbo__db_column_blob(st, 13), dim * sizeof(double));
            t->x = (const double *)1;
        }
        l->n++;
    }
    if (!rc && r != GENBO__DB_DONE) rc = genbo__store_fail(s->db, "trials");
    genbo__db_finalize(st);
    if (rc) {
        genbo_trial_list_free(l);
        return rc;
    }
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].x) l->v[i].x = l->x + i * dim;
    *out = l;
    return GENBO_OK;
}

int genbo_study_trials(genbo_study *s, int phase, genbo_trial_list **out) {
    if (!s || !out) return genbo__fail(GENBO_EINVAL, "genbo_study_trials: NULL argument");
    char sql[1024];
    snprintf(sql, sizeof sql, "%s%sORDER BY t.id", TRIAL_COLS, phase_sql(phase));
    return read_list(s, sql, 0, 0, out);
}

int genbo_study_trials_page(genbo_study *s, int phase, int64_t after_id, size_t limit,
                            genbo_trial_list **out) {
    if (!s || !out) return genbo__fail(GENBO_EINVAL, "genbo_study_trials_page: NULL argument");
    char sql[1024];
    snprintf(sql, sizeof sql, "%s%sAND t.id > ?2 ORDER BY t.id LIMIT ?3", TRIAL_COLS, phase_sql(phase));
    return read_list(s, sql, after_id, limit && limit < (size_t)INT64_MAX ? (int64_t)limit : INT64_MAX, out);
}

int genbo_study_best_trial(genbo_study *s, int phase, genbo_trial_list **out) {
    if (!s || !out) return genbo__fail(GENBO_EINVAL, "genbo_study_best_trial: NULL argument");
    char sql[1024];
    snprintf(sql, sizeof sql, "%s%sAND t.state = 'told' ORDER BY o.value DESC, t.id LIMIT 1",
             TRIAL_COLS, phase_sql(phase));
    return read_list(s, sql, 0, 0, out);
}

size_t genbo_trial_list_size(const genbo_trial_list *l) { return l ? l->n : 0; }

const genbo_trial *genbo_trial_list_get(const genbo_trial_list *l, size_t i) {
    return l && i < l->n ? &l->v[i] : NULL;
}

void genbo_trial_list_free(genbo_trial_list *l) {
    if (!l) return;
    free(l->v);
    free(l->x);
    free(l);
}

static void run_row(genbo__db_stmt *st, void *elem) {
    genbo_run_info *e = elem;
    e->id = genbo__db_column_int64(st, 0);
    genbo__store_col_text(st, 1, e->kind, sizeof e->kind);
    genbo__store_col_text(st, 2, e->status, sizeof e->status);
    genbo__store_col_text(st, 3, e->last_step, sizeof e->last_step);
    e->started = genbo__store_col_double(st, 4);
    e->ended = genbo__store_col_double(st, 5);
    e->seed = (uint64_t)genbo__db_column_int64(st, 6);
    genbo__store_col_text(st, 7, e->version, sizeof e->version);
    genbo__store_col_text(st, 8, e->error, sizeof e->error);
}

int genbo_study_runs(genbo_study *s, genbo_run_info **out, size_t *n) {
    if (!s || !out || !n) return genbo__fail(GENBO_EINVAL, "genbo_study_runs: NULL argument");
    *out = NULL;
    *n = 0;
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db,
                                  "SELECT id, kind, status, last_step, started, ended, seed, version, error "
                                  "FROM runs WHERE study_id = ? ORDER BY id", &st);
    if (rc) return rc;
    genbo__db_bind_int64(st, 1, s->id);
    return genbo__store_rows(s->db, st, "runs", sizeof **out, run_row, (void **)out, n);
}

/* Feature names: those the study's newest dataset row recorded (no data to
 * load), else the loaded data's. */
static int load_names(genbo_study *s) {
    size_t dim = genbo_study_dim(s);
    if (dim == 0) return GENBO_ESTATE;
    char **names = genbo__calloc(dim, sizeof *names);
    if (!names) return GENBO_ENOMEM;
    genbo__db_stmt *st;
    cJSON *arr = NULL;
    if (!genbo__store_prepare(s->db,
                              "SELECT d.columns FROM datasets d JOIN runs r ON r.id = d.run_id WHERE "
                              "r.study_id = ? AND d.role = 'labelled' ORDER BY d.id DESC LIMIT 1", &st)) {
        genbo__db_bind_int64(st, 1, s->id);
        if (genbo__db_step(st) == GENBO__DB_ROW && genbo__db_column_text(st, 0))
            arr = cJSON_Parse((const char *)genbo__db_column_text(st, 0));
        genbo__db_finalize(st);
    }
    int from_db = arr && cJSON_GetArraySize(arr) == (int)dim;
    if (!from_db && genbo__study_load_data(s)) {
        cJSON_Delete(arr);
        free(names);
        return GENBO_EFORMAT;
    }
    int rc = GENBO_OK;
    for (size_t j = 0; !rc && j < dim; j++) {
        const cJSON *it = from_db ? cJSON_GetArrayItem(arr, (int)j) : NULL;
        const char *nm = from_db ? (cJSON_IsString(it) ? it->valuestring : NULL)
                                 : genbo_dataset_column_name(s->data.labelled, j);
        char fallback[32];
        snprintf(fallback, sizeof fallback, "x%zu", j);
        names[j] = strdup(nm ? nm : fallback);
        if (!names[j]) rc = GENBO_ENOMEM;
    }
    cJSON_Delete(arr);
    if (rc) {
        for (size_t j = 0; j < dim; j++) free(names[j]);
        free(names);
        return rc;
    }
    s->names = names;
    s->n_names = dim;
    return GENBO_OK;
}

const char *genbo_study_feature_name(genbo_study *s, size_t j) {
    if (!s) return NULL;
    if (!s->names && load_names(s)) return NULL;
    return j < s->n_names ? s->names[j] : NULL;
}

void genbo__study_names_free(genbo_study *s) {
    for (size_t j = 0; j < s->n_names; j++) free(s->names[j]);
    free(s->names);
    s->names = NULL;
    s->n_names = 0;
}
