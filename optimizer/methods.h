/* methods.h - the generation methods a study compares, by name, and the
 * one call that produces n designs at a target for any of them (internal).
 *
 *   name               what it is
 *   genbo              oversample x n candidates (conditional diffusion at
 *                      a with CFG and look-ahead gradient guidance on
 *                      f_hat, plus the other sources of `select`), return
 *                      the n best by pessimistic reward on the support
 *                      with a diversity rule (genbo_method.c)
 *   conditional        conditional diffusion at a, CFG weight from the
 *                      config, no gradient guidance
 *   unguided           unconditional diffusion, no guidance (a unused)
 *   gradient           unconditional diffusion + gradient guidance on f_hat
 *   surrogate_ascent   NLopt L-BFGS on f_hat from the n best labelled
 *                      designs, inside the data's bounding box (a unused)
 *   best_labelled      the n best labelled designs (a unused)
 *   random             n pool designs uniformly at random (a unused)
 *   edit               surrogate_ascent's designs noised to sigma^2 =
 *                      edit_noise and denoised by the conditional model at
 *                      a (SDEdit / DEMO; edit.c)
 *   reweighted         conditional diffusion at a from the model trained
 *                      with rows drawn toward high pseudo-rewards (DDOM;
 *                      reweight.h)
 */
#ifndef GENBO_OPTIMIZER_METHODS_H
#define GENBO_OPTIMIZER_METHODS_H

#include <stddef.h>
#include <stdint.h>

#include "genbo.h"

typedef enum genbo__method {
    GENBO__METHOD_GENBO = 0,
    GENBO__METHOD_CONDITIONAL,
    GENBO__METHOD_UNGUIDED,
    GENBO__METHOD_GRADIENT,
    GENBO__METHOD_SURROGATE_ASCENT,
    GENBO__METHOD_BEST_LABELLED,
    GENBO__METHOD_RANDOM,
    GENBO__METHOD_EDIT,
    GENBO__METHOD_REWEIGHTED,
    GENBO__METHOD_COUNT
} genbo__method;

/* "genbo", "conditional", ... -> method. Unknown names fail with
 * GENBO_EINVAL and a message listing the known ones. */
int genbo__method_from_name(const char *name, genbo__method *out);
/* Every method name joined by '|' ("genbo|conditional|..."), static. */
const char *genbo__method_words(void);
/* The methods a study compares by default, ", "-separated (static). */
const char *genbo__method_default_list(void);
/* The name of a method (static string), NULL if out of range. */
const char *genbo__method_name(genbo__method m);
/* 1 for the methods that need a trained diffusion model (reweighted: the
 * reweighted one). */
int genbo__method_uses_diffusion(genbo__method m);
/* 1 if the method needs the reward model (genbo, gradient, surrogate_ascent,
 * edit). */
int genbo__method_uses_reward(genbo__method m);

/* The sampler settings of a diffusion method: `base` carries the config's
 * [generate] settings (sampler, steps, cfg_weight, grad_mode, grad_eta,
 * progress); the method decides conditioning and which guidance is on.
 * For genbo and gradient, grad_mode NONE in base means TARGET. Fails
 * for a baseline method. */
int genbo__method_sample_params(genbo__method m, const genbo_sample_params *base,
                                const genbo_reward *reward, uint64_t seed,
                                genbo_sample_params *out);

/* Candidate sources of the genbo method (bit mask). */
enum {
    GENBO__SOURCE_GUIDED = 1,
    GENBO__SOURCE_EDIT = 2,
    GENBO__SOURCE_REWEIGHTED = 4,
    /* extra candidates beside the oversample x n diffusion draws (only
     * with oversample > 1): the surrogate-ascent designs themselves, and
     * the unlabelled pool designs the reward model rates best */
    GENBO__SOURCE_ASCENT = 8,
    GENBO__SOURCE_POOL = 16,
    /* n points on the segments from the best ascent design on the support
     * to its nearest pool rows, at the batch's diversity radius there
     * (genbo_method.c): a confident model can pack the batch near its
     * optimum */
    GENBO__SOURCE_LOCAL = 32
};
#define GENBO__N_SOURCES 6

/* How the batch keeps apart (genbo__select_settings.diversity). */
enum { GENBO__DIVERSITY_ADAPTIVE = 0, GENBO__DIVERSITY_FIXED = 1 };
/* How the exploring part is chosen (genbo__select_settings.explore_rule). */
enum { GENBO__EXPLORE_THOMPSON = 0, GENBO__EXPLORE_UCB = 1 };
/* the diffusion sources (drawn from the oversample x n budget) */
#define GENBO__SOURCES_DIFFUSION (GENBO__SOURCE_GUIDED | GENBO__SOURCE_EDIT | GENBO__SOURCE_REWEIGHTED)

