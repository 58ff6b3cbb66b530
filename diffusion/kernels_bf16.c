/* kernels_bf16.c - the bf16 mode's elementwise kernels in AVX-512 with
 * the AVX512-BF16 rounding instruction (internal; kernels.c calls them
 * where the CPU has it, which every CPU that runs the bf16 products does).
 *
 * Why by hand: GCC's vectorisation of the portable loops (kernels.c) ran
 * SiLU at 0.9 ns an element on AMX hardware, compute-bound on masked
 * if-converted code and a divide, so that the SiLU kernels took a fifth
 * of a sampling step and a quarter of a training step; these run the same
 * math as whole-vector code: exp by range reduction and a degree-6
 * polynomial (as kernels.c's fast_expf) with vscalefps for 2^n, the
 * reciprocal of 1 + e^-x by vrcp14ps and one Newton step (relative error
 * ~1e-7, below bf16's 4e-3), and vcvtneps2bf16 for the rounding to bf16
 * (round to nearest even, as kernels.c's to_bf16; it flushes denormals,
 * which the passes flush anyway). Each element is computed on its own, so
 * the result does not depend on how rows are split between threads. */
#include "diffusion/kernels_bf16.h"

#if GENBO__K_HAVE_AVX512BF16
#include <immintrin.h>
#include <stdint.h>

#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")))

int genbo__k_avx512bf16(void) {
    static int have = -1; /* one answer per process; racing first calls agree */
    int h = __atomic_load_n(&have, __ATOMIC_RELAXED);
    if (h < 0) {
        __builtin_cpu_init();
        h = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512bf16");
        __atomic_store_n(&have, h, __ATOMIC_RELAXED);
    }
    return h;
}

TGT static inline void st16(uint16_t *p, __m512 v, __mmask16 m) {
    _mm256_mask_storeu_epi16(p, m, (__m256i)_mm512_cvtneps_pbh(v));
}

TGT static inline __m512 ld16(const uint16_t *p, __mmask16 m) {
    __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}

static inline __mmask16 tail(size_t left) {
    return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
}

TGT void genbo__k_to_bf16_avx(const float *x, uint16_t *y, size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; i += 16) {
        __mmask16 m = tail(hi - i);
        st16(y + i, _mm512_maskz_loadu_ps(m, x + i), m);
    }
}

/* sigmoid to bf16 accuracy, for the inference SiLU whose result is
 * rounded to bf16 (half an ulp is 2^-9 = 2e-3 relative) and feeds nothing
 * else: e^-x = 2^n 2^f, n = round(-x log2 e), f = -x log2 e - n in
 * [-1/2, 1/2] exactly, 2^f by a degree-3 minimax polynomial (relative
 * error 7.5e-5) and 1 / (1 + e^-x) by vrcp14ps alone (6e-5). No clamp is
 * needed: f stays in range for any finite x, and vscalefps gives 0 or inf
 * for a huge n (silu -> x or -0). Measured on 512 x 512 elements in L2,
 * one core: 94 us against 194 for a degree-6 e^x and a Newton step
 * (85 us unrolled by four below); 0.6% of the bf16 results differ, by one
 * ulp, and the largest error against exact silu went from 3.89e-3 to
 * 3.95e-3. */
TGT static inline __m512 v_exp_neg_bf16(__m512 x) { /* e^-x, relative error 7.5e-5 */
    __m512 t = _mm512_mul_ps(x, _mm512_set1_ps(-1.44269504088896341f));
    __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 f = _mm512_sub_ps(t, n);
    __m512 p = _mm512_set1_ps(5.517166907e-02f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.426111222e-01f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.932609855e-01f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.999280735e-01f));
    return _mm512_scalef_ps(p, n);
}

TGT static inline __m512 v_sigmoid_bf16(__m512 x) {
    return _mm512_rcp14_ps(_mm512_add_ps(v_exp_neg_bf16(x), _mm512_set1_ps(1.0f)));
}

/* silu(x) and silu'(x) to bf16 accuracy, for the training kernels whose
 * both results are rounded to bf16: s = 1 / (1 + e), e = e^-x by
 * v_exp_neg_bf16 (v_sigmoid_bf16's polynomial), and silu' = s (1 + x (1 - s)) with
 * 1 - s = e s for x > 0, which keeps its relative accuracy where s -> 1
 * (1 - rcp14(1 + e) would carry the reciprocal's 6e-5 times x), and
 * 1 - s itself for x <= 0, where it is >= 1/2 and e s would be inf 0. */
