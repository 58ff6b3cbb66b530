/* schedule.c - alpha_t, sigma_t and beta(t) of the forward processes in
 * closed form (see diffusion_internal.h). */
#include <math.h>

#include "diffusion/diffusion_internal.h"

genbo__sched_coef genbo__sched_schedule(genbo_schedule s, double T, double t) {
    genbo__sched_coef c;
    double B; /* integral of beta from 0 to t */
    if (s == GENBO_SCHEDULE_LINEAR_VP) {
        double b0 = 0.1 / T, b1 = 20.0 / T;
        c.beta = b0 + (b1 - b0) * t / T;
        B = b0 * t + 0.5 * (b1 - b0) * t * t / T;
    } else {
        c.beta = 1.0;
        B = t;
    }
    c.alpha = exp(-0.5 * B);
    /* -expm1(-B) keeps sigma accurate for tiny t (t0 = 1e-3) */
    c.sigma = sqrt(-expm1(-B));
    return c;
}
