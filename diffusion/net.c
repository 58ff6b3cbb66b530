/* net.c - forward and backward passes of the score network (see net.h).
 * Matrix products go through cblas_sgemm on row-major arrays: a batch
 * times a weight matrix is X W^T (NoTrans, Trans), a weight gradient is
 * dY^T X (Trans, NoTrans), an input gradient dY W (NoTrans, NoTrans):
 * no copies, large shapes. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "diffusion/kernels.h"
#include "diffusion/net.h"
#include "diffusion/prof.h"

/* Frequencies of the sinusoidal embeddings, geometric between a low one
 * (a near-linear feature over the whole range) and a high one (fine
 * resolution). log t spans [log 1e-3, log 10] ~ 9.2; the standardised
 * reward spans a few units. */
#define T_FREQ_MIN 0.05f
#define T_FREQ_MAX 12.0f
#define Y_FREQ_MIN 0.05f
#define Y_FREQ_MAX 6.0f

void genbo__net_layout_init(const genbo__net_config *c, genbo__net_layout *l) {
    size_t W = (size_t)c->width, D = (size_t)c->D;
    l->din = c->D + c->t_embed + c->y_embed;
    size_t off = 0;
    l->w_in = off;
    off += W * (size_t)l->din;
    l->b_in = off;
    off += W;
    l->null_y = off;
    off += (size_t)c->y_embed;
    l->blocks = off;
    l->block_size = 2 * W * W + 2 * W;
    off += (size_t)c->depth * l->block_size;
    l->w_out = off;
    off += D * W;
    l->b_out = off;
    off += D;
    l->total = off;
}

/* Pointers of block b's tensors. */
static inline const float *blk(const genbo__net_layout *l, const float *p, int b) {
    return p + l->blocks + (size_t)b * l->block_size;
}

void *genbo__net_alloc64(size_t bytes) {
    size_t sz = (bytes + 63) / 64 * 64;
    void *p = aligned_alloc(64, sz ? sz : 64);
    if (!p) genbo__fail(GENBO_ENOMEM, "out of memory allocating %zu bytes", bytes);
    return p;
}

/* n floats rounded up to whole cache lines (16 floats) */
static size_t lines(size_t n) { return (n + 15) / 16 * 16; }

int genbo__net_acts_alloc(const genbo__net_config *c, int max_rows, int store, genbo__net_acts *a) {
    memset(a, 0, sizeof *a);
    genbo__net_layout l;
    genbo__net_layout_init(c, &l);
    size_t R = (size_t)max_rows, W = (size_t)c->width, D = (size_t)c->D;
    size_t hl = store ? (size_t)c->depth + 1 : 1, zl = store ? (size_t)c->depth : 1;
    if (zl == 0) zl = 1;
    /* every buffer starts on a cache line: the bf16 products read and
     * write whole lines (see genbo__net_alloc64) */
    const size_t RW = lines(R * W), RI = lines(R * (size_t)l.din), RD = lines(R * D);
    size_t n = RI                /* u */
               + 2 * hl * RW     /* h, a */
               + 2 * zl * RW     /* z, a2 */
               + RD;             /* out */
    if (store) n += 3 * RW + RI; /* dh, da, dz, du */
    a->mem = genbo__net_alloc64(n * sizeof(float));
    if (!a->mem) return GENBO_ENOMEM;
    a->max_rows = max_rows;
    a->store = store;
    float *p = a->mem;
    a->u = p, p += RI;
    a->h = p, p += hl * RW;
    a->a = p, p += hl * RW;
    a->z = p, p += zl * RW;
    a->a2 = p, p += zl * RW;
    a->out = p, p += RD;
    if (store) {
        a->dh = p, p += RW;
        a->da = p, p += RW;
        a->dz = p, p += RW;
        a->du = p, p += RI;
    }
    return GENBO_OK;
}

void genbo__net_acts_free(genbo__net_acts *a) {
    genbo__net_bf16_free(a->bf);
    free(a->mem);
    memset(a, 0, sizeof *a);
}

