/* train.c - denoising score matching with eps-prediction (step 3).
 *
 * Each step draws a minibatch (rows with replacement, times t, noise eps)
 * with the core RNG, forms x_t = alpha_t x_0 + sigma_t eps in standardised
 * coordinates, and minimises mean ||eps_hat(x_t, y, t) - eps||^2 with
 * AdamW, global-norm clipping, linear warm-up then cosine decay. Rows lose
 * their reward with probability p_uncond (they see the learned null
 * embedding) so one network gives both the conditional and the
 * unconditional score. The weights used for sampling are an EMA. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diffusion/diffusion_internal.h"

typedef struct trainer {
    const dn_config *c;
    size_t P;
    float *mem;                /* one allocation: w, g, m1, m2, ema */
    float *w, *g, *m1, *m2, *ema;
    float *xb, *eps, *dout, *lt, *yb; /* batch buffers (one allocation) */
    uint8_t *nul;
    dn_acts acts;
} trainer;

static void trainer_free(trainer *t) {
    free(t->mem);
    free(t->xb);
    free(t->nul);
    dn_acts_free(&t->acts);
}

static int trainer_init(trainer *t, const dn_config *c, size_t P, int B, int bf16) {
    memset(t, 0, sizeof *t);
    t->c = c;
    t->P = P;
    size_t D = (size_t)c->D;
    t->mem = genbo__malloc(5 * P * sizeof(float));
    t->xb = genbo__malloc((3 * (size_t)B * D + 2 * (size_t)B) * sizeof(float));
    t->nul = genbo__calloc((size_t)B, 1);
    if (!t->mem || !t->xb || !t->nul || dn_acts_alloc(c, B, 1, &t->acts)) {
        trainer_free(t);
        return GENBO_ENOMEM;
    }
    int rc = bf16 ? dn_acts_use_bf16(c, &t->acts) : GENBO_OK;
    if (rc) {
        trainer_free(t);
        return rc;
    }
    t->w = t->mem;
    t->g = t->w + P;
    t->m1 = t->g + P;
    t->m2 = t->m1 + P;
    t->ema = t->m2 + P;
    memset(t->m1, 0, 2 * P * sizeof(float));
    t->eps = t->xb + (size_t)B * D;
    t->dout = t->eps + (size_t)B * D;
    t->lt = t->dout + (size_t)B * D;
    t->yb = t->lt + B;
    return GENBO_OK;
}

/* Peak lr * linear warm-up, then cosine decay to 0. */
static double lr_at(const genbo_diffusion_params *p, long step) {
    long warm = (long)ceil(p->warmup * (double)p->steps);
    if (step < warm) return p->lr * (double)(step + 1) / (double)warm;
    double prog = p->steps > warm ? (double)(step - warm) / (double)(p->steps - warm) : 1.0;
    return p->lr * 0.5 * (1.0 + cos(M_PI * prog));
}

/* The loop shared by train and finetune. Xz (n x D) and yz (n, or NULL)
 * are standardised. On success the EMA weights are copied to m->params;
 * on failure m is untouched. */
