/* optim.c - AdamW with bias correction, gradient clipping and an EMA of
 * the weights, over flat float arrays. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "diffusion/diffusion_internal.h"
#include "diffusion/kernels.h"

#define ADAM_B1 0.9
#define ADAM_B2 0.999
#define ADAM_EPS 1e-8

double genbo__gd_grad_norm(const float *g, size_t P) {
    return sqrt(genbo__k_sumsq(g, P)); /* in double, in an order fixed by P */
}

/* ---- AdamW, spread over OpenMP's threads -------------------------------
 * The pass over every parameter (5 arrays read, 4 written) is memory-bound:
 * it became a fifth of a bf16 step with the products on the matrix units,
 * and took 3.6 ms of a W1 fp32 step on one thread against 1.5 on two.
 * These versions split it into fixed blocks. Each element's update does
 * not depend on the split, so the results do not depend on the thread
 * count. (bf16 training's gradient norm is summed in the backward pass,
 * from cache: train.c grad_norm_bf16.) */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__)
#define GD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GD_CLONES
#endif

enum { GD_BLOCKS = 64 };

/* one element's update from its (scaled) gradient gk */
static inline void adamw_elem(float gk, float *w, float *m1, float *m2, float *ema, size_t k,
                              float step_size, float inv_sqrt_bc2, float decay, float ed) {
    const float fb1 = (float)ADAM_B1, fb2 = (float)ADAM_B2;
    m1[k] = fb1 * m1[k] + (1.0f - fb1) * gk;
    m2[k] = fb2 * m2[k] + (1.0f - fb2) * gk * gk;
    float upd = m1[k] / (sqrtf(m2[k]) * inv_sqrt_bc2 + (float)ADAM_EPS);
    w[k] = w[k] * decay - step_size * upd;
    ema[k] = ed * ema[k] + (1.0f - ed) * w[k];
}

/* the gradient from g, or from g16 (bf16) where given */
GD_CLONES
static void adamw_range(float *w, const float *g, const uint16_t *g16, float *m1, float *m2, float *ema,
                        size_t lo, size_t hi, float gs, float step_size, float inv_sqrt_bc2, float decay,
                        float ed) {
    if (g16)
        for (size_t k = lo; k < hi; k++) {
            const uint32_t u = (uint32_t)g16[k] << 16;
            float gk;
            memcpy(&gk, &u, sizeof gk);
            adamw_elem(gk * gs, w, m1, m2, ema, k, step_size, inv_sqrt_bc2, decay, ed);
        }
    else
        for (size_t k = lo; k < hi; k++)
            adamw_elem(g[k] * gs, w, m1, m2, ema, k, step_size, inv_sqrt_bc2, decay, ed);
}

/* The step's constants: bias corrections and decoupled weight decay. */
typedef struct adam_coef {
    float step_size, inv_sqrt_bc2, decay, gs, ed;
} adam_coef;

static adam_coef adam_coef_at(double lr, double weight_decay, double gscale, long step,
                              double ema_decay) {
    double bc1 = 1.0 - pow(ADAM_B1, (double)(step + 1));
    double bc2 = 1.0 - pow(ADAM_B2, (double)(step + 1));
    return (adam_coef){(float)(lr / bc1), (float)(1.0 / sqrt(bc2)), (float)(1.0 - lr * weight_decay),
                       (float)gscale, (float)ema_decay};
}

/* Below this many parameters (a segment's biases) the update stays on the
 * calling thread: waking the team costs more than the work. */
#define GD_PAR_MIN 65536

void genbo__gd_adamw_update_par(float *w, const float *g, float *m1, float *m2, float *ema, size_t P,
                         double lr, double weight_decay, double gscale, long step,
                         double ema_decay) {
    const adam_coef k = adam_coef_at(lr, weight_decay, gscale, step, ema_decay);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (P >= GD_PAR_MIN)
#endif
    for (int b = 0; b < GD_BLOCKS; b++)
        adamw_range(w, g, NULL, m1, m2, ema, P * (size_t)b / GD_BLOCKS, P * (size_t)(b + 1) / GD_BLOCKS,
                    k.gs, k.step_size, k.inv_sqrt_bc2, k.decay, k.ed);
}

int genbo__gd_adamw_update_rows(float *w, const float *g, const uint16_t *g16, float *m1, float *m2, float *ema, int rows,
                                int cols, int chunk, double lr, double weight_decay, double gscale,
                                long step, double ema_decay, int (*after)(void *ctx, int r0, int r1),
                                void *ctx) {
    const adam_coef k = adam_coef_at(lr, weight_decay, gscale, step, ema_decay);
    const int nchunks = (rows + chunk - 1) / chunk;
    int fail = 0;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) reduction(| : fail) if (nchunks > 1)
#endif
    for (int ch = 0; ch < nchunks; ch++) {
        const int r0 = ch * chunk, r1 = r0 + chunk < rows ? r0 + chunk : rows;
        adamw_range(w, g, g16, m1, m2, ema, (size_t)r0 * cols, (size_t)r1 * cols, k.gs, k.step_size,
                    k.inv_sqrt_bc2, k.decay, k.ed);
        fail |= after(ctx, r0, r1) != 0;
    }
    return fail;
}