/* Default share of variance replaced by noise before an edit. */
#define GENBO__EDIT_NOISE 0.3

/* How the genbo method oversamples and selects (genbo_method.c). All zero
 * (as in a zeroed genbo__models) = one guided candidate per design, no
 * selection: the batch is the guided sampler's, projected into the trust
 * region. */
typedef struct genbo__select_settings {
    int oversample;      /* candidates per returned design (<= 1: no selection) */
    double kappa;        /* acquisition = mean - kappa * predictive sd */
    double min_distance; /* diversity: minimum pairwise distance in units of the
                            pool's mean nearest-neighbour distance (standardised) */
    unsigned sources;    /* GENBO__SOURCE_* mask; 0 = guided only */
    double edit_noise;   /* edit: sigma^2 of the start time (<= 0: GENBO__EDIT_NOISE) */
    double explore;      /* at most this share of the batch is chosen optimistically
                            (mean + kappa sd); the share used is the model's relative
                            uncertainty (genbo_method.c); 0 = none */
    int diversity;       /* GENBO__DIVERSITY_*: adaptive = each design's radius is
                            min_distance or less where the model can tell designs
                            apart (local penalisation, genbo_method.c); fixed =
                            min_distance everywhere */
    int explore_rule;    /* GENBO__EXPLORE_*: the exploring part by Thompson sampling
                            (thompson.h) or by mean + kappa sd */
} genbo__select_settings;

/* The selection a study uses unless it says otherwise: oversample 4,
 * kappa 1, min_distance 0.5 (adaptive), guided + ascent + pool + local
 * candidates, edit_noise 0.3, explore 0.5 by Thompson sampling. */
void genbo__select_settings_default(genbo__select_settings *s);
/* The [generate] sampler settings unless a study says otherwise:
 * genbo_sample_params_default with grad_mode TARGET and grad_eta 1 (the
 * guiding methods have a reward model to guide with). */
void genbo__generate_sample_default(genbo_sample_params *p);

/* What the genbo method's last batch was made of (optional, for benches
 * and tests): designs returned from each source (index = bit position:
 * guided, edit, reweighted, ascent, pool, local) and the exploration
 * share. */
typedef struct genbo__batch_report {
    size_t from[GENBO__N_SOURCES];
    size_t n_explore; /* designs chosen by the exploration part */
    double explore_q; /* the model's relative uncertainty q (before the cap) */
} genbo__batch_report;

/* Everything a method may need; borrowed, read-only. */
typedef struct genbo__models {
    size_t dim;
    const double *label_X, *label_y; /* labelled set */
    size_t n_label;
    const double *pool_X;            /* unlabelled pool */
    size_t n_pool;
    const genbo_reward *reward;      /* f_hat (NULL if not fitted) */
    const genbo_diffusion *diffusion;/* NULL if not trained */
    const genbo_diffusion *reweighted;/* the DDOM-reweighted model (NULL if not trained) */
    genbo_sample_params sample;      /* base sampler settings (see above) */
    const struct genbo__trust *trust;/* trust region (optimizer/trust.h); NULL = none */
    int ascent_max_evals;            /* <= 0: GENBO__ASCENT_MAX_EVALS */
    genbo__select_settings select;   /* the genbo method's selection */
    genbo__batch_report *report;     /* NULL, or filled by the genbo method */
    const double *seen_X;            /* designs already told in this run (n_seen x dim;  */
    size_t n_seen;                   /* may be NULL): the pool source never returns them. The
                                        loop's rounds set it; asks do not (reading every told
                                        design per ask would make ask latency grow with the run) */
} genbo__models;

/* n designs (n x dim into `designs`) at target a with method m. Seeded:
 * the same call gives the same designs. Defined in generate.c. */
int genbo__generate(genbo__method m, const genbo__models *models, double target, size_t n,
                    uint64_t seed, double *designs);

/* The genbo method (genbo_method.c): candidates from the sources of
 * models->select, projected into the trust region, scored and selected. */
/* The edit method (edit.c): surrogate ascent from the n best labelled
 * designs, then each result noised and denoised at target a. */
int genbo__edit_batch(const genbo__models *models, double target, size_t n, uint64_t seed,
                      double *designs);
int genbo__genbo_batch(const genbo__models *models, double target, size_t n, uint64_t seed,
                       double *designs);

#endif