int genbo__net_acts_use_bf16(const genbo__net_config *c, genbo__net_acts *a) {
    if (a->bf) return GENBO_OK;
    return genbo__net_bf16_new(c, a->max_rows, a->store, &a->bf);
}

int genbo__net_acts_load_weights(const genbo__net_config *c, genbo__net_acts *a, const float *params) {
    return a->bf ? genbo__net_bf16_load(c, a->bf, params) : GENBO_OK;
}

int genbo__net_acts_load_weights_range(const genbo__net_config *c, genbo__net_acts *a,
                                       const float *params, size_t lo, size_t hi) {
    return a->bf ? genbo__net_bf16_load_range(c, a->bf, params, lo, hi) : GENBO_OK;
}

int genbo__net_weight_segments(const genbo__net_config *c, size_t *bounds) {
    genbo__net_layout l;
    genbo__net_layout_init(c, &l);
    const size_t W = (size_t)c->width;
    int n = 0;
    bounds[n++] = 0; /* w_in, b_in, null_y */
    for (int b = 0; b < c->depth; b++) {
        size_t o = l.blocks + (size_t)b * l.block_size;
        bounds[n++] = o;             /* W1, b1 */
        bounds[n++] = o + W * W + W; /* W2, b2 */
    }
    bounds[n++] = l.w_out; /* w_out, b_out */
    bounds[n] = l.total;
    return n;
}

void genbo__net_segment_matrix(const genbo__net_config *c, int k, int *rows, int *cols) {
    /* segments: w_in, then W1 and W2 of each block, then w_out */
    *rows = k <= 2 * c->depth ? c->width : c->D;
    *cols = k == 0 ? c->D + c->t_embed + c->y_embed : c->width;
}

int genbo__net_acts_load_weight_rows(const genbo__net_config *c, genbo__net_acts *a, const float *params,
                                     size_t off, int r0, int r1) {
    return a->bf ? genbo__net_bf16_load_rows(c, a->bf, params, off, r0, r1) : 0;
}

const uint16_t *genbo__net_acts_weight_grad16(const genbo__net_config *c, const genbo__net_acts *a, int k) {
    (void)c;
    return a->bf && a->wgrad16 ? genbo__net_bf16_weight_grad16(a->bf, k) : NULL;
}

static void fill_normal(genbo__rng *rng, float *w, size_t n, double sd) {
    for (size_t i = 0; i < n; i++) w[i] = (float)(sd * genbo__rng_normal(rng));
}

void genbo__net_init_params(const genbo__net_config *c, float *params, genbo__rng *rng) {
    genbo__net_layout l;
    genbo__net_layout_init(c, &l);
    size_t W = (size_t)c->width;
    memset(params, 0, l.total * sizeof(float));
    fill_normal(rng, params + l.w_in, W * (size_t)l.din, 1.0 / sqrt((double)l.din));
    fill_normal(rng, params + l.null_y, (size_t)c->y_embed, 0.5);
    /* Residual branches start small so the stack begins near the identity
     * and stays well conditioned at any depth. */
    for (int b = 0; b < c->depth; b++) {
        float *p = params + l.blocks + (size_t)b * l.block_size;
        fill_normal(rng, p, W * W, sqrt(2.0 / (double)W));
        fill_normal(rng, p + W * W + W, W * W, 0.2 / sqrt((double)W * c->depth));
    }
    fill_normal(rng, params + l.w_out, (size_t)c->D * W, 1.0 / sqrt((double)W));
}

/* The frequencies f_k of an embedding of size E (E / 2 of them),
 * geometric from fmin to fmax. */
static void embed_freqs(int E, float fmin, float fmax, float *f) {
    int K = E / 2;
    for (int k = 0; k < K; k++)
        f[k] = K > 1 ? fmin * powf(fmax / fmin, (float)k / (float)(K - 1)) : fmin;
}

