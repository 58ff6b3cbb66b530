/* mm.h - the bf16 matrix back end of the score network (internal).
 *
 * Matrix products with bf16 inputs and fp32 accumulation through oneDNN
 * matmul primitives, used where the CPU multiplies bf16 natively (AMX or
 * AVX512-BF16); everywhere else the network runs in fp32 through OpenBLAS
 * (net.c). A plan is one primitive for one shape, created once and run
 * many times on different buffers; a weight buffer holds a bf16 copy of an
 * fp32 master matrix in the layout the plans chose for it (blocked for the
 * matrix units), refreshed by one reorder after each optimiser step.
 * Without oneDNN at build time everything reports "unavailable". */
#ifndef GENBO_DIFFUSION_MM_H
#define GENBO_DIFFUSION_MM_H

#include <stddef.h>
#include <stdint.h>

/* 1 if oneDNN is built in and the CPU has native bf16 matrix products. */
int dm_bf16_available(void);
/* The instruction set oneDNN runs ("avx512_core_amx", "avx2", ...), or
 * "none" without oneDNN. Static string. */
const char *dm_isa_name(void);
/* OpenMP threads of oneDNN for the calling thread (= OpenBLAS threads). */
void dm_set_threads(int n);
void dm_sync_threads(void);

typedef struct dm_plan dm_plan;
typedef struct dm_wbuf dm_wbuf;

enum { DM_POST_NONE = 0, DM_POST_SWISH = 1, DM_POST_SUM = 2, DM_POST_ADD = 3 };

/* C (M x N, row-major, ldc = N) = op(A) B [+ bias] [post-op]:
 *   A bf16: M x K row-major, or (a_trans) stored K x M and read transposed;
 *   B bf16: the layout of `wfmt` if given (a prepared weight), else
 *           row-major K x N, or (b_trans) stored N x K and read transposed;
 *           with wfmt == NULL and b_any = 1 oneDNN picks the layout (query
 *           it with dm_wbuf_new);
 *   bias fp32 (N) if `bias`; C fp32 or (c_bf16) bf16;
 *   post: SWISH y = x sigmoid(x), SUM C += result, ADD result + src1 (fp32
 *   M x N). */
typedef struct dm_spec {
    int M, N, K;
    int a_trans, b_trans, b_any;
    const dm_wbuf *wfmt;
    int bias, c_bf16, post;
    int serial; /* 1: run on the calling thread only (small products) */
} dm_spec;

/* NULL with the error message set on failure. */
dm_plan *dm_plan_new(const dm_spec *s, void *stream_owner);
void dm_plan_free(dm_plan *p);
void dm_plan_run(dm_plan *p, const void *A, const void *B, const float *bias, void *C,
                 const float *src1);

/* A bf16 weight in the layout plan p chose for its B operand (K x N). The
 * fp32 source is row-major K x N, or (src_trans) N x K. */
dm_wbuf *dm_wbuf_new(const dm_plan *p, int src_trans);
void dm_wbuf_free(dm_wbuf *w);
void dm_wbuf_load(dm_wbuf *w, const float *src);
const void *dm_wbuf_data(const dm_wbuf *w);

/* A stream per network context (streams are not shared between threads). */
void *dm_stream_new(void);
void dm_stream_free(void *s);
void dm_stream_wait(void *s);

#endif
