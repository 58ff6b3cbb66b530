/* dashboard_data.c - a study database as the dashboard's JSON documents
 * (see dashboard_data.h and docs/dashboard.md), built on the library's
 * read API (genbo_db, genbo_study_*): this file is the thin JSON layer and
 * holds no SQL.
 *
 * Each row of the API becomes one JSON object with the keys the page
 * reads; a value the database does not have (NaN, "", a negative round or
 * step) is null. Numbers are never rounded here: rounding for display
 * happens once, in the template. */
#include "cli/dashboard_data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

static int oom(void) { return cli_error(GENBO_ENOMEM, "dashboard: out of memory"); }

int dashboard_db_open(const char *path, genbo_db **out) {
    *out = NULL;
    if (!path || !*path) return cli_error(GENBO_EINVAL, "no database given (--db)");
    /* read-only: the dashboard never creates or modifies a database; the
     * library checks that it is one (its schema version). */
    int rc = genbo_db_open(path, out);
    return rc == GENBO_ENOTFOUND ? GENBO_EIO : rc;
}

/* ---- values ------------------------------------------------------------- */

static cJSON *num(double v) { return isnan(v) ? cJSON_CreateNull() : cJSON_CreateNumber(v); }
static cJSON *text(const char *s) { return s && *s ? cJSON_CreateString(s) : cJSON_CreateNull(); }
/* Integers stored as NULL come back as a negative sentinel (or 0 for ids). */
static cJSON *count_or_null(int64_t v, int64_t none) {
    return v == none ? cJSON_CreateNull() : cJSON_CreateNumber((double)v);
}

/* Add key: value to obj; 0 if out of memory. */
static int put(cJSON *obj, const char *key, cJSON *v) {
    if (v && cJSON_AddItemToObject(obj, key, v)) return 1;
    cJSON_Delete(v);
    return 0;
}

/* A new object appended to arr (NULL if out of memory). */
static cJSON *row_in(cJSON *arr) {
    cJSON *row = cJSON_CreateObject();
    if (row && cJSON_AddItemToArray(arr, row)) return row;
    cJSON_Delete(row);
    return NULL;
}

static const char *state_name(int state) {
    return state == GENBO_TRIAL_TOLD ? "told" : state == GENBO_TRIAL_FAILED ? "failed" : "asked";
}

/* ---- the study's parts ---------------------------------------------------- */

/* {"id","name","dim","created","runs","running","trials","asked","told",
 *  "failed","last_activity"}: a line of the studies list. */
static int summary_json(const genbo_study_summary *e, cJSON *row) {
    int64_t trials = e->asked + e->told + e->failed;
    int ok = put(row, "id", cJSON_CreateNumber((double)e->id)) && put(row, "name", cJSON_CreateString(e->name)) &&
             put(row, "dim", count_or_null((int64_t)e->dim, 0)) && put(row, "created", num(e->created)) &&
             put(row, "runs", cJSON_CreateNumber((double)e->runs)) &&
             put(row, "running", cJSON_CreateNumber((double)e->running)) &&
             put(row, "trials", cJSON_CreateNumber((double)trials)) &&
             put(row, "asked", cJSON_CreateNumber((double)e->asked)) &&
             put(row, "told", cJSON_CreateNumber((double)e->told)) &&
             put(row, "failed", cJSON_CreateNumber((double)e->failed)) &&
             /* the newest ask or tell; null without trials */
             put(row, "last_activity", trials ? num(e->last_activity) : cJSON_CreateNull());
    return ok ? GENBO_OK : oom();
}

