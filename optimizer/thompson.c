/* thompson.c - the exploring part of a genbo batch by Thompson sampling
 * (see thompson.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lapacke.h>

#include "core/core.h"
#include "optimizer/select.h"
#include "optimizer/thompson.h"

/* Lower Cholesky factor of the K x K covariance S (row-major, in place).
 * A posterior covariance is only semi-definite in floating point: add a
 * jitter of 1e-10 x its largest variance, 100 times more on each failure;
 * 0 on success, -1 when even that fails. */
static int jittered_cholesky(size_t K, double *S, double *work) {
    double top = 0;
    memcpy(work, S, K * K * sizeof *S);
    for (size_t i = 0; i < K; i++) top = S[i * K + i] > top ? S[i * K + i] : top;
    if (!(top > 0)) return -1;
    double jit = 1e-10 * top;
    for (int attempt = 0; attempt < 5; attempt++, jit *= 100) {
        memcpy(S, work, K * K * sizeof *S);
        for (size_t i = 0; i < K; i++) S[i * K + i] += jit;
        if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)K, S, (lapack_int)K) == 0) {
            for (size_t i = 0; i < K; i++) /* keep L only */
                memset(S + i * K + i + 1, 0, (K - i - 1) * sizeof *S);
            return 0;
        }
    }
    return -1;
}

int genbo__thompson_more(const genbo_reward *reward, double var_scale, size_t m, size_t dim,
                         const double *X, const double *Z, const double *mu, const double *opt,
                         const double *ratio, double ratio_max, const double *radius,
                         double delta, size_t n_have, size_t n, uint64_t seed, size_t *chosen) {
    if (n_have >= n) return GENBO_OK;
    unsigned char *taken = genbo__calloc(m ? m : 1, 1);
    genbo__ranked *c = genbo__malloc((m ? m : 1) * sizeof *c);
    if (!taken || !c) {
        free(taken), free(c);
        return GENBO_ENOMEM;
    }
    for (size_t t = 0; t < n_have; t++)
        if (chosen[t] < m) taken[chosen[t]] = 1;
    /* the candidates a draw may pick: on the support, finite, not taken,
     * the GENBO__THOMPSON_MAX with the highest optimistic score */
    size_t K = 0;
    for (size_t i = 0; i < m; i++)
        if (!taken[i] && ratio[i] <= ratio_max && isfinite(opt[i]) && isfinite(mu[i]))
            c[K++] = (genbo__ranked){opt[i], i};
    genbo__rank_desc(c, K);
    if (K > GENBO__THOMPSON_MAX) K = GENBO__THOMPSON_MAX;
    double *Xk = NULL, *S = NULL, *W = NULL, *key = NULL, *eps = NULL, *f = NULL;
    int rc = GENBO_OK;
    if (K) {
        Xk = genbo__malloc(K * dim * sizeof *Xk);
        S = genbo__malloc(2 * K * K * sizeof *S);
        key = genbo__malloc(m * sizeof *key);
        eps = genbo__malloc(2 * K * sizeof *eps);
        rc = Xk && S && key && eps ? GENBO_OK : GENBO_ENOMEM;
        W = S ? S + K * K : NULL;
        f = eps ? eps + K : NULL;
    }
    for (size_t k = 0; !rc && k < K; k++) memcpy(Xk + k * dim, X + c[k].i * dim, dim * sizeof *Xk);
    if (!rc && K) rc = genbo_reward_covariance(reward, K, Xk, S);
    int joint = 0;
    if (!rc && K) {
        for (size_t q = 0; q < K * K; q++) S[q] *= var_scale;
        joint = jittered_cholesky(K, S, W) == 0;
        if (!joint) /* independent draws from the marginals (the diagonal was kept in W) */
            for (size_t k = 0; k < K; k++) S[k] = sqrt(W[k * K + k] > 0 ? W[k * K + k] : 0);
    }
    genbo__rng rng;
    genbo__rng_seed(&rng, seed, 0x54534d50ULL); /* "TSMP" stream */
    size_t got = n_have;
    while (!rc && got < n) {
        /* one draw of f over the K candidates: mu + L eps */
        size_t left = 0;
        for (size_t k = 0; k < K; k++) left += !taken[c[k].i];
        if (!left) break;
        for (size_t k = 0; k < K; k++) eps[k] = genbo__rng_normal(&rng);
        for (size_t k = 0; k < K; k++) {
            double v = mu[c[k].i];
            if (joint)
                for (size_t j = 0; j <= k; j++) v += S[k * K + j] * eps[j];
            else
                v += S[k] * eps[k];
            f[k] = v;
        }
        for (size_t i = 0; i < m; i++) key[i] = -INFINITY;
        for (size_t k = 0; k < K; k++)
            if (!taken[c[k].i]) key[c[k].i] = f[k];
        /* the draw's best design that keeps the diversity rule */
        rc = genbo__select_radii(m, dim, Z, key, ratio, ratio_max, radius, delta, got, got + 1,
                                 chosen, NULL);
        if (!rc) taken[chosen[got++]] = 1;
    }
    /* fewer drawable candidates than slots: the rest by the optimistic score */
    if (!rc && got < n)
        rc = genbo__select_radii(m, dim, Z, opt, ratio, ratio_max, radius, delta, got, n, chosen,
                                 NULL);
    free(taken), free(c), free(Xk), free(S), free(key), free(eps);
    return rc;
}
