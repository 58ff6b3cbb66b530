/* data.c - the data of a study: a synthetic task's labelled set and pool
 * (regenerated from the seed: cheap and bit-identical) or the CSV files;
 * content hashes; the labels a refit uses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "studies/store.h"
#include "studies/study.h"

void genbo__dataset_hash(const genbo_dataset *ds, char out[9]) {
    size_t n = genbo_dataset_rows(ds), d = genbo_dataset_dim(ds);
    uint32_t crc = genbo__crc32(0, genbo_dataset_x(ds), n * d * sizeof(double));
    const double *y = genbo_dataset_y(ds);
    if (y) crc = genbo__crc32(crc, y, n * sizeof(double));
    snprintf(out, 9, "%08x", (unsigned)crc);
}

void genbo__study_data_free(genbo__study_data *d) {
    genbo_task_free(d->task);
    genbo_dataset_free(d->labelled);
    genbo_dataset_free(d->pool);
    genbo__trust_free(&d->trust);
    memset(d, 0, sizeof *d);
}

static int load_csv(const genbo_config *c, genbo__study_data *d) {
    genbo_csv_options opt = {0};
    opt.reward_column = c->reward_column;
    int rc = genbo_dataset_read_csv(c->labelled, &opt, &d->labelled);
    if (rc) return rc;
    if (!genbo_dataset_y(d->labelled))
        return genbo__fail(GENBO_EFORMAT, "%s: no reward column '%s'", c->labelled, c->reward_column);
    if (c->pool[0]) {
        genbo_csv_options popt = {0};
        popt.reward_column = ""; /* the pool is unlabelled even if it has rewards */
        rc = genbo_dataset_read_csv(c->pool, &popt, &d->pool);
        if (rc) return rc;
        if (genbo_dataset_dim(d->pool) != genbo_dataset_dim(d->labelled))
            return genbo__fail(GENBO_EFORMAT, "%s has %zu feature columns, %s has %zu", c->pool,
                               genbo_dataset_dim(d->pool), c->labelled,
                               genbo_dataset_dim(d->labelled));
    }
    return GENBO_OK;
}

/* The trust region from [constraints] and the data (labelled and pool
 * designs). A bad list names the key; column names come from the data. */
static int build_trust(const genbo_config *c, genbo__study_data *d) {
    const size_t D = d->dim;
    double *lo = genbo__malloc(D * sizeof *lo), *hi = genbo__malloc(D * sizeof *hi);
    unsigned char *simplex = genbo__calloc(D, 1);
    int rc = lo && hi && simplex ? GENBO_OK : GENBO_ENOMEM;
    const char *why = NULL, *src = c->source[0] ? c->source : "study";
    size_t cnt = 0;
    if (!rc && genbo__parse_bounds(c->bounds, D, lo, hi, &cnt, &why))
        rc = genbo__fail(GENBO_EINVAL, "%s: [constraints] bounds: '%s' %s (%zu listed, the data "
                         "has %zu features)", src, c->bounds, why, cnt, D);
    int any = 0;
    if (!rc && !strcmp(c->simplex, "all")) {
        memset(simplex, 1, D);
        any = 1;
    } else if (!rc && strcmp(c->simplex, "none") && c->simplex[0]) {
        const char *p = c->simplex;
        char item[256];
        while (!rc && *p) {
            while (*p == ' ' || *p == '\t' || *p == ',') p++;
            size_t k = strcspn(p, ",");
            while (k && (p[k - 1] == ' ' || p[k - 1] == '\t')) k--;
            if (!k) break;
            snprintf(item, sizeof item, "%.*s", (int)k, p);
            p += k;
            while (*p && *p != ',') p++;
            size_t j = 0;
            while (j < D && strcmp(genbo_dataset_column_name(d->labelled, j), item)) j++;
            if (j == D)
                rc = genbo__fail(GENBO_EINVAL, "%s: [constraints] simplex: '%s' is not a feature "
                                 "column of the data", src, item);
            else
                simplex[j] = 1, any = 1;
        }
    }
    if (!rc) {
        rc = genbo__trust_init(&d->trust, D, d->label_X, d->n_label, d->pool ? d->pool_X : NULL,
                               d->pool ? d->n_pool : 0, c->trust_margin, lo, hi,
                               any ? simplex : NULL);
        if (rc && rc != GENBO_ENOMEM) rc = genbo__fail_prefix(rc, "%s: [constraints]", src);
    }
    free(lo);
    free(hi);
    free(simplex);
    return rc;
}

