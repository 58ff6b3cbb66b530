/* dashboard_data.c - query a study database into the dashboard's JSON
 * documents (see dashboard_data.h and docs/dashboard.md).
 *
 * Most of a document is rows of SQL turned into JSON objects whose keys
 * are the result's column names, so the SQL below is the single place that
 * says what the dashboard shows; values keep their SQLite type (REAL and
 * INTEGER -> number, TEXT -> string, NULL -> null) and are never rounded
 * here: rounding for display happens once, in the template. */
#include "cli/dashboard_data.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "studies/store.h"

int dashboard_db_open(const char *path, genbo__db **out) {
    *out = NULL;
    if (!path || !*path) return genbo__fail(GENBO_EINVAL, "no database given (--db)");
    genbo__db *db = NULL;
    /* Read-only: the dashboard must never create or modify a database (an
     * SQLite file is immutable in a directory we cannot write). */
    if (genbo__db_connect(path, 1, 0, &db)) return GENBO_EIO;
    char label[512];
    genbo__db_mask(path, label, sizeof label);
    static const char *const tables[] = {"studies", "runs", "trials", "observations", "metrics",
                                         "reward_samples", "targets"};
    int64_t probe;
    if (genbo__db_table_count(db, &probe)) {
        genbo__fail(GENBO_EFORMAT, "%s: not a readable database: %s", label, genbo__db_errmsg(db));
        genbo__db_close(db);
        return GENBO_EFORMAT;
    }
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        if (!genbo__db_has_table(db, tables[i])) {
            genbo__fail(GENBO_EFORMAT,
                        "%s: not a genbo study database (tables studies, runs, trials, "
                        "observations, metrics, reward_samples, targets expected)",
                        label);
            genbo__db_close(db);
            return GENBO_EFORMAT;
        }
    *out = db;
    return GENBO_OK;
}

/* ---- rows -> JSON ------------------------------------------------------ */

static int db_fail(genbo__db *db, const char *what) {
    return genbo__fail(GENBO_EDB, "dashboard query (%s): %s", what, genbo__db_errmsg(db));
}

/* Column i of the current row as a new JSON value (NULL for BLOBs, which
 * the dashboard never shows). */
static cJSON *column_json(genbo__db_stmt *st, int i) {
    switch (genbo__db_column_type(st, i)) {
    case GENBO__DB_INTEGER: return cJSON_CreateNumber((double)genbo__db_column_int64(st, i));
    case GENBO__DB_FLOAT: return cJSON_CreateNumber(genbo__db_column_double(st, i));
    case GENBO__DB_TEXT: return cJSON_CreateString((const char *)genbo__db_column_text(st, i));
    case GENBO__DB_NULL: return cJSON_CreateNull();
    default: return NULL;
    }
}

/* Run `sql` (with ?1 bound to study_id when study_id >= 0) and append one
 * object per row to the array `rows`. */
static int query_rows(genbo__db *db, const char *what, const char *sql, int64_t study_id,
                      cJSON *rows) {
    genbo__db_stmt *st = NULL;
    if (genbo__db_prepare(db, sql, &st) != GENBO__DB_OK) return db_fail(db, what);
    if (study_id >= 0) genbo__db_bind_int64(st, 1, study_id);
    int rc, status = GENBO_OK;
    while ((rc = genbo__db_step(st)) == GENBO__DB_ROW) {
        int ncol = genbo__db_column_count(st); /* PostgreSQL knows it once run */
        cJSON *row = cJSON_CreateObject();
        if (!row || !cJSON_AddItemToArray(rows, row)) {
            cJSON_Delete(row);
            status = genbo__fail(GENBO_ENOMEM, "dashboard: out of memory");
            break;
        }
        for (int i = 0; i < ncol; i++) {
            /* A column named x holds a design as a JSON array (trials.x_json). */
            int raw = genbo__db_column_type(st, i) == GENBO__DB_TEXT && !strcmp(genbo__db_column_name(st, i), "x");
            cJSON *v = raw ? cJSON_Parse((const char *)genbo__db_column_text(st, i)) : column_json(st, i);
            if (v && !cJSON_AddItemToObject(row, genbo__db_column_name(st, i), v)) cJSON_Delete(v);
        }
    }
    if (status == GENBO_OK && rc != GENBO__DB_DONE) status = db_fail(db, what);
    genbo__db_finalize(st);
    return status;
}

