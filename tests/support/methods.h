/* methods.h - the optimizer's methods and batch metrics for the benchmark
 * programs (support library, not part of libgenbo): a benchmark compares
 * methods on models it fitted itself, which the public API does only inside
 * a study. Public types in, the optimizer's own code behind. */
#ifndef GENBO_SUPPORT_METHODS_H
#define GENBO_SUPPORT_METHODS_H

#include <stddef.h>
#include <stdint.h>

#include "genbo.h"

/* What a method may use (borrowed for the call); fields left zero are
 * absent (no trust region, the genbo method's selection at its zero
 * settings, as a zero-initialised optimizer model set). */
typedef struct genbo__support_models {
    size_t dim;
    const double *label_X, *label_y; /* labelled set */
    size_t n_label;
    const double *pool_X;            /* unlabelled pool */
    size_t n_pool;
    const genbo_reward *reward;
    const genbo_diffusion *diffusion;
    genbo_sample_params sample;      /* base sampler settings */
} genbo__support_models;

/* The methods in the optimizer's table order (NULL past the end). */
const char *genbo__support_method(size_t i);
/* n designs (n x dim into designs) at target a with the named method;
 * seeded. An unknown name: GENBO_EINVAL. */
int genbo__support_generate(const char *method, const genbo__support_models *m, double target, size_t n,
                            uint64_t seed, double *designs);

/* A batch's metrics (optimizer/metrics.c): SubOpt from the true rewards,
 * the mean support distance, diversity; NaN what cannot be computed. */
typedef struct genbo__support_batch {
    double subopt, true_mean, true_best, support, diversity;
} genbo__support_batch;
int genbo__support_batch_metrics(size_t n, size_t dim, const double *X, double target, const double *y_true,
                                 const double *support, genbo__support_batch *out);

/* q-th percentile (0..100, linear interpolation) of v. */
double genbo__support_percentile(const double *v, size_t n, double q);

#endif
