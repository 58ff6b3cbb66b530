/* model.c - defaults, parameter checks, allocation and the score API of
 * the diffusion model. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fields.h"
#include "diffusion/diffusion_internal.h"
#include "diffusion/mm.h"

char *openblas_get_corename(void);

int genbo_precision_resolve(genbo_precision p) {
    switch (p) {
    case GENBO_PRECISION_AUTO:
        return genbo__mm_bf16_available() ? GENBO_PRECISION_BF16 : GENBO_PRECISION_FP32;
    case GENBO_PRECISION_FP32: return GENBO_PRECISION_FP32;
    case GENBO_PRECISION_BF16:
        if (genbo__mm_bf16_available()) return GENBO_PRECISION_BF16;
        genbo__fail(GENBO_EINVAL,
                    "precision bf16: this CPU has no native bf16 matrix products (oneDNN ISA: "
                    "%s; needs AVX512-BF16 or AMX); use precision auto or fp32",
                    genbo__mm_isa_name());
        return -1;
    }
    genbo__fail(GENBO_EINVAL, "unknown precision %d (auto, fp32 or bf16)", (int)p);
    return -1;
}

const char *genbo_precision_name(genbo_precision p) {
    return p == GENBO_PRECISION_FP32 ? "fp32" : p == GENBO_PRECISION_BF16 ? "bf16" : "auto";
}

genbo_precision genbo_diffusion_precision(const genbo_diffusion *m) {
    return m ? m->precision : GENBO_PRECISION_AUTO;
}

const char *genbo_diffusion_describe(const genbo_diffusion *m) {
    static _Thread_local char buf[160];
    if (!m) return "";
    if (m->precision == GENBO_PRECISION_BF16)
        snprintf(buf, sizeof buf, "D %d, width %d, depth %d, bf16 (oneDNN %s)", m->cfg.D,
                 m->cfg.width, m->cfg.depth, genbo__mm_isa_name());
    else
        snprintf(buf, sizeof buf, "D %d, width %d, depth %d, fp32 (OpenBLAS %s)", m->cfg.D,
                 m->cfg.width, m->cfg.depth, openblas_get_corename());
    return buf;
}

int genbo__gd_acts_precision(const genbo_diffusion *m, genbo__net_acts *a, genbo_precision precision,
                      const float *params) {
    /* auto = the model's precision, or fp32 where this CPU has no bf16
     * (a bf16 model sampled after the oneDNN ISA was capped) */
    if (precision == GENBO_PRECISION_AUTO)
        precision = m->precision == GENBO_PRECISION_BF16 && genbo__mm_bf16_available()
                        ? GENBO_PRECISION_BF16
                        : GENBO_PRECISION_FP32;
    int r = genbo_precision_resolve(precision);
    if (r < 0) return GENBO_EINVAL;
    if (r != GENBO_PRECISION_BF16) return GENBO_OK;
    int rc = genbo__net_acts_use_bf16(&m->cfg, a);
    return rc ? rc : genbo__net_acts_load_weights(&m->cfg, a, params);
}

void genbo_diffusion_params_default(genbo_diffusion_params *p) {
    memset(p, 0, sizeof *p);
    p->width = 0; /* auto */
    p->depth = 3;
    p->t_embed = 64;
    p->y_embed = 64;
    p->schedule = GENBO_SCHEDULE_OU;
    p->t0 = 1e-3;
    p->T = 10.0;
    p->time_sampling = GENBO_TIME_LOG_UNIFORM;
    p->steps = GENBO_STEPS_AUTO;
    p->batch = 0; /* auto */
    p->lr = 2e-3;
    p->weight_decay = 0.0;
    p->clip = 1.0;
    p->warmup = 0.02;
    p->ema = 0.999;
    p->p_uncond = 0.1;
    p->seed = 1;
    p->val_fraction = 0.1;
    p->eval_every = 250;
    p->patience = 6;
    p->tol = 0.005;
    p->max_steps = 50000;
    p->max_seconds = 0;
    p->checkpoint_seconds = 30;
}

static int pow2_at_least(double x) {
    int k = 1;
    while (k < x && k < (1 << 20)) k *= 2;
    return k;
}

/* Automatic sizes, from the dimension and the rows (docs/diffusion.md):
 * width: the next power of two >= 4 D, within [64, 512] - the hidden layer
 *   must carry the input (x, and the embeddings) with room to spare; 4 D
 *   gives the papers' 256 at D = 64.
 * batch: the largest power of two <= n_train / 16, within [32, 256] - the
 *   measured fact (docs/diffusion.md) is that more steps of 256 beat fewer
 *   of 512 for the same compute, and a small pool should still see many
 *   distinct minibatches per epoch. */
