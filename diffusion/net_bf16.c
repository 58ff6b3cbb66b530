/* net_bf16.c - the score network's passes with bf16 matrix products
 * (mixed precision; see net.h for the network and mm.h for the back end).
 *
 * What stays fp32: the master weights, the residual stream h and its
 * gradient dh, every bias and its gradient, the loss and the optimiser's
 * state and arithmetic.
 * What is bf16: the operands of the products - silu(h), silu(z), the
 * network input, the back-propagated gradients dh, dz, dout and a copy of
 * the weights - and oneDNN accumulates their products in fp32; in
 * training also the pre-activation z, the input-gradient products'
 * results da and the weight gradients (written in bf16 by their products,
 * as autocast's matmuls do; the optimiser widens each gradient as it
 * reads it) and silu'(h), silu'(z), kept from the forward pass so that the
 * backward pass reads one bf16 value per unit instead of x (fp32) and its
 * sigmoid and needs no exp. A product's relative error is ~2^-9 per
 * operand, averaged over K terms. Counted at batch 1024, width 512, a
 * residual block's kernels and products move 36 MB instead of 46 (no
 * fp32 z, no h read back, bf16 da).
 *
 * Fusions (measured on AMX, docs/diffusion.md): the biases are the
 * matmul's bias argument; the residual h + W2 a2 + b2 is the matmul's sum
 * post-op into h (inference, in place) or into h_l+1 = h_l + b2, written
 * by the kernel that rounds silu(h_l) (training keeps h_l; a binary-add
 * post-op ran at half the speed); z is written in bf16 by its product
 * (oneDNN's swish post-op cost more than a SiLU kernel after it); the
 * bias gradients are column sums taken inside the SiLU' kernels. The
 * weight-gradient products dW = dY^T X read both operands in layouts the
 * matrix units load without a copy (dY^T row-major, X in oneDNN's
 * blocked layout), written next to dY and X by the kernels that produce
 * them (see wg_plan). Weights are re-packed into oneDNN's blocked layout by
 * mm.c's own packer after each optimiser step. Plans are built once per
 * row count (a sampler sees at most two: full chunks and the last one)
 * and kept in a small cache. Every operand is 64-byte aligned. */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "diffusion/kernels.h"
#include "diffusion/mm.h"
#include "diffusion/net.h"
#include "diffusion/prof.h"

enum { PLAN_CACHE = 3 };
/* phase timers (prof.h) for the passes that keep activations (training) */
#define P_(phase)                                  \
    do {                                           \
        if (a->store) GENBO__PROF(phase);          \
    } while (0)
/* Multiply-adds of a W x W product below which a pass runs serially
 * (B < 256 rows at width 256, < 64 at width 512): below it a product
 * takes ~100 us or less on one core, and a second thread gains less than
 * its OpenMP wake-ups and spin-waits cost. Measured (an ask of 64 designs,
 * width 256, 2 threads on a loaded machine): 1.4 s of CPU in parallel,
 * 0.06 s serial. */
#define SERIAL_MACS (double)(1 << 24)

typedef struct plan_set {
    int rows;
    genbo__mm_plan *in, *z, *res, *out;                            /* forward */
    genbo__mm_plan *in_x; /* inference: h_0 = x W_x^T + c (K = D, genbo__net_forward_step) */
    genbo__mm_plan *wg_out, *dg_out, *wg_blk, *dg_blk, *wg_in, *dg_in; /* backward (store) */
    int xb_out, xb_blk, xb_in; /* 1: that wg plan reads its X in the blocked copy (actb, a2b, ub) */
} plan_set;

struct genbo__net_bf16 {
    void *stream;
    int max_rows, store, depth;
    plan_set cache[PLAN_CACHE];
    int ncache, next_evict;
    /* bf16 weights: forward layout (x W^T) and, with store, backward (dy W) */
    genbo__mm_wbuf *in_f, *out_f, **blk_f; /* blk_f[2 l] = W1_l, [2 l + 1] = W2_l */
    genbo__mm_wbuf *in_b, *out_b, **blk_b;
    genbo__mm_wbuf *in_x_f; /* inference: W_x, the x columns of W_in */
    float *w_x;             /* inference: W_x in fp32 (W x D), in_x_f's source */
    int loaded;
    /* bf16 activations */
    uint16_t *mem16, *u16, *act16, *a2_16, *dout16, *dh16, *dz16;
    uint16_t *dsh16, *dsz16; /* store: silu'(h_l), silu'(z_l) for the backward pass */
    uint16_t *z16, *da16;    /* store: z_l and the input-gradient products' results */
    uint16_t *r16;           /* store: the residual branch a2 W2^T of a block */
    /* store: act16, a2_16, u16 again in oneDNN's blocked B layout
     * (BA16a64b2a of B x W, xbw elements a layer; B x din, xbi) */
    uint16_t *actb, *a2b, *ub;
    size_t xbw, xbi;
    uint16_t *dh16t, *dz16t; /* store: dh16, dz16 transposed (W x B), the wg products' A */
    /* store: the weight gradients in bf16 as their products write them,
     * segment k at gw16[k] (genbo__net_segment_matrix's shape) */
    uint16_t **gw16;
    float *colsum_scratch;      /* store: partial column sums (bias gradients) */
};

