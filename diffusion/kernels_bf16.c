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

TGT static inline __m512 v_exp(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

TGT static inline __m512 v_sigmoid(__m512 x) {
    __m512 d = _mm512_add_ps(_mm512_set1_ps(1.0f), v_exp(_mm512_sub_ps(_mm512_setzero_ps(), x)));
    __m512 s = _mm512_rcp14_ps(d);
    return _mm512_mul_ps(s, _mm512_fnmadd_ps(d, s, _mm512_set1_ps(2.0f))); /* Newton */
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

TGT void genbo__k_silu_bf16_avx(const float *x, uint16_t *y, size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; i += 16) {
        __mmask16 m = tail(hi - i);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        st16(y + i, _mm512_mul_ps(v, v_sigmoid(v)), m);
    }
}

TGT void genbo__k_silu_sig_rows_avx(const float *x, uint16_t *y, uint16_t *sg, float *hn,
                                    const float *b, size_t W, size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; r++)
        for (size_t j = 0; j < W; j += 16) {
            const size_t o = r * W + j;
            __mmask16 m = tail(W - j);
            __m512 v = _mm512_maskz_loadu_ps(m, x + o), s = v_sigmoid(v);
            if (hn) _mm512_mask_storeu_ps(hn + o, m, _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, b + j)));
            st16(y + o, _mm512_mul_ps(v, s), m);
            st16(sg + o, s, m);
        }
}

TGT void genbo__k_dsilu_rows_avx(const float *x, const uint16_t *sg, const float *dy,
                                 const float *dres, float *d, uint16_t *d16, float *part, size_t W,
                                 size_t r0, size_t r1) {
    if (part)
        for (size_t j = 0; j < W; j++) part[j] = 0.0f;
    const __m512 one = _mm512_set1_ps(1.0f);
    for (size_t r = r0; r < r1; r++)
        for (size_t j = 0; j < W; j += 16) {
            const size_t o = r * W + j;
            __mmask16 m = tail(W - j);
            __m512 s = ld16(sg + o, m), v = _mm512_maskz_loadu_ps(m, x + o);
            /* silu'(x) = s (1 + x (1 - s)) */
            __m512 g = _mm512_mul_ps(s, _mm512_fmadd_ps(v, _mm512_sub_ps(one, s), one));
            __m512 t = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, dy + o), g);
            if (dres) t = _mm512_add_ps(t, _mm512_maskz_loadu_ps(m, dres + o));
            if (d) _mm512_mask_storeu_ps(d + o, m, t);
            if (part)
                _mm512_mask_storeu_ps(part + j, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, part + j), t));
            st16(d16 + o, t, m);
        }
}

#else
int genbo__k_avx512bf16(void) { return 0; }
#endif