/* Like query_rows but into a new array stored under `key` in obj. */
static int add_rows(genbo__db *db, cJSON *obj, const char *key, const char *sql,
                    int64_t study_id) {
    cJSON *rows = cJSON_AddArrayToObject(obj, key);
    if (!rows) return genbo__fail(GENBO_ENOMEM, "dashboard: out of memory");
    return query_rows(db, key, sql, study_id, rows);
}

/* ---- the queries ------------------------------------------------------- */

static const char *const sql_studies =
    "SELECT s.id, s.name, s.dim, s.created,"
    " (SELECT count(*) FROM runs r WHERE r.study_id = s.id) AS runs,"
    " (SELECT count(*) FROM runs r WHERE r.study_id = s.id AND r.status = 'running') AS running,"
    " (SELECT count(*) FROM trials t WHERE t.study_id = s.id) AS trials,"
    " (SELECT count(*) FROM trials t WHERE t.study_id = s.id AND t.state = 'asked') AS asked,"
    " (SELECT count(*) FROM trials t WHERE t.study_id = s.id AND t.state = 'told') AS told,"
    " (SELECT count(*) FROM trials t WHERE t.study_id = s.id AND t.state = 'failed') AS failed,"
    " (SELECT max(coalesce(t.finished, t.asked)) FROM trials t WHERE t.study_id = s.id)"
    "   AS last_activity"
    " FROM studies s ORDER BY s.name";

static const char *const sql_runs =
    "SELECT id, kind, seed, version, status, started, ended,"
    " CASE WHEN ended IS NOT NULL THEN ended - started END AS duration,"
    " last_step, error, config"
    " FROM runs WHERE study_id = ?1 ORDER BY id";

static const char *const sql_targets =
    "SELECT t.run_id AS run, t.label, t.value FROM targets t"
    " JOIN runs r ON r.id = t.run_id WHERE r.study_id = ?1 ORDER BY t.run_id, t.value";

static const char *const sql_metrics =
    "SELECT m.run_id AS run, m.round, m.target_label, m.target, m.method, m.subopt,"
    " m.subopt_kind, m.mean_true, m.best_true, m.sd_true, m.mean_pred, m.best_pred,"
    " m.sd_pred, m.support_distance, m.support_kind, m.diversity, m.novelty, m.n, m.n_failed"
    " FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.study_id = ?1"
    " ORDER BY m.round, m.method, m.target, m.run_id";

/* The generation phase (round 0) of every run, per (method, target label):
 * mean over runs with min and max as the spread between seeds. A target
 * label resolves to slightly different values in different runs (it is a
 * percentile of each run's pool), so its x is the mean of those values. */
#define STAT(c)                                                                 \
    " avg(" c ") AS " c ", min(" c ") AS " c "_min, max(" c ") AS " c "_max," \
    " count(" c ") AS " c "_n,"
static const char *const sql_summary =
    "SELECT m.method, m.target_label, count(*) AS runs," STAT("target") STAT("subopt")
    " CASE WHEN count(*) FILTER (WHERE m.subopt_kind = 'predicted') > 0 THEN 'predicted'"
    "      WHEN count(*) FILTER (WHERE m.subopt_kind = 'true') > 0 THEN 'true' END AS subopt_kind,"
    STAT("mean_true") STAT("mean_pred") STAT("best_true") STAT("best_pred")
    STAT("support_distance") " max(m.support_kind) AS support_kind," STAT("diversity")
    " sum(m.n) AS n, sum(m.n_failed) AS n_failed"
    " FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.study_id = ?1 AND m.round = 0"
    " GROUP BY m.method, m.target_label ORDER BY m.method, avg(m.target)";
#undef STAT

