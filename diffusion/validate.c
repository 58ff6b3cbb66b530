/* validate.c - the validation split and the fixed validation draws.
 *
 * The split is a seeded permutation of the row indices (stream "va" of
 * the training seed): its first n_val entries are held out. The draws
 * (x0 row, t, eps, null flag) are made once per training from stream
 * "vd", with t stratified over the training-time distribution, so the
 * validation loss of two weight sets differs only by the weights: no
 * resampling noise hides a plateau or fakes an improvement. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diffusion/train_internal.h"

int genbo__gd_split_rows(genbo__gd_trainer *t, const genbo_diffusion_params *p, size_t n) {
    size_t *idx = genbo__malloc(n * sizeof *idx);
    if (!idx) return GENBO_ENOMEM;
    for (size_t i = 0; i < n; i++) idx[i] = i;
    double want = floor(p->val_fraction * (double)n);
    size_t n_val = want > GENBO_VAL_MAX_ROWS ? GENBO_VAL_MAX_ROWS : (size_t)want;
    if (n < n_val + 2) n_val = 0;
    if (n_val) {
        genbo__rng rng;
        genbo__rng_seed(&rng, p->seed, 0x7661u /* "va" */);
        genbo__rng_shuffle_prefix(&rng, idx, n, n_val);
    }
    t->val_rows = idx;
    t->n_val = n_val;
    t->rows = idx + n_val;
    t->n_rows = n - n_val;
    return GENBO_OK;
}

void genbo__gd_valset_free(genbo__gd_valset *v) {
    free(v->xt);
    genbo__net_acts_free(&v->acts);
    memset(v, 0, sizeof *v);
}

int genbo__gd_valset_build(genbo__gd_valset *v, const genbo_diffusion *m, const genbo_diffusion_params *p,
                    const float *Xz, const float *yz, const size_t *rows, size_t n_rows) {
    memset(v, 0, sizeof *v);
    const size_t D = (size_t)m->cfg.D, K = GENBO__GD_VAL_DRAWS;
    v->n = K;
    v->conditional = yz != NULL;
    /* one allocation: xt, eps (K x D), lt, y (K), nul (K bytes) */
    v->xt = genbo__malloc((2 * K * D + 2 * K) * sizeof(float) + K);
    if (!v->xt || genbo__net_acts_alloc(&m->cfg, GENBO__GD_VAL_CHUNK, 0, &v->acts)) {
        genbo__gd_valset_free(v);
        return GENBO_ENOMEM;
    }
    /* validation runs in the training's precision: the stopping rule only
     * compares validations with each other, and in bf16 a validation costs
     * a fraction of the fp32 pass (measured in docs/diffusion.md) */
    if (genbo_precision_resolve(p->precision) == GENBO_PRECISION_BF16) {
        int rc = genbo__net_acts_use_bf16(&m->cfg, &v->acts);
        if (rc) {
            genbo__gd_valset_free(v);
            return rc;
        }
    }
    v->eps = v->xt + K * D;
    v->lt = v->eps + K * D;
    v->y = v->lt + K;
    v->nul = (uint8_t *)(v->y + K);
    genbo__rng rng;
    genbo__rng_seed(&rng, p->seed, 0x7664u /* "vd" */);
    const double t0 = m->t0, T = m->T, lt0 = log(t0), lT = log(T);
    for (size_t k = 0; k < K; k++) {
        size_t r = rows[k % n_rows];
        double u = ((double)k + genbo__rng_uniform(&rng)) / (double)K; /* stratified */
        double tt = p->time_sampling == GENBO_TIME_UNIFORM ? t0 + u * (T - t0)
                                                           : exp(lt0 + u * (lT - lt0));
        genbo__sched_coef c = genbo__sched_schedule(m->schedule, m->T, tt);
        v->lt[k] = (float)log(tt);
        for (size_t j = 0; j < D; j++) {
            double e = genbo__rng_normal(&rng);
            v->eps[k * D + j] = (float)e;
            v->xt[k * D + j] = (float)(c.alpha * Xz[r * D + j] + c.sigma * e);
        }
        v->y[k] = yz ? yz[r] : 0.0f;
        v->nul[k] = yz ? genbo__rng_uniform(&rng) < p->p_uncond : 1;
    }
    return GENBO_OK;
}

double genbo__gd_valset_loss(genbo__gd_valset *v, const genbo_diffusion *m, const genbo_diffusion_params *p,
                      const float *w) {
    (void)p;
    const size_t D = (size_t)m->cfg.D;
    double s = 0;
    /* bf16: the products read a bf16 copy of these weights */
    (void)genbo__net_acts_load_weights(&m->cfg, &v->acts, w);
    for (size_t a = 0; a < v->n; a += GENBO__GD_VAL_CHUNK) {
        int B = (int)(v->n - a < GENBO__GD_VAL_CHUNK ? v->n - a : GENBO__GD_VAL_CHUNK);
        genbo__net_forward(&m->cfg, w, &v->acts, B, v->xt + a * D, v->lt + a,
                   v->conditional ? v->y + a : NULL, v->conditional ? v->nul + a : NULL);
        const float *out = v->acts.out, *e = v->eps + a * D;
        for (size_t k = 0; k < (size_t)B * D; k++) {
            double d = (double)out[k] - e[k];
            s += d * d;
        }
    }
    return s / ((double)v->n * (double)D);
}
