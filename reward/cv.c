/* cv.c - k-fold cross-validated RMSE of a reward model's settings: what
 * `genbo fit` reports beside the training fit, for any program. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "genbo.h"

int genbo_reward_cv_rmse(const genbo_reward_params *p, size_t n, size_t d, const double *X,
                         const double *y, int k, double *rmse) {
    if (!p || !X || !y || !rmse) return genbo__fail(GENBO_EINVAL, "genbo_reward_cv_rmse: NULL argument");
    if (k < 2 || (size_t)k > n) return genbo__fail(GENBO_EINVAL, "cross-validation: k = %d folds for %zu rows", k, n);
    genbo__rng rng;
    genbo__rng_seed(&rng, p->seed, 0x43564649ULL); /* "CVFI" stream */
    size_t *perm = malloc(n * sizeof(size_t));
    double *Xt = malloc(n * d * sizeof(double)), *yt = malloc(n * sizeof(double));
    double *Xv = malloc(n * d * sizeof(double)), *fv = malloc(n * sizeof(double));
    int rc = GENBO_OK;
    if (!perm || !Xt || !yt || !Xv || !fv) {
        rc = genbo__fail(GENBO_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) perm[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)genbo__rng_below(&rng, i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    /* fold f: every k-th row of the permutation from f */
    double sse = 0.0;
    for (int f = 0; f < k && !rc; f++) {
        size_t nt = 0, nv = 0;
        for (size_t i = 0; i < n; i++) {
            size_t r = perm[i];
            if ((int)(i % (size_t)k) == f) {
                memcpy(Xv + nv * d, X + r * d, d * sizeof(double));
                fv[nv++] = y[r];
            } else {
                memcpy(Xt + nt * d, X + r * d, d * sizeof(double));
                yt[nt++] = y[r];
            }
        }
        genbo_reward *m = NULL;
        rc = genbo_reward_fit(p, nt, d, Xt, yt, &m);
        if (rc) break;
        double *pred = yt; /* training targets no longer needed */
        rc = genbo_reward_predict(m, nv, Xv, pred, NULL);
        for (size_t i = 0; i < nv && !rc; i++) sse += (pred[i] - fv[i]) * (pred[i] - fv[i]);
        genbo_reward_free(m);
    }
    if (!rc) *rmse = sqrt(sse / (double)n);
done:
    free(perm);
    free(Xt);
    free(yt);
    free(Xv);
    free(fv);
    return rc;
}
