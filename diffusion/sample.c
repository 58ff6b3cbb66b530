/* sample.c - guided generation (step 4): the sampler and
 * genbo_diffusion_sample.
 *
 * The time grid is geometric from T down to t0 (t_k = T (t0/T)^{k/N}),
 * dense where the score changes fastest. Every step needs the guided
 * score at (x, t), in standardised coordinates:
 *
 *   eps   = (1 + w) eps(x, a, t) - w eps(x, none, t)   (classifier-free;
 *           w = 0 is plain conditioning, conditional = 0 uses eps(x, none))
 *   s     = -eps / sigma_t
 *   x0hat = (x + sigma_t^2 s) / alpha_t                 (Tweedie)
 *   g     = sd * grad f(x0hat) / S                      (S = grad_scale)
 *   u     = alpha_t grad_x (g^T x0hat) = g - sigma_t (d eps / dx)^T g
 *   s    += eta u                                       (LOOKAHEAD tilt)
 *   s    += eta alpha_t g,  g at x_t itself             (NAIVE tilt)
 *   s    += eta alpha^3 r u / (alpha^4 sy^2 + sigma^2 |u|^2)   (TARGET)
 *           r = (a - f(x0hat)) / S, sy = GUIDE_SIGMA_Y
 *
 * The guiding function f and its gradient come from the caller's
 * callbacks in original units (designs mapped back, x = mean + sd z),
 * hence the factor sd. Dividing by S, the spread of f's values, makes
 * eta unitless: a reward reported in other units (x 1000, or shifted)
 * gives the same designs with the same eta.
 *
 * The look-ahead gradient goes through the network: (d eps/dx)^T g is one
 * backward pass of the same rows (the conditional and unconditional rows
 * of a CFG step in one pass of 2n rows, weighted 1 + w and -w).
 *
 * LOOKAHEAD is a linear tilt: near the data (alpha_t ~ 1) it is the score
 * of p_t tilted by e^{eta f / S}. The alpha_t weight is there because
 * grad_x x0hat = (I - sigma (d eps/dx)) / alpha divides a near-cancellation
 * by a tiny alpha_t at large t (e^{-5} at T = 10): measured on a trained
 * model the unweighted term was 100-500x too large at t = 8-10 and sent
 * samples to rewards of 70 (see docs/diffusion.md). A tilt never stops
 * pushing: far from the data it follows f_hat's extrapolation.
 *
 * TARGET is Guo et al.'s look-ahead guidance in its target-seeking,
 * gradient-norm-normalised form: -beta_t grad_x (y - g^T x0hat)^2 with
 * beta_t = (alpha^2/2) / (alpha^2 sy^2 + sigma^2 |grad_x g^T x0hat|^2)
 * and grad_x g^T x0hat = u / alpha; multiplied out, no division by alpha
 * is left. g is f's gradient at each sample's own x0hat and g^T x0hat is
 * replaced by f(x0hat) (the two agree for a linear f; for a curved f it is
 * the linearisation at the current point). For Gaussian data and a linear
 * f it is the exact score of the likelihood y ~ N(f(x0), sy^2). It pulls
 * f toward the target and stops there (r = 0), and its size is bounded by
 * alpha^3 |r| / (sigma^2 |u|) whatever |g|: it cannot run away.
 *
 * The returned designs are x0hat at t0 (one last network evaluation),
 * mapped back to original units; a non-finite one fails the call.
 *
 * Editing (p->init, SDEdit): the chain starts at the time t_s where
 * sigma^2 = init_noise from x = alpha x0 + sigma eps (x0 = the given design,
 * standardised) instead of from N(0, I) at T; the rest is the same. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fields.h"
#include "diffusion/diffusion_internal.h"

#define LOOKAHEAD_ZMAX 6.0 /* sd of the training data */
#define GUIDE_SIGMA_Y 0.1  /* TARGET: likelihood sd in units of S (Guo et al.'s 0.1) */
#define SAMPLE_CHUNK 1024 /* designs per chunk (2x rows with CFG) */
#define SAMPLE_FP32_ROWS 2 /* auto: passes this small run in fp32 (see sampler_init) */