static void plan_set_free(plan_set *s) {
    genbo__mm_plan *const all[] = {s->in,     s->z,      s->res,    s->out,   s->in_x, s->wg_out,
                            s->dg_out, s->wg_blk, s->dg_blk, s->wg_in, s->dg_in};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) genbo__mm_plan_free(all[i]);
    memset(s, 0, sizeof *s);
}

void genbo__net_bf16_free(genbo__net_bf16 *b) {
    if (!b) return;
    const int depth = b->depth;
    for (int i = 0; i < b->ncache; i++) plan_set_free(&b->cache[i]);
    genbo__mm_wbuf_free(b->in_f);
    genbo__mm_wbuf_free(b->out_f);
    genbo__mm_wbuf_free(b->in_b);
    genbo__mm_wbuf_free(b->out_b);
    genbo__mm_wbuf_free(b->in_x_f);
    free(b->w_x);
    for (int i = 0; i < 2 * depth + 1; i++) {
        if (b->blk_f) genbo__mm_wbuf_free(b->blk_f[i]);
        if (b->blk_b) genbo__mm_wbuf_free(b->blk_b[i]);
    }
    free(b->blk_f);
    free(b->blk_b);
    free(b->gw16);
    free(b->mem16);
    free(b->colsum_scratch);
    genbo__mm_stream_free(b->stream);
    free(b);
}

/* OpenMP threads for a pass over B rows: one below SERIAL_MACS (oneDNN
 * reads the count when a product runs, not only when its plan is made),
 * else as many as OpenBLAS has. Every pass restores the OpenBLAS count
 * when it returns, for the caller's own OpenMP code. */
static int is_serial(const genbo__net_config *c, int B) {
    return (double)B * c->width * c->width < SERIAL_MACS;
}

static void threads_for(const genbo__net_config *c, int B) {
    if (is_serial(c, B))
        genbo__mm_set_threads(1);
    else
        genbo__mm_sync_threads();
}

/* A weight-gradient plan dW = dY^T X (K = the batch) that reads X in the
 * blocked layout the training kernels write (oneDNN's choice with b_any:
 * BA16a64b2a on AMX; *xb = 1), else X row-major (*xb = 0): given X
 * row-major, oneDNN re-packs it on every call. Measured, nine 512 x 512 x
 * 1024 products with cold operands (the training step's case), one
 * thread: 11.8-12.9 ms row-major, 9.4-9.9 ms blocked. With dY^T also
 * row-major (below), a W1 forward + backward pass (warm, interleaved in
 * one process, one thread, least of 50) took 29.7-30.7 ms against
 * 31.7-33.0 before (median of paired ratios 0.97-0.98; 2 threads 0.99):
 * the forward kernels' extra 1 MB writes cost 0.8 ms, the products gain
 * 2.6. Either change alone gained nothing measurable (dY^T alone +1%). */
static genbo__mm_plan *wg_plan(genbo__mm_spec *sp, void *stream, int *xb) {
    genbo__mm_plan *p = genbo__mm_plan_new(sp, stream);
    if (p && genbo__mm_plan_b_vnni(p)) return *xb = 1, p;
    genbo__mm_plan_free(p);
    sp->b_any = 0, *xb = 0;
    return genbo__mm_plan_new(sp, stream);
}

/* The plans for B rows. With wref the weights use the layouts of the
 * already created weight buffers; without (the first set) oneDNN chooses
 * them. */