static int train_loop(genbo_diffusion *m, const genbo_diffusion_params *p, size_t n,
                      const float *Xz, const float *yz, const float *init) {
    const dn_config *c = &m->cfg;
    const int B = p->batch, D = c->D;
    trainer t;
    const int prec = genbo_precision_resolve(p->precision);
    if (prec < 0) return GENBO_EINVAL;
    int rc = trainer_init(&t, c, m->n_params, B, prec == GENBO_PRECISION_BF16);
    if (rc) return rc;
    memcpy(t.w, init, t.P * sizeof(float));
    memcpy(t.ema, init, t.P * sizeof(float));

    genbo_rng rng;
    genbo_rng_seed(&rng, p->seed, 0x7472u /* "tr" */);
    /* the model's interval (a fine-tune keeps the one it was trained on) */
    const double t0 = m->t0, T = m->T, lt0 = log(t0), lT = log(T);
    const long report_every = p->steps >= 100 ? p->steps / 100 : 1;
    double t_start = genbo__now(), t_last = t_start, loss_acc = 0;
    long loss_cnt = 0;

    for (long step = 0; step < p->steps; step++) {
        /* ---- minibatch */
        for (int i = 0; i < B; i++) {
            size_t r = (size_t)genbo_rng_below(&rng, n);
            double u = genbo_rng_uniform(&rng);
            double tt = p->time_sampling == GENBO_TIME_UNIFORM ? t0 + u * (T - t0)
                                                               : exp(lt0 + u * (lT - lt0));
            ds_coef k = ds_schedule(m->schedule, m->T, tt);
            t.lt[i] = (float)log(tt);
            const float *x0 = Xz + r * D;
            float *xr = t.xb + (size_t)i * D, *er = t.eps + (size_t)i * D;
            for (int j = 0; j < D; j++) {
                double e = genbo_rng_normal(&rng);
                er[j] = (float)e;
                xr[j] = (float)(k.alpha * x0[j] + k.sigma * e);
            }
            if (yz) {
                t.yb[i] = yz[r];
                t.nul[i] = genbo_rng_uniform(&rng) < p->p_uncond;
            }
        }
        /* ---- forward, loss, backward (bf16: the products read a bf16
         * copy of this step's weights) */
        if ((rc = dn_acts_load_weights(c, &t.acts, t.w)) ||
            (rc = dn_forward(c, t.w, &t.acts, B, t.xb, t.lt, yz ? t.yb : NULL, t.nul))) {
            trainer_free(&t);
            return rc;
        }
        double loss = 0;
        const float scale = 2.0f / (float)((size_t)B * D);
        for (size_t k = 0; k < (size_t)B * D; k++) {
            float d = t.acts.out[k] - t.eps[k];
            loss += (double)d * d;
            t.dout[k] = scale * d;
        }
        loss /= (double)B * D;
        if (!isfinite(loss)) {
            trainer_free(&t);
            return genbo__fail(GENBO_ENUMERIC,
                               "diffusion: training diverged at step %ld (loss %g); "
                               "lower lr or raise clip",
                               step, loss);
        }
        if ((rc = dn_backward(c, t.w, t.g, &t.acts, B, t.dout, yz ? t.yb : NULL, t.nul, NULL))) {
            trainer_free(&t);
            return rc;
        }

        /* ---- clip, AdamW, EMA */
        double gn = gd_grad_norm(t.g, t.P);
        double gscale = p->clip > 0 && gn > p->clip ? p->clip / gn : 1.0;
        /* EMA warm-up: early on, average over the steps so far only, so a
         * short run's EMA is not dominated by the random initialisation */
        double ed = fmin(p->ema, (1.0 + step) / (10.0 + step));
        gd_adamw_update(t.w, t.g, t.m1, t.m2, t.ema, t.P, lr_at(p, step), p->weight_decay,
                        gscale, step, ed);

        /* ---- progress about every 1% of the steps or once a second */
        loss_acc += loss;
        loss_cnt++;
        double now = genbo__now();
        if (p->progress && (step + 1 == p->steps || (step + 1) % report_every == 0 ||
                            now - t_last >= 1.0)) {
            char msg[96];
            double rate = (double)(step + 1) * B / fmax(now - t_start, 1e-9);
            snprintf(msg, sizeof msg, "loss %.4f, %.0f samples/s", loss_acc / loss_cnt, rate);
            loss_acc = 0;
            loss_cnt = 0;
            t_last = now;
            if (p->progress(p->progress_ctx, "train", step + 1, p->steps, msg)) {
                trainer_free(&t);
                return genbo__fail(GENBO_ESTATE, "diffusion: training interrupted at step %ld",
                                   step + 1);
            }
        }
    }
    memcpy(m->params, t.ema, t.P * sizeof(float));
    m->precision = (genbo_precision)prec;
    trainer_free(&t);
    return GENBO_OK;
}

static int check_data(size_t n, size_t D, const double *X, const double *y) {
    if (n == 0) return genbo__fail(GENBO_EINVAL, "diffusion: no training rows (n = 0)");
    if (!X) return genbo__fail(GENBO_EINVAL, "diffusion: X is NULL");
    for (size_t i = 0; i < n * D; i++)
        if (!isfinite(X[i]))
            return genbo__fail(GENBO_EINVAL, "diffusion: X[%zu][%zu] is not finite", i / D,
                               i % D);
    if (y)
        for (size_t i = 0; i < n; i++)
            if (!isfinite(y[i]))
                return genbo__fail(GENBO_EINVAL, "diffusion: y[%zu] is not finite", i);
    return GENBO_OK;
}