/* Sinusoidal embedding of s into out[0..E): sin(f_k s), cos(f_k s). */
static void embed(float s, int E, const float *f, float *out) {
    int K = E / 2;
    float arg[2048]; /* E / 2 <= 2048 (model.c) */
    for (int k = 0; k < K; k++) arg[k] = f[k] * s;
    genbo__k_sincos(arg, (size_t)K, out, out + K);
}

/* Build the input rows u = [x ; phi(log t) ; e_y]. Rows sharing t or y with
 * the previous row (every row while sampling) copy its embedding instead of
 * recomputing sines. The frequencies are computed once per call (a powf
 * each, which per row and frequency was most of a training step's input
 * rows: 1,024 rows x 64 of them). */
static void build_input(const genbo__net_config *c, const float *params, const genbo__net_layout *l, float *u,
                        int B, const float *x, const float *log_t, const float *y,
                        const uint8_t *y_null) {
    int D = c->D, Et = c->t_embed, Ey = c->y_embed, din = l->din;
    float fth[2048], fyh[2048]; /* E / 2 frequencies: t_embed, y_embed <= 4096 (model.c) */
    embed_freqs(Et, T_FREQ_MIN, T_FREQ_MAX, fth);
    embed_freqs(Ey, Y_FREQ_MIN, Y_FREQ_MAX, fyh);
    for (int i = 0; i < B; i++) {
        float *r = u + (size_t)i * din;
        memcpy(r, x + (size_t)i * D, (size_t)D * sizeof(float));
        if (i > 0 && log_t[i] == log_t[i - 1])
            memcpy(r + D, r - din + D, (size_t)Et * sizeof(float));
        else
            embed(log_t[i], Et, fth, r + D);
        int null_i = !y || (y_null && y_null[i]);
        float *e = r + D + Et;
        if (null_i) {
            memcpy(e, params + l->null_y, (size_t)Ey * sizeof(float));
        } else if (i > 0 && !(y_null && y_null[i - 1]) && y[i] == y[i - 1]) {
            memcpy(e, e - din, (size_t)Ey * sizeof(float));
        } else {
            embed(y[i], Ey, fyh, e);
        }
    }
}

/* h_0 = u W_in^T + b_in over B rows (fp32). */
static void input_layer(const genbo__net_config *c, const float *params, const genbo__net_layout *l,
                        genbo__net_acts *a, int B) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, c->width, l->din, 1.0f, a->u, l->din,
                params + l->w_in, l->din, 0.0f, a->h, c->width);
    genbo__k_add_bias(a->h, params + l->b_in, B, c->width);
}

/* The residual blocks and the output layer after h_0 (fp32). */
static void trunk(const genbo__net_config *c, const float *params, const genbo__net_layout *lp,
                  genbo__net_acts *a, int B) {
    const genbo__net_layout l = *lp;
    const int W = c->width, D = c->D, L = c->depth;
    const size_t BW = (size_t)B * W, LS = lines(BW); /* elements, layer stride */
    float *h = a->h;
    for (int b = 0; b < L; b++) {
        const float *w1 = blk(&l, params, b), *b1 = w1 + (size_t)W * W;
        const float *w2 = b1 + W, *b2 = w2 + (size_t)W * W;
        float *act = a->a + (a->store ? b * LS : 0);
        float *z = a->z + (a->store ? b * LS : 0);
        float *a2 = a->a2 + (a->store ? b * LS : 0);
        float *hn = a->store ? h + LS : h;
        genbo__net_silu(h, act, BW);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, W, W, 1.0f, act, W, w1, W, 0.0f,
                    z, W);
        genbo__k_bias_silu(z, b1, a2, B, W);
        /* residual: h_next = h + b2, then += a2 W2^T inside the product */
        if (a->store)
            genbo__k_copy_add_bias(hn, h, b2, B, W);
        else
            genbo__k_add_bias(hn, b2, B, W);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, W, W, 1.0f, a2, W, w2, W, 1.0f,
                    hn, W);
        h = hn;
    }
    float *act = a->a + (a->store ? (size_t)L * LS : 0);
    genbo__net_silu(h, act, BW);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, D, W, 1.0f, act, W,
                params + l.w_out, W, 0.0f, a->out, D);
    genbo__k_add_bias(a->out, params + l.b_out, B, D);
}