static int plans_build(const genbo__net_config *c, genbo__net_bf16 *bf, int B, plan_set *s, int any) {
    const int W = c->width, D = c->D, din = c->D + c->t_embed + c->y_embed;
    memset(s, 0, sizeof *s);
    s->rows = B;
    const genbo__mm_wbuf *wblk = any ? NULL : bf->blk_f[0];
    /* A few rows (an ask of a handful of designs): a product takes tens of
     * microseconds, less than waking and joining a thread team, and far
     * less on a loaded machine; run the whole pass on this thread. */
    const int ser = is_serial(c, B);
    genbo__mm_spec in = {B, W, din, 0, 0, any, any ? NULL : bf->in_f, 1, 0, GENBO__MM_POST_NONE, ser};
    /* z in bf16: training keeps only silu(z) and silu'(z) from it, and
     * inference's silu(z) is genbo__k_silu16_bf16 in place: measured (one
     * 512 x 512 x 512 product, one core) oneDNN's swish post-op added 244
     * us to the 642 of the product, the kernel takes 97; a W1 sampling
     * pass ran 4-9% faster (median of 150 paired passes) */
    genbo__mm_spec z = {B, W, W, 0, 0, any, wblk, 1, 1, GENBO__MM_POST_NONE, ser};
    /* residual h_l+1 = h_l + a2 W2^T + b2 with a sum post-op into a buffer
     * that holds h_l (+ b2 in training, where the kernel that rounds
     * silu(h_l) also writes h_l + b2 into h_l+1: measured, a binary-add
     * post-op reading h_l took 1.0 ms against 0.52 for the sum) */
    genbo__mm_spec res = {B, W, W, 0, 0, 0, NULL, !bf->store, 0, GENBO__MM_POST_SUM, ser};
    /* training: the branch alone in bf16, added to h_l (+ b2) by the next
     * SiLU kernel, which reads h_l anyway: measured in a training step,
     * the sum post-op's product (fp32 h read and written) took 1.77 ms
     * against 1.18 for the same product writing bf16 */
    if (bf->store) res.c_bf16 = 1, res.post = GENBO__MM_POST_NONE;
    genbo__mm_spec out = {B, D, W, 0, 0, any, any ? NULL : bf->out_f, 1, 0, GENBO__MM_POST_NONE, ser};
    if (!(s->in = genbo__mm_plan_new(&in, bf->stream)) || !(s->z = genbo__mm_plan_new(&z, bf->stream)) ||
        !(s->out = genbo__mm_plan_new(&out, bf->stream)))
        return GENBO_EINVAL;
    if (any) { /* the block weights' layout is z's choice; res must read the same */
        bf->blk_f[0] = genbo__mm_wbuf_new(s->z, 1);
        if (!bf->blk_f[0]) return GENBO_ENOMEM;
    }
    res.wfmt = bf->blk_f[0];
    if (!(s->res = genbo__mm_plan_new(&res, bf->stream))) return GENBO_EINVAL;
    if (!bf->store) {
        genbo__mm_spec in_x = {B, W, D, 0, 0, any, any ? NULL : bf->in_x_f, 1, 0, GENBO__MM_POST_NONE, ser};
        return (s->in_x = genbo__mm_plan_new(&in_x, bf->stream)) ? GENBO_OK : GENBO_EINVAL;
    }
    /* the weight gradients in bf16 (see genbo__net_acts.wgrad16) */
    genbo__mm_spec wg_out = {D, W, B, 1, 0, 1, NULL, 0, 1, GENBO__MM_POST_NONE, ser};
    /* da = dy W in bf16: the SiLU' kernel reads half the bytes */
    genbo__mm_spec dg_out = {B, W, D, 0, 0, any, any ? NULL : bf->out_b, 0, 1, GENBO__MM_POST_NONE, ser};
    /* dW = dY^T X with dY^T given row-major (W x B, written transposed by
     * the SiLU' kernel next to dY) and X blocked (wg_plan): read
     * transposed, oneDNN copies A on every call (bare product, one thread,
     * 512 x 512 x 1024: 1.07 ms against 0.80 row-major) */
    genbo__mm_spec wg_blk = {W, W, B, 0, 0, 1, NULL, 0, 1, GENBO__MM_POST_NONE, ser};
    genbo__mm_spec dg_blk = {B, W, W, 0, 0, any, any ? NULL : bf->blk_b[0], 0, 1, GENBO__MM_POST_NONE, ser};
    genbo__mm_spec wg_in = {W, din, B, 0, 0, 1, NULL, 0, 1, GENBO__MM_POST_NONE, ser};
    genbo__mm_spec dg_in = {B, din, W, 0, 0, any, any ? NULL : bf->in_b, 0, 0, GENBO__MM_POST_NONE, ser};
    if (!(s->wg_out = wg_plan(&wg_out, bf->stream, &s->xb_out)) ||
        !(s->dg_out = genbo__mm_plan_new(&dg_out, bf->stream)) ||
        !(s->wg_blk = wg_plan(&wg_blk, bf->stream, &s->xb_blk)) ||
        !(s->dg_blk = genbo__mm_plan_new(&dg_blk, bf->stream)) ||
        !(s->wg_in = wg_plan(&wg_in, bf->stream, &s->xb_in)) ||
        !(s->dg_in = genbo__mm_plan_new(&dg_in, bf->stream)))
        return GENBO_EINVAL;
    return GENBO_OK;
}

