/* reweight.c - DDOM's histogram weights (see reweight.h). */
#include <math.h>
#include <stdlib.h>

#include "core/core.h"
#include "optimizer/metrics.h"
#include "optimizer/reweight.h"

int genbo__ddom_weights(size_t n, const double *y, double percentile, double *w) {
    enum { K = GENBO__REWEIGHT_BINS };
    if (!y || !w || n == 0) return genbo__fail(GENBO_EINVAL, "reweighting: no rewards");
    if (!(percentile >= 0 && percentile < 100))
        return genbo__fail(GENBO_EINVAL, "reweighting: percentile %g is not in [0, 100)", percentile);
    double lo = INFINITY, hi = -INFINITY;
    size_t m = 0;
    double *fin = genbo__malloc(n * sizeof *fin);
    if (!fin) return GENBO_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (isfinite(y[i])) {
            fin[m++] = y[i];
            lo = fmin(lo, y[i]);
            hi = fmax(hi, y[i]);
        }
    if (m == 0) {
        free(fin);
        return genbo__fail(GENBO_EINVAL, "reweighting: no finite reward");
    }
    double q = genbo__percentile(fin, m, percentile);
    free(fin);
    double range = hi - lo;
    if (!(range > 0)) { /* one value: nothing to prefer */
        for (size_t i = 0; i < n; i++) w[i] = isfinite(y[i]) ? 1.0 : 0.0;
        return GENBO_OK;
    }
    double tau = fmax(hi - q, 1e-3 * range), width = range / K;
    double h[K] = {0}, p[K], psum = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(y[i])) {
            int b = (int)((y[i] - lo) / width);
            h[b < K ? b : K - 1] += 1.0 / (double)m;
        }
    for (int b = 0; b < K; b++) {
        double edge = lo + (b + 1) * width; /* upper edge; the last is hi */
        p[b] = exp((edge - hi) / tau) * h[b] / (h[b] + 1e-3);
        psum += p[b];
    }
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(y[i])) {
            w[i] = 0;
            continue;
        }
        int b = (int)((y[i] - lo) / width);
        if (b >= K) b = K - 1;
        double v = p[b] / psum / h[b];
        w[i] = v < GENBO__REWEIGHT_CLIP ? v : GENBO__REWEIGHT_CLIP;
    }
    return GENBO_OK;
}