typedef struct sampler {
    const genbo_diffusion *m;
    const genbo_sample_params *p;
    int cfg;           /* conditional and w != 0: two passes a step */
    int cond;          /* condition on the target */
    float yz;          /* standardised target */
    genbo__net_acts acts;
    float *xin, *yv, *dout, *dx; /* up to 2 * chunk rows (xin: the chunk's x) */
    uint8_t *nul;
    double *xo, *go;   /* designs / gradients in original units (chunk x D) */
    double *fv;        /* TARGET: f at the look-ahead points (chunk) */
    double target;     /* original units */
    double scale;      /* S: spread of f's values */
} sampler;

static void sampler_free(sampler *s) {
    genbo__net_acts_free(&s->acts);
    free(s->xin);
    free(s->nul);
    free(s->xo);
}

static int sampler_init(sampler *s, const genbo_diffusion *m, const genbo_sample_params *p,
                        double target, size_t n) {
    memset(s, 0, sizeof *s);
    s->m = m;
    s->p = p;
    s->cond = p->conditional != 0;
    s->cfg = s->cond && p->cfg_weight != 0.0;
    s->yz = (float)((target - m->y_mean) / m->y_sd);
    s->target = target;
    /* an unconditional model has y_sd = 1: reward units, unless told */
    s->scale = p->grad_scale > 0 ? p->grad_scale : m->y_sd;
    /* rows of one pass: a chunk, or the whole ask when smaller (an ask of a
     * few designs needs no buffers, plans or pages for 2 x 1024 rows) */
    const size_t nmax = n < SAMPLE_CHUNK ? (n ? n : 1) : SAMPLE_CHUNK;
    const size_t D = (size_t)m->cfg.D, R = (s->cfg ? 2 : 1) * nmax;
    int store = p->grad_mode == GENBO_GRAD_LOOKAHEAD || p->grad_mode == GENBO_GRAD_TARGET;
    if (genbo__net_acts_alloc(&m->cfg, (int)R, store, &s->acts)) return GENBO_ENOMEM;
    s->acts.no_param_grads = 1; /* look-ahead needs d eps / dx only */
    /* auto: a pass of at most SAMPLE_FP32_ROWS rows (an ask of one or two
     * designs, one with CFG) runs in fp32 even for a bf16 model: each bf16
     * product of so few rows costs more in oneDNN's fixed dispatch and tile
     * set-up than the fp32 product itself (bench_diffusion's ask latency) */
    genbo_precision prec = p->precision;
    if (prec == GENBO_PRECISION_AUTO && R <= SAMPLE_FP32_ROWS) prec = GENBO_PRECISION_FP32;
    int rc = genbo__gd_acts_precision(m, &s->acts, prec, m->params);
    if (rc) {
        genbo__net_acts_free(&s->acts);
        return rc;
    }
    s->xin = genbo__malloc((3 * R * D + R) * sizeof(float));
    s->nul = genbo__calloc(R, 1);
    s->xo = genbo__malloc((2 * D + 1) * nmax * sizeof(double));
    if (!s->xin || !s->nul || !s->xo) {
        sampler_free(s);
        return GENBO_ENOMEM;
    }
    s->dout = s->xin + R * D;
    s->dx = s->dout + R * D;
    s->yv = s->dx + R * D;
    s->go = s->xo + nmax * D;
    s->fv = s->go + nmax * D;
    return GENBO_OK;
}