int genbo__net_bf16_new(const genbo__net_config *c, int max_rows, int store, genbo__net_bf16 **out) {
    *out = NULL;
    if (!genbo__mm_bf16_available())
        return genbo__fail(GENBO_EINVAL,
                           "precision bf16: this CPU has no native bf16 matrix products "
                           "(oneDNN ISA: %s); use precision auto or fp32",
                           genbo__mm_isa_name());
    threads_for(c, max_rows); /* plans and reorders of a small context are serial */
    const int W = c->width, D = c->D, L = c->depth, din = c->D + c->t_embed + c->y_embed;
    genbo__net_bf16 *bf = genbo__calloc(1, sizeof *bf);
    if (!bf) return GENBO_ENOMEM;
    bf->max_rows = max_rows;
    bf->depth = L;
    bf->store = store;
    int rc = GENBO_ENOMEM;
    /* every buffer on a cache line (32 bf16): see genbo__net_alloc64 */
    size_t R = (size_t)max_rows, hl = store ? (size_t)L + 1 : 1, zl = store && L ? (size_t)L : 1;
    const size_t RW = (R * W + 31) / 32 * 32, RI = (R * din + 31) / 32 * 32,
                 RD = (R * D + 31) / 32 * 32;
    size_t n = RI + hl * RW + zl * RW;
    /* the blocked copies: whole 32-row x 64-column blocks */
    const size_t xbw = store ? (R + 31) / 32 * 32 * (((size_t)W + 63) / 64 * 64) : 0,
                 xbi = store ? (R + 31) / 32 * 32 * (((size_t)din + 63) / 64 * 64) : 0;
    /* the weight gradients: W x din, 2 L of W x W, D x W, each on whole lines */
    const size_t gin = ((size_t)W * din + 31) / 32 * 32, gblk = ((size_t)W * W + 31) / 32 * 32,
                 gout = ((size_t)D * W + 31) / 32 * 32;
    if (store) n += RD + 7 * RW + hl * RW + zl * RW + (hl + zl) * xbw + xbi + gin + 2 * (size_t)L * gblk + gout;
    bf->mem16 = genbo__net_alloc64(n * sizeof(uint16_t));
    bf->blk_f = genbo__calloc((size_t)2 * L + 1, sizeof(genbo__mm_wbuf *));
    bf->blk_b = genbo__calloc((size_t)2 * L + 1, sizeof(genbo__mm_wbuf *));
    if (!bf->mem16 || !bf->blk_f || !bf->blk_b) goto fail;
    uint16_t *p = bf->mem16;
    bf->u16 = p, p += RI;
    bf->act16 = p, p += hl * RW;
    bf->a2_16 = p, p += zl * RW;
    if (store) {
        bf->dout16 = p, p += RD;
        bf->dh16 = p, p += RW;
        bf->dz16 = p, p += RW;
        bf->dsh16 = p, p += hl * RW;
        bf->dsz16 = p, p += zl * RW;
        bf->z16 = p, p += RW;
        bf->da16 = p, p += RW;
        bf->r16 = p, p += RW;
        bf->dh16t = p, p += RW;
        bf->dz16t = p, p += RW;
        bf->xbw = xbw, bf->xbi = xbi;
        bf->actb = p, p += hl * xbw;
        bf->a2b = p, p += zl * xbw;
        bf->ub = p, p += xbi;
        if (!(bf->gw16 = genbo__calloc((size_t)2 * L + 2, sizeof(uint16_t *)))) goto fail;
        bf->gw16[0] = p, p += gin;
        for (int k = 1; k <= 2 * L; k++) bf->gw16[k] = p, p += gblk;
        bf->gw16[2 * L + 1] = p, p += gout;
        bf->colsum_scratch = genbo__malloc(genbo__k_colsum_scratch(R, W) * sizeof(float));
        if (!bf->colsum_scratch) goto fail;
    }
    rc = GENBO_EINVAL;
    if (!(bf->stream = genbo__mm_stream_new())) goto fail;
    /* the first plan set picks the weight layouts; the weights follow them */
    plan_set *s = &bf->cache[0];
    if ((rc = plans_build(c, bf, max_rows, s, 1))) goto fail;
    bf->ncache = 1;
    rc = GENBO_ENOMEM;
    if (!(bf->in_f = genbo__mm_wbuf_new(s->in, 1)) || !(bf->out_f = genbo__mm_wbuf_new(s->out, 1))) goto fail;
    for (int i = 1; i < 2 * L; i++)
        if (!(bf->blk_f[i] = genbo__mm_wbuf_new(s->z, 1))) goto fail;
    if (!store && (!(bf->in_x_f = genbo__mm_wbuf_new(s->in_x, 1)) ||
                   !(bf->w_x = genbo__malloc((size_t)W * D * sizeof(float)))))
        goto fail;
    if (store) {
        if (!(bf->in_b = genbo__mm_wbuf_new(s->dg_in, 0)) || !(bf->out_b = genbo__mm_wbuf_new(s->dg_out, 0)))
            goto fail;
        for (int i = 0; i < 2 * L; i++)
            if (!(bf->blk_b[i] = genbo__mm_wbuf_new(s->dg_blk, 0))) goto fail;
    }
    *out = bf;
    genbo__mm_sync_threads();
    return GENBO_OK;
fail:
    genbo__mm_sync_threads();
    genbo__net_bf16_free(bf);
    return rc ? rc : GENBO_EINVAL;
}

