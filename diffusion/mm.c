/* mm.c - oneDNN bf16 matmul plans and weight buffers (see mm.h).
 *
 * Each plan owns its primitive and one memory object per argument; a run
 * only swaps the data pointers in (dnnl_memory_set_data_handle) and
 * executes, so nothing is allocated per step. oneDNN's CPU engine runs on
 * OpenMP: genbo__mm_sync_threads() gives the calling thread as many OpenMP
 * threads as OpenBLAS has, so the two never oversubscribe the cores (with
 * OpenMP's default of every core while OpenBLAS was told 1, or the other
 * way round, a bare bf16 product ran 9x slower). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "diffusion/kernels_bf16.h"
#include "diffusion/mm.h"

int openblas_get_num_threads(void);

#ifdef GENBO_HAVE_DNNL
#include <dnnl.h>
#include <omp.h>

static dnnl_engine_t g_engine;
static int g_isa, g_ok;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_once(void) {
    if (dnnl_engine_create(&g_engine, dnnl_cpu, 0) != dnnl_success) return;
    g_isa = (int)dnnl_get_effective_cpu_isa();
    g_ok = 1;
}

int genbo__mm_bf16_available(void) {
    pthread_once(&g_once, init_once);
    /* ISA values are bit masks: AMX contains every AVX512-BF16 bit */
    return g_ok && (g_isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16;
}

const char *genbo__mm_isa_name(void) {
    pthread_once(&g_once, init_once);
    if (!g_ok) return "none";
    switch (g_isa) {
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_sse41: return "sse41";
    default: return "other";
    }
}

void genbo__mm_set_threads(int n) {
    if (n > 0) omp_set_num_threads(n);
}

void genbo__mm_sync_threads(void) {
    int n = openblas_get_num_threads();
    if (n > 0 && omp_get_max_threads() != n) omp_set_num_threads(n);
}

struct genbo__mm_plan {
    dnnl_primitive_t prim;
    dnnl_stream_t stream;
    dnnl_memory_t a, b, c, bias, src1;
    dnnl_memory_desc_t bmd; /* the weights layout chosen */
    int nargs, K, N, post;
};

struct genbo__mm_wbuf {
    dnnl_primitive_t reorder;
    dnnl_memory_t src, dst;
    dnnl_stream_t stream;
    void *data;
    dnnl_memory_desc_t md; /* the layout */
    int K, N, src_trans;
    int packer; /* 1: the layout is BA16a64b2a and pack_blocked() writes it */
};

static inline uint16_t bf16_rne(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    u += 0x7fffu + ((u >> 16) & 1u); /* round to nearest, ties to even */
    return (uint16_t)(u >> 16);
}

/* The layout oneDNN picks for AMX bf16 weights, BA16a64b2a, written
 * straight from the fp32 master: a training step re-converts every weight
 * after each optimiser step, and oneDNN's generic reorder took 0.27 ms
 * per 512 x 512 matrix (two layouts of each: ~4 ms of a 25 ms step).
 * Logical K x N (a = k, b = n) in blocks of 32 k x 64 n, the n blocks
 * outermost; inside a block, for each pair of rows (k, k + 1) the 64
 * columns as (k, k + 1) pairs:
 *   offset = ((nb KB + kb) 16 + kp) 128 + 2 ni + (k & 1),
 *   k = 32 kb + 2 kp + (k & 1), n = 64 nb + ni.
 * Padding (k >= K, n >= N) stays zero. genbo__mm_wbuf_new checks the result
 * against oneDNN's own reorder once, else keeps the reorder. */