TGT static inline void v_silu_dsilu_bf16(__m512 x, __m512 *silu, __m512 *dsilu) {
    __m512 e = v_exp_neg_bf16(x);
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 s = _mm512_rcp14_ps(_mm512_add_ps(e, one));
    __mmask16 pos = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ);
    __m512 oms = _mm512_mask_mul_ps(_mm512_sub_ps(one, s), pos, e, s); /* 1 - s */
    *silu = _mm512_mul_ps(x, s);
    *dsilu = _mm512_mul_ps(s, _mm512_fmadd_ps(x, oms, one));
}

TGT static inline void silu16(const float *x, uint16_t *y, __mmask16 m) {
    __m512 v = _mm512_maskz_loadu_ps(m, x);
    st16(y, _mm512_mul_ps(v, v_sigmoid_bf16(v)), m);
}

TGT void genbo__k_silu_bf16_avx(const float *x, uint16_t *y, size_t lo, size_t hi) {
    size_t i = lo;
    for (; i + 64 <= hi; i += 64) /* four independent vectors in flight */
        for (int k = 0; k < 64; k += 16) silu16(x + i + k, y + i + k, 0xffff);
    for (; i < hi; i += 16) silu16(x + i, y + i, tail(hi - i));
}

TGT static inline void silu16_16(const uint16_t *x, uint16_t *y, __mmask16 m) {
    __m512 v = ld16(x, m);
    st16(y, _mm512_mul_ps(v, v_sigmoid_bf16(v)), m);
}

TGT void genbo__k_silu16_bf16_avx(const uint16_t *x, uint16_t *y, size_t lo, size_t hi) {
    size_t i = lo;
    for (; i + 64 <= hi; i += 64)
        for (int k = 0; k < 64; k += 16) silu16_16(x + i + k, y + i + k, 0xffff);
    for (; i < hi; i += 16) silu16_16(x + i, y + i, tail(hi - i));
}

TGT void genbo__k_silu_sig_rows_avx(const float *x, const uint16_t *r16, const float *b, float *hn,
                                    uint16_t *y, uint16_t *sg, size_t W, size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++)
        for (size_t j = 0; j < W; j += 16) {
            const size_t o = r * W + j;
            __mmask16 m = tail(W - j);
            __m512 v = _mm512_maskz_loadu_ps(m, x + o);
            if (r16)
                v = _mm512_add_ps(_mm512_add_ps(v, ld16(r16 + o, m)), _mm512_maskz_loadu_ps(m, b + j));
            if (hn) _mm512_mask_storeu_ps(hn + o, m, v);
            __m512 a, d;
            v_silu_dsilu_bf16(v, &a, &d);
            st16(y + o, a, m);
            st16(sg + o, d, m);
        }
}

TGT void genbo__k_silu_ds16_avx(const uint16_t *x16, uint16_t *y, uint16_t *ds, size_t lo,
                                size_t hi) {
    for (size_t i = lo; i < hi; i += 16) {
        __mmask16 m = tail(hi - i);
        __m512 v = ld16(x16 + i, m), a, d;
        v_silu_dsilu_bf16(v, &a, &d);
        st16(y + i, a, m);
        st16(ds + i, d, m);
    }
}

/* 16 x 16 transpose of 32-bit words in place (v[i] lane j -> v[j] lane i):
 * 32-, 64-bit unpacks, then 128-bit lanes */