static const char *const sql_trials =
    "SELECT t.id, t.run_id AS run, t.round, t.target, t.target_label, t.method, t.state,"
    " t.predicted, o.value, t.support_distance, t.reason, t.asked, t.finished, t.x_json AS x"
    " FROM trials t LEFT JOIN observations o ON o.trial_id = t.id"
    " WHERE t.study_id = ?1 ORDER BY t.id";

/* Diffusion trainings (schema v3): the summary of each and the loss curves. */
static const char *const sql_trainings =
    "SELECT t.run_id AS run, t.round, t.stop, t.steps, t.best_step, t.best_val_loss, t.val_loss,"
    " t.train_loss, t.seconds, t.resumed_from, t.n_train, t.n_val, t.val_seed, t.width, t.depth, t.batch"
    " FROM trainings t JOIN runs r ON r.id = t.run_id WHERE r.study_id = ?1 ORDER BY t.run_id, t.round";

static const char *const sql_train_curve =
    "SELECT c.run_id AS run, c.round, c.step, c.train_loss, c.val_loss, c.lr, c.seconds"
    " FROM train_curve c JOIN runs r ON r.id = c.run_id WHERE r.study_id = ?1"
    " ORDER BY c.run_id, c.round, c.step";

/* The feature names of the study's data (the newest labelled dataset). */
static const char *const sql_features =
    "SELECT d.columns FROM datasets d JOIN runs r ON r.id = d.run_id"
    " WHERE r.study_id = ?1 AND d.role = 'labelled' ORDER BY d.id DESC LIMIT 1";

static const char *const sql_counts =
    "SELECT (SELECT count(*) FROM runs WHERE study_id = ?1) AS runs,"
    " count(*) AS trials, count(*) FILTER (WHERE state = 'asked') AS asked,"
    " count(*) FILTER (WHERE state = 'told') AS told, count(*) FILTER (WHERE state = 'failed') AS failed,"
    " max(coalesce(finished, asked)) AS last_activity"
    " FROM trials WHERE study_id = ?1";

/* reward_samples -> {"labelled": [...], "pool": [...], "pool_true": [...]}
 * over all runs of the study (the histograms pool the seeds). */
static int add_reward_samples(genbo__db *db, cJSON *doc, int64_t study_id) {
    static const char *const kinds[] = {"labelled", "pool", "pool_true"};
    cJSON *obj = cJSON_AddObjectToObject(doc, "reward_samples");
    if (!obj) return genbo__fail(GENBO_ENOMEM, "dashboard: out of memory");
    genbo__db_stmt *st = NULL;
    if (genbo__db_prepare(db, "SELECT s.value FROM reward_samples s JOIN runs r ON r.id = s.run_id"
                           " WHERE r.study_id = ?1 AND s.kind = ?2 ORDER BY s.run_id, s.rowid", &st) != GENBO__DB_OK)
        return db_fail(db, "reward_samples");
    int status = GENBO_OK;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0] && status == GENBO_OK; k++) {
        cJSON *arr = cJSON_AddArrayToObject(obj, kinds[k]);
        if (!arr) {
            status = genbo__fail(GENBO_ENOMEM, "dashboard: out of memory");
            break;
        }
        genbo__db_reset(st);
        genbo__db_bind_int64(st, 1, study_id);
        genbo__db_bind_text(st, 2, kinds[k], -1, GENBO__DB_STATIC);
        int rc;
        while ((rc = genbo__db_step(st)) == GENBO__DB_ROW) {
            cJSON *v = cJSON_CreateNumber(genbo__db_column_double(st, 0));
            if (!v || !cJSON_AddItemToArray(arr, v)) {
                cJSON_Delete(v);
                status = genbo__fail(GENBO_ENOMEM, "dashboard: out of memory");
                break;
            }
        }
        if (status == GENBO_OK && rc != GENBO__DB_DONE) status = db_fail(db, "reward_samples");
    }
    genbo__db_finalize(st);
    return status;
}

/* No rows (?1 unused but bound). */
static const char *const sql_none = "SELECT 1 WHERE CAST(?1 AS TEXT) IS NULL AND 1 = 0";