static void pack_block(const float *src, int trans, int K, int N, int nb, int kb, uint32_t *d) {
    const int k0 = 32 * kb, n0 = 64 * nb;
    const int full = k0 + 32 <= K && n0 + 64 <= N;
    if (full && genbo__k_avx512bf16()) { /* measured 1.2 ms -> 0.05 for 512 x 512 */
        if (!trans)
            for (int kp = 0; kp < 16; kp++) {
                const float *r0 = src + (size_t)(k0 + 2 * kp) * N + n0;
                genbo__k_pack_pairs_avx(r0, r0 + N, d + kp * 64);
            }
        else
            for (int ni = 0; ni < 64; ni += 16)
                genbo__k_pack_cols_avx(src + (size_t)(n0 + ni) * K + k0, (size_t)K, d + ni);
    } else if (full && !trans) { /* rows k of src: pairs of rows, 64 columns */
        for (int kp = 0; kp < 16; kp++) {
            const float *r0 = src + (size_t)(k0 + 2 * kp) * N + n0, *r1 = r0 + N;
            uint32_t *o = d + kp * 64;
            for (int ni = 0; ni < 64; ni++)
                o[ni] = (uint32_t)bf16_rne(r0[ni]) | (uint32_t)bf16_rne(r1[ni]) << 16;
        }
    } else if (full) { /* rows n of src (N x K): 32 consecutive k of each */
        for (int ni = 0; ni < 64; ni++) {
            const float *r = src + (size_t)(n0 + ni) * K + k0;
            for (int kp = 0; kp < 16; kp++)
                d[kp * 64 + ni] = (uint32_t)bf16_rne(r[2 * kp]) | (uint32_t)bf16_rne(r[2 * kp + 1]) << 16;
        }
    } else { /* an edge block: element by element */
        for (int kp = 0; kp < 16; kp++)
            for (int ni = 0; ni < 64; ni++) {
                uint32_t v = 0;
                for (int e = 0; e < 2; e++) {
                    int k = k0 + 2 * kp + e, n = n0 + ni;
                    if (k < K && n < N)
                        v |= (uint32_t)bf16_rne(trans ? src[(size_t)n * K + k] : src[(size_t)k * N + n])
                             << (16 * e);
                }
                d[kp * 64 + ni] = v;
            }
    }
}

static void pack_blocked(const genbo__mm_wbuf *w, const float *src) {
    const int KB = (w->K + 31) / 32, NB = (w->N + 63) / 64, nblk = KB * NB;
    uint32_t *d = w->data;
#pragma omp parallel for schedule(static) if (nblk >= 8)
    for (int i = 0; i < nblk; i++) {
        /* in the source's row order: a row-major source is read a row
         * strip at a time (k blocks outer; n blocks outer read 256-byte
         * pieces of every row, 0.32 against 0.19 ms for 512 x 512) */
        int nb = w->src_trans ? i / KB : i % NB, kb = w->src_trans ? i % KB : i / NB;
        pack_block(src, w->src_trans, w->K, w->N, nb, kb, d + ((size_t)nb * KB + kb) * 1024);
    }
}