/* Guided score at time t for nc rows of x (standardised) into sc. */
static int guided_score(sampler *s, int nc, const double *x, double t, double *sc) {
    const genbo_diffusion *m = s->m;
    const int D = m->cfg.D;
    const int rows = s->cfg ? 2 * nc : nc;
    const genbo__sched_coef k = genbo__sched_schedule(m->schedule, m->T, t);
    /* the rows share log t and the target: one pass of the step's rows
     * (n, or with CFG n conditional and n unconditional ones) */
    for (size_t q = 0; q < (size_t)nc * D; q++) s->xin[q] = (float)x[q];
    int rc = genbo__net_forward_step(&m->cfg, m->params, &s->acts, nc, s->xin, (float)log(t),
                                     s->cond ? &s->yz : NULL, s->cfg);
    if (rc) return rc;
    const double w = s->p->cfg_weight, c1 = s->cfg ? 1.0 + w : 1.0, c2 = -w;
    const float *out = s->acts.out;
    for (size_t q = 0; q < (size_t)nc * D; q++) {
        double e = c1 * out[q];
        if (s->cfg) e += c2 * out[(size_t)nc * D + q];
        sc[q] = -e / k.sigma;
    }
    if (s->p->grad_mode == GENBO_GRAD_NONE) return GENBO_OK;

    /* gradient guidance: evaluate grad f in original units */
    const genbo_gradient_guidance mode = s->p->grad_mode;
    const int look = mode != GENBO_GRAD_NAIVE;
    for (int i = 0; i < nc; i++)
        for (int j = 0; j < D; j++) {
            size_t q = (size_t)i * D + j;
            double z = look ? (x[q] + k.sigma * k.sigma * sc[q]) / k.alpha : x[q];
            /* x0_hat estimates a point of the (standardised) data, but at large t
             * it divides the network's error by a tiny alpha_t: keep the point
             * where f is differentiated within LOOKAHEAD_ZMAX training sd. */
            if (look) z = fmin(fmax(z, -LOOKAHEAD_ZMAX), LOOKAHEAD_ZMAX);
            s->xo[q] = m->x_mean[j] + m->x_sd[j] * z;
        }
    rc = s->p->grad(s->p->grad_ctx, (size_t)nc, s->xo, s->go);
    if (rc) return genbo__fail_prefix(rc, "diffusion_sample: guidance gradient");
    if (mode == GENBO_GRAD_TARGET) {
        rc = s->p->value(s->p->grad_ctx, (size_t)nc, s->xo, s->fv);
        if (rc) return genbo__fail_prefix(rc, "diffusion_sample: guidance value");
        for (int i = 0; i < nc; i++)
            if (!isfinite(s->fv[i]))
                return genbo__fail(GENBO_ENUMERIC, "diffusion_sample: guidance value is not finite");
    }
    for (int i = 0; i < nc; i++)
        for (int j = 0; j < D; j++) {
            size_t q = (size_t)i * D + j;
            if (!isfinite(s->go[q]))
                return genbo__fail(GENBO_ENUMERIC,
                                   "diffusion_sample: guidance gradient is not finite");
            s->go[q] *= m->x_sd[j] / s->scale; /* g = sd * grad_x f / S */
        }
    const double eta = s->p->grad_eta;
    if (!look) {
        for (size_t q = 0; q < (size_t)nc * D; q++) sc[q] += eta * k.alpha * s->go[q];
        return GENBO_OK;
    }
    /* (d eps / dx)^T g by one backward pass over the same rows */
    for (int i = 0; i < rows; i++) {
        s->yv[i] = s->yz;
        s->nul[i] = !s->cond || i >= nc;
        double c = i < nc ? c1 : c2;
        for (int j = 0; j < D; j++)
            s->dout[(size_t)i * D + j] = (float)(c * s->go[(size_t)(i % nc) * D + j]);
    }
    if ((rc = genbo__net_backward(&m->cfg, m->params, NULL, &s->acts, rows, s->dout, s->yv, s->nul,
                          s->dx)))
        return rc;
    /* u = g - sigma (d eps/dx)^T g, written over go */
    for (int i = 0; i < nc; i++)
        for (int j = 0; j < D; j++) {
            size_t q = (size_t)i * D + j;
            double v = s->dx[q];
            if (s->cfg) v += s->dx[(size_t)nc * D + q];
            s->go[q] -= k.sigma * v;
        }
    if (mode == GENBO_GRAD_LOOKAHEAD) {
        for (size_t q = 0; q < (size_t)nc * D; q++) sc[q] += eta * s->go[q];
        return GENBO_OK;
    }
    const double a2 = k.alpha * k.alpha, s2 = k.sigma * k.sigma;
    const double sy2 = GUIDE_SIGMA_Y * GUIDE_SIGMA_Y;
    for (int i = 0; i < nc; i++) {
        const double *u = s->go + (size_t)i * D;
        double uu = 0;
        for (int j = 0; j < D; j++) uu += u[j] * u[j];
        double r = (s->target - s->fv[i]) / s->scale;
        double c = eta * a2 * k.alpha * r / (a2 * a2 * sy2 + s2 * uu);
        if (!(a2 * a2 * sy2 + s2 * uu > 0)) c = 0; /* g = 0 and alpha underflowed */
        for (int j = 0; j < D; j++) sc[(size_t)i * D + j] += c * u[j];
    }
    return GENBO_OK;
}

