/* olympus.c - the offline protocol over the Olympus data sets: which goal
 * and support each file has, the labelled/pool split, and the
 * nearest-measured-row oracle. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "datasets/dataset.h"
#include "tests/support/olympus.h"

static const struct {
    const char *stem, *objective;
    int minimise;
    genbo__olympus_support support;
} known[] = {
    {"oer_plate_3496", "overpotential", 1, GENBO__SUPPORT_SIMPLEX},
    {"oer_plate_3851", "overpotential", 1, GENBO__SUPPORT_SIMPLEX},
    {"photo_pce10", "degradation", 1, GENBO__SUPPORT_SIMPLEX},
    {"hplc", "peak_area", 0, GENBO__SUPPORT_BOX},
    {"crossed_barrel", "toughness", 0, GENBO__SUPPORT_BOX},
};

int genbo__olympus_lookup(const char *stem, const char **objective, int *minimise,
                          genbo__olympus_support *support) {
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(stem, known[i].stem) == 0) {
            if (objective) *objective = known[i].objective;
            if (minimise) *minimise = known[i].minimise;
            if (support) *support = known[i].support;
            return GENBO_OK;
        }
    return genbo__fail(GENBO_ENOTFOUND, "unknown Olympus data set '%s'", stem);
}

void genbo__olympus_free(genbo__olympus *o) {
    if (!o) return;
    genbo_dataset_free(o->data);
    free(o->reward);
    free(o->lo);
    free(o->hi);
    free(o);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int genbo__olympus_load(const char *path, genbo__olympus **out) {
    if (!path || !out) return genbo__fail(GENBO_EINVAL, "genbo__olympus_load: NULL argument");
    *out = NULL;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t k = strlen(base);
    if (k > 4 && strcmp(base + k - 4, ".csv") == 0) k -= 4;
    genbo__olympus *o = genbo__calloc(1, sizeof *o);
    if (!o) return GENBO_ENOMEM;
    if (k >= sizeof o->name) k = sizeof o->name - 1;
    memcpy(o->name, base, k);
    int rc = genbo__olympus_lookup(o->name, &o->objective, &o->minimise, &o->support);
    if (rc) {
        genbo__fail_prefix(rc, "%s", path);
        genbo__olympus_free(o);
        return rc;
    }
    genbo_csv_options opts = {o->objective, "", NULL};
    rc = genbo_dataset_read_csv(path, &opts, &o->data);
    if (rc) {
        genbo__olympus_free(o);
        return rc;
    }
    o->n = genbo_dataset_rows(o->data);
    o->d = genbo_dataset_dim(o->data);
    o->X = genbo_dataset_x(o->data);
    o->objective_values = genbo_dataset_y(o->data);
    o->reward = genbo__malloc(o->n * sizeof(double));
    o->lo = genbo__malloc(o->d * sizeof(double));
    o->hi = genbo__malloc(o->d * sizeof(double));
    double *sorted = genbo__malloc(o->n * sizeof(double));
    if (!o->reward || !o->lo || !o->hi || !sorted) {
        free(sorted);
        genbo__olympus_free(o);
        return GENBO_ENOMEM;
    }
    for (size_t i = 0; i < o->n; i++)
        o->reward[i] = o->minimise ? -o->objective_values[i] : o->objective_values[i];
    for (size_t j = 0; j < o->d; j++) o->lo[j] = o->hi[j] = o->X[j];
    for (size_t i = 0; i < o->n; i++)
        for (size_t j = 0; j < o->d; j++) {
            double v = o->X[i * o->d + j];
            if (v < o->lo[j]) o->lo[j] = v;
            if (v > o->hi[j]) o->hi[j] = v;
        }
    memcpy(sorted, o->reward, o->n * sizeof(double));
    qsort(sorted, o->n, sizeof(double), cmp_double);
    o->r_min = sorted[0];
    o->r_max = sorted[o->n - 1];
    /* 80th percentile, linear interpolation between order statistics
     * (numpy's default): position 0.8 (n - 1). */
    double h = 0.8 * (double)(o->n - 1);
    size_t lo = (size_t)floor(h);
    size_t hi = lo + 1 < o->n ? lo + 1 : lo;
    o->r_p80 = sorted[lo] + (h - (double)lo) * (sorted[hi] - sorted[lo]);
    free(sorted);
    *out = o;
    return GENBO_OK;
}