#define DN(call)                                                                         \
    do {                                                                                 \
        dnnl_status_t st_ = (call);                                                      \
        if (st_ != dnnl_success) {                                                       \
            genbo__fail(GENBO_EINVAL, "oneDNN: %s failed (status %d)", #call, (int)st_); \
            goto fail;                                                                   \
        }                                                                                \
    } while (0)

static int plain_md(dnnl_memory_desc_t *md, int rows, int cols, int trans, dnnl_data_type_t t) {
    /* logical rows x cols; stored row-major, or transposed (cols x rows) */
    dnnl_dims_t d = {rows, cols}, s = {trans ? 1 : cols, trans ? rows : 1};
    return dnnl_memory_desc_init_by_strides(md, 2, d, t, s) == dnnl_success ? 0 : -1;
}

void *genbo__mm_stream_new(void) {
    if (!genbo__mm_bf16_available()) return NULL;
    dnnl_stream_t s = NULL;
    if (dnnl_stream_create(&s, g_engine, dnnl_stream_default_flags) != dnnl_success) {
        genbo__fail(GENBO_EINVAL, "oneDNN: cannot create a stream");
        return NULL;
    }
    return s;
}

void genbo__mm_stream_free(void *s) {
    if (s) dnnl_stream_destroy((dnnl_stream_t)s);
}

void genbo__mm_stream_wait(void *s) {
    if (s) dnnl_stream_wait((dnnl_stream_t)s);
}

genbo__mm_plan *genbo__mm_plan_new(const genbo__mm_spec *s, void *stream) {
    if (!genbo__mm_bf16_available() || !stream) {
        genbo__fail(GENBO_EINVAL, "bf16 matrix products are not available on this CPU");
        return NULL;
    }
    genbo__mm_plan *p = genbo__calloc(1, sizeof *p);
    if (!p) return NULL;
    p->stream = (dnnl_stream_t)stream;
    p->K = s->K;
    p->N = s->N;
    p->post = s->post;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_memory_desc_t amd, bmd, cmd, biasmd, s1md;
    if (plain_md(&amd, s->M, s->K, s->a_trans, dnnl_bf16) ||
        plain_md(&cmd, s->M, s->N, 0, s->c_bf16 ? dnnl_bf16 : dnnl_f32) ||
        plain_md(&biasmd, 1, s->N, 0, dnnl_f32) || plain_md(&s1md, s->M, s->N, 0, dnnl_f32)) {
        genbo__fail(GENBO_EINVAL, "oneDNN: bad matrix shape %d x %d x %d", s->M, s->N, s->K);
        goto fail;
    }
    if (s->wfmt) {
        bmd = s->wfmt->md;
    } else if (s->b_any) {
        dnnl_dims_t d = {s->K, s->N};
        DN(dnnl_memory_desc_init_by_tag(&bmd, 2, d, dnnl_bf16, dnnl_format_tag_any));
    } else if (plain_md(&bmd, s->K, s->N, s->b_trans, dnnl_bf16)) {
        goto fail;
    }
    dnnl_matmul_desc_t md;
    DN(dnnl_matmul_desc_init(&md, &amd, &bmd, s->bias ? &biasmd : NULL, &cmd));
    DN(dnnl_primitive_attr_create(&attr));
    if (s->post != GENBO__MM_POST_NONE) {
        DN(dnnl_post_ops_create(&po));
        if (s->post == GENBO__MM_POST_SWISH)
            DN(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_swish, 1.0f, 0.0f));
        else if (s->post == GENBO__MM_POST_SUM)
            DN(dnnl_post_ops_append_sum(po, 1.0f));
        else
            DN(dnnl_post_ops_append_binary(po, dnnl_binary_add, &s1md));
        DN(dnnl_primitive_attr_set_post_ops(attr, po));
    }
    /* oneDNN fixes a primitive's thread count when it is created: a serial
     * plan is created with one OpenMP thread and then runs inline */
    int keep = omp_get_max_threads();
    if (s->serial) omp_set_num_threads(1);
    dnnl_status_t st = dnnl_primitive_desc_create(&pd, &md, attr, g_engine, NULL);
    if (st == dnnl_success) {
        p->bmd = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
        st = dnnl_primitive_create(&p->prim, pd);
    }
    if (s->serial) omp_set_num_threads(keep);
    DN(st);
    DN(dnnl_memory_create(&p->a, &amd, g_engine, DNNL_MEMORY_NONE));
    DN(dnnl_memory_create(&p->b, &p->bmd, g_engine, DNNL_MEMORY_NONE));
    DN(dnnl_memory_create(&p->c, &cmd, g_engine, DNNL_MEMORY_NONE));
    if (s->bias) DN(dnnl_memory_create(&p->bias, &biasmd, g_engine, DNNL_MEMORY_NONE));
    if (s->post == GENBO__MM_POST_ADD) DN(dnnl_memory_create(&p->src1, &s1md, g_engine, DNNL_MEMORY_NONE));
    if (po) dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    dnnl_primitive_desc_destroy(pd);
    return p;
fail:
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (pd) dnnl_primitive_desc_destroy(pd);
    genbo__mm_plan_free(p);
    return NULL;
}

void genbo__mm_plan_free(genbo__mm_plan *p) {
    if (!p) return;
    if (p->prim) dnnl_primitive_destroy(p->prim);
    dnnl_memory_t *m[] = {&p->a, &p->b, &p->c, &p->bias, &p->src1};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (*m[i]) dnnl_memory_destroy(*m[i]);
    free(p);
}

void genbo__mm_plan_run(genbo__mm_plan *p, const void *A, const void *B, const float *bias, void *C,
                 const float *src1) {
    dnnl_exec_arg_t args[5];
    int n = 0;
    dnnl_memory_set_data_handle(p->a, (void *)A);
    dnnl_memory_set_data_handle(p->b, (void *)B);
    dnnl_memory_set_data_handle(p->c, C);
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, p->a};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, p->b};
    args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DST, p->c};
    if (p->bias) {
        dnnl_memory_set_data_handle(p->bias, (void *)bias);
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, p->bias};
    }
    if (p->src1) {
        dnnl_memory_set_data_handle(p->src1, (void *)src1);
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, p->src1};
    }
    /* the CPU engine runs synchronously: the result is there on return */
    dnnl_primitive_execute(p->prim, p->stream, n, args);
}

