/* kernels.h - elementwise kernels of the score network (internal).
 * Plain loops over flat float arrays, written so the compiler vectorises
 * them (kernels.c builds AVX2/AVX-512 clones next to the baseline). */
#ifndef GENBO_DIFFUSION_KERNELS_H
#define GENBO_DIFFUSION_KERNELS_H

#include <stddef.h>

/* z[i][j] += b[j]; a[i][j] = silu(z[i][j])  (B rows of W) */
void dk_bias_silu(float *z, const float *b, float *a, size_t B, size_t W);
/* dst[i][j] = src[i][j] + b[j] */
void dk_copy_add_bias(float *dst, const float *src, const float *b, size_t B, size_t W);
/* h[i][j] += b[j] */
void dk_add_bias(float *h, const float *b, size_t B, size_t W);
/* dz = dy * silu'(z) */
void dk_silu_grad(const float *z, const float *dy, float *dz, size_t n);
/* dh = dres + da * silu'(h) */
void dk_silu_grad_add(const float *h, const float *da, const float *dres, float *dh, size_t n);
/* out[j] = sum_i d[i][j], rows summed in order (deterministic) */
void dk_colsum(const float *d, size_t B, size_t W, float *out);

#endif
