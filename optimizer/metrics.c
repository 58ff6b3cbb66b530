/* metrics.c - SubOpt, reward summaries, support distance, diversity and
 * novelty of a batch of generated designs. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "optimizer/metrics.h"

/* Block sizes of the distance computation: a QB x PB block of squared
 * distances (4 MB) is one dgemm, large enough for BLAS-3 speed, small
 * enough that a pool of 10^6 rows never needs an n x n_pool matrix. */
enum { QB = 256, PB = 2048 };

static double sq_norm(const double *x, size_t dim) {
    double s = 0;
    for (size_t j = 0; j < dim; j++) s += x[j] * x[j];
    return s;
}

/* Insert d into the ascending list top[0..k-1] if smaller than its last. */
static void topk_insert(double *top, size_t k, double d) {
    if (!(d < top[k - 1])) return;
    size_t i = k - 1;
    while (i > 0 && top[i - 1] > d) {
        top[i] = top[i - 1];
        i--;
    }
    top[i] = d;
}

int genbo__knn_mean_dist(const double *Q, size_t n, const double *P, size_t n_p, size_t dim,
                         size_t k, const size_t *skip_self, double *per_design, double *mean) {
    if (!Q || !P || n == 0 || dim == 0 || k == 0)
        return genbo__fail(GENBO_EINVAL, "knn distance: empty input (n=%zu, dim=%zu, k=%zu)", n,
                           dim, k);
    size_t need = k + (skip_self ? 1 : 0);
    if (n_p < need)
        return genbo__fail(GENBO_EINVAL,
                           "knn distance: %zu reference designs, need at least %zu for k=%zu", n_p,
                           need, k);
    double *pnorm = genbo__malloc(n_p * sizeof *pnorm);
    double *qnorm = genbo__malloc(QB * sizeof *qnorm);
    double *G = genbo__malloc((size_t)QB * PB * sizeof *G);
    double *top = genbo__malloc(QB * k * sizeof *top);
    if (!pnorm || !qnorm || !G || !top) {
        free(pnorm), free(qnorm), free(G), free(top);
        return GENBO_ENOMEM;
    }
    for (size_t j = 0; j < n_p; j++) pnorm[j] = sq_norm(P + j * dim, dim);

    double total = 0;
    for (size_t q0 = 0; q0 < n; q0 += QB) {
        size_t bq = n - q0 < QB ? n - q0 : QB;
        for (size_t i = 0; i < bq; i++) {
            qnorm[i] = sq_norm(Q + (q0 + i) * dim, dim);
            for (size_t m = 0; m < k; m++) top[i * k + m] = INFINITY;
        }
        for (size_t p0 = 0; p0 < n_p; p0 += PB) {
            size_t bp = n_p - p0 < PB ? n_p - p0 : PB;
            /* G = -2 Q_b P_b^T, then ||q||^2 + ||p||^2 are added below. */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)bq, (int)bp, (int)dim, -2.0,
                        Q + q0 * dim, (int)dim, P + p0 * dim, (int)dim, 0.0, G, (int)bp);
            for (size_t i = 0; i < bq; i++) {
                const double *g = G + i * bp;
                double *t = top + i * k;
                size_t self = skip_self ? skip_self[q0 + i] : (size_t)-1;
                for (size_t j = 0; j < bp; j++) {
                    if (p0 + j == self) continue;
                    double d = qnorm[i] + pnorm[p0 + j] + g[j];
                    topk_insert(t, k, d > 0 ? d : 0); /* rounding can make it < 0 */
                }
            }
        }
        for (size_t i = 0; i < bq; i++) {
            double s = 0;
            for (size_t m = 0; m < k; m++) s += sqrt(top[i * k + m]);
            s /= (double)k;
            if (per_design) per_design[q0 + i] = s;
            total += s;
        }
    }
    free(pnorm), free(qnorm), free(G), free(top);
    if (mean) *mean = total / (double)n;
    return GENBO_OK;
}