static int has_table(genbo__db *db, const char *name) { return genbo__db_has_table(db, name); }

/* ---- documents --------------------------------------------------------- */

/* A fresh deferred read transaction: every query of one document sees the
 * same snapshot, and (WAL) a writer is never blocked by it. */
static int read_begin(genbo__db *db) {
    if (genbo__db_begin_read(db) != GENBO__DB_OK)
        return db_fail(db, "begin");
    return GENBO_OK;
}

static void read_end(genbo__db *db) { genbo__db_commit(db); }

/* The study's row as an object, or GENBO_ENOTFOUND. */
static int study_row(genbo__db *db, const char *name, cJSON **row, int64_t *id) {
    cJSON *rows = cJSON_CreateArray();
    if (!rows) return genbo__fail(GENBO_ENOMEM, "dashboard: out of memory");
    genbo__db_stmt *st = NULL;
    int status = GENBO_OK;
    if (genbo__db_prepare(db, "SELECT id FROM studies WHERE name = ?1", &st) !=
        GENBO__DB_OK) {
        cJSON_Delete(rows);
        return db_fail(db, "study");
    }
    genbo__db_bind_text(st, 1, name, -1, GENBO__DB_STATIC);
    int rc = genbo__db_step(st);
    if (rc == GENBO__DB_ROW) *id = genbo__db_column_int64(st, 0);
    else if (rc == GENBO__DB_DONE) status = genbo__fail(GENBO_ENOTFOUND, "unknown study '%s'", name);
    else status = db_fail(db, "study");
    genbo__db_finalize(st);
    if (status == GENBO_OK)
        status = query_rows(db, "study",
                            "SELECT id, name, dim, created, config FROM studies WHERE id = ?1",
                            *id, rows);
    if (status == GENBO_OK) {
        *row = cJSON_DetachItemFromArray(rows, 0);
        if (!*row) status = genbo__fail(GENBO_ENOTFOUND, "unknown study '%s'", name);
    }
    cJSON_Delete(rows);
    return status;
}

static int build_study(genbo__db *db, const char *name, cJSON **out) {
    *out = NULL;
    if (!name || !*name) return genbo__fail(GENBO_EINVAL, "no study name given");
    cJSON *doc = cJSON_CreateObject(), *study = NULL;
    if (!doc) return genbo__fail(GENBO_ENOMEM, "dashboard: out of memory");
    int64_t id = -1;
    int status = study_row(db, name, &study, &id);
    if (status == GENBO_OK) {
        cJSON_AddNumberToObject(doc, "version", DASHBOARD_DOC_VERSION);
        cJSON_AddItemToObject(doc, "study", study);
        cJSON *counts = cJSON_CreateArray();
        status = counts ? query_rows(db, "counts", sql_counts, id, counts)
                        : genbo__fail(GENBO_ENOMEM, "dashboard: out of memory");
        if (status == GENBO_OK)
            cJSON_AddItemToObject(doc, "counts", cJSON_DetachItemFromArray(counts, 0));
        cJSON_Delete(counts);
    }
    if (status == GENBO_OK) status = add_rows(db, doc, "runs", sql_runs, id);
    if (status == GENBO_OK) status = add_rows(db, doc, "targets", sql_targets, id);
    if (status == GENBO_OK) status = add_rows(db, doc, "summary", sql_summary, id);
    if (status == GENBO_OK) status = add_rows(db, doc, "metrics", sql_metrics, id);
    if (status == GENBO_OK) status = add_reward_samples(db, doc, id);
    if (status == GENBO_OK) status = add_rows(db, doc, "trials", sql_trials, id);
    /* a database older than schema v3 has no training tables: empty lists */
    int v3 = has_table(db, "trainings") && has_table(db, "train_curve");
    if (status == GENBO_OK) status = add_rows(db, doc, "trainings", v3 ? sql_trainings : sql_none, id);
    if (status == GENBO_OK) status = add_rows(db, doc, "train_curve", v3 ? sql_train_curve : sql_none, id);
    if (status == GENBO_OK) {
        /* "features": the names, or null before any run recorded them. */
        cJSON *rows = cJSON_CreateArray();
        status = rows ? query_rows(db, "features", sql_features, id, rows)
                      : genbo__fail(GENBO_ENOMEM, "dashboard: out of memory");
        const char *text = status == GENBO_OK ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                                                    cJSON_GetArrayItem(rows, 0), "columns"))
                                              : NULL;
        cJSON *names = text ? cJSON_Parse(text) : NULL;
        if (status == GENBO_OK) cJSON_AddItemToObject(doc, "features", names ? names : cJSON_CreateNull());
        cJSON_Delete(rows);
    }
    if (status != GENBO_OK) {
        cJSON_Delete(doc);
        return status;
    }
    *out = doc;
    return GENBO_OK;
}

