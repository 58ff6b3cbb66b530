/* dataset.c - construction, accessors and release of genbo_dataset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "datasets/dataset.h"

int genbo__dataset_set_names(genbo_dataset *ds, const char *const *names) {
    size_t total = 0;
    char tmp[32];
    for (size_t j = 0; j < ds->d; j++) {
        if (names) {
            if (!names[j]) return genbo__fail(GENBO_EINVAL, "column name %zu is NULL", j);
            total += strlen(names[j]) + 1;
        } else {
            total += (size_t)snprintf(tmp, sizeof tmp, "x%zu", j) + 1;
        }
    }
    char **ptrs = genbo__calloc(ds->d ? ds->d : 1, sizeof *ptrs);
    char *text = genbo__malloc(total ? total : 1);
    if (!ptrs || !text) {
        free(ptrs);
        free(text);
        return GENBO_ENOMEM;
    }
    char *p = text;
    for (size_t j = 0; j < ds->d; j++) {
        ptrs[j] = p;
        if (names) {
            size_t k = strlen(names[j]) + 1;
            memcpy(p, names[j], k);
            p += k;
        } else {
            p += snprintf(p, total - (size_t)(p - text), "x%zu", j) + 1;
        }
    }
    free(ds->names);
    free(ds->names_text);
    ds->names = ptrs;
    ds->names_text = text;
    return GENBO_OK;
}

int genbo__dataset_take(size_t n, size_t d, double *X, double *y, const char *const *names,
                        genbo_dataset **out) {
    genbo_dataset *ds = genbo__calloc(1, sizeof *ds);
    if (!ds) {
        free(X);
        free(y);
        return GENBO_ENOMEM;
    }
    ds->n = n;
    ds->d = d;
    ds->X = X;
    ds->y = y;
    int rc = genbo__dataset_set_names(ds, names);
    if (rc) {
        genbo_dataset_free(ds);
        return rc;
    }
    *out = ds;
    return GENBO_OK;
}

int genbo_dataset_create(size_t n, size_t d, const double *X, const double *y,
                         const char *const *names, genbo_dataset **out) {
    if (!out) return genbo__fail(GENBO_EINVAL, "genbo_dataset_create: out is NULL");
    *out = NULL;
    if (d == 0) return genbo__fail(GENBO_EINVAL, "genbo_dataset_create: d must be >= 1");
    if (n > 0 && !X) return genbo__fail(GENBO_EINVAL, "genbo_dataset_create: X is NULL");
    size_t nd;
    if (!genbo__mul_ok(n, d, &nd) || !genbo__mul_ok(nd, sizeof(double), &nd))
        return genbo__fail(GENBO_EINVAL, "genbo_dataset_create: %zu x %zu is too large", n, d);
    double *Xc = genbo__malloc(nd);
    double *yc = y ? genbo__malloc(n * sizeof(double)) : NULL;
    if (!Xc || (y && !yc)) {
        free(Xc);
        free(yc);
        return GENBO_ENOMEM;
    }
    if (nd) memcpy(Xc, X, nd);
    if (y && n) memcpy(yc, y, n * sizeof(double));
    return genbo__dataset_take(n, d, Xc, yc, names, out);
}

void genbo_dataset_free(genbo_dataset *ds) {
    if (!ds) return;
    free(ds->X);
    free(ds->y);
    free(ds->names);
    free(ds->names_text);
    free(ds->id_text);
    free(ds->id_off);
    free(ds);
}

size_t genbo_dataset_rows(const genbo_dataset *ds) { return ds ? ds->n : 0; }
size_t genbo_dataset_dim(const genbo_dataset *ds) { return ds ? ds->d : 0; }
const double *genbo_dataset_x(const genbo_dataset *ds) { return ds ? ds->X : NULL; }
const double *genbo_dataset_y(const genbo_dataset *ds) { return ds ? ds->y : NULL; }

const char *genbo_dataset_column_name(const genbo_dataset *ds, size_t j) {
    return ds && j < ds->d ? ds->names[j] : NULL;
}

const char *genbo_dataset_id(const genbo_dataset *ds, size_t i) {
    if (!ds || !ds->id_off || i >= ds->n) return NULL;
    return ds->id_text + ds->id_off[i];
}