int genbo__net_bf16_load_range(const genbo__net_config *c, genbo__net_bf16 *bf, const float *params,
                               size_t lo, size_t hi) {
    genbo__net_layout l;
    genbo__net_layout_init(c, &l);
    const size_t W = (size_t)c->width, D = (size_t)c->D, din = (size_t)l.din;
#define IN_RANGE(off, n) ((off) >= lo && (off) + (n) <= hi)
    threads_for(c, bf->max_rows); /* a context for few rows converts serially too */
    if (IN_RANGE(l.w_in, W * din)) {
        genbo__mm_wbuf_load(bf->in_f, params + l.w_in);
        if (bf->store) genbo__mm_wbuf_load(bf->in_b, params + l.w_in);
        if (bf->in_x_f) { /* W_x is W_in's first D columns */
            for (size_t i = 0; i < W; i++)
                memcpy(bf->w_x + i * D, params + l.w_in + i * din, D * sizeof(float));
            genbo__mm_wbuf_load(bf->in_x_f, bf->w_x);
        }
    }
    if (IN_RANGE(l.w_out, D * W)) {
        genbo__mm_wbuf_load(bf->out_f, params + l.w_out);
        if (bf->store) genbo__mm_wbuf_load(bf->out_b, params + l.w_out);
    }
    for (int b = 0; b < c->depth; b++) {
        const size_t o1 = l.blocks + (size_t)b * l.block_size, o2 = o1 + W * W + W;
        for (int k = 0; k < 2; k++) {
            const size_t o = k ? o2 : o1;
            if (!IN_RANGE(o, W * W)) continue;
            genbo__mm_wbuf_load(bf->blk_f[2 * b + k], params + o);
            if (bf->store) genbo__mm_wbuf_load(bf->blk_b[2 * b + k], params + o);
        }
    }
#undef IN_RANGE
    bf->loaded = 1;
    genbo__mm_sync_threads();
    return GENBO_OK;
}

int genbo__net_bf16_load_rows(const genbo__net_config *c, genbo__net_bf16 *bf, const float *params, size_t off,
                              int r0, int r1) {
    genbo__net_layout l;
    genbo__net_layout_init(c, &l);
    /* the forward copy reads the master as N x K (rows n), the backward one
     * as K x N (rows k): either way master row r is source row r */
    genbo__mm_wbuf *f = NULL, *b = NULL;
    if (off == l.w_in && bf->in_x_f) return -1; /* inference's W_x copy converts whole */
    if (off == l.w_in) f = bf->in_f, b = bf->in_b;
    else if (off == l.w_out) f = bf->out_f, b = bf->out_b;
    else if (off >= l.blocks && (off - l.blocks) % l.block_size == 0)
        f = bf->blk_f[2 * ((off - l.blocks) / l.block_size)], b = bf->blk_b[2 * ((off - l.blocks) / l.block_size)];
    else if (off >= l.blocks && (off - l.blocks) % l.block_size == (size_t)c->width * c->width + c->width)
        f = bf->blk_f[2 * ((off - l.blocks) / l.block_size) + 1],
        b = bf->blk_b[2 * ((off - l.blocks) / l.block_size) + 1];
    if (!f) return -1;
    if (genbo__mm_wbuf_load_rows(f, params + off, r0, r1)) return -1;
    if (bf->store && genbo__mm_wbuf_load_rows(b, params + off, r0, r1)) return -1;
    bf->loaded = 1;
    return 0;
}

int genbo__net_bf16_load(const genbo__net_config *c, genbo__net_bf16 *bf, const float *params) {
    genbo__net_layout l;
    genbo__net_layout_init(c, &l);
    return genbo__net_bf16_load_range(c, bf, params, 0, l.total);
}

/* The plan set for B rows, built on first use (an evicted set is rebuilt;
 * oneDNN's primitive cache makes that cheap). NULL on failure. */
static plan_set *plans_for(const genbo__net_config *c, genbo__net_bf16 *bf, int B) {
    for (int i = 0; i < bf->ncache; i++)
        if (bf->cache[i].rows == B) return &bf->cache[i];
    int slot;
    if (bf->ncache < PLAN_CACHE) {
        slot = bf->ncache++;
    } else { /* keep slot 0: its plans own the layouts' reference */
        slot = 1 + bf->next_evict;
        bf->next_evict = (bf->next_evict + 1) % (PLAN_CACHE - 1);
        plan_set_free(&bf->cache[slot]);
    }
    if (plans_build(c, bf, B, &bf->cache[slot], 0)) {
        plan_set_free(&bf->cache[slot]);
        if (slot == bf->ncache - 1) bf->ncache--;
        return NULL;
    }
    return &bf->cache[slot];
}

/* Rows of one inference tile: the whole network runs on TILE_ELEMS / W
 * rows at a time (multiple of 32, so every tile starts on a cache line),
 * so that a tile's h (fp32, 1 MB), silu(h) and silu(z) stay in the core's
 * 2 MB L2 between the products and kernels that pass them on: measured on
 * AMX, a 256 x 512 x 512 product with its operands in L2 ran at 1,400
 * GFLOP/s against 630 with them in L3, and a sampling pass of 2,048 rows
 * at width 512 took 16.4 ms in tiles of 512 rows against 18.6 ms whole
 * (least of 40, interleaved, one thread; 256-row tiles 16.9 ms, where
 * the weights no longer stay in L2 between tiles). Every row's values
 * do not depend on the tiling (a row is computed by the same kernels with
 * the same K order); the tile size depends on W only, never on the
 * thread count. */