static int add_study_row(genbo_study *s, const genbo_study_summary *e, cJSON *doc) {
    cJSON *st = cJSON_AddObjectToObject(doc, "study");
    int ok = st && put(st, "id", cJSON_CreateNumber((double)e->id)) && put(st, "name", cJSON_CreateString(e->name)) &&
             put(st, "dim", count_or_null((int64_t)e->dim, 0)) && put(st, "created", num(e->created)) &&
             put(st, "config", cJSON_CreateString(genbo_study_config_text(s)));
    if (!ok) return oom();
    cJSON *c = cJSON_AddObjectToObject(doc, "counts");
    int64_t trials = e->asked + e->told + e->failed;
    ok = c && put(c, "runs", cJSON_CreateNumber((double)e->runs)) &&
         put(c, "trials", cJSON_CreateNumber((double)trials)) &&
         put(c, "asked", cJSON_CreateNumber((double)e->asked)) &&
         put(c, "told", cJSON_CreateNumber((double)e->told)) &&
         put(c, "failed", cJSON_CreateNumber((double)e->failed)) &&
         put(c, "last_activity", trials ? num(e->last_activity) : cJSON_CreateNull());
    return ok ? GENBO_OK : oom();
}

static int add_runs(genbo_study *s, cJSON *doc) {
    cJSON *arr = cJSON_AddArrayToObject(doc, "runs");
    if (!arr) return oom();
    genbo_run_info *v;
    size_t n;
    int rc = genbo_study_runs(s, &v, &n);
    for (size_t i = 0; !rc && i < n; i++) {
        const genbo_run_info *r = &v[i];
        char *config = NULL;
        rc = genbo_study_run_config(s, r->id, &config);
        if (rc) break;
        cJSON *row = row_in(arr);
        int ok = row && put(row, "id", cJSON_CreateNumber((double)r->id)) && put(row, "kind", text(r->kind)) &&
                 put(row, "seed", cJSON_CreateNumber((double)r->seed)) && put(row, "version", text(r->version)) &&
                 put(row, "status", text(r->status)) && put(row, "started", num(r->started)) &&
                 put(row, "ended", num(r->ended)) &&
                 put(row, "duration", num(isnan(r->ended) ? NAN : r->ended - r->started)) &&
                 put(row, "last_step", text(r->last_step)) && put(row, "error", text(r->error)) &&
                 put(row, "config", cJSON_CreateString(config));
        free(config);
        if (!ok) rc = oom();
    }
    free(v);
    return rc;
}

static int add_targets(genbo_study *s, cJSON *doc) {
    cJSON *arr = cJSON_AddArrayToObject(doc, "targets");
    if (!arr) return oom();
    genbo_target_info *v;
    size_t n;
    int rc = genbo_study_targets(s, 0, &v, &n);
    for (size_t i = 0; !rc && i < n; i++) {
        cJSON *row = row_in(arr);
        if (!(row && put(row, "run", cJSON_CreateNumber((double)v[i].run_id)) &&
              put(row, "label", cJSON_CreateString(v[i].label)) && put(row, "value", num(v[i].value))))
            rc = oom();
    }
    free(v);
    return rc;
}

/* X, X_min, X_max, X_n of a value over runs. */
static int put_stat(cJSON *row, const char *key, const genbo_stat *st) {
    char k[64];
    int ok = put(row, key, num(st->mean));
    snprintf(k, sizeof k, "%s_min", key);
    ok = ok && put(row, k, num(st->min));
    snprintf(k, sizeof k, "%s_max", key);
    ok = ok && put(row, k, num(st->max));
    snprintf(k, sizeof k, "%s_n", key);
    return ok && put(row, k, cJSON_CreateNumber((double)st->n));
}

