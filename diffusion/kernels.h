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
/* Sum of x_k^2 in double (the gradient norm), in parallel blocks; the
 * order of the additions depends on n only, not on the thread count. */
double genbo__k_sumsq(const float *x, size_t n);
/* s = sin x, c = cos x elementwise, |x| < 2^20, ~1 ulp (kernels.c). */
void genbo__k_sincos(const float *x, size_t n, float *s, float *c);

#endif

/* ---- bf16 mode (net_bf16.c): fp32 -> bf16 rounding to nearest even.
 * These run in OpenMP's threads, the pool oneDNN's products use (every
 * element on its own: the result does not depend on the thread count). */
/* y = bf16(x) */
void genbo__k_to_bf16(const float *x, uint16_t *y, size_t n);
/* y = bf16(silu(x)) */
void genbo__k_silu_bf16(const float *x, uint16_t *y, size_t n);
/* y = bf16(silu(x)) from a bf16 x (y may be x) */
void genbo__k_silu16_bf16(const uint16_t *x, uint16_t *y, size_t n);
/* Training passes (B rows of W). Forward: v = x, or with r16 the next
 * residual value v = x + r16 + b (x = h_l, r16 = the block's branch in
 * bf16 from its product, b its output bias), written to hn when given
 * (hn may be x);
 * act16 = bf16(silu(v)) and ds16 = bf16(silu'(v)), the derivative kept
 * for the backward pass (which then reads neither h nor an exp); actb
 * (when given) = act16 also in oneDNN's blocked layout BA16a64b2a of a
 * B x W matrix (ceil(B / 32) 32 x ceil(W / 64) 64 elements, padding
 * zero), the weight-gradient product's B operand, written while the rows
 * are in L1 so that the product does not re-pack it on every call. */
void genbo__k_silu_sig_bf16(const float *x, const uint16_t *r16, const float *b, float *hn,
                            uint16_t *act16, uint16_t *actb, uint16_t *ds16, size_t B, size_t W);
/* The same from a bf16 x (the pre-activation z, written in bf16 by its
 * product), B rows of W, no hn. */
void genbo__k_silu_ds_bf16(const uint16_t *x16, uint16_t *act16, uint16_t *actb, uint16_t *ds16,
                           size_t B, size_t W);
/* y = bf16(x) (B rows of W) and yb the same in the blocked layout */
void genbo__k_to_bf16_rows(const float *x, uint16_t *y, uint16_t *yb, size_t B, size_t W);
/* Backward: t = dy16 * ds16 (+ dres when given); d = t (fp32, when
 * given), d16 = bf16(t), d16t = its transpose (W x B, when given: the
 * weight-gradient product dW = t^T X then reads its A operand row-major
 * instead of transposed), colsum = column sums of t (when given; scratch
 * holds genbo__k_colsum_scratch(B, W) floats). */
void genbo__k_dsilu_bf16(const uint16_t *ds16, const uint16_t *dy16, const float *dres, float *d,
                         uint16_t *d16, uint16_t *d16t, float *colsum, float *scratch, size_t B,
                         size_t W);
size_t genbo__k_colsum_scratch(size_t B, size_t W);
/* Sum of x_k^2 of bf16 values, in double and genbo__k_sumsq's order. */
double genbo__k_sumsq16(const uint16_t *x, size_t n);
/* y = x (bf16 widened to fp32, exact) */
void genbo__k_from_bf16(const uint16_t *x, float *y, size_t n);