#define TILE_ELEMS (1 << 18)
int genbo__net_bf16_tile_rows(const genbo__net_config *c) {
    int t = TILE_ELEMS / c->width / 32 * 32;
    return t < 32 ? 32 : t;
}

/* The residual blocks and the output layer of an inference tile, rows
 * [r0, r0 + n) of h (h_0 there) to the same rows of out. */
static void trunk_infer(const genbo__net_config *c, const float *params, const genbo__net_layout *l,
                        genbo__net_acts *a, const plan_set *s, int r0, int n) {
    genbo__net_bf16 *bf = a->bf;
    const int W = c->width, L = c->depth;
    const size_t off = (size_t)r0 * W, BW = (size_t)n * W;
    float *h = a->h + off;
    uint16_t *act = bf->act16 + off, *a2 = bf->a2_16 + off;
    for (int b = 0; b < L; b++) {
        const float *b1 = params + l->blocks + (size_t)b * l->block_size + (size_t)W * W;
        const float *b2 = b1 + W + (size_t)W * W;
        genbo__k_silu_bf16(h, act, BW);
        genbo__mm_plan_run(s->z, act, genbo__mm_wbuf_data(bf->blk_f[2 * b]), b1, a2, NULL);
        genbo__k_silu16_bf16(a2, a2, BW); /* z in bf16 -> silu(z) in place */
        genbo__mm_plan_run(s->res, a2, genbo__mm_wbuf_data(bf->blk_f[2 * b + 1]), b2, h, NULL);
    }
    genbo__k_silu_bf16(h, act, BW);
    genbo__mm_plan_run(s->out, act, genbo__mm_wbuf_data(bf->out_f), params + l->b_out,
                       a->out + (size_t)r0 * c->D, NULL);
}

/* Inference over rows [r0, r0 + n) (store = 0: one layer's buffers, used
 * at the tile's offset). */
static int forward_infer(const genbo__net_config *c, const float *params, genbo__net_acts *a,
                         int r0, int n) {
    genbo__net_bf16 *bf = a->bf;
    genbo__net_layout l;
    genbo__net_layout_init(c, &l);
    plan_set *s = plans_for(c, bf, n);
    if (!s) return GENBO_EINVAL;
    genbo__mm_plan_run(s->in, bf->u16 + (size_t)r0 * l.din, genbo__mm_wbuf_data(bf->in_f), params + l.b_in,
                       a->h + (size_t)r0 * c->width, NULL);
    trunk_infer(c, params, &l, a, s, r0, n);
    return GENBO_OK;
}

int genbo__net_bf16_forward_step(const genbo__net_config *c, const float *params, genbo__net_acts *a, int n,
                                 const float *x, const float *cvec, int pair) {
    genbo__net_bf16 *bf = a->bf;
    genbo__net_layout l;
    genbo__net_layout_init(c, &l);
    const int T = genbo__net_bf16_tile_rows(c), W = c->width;
    int rc = GENBO_OK;
    genbo__k_to_bf16(x, bf->u16, (size_t)n * c->D); /* x16 (n x D) */
    /* tiles within each half, so that a tile's rows share one c (the
     * product's bias): h_0 = x16 W_x^T + cvec[half] */
    for (int half = 0; half < (pair ? 2 : 1) && !rc; half++)
        for (int r0 = 0; r0 < n && !rc; r0 += T) {
            const int m = n - r0 < T ? n - r0 : T, row = half * n + r0;
            threads_for(c, m);
            plan_set *s = plans_for(c, bf, m);
            if (!s) {
                rc = GENBO_EINVAL;
                break;
            }
            genbo__mm_plan_run(s->in_x, bf->u16 + (size_t)r0 * c->D, genbo__mm_wbuf_data(bf->in_x_f),
                               cvec + (size_t)half * W, a->h + (size_t)row * W, NULL);
            trunk_infer(c, params, &l, a, s, row, m);
        }
    genbo__mm_sync_threads();
    return rc;
}