int dashboard_studies_json(genbo__db *db, cJSON **out) {
    *out = NULL;
    int status = read_begin(db);
    if (status != GENBO_OK) return status;
    cJSON *doc = cJSON_CreateObject();
    status = doc ? add_rows(db, doc, "studies", sql_studies, -1)
                 : genbo__fail(GENBO_ENOMEM, "dashboard: out of memory");
    read_end(db);
    if (status != GENBO_OK) {
        cJSON_Delete(doc);
        return status;
    }
    *out = doc;
    return GENBO_OK;
}

int dashboard_data_version(genbo__db *db, long long *out) {
    int64_t v = 0;
    if (genbo__db_data_version(db, &v) != GENBO__DB_OK) return db_fail(db, "data_version");
    *out = (long long)v;
    return GENBO_OK;
}

int dashboard_study_json(genbo__db *db, const char *name, cJSON **out) {
    *out = NULL;
    int status = read_begin(db);
    if (status != GENBO_OK) return status;
    /* Read the version before any table: a commit landing between the two
     * then makes the version older than the data, never newer, so a poller
     * comparing versions can only fetch once too often, never miss one. */
    long long version = 0;
    status = dashboard_data_version(db, &version);
    if (status == GENBO_OK) status = build_study(db, name, out);
    if (status == GENBO_OK) cJSON_AddNumberToObject(*out, "data_version", (double)version);
    read_end(db);
    return status;
}

int dashboard_report_json(genbo__db *db, const char *db_label, const char *only_study,
                          cJSON **out) {
    *out = NULL;
    int status = read_begin(db);
    if (status != GENBO_OK) return status;
    cJSON *doc = cJSON_CreateObject(), *all = cJSON_CreateArray();
    cJSON *studies = NULL, *docs = NULL;
    if (!doc || !all) status = genbo__fail(GENBO_ENOMEM, "dashboard: out of memory");
    if (status == GENBO_OK) status = query_rows(db, "studies", sql_studies, -1, all);
    if (status == GENBO_OK) {
        cJSON_AddNumberToObject(doc, "version", DASHBOARD_DOC_VERSION);
        cJSON_AddNumberToObject(doc, "generated", (double)time(NULL));
        cJSON_AddStringToObject(doc, "db", db_label ? db_label : "");
        studies = cJSON_AddArrayToObject(doc, "studies");
        docs = cJSON_AddObjectToObject(doc, "docs");
        if (!studies || !docs) status = genbo__fail(GENBO_ENOMEM, "dashboard: out of memory");
    }
    /* Move the listed studies (all, or only the one asked for) over. */
    while (status == GENBO_OK && cJSON_GetArraySize(all) > 0) {
        cJSON *s = cJSON_DetachItemFromArray(all, 0);
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "name"));
        if (!name || (only_study && strcmp(name, only_study) != 0)) {
            cJSON_Delete(s);
            continue;
        }
        cJSON_AddItemToArray(studies, s);
        cJSON *sd = NULL;
        status = build_study(db, name, &sd);
        if (status == GENBO_OK) cJSON_AddItemToObject(docs, name, sd);
    }
    if (status == GENBO_OK && only_study && cJSON_GetArraySize(studies) == 0)
        status = genbo__fail(GENBO_ENOTFOUND, "unknown study '%s'", only_study);
    read_end(db);
    cJSON_Delete(all);
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