/* The generation phase over runs per (method, target label). */
static int add_summary(genbo_study *s, cJSON *doc) {
    cJSON *arr = cJSON_AddArrayToObject(doc, "summary");
    if (!arr) return oom();
    genbo_metric_summary *v;
    size_t n;
    int rc = genbo_study_metric_summary(s, &v, &n);
    for (size_t i = 0; !rc && i < n; i++) {
        const genbo_metric_summary *m = &v[i];
        cJSON *row = row_in(arr);
        int ok = row && put(row, "method", cJSON_CreateString(m->method)) &&
                 put(row, "target_label", cJSON_CreateString(m->target_label)) &&
                 put(row, "runs", cJSON_CreateNumber((double)m->runs)) && put_stat(row, "target", &m->target) &&
                 put_stat(row, "subopt", &m->subopt) && put(row, "subopt_kind", text(m->subopt_kind)) &&
                 put_stat(row, "mean_true", &m->mean_true) && put_stat(row, "mean_pred", &m->mean_pred) &&
                 put_stat(row, "best_true", &m->best_true) && put_stat(row, "best_pred", &m->best_pred) &&
                 put_stat(row, "support_distance", &m->support_distance) &&
                 put(row, "support_kind", text(m->support_kind)) && put_stat(row, "diversity", &m->diversity) &&
                 put(row, "n", cJSON_CreateNumber((double)m->n)) &&
                 put(row, "n_failed", cJSON_CreateNumber((double)m->n_failed));
        if (!ok) rc = oom();
    }
    free(v);
    return rc;
}

/* The page lists metrics by round, method, target and run. */
static int metric_order(const void *a, const void *b) {
    const genbo_metric *x = a, *y = b;
    int c;
    if (x->round != y->round) return x->round < y->round ? -1 : 1;
    if ((c = strcmp(x->method, y->method))) return c;
    if (x->target != y->target) return x->target < y->target ? -1 : 1;
    if (x->run_id != y->run_id) return x->run_id < y->run_id ? -1 : 1;
    return strcmp(x->target_label, y->target_label);
}

static int add_metrics(genbo_study *s, cJSON *doc) {
    cJSON *arr = cJSON_AddArrayToObject(doc, "metrics");
    if (!arr) return oom();
    genbo_metric *v;
    size_t n;
    int rc = genbo_study_metrics(s, 0, &v, &n);
    if (!rc && n) qsort(v, n, sizeof *v, metric_order);
    for (size_t i = 0; !rc && i < n; i++) {
        const genbo_metric *m = &v[i];
        cJSON *row = row_in(arr);
        int ok = row && put(row, "run", cJSON_CreateNumber((double)m->run_id)) &&
                 put(row, "round", cJSON_CreateNumber(m->round)) &&
                 put(row, "target_label", cJSON_CreateString(m->target_label)) && put(row, "target", num(m->target)) &&
                 put(row, "method", cJSON_CreateString(m->method)) && put(row, "subopt", num(m->subopt)) &&
                 put(row, "subopt_kind", text(m->subopt_kind)) && put(row, "mean_true", num(m->mean_true)) &&
                 put(row, "best_true", num(m->best_true)) && put(row, "sd_true", num(m->sd_true)) &&
                 put(row, "mean_pred", num(m->mean_pred)) && put(row, "best_pred", num(m->best_pred)) &&
                 put(row, "sd_pred", num(m->sd_pred)) && put(row, "support_distance", num(m->support_distance)) &&
                 put(row, "support_kind", text(m->support_kind)) && put(row, "diversity", num(m->diversity)) &&
                 put(row, "novelty", num(m->novelty)) && put(row, "n", cJSON_CreateNumber((double)m->n)) &&
                 put(row, "n_failed", cJSON_CreateNumber((double)m->n_failed));
        if (!ok) rc = oom();
    }
    free(v);
    return rc;
}

/* {"labelled": [...], "pool": [...], "pool_true": [...]} over all runs of
 * the study (the histograms pool the seeds). */
static int add_reward_samples(genbo_study *s, cJSON *doc) {
    static const char *const kinds[] = {"labelled", "pool", "pool_true"};
    static const int codes[] = {GENBO_SAMPLES_LABELLED, GENBO_SAMPLES_POOL, GENBO_SAMPLES_POOL_TRUE};
    cJSON *obj = cJSON_AddObjectToObject(doc, "reward_samples");
    if (!obj) return oom();
    int rc = GENBO_OK;
    for (size_t k = 0; !rc && k < sizeof kinds / sizeof kinds[0]; k++) {
        double *v;
        size_t n;
        rc = genbo_study_reward_samples(s, codes[k], &v, &n);
        if (rc) break;
        cJSON *arr = n ? cJSON_CreateDoubleArray(v, (int)n) : cJSON_CreateArray();
        free(v);
        if (!put(obj, kinds[k], arr)) rc = oom();
    }
    return rc;
}

