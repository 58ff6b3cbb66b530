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
int genbo__mm_bf16_available(void);
/* The instruction set oneDNN runs ("avx512_core_amx", "avx2", ...), or
 * "none" without oneDNN. Static string. */
const char *genbo__mm_isa_name(void);
/* OpenMP threads of oneDNN for the calling thread (= OpenBLAS threads). */
void genbo__mm_set_threads(int n);
void genbo__mm_sync_threads(void);

typedef struct genbo__mm_plan genbo__mm_plan;
typedef struct genbo__mm_wbuf genbo__mm_wbuf;

enum { GENBO__MM_POST_NONE = 0, GENBO__MM_POST_SWISH = 1, GENBO__MM_POST_SUM = 2, GENBO__MM_POST_ADD = 3 };

/* C (M x N, row-major, ldc = N) = op(A) B [+ bias] [post-op]:
 *   A bf16: M x K row-major, or (a_trans) stored K x M and read transposed;
 *   B bf16: the layout of `wfmt` if given (a prepared weight), else
 *           row-major K x N, or (b_trans) stored N x K and read transposed;
 *           with wfmt == NULL and b_any = 1 oneDNN picks the layout (query
 *           it with genbo__mm_wbuf_new);
 *   bias fp32 (N) if `bias`; C fp32 or (c_bf16) bf16;
 *   post: SWISH y = x sigmoid(x), SUM C += result, ADD result + src1 (fp32
 *   M x N). */
typedef struct genbo__mm_spec {
    int M, N, K;
    int a_trans, b_trans, b_any;
    const genbo__mm_wbuf *wfmt;
    int bias, c_bf16, post;
    int serial; /* 1: run on the calling thread only (small products) */
} genbo__mm_spec;

/* NULL with the error message set on failure. */
genbo__mm_plan *genbo__mm_plan_new(const genbo__mm_spec *s, void *stream_owner);
void genbo__mm_plan_free(genbo__mm_plan *p);
void genbo__mm_plan_run(genbo__mm_plan *p, const void *A, const void *B, const float *bias, void *C,
                 const float *src1);
/* 1 if plan p (made with b_any) reads its B operand in BA16a64b2a, the
 * layout kernels.h's training kernels write activations in (actb). */
int genbo__mm_plan_b_vnni(const genbo__mm_plan *p);

/* A bf16 weight in the layout plan p chose for its B operand (K x N). The
 * fp32 source is row-major K x N, or (src_trans) N x K. */
genbo__mm_wbuf *genbo__mm_wbuf_new(const genbo__mm_plan *p, int src_trans);
void genbo__mm_wbuf_free(genbo__mm_wbuf *w);
void genbo__mm_wbuf_load(genbo__mm_wbuf *w, const float *src);
const void *genbo__mm_wbuf_data(const genbo__mm_wbuf *w);
/* Convert only rows [r0, r1) of the fp32 source as stored (the N x K
 * source's rows n with src_trans, else the K x N source's rows k): what
 * training calls for each chunk of a weight right after the optimiser
 * updated it, while the chunk is in cache. r0 and r1 are multiples of
 * GENBO__MM_ROW_CHUNK, or r1 the last row. Serial and thread-safe for
 * disjoint row ranges (each writes its own blocks). Returns 0, or -1 (and
 * converts nothing) where the buffer has no own packer: oneDNN's reorder
 * converts whole matrices only, so call genbo__mm_wbuf_load. */
enum { GENBO__MM_ROW_CHUNK = 64 };
int genbo__mm_wbuf_load_rows(genbo__mm_wbuf *w, const float *src, int r0, int r1);

/* A stream per network context (streams are not shared between threads). */
void *genbo__mm_stream_new(void);
void genbo__mm_stream_free(void *s);
void genbo__mm_stream_wait(void *s);

#endif
