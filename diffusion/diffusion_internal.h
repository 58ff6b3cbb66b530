/* diffusion_internal.h - the diffusion model object, the noise schedules
 * (internal; tests include it). */
#ifndef GENBO_DIFFUSION_INTERNAL_H
#define GENBO_DIFFUSION_INTERNAL_H

#include "core/core.h"
#include "diffusion/net.h"
#include "genbo.h"

/* Numeric limits of a loaded model and of a sampling request
 * (docs/diffusion.md): a model outside them is refused as corrupt, a
 * target outside them is an error naming it; within them the float network
 * stays finite. */
#define GENBO__GD_TARGET_MAX_Z 1e6   /* |target - y_mean| / y_sd */
#define GENBO__GD_WEIGHT_MAX 1e4f    /* |network parameter| */
#define GENBO__GD_SCALE_MAX 1e150    /* |x_mean|, x_sd, |y_mean|, y_sd */

struct genbo_diffusion {
    genbo__net_config cfg;
    genbo_schedule schedule;
    double t0, T;
    int conditional;        /* trained with rewards */
    double *x_mean, *x_sd;  /* per-feature standardisation (D each) */
    double y_mean, y_sd;    /* reward standardisation */
    float *params;          /* EMA weights, used for sampling and saved */
    size_t n_params;
    genbo_precision precision; /* trained at (fp32 or bf16); not saved */
};

/* Switch a to bf16 products if precision (resolved) is bf16 and load the
 * weights. Returns a status. */
int genbo__gd_acts_precision(const genbo_diffusion *m, genbo__net_acts *a, genbo_precision precision,
                      const float *params);

/* ---- noise schedules (schedule.c) -------------------------------------
 * x_t = alpha_t x_0 + sigma_t eps in standardised coordinates.
 * OU:        beta = 1,  alpha_t = e^{-t/2}, sigma_t^2 = 1 - e^{-t}
 * LINEAR_VP: beta(t) = b0 + (b1 - b0) t / T with b0 = 0.1 / T, b1 = 20 / T
 *            (Song et al.'s VP SDE stretched to [0, T]); B(t) = int beta,
 *            alpha_t = e^{-B/2}, sigma_t^2 = 1 - e^{-B}. */
typedef struct genbo__sched_coef {
    double alpha, sigma, beta;
} genbo__sched_coef;
genbo__sched_coef genbo__sched_schedule(genbo_schedule s, double T, double t);

/* ---- model lifetime (model.c) ----------------------------------------- */
int genbo__gd_model_alloc(const genbo__net_config *c, genbo_diffusion **out);
int genbo__gd_check_params(const genbo_diffusion_params *p);

/* ---- weighted row draws (alias.c) -------------------------------------
 * Walker's alias method (Vose's construction): O(n) to build, O(1) a draw
 * of row i with probability w_i / sum w. */
typedef struct genbo__gd_alias {
    size_t n;
    double *prob;  /* n: keep i with this probability, else take alias[i] */
    size_t *alias; /* n */
} genbo__gd_alias;
/* Fails (GENBO_EINVAL) on a negative or non-finite weight or a zero sum. */
int genbo__gd_alias_build(genbo__gd_alias *a, size_t n, const double *w);
size_t genbo__gd_alias_draw(const genbo__gd_alias *a, genbo__rng *r);
void genbo__gd_alias_free(genbo__gd_alias *a);

/* ---- optimiser (optim.c) ----------------------------------------------
 * One AdamW step (beta1 0.9, beta2 0.999, eps 1e-8, bias-corrected,
 * decoupled weight decay) on w with gradient g * gscale; step counts from
 * 0; then ema = d ema + (1 - d) w. */
double genbo__gd_grad_norm(const float *g, size_t P);
/* The update over OpenMP's threads in fixed blocks: results independent
 * of the thread count; ema must not be NULL. */
void genbo__gd_adamw_update_par(float *w, const float *g, float *m1, float *m2, float *ema, size_t P,
                         double lr, double weight_decay, double gscale, long step,
                         double ema_decay);
/* The parallel update over a rows x cols weight matrix in chunks of `chunk`
 * rows, each chunk passed to after(ctx, r0, r1) right after its update,
 * on the thread that updated it, while it is in that core's cache (bf16
 * training converts the chunk to the products' copies there). The same
 * values as genbo__gd_adamw_update_par. g16 (bf16, the same shape), if not
 * NULL, is the gradient instead of g. Returns 1 if any after() returned
 * nonzero. */
int genbo__gd_adamw_update_rows(float *w, const float *g, const uint16_t *g16, float *m1, float *m2, float *ema, int rows,
                                int cols, int chunk, double lr, double weight_decay, double gscale,
                                long step, double ema_decay, int (*after)(void *ctx, int r0, int r1),
                                void *ctx);

#endif