int genbo__olympus_split(const genbo__olympus *o, size_t n_label, uint64_t seed,
                         genbo_dataset **labelled, genbo_dataset **pool) {
    if (!o || !labelled || !pool)
        return genbo__fail(GENBO_EINVAL, "genbo__olympus_split: NULL argument");
    *labelled = NULL;
    *pool = NULL;
    size_t n = o->n, d = o->d;
    size_t *eligible = genbo__malloc(n * sizeof(size_t));
    if (!eligible) return GENBO_ENOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (o->reward[i] < o->r_p80) eligible[m++] = i;
    if (n_label > m) {
        free(eligible);
        return genbo__fail(GENBO_EINVAL,
                           "%s: n_label = %zu but only %zu rows are below the 80th percentile",
                           o->name, n_label, m);
    }
    /* Partial Fisher-Yates: the first n_label entries become the draw. */
    genbo__rng r;
    genbo__rng_seed(&r, seed, 0);
    genbo__rng_shuffle_prefix(&r, eligible, m, n_label);
    double *XL = genbo__malloc(n_label * d * sizeof(double));
    double *yL = genbo__malloc(n_label * sizeof(double));
    double *XP = genbo__malloc(n * d * sizeof(double));
    if (!XL || !yL || !XP) {
        free(eligible);
        free(XL);
        free(yL);
        free(XP);
        return GENBO_ENOMEM;
    }
    for (size_t i = 0; i < n_label; i++) {
        memcpy(XL + i * d, o->X + eligible[i] * d, d * sizeof(double));
        yL[i] = o->reward[eligible[i]];
    }
    free(eligible);
    memcpy(XP, o->X, n * d * sizeof(double));
    const char **names = genbo__malloc(d * sizeof *names);
    if (!names) {
        free(XL);
        free(yL);
        free(XP);
        return GENBO_ENOMEM;
    }
    for (size_t j = 0; j < d; j++) names[j] = genbo_dataset_column_name(o->data, j);
    genbo_dataset *L = NULL, *P = NULL;
    int rc = genbo__dataset_take(n_label, d, XL, yL, names, &L);
    if (rc) {
        free(XP);
        free(names);
        return rc;
    }
    rc = genbo__dataset_take(n, d, XP, NULL, names, &P);
    free(names);
    if (rc) {
        genbo_dataset_free(L);
        return rc;
    }
    *labelled = L;
    *pool = P;
    return GENBO_OK;
}

double genbo__simplex_distance(size_t d, const double *x) {
    double s = 0, neg = 0;
    for (size_t i = 0; i < d; i++) {
        s += x[i];
        if (x[i] < 0) neg -= x[i];
    }
    return fabs(s - 1.0) + neg;
}

void genbo__simplex_project(size_t d, const double *x, double *out) {
    /* The projection is max(x - tau, 0) with tau = max_k (c_k - 1) / k,
     * c_k the sum of the k largest entries (Condat 2016). Scanning each
     * entry as the k-th largest (ties taken together, where the maximum
     * over k within a run of equal values is reached) avoids sorting and
     * any allocation; d is small here, so O(d^2) is fine. */
    double tau = -INFINITY;
    for (size_t i = 0; i < d; i++) {
        double c = 0;
        size_t k = 0;
        for (size_t j = 0; j < d; j++)
            if (x[j] >= x[i]) {
                c += x[j];
                k++;
            }
        double t = (c - 1.0) / (double)k;
        if (t > tau) tau = t;
    }
    for (size_t i = 0; i < d; i++) out[i] = x[i] > tau ? x[i] - tau : 0.0;
}

int genbo__olympus_support_distance(const genbo__olympus *o, size_t n, const double *X,
                                    double *dist) {
    if (!o || (n && (!X || !dist)))
        return genbo__fail(GENBO_EINVAL, "genbo__olympus_support_distance: NULL argument");
    size_t d = o->d;
    for (size_t i = 0; i < n; i++) {
        const double *x = X + i * d;
        if (o->support == GENBO__SUPPORT_SIMPLEX) {
            dist[i] = genbo__simplex_distance(d, x);
            continue;
        }
        double s = 0;
        for (size_t j = 0; j < d; j++) {
            double range = o->hi[j] > o->lo[j] ? o->hi[j] - o->lo[j] : 1.0;
            double e = x[j] < o->lo[j] ? o->lo[j] - x[j] : x[j] > o->hi[j] ? x[j] - o->hi[j] : 0;
            s += (e / range) * (e / range);
        }
        dist[i] = sqrt(s);
    }
    return GENBO_OK;
}

int genbo__olympus_oracle(const genbo__olympus *o, size_t n, const double *X, double *reward,
                          double *dist, double *score) {
    if (!o || (n && !X)) return genbo__fail(GENBO_EINVAL, "genbo__olympus_oracle: NULL argument");
    size_t d = o->d;
    double *q = genbo__malloc(2 * d * sizeof(double));
    if (!q) return GENBO_ENOMEM;
    double *scale = q + d;
    for (size_t j = 0; j < d; j++) {
        double range = o->hi[j] - o->lo[j];
        scale[j] = o->support == GENBO__SUPPORT_BOX && range > 0 ? 1.0 / range : 1.0;
    }
    for (size_t i = 0; i < n; i++) {
        if (o->support == GENBO__SUPPORT_SIMPLEX)
            genbo__simplex_project(d, X + i * d, q);
        else
            memcpy(q, X + i * d, d * sizeof(double));
        double best = INFINITY, sum = 0;
        size_t ties = 0;
        for (size_t r = 0; r < o->n; r++) {
            const double *row = o->X + r * d;
            double s = 0;
            for (size_t j = 0; j < d; j++) {
                double e = (q[j] - row[j]) * scale[j];
                s += e * e;
            }
            if (s < best) {
                best = s;
                sum = o->reward[r];
                ties = 1;
            } else if (s == best) {
                sum += o->reward[r];
                ties++;
            }
        }
        double r = sum / (double)ties;
        if (reward) reward[i] = r;
        if (dist) dist[i] = sqrt(best);
        if (score) score[i] = o->r_max > o->r_min ? (r - o->r_min) / (o->r_max - o->r_min) : 0.0;
    }
    free(q);
    return GENBO_OK;
}