int genbo__knn_scale(const double *pool_X, size_t n_pool, size_t dim, size_t k, size_t subset,
                     uint64_t seed, double *scale) {
    if (!pool_X || n_pool < k + 1 || subset == 0)
        return genbo__fail(GENBO_EINVAL,
                           "knn scale: pool of %zu designs is too small for k=%zu neighbours",
                           n_pool, k);
    size_t m = subset < n_pool ? subset : n_pool;
    size_t *idx = genbo__malloc(n_pool * sizeof *idx);
    double *Q = genbo__malloc(m * dim * sizeof *Q);
    if (!idx || !Q) {
        free(idx), free(Q);
        return GENBO_ENOMEM;
    }
    /* Partial Fisher-Yates: the first m entries are a uniform subset. */
    for (size_t i = 0; i < n_pool; i++) idx[i] = i;
    genbo__rng r;
    genbo__rng_seed(&r, seed, 0x6b6e6e); /* "knn" stream */
    genbo__rng_shuffle_prefix(&r, idx, n_pool, m);
    for (size_t i = 0; i < m; i++) memcpy(Q + i * dim, pool_X + idx[i] * dim, dim * sizeof *Q);
    int rc = genbo__knn_mean_dist(Q, m, pool_X, n_pool, dim, k, idx, NULL, scale);
    free(idx), free(Q);
    return rc;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double genbo__percentile(const double *v, size_t n, double q) {
    if (!v || n == 0 || !(q >= 0 && q <= 100)) return NAN;
    double *s = malloc(n * sizeof *s);
    if (!s) return NAN;
    for (size_t i = 0; i < n; i++) {
        if (isnan(v[i])) {
            free(s);
            return NAN;
        }
        s[i] = v[i];
    }
    qsort(s, n, sizeof *s, cmp_double);
    double h = (double)(n - 1) * q / 100.0;
    size_t lo = (size_t)floor(h);
    double r = lo + 1 < n ? s[lo] + (h - (double)lo) * (s[lo + 1] - s[lo]) : s[n - 1];
    free(s);
    return r;
}

/* Mean, max and sample sd (n - 1 denominator; 0 for one value) of the
 * finite entries of v. Returns how many entries were finite. */
static size_t summarise(const double *v, size_t n, double *mean, double *best, double *sd) {
    size_t m = 0;
    double s = 0, mx = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i])) continue;
        s += v[i];
        if (v[i] > mx) mx = v[i];
        m++;
    }
    if (m == 0) {
        *mean = *best = *sd = NAN;
        return 0;
    }
    double mu = s / (double)m, ss = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i])) ss += (v[i] - mu) * (v[i] - mu);
    *mean = mu;
    *best = mx;
    *sd = m > 1 ? sqrt(ss / (double)(m - 1)) : 0.0;
    return m;
}

/* Mean pairwise Euclidean distance, computed directly (exact for
 * coincident points, O(n^2 dim): batches are small). */
static double mean_pairwise(const double *X, size_t n, size_t dim) {
    if (n < 2) return 0.0;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double d2 = 0;
            for (size_t c = 0; c < dim; c++) {
                double e = X[i * dim + c] - X[j * dim + c];
                d2 += e * e;
            }
            s += sqrt(d2);
        }
    return s / ((double)n * (double)(n - 1) / 2.0);
}

int genbo__metrics_compute(const genbo__metrics_input *in, genbo__metrics *out) {
    if (!in || !out || !in->X || in->n == 0 || in->dim == 0)
        return genbo__fail(GENBO_EINVAL, "metrics: no designs (n=%zu, dim=%zu)",
                           in ? in->n : 0, in ? in->dim : 0);
    genbo__metrics m;
    memset(&m, 0, sizeof m);
    m.n = in->n;
    m.target = in->target;
    m.true_mean = m.true_best = m.true_sd = NAN;
    m.pred_mean = m.pred_best = m.pred_sd = NAN;
    m.subopt = m.support = m.novelty = NAN;

    if (in->y_true) {
        m.n_true = summarise(in->y_true, in->n, &m.true_mean, &m.true_best, &m.true_sd);
        m.n_failed = in->n - m.n_true;
        m.has_true = m.n_true > 0;
    }
    if (in->y_pred)
        m.has_pred = summarise(in->y_pred, in->n, &m.pred_mean, &m.pred_best, &m.pred_sd) > 0;
    if (m.has_true) {
        m.subopt = in->target - m.true_mean;
        m.subopt_kind = GENBO__SUBOPT_TRUE;
    } else if (m.has_pred) {
        m.subopt = in->target - m.pred_mean;
        m.subopt_kind = GENBO__SUBOPT_PREDICTED;
    }

    if (in->support) {
        double s = 0;
        for (size_t i = 0; i < in->n; i++) s += in->support[i];
        m.support = s / (double)in->n;
        m.support_kind = GENBO__SUPPORT_TASK;
    } else if (in->pool_X && in->n_pool > 0) {
        double scale = in->knn_scale, mean = 0;
        int rc = GENBO_OK;
        if (!(scale > 0))
            rc = genbo__knn_scale(in->pool_X, in->n_pool, in->dim, GENBO__KNN_K,
                                  GENBO__KNN_SCALE_SUBSET, in->seed, &scale);
        if (rc == GENBO_OK)
            rc = genbo__knn_mean_dist(in->X, in->n, in->pool_X, in->n_pool, in->dim,
                                      GENBO__KNN_K, NULL, NULL, &mean);
        if (rc != GENBO_OK) return genbo__fail_prefix(rc, "metrics: support distance");
        /* A pool of identical designs has scale 0: any distance is off it. */
        m.support = scale > 0 ? mean / scale : (mean > 0 ? INFINITY : 1.0);
        m.support_kind = GENBO__SUPPORT_KNN;
    }

    m.diversity = mean_pairwise(in->X, in->n, in->dim);
    if (in->label_X && in->n_label > 0) {
        int rc = genbo__knn_mean_dist(in->X, in->n, in->label_X, in->n_label, in->dim, 1, NULL,
                                      NULL, &m.novelty);
        if (rc != GENBO_OK) return genbo__fail_prefix(rc, "metrics: novelty");
    }
    *out = m;
    return GENBO_OK;
}

