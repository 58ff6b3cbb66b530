/* net.h - the score network of the diffusion model (internal).
 *
 * An MLP with residual blocks over flat float arrays, in the style of
 * llm.c's train_gpt2.c: one parameter array (weights, biases and the
 * learned "no condition" embedding, laid out by genbo__net_layout), one activation
 * array sized for the largest batch, and plain kernels. Rows are samples.
 *
 *   u    = [x ; phi_t(log t) ; e_y]              (Din = D + Et + Ey)
 *          e_y = phi_y(y) or the learned null vector when y is "none"
 *   h_0  = W_in u + b_in                          (width W)
 *   h_l+1 = h_l + W2_l silu(W1_l silu(h_l) + b1_l) + b2_l,  l < depth
 *   eps  = W_out silu(h_depth) + b_out            (D outputs)
 *
 * phi(s) = [sin(f_k s), cos(f_k s)], f_k geometric (see net.c). Matrices
 * are row-major out x in, so a batch product is X W^T (CblasTrans). */
#ifndef GENBO_DIFFUSION_NET_H
#define GENBO_DIFFUSION_NET_H

#include <stddef.h>
#include <stdint.h>

/* The deepest network a model may have (the [diffusion] depth range). */
#define GENBO__NET_MAX_DEPTH 256

typedef struct genbo__net_config {
    int D;       /* data dimension */
    int width;   /* hidden width W */
    int depth;   /* residual blocks */
    int t_embed; /* time-embedding size (even) */
    int y_embed; /* reward-embedding size (even) */
} genbo__net_config;

/* Offsets (in floats) of every parameter tensor inside the flat array. */
typedef struct genbo__net_layout {
    size_t w_in, b_in, null_y; /* W x Din, W, Ey */
    size_t blocks;             /* first block; block l starts at blocks + l * block_size */
    size_t block_size;         /* W1 (W x W), b1 (W), W2 (W x W), b2 (W) */
    size_t w_out, b_out;       /* D x W, D */
    size_t total;
    int din;
} genbo__net_layout;

void genbo__net_layout_init(const genbo__net_config *c, genbo__net_layout *l);

/* Activations for up to max_rows rows. With store = 1 every layer's values
 * are kept for the backward pass; with store = 0 only one layer's worth
 * (inference: smaller and cache-friendlier). One allocation. */
typedef struct genbo__net_bf16 genbo__net_bf16; /* bf16 products (net_bf16.c); NULL = fp32 */

typedef struct genbo__net_acts {
    int max_rows, store;
    genbo__net_bf16 *bf;
    float *mem;
    float *u;          /* rows x Din */
    float *h, *a;      /* (depth+1 or 1) x rows x W: h_l and silu(h_l) */
    float *z, *a2;     /* (depth or 1) x rows x W: W1 silu(h)+b1 and its silu */
    float *out;        /* rows x D: predicted eps */
    float *dh, *da, *dz, *du; /* backward scratch */
    /* bf16 training: if set (2 depth + 2 doubles, the caller's), a backward
     * pass with grads writes the sum of squares of each weight matrix's
     * gradient there, segment k of genbo__net_weight_segments, taken right
     * after its product while it is in cache (the gradient norm read all
     * 9 MB back from memory: 1.4 ms of a 37 ms W1 step) */
    double *wsq;
    /* 1: this buffer's backward passes never compute parameter gradients
     * (a sampler's look-ahead passes: set after genbo__net_acts_alloc), so
     * a bf16 forward pass skips the blocked copies of X that only the
     * weight-gradient products read (measured, one thread, default-study
     * network: an ask of 8 designs 43-46 ms with them, 36-39 without; of
     * one design in bf16 34-35 against 23-24). genbo__net_backward then
     * fails if asked for them. */
    int no_param_grads;
    /* bf16 training: 1 = a backward pass with grads leaves each weight
     * matrix's gradient in bf16 inside the buffer (genbo__net_acts_weight_grad16)
     * and writes only the biases' and the null embedding's into grads;
     * 0 = every gradient in grads (the bf16 ones widened). The weight-
     * gradient products write bf16, as autocast's do: measured, one of
     * W1's 512 x 512 x 1024 with cold operands, one thread, 0.87-0.98 ms
     * writing fp32 against 0.66-0.70 writing bf16. */
    int wgrad16;
} genbo__net_acts;

/* 64-byte aligned memory (free with free()), the size rounded up to whole
 * cache lines: the bf16 products load whole lines into the matrix units'
 * tiles; on malloc's 16-byte alignment every tile row straddled two lines
 * and a 1024 x 512 x 512 product took 1.9 ms instead of 0.6 (one thread). */
void *genbo__net_alloc64(size_t bytes);
int genbo__net_acts_alloc(const genbo__net_config *c, int max_rows, int store, genbo__net_acts *a);
void genbo__net_acts_free(genbo__net_acts *a);

/* Run this buffer's passes with bf16 matrix products (mixed precision,
 * net_bf16.c). Fails with a clear message where the CPU has no native
 * bf16. The products then read a bf16 copy of the weights: call
 * genbo__net_acts_load_weights after every change of the parameters (once per
 * optimiser step, once per sampling call) and before genbo__net_forward. */
int genbo__net_acts_use_bf16(const genbo__net_config *c, genbo__net_acts *a);
int genbo__net_acts_load_weights(const genbo__net_config *c, genbo__net_acts *a, const float *params);
/* The same for the weight matrices inside params[lo, hi) only: training
 * refreshes each one right after the optimiser updated it, while it is
 * still in cache (genbo__net_weight_segments gives the ranges). */
int genbo__net_acts_load_weights_range(const genbo__net_config *c, genbo__net_acts *a,
                                       const float *params, size_t lo, size_t hi);
