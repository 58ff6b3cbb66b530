/* support.c - the data-driven support ratio (see support.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "optimizer/metrics.h"
#include "optimizer/support.h"

void genbo__support_free(genbo__support *s) {
    if (!s) return;
    free(s->mean);
    free(s->Z);
    memset(s, 0, sizeof *s);
}

void genbo__support_standardise(const genbo__support *s, size_t n, const double *X, double *Z) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < s->dim; j++)
            Z[i * s->dim + j] = (X[i * s->dim + j] - s->mean[j]) / s->sd[j];
}

int genbo__support_build(const double *pool_X, size_t n_pool, size_t dim, uint64_t seed,
                         genbo__support *s) {
    memset(s, 0, sizeof *s);
    if (!pool_X || dim == 0 || n_pool < GENBO__KNN_K + 2)
        return genbo__fail(GENBO_EINVAL, "support distance: the pool needs at least %d designs, has %zu",
                           GENBO__KNN_K + 2, n_pool);
    s->dim = dim;
    s->n_ref = n_pool < GENBO__SUPPORT_MAX_REF ? n_pool : GENBO__SUPPORT_MAX_REF;
    size_t m = s->n_ref < GENBO__SUPPORT_SUBSET ? s->n_ref : GENBO__SUPPORT_SUBSET;
    s->mean = genbo__malloc(2 * dim * sizeof *s->mean);
    s->Z = genbo__malloc(s->n_ref * dim * sizeof *s->Z);
    size_t *idx = genbo__malloc(n_pool * sizeof *idx);
    double *d = genbo__malloc(m * sizeof *d);
    int rc = s->mean && s->Z && idx && d ? GENBO_OK : GENBO_ENOMEM;
    if (rc) goto done;
    s->sd = s->mean + dim;
    for (size_t j = 0; j < dim; j++) {
        double a = 0, b = 0;
        for (size_t i = 0; i < n_pool; i++) a += pool_X[i * dim + j];
        double mu = a / (double)n_pool;
        for (size_t i = 0; i < n_pool; i++) b += (pool_X[i * dim + j] - mu) * (pool_X[i * dim + j] - mu);
        double sd = sqrt(b / (double)(n_pool - 1));
        s->mean[j] = mu;
        s->sd[j] = sd > 1e-12 * (1.0 + fabs(mu)) ? sd : 1.0; /* a constant feature */
    }
    /* reference rows: all, or a seeded subset; the first m of them are the
     * rows whose own distances calibrate s_k, r_max and the spacing */
    genbo__rng r;
    genbo__rng_seed(&r, seed, 0x73757070); /* "supp" */
    for (size_t i = 0; i < n_pool; i++) idx[i] = i;
    genbo__rng_shuffle_prefix(&r, idx, n_pool, s->n_ref);
    for (size_t i = 0; i < s->n_ref; i++)
        genbo__support_standardise(s, 1, pool_X + idx[i] * dim, s->Z + i * dim);
    for (size_t i = 0; i < m; i++) idx[i] = i; /* row i of Z skips itself */
    rc = genbo__knn_mean_dist(s->Z, m, s->Z, s->n_ref, dim, GENBO__KNN_K, idx, d, &s->knn_scale);
    if (!rc) {
        if (!(s->knn_scale > 0)) {
            rc = genbo__fail(GENBO_EINVAL, "support distance: the pool's designs are all identical");
            goto done;
        }
        for (size_t i = 0; i < m; i++) d[i] /= s->knn_scale;
        s->ratio_max = genbo__percentile(d, m, GENBO__SUPPORT_QUANTILE);
        rc = genbo__knn_mean_dist(s->Z, m, s->Z, s->n_ref, dim, 1, idx, NULL, &s->nn_spacing);
    }
done:
    free(idx);
    free(d);
    if (rc) genbo__support_free(s);
    return rc;
}

int genbo__support_ratio(const genbo__support *s, size_t n, const double *Z, double *ratio) {
    int rc = genbo__knn_mean_dist(Z, n, s->Z, s->n_ref, s->dim, GENBO__KNN_K, NULL, ratio, NULL);
    if (rc) return rc;
    for (size_t i = 0; i < n; i++) ratio[i] /= s->knn_scale;
    return GENBO_OK;
}