/* The range of every settable field: the check below and the study file's
 * [generate] keys (studies/config.c) both read this table. */
#define SF(name, type, lo, hi, flags, words) \
    {#name, GENBO__FIELD_##type, offsetof(genbo_sample_params, name), lo, hi, flags, words}
static const genbo__field sample_rows[] = {
    SF(sampler, ENUM, 0, 0, 0, "euler_maruyama|ancestral|heun_ode"),
    SF(steps, INT, 1, 100000, 0, NULL),
    SF(conditional, BOOL, 0, 1, 0, NULL),
    SF(cfg_weight, DOUBLE, 0, 100, 0, NULL),
    SF(grad_mode, ENUM, 0, 0, 0, "none|lookahead|naive|target"),
    SF(grad_eta, DOUBLE, 0, GENBO__FIELD_NOMAX, 0, NULL),
    SF(seed, U64, 0, 0, 0, NULL),
    SF(init_noise, DOUBLE, 0, 1, GENBO__FIELD_MIN_OPEN | GENBO__FIELD_MAX_OPEN, NULL),
    SF(precision, ENUM, 0, 0, 0, "auto|fp32|bf16"),
};
#undef SF
const genbo__fields genbo__sample_fields = GENBO__FIELDS("diffusion_sample", sample_rows);

int genbo__sample_check_params(const genbo_sample_params *p) {
    const genbo__fields *t = &genbo__sample_fields;
    for (size_t i = 0; i < t->n; i++) {
        const char *name = t->rows[i].name;
        /* init_noise matters with init only; grad_eta with guidance only */
        if ((!strcmp(name, "init_noise") && !p->init) ||
            (!strcmp(name, "grad_eta") && p->grad_mode == GENBO_GRAD_NONE))
            continue;
        int rc = genbo__field_check(t, &t->rows[i], p);
        if (rc) return rc;
    }
    return GENBO_OK;
}

static int check_sample_params(const genbo_diffusion *m, const genbo_sample_params *p,
                               double target, size_t n, const double *X) {
    if (!m || !p) return genbo__fail(GENBO_EINVAL, "diffusion_sample: NULL model or params");
    if (n && !X) return genbo__fail(GENBO_EINVAL, "diffusion_sample: X is NULL");
    int rc = genbo__sample_check_params(p);
    if (rc) return rc;
    if (p->conditional && !m->conditional)
        return genbo__fail(GENBO_ESTATE, "diffusion_sample: the model was trained without "
                                         "rewards; set conditional = 0");
    if ((p->conditional || p->grad_mode == GENBO_GRAD_TARGET) && !isfinite(target))
        return genbo__fail(GENBO_EINVAL, "diffusion_sample: target is not finite");
    if (p->conditional && !(fabs((target - m->y_mean) / m->y_sd) <= GENBO__GD_TARGET_MAX_Z))
        return genbo__fail(GENBO_EINVAL,
                           "diffusion_sample: target %g is %.3g standard deviations from the mean "
                           "training reward %g (sd %g); at most %g are supported", target,
                           fabs((target - m->y_mean) / m->y_sd), m->y_mean, m->y_sd, GENBO__GD_TARGET_MAX_Z);
    if (p->init)
        for (size_t i = 0; i < n * (size_t)m->cfg.D; i++)
            if (!isfinite(p->init[i]))
                return genbo__fail(GENBO_EINVAL, "diffusion_sample: init design %zu, feature %zu is "
                                                 "not finite", i / (size_t)m->cfg.D, i % (size_t)m->cfg.D);
    if (p->grad_mode != GENBO_GRAD_NONE) {
        if (!p->grad)
            return genbo__fail(GENBO_EINVAL, "diffusion_sample: gradient guidance needs a "
                                             "gradient callback (grad; genbo_reward_guidance)");
        if (p->grad_mode == GENBO_GRAD_TARGET && !p->value)
            return genbo__fail(GENBO_EINVAL, "diffusion_sample: grad_mode target needs a value "
                                             "callback (value; genbo_reward_guidance)");
        if (!(p->grad_scale >= 0) || !isfinite(p->grad_scale))
            return genbo__fail(GENBO_EINVAL, "diffusion_sample: grad_scale must be >= 0, got %g",
                               p->grad_scale);
    }
    return GENBO_OK;
}

/* The time where sigma_t^2 = s (bisection on the monotone schedule),
 * clamped to [t0, T]. */
static double edit_time(const genbo_diffusion *m, double s) {
    double lo = m->t0, hi = m->T;
    if (genbo__sched_schedule(m->schedule, m->T, lo).sigma >= sqrt(s)) return lo;
    if (genbo__sched_schedule(m->schedule, m->T, hi).sigma <= sqrt(s)) return hi;
    for (int it = 0; it < 200 && hi - lo > 1e-12 * hi; it++) {
        double mid = 0.5 * (lo + hi);
        if (genbo__sched_schedule(m->schedule, m->T, mid).sigma < sqrt(s)) lo = mid;
        else hi = mid;
    }
    return 0.5 * (lo + hi);
}

int genbo_diffusion_sample(const genbo_diffusion *m, const genbo_sample_params *p,
                           double target, size_t n, double *X) {
    int rc = check_sample_params(m, p, target, n, X);
    if (rc) return rc;
    sampler s;
    if ((rc = sampler_init(&s, m, p, target, n))) return rc;
    const int D = m->cfg.D, N_full = p->steps;
    const size_t CD = (n < SAMPLE_CHUNK ? (n ? n : 1) : SAMPLE_CHUNK) * (size_t)D;
    double *mem = genbo__malloc(4 * CD * sizeof(double));
    if (!mem) {
        sampler_free(&s);
        return GENBO_ENOMEM;
    }
    double *x = mem, *sc = x + CD, *xe = sc + CD, *d1 = xe + CD;
    double *noise = d1; /* the stochastic samplers' draws (Heun, which uses d1, has none) */
    /* the grid t_k = t_hi (t0 / t_hi)^{k / N}: from T, or from the edit
     * time with as many steps as the full grid has below it */
    double t_hi = m->T;
    int N = N_full;
    if (p->init) {
        t_hi = edit_time(m, p->init_noise);
        N = (int)ceil(N_full * log(t_hi / m->t0) / log(m->T / m->t0));
        if (N < 1) N = 1;
    }
    const size_t nchunks = (n + SAMPLE_CHUNK - 1) / SAMPLE_CHUNK;
    const long total = (long)(nchunks * (size_t)(N + 1));
    double t_last = genbo__now();

    for (size_t ch = 0; ch < nchunks && !rc; ch++) {
        const size_t first = ch * SAMPLE_CHUNK;
        const int nc = (int)(n - first < SAMPLE_CHUNK ? n - first : SAMPLE_CHUNK);
        const size_t nd = (size_t)nc * D;
        genbo__rng rng;
        genbo__rng_seed(&rng, p->seed, 1 + ch); /* a stream per chunk */
        genbo__rng_normal_fill(&rng, x, nd);
        if (p->init) { /* x_{t_hi} = alpha x0 + sigma eps, x0 standardised */
            genbo__sched_coef a = genbo__sched_schedule(m->schedule, m->T, t_hi);
            for (size_t q = 0; q < nd; q++) {
                size_t j = q % (size_t)D;
                double z = (p->init[first * D + q] - m->x_mean[j]) / m->x_sd[j];
                x[q] = a.alpha * z + a.sigma * x[q];
            }
        }

        for (int k = 0; k < N && !rc; k++) {
            double t = t_hi * pow(m->t0 / t_hi, (double)k / N);
            double tn = t_hi * pow(m->t0 / t_hi, (double)(k + 1) / N);
            genbo__sched_coef a = genbo__sched_schedule(m->schedule, m->T, t);
            if ((rc = guided_score(&s, nc, x, t, sc))) break;
            if (p->sampler == GENBO_SAMPLER_EULER_MARUYAMA) {
                /* backward SDE: dx = [-beta/2 x - beta s] dt + sqrt(beta) dW, dt = -h */
                double h = t - tn, sq = sqrt(a.beta * h);
                genbo__rng_normal_fill(&rng, noise, nd);
                for (size_t q = 0; q < nd; q++)
                    x[q] += h * a.beta * (0.5 * x[q] + sc[q]) + sq * noise[q];
            } else if (p->sampler == GENBO_SAMPLER_ANCESTRAL) {
                /* exact transition of the forward process from tn to t,
                 * conditioned on x0 = x0hat: q(x_tn | x_t, x0hat) */
                genbo__sched_coef b = genbo__sched_schedule(m->schedule, m->T, tn);
                double ats = a.alpha / b.alpha, st2 = a.sigma * a.sigma,
                       ss2 = b.sigma * b.sigma;
                double v = st2 - ats * ats * ss2; /* variance of x_t given x_tn */
                double cx = ats * ss2 / st2, c0 = b.alpha * v / st2;
                double sd = sqrt(fmax(v * ss2 / st2, 0.0));
                genbo__rng_normal_fill(&rng, noise, nd);
                for (size_t q = 0; q < nd; q++) {
                    double x0 = (x[q] + st2 * sc[q]) / a.alpha;
                    x[q] = cx * x[q] + c0 * x0 + sd * noise[q];
                }
            } else {
                /* probability-flow ODE dx/dt = -beta/2 (x + s), Heun */
                genbo__sched_coef b = genbo__sched_schedule(m->schedule, m->T, tn);
                double dt = tn - t;
                for (size_t q = 0; q < nd; q++) {
                    d1[q] = -0.5 * a.beta * (x[q] + sc[q]);
                    xe[q] = x[q] + dt * d1[q];
                }
                if ((rc = guided_score(&s, nc, xe, tn, sc))) break;
                for (size_t q = 0; q < nd; q++)
                    x[q] += 0.5 * dt * (d1[q] - 0.5 * b.beta * (xe[q] + sc[q]));
            }
            double now = genbo__now();
            long done = (long)(ch * (size_t)(N + 1)) + k + 1;
            if (p->progress && (now - t_last >= 1.0 || done % (total / 100 + 1) == 0)) {
                t_last = now;
                if (p->progress(p->progress_ctx, "sample", done, total, NULL))
                    rc = genbo__fail(GENBO_ESTATE, "diffusion_sample: interrupted");
            }
        }
        if (rc) break;
        /* output: Tweedie estimate x0hat at t0, in original units */
        genbo__sched_coef a = genbo__sched_schedule(m->schedule, m->T, m->t0);
        if ((rc = guided_score(&s, nc, x, m->t0, sc))) break;
        for (int i = 0; i < nc; i++)
            for (int j = 0; j < D; j++) {
                size_t q = (size_t)i * D + j;
                double z = (x[q] + a.sigma * a.sigma * sc[q]) / a.alpha;
                X[(first + i) * D + j] = m->x_mean[j] + m->x_sd[j] * z;
                if (!isfinite(X[(first + i) * D + j]) && !rc)
                    rc = genbo__fail(GENBO_ENUMERIC, "diffusion_sample: design %zu is not finite "
                                     "(the sampler diverged; lower grad_eta or cfg_weight)",
                                     first + (size_t)i);
            }
    }
    if (!rc && p->progress) /* the work is done: a stop request no longer matters */
        (void)p->progress(p->progress_ctx, "sample", total, total, NULL);
    free(mem);
    sampler_free(&s);
    return rc;
}