int genbo__mm_plan_b_vnni(const genbo__mm_plan *p) {
    dnnl_memory_desc_t tag;
    dnnl_dims_t dims = {p->K, p->N};
    return dnnl_memory_desc_init_by_tag(&tag, 2, dims, dnnl_bf16, dnnl_BA16a64b2a) == dnnl_success &&
           dnnl_memory_desc_equal(&tag, &p->bmd);
}

/* The own packer's verdict per shape and source orientation: checked
 * against oneDNN's reorder the first time a shape is seen in the process,
 * then remembered, so a sampling call (an ask builds its network context
 * afresh) pays neither the check nor the reorder's creation: measured, the
 * checks of the 16 weight buffers were 20 ms of an ask of one design. */
enum { VERDICTS = 64 };
static struct {
    int K, N, trans, ok;
} g_verdict[VERDICTS];
static int g_nverdict;
static pthread_mutex_t g_verdict_lock = PTHREAD_MUTEX_INITIALIZER;

static int verdict_get(int K, int N, int trans) { /* 1 ok, 0 not, -1 unknown */
    int v = -1;
    pthread_mutex_lock(&g_verdict_lock);
    for (int i = 0; i < g_nverdict; i++)
        if (g_verdict[i].K == K && g_verdict[i].N == N && g_verdict[i].trans == trans)
            v = g_verdict[i].ok;
    pthread_mutex_unlock(&g_verdict_lock);
    return v;
}

static void verdict_put(int K, int N, int trans, int ok) {
    pthread_mutex_lock(&g_verdict_lock);
    if (g_nverdict < VERDICTS) g_verdict[g_nverdict++] = (__typeof__(g_verdict[0])){K, N, trans, ok};
    pthread_mutex_unlock(&g_verdict_lock);
}

static int make_reorder(genbo__mm_wbuf *w, const dnnl_memory_desc_t *bmd) {
    dnnl_primitive_desc_t pd = NULL;
    dnnl_memory_desc_t smd;
    if (plain_md(&smd, w->K, w->N, w->src_trans, dnnl_f32)) return -1;
    DN(dnnl_memory_create(&w->src, &smd, g_engine, DNNL_MEMORY_NONE));
    DN(dnnl_memory_create(&w->dst, bmd, g_engine, w->data));
    DN(dnnl_reorder_primitive_desc_create(&pd, &smd, g_engine, bmd, g_engine, NULL));
    DN(dnnl_primitive_create(&w->reorder, pd));
    dnnl_primitive_desc_destroy(pd);
    return 0;
fail:
    if (pd) dnnl_primitive_desc_destroy(pd);
    return -1;
}

genbo__mm_wbuf *genbo__mm_wbuf_new(const genbo__mm_plan *p, int src_trans) {
    genbo__mm_wbuf *w = genbo__calloc(1, sizeof *w);
    if (!w) return NULL;
    w->stream = p->stream;
    w->K = p->K, w->N = p->N, w->src_trans = src_trans;
    w->md = p->bmd;
    /* 64-byte aligned: the matrix units load whole cache lines; on an
     * unaligned buffer (malloc's 16 bytes) every tile row straddles two and
     * the product ran at half speed (1.9 against 1.0 ms, 1024 x 512 x 512) */
    size_t sz = (dnnl_memory_desc_get_size(&p->bmd) + 63) / 64 * 64;
    w->data = aligned_alloc(64, sz ? sz : 64);
    if (!w->data) {
        genbo__fail(GENBO_ENOMEM, "out of memory (%zu bytes)", sz);
        goto fail;
    }
    memset(w->data, 0, sz);
    /* the own packer where the layout is BA16a64b2a and it gives the same
     * bytes as the reorder on a test matrix (odd values, every position) */
    dnnl_memory_desc_t tag;
    dnnl_dims_t dims = {p->K, p->N};
    if (dnnl_memory_desc_init_by_tag(&tag, 2, dims, dnnl_bf16, dnnl_BA16a64b2a) == dnnl_success &&
        dnnl_memory_desc_equal(&tag, &p->bmd)) {
        int v = verdict_get(p->K, p->N, src_trans);
        if (v < 0) {
            if (make_reorder(w, &p->bmd)) goto fail;
            size_t n = (size_t)p->K * p->N;
            float *t = genbo__malloc(n * sizeof(float));
            void *mine = genbo__calloc(1, sz);
            if (t && mine) {
                for (size_t i = 0; i < n; i++) t[i] = (float)((double)(i % 1009) - 504.5) * 1.37e-3f;
                genbo__mm_wbuf_load(w, t); /* the reorder */
                void *keep = w->data;
                w->data = mine;
                pack_blocked(w, t);
                w->data = keep;
                v = memcmp(mine, keep, sz) == 0;
                verdict_put(p->K, p->N, src_trans, v);
            }
            free(t);
            free(mine);
        }
        w->packer = v == 1;
    }
    if (!w->packer && !w->reorder && make_reorder(w, &p->bmd)) goto fail;
    return w;
fail:
    genbo__mm_wbuf_free(w);
    return NULL;
}