/* Every trial with its observation and design, a page at a time. */
#define TRIAL_PAGE 4096
static int add_trials(genbo_study *s, cJSON *doc) {
    cJSON *arr = cJSON_AddArrayToObject(doc, "trials");
    if (!arr) return oom();
    int64_t after = 0;
    for (;;) {
        genbo_trial_list *l;
        int rc = genbo_study_trials_page(s, GENBO_PHASE_ALL, after, TRIAL_PAGE, &l);
        if (rc) return rc;
        size_t n = genbo_trial_list_size(l);
        for (size_t i = 0; !rc && i < n; i++) {
            const genbo_trial *t = genbo_trial_list_get(l, i);
            cJSON *row = row_in(arr);
            int ok = row && put(row, "id", cJSON_CreateNumber((double)t->id)) &&
                     put(row, "run", count_or_null(t->run_id, 0)) && put(row, "round", count_or_null(t->round, -1)) &&
                     put(row, "target", num(t->target)) && put(row, "target_label", text(t->target_label)) &&
                     put(row, "method", cJSON_CreateString(t->method)) &&
                     put(row, "state", cJSON_CreateString(state_name(t->state))) &&
                     put(row, "predicted", num(t->predicted)) && put(row, "value", num(t->value)) &&
                     put(row, "support_distance", num(t->support_distance)) && put(row, "reason", text(t->reason)) &&
                     put(row, "asked", num(t->asked)) && put(row, "finished", num(t->finished)) &&
                     put(row, "x", t->x ? cJSON_CreateDoubleArray(t->x, (int)t->dim) : cJSON_CreateNull());
            if (!ok) rc = oom();
            after = t->id;
        }
        genbo_trial_list_free(l);
        if (rc) return rc;
        if (n < TRIAL_PAGE) return GENBO_OK;
    }
}

/* Diffusion trainings: the summary of each and the loss curves. */
static int add_trainings(genbo_study *s, cJSON *doc) {
    cJSON *arr = cJSON_AddArrayToObject(doc, "trainings");
    if (!arr) return oom();
    genbo_training_info *v;
    size_t n;
    int rc = genbo_study_trainings(s, 0, &v, &n);
    for (size_t i = 0; !rc && i < n; i++) {
        const genbo_training_info *t = &v[i];
        cJSON *row = row_in(arr);
        int ok = row && put(row, "run", cJSON_CreateNumber((double)t->run_id)) &&
                 put(row, "round", cJSON_CreateNumber(t->round)) && put(row, "stop", cJSON_CreateString(t->stop)) &&
                 put(row, "steps", cJSON_CreateNumber((double)t->steps)) &&
                 put(row, "best_step", count_or_null(t->best_step, -1)) &&
                 put(row, "best_val_loss", num(t->best_val_loss)) && put(row, "val_loss", num(t->val_loss)) &&
                 put(row, "train_loss", num(t->train_loss)) && put(row, "seconds", num(t->seconds)) &&
                 put(row, "resumed_from", cJSON_CreateNumber((double)t->resumed_from)) &&
                 put(row, "n_train", cJSON_CreateNumber((double)t->n_train)) &&
                 put(row, "n_val", cJSON_CreateNumber((double)t->n_val)) &&
                 put(row, "val_seed", cJSON_CreateNumber((double)t->val_seed)) &&
                 put(row, "width", cJSON_CreateNumber(t->width)) && put(row, "depth", cJSON_CreateNumber(t->depth)) &&
                 put(row, "batch", cJSON_CreateNumber(t->batch));
        if (!ok) rc = oom();
    }
    free(v);
    if (rc) return rc;
    arr = cJSON_AddArrayToObject(doc, "train_curve");
    if (!arr) return oom();
    genbo_curve_point *c;
    rc = genbo_study_train_curve(s, 0, &c, &n);
    for (size_t i = 0; !rc && i < n; i++) {
        cJSON *row = row_in(arr);
        int ok = row && put(row, "run", cJSON_CreateNumber((double)c[i].run_id)) &&
                 put(row, "round", cJSON_CreateNumber(c[i].round)) &&
                 put(row, "step", cJSON_CreateNumber((double)c[i].pt.step)) &&
                 put(row, "train_loss", num(c[i].pt.train_loss)) && put(row, "val_loss", num(c[i].pt.val_loss)) &&
                 put(row, "lr", num(c[i].pt.lr)) && put(row, "seconds", num(c[i].pt.seconds));
        if (!ok) rc = oom();
    }
    free(c);
    return rc;
}

