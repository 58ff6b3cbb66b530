/* stats.c - per-column mean and sd, the one standardisation statistic the
 * reward models and the diffusion model share. */
#include <math.h>

#include "core/core.h"

void genbo__column_stats(size_t n, const size_t *idx, size_t d, const double *X, size_t ddof, double *mean,
                         double *sd) {
    for (size_t j = 0; j < d; j++) {
        double s = 0.0, ss = 0.0;
        for (size_t t = 0; t < n; t++) s += X[(idx ? idx[t] : t) * d + j];
        double mu = s / (double)n;
        for (size_t t = 0; t < n; t++) {
            double e = X[(idx ? idx[t] : t) * d + j] - mu;
            ss += e * e;
        }
        double v = n > ddof ? sqrt(ss / (double)(n - ddof)) : 0.0;
        mean[j] = mu;
        sd[j] = v > 1e-12 * (1.0 + fabs(mu)) ? v : 1.0;
    }
}