int genbo__net_bf16_forward(const genbo__net_config *c, const float *params, genbo__net_acts *a, int B) {
    genbo__net_bf16 *bf = a->bf;
    if (!a->store) {
        const int T = genbo__net_bf16_tile_rows(c);
        int rc = GENBO_OK;
        genbo__k_to_bf16(a->u, bf->u16, (size_t)B * (c->D + c->t_embed + c->y_embed));
        for (int r0 = 0; r0 < B && !rc; r0 += T) {
            const int n = B - r0 < T ? B - r0 : T;
            threads_for(c, n);
            rc = forward_infer(c, params, a, r0, n);
        }
        genbo__mm_sync_threads();
        return rc;
    }
    genbo__net_layout l;
    genbo__net_layout_init(c, &l);
    const int W = c->width, L = c->depth, din = l.din;
    const size_t BW = (size_t)B * W, LS16 = (BW + 31) / 32 * 32;
    threads_for(c, B);
    plan_set *s = plans_for(c, bf, B);
    if (!s) return genbo__mm_sync_threads(), GENBO_EINVAL;
    GENBO__PROF_START();
    /* the blocked copies of X that only the weight-gradient products read */
    const int xb_in = s->xb_in && !a->no_param_grads, xb_blk = s->xb_blk && !a->no_param_grads,
              xb_out = s->xb_out && !a->no_param_grads;
    if (xb_in)
        genbo__k_to_bf16_rows(a->u, bf->u16, bf->ub, (size_t)B, (size_t)din);
    else
        genbo__k_to_bf16(a->u, bf->u16, (size_t)B * din);
    P_(GENBO__PROF_INPUT);
    float *h = a->h;
    genbo__mm_plan_run(s->in, bf->u16, genbo__mm_wbuf_data(bf->in_f), params + l.b_in, h, NULL);
    P_(GENBO__PROF_FWD_MM);
    for (int b = 0; b < L; b++) {
        const float *b1 = params + l.blocks + (size_t)b * l.block_size + (size_t)W * W;
        const float *b2 = b1 + W + (size_t)W * W;
        uint16_t *act = bf->act16 + (a->store ? b * LS16 : 0);
        uint16_t *a2 = bf->a2_16 + (a->store ? b * LS16 : 0);
        if (a->store) {
            /* h_b = h_b-1 + r_b-1 + b2_b-1 (h_0 as it is), silu(h_b),
             * silu'(h_b); h_b over h_b-1 in place: nothing reads h_b-1
             * again (the backward pass reads silu'), and one 2 MB buffer
             * stays in cache where five did not (W1 step 1-2% faster,
             * interleaved, one thread) */
            genbo__k_silu_sig_bf16(h, b ? bf->r16 : NULL, b ? b2 - l.block_size : NULL, b ? h : NULL, act,
                                   xb_blk ? bf->actb + b * bf->xbw : NULL,
                                   bf->dsh16 + b * LS16, (size_t)B, (size_t)W);
            P_(GENBO__PROF_FWD_ELT);
            genbo__mm_plan_run(s->z, act, genbo__mm_wbuf_data(bf->blk_f[2 * b]), b1, bf->z16, NULL);
            P_(GENBO__PROF_FWD_MM);
            genbo__k_silu_ds_bf16(bf->z16, a2, xb_blk ? bf->a2b + b * bf->xbw : NULL, bf->dsz16 + b * LS16,
                                  (size_t)B, (size_t)W);
            P_(GENBO__PROF_FWD_ELT);
            genbo__mm_plan_run(s->res, a2, genbo__mm_wbuf_data(bf->blk_f[2 * b + 1]), NULL, bf->r16, NULL);
            P_(GENBO__PROF_FWD_MM);
        } else {
            genbo__k_silu_bf16(h, act, BW);
            genbo__mm_plan_run(s->z, act, genbo__mm_wbuf_data(bf->blk_f[2 * b]), b1, a2, NULL);
            genbo__mm_plan_run(s->res, a2, genbo__mm_wbuf_data(bf->blk_f[2 * b + 1]), b2, h, NULL);
        }
    }
    uint16_t *act = bf->act16 + (a->store ? (size_t)L * LS16 : 0);
    if (a->store) {
        /* h_L itself is needed by nothing after this (the backward reads silu') */
        const float *b2 = L ? params + l.blocks + (size_t)L * l.block_size - W : NULL;
        genbo__k_silu_sig_bf16(h, L ? bf->r16 : NULL, b2, NULL, act,
                               xb_out ? bf->actb + (size_t)L * bf->xbw : NULL, bf->dsh16 + (size_t)L * LS16,
                               (size_t)B, (size_t)W);
    } else
        genbo__k_silu_bf16(h, act, BW);
    P_(GENBO__PROF_FWD_ELT);
    genbo__mm_plan_run(s->out, act, genbo__mm_wbuf_data(bf->out_f), params + l.b_out, a->out, NULL);
    P_(GENBO__PROF_FWD_MM);
    genbo__mm_sync_threads();
    return GENBO_OK;
}

const uint16_t *genbo__net_bf16_weight_grad16(const genbo__net_bf16 *b, int k) {
    return b->gw16 ? b->gw16[k] : NULL;
}

/* After segment k's weight-gradient product (n elements, into gw16[k]):
 * its sum of squares for training's gradient norm, taken while it is in
 * cache, and the fp32 copy in g unless the caller reads the bf16 one. */
static void wgrad_done(genbo__net_acts *a, int k, float *g, size_t n) {
    const uint16_t *g16 = a->bf->gw16[k];
    if (a->wsq) a->wsq[k] = genbo__k_sumsq16(g16, n);
    if (!a->wgrad16) genbo__k_from_bf16(g16, g, n);
}

