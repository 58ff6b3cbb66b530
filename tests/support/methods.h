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
    const genbo_diffusion *reweighted; /* the DDOM-reweighted model (method and source
                                          `reweighted`); NULL if not trained */
    const genbo_config *settings;    /* the genbo method's selection keys ([generate]
                                        oversample, kappa, sources, ...) of this study
                                        configuration; NULL: zero settings */
} genbo__support_models;

/* The methods in the optimizer's table order (NULL past the end). */
const char *genbo__support_method(size_t i);
/* n designs (n x dim into designs) at target a with the named method;
 * seeded. An unknown name: GENBO_EINVAL. */
int genbo__support_generate(const char *method, const genbo__support_models *m, double target, size_t n,
                            uint64_t seed, double *designs);

/* The library parameters of a study configuration, as the study pipeline
 * passes them: [reward], [diffusion] and the [generate] sampler keys (any
 * pointer may be NULL). */
void genbo__support_config_params(const genbo_config *c, genbo_reward_params *rp,
                                  genbo_diffusion_params *dp, genbo_sample_params *sp);

/* The trust region of optimizer/trust.h: per feature the range of the
 * rows of A (nA x dim) and B (nB x dim) widened by margin standard
 * deviations, and (simplex, dim flags, may be NULL) the flagged features
 * on the simplex. */
typedef struct genbo__support_trust genbo__support_trust;
int genbo__support_trust_new(size_t dim, const double *A, size_t nA, const double *B, size_t nB,
                             double margin, const unsigned char *simplex, genbo__support_trust **out);
/* 0 when x (dim) lies inside the region. */
unsigned genbo__support_trust_check(const genbo__support_trust *t, const double *x);
void genbo__support_trust_free(genbo__support_trust *t);

/* What a genbo batch was made of: designs from each candidate source
 * (guided, edit, reweighted, ascent, pool, local) and the exploration
 * share. */
typedef struct genbo__support_report {
    size_t from[6];
    size_t n_explore;
    double explore_q;
} genbo__support_report;
/* genbo__support_generate inside the trust region t, as a study batch is
 * made (resampled / projected designs flagged GENBO_DESIGN_* in flags, n);
 * report (may be NULL) is filled by the genbo method. */
int genbo__support_generate_trusted(const char *method, const genbo__support_models *m,
                                    const genbo__support_trust *t, double target, size_t n,
                                    uint64_t seed, double *designs, unsigned *flags,
                                    genbo__support_report *report);

/* A target spec ("p90", "max", "2.5") on the pool's pseudo-labels, as a
 * study resolves it. A bad spec: GENBO_EINVAL. */
int genbo__support_resolve_target(const char *spec, const double *pseudo, size_t n, double *out);

/* DDOM's histogram weights of n pseudo-labels (optimizer/reweight.h). */
int genbo__support_ddom_weights(size_t n, const double *y, double percentile, double *w);

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