static int forward(const genbo__net_config *c, const float *params, genbo__net_acts *a, int B, const float *x,
                   const float *log_t, const float *y, const uint8_t *y_null) {
    genbo__net_layout l;
    genbo__net_layout_init(c, &l);
    GENBO__PROF_START();
    build_input(c, params, &l, a->u, B, x, log_t, y, y_null);
    if (a->store) GENBO__PROF(GENBO__PROF_INPUT);
    if (a->bf) return genbo__net_bf16_forward(c, params, a, B);
    input_layer(c, params, &l, a, B);
    trunk(c, params, &l, a, B);
    return GENBO_OK;
}

/* The embedding part of u for a step's two kinds of rows, emb (2 x (Et +
 * Ey)): [phi_t(log t) ; e_y] with e_y = phi_y(*y) (or null when y ==
 * NULL), and [phi_t(log t) ; null]. */
static void step_embeddings(const genbo__net_config *c, const float *params, const genbo__net_layout *l,
                            float log_t, const float *y, float *emb) {
    const int Et = c->t_embed, Ey = c->y_embed, E = Et + Ey;
    float f[2048]; /* E / 2 frequencies: t_embed, y_embed <= 4096 (model.c) */
    embed_freqs(Et, T_FREQ_MIN, T_FREQ_MAX, f);
    embed(log_t, Et, f, emb);
    memcpy(emb + E, emb, (size_t)Et * sizeof(float));
    memcpy(emb + E + Et, params + l->null_y, (size_t)Ey * sizeof(float));
    if (y) {
        embed_freqs(Ey, Y_FREQ_MIN, Y_FREQ_MAX, f);
        embed(*y, Ey, f, emb + Et);
    } else {
        memcpy(emb + Et, params + l->null_y, (size_t)Ey * sizeof(float));
    }
}

/* cvec (2 x W) = emb W_e^T + b_in, W_e the embedding columns of W_in
 * (W x E at column D, stride Din): one 2 x W x E product per step. */
static void step_bias(const genbo__net_config *c, const float *params, const genbo__net_layout *l,
                      const float *emb, float *cvec) {
    const int W = c->width, E = c->t_embed + c->y_embed;
    for (int r = 0; r < 2; r++) memcpy(cvec + (size_t)r * W, params + l->b_in, (size_t)W * sizeof(float));
    if (E)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 2, W, E, 1.0f, emb, E,
                    params + l->w_in + c->D, l->din, 1.0f, cvec, W);
}

/* u's rows written out for a step (rows = n or 2n; row i >= n is the null
 * one), for the passes that keep activations. */
static void step_rows(const genbo__net_config *c, const genbo__net_layout *l, float *u, int n, int rows,
                      const float *x, const float *emb) {
    const int D = c->D, E = c->t_embed + c->y_embed;
    for (int i = 0; i < rows; i++) {
        float *r = u + (size_t)i * l->din;
        memcpy(r, x + (size_t)(i % n) * D, (size_t)D * sizeof(float));
        memcpy(r + D, emb + (i < n ? 0 : E), (size_t)E * sizeof(float));
    }
}

