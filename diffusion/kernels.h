/* kernels.h - elementwise kernels of the score network (internal).
 * Plain loops over flat float arrays, written so the compiler vectorises
 * them (kernels.c builds AVX2/AVX-512 clones next to the baseline). */
#ifndef GENBO_DIFFUSION_KERNELS_H
#define GENBO_DIFFUSION_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* z[i][j] += b[j]; a[i][j] = silu(z[i][j])  (B rows of W) */
void genbo__k_bias_silu(float *z, const float *b, float *a, size_t B, size_t W);
/* dst[i][j] = src[i][j] + b[j] */
void genbo__k_copy_add_bias(float *dst, const float *src, const float *b, size_t B, size_t W);
/* h[i][j] += b[j] */
void genbo__k_add_bias(float *h, const float *b, size_t B, size_t W);
/* dz = dy * silu'(z) */
void genbo__k_silu_grad(const float *z, const float *dy, float *dz, size_t n);
/* dh = dres + da * silu'(h) */
void genbo__k_silu_grad_add(const float *h, const float *da, const float *dres, float *dh, size_t n);
/* out[j] = sum_i d[i][j], rows summed in order (deterministic) */
void genbo__k_colsum(const float *d, size_t B, size_t W, float *out);

#endif

/* ---- bf16 mode (net_bf16.c): fp32 -> bf16 rounding to nearest even.
 * These run in OpenMP's threads, the pool oneDNN's products use (every
 * element on its own: the result does not depend on the thread count). */
/* y = bf16(x) */
void genbo__k_to_bf16(const float *x, uint16_t *y, size_t n);
/* y = bf16(silu(x)) */
void genbo__k_silu_bf16(const float *x, uint16_t *y, size_t n);
/* dz = dy * silu'(z), dz16 = bf16(dz) */
void genbo__k_silu_grad_bf16(const float *z, const float *dy, float *dz, uint16_t *dz16, size_t n);
/* dh += da * silu'(h), dh16 = bf16(dh) */
void genbo__k_silu_grad_add_bf16(const float *h, const float *da, float *dh, uint16_t *dh16, size_t n);