void genbo_diffusion_params_resolve(genbo_diffusion_params *p, size_t n, size_t D) {
    if (!p) return;
    if (p->width == 0) {
        int w = pow2_at_least(4.0 * (double)D);
        p->width = w < 64 ? 64 : w > 512 ? 512 : w;
    }
    if (p->batch == 0) {
        double n_train = (double)n * (1.0 - p->val_fraction);
        int b = 32;
        while (b < 256 && 2.0 * b <= n_train / 16.0) b *= 2;
        p->batch = b;
    }
}

void genbo_sample_params_default(genbo_sample_params *p) {
    memset(p, 0, sizeof *p);
    p->sampler = GENBO_SAMPLER_ANCESTRAL;
    p->steps = 200;
    p->conditional = 1;
    p->cfg_weight = 0.0;
    p->grad_mode = GENBO_GRAD_NONE;
    p->grad_eta = 0.0;
    p->seed = 1;
}

/* The range of every settable field: the check below and the study file's
 * [diffusion] keys (studies/config.c) both read this table. */
#define DF(name, type, lo, hi, flags, words) \
    {#name, GENBO__FIELD_##type, offsetof(genbo_diffusion_params, name), lo, hi, flags, words}
static const genbo__field diffusion_rows[] = {
    DF(width, INT, 1, 65536, GENBO__FIELD_AUTO, NULL),
    DF(depth, INT, 0, GENBO__NET_MAX_DEPTH, 0, NULL),
    DF(t_embed, INT, 2, 4096, GENBO__FIELD_EVEN, NULL),
    DF(y_embed, INT, 2, 4096, GENBO__FIELD_EVEN, NULL),
    DF(schedule, ENUM, 0, 0, 0, "ou|linear_vp"),
    DF(t0, DOUBLE, 0, GENBO__FIELD_NOMAX, GENBO__FIELD_MIN_OPEN, NULL),
    DF(T, DOUBLE, 0, GENBO__FIELD_NOMAX, GENBO__FIELD_MIN_OPEN, NULL),
    DF(time_sampling, ENUM, 0, 0, 0, "log_uniform|uniform"),
    DF(steps, LONG, 1, 1e9, GENBO__FIELD_AUTO, NULL),
    DF(batch, INT, 1, 1 << 20, GENBO__FIELD_AUTO, NULL),
    DF(lr, DOUBLE, 0, 10, GENBO__FIELD_MIN_OPEN, NULL),
    DF(weight_decay, DOUBLE, 0, 10, 0, NULL),
    DF(clip, DOUBLE, 0, GENBO__FIELD_NOMAX, 0, NULL),
    DF(warmup, DOUBLE, 0, 1, GENBO__FIELD_MAX_OPEN, NULL),
    DF(ema, DOUBLE, 0, 1, GENBO__FIELD_MAX_OPEN, NULL),
    DF(p_uncond, DOUBLE, 0, 1, 0, NULL),
    DF(seed, U64, 0, 0, 0, NULL),
    DF(val_fraction, DOUBLE, 0, 1, GENBO__FIELD_MAX_OPEN, NULL),
    DF(eval_every, LONG, 1, 1e9, 0, NULL),
    DF(patience, INT, 1, 100000, 0, NULL),
    DF(tol, DOUBLE, 0, 1, GENBO__FIELD_MAX_OPEN, NULL),
    DF(max_steps, LONG, 1, 1e9, 0, NULL),
    DF(max_seconds, DOUBLE, 0, GENBO__FIELD_NOMAX, 0, NULL),
    DF(checkpoint_seconds, DOUBLE, 0, GENBO__FIELD_NOMAX, 0, NULL),
    DF(precision, ENUM, 0, 0, 0, "auto|fp32|bf16"),
};
#undef DF
const genbo__fields genbo__diffusion_fields = GENBO__FIELDS("diffusion", diffusion_rows);

int genbo__gd_check_params(const genbo_diffusion_params *p) {
    if (!p) return genbo__fail(GENBO_EINVAL, "diffusion: params is NULL");
    const genbo__fields *t = &genbo__diffusion_fields;
    for (size_t i = 0; i < t->n; i++) {
        /* max_steps only bounds steps = auto */
        if (!strcmp(t->rows[i].name, "max_steps") && p->steps != GENBO_STEPS_AUTO) continue;
        int rc = genbo__field_check(t, &t->rows[i], p);
        if (rc) return rc;
    }
    if (!(p->T > p->t0))
        return genbo__fail(GENBO_EINVAL, "diffusion: need 0 < t0 < T, got t0=%g T=%g", p->t0,
                           p->T);
    if (p->resume && !p->resume_len)
        return genbo__fail(GENBO_EINVAL, "diffusion: resume given with resume_len = 0");
    if (genbo_precision_resolve(p->precision) < 0)
        return genbo__fail_prefix(GENBO_EINVAL, "diffusion");
    return GENBO_OK;
}

int genbo__gd_model_alloc(const genbo__net_config *c, genbo_diffusion **out) {
    genbo_diffusion *m = genbo__calloc(1, sizeof *m);
    if (!m) return GENBO_ENOMEM;
    m->cfg = *c;
    genbo__net_layout l;
    genbo__net_layout_init(c, &l);
    m->n_params = l.total;
    m->x_mean = genbo__calloc((size_t)c->D, sizeof(double));
    m->x_sd = genbo__calloc((size_t)c->D, sizeof(double));
    m->params = genbo__calloc(l.total, sizeof(float));
    int r = genbo_precision_resolve(GENBO_PRECISION_AUTO);
    m->precision = r < 0 ? GENBO_PRECISION_FP32 : (genbo_precision)r;
    if (!m->x_mean || !m->x_sd || !m->params) {
        genbo_diffusion_free(m);
        return GENBO_ENOMEM;
    }
    *out = m;
    return GENBO_OK;
}

void genbo_diffusion_free(genbo_diffusion *m) {
    if (!m) return;
    free(m->x_mean);
    free(m->x_sd);
    free(m->params);
    free(m);
}

size_t genbo_diffusion_dim(const genbo_diffusion *m) { return m ? (size_t)m->cfg.D : 0; }

/* s(x, y, t) in original coordinates. With x_t = mean + sd * z_t (the
 * process runs on standardised z), log p_x = log p_z - sum log sd, so
 * s_x = s_z / sd and s_z = -eps_hat / sigma_t. */
int genbo_diffusion_score(const genbo_diffusion *m, size_t n, const double *X,
                          const double *y, double t, double *score) {
    if (!m || (!X && n) || (!score && n))
        return genbo__fail(GENBO_EINVAL, "diffusion_score: NULL argument");
    if (!(t > 0) || !isfinite(t))
        return genbo__fail(GENBO_EINVAL, "diffusion_score: t must be > 0, got %g", t);
    if (y && !m->conditional)
        return genbo__fail(GENBO_ESTATE,
                           "diffusion_score: model was trained without rewards; pass y = NULL");
    const int D = m->cfg.D, chunk = 512;
    genbo__net_acts a;
    int rc = genbo__net_acts_alloc(&m->cfg, chunk, 0, &a);
    if (rc) return rc;
    if ((rc = genbo__gd_acts_precision(m, &a, GENBO_PRECISION_AUTO, m->params))) {
        genbo__net_acts_free(&a);
        return rc;
    }
    float *buf = genbo__malloc(((size_t)chunk * D + 2 * (size_t)chunk) * sizeof(float));
    if (!buf) {
        genbo__net_acts_free(&a);
        return GENBO_ENOMEM;
    }
    float *xz = buf, *lt = xz + (size_t)chunk * D, *yz = lt + chunk;
    genbo__sched_coef c = genbo__sched_schedule(m->schedule, m->T, t);
    for (size_t s = 0; s < n; s += chunk) {
        int B = (int)(n - s < (size_t)chunk ? n - s : (size_t)chunk);
        for (int i = 0; i < B; i++) {
            for (int j = 0; j < D; j++)
                xz[(size_t)i * D + j] =
                    (float)((X[(s + i) * D + j] - m->x_mean[j]) / m->x_sd[j]);
            lt[i] = (float)log(t);
            if (y) yz[i] = (float)((y[s + i] - m->y_mean) / m->y_sd);
        }
        if ((rc = genbo__net_forward(&m->cfg, m->params, &a, B, xz, lt, y ? yz : NULL, NULL))) break;
        for (int i = 0; i < B; i++)
            for (int j = 0; j < D; j++)
                score[(s + i) * D + j] =
                    -(double)a.out[(size_t)i * D + j] / (c.sigma * m->x_sd[j]);
    }
    free(buf);
    genbo__net_acts_free(&a);
    return rc;
}