static int forward_step(const genbo__net_config *c, const float *params, genbo__net_acts *a, int n,
                        const float *x, float log_t, const float *y, int pair) {
    genbo__net_layout l;
    genbo__net_layout_init(c, &l);
    const int W = c->width, D = c->D, rows = pair ? 2 * n : n;
    const int E = c->t_embed + c->y_embed;
    /* a few KB a step: nothing next to a pass */
    float *emb = genbo__malloc(2 * ((size_t)E + W) * sizeof(float)), *cvec = emb + 2 * E;
    int rc = GENBO_ENOMEM;
    if (!emb) return rc;
    step_embeddings(c, params, &l, log_t, y, emb);
    rc = GENBO_OK;
    /* rows built out where the backward pass reads u's rows, and for a
     * bf16 CFG pass whose 2n rows fit one tile: its halves would run as two
     * tiles, twice the products of a few rows each, and such a pass is
     * latency-bound (measured, one thread: n = 8 took 0.62 against 0.34
     * ms, n = 64 0.91 against 0.77; n = 1,024 is 2-8% faster split) */
    if (a->store || (a->bf && pair && 2 * n <= genbo__net_bf16_tile_rows(c))) {
        step_rows(c, &l, a->u, n, rows, x, emb);
        if (a->bf) {
            rc = genbo__net_bf16_forward(c, params, a, rows);
            goto done;
        }
        input_layer(c, params, &l, a, rows);
    } else {
        step_bias(c, params, &l, emb, cvec);
        if (a->bf) {
            rc = genbo__net_bf16_forward_step(c, params, a, n, x, cvec, pair);
            goto done;
        }
        /* h_0 = x W_x^T (n x W x D), then + cvec[1] into the null half, +
         * cvec[0] in place */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, W, D, 1.0f, x, D, params + l.w_in,
                    l.din, 0.0f, a->h, W);
        if (pair) genbo__k_copy_add_bias(a->h + (size_t)n * W, a->h, cvec + W, (size_t)n, (size_t)W);
        genbo__k_add_bias(a->h, cvec, (size_t)n, (size_t)W);
    }
    trunk(c, params, &l, a, rows);
done:
    free(emb);
    return rc;
}

static int backward(const genbo__net_config *c, const float *params, float *grads, genbo__net_acts *a, int B,
                    const float *dout, const float *y, const uint8_t *y_null, float *dx) {
    genbo__net_layout l;
    genbo__net_layout_init(c, &l);
    const int W = c->width, D = c->D, L = c->depth, din = l.din;
    const size_t BW = (size_t)B * W, LS = lines(BW); /* elements, layer stride */
    float *dh = a->dh, *da = a->da, *dz = a->dz;
    const int Ey = c->y_embed, yoff = c->D + c->t_embed;
    if (a->bf) {
        int rc = genbo__net_bf16_backward(c, grads, a, B, dout, dx || (grads && Ey > 0));
        if (rc) return rc;
        goto input_grads;
    }

    /* output layer: out = silu(h_L) W_out^T + b_out */
    const float *hL = a->h + (size_t)L * LS, *aL = a->a + (size_t)L * LS;
    if (grads) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, W, B, 1.0f, dout, D, aL, W, 0.0f,
                    grads + l.w_out, W);
        genbo__k_colsum(dout, B, D, grads + l.b_out);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, W, D, 1.0f, dout, D,
                params + l.w_out, W, 0.0f, da, W);
    genbo__k_silu_grad(hL, da, dh, BW);

    for (int b = L - 1; b >= 0; b--) {
        const float *w1 = blk(&l, params, b), *w2 = w1 + (size_t)W * W + W;
        const float *hb = a->h + (size_t)b * LS, *act = a->a + (size_t)b * LS;
        const float *z = a->z + (size_t)b * LS, *a2 = a->a2 + (size_t)b * LS;
        float *g1 = grads ? grads + l.blocks + (size_t)b * l.block_size : NULL;
        /* h_{b+1} = h_b + a2 W2^T + b2 */
        if (g1) {
            float *gw2 = g1 + (size_t)W * W + W, *gb2 = gw2 + (size_t)W * W;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, W, W, B, 1.0f, dh, W, a2, W,
                        0.0f, gw2, W);
            genbo__k_colsum(dh, B, W, gb2);
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, W, W, 1.0f, dh, W, w2, W, 0.0f,
                    da, W);
        genbo__k_silu_grad(z, da, dz, BW); /* through a2 = silu(z) */
        if (g1) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, W, W, B, 1.0f, dz, W, act, W,
                        0.0f, g1, W);
            genbo__k_colsum(dz, B, W, g1 + (size_t)W * W);
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, W, W, 1.0f, dz, W, w1, W, 0.0f,
                    da, W);
        genbo__k_silu_grad_add(hb, da, dh, dh, BW); /* residual + branch through silu(h_b) */
    }

    /* input layer: h0 = u W_in^T + b_in */
    if (grads) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, W, din, B, 1.0f, dh, W, a->u, din,
                    0.0f, grads + l.w_in, din);
        genbo__k_colsum(dh, B, W, grads + l.b_in);
    }
    if (dx) {
        /* full input gradient; x is its first D columns */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, din, W, 1.0f, dh, W,
                    params + l.w_in, din, 0.0f, a->du, din);
    } else if (grads && Ey > 0) {
        /* only the reward-embedding columns, for the null vector's gradient */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, Ey, W, 1.0f, dh, W,
                    params + l.w_in + yoff, din, 0.0f, a->du + yoff, din);
    }