void genbo__mm_wbuf_free(genbo__mm_wbuf *w) {
    if (!w) return;
    if (w->reorder) dnnl_primitive_destroy(w->reorder);
    if (w->src) dnnl_memory_destroy(w->src);
    if (w->dst) dnnl_memory_destroy(w->dst);
    free(w->data);
    free(w);
}

void genbo__mm_wbuf_load(genbo__mm_wbuf *w, const float *src) {
    if (w->packer) {
        pack_blocked(w, src);
        return;
    }
    dnnl_memory_set_data_handle(w->src, (void *)src);
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, w->src}, {DNNL_ARG_TO, w->dst}};
    dnnl_primitive_execute(w->reorder, w->stream, 2, args);
}

const void *genbo__mm_wbuf_data(const genbo__mm_wbuf *w) { return w->data; }

int genbo__mm_wbuf_load_rows(genbo__mm_wbuf *w, const float *src, int r0, int r1) {
    if (!w->packer) return -1;
    /* source rows are n (64 to a block) with src_trans, else k (32) */
    const int KB = (w->K + 31) / 32, NB = (w->N + 63) / 64;
    uint32_t *d = w->data;
    if (w->src_trans) {
        for (int nb = r0 / 64; nb < (r1 + 63) / 64; nb++)
            for (int kb = 0; kb < KB; kb++)
                pack_block(src, 1, w->K, w->N, nb, kb, d + ((size_t)nb * KB + kb) * 1024);
    } else {
        for (int kb = r0 / 32; kb < (r1 + 31) / 32; kb++)
            for (int nb = 0; nb < NB; nb++)
                pack_block(src, 0, w->K, w->N, nb, kb, d + ((size_t)nb * KB + kb) * 1024);
    }
    return 0;
}

#else /* no oneDNN at build time: fp32 only */

int genbo__mm_bf16_available(void) { return 0; }
const char *genbo__mm_isa_name(void) { return "none"; }
void genbo__mm_set_threads(int n) { (void)n; }
void genbo__mm_sync_threads(void) {}
void *genbo__mm_stream_new(void) { return NULL; }
void genbo__mm_stream_free(void *s) { (void)s; }
void genbo__mm_stream_wait(void *s) { (void)s; }
genbo__mm_plan *genbo__mm_plan_new(const genbo__mm_spec *s, void *stream) {
    (void)s, (void)stream;
    genbo__fail(GENBO_EINVAL, "genbo was built without oneDNN: no bf16 matrix products");
    return NULL;
}
void genbo__mm_plan_free(genbo__mm_plan *p) { (void)p; }
void genbo__mm_plan_run(genbo__mm_plan *p, const void *A, const void *B, const float *bias, void *C,
                 const float *src1) {
    (void)p, (void)A, (void)B, (void)bias, (void)C, (void)src1;
}
int genbo__mm_plan_b_vnni(const genbo__mm_plan *p) {
    (void)p;
    return 0;
}
genbo__mm_wbuf *genbo__mm_wbuf_new(const genbo__mm_plan *p, int src_trans) {
    (void)p, (void)src_trans;
    return NULL;
}
void genbo__mm_wbuf_free(genbo__mm_wbuf *w) { (void)w; }
void genbo__mm_wbuf_load(genbo__mm_wbuf *w, const float *src) { (void)w, (void)src; }
const void *genbo__mm_wbuf_data(const genbo__mm_wbuf *w) {
    (void)w;
    return NULL;
}
int genbo__mm_wbuf_load_rows(genbo__mm_wbuf *w, const float *src, int r0, int r1) {
    (void)w, (void)src, (void)r0, (void)r1;
    return -1;
}
#endif