/* Standardise with the model's stored mean/sd into float arrays. */
static int standardise(const genbo_diffusion *m, size_t n, const double *X, const double *y,
                       float **Xz, float **yz) {
    size_t D = (size_t)m->cfg.D, nd;
    *Xz = NULL;
    *yz = NULL;
    if (!genbo__mul_ok(n, D, &nd) || !(*Xz = genbo__malloc(nd * sizeof(float))))
        return GENBO_ENOMEM;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < D; j++)
            (*Xz)[i * D + j] = (float)((X[i * D + j] - m->x_mean[j]) / m->x_sd[j]);
    if (y) {
        if (!(*yz = genbo__malloc(n * sizeof(float)))) {
            free(*Xz);
            *Xz = NULL;
            return GENBO_ENOMEM;
        }
        for (size_t i = 0; i < n; i++) (*yz)[i] = (float)((y[i] - m->y_mean) / m->y_sd);
    }
    return GENBO_OK;
}

int genbo_diffusion_train(const genbo_diffusion_params *p, size_t n, size_t D,
                          const double *X, const double *y, genbo_diffusion **out) {
    if (!out) return genbo__fail(GENBO_EINVAL, "diffusion_train: out is NULL");
    *out = NULL;
    int rc = gd_check_params(p);
    if (rc) return rc;
    if (D < 1 || D > 65536)
        return genbo__fail(GENBO_EINVAL, "diffusion_train: dimension D must be in [1, 65536]");
    if ((rc = check_data(n, D, X, y))) return rc;

    dn_config c = {(int)D, p->width, p->depth, p->t_embed, p->y_embed};
    genbo_diffusion *m;
    if ((rc = gd_model_alloc(&c, &m))) return rc;
    m->schedule = p->schedule;
    m->t0 = p->t0;
    m->T = p->T;
    m->conditional = y != NULL;
    /* per-feature mean and sd (two passes, in double) */
    for (size_t j = 0; j < D; j++) {
        double s = 0, s2 = 0;
        for (size_t i = 0; i < n; i++) s += X[i * D + j];
        double mu = s / (double)n;
        for (size_t i = 0; i < n; i++) s2 += (X[i * D + j] - mu) * (X[i * D + j] - mu);
        double sd = n > 1 ? sqrt(s2 / (double)(n - 1)) : 0.0;
        m->x_mean[j] = mu;
        m->x_sd[j] = sd > 1e-12 * (1.0 + fabs(mu)) ? sd : 1.0; /* constant feature */
    }
    m->y_mean = 0.0;
    m->y_sd = 1.0;
    if (y) {
        double s = 0, s2 = 0;
        for (size_t i = 0; i < n; i++) s += y[i];
        double mu = s / (double)n;
        for (size_t i = 0; i < n; i++) s2 += (y[i] - mu) * (y[i] - mu);
        double sd = n > 1 ? sqrt(s2 / (double)(n - 1)) : 0.0;
        m->y_mean = mu;
        m->y_sd = sd > 1e-12 * (1.0 + fabs(mu)) ? sd : 1.0;
    }

    float *Xz, *yz;
    if ((rc = standardise(m, n, X, y, &Xz, &yz))) {
        genbo_diffusion_free(m);
        return rc;
    }
    float *init = genbo__malloc(m->n_params * sizeof(float));
    if (!init) {
        rc = GENBO_ENOMEM;
    } else {
        genbo_rng rng;
        genbo_rng_seed(&rng, p->seed, 0x696eu /* "in" */);
        dn_init_params(&c, init, &rng);
        rc = train_loop(m, p, n, Xz, yz, init);
    }
    free(init);
    free(Xz);
    free(yz);
    if (rc) {
        genbo_diffusion_free(m);
        return rc;
    }
    *out = m;
    return GENBO_OK;
}

int genbo_diffusion_finetune(genbo_diffusion *m, const genbo_diffusion_params *p, size_t n,
                             const double *X, const double *y) {
    if (!m) return genbo__fail(GENBO_EINVAL, "diffusion_finetune: model is NULL");
    int rc = gd_check_params(p);
    if (rc) return rc;
    if (y && !m->conditional)
        return genbo__fail(GENBO_EINVAL,
                           "diffusion_finetune: model was trained without rewards, y must be NULL");
    if ((rc = check_data(n, (size_t)m->cfg.D, X, y))) return rc;
    float *Xz, *yz;
    if ((rc = standardise(m, n, X, y, &Xz, &yz))) return rc;
    /* a copy of the start weights: train_loop overwrites m->params only on success */
    float *init = genbo__malloc(m->n_params * sizeof(float));
    if (!init) {
        rc = GENBO_ENOMEM;
    } else {
        memcpy(init, m->params, m->n_params * sizeof(float));
        rc = train_loop(m, p, n, Xz, yz, init);
    }
    free(init);
    free(Xz);
    free(yz);
    return rc;
}
