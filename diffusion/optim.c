/* optim.c - AdamW with bias correction, gradient clipping and an EMA of
 * the weights, over flat float arrays. */
#include <math.h>

#include "diffusion/diffusion_internal.h"

#define ADAM_B1 0.9
#define ADAM_B2 0.999
#define ADAM_EPS 1e-8

double gd_grad_norm(const float *g, size_t P) {
    double s = 0; /* in double, in index order: deterministic */
    for (size_t k = 0; k < P; k++) s += (double)g[k] * g[k];
    return sqrt(s);
}

void gd_adamw_update(float *w, const float *g, float *m1, float *m2, float *ema, size_t P,
                     double lr, double weight_decay, double gscale, long step, double ema_decay) {
    double bc1 = 1.0 - pow(ADAM_B1, (double)(step + 1));
    double bc2 = 1.0 - pow(ADAM_B2, (double)(step + 1));
    const float fb1 = (float)ADAM_B1, fb2 = (float)ADAM_B2, gs = (float)gscale;
    const float step_size = (float)(lr / bc1), inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
    const float decay = (float)(1.0 - lr * weight_decay); /* decoupled weight decay */
    const float ed = (float)ema_decay, ed1 = 1.0f - ed;
    for (size_t k = 0; k < P; k++) {
        float gk = g[k] * gs;
        m1[k] = fb1 * m1[k] + (1.0f - fb1) * gk;
        m2[k] = fb2 * m2[k] + (1.0f - fb2) * gk * gk;
        float upd = m1[k] / (sqrtf(m2[k]) * inv_sqrt_bc2 + (float)ADAM_EPS);
        w[k] = w[k] * decay - step_size * upd;
        if (ema) ema[k] = ed * ema[k] + ed1 * w[k];
    }
}