input_grads:
    if (dx)
        for (int i = 0; i < B; i++)
            memcpy(dx + (size_t)i * D, a->du + (size_t)i * din, (size_t)D * sizeof(float));
    if (grads) {
        float *gn = grads + l.null_y;
        for (int k = 0; k < Ey; k++) gn[k] = 0.0f;
        for (int i = 0; i < B; i++) {
            if (y && !(y_null && y_null[i])) continue; /* conditional row */
            const float *r = a->du + (size_t)i * din + yoff;
            for (int k = 0; k < Ey; k++) gn[k] += r[k];
        }
    }
    return GENBO_OK;
}

/* Denormal floats (below 1.2e-38) take a slow microcode path on x86:
 * measured, an untrained model's look-ahead sampling ran 5-10x slower in
 * fp32 (and 3x in bf16's fp32 parts) than with them flushed to zero. The
 * passes therefore run with FTZ and DAZ set in the calling thread (and
 * the caller's mode restored): values that small are zero for the
 * network, and the results stay deterministic. */
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
static unsigned flush_denormals(void) {
    unsigned old = _mm_getcsr();
    _mm_setcsr(old | 0x8040u); /* FTZ (bit 15) | DAZ (bit 6) */
    return old;
}
static void restore_fp(unsigned old) { _mm_setcsr(old); }
#else
static unsigned flush_denormals(void) { return 0; }
static void restore_fp(unsigned old) { (void)old; }
#endif

int genbo__net_forward(const genbo__net_config *c, const float *params, genbo__net_acts *a, int B, const float *x,
               const float *log_t, const float *y, const uint8_t *y_null) {
    unsigned fp = flush_denormals();
    int rc = forward(c, params, a, B, x, log_t, y, y_null);
    restore_fp(fp);
    return rc;
}

int genbo__net_forward_step(const genbo__net_config *c, const float *params, genbo__net_acts *a, int n,
                            const float *x, float log_t, const float *y, int pair) {
    unsigned fp = flush_denormals();
    int rc = forward_step(c, params, a, n, x, log_t, y, pair);
    restore_fp(fp);
    return rc;
}

int genbo__net_backward(const genbo__net_config *c, const float *params, float *grads, genbo__net_acts *a, int B,
                const float *dout, const float *y, const uint8_t *y_null, float *dx) {
    if (grads && a->no_param_grads)
        return genbo__fail(GENBO_EINVAL, "diffusion: parameter gradients from a sampling buffer "
                                         "(no_param_grads)");
    unsigned fp = flush_denormals();
    int rc = backward(c, params, grads, a, B, dout, y, y_null, dx);
    restore_fp(fp);
    return rc;
}

double genbo__net_forward_flops_per_row(const genbo__net_config *c) {
    double W = c->width, din = c->D + c->t_embed + c->y_embed;
    return 2.0 * (din * W + 2.0 * c->depth * W * W + W * c->D);
}
