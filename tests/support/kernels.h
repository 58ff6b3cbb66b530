/* kernels.h - the diffusion engine's kernels for bench_diffusion (support
 * library, not part of libgenbo): the score network's FLOP model, the bf16
 * matrix back end (oneDNN plans and prepared weights, diffusion/mm.h) for
 * the bare-product roofline, cache-line aligned buffers as the network's
 * own, and the phase timers of a -DGENBO_PROFILE=ON build
 * (diffusion/prof.h). Thin wrappers: the benchmark measures what the
 * library runs, without including the library's internal headers. */
#ifndef GENBO_SUPPORT_KERNELS_H
#define GENBO_SUPPORT_KERNELS_H

#include <stddef.h>

/* The score network's shape (genbo_diffusion_params' width, depth,
 * t_embed, y_embed for data of dimension D). */
typedef struct genbo__support_net {
    int D, width, depth, t_embed, y_embed;
} genbo__support_net;

/* FLOPs of the matrix products of one forward pass, per row. */
double genbo__support_net_flops_per_row(const genbo__support_net *c);

/* bytes rounded up to whole cache lines, 64-byte aligned; free() it. */
void *genbo__support_alloc64(size_t bytes);

/* ---- the bf16 back end (mm.h) ---- */
/* 1 if oneDNN is built in and the CPU multiplies bf16 natively. */
int genbo__support_bf16_available(void);
typedef struct genbo__support_mm genbo__support_mm;   /* one product's plan */
typedef struct genbo__support_wbuf genbo__support_wbuf; /* a prepared bf16 weight */
void *genbo__support_mm_stream_new(void);
void genbo__support_mm_stream_free(void *stream);
/* C (M x N fp32) = op(A) B, A bf16 M x K (a_trans: stored K x M); B bf16
 * row-major K x N, or (b_any) in the layout oneDNN picks for a weight
 * (genbo__support_wbuf_new gives it). No bias, no post-op. NULL on failure. */
genbo__support_mm *genbo__support_mm_new(int M, int N, int K, int a_trans, int b_any, void *stream);
void genbo__support_mm_free(genbo__support_mm *p);
void genbo__support_mm_run(genbo__support_mm *p, const void *A, const void *B, float *C);
/* A bf16 copy of an fp32 weight in the layout p chose for B (source
 * row-major K x N, or (src_trans) N x K). */
genbo__support_wbuf *genbo__support_wbuf_new(const genbo__support_mm *p, int src_trans);
void genbo__support_wbuf_free(genbo__support_wbuf *w);
void genbo__support_wbuf_load(genbo__support_wbuf *w, const float *src);
const void *genbo__support_wbuf_data(const genbo__support_wbuf *w);

/* ---- phase timers of a training step (prof.h) ---- */
enum { GENBO__SUPPORT_PROF_N = 12 }; /* = GENBO__PROF_N (checked in kernels.c) */
int genbo__support_prof_enabled(void); /* 1 in a -DGENBO_PROFILE=ON build */
void genbo__support_prof_reset(void);
const char *genbo__support_prof_name(int phase);
double genbo__support_prof_get(int phase); /* seconds since the reset */
double genbo__support_prof_min(int phase); /* least seconds in one step */

#endif