int genbo__net_bf16_backward(const genbo__net_config *c, float *grads, genbo__net_acts *a, int B, const float *dout,
                     int want_du) {
    genbo__net_bf16 *bf = a->bf;
    genbo__net_layout l;
    genbo__net_layout_init(c, &l);
    const int W = c->width, D = c->D, L = c->depth;
    const size_t BW = (size_t)B * W, LS16 = (BW + 31) / 32 * 32;
    threads_for(c, B);
    plan_set *s = plans_for(c, bf, B);
    if (!s) return genbo__mm_sync_threads(), GENBO_EINVAL;
    float *dh = a->dh;
    uint16_t *dh16 = bf->dh16, *dz16 = bf->dz16, *da16 = bf->da16;
    /* the transposed copies only where a weight gradient reads them */
    uint16_t *dh16t = grads ? bf->dh16t : NULL, *dz16t = grads ? bf->dz16t : NULL;

    GENBO__PROF_START();
    genbo__k_to_bf16(dout, bf->dout16, (size_t)B * D);
    if (grads) {
        P_(GENBO__PROF_BWD_ELT);
        genbo__mm_plan_run(s->wg_out, bf->dout16,
                           s->xb_out ? bf->actb + (size_t)L * bf->xbw : bf->act16 + (size_t)L * LS16, NULL,
                           bf->gw16[2 * L + 1], NULL);
        wgrad_done(a, 2 * L + 1, grads + l.w_out, (size_t)D * W);
        P_(GENBO__PROF_BWD_WG);
        genbo__k_colsum(dout, B, D, grads + l.b_out);
    }
    P_(GENBO__PROF_BWD_ELT);
    genbo__mm_plan_run(s->dg_out, bf->dout16, genbo__mm_wbuf_data(bf->out_b), NULL, da16, NULL);
    P_(GENBO__PROF_BWD_DG);
    /* column sums of dh (the next block's b2 gradient, or b_in's) and of dz
     * (b1's) come out of the SiLU' kernels */
    float *part = bf->colsum_scratch;
    float *gb = grads ? (L ? grads + l.blocks + (size_t)(L - 1) * l.block_size + 2 * (size_t)W * W + W
                           : grads + l.b_in)
                      : NULL;
    genbo__k_dsilu_bf16(bf->dsh16 + (size_t)L * LS16, da16, NULL, dh, dh16, dh16t, gb, part, (size_t)B,
                        (size_t)W);
    P_(GENBO__PROF_BWD_ELT);
    for (int b = L - 1; b >= 0; b--) {
        float *g1 = grads ? grads + l.blocks + (size_t)b * l.block_size : NULL;
        if (g1) {
            float *gw2 = g1 + (size_t)W * W + W;
            genbo__mm_plan_run(s->wg_blk, dh16t, s->xb_blk ? bf->a2b + b * bf->xbw : bf->a2_16 + b * LS16, NULL,
                               bf->gw16[2 * b + 2], NULL);
            wgrad_done(a, 2 * b + 2, gw2, (size_t)W * W);
            P_(GENBO__PROF_BWD_WG);
        }
        genbo__mm_plan_run(s->dg_blk, dh16, genbo__mm_wbuf_data(bf->blk_b[2 * b + 1]), NULL, da16, NULL);
        P_(GENBO__PROF_BWD_DG);
        genbo__k_dsilu_bf16(bf->dsz16 + b * LS16, da16, NULL, NULL, dz16, dz16t,
                            g1 ? g1 + (size_t)W * W : NULL, part, (size_t)B, (size_t)W);
        P_(GENBO__PROF_BWD_ELT);
        if (g1) {
            genbo__mm_plan_run(s->wg_blk, dz16t, s->xb_blk ? bf->actb + b * bf->xbw : bf->act16 + b * LS16, NULL,
                               bf->gw16[2 * b + 1], NULL);
            wgrad_done(a, 2 * b + 1, g1, (size_t)W * W);
            P_(GENBO__PROF_BWD_WG);
        }
        genbo__mm_plan_run(s->dg_blk, dz16, genbo__mm_wbuf_data(bf->blk_b[2 * b]), NULL, da16, NULL);
        P_(GENBO__PROF_BWD_DG);
        gb = grads ? (b ? grads + l.blocks + (size_t)(b - 1) * l.block_size + 2 * (size_t)W * W + W
                        : grads + l.b_in)
                   : NULL;
        genbo__k_dsilu_bf16(bf->dsh16 + b * LS16, da16, dh, dh, dh16, dh16t, gb, part, (size_t)B,
                            (size_t)W);
        P_(GENBO__PROF_BWD_ELT);
    }
    if (grads) {
        genbo__mm_plan_run(s->wg_in, dh16t, s->xb_in ? bf->ub : bf->u16, NULL, bf->gw16[0], NULL);
        wgrad_done(a, 0, grads + l.w_in, (size_t)W * l.din);
        P_(GENBO__PROF_BWD_WG);
    }
    if (want_du) genbo__mm_plan_run(s->dg_in, dh16, genbo__mm_wbuf_data(bf->in_b), NULL, a->du, NULL);
    P_(GENBO__PROF_BWD_DG);
    genbo__mm_sync_threads();
    return GENBO_OK;
}
