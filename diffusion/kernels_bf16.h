/* kernels_bf16.h - AVX-512 + AVX512-BF16 versions of the bf16 mode's
 * elementwise kernels (internal; see kernels_bf16.c). kernels.c calls them
 * when genbo__k_avx512bf16() says the CPU runs them; the arguments are the
 * portable versions' (element ranges [lo, hi), or rows [r0, r1) of W). */
#ifndef GENBO_DIFFUSION_KERNELS_BF16_H
#define GENBO_DIFFUSION_KERNELS_BF16_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) && ((defined(__GNUC__) && __GNUC__ >= 10) || defined(__clang__))
#define GENBO__K_HAVE_AVX512BF16 1
#else
#define GENBO__K_HAVE_AVX512BF16 0
#endif

int genbo__k_avx512bf16(void);
void genbo__k_to_bf16_avx(const float *x, uint16_t *y, size_t lo, size_t hi);
void genbo__k_silu_bf16_avx(const float *x, uint16_t *y, size_t lo, size_t hi);
void genbo__k_silu16_bf16_avx(const uint16_t *x, uint16_t *y, size_t lo, size_t hi);
void genbo__k_silu_sig_rows_avx(const float *x, const uint16_t *r16, const float *b, float *hn,
                                uint16_t *y, uint16_t *sg, size_t W, size_t r0, size_t r1);
void genbo__k_silu_ds16_avx(const uint16_t *x16, uint16_t *y, uint16_t *ds, size_t lo, size_t hi);
void genbo__k_dsilu_rows_avx(const uint16_t *ds, const uint16_t *dy, const float *dres, float *d,
                             uint16_t *d16, uint16_t *d16t, size_t ldt, float *part, size_t W,
                             size_t r0, size_t r1);
void genbo__k_vnni_rows_avx(const uint16_t *y, size_t W, size_t KB, size_t r0, size_t r1,
                            uint16_t *yb);
/* mm.c's weight packer (a block of BA16a64b2a): 64 (k, k + 1) pairs from
 * rows r0, r1; or, from 16 rows of a transposed source (stride ld), the
 * 16 pairs of 32 consecutive k of each, to o[64 kp + i] */
void genbo__k_pack_pairs_avx(const float *r0, const float *r1, uint32_t *o);
void genbo__k_pack_cols_avx(const float *src, size_t ld, uint32_t *o);

#endif