/* The feature names a run recorded, or null before any did. */
static int add_features(genbo_study *s, cJSON *doc) {
    size_t dim = genbo_study_dim(s);
    const char *first = dim ? genbo_study_feature_name(s, 0) : NULL;
    if (!first) return put(doc, "features", cJSON_CreateNull()) ? GENBO_OK : oom();
    cJSON *arr = cJSON_AddArrayToObject(doc, "features");
    if (!arr) return oom();
    for (size_t j = 0; j < dim; j++) {
        const char *name = genbo_study_feature_name(s, j);
        if (!name) break;
        cJSON *v = cJSON_CreateString(name);
        if (!v || !cJSON_AddItemToArray(arr, v)) {
            cJSON_Delete(v);
            return oom();
        }
    }
    return GENBO_OK;
}

/* The library's method names in its table order (genbo_method_name): the
 * page ranks methods by it, so it holds no copy of the list. */
static int add_methods(cJSON *doc) {
    cJSON *arr = cJSON_AddArrayToObject(doc, "methods");
    if (!arr) return oom();
    for (int i = 0; genbo_method_name(i); i++) {
        cJSON *v = cJSON_CreateString(genbo_method_name(i));
        if (!v || !cJSON_AddItemToArray(arr, v)) {
            cJSON_Delete(v);
            return oom();
        }
    }
    return GENBO_OK;
}

/* ---- documents ------------------------------------------------------------ */

static int build_study(genbo_db *db, const char *name, cJSON **out) {
    *out = NULL;
    genbo_study *s = NULL;
    int status = genbo_db_study(db, name, &s); /* "unknown study 'NAME'" */
    if (status) return status;
    genbo_study_summary e;
    status = genbo_study_get_summary(s, &e);
    cJSON *doc = status ? NULL : cJSON_CreateObject();
    if (!status && !doc) status = oom();
    if (!status && !put(doc, "version", cJSON_CreateNumber(DASHBOARD_DOC_VERSION))) status = oom();
    if (!status) status = add_study_row(s, &e, doc);
    if (!status) status = add_runs(s, doc);
    if (!status) status = add_targets(s, doc);
    if (!status) status = add_summary(s, doc);
    if (!status) status = add_metrics(s, doc);
    if (!status) status = add_reward_samples(s, doc);
    if (!status) status = add_trials(s, doc);
    if (!status) status = add_trainings(s, doc);
    if (!status) status = add_features(s, doc);
    if (!status) status = add_methods(doc);
    genbo_study_close(s);
    if (status) {
        cJSON_Delete(doc);
        return status;
    }
    *out = doc;
    return GENBO_OK;
}

/* The studies of the database ordered by name. */
static int by_name(const void *a, const void *b) {
    return strcmp(((const genbo_study_summary *)a)->name, ((const genbo_study_summary *)b)->name);
}

static int list_studies(genbo_db *db, genbo_study_summary **v, size_t *n) {
    int rc = genbo_db_list_studies(db, v, n);
    if (!rc && *n) qsort(*v, *n, sizeof **v, by_name);
    return rc;
}