int genbo__study_load_data(genbo_study *s) {
    if (s->have_data) return GENBO_OK;
    if (s->shared_db)
        return genbo__fail(GENBO_ESTATE, "study '%s' is open for reading only: its data are not loaded", s->name);
    const genbo_config *c = s->cfg;
    genbo__study_data d;
    memset(&d, 0, sizeof d);
    int rc;
    if (c->task == GENBO__CFG_TASK_CSV) {
        rc = load_csv(c, &d);
    } else {
        genbo_task_params tp;
        genbo__config_task_params(c, &tp);
        rc = genbo_task_create(&tp, &d.task);
        if (!rc)
            rc = genbo_task_split(d.task, (size_t)c->n_label, (size_t)c->n_unlabel,
                                  genbo__seed_mix(c->seed, 1, 0), &d.labelled, &d.pool);
    }
    if (rc) {
        genbo__study_data_free(&d);
        return genbo__fail_prefix(rc, "study '%s': loading data", s->name);
    }
    d.dim = genbo_dataset_dim(d.labelled);
    d.n_label = genbo_dataset_rows(d.labelled);
    d.label_X = genbo_dataset_x(d.labelled);
    d.label_y = genbo_dataset_y(d.labelled);
    const genbo_dataset *pool = d.pool ? d.pool : d.labelled;
    d.n_pool = genbo_dataset_rows(pool);
    d.pool_X = genbo_dataset_x(pool);
    rc = build_trust(c, &d);
    if (rc) {
        genbo__study_data_free(&d);
        return genbo__fail_prefix(rc, "study '%s'", s->name);
    }
    s->data = d;
    s->have_data = 1;
    return GENBO_OK;
}

int64_t genbo__run_told_count(genbo_study *s, int64_t run_id) {
    int64_t n = -1;
    if (genbo__store_int(s->db, "SELECT COUNT(*) FROM trials WHERE run_id = ? AND state = 'told'",
                         run_id, 0, &n))
        return -1;
    return n;
}

typedef struct run_labels_read {
    genbo_study *s;
    int64_t run_id;
    double **X, **y;
    size_t *n;
} run_labels_read;

/* The body of genbo__run_labels' read snapshot (genbo__store_read): the
 * count and the rows agree even while other processes tell. */
static int run_labels_txn(genbo__db *db, void *ctx) {
    const run_labels_read *a = ctx;
    genbo_study *s = a->s;
    const genbo__study_data *d = &s->data;
    int64_t told = genbo__run_told_count(s, a->run_id);
    if (told < 0) return GENBO_EDB;
    size_t n = d->n_label + (size_t)told;
    double *X = genbo__malloc(n * d->dim * sizeof *X), *y = genbo__malloc(n * sizeof *y);
    genbo__db_stmt *st = NULL;
    int rc = X && y ? GENBO_OK : GENBO_ENOMEM;
    if (!rc)
        rc = genbo__store_prepare(db,
                                  "SELECT t.x, o.value FROM trials t JOIN observations o ON o.trial_id = t.id "
                                  "WHERE t.run_id = ? AND t.state = 'told' ORDER BY t.id", &st);
    size_t k = d->n_label;
    if (!rc) {
        memcpy(X, d->label_X, d->n_label * d->dim * sizeof *X);
        memcpy(y, d->label_y, d->n_label * sizeof *y);
        genbo__db_bind_int64(st, 1, a->run_id);
        int r;
        while (!rc && (r = genbo__db_step(st)) == GENBO__DB_ROW && k < n) {
            if ((size_t)genbo__db_column_bytes(st, 0) != d->dim * sizeof(double)) continue;
            memcpy(X + k * d->dim, genbo__db_column_blob(st, 0), d->dim * sizeof(double));
            y[k++] = genbo__db_column_double(st, 1);
        }
        if (!rc && r != GENBO__DB_ROW && r != GENBO__DB_DONE) rc = genbo__store_fail(db, "reading labels");
    }
    genbo__db_finalize(st);
    if (rc) {
        free(X);
        free(y);
        return rc;
    }
    *a->X = X;
    *a->y = y;
    *a->n = k;
    return GENBO_OK;
}

int genbo__run_labels(genbo_study *s, int64_t run_id, double **Xout, double **yout, size_t *nout) {
    *Xout = *yout = NULL;
    *nout = 0;
    run_labels_read a = {s, run_id, Xout, yout, nout};
    return genbo__store_read(s->db, run_labels_txn, &a);
}

/* Told designs the diffusion model may be fine-tuned on: those the trust
 * region did not have to move (flags NULL). A projected or resampled
 * design is an artefact of the region, not a sample of the model; fine-
 * tuning on it would teach the model its own off-support excursions. */
int genbo__run_trusted_told(genbo_study *s, int64_t run_id, double **Xout, double **yout,
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