TGT static inline void tr16(__m512i v[16]) {
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(v[i], v[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(v[i], v[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        v[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        v[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        v[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        v[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_i32x4(v[i], v[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_i32x4(v[i], v[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_i32x4(v[i + 8], v[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_i32x4(v[i + 8], v[i + 12], 0xdd);
    }
    for (int i = 0; i < 4; i++) {
        v[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
        v[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xdd);
        v[i + 4] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0x88);
        v[i + 12] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0xdd);
    }
}

/* d16t[(j0 + c) ldt + r0 + i] = d16[(r0 + i) W + j0 + c] for a tile of 32
 * rows (i) x 32 columns (c < nc), the rows still in L1: a 32 x 32
 * transpose of 16-bit words in five shuffle stages, 160 one-uop shuffles
 * per tile (by 32-bit words, widened and narrowed, it took three times
 * as many); each column is one 64-byte line, written non-temporally where
 * aligned: the lines of a tile lie a row of d16t apart, and with plain
 * stores each one missed the cache for ownership (kernel 1.7x as long) */
TGT static void tr_tile32(const uint16_t *d16, size_t W, size_t j0, size_t nc, uint16_t *d16t,
                          size_t ldt, size_t r0) {
    const __mmask32 m = nc >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1u << nc) - 1u);
    __m512i r[32], s[32];
    for (int i = 0; i < 32; i++) r[i] = _mm512_maskz_loadu_epi16(m, d16 + (r0 + i) * W + j0);
    /* per 128-bit lane (8 columns): rows (i, i + 1) interleaved, cols 0-3 | 4-7 */
    for (int i = 0; i < 32; i += 2) {
        s[i] = _mm512_unpacklo_epi16(r[i], r[i + 1]);
        s[i + 1] = _mm512_unpackhi_epi16(r[i], r[i + 1]);
    }
    /* rows b .. b + 3: cols {0,1}, {2,3}, {4,5}, {6,7} */
    for (int b = 0; b < 32; b += 4) {
        r[b] = _mm512_unpacklo_epi32(s[b], s[b + 2]);
        r[b + 1] = _mm512_unpackhi_epi32(s[b], s[b + 2]);
        r[b + 2] = _mm512_unpacklo_epi32(s[b + 1], s[b + 3]);
        r[b + 3] = _mm512_unpackhi_epi32(s[b + 1], s[b + 3]);
    }
    /* s[8 G + c]: lane k holds rows 8 G .. 8 G + 7 of column 8 k + c */
    for (int e = 0; e < 32; e += 8)
        for (int q = 0; q < 4; q++) {
            s[e + 2 * q] = _mm512_unpacklo_epi64(r[e + q], r[e + 4 + q]);
            s[e + 2 * q + 1] = _mm512_unpackhi_epi64(r[e + q], r[e + 4 + q]);
        }
    /* a 4 x 4 transpose of 128-bit lanes across the four row groups */
    for (int c = 0; c < 8; c++) {
        __m512i u0 = _mm512_shuffle_i32x4(s[c], s[8 + c], 0x44), u1 = _mm512_shuffle_i32x4(s[c], s[8 + c], 0xee);
        __m512i u2 = _mm512_shuffle_i32x4(s[16 + c], s[24 + c], 0x44),
                u3 = _mm512_shuffle_i32x4(s[16 + c], s[24 + c], 0xee);
        const __m512i o[4] = {_mm512_shuffle_i32x4(u0, u2, 0x88), _mm512_shuffle_i32x4(u0, u2, 0xdd),
                              _mm512_shuffle_i32x4(u1, u3, 0x88), _mm512_shuffle_i32x4(u1, u3, 0xdd)};
        for (int k = 0; k < 4; k++) {
            const size_t col = 8 * (size_t)k + (size_t)c;
            if (col >= nc) continue;
            uint16_t *dst = d16t + (j0 + col) * ldt + r0;
            if (((uintptr_t)dst & 63) == 0)
                _mm512_stream_si512((void *)dst, o[k]);
            else
                _mm512_storeu_si512(dst, o[k]);
        }
    }
}

/* With d16t also the transpose (W x ldt), from d16 as just written (32
 * rows of W = 512 are 32 KB, in L1), in 32 x 32 tiles, column tiles outer
 * (each column's 32-row runs are then adjacent lines); leftover rows word
 * by word. Measured (1024 x 512, one thread, cold buffers): 0.28 ms
 * without d16t, 0.51 with; t itself computed 32 rows at a time, a
 * column strip of each, took twice as long (many strided streams), and
 * as 128- or 256-row units the transpose was no faster. */
TGT void genbo__k_dsilu_rows_avx(const uint16_t *ds, const uint16_t *dy, const float *dres, float *d,
                                 uint16_t *d16, uint16_t *d16t, size_t ldt, float *part, size_t W,
                                 size_t r0, size_t r1) {
    if (part)
        for (size_t j = 0; j < W; j++) part[j] = 0.0f;
    for (size_t r = r0; r < r1; r++) {
        for (size_t j = 0; j < W; j += 16) {
            const size_t o = r * W + j;
            __mmask16 m = tail(W - j);
            __m512 t = _mm512_mul_ps(ld16(dy + o, m), ld16(ds + o, m));
            if (dres) t = _mm512_add_ps(t, _mm512_maskz_loadu_ps(m, dres + o));
            if (d) _mm512_mask_storeu_ps(d + o, m, t);
            if (part)
                _mm512_mask_storeu_ps(part + j, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, part + j), t));
            st16(d16 + o, t, m);
        }
    }
    if (d16t)
        for (size_t j = 0; j < W; j += 32)
            for (size_t g = r0; g + 32 <= r1; g += 32) tr_tile32(d16, W, j, W - j < 32 ? W - j : 32, d16t, ldt, g);
    if (!d16t) return;
    for (size_t r = r0 + (r1 - r0) / 32 * 32; r < r1; r++)
        for (size_t j = 0; j < W; j++) d16t[j * ldt + r] = d16[r * W + j];
    _mm_sfence(); /* the non-temporal stores before the product reads them */
}

/* Rows [r0, r1) of y (bf16, row-major, W columns; NULL: zero rows) into
 * yb, oneDNN's blocked layout BA16a64b2a of a K x W matrix with
 * KB = ceil(K / 32) row blocks (see mm.c's pack_block): element (k, n) at
 *   ((nb KB + kb) 16 + kp) 128 + 2 ni + (k & 1),
 *   k = 32 kb + 2 kp + (k & 1), n = 64 nb + ni,
 * columns n >= W written as zeros. Both rows of a pair in the range: one
 * 64-byte store of 16 (k, k + 1) pairs, non-temporal where aligned (only
 * the backward pass reads the copy, long after); a lone row: its 16-bit
 * halves. Measured: 0.12 ms per 1024 x 512 matrix on top of its kernel. */
TGT void genbo__k_vnni_rows_avx(const uint16_t *y, size_t W, size_t KB, size_t r0, size_t r1,
                                uint16_t *yb) {
    const size_t NB = (W + 63) / 64;
    for (size_t k = r0; k < r1;) {
        const int pair = (k & 1) == 0 && k + 1 < r1;
        uint16_t *base = yb + ((k >> 5) * 16 + ((k & 31) >> 1)) * 128;
        for (size_t nb = 0; nb < NB; nb++)
            for (size_t g = 0; g < 4; g++) {
                const size_t j = 64 * nb + 16 * g;
                const __mmask16 m = !y || j >= W ? 0 : tail(W - j);
                uint16_t *o = base + nb * KB * 2048 + 32 * g;
                __m512i lo = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, y + k * W + j));
                if (pair) {
                    __m512i hi = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, y + (k + 1) * W + j));
                    __m512i v = _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
                    if (((uintptr_t)o & 63) == 0)
                        _mm512_stream_si512((void *)o, v);
                    else
                        _mm512_storeu_si512(o, v);
                } else if (k & 1) {
                    _mm512_mask_storeu_epi16(o, 0xAAAAAAAAu, _mm512_slli_epi32(lo, 16));
                } else {
                    _mm512_mask_storeu_epi16(o, 0x55555555u, lo);
                }
            }
        k += pair ? 2 : 1;
    }
    _mm_sfence();
}

/* mm.c's weight packer, one block of the BA16a64b2a layout (see there):
 * rows k, k + 1 of a row-major source as (k, k + 1) pairs of 64 columns */
TGT void genbo__k_pack_pairs_avx(const float *r0, const float *r1, uint32_t *o) {
    for (int g = 0; g < 64; g += 16) {
        __m512i a = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(r0 + g)));
        __m512i b = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(r1 + g)));
        _mm512_storeu_si512(o + g, _mm512_or_si512(a, _mm512_slli_epi32(b, 16)));
    }
}

/* ... and from a transposed source: row n holds the 32 consecutive k of
 * the block, whose bf16 pairs are 16 words for kp = 0..15; 16 rows
 * (columns ni .. ni + 15) at a time, transposed 16 x 16 in registers, so
 * that o[64 kp + ni ..] is written 16 words at a time (a scatter of each
 * row's words took 0.74 ms for 512 x 512) */
TGT void genbo__k_pack_cols_avx(const float *src, size_t ld, uint32_t *o) {
    __m512i v[16];
    for (int i = 0; i < 16; i++) {
        const float *r = src + (size_t)i * ld;
        v[i] = (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(r + 16), _mm512_loadu_ps(r));
    }
    tr16(v);
    for (int kp = 0; kp < 16; kp++) _mm512_storeu_si512(o + 64 * kp, v[kp]);
}

#else
int genbo__k_avx512bf16(void) { return 0; }
#endif