int dashboard_studies_json(genbo_db *db, cJSON **out) {
    *out = NULL;
    int status = genbo_db_read_begin(db);
    if (status != GENBO_OK) return status;
    genbo_study_summary *v = NULL;
    size_t n = 0;
    cJSON *doc = cJSON_CreateObject(), *arr = doc ? cJSON_AddArrayToObject(doc, "studies") : NULL;
    status = arr ? list_studies(db, &v, &n) : oom();
    for (size_t i = 0; !status && i < n; i++) {
        cJSON *row = row_in(arr);
        status = row ? summary_json(&v[i], row) : oom();
    }
    free(v);
    genbo_db_read_end(db);
    if (status != GENBO_OK) {
        cJSON_Delete(doc);
        return status;
    }
    *out = doc;
    return GENBO_OK;
}

int dashboard_data_version(genbo_db *db, long long *out) {
    int64_t v = 0;
    int rc = genbo_db_data_version(db, &v);
    if (!rc) *out = (long long)v;
    return rc;
}

int dashboard_study_json(genbo_db *db, const char *name, cJSON **out) {
    *out = NULL;
    int status = genbo_db_read_begin(db);
    if (status != GENBO_OK) return status;
    /* Read the version before any table: a commit landing between the two
     * then makes the version older than the data, never newer, so a poller
     * comparing versions can only fetch once too often, never miss one. */
    long long version = 0;
    status = dashboard_data_version(db, &version);
    if (status == GENBO_OK) status = build_study(db, name, out);
    if (status == GENBO_OK && !put(*out, "data_version", cJSON_CreateNumber((double)version))) {
        cJSON_Delete(*out);
        *out = NULL;
        status = oom();
    }
    genbo_db_read_end(db);
    return status;
}

int dashboard_report_json(genbo_db *db, const char *db_label, const char *only_study, cJSON **out) {
    *out = NULL;
    int status = genbo_db_read_begin(db);
    if (status != GENBO_OK) return status;
    genbo_study_summary *v = NULL;
    size_t n = 0, listed = 0;
    cJSON *doc = cJSON_CreateObject(), *studies = NULL, *docs = NULL;
    status = doc ? list_studies(db, &v, &n) : oom();
    if (status == GENBO_OK) {
        int ok = put(doc, "version", cJSON_CreateNumber(DASHBOARD_DOC_VERSION)) &&
                 put(doc, "generated", cJSON_CreateNumber((double)time(NULL))) &&
                 put(doc, "db", cJSON_CreateString(db_label ? db_label : ""));
        studies = ok ? cJSON_AddArrayToObject(doc, "studies") : NULL;
        docs = studies ? cJSON_AddObjectToObject(doc, "docs") : NULL;
        if (!docs) status = oom();
    }
    /* the listed studies: all, or only the one asked for */
    for (size_t i = 0; status == GENBO_OK && i < n; i++) {
        if (only_study && strcmp(v[i].name, only_study) != 0) continue;
        cJSON *row = row_in(studies);
        status = row ? summary_json(&v[i], row) : oom();
        cJSON *sd = NULL;
        if (status == GENBO_OK) status = build_study(db, v[i].name, &sd);
        if (status == GENBO_OK && !put(docs, v[i].name, sd)) status = oom();
        listed++;
    }
    if (status == GENBO_OK && only_study && listed == 0)
        status = cli_error(GENBO_ENOTFOUND, "unknown study '%s'", only_study);
    genbo_db_read_end(db);
    free(v);
    if (status != GENBO_OK) {
        cJSON_Delete(doc);
        return status;
    }
    *out = doc;
    return GENBO_OK;
}

char *dashboard_json_print(const cJSON *doc) {
    char *text = cJSON_PrintUnformatted(doc);
    if (!text) return NULL;
    size_t n = 0, lt = 0;
    for (const char *p = text; *p; p++, n++) lt += (*p == '<');
    if (!lt) return text;
    /* '<' appears only inside strings in JSON, where \u003c means the same. */
    char *out = malloc(n + 5 * lt + 1), *q = out;
    if (out) {
        for (const char *p = text; *p; p++) {
            if (*p == '<') {
                memcpy(q, "\\u003c", 6);
                q += 6;
            } else {
                *q++ = *p;
            }
        }
        *q = '\0';
    }
    cJSON_free(text);
    return out;
}