/* Boundaries of the parameter array in pieces of one weight matrix each
 * (with the biases and the null embedding beside it): bounds[0] = 0 <
 * bounds[1] < ... < bounds[n] = total; n = 2 depth + 2, returned. bounds
 * holds 2 depth + 3 entries. */
int genbo__net_weight_segments(const genbo__net_config *c, size_t *bounds);
/* The weight matrix at the start of segment k: rows x cols, row-major
 * (out x in). */
void genbo__net_segment_matrix(const genbo__net_config *c, int k, int *rows, int *cols);
/* Convert rows [r0, r1) of the weight matrix at params + off (the start of
 * a segment) into the buffer's bf16 copies: training calls it for each
 * chunk of GENBO__MM_ROW_CHUNK rows right after the optimiser updated it.
 * Rows as in genbo__mm_wbuf_load_rows; serial, safe on disjoint rows from
 * several threads. 0 (also without bf16: nothing to convert), or -1 where
 * a copy can only be converted whole: then call
 * genbo__net_acts_load_weights_range for the segment. */
int genbo__net_acts_load_weight_rows(const genbo__net_config *c, genbo__net_acts *a, const float *params,
                                     size_t off, int r0, int r1);

/* After a bf16 backward pass with grads and wgrad16 set: the gradient of
 * segment k's weight matrix (genbo__net_segment_matrix's rows x cols,
 * row-major) in bf16, owned by the buffer; NULL without bf16 or wgrad16. */
const uint16_t *genbo__net_acts_weight_grad16(const genbo__net_config *c, const genbo__net_acts *a, int k);

/* Random initialisation of a parameter array with the core RNG. */
struct genbo__rng;
void genbo__net_init_params(const genbo__net_config *c, float *params, struct genbo__rng *rng);

/* Forward pass over B rows: x (B x D, standardised), log_t (B), y (B,
 * standardised reward; NULL = every row unconditional), y_null (B flags,
 * 1 = use the null embedding; NULL = none). Result in a->out (B x D). */
int genbo__net_forward(const genbo__net_config *c, const float *params, genbo__net_acts *a, int B, const float *x,
               const float *log_t, const float *y, const uint8_t *y_null);

/* Forward pass over the rows of one sampling step: they share log t and
 * their y is one value or the null embedding. The rows are the n rows of x
 * (n x D), conditioned on *y (y == NULL: the null embedding), followed
 * with pair = 1 by the same n rows of x again with the null embedding
 * (classifier-free guidance's 2n rows). Result in a->out (n or 2n rows x
 * D), the rows genbo__net_forward gives for the same rows built out, up to
 * rounding: the embedding columns of u are then one or two vectors, so
 * h_0 = W_x x + c with c = W_t phi_t + W_y e_y + b_in computed once in
 * fp32 (a K = D product instead of K = Din; with pair, W_x x shared by
 * both halves in fp32). After a store = 1 pass genbo__net_backward runs
 * with y_null[i] = (y == NULL || i >= n), y[i] = *y. */
int genbo__net_forward_step(const genbo__net_config *c, const float *params, genbo__net_acts *a, int n,
                            const float *x, float log_t, const float *y, int pair);

/* Backward pass after a genbo__net_forward with store = 1 (same y, y_null: a row
 * uses the null embedding when y == NULL or y_null[i]). dout (B x D) is the
 * gradient of the loss w.r.t. a->out. If grads != NULL the parameter
 * gradients are written there (overwritten, not accumulated; the null
 * embedding's gradient sums the rows with y_null set). If dx != NULL the
 * gradient w.r.t. the input x is written there (B x D). */
int genbo__net_backward(const genbo__net_config *c, const float *params, float *grads, genbo__net_acts *a, int B,
                const float *dout, const float *y, const uint8_t *y_null, float *dx);
/* Both return a genbo status (bf16 only can fail: a plan for a new row
 * count); fp32 always succeeds. */

/* net_bf16.c */
int genbo__net_bf16_new(const genbo__net_config *c, int max_rows, int store, genbo__net_bf16 **out);
void genbo__net_bf16_free(genbo__net_bf16 *b);
int genbo__net_bf16_load(const genbo__net_config *c, genbo__net_bf16 *b, const float *params);
int genbo__net_bf16_load_range(const genbo__net_config *c, genbo__net_bf16 *b, const float *params,
                               size_t lo, size_t hi);
int genbo__net_bf16_load_rows(const genbo__net_config *c, genbo__net_bf16 *b, const float *params, size_t off,
                              int r0, int r1);
int genbo__net_bf16_forward(const genbo__net_config *c, const float *params, genbo__net_acts *a, int B);
/* Segment k's weight gradient in bf16 (training contexts; else NULL). */
const uint16_t *genbo__net_bf16_weight_grad16(const genbo__net_bf16 *b, int k);
/* Rows of one inference tile (bf16 passes run in tiles that stay in L2). */
int genbo__net_bf16_tile_rows(const genbo__net_config *c);
/* genbo__net_forward_step's inference pass (store = 0): cvec (2 x W) is
 * h_0's per-row term of the conditional and the null rows. */
int genbo__net_bf16_forward_step(const genbo__net_config *c, const float *params, genbo__net_acts *a, int n,
                                 const float *x, const float *cvec, int pair);
int genbo__net_bf16_backward(const genbo__net_config *c, float *grads, genbo__net_acts *a, int B, const float *dout,
                     int want_du);

/* FLOPs of the matrix products of one forward pass per row (2 m n k). */
double genbo__net_forward_flops_per_row(const genbo__net_config *c);

/* Elementwise kernels (kernels.c), exposed for tests. */
float genbo__net_sigmoidf(float x);
void genbo__net_silu(const float *x, float *y, size_t n);

#endif
