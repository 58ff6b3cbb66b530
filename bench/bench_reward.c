/* bench_reward.c - wall-clock of the reward models at the sizes the
 * pipeline uses: pseudo-labelling 10^6 x 64 designs (ridge and GP fitted on
 * 500 labels) and fitting a GP, tuning included, on 2,000 points.
 *
 * usage: bench_reward [pool_rows (default 1000000)] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "genbo.h"
#include "tests/support/support.h"

static void data(uint64_t seed, size_t n, size_t d, double *X, double *y) {
    genbo__support_rng *r = genbo__support_rng_new(seed, 0);
    if (!r) abort(); /* out of memory */
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t k = 0; k < d; k++) {
            X[i * d + k] = genbo__support_rng_normal(r);
            s += (k < 4 ? 1.0 : 0.1) * X[i * d + k];
        }
        if (y) y[i] = sin(s) + 0.3 * X[i * d] * X[i * d + 1] + 0.1 * genbo__support_rng_normal(r);
    }
    genbo__support_rng_free(r);
}

static genbo_reward *fit(genbo_reward_kind kind, genbo_kernel kernel, int ard, size_t n,
                         size_t d, double *seconds) {
    double *X = malloc(n * d * sizeof(double)), *y = malloc(n * sizeof(double));
    data(7, n, d, X, y);
    genbo_reward_params p;
    genbo_reward_params_default(&p);
    p.kind = kind;
    p.kernel = kernel;
    p.ard = ard;
    genbo_reward *m = NULL;
    double t = genbo__support_now();
    if (genbo_reward_fit(&p, n, d, X, y, &m)) {
        fprintf(stderr, "fit failed: %s\n", genbo_errmsg());
        exit(1);
    }
    *seconds = genbo__support_now() - t;
    free(X);
    free(y);
    return m;
}

int main(int argc, char **argv) {
    size_t pool = argc > 1 ? (size_t)atol(argv[1]) : 1000000, D = 64;
    genbo_blas_info info;
    genbo_get_blas_info(&info);
    printf("OpenBLAS core %s, %d threads%s\n", info.corename, info.threads,
           info.slow_kernel ? " (SLOW generic kernel: set OPENBLAS_CORETYPE=Haswell)" : "");

    double *P = malloc(pool * D * sizeof(double)), *mean = malloc(pool * sizeof(double)),
           *var = malloc(pool * sizeof(double));
    if (!P || !mean || !var) return 1;
    data(8, pool, D, P, NULL);
    double tfit, t;
    genbo_reward *ridge = fit(GENBO_REWARD_RIDGE, GENBO_KERNEL_RBF, 0, 500, D, &tfit);
    printf("ridge fit n=500 D=64 (GCV): %.3f s  [%s]\n", tfit, genbo_reward_describe(ridge));
    t = genbo__support_now();
    genbo_reward_predict(ridge, pool, P, mean, NULL);
    printf("ridge pseudo-label %zu x %zu, mean only: %.3f s\n", pool, D, genbo__support_now() - t);
    t = genbo__support_now();
    genbo_reward_predict(ridge, pool, P, mean, var);
    printf("ridge pseudo-label %zu x %zu, mean + var: %.3f s\n", pool, D, genbo__support_now() - t);
    genbo_reward_free(ridge);

    genbo_reward *gp = fit(GENBO_REWARD_GP, GENBO_KERNEL_RBF, 0, 500, D, &tfit);
    printf("gp fit n=500 D=64 rbf: %.3f s  [%s]\n", tfit, genbo_reward_describe(gp));
    t = genbo__support_now();
    genbo_reward_predict(gp, pool, P, mean, NULL);
    printf("gp pseudo-label %zu x %zu (n_label 500), mean only: %.3f s\n", pool, D, genbo__support_now() - t);
    t = genbo__support_now();
    genbo_reward_predict(gp, pool, P, mean, var);
    printf("gp pseudo-label %zu x %zu (n_label 500), mean + var: %.3f s\n", pool, D, genbo__support_now() - t);
    genbo_reward_free(gp);
    free(P);
    free(mean);
    free(var);

    size_t dims[2] = {16, 64};
    for (int i = 0; i < 2; i++) {
        for (int ard = 0; ard <= 1; ard++) {
            genbo_reward *m = fit(GENBO_REWARD_GP, GENBO_KERNEL_MATERN52, ard, 2000, dims[i], &tfit);
            printf("gp fit n=2000 D=%zu matern52 ard=%d (tuning on 1000, 3 starts x <=200 evals): %.2f s\n",
                   dims[i], ard, tfit);
            genbo_reward_free(m);
        }
    }
    return 0;
}
