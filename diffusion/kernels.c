/* kernels.c - elementwise kernels of the score network.
 *
 * SiLU needs exp() for every hidden unit of every row; libm's expf is a
 * scalar call the compiler cannot vectorise, and it costs as much as a
 * good part of the matrix products at width 256-512. fast_expf below is a
 * Cephes-style range reduction (x = n ln2 + r) with a degree-6 polynomial
 * for e^r, relative error ~2e-7, written with plain arithmetic and integer
 * bit tricks only, so GCC vectorises the loops. target_clones builds an
 * AVX-512, an AVX2+FMA and a baseline copy of each kernel and picks one
 * when the library loads: portable binaries, fast on this machine. */
#include <stdint.h>
#include <string.h>

#include "kernels.h"
#include "kernels_bf16.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__)
#define DK_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DK_CLONES
#endif

static inline float fast_expf(float x) {
    /* clamp so 2^n stays a normal float; silu/sigmoid saturate anyway */
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    /* n = round(x / ln2) by the 1.5 * 2^23 trick (no rint call) */
    /* NaN passes the clamp; converting it to an integer would be undefined,
     * so n is read from t's mantissa bits instead (t = 1.5 * 2^23 + n holds
     * n in its low bits): a NaN input gives a NaN output, never UB. */
    const float shifter = 12582912.0f;
    float t = x * 1.44269504088896341f + shifter;
    float n = t - shifter;
    uint32_t tbits;
    memcpy(&tbits, &t, sizeof tbits);
    uint32_t ni = tbits - 0x4B400000u; /* the bits of 1.5 * 2^23 */
    float r = x - n * 0.693359375f; /* ln2 split in a high and a low part */
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    uint32_t bits = (ni + 127u) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

static inline float sigm(float x) { return 1.0f / (1.0f + fast_expf(-x)); }

DK_CLONES
void genbo__k_bias_silu(float *z, const float *b, float *a, size_t B, size_t W) {
    for (size_t i = 0; i < B; i++) {
        float *zr = z + i * W, *ar = a + i * W;
        for (size_t j = 0; j < W; j++) {
            float v = zr[j] + b[j];
            zr[j] = v;
            ar[j] = v * sigm(v);
        }
    }
}

DK_CLONES
void genbo__k_copy_add_bias(float *dst, const float *src, const float *b, size_t B, size_t W) {
    for (size_t i = 0; i < B; i++)
        for (size_t j = 0; j < W; j++) dst[i * W + j] = src[i * W + j] + b[j];
}

DK_CLONES
void genbo__k_add_bias(float *h, const float *b, size_t B, size_t W) {
    for (size_t i = 0; i < B; i++)
        for (size_t j = 0; j < W; j++) h[i * W + j] += b[j];
}

/* silu'(z) = s + z s (1 - s), s = sigmoid(z) */
DK_CLONES
void genbo__k_silu_grad(const float *z, const float *dy, float *dz, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float s = sigm(z[i]);
        dz[i] = dy[i] * (s + z[i] * s * (1.0f - s));
    }
}

DK_CLONES
void genbo__k_silu_grad_add(const float *h, const float *da, const float *dres, float *dh, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float s = sigm(h[i]);
        dh[i] = dres[i] + da[i] * (s + h[i] * s * (1.0f - s));
    }
}

DK_CLONES
void genbo__k_colsum(const float *d, size_t B, size_t W, float *out) {
    for (size_t j = 0; j < W; j++) out[j] = 0.0f;
    for (size_t i = 0; i < B; i++)
        for (size_t j = 0; j < W; j++) out[j] += d[i * W + j];
}

/* Exposed for tests and for silu of the output layer. */
float genbo__net_sigmoidf(float x) { return sigm(x); }

DK_CLONES
void genbo__net_silu(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] * sigm(x[i]);
}

/* ---- bf16 mode ------------------------------------------------------- */

static inline uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    u += 0x7fffu + ((u >> 16) & 1u); /* round to nearest, ties to even */
    return (uint16_t)(u >> 16);
}

DK_CLONES
static void to_bf16_range(const float *x, uint16_t *y, size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; i++) y[i] = to_bf16(x[i]);
}

/* Each kernel works through its range in tiles of DK_TILE: the fp32 math
 * in one loop, the rounding to bf16 in another. GCC does not vectorise
 * the two in one loop (the mixed widths defeat the if-conversion of
 * fast_expf's clamp), and a tile stays in L1. */
#define DK_TILE 512

DK_CLONES
static void silu_bf16_range(const float *x, uint16_t *y, size_t lo, size_t hi) {
    float t[DK_TILE];
    for (size_t i0 = lo; i0 < hi; i0 += DK_TILE) {
        size_t m = hi - i0 < DK_TILE ? hi - i0 : DK_TILE;
        const float *xr = x + i0;
        for (size_t i = 0; i < m; i++) t[i] = xr[i] * sigm(xr[i]);
        for (size_t i = 0; i < m; i++) y[i0 + i] = to_bf16(t[i]);
    }
}

/* Blocks of 16 K elements: small inputs stay on one thread (waking the
 * pool costs more than the work). */
#define DK_BLOCK 16384
#ifdef _OPENMP
#define DK_OMP_FOR _Pragma("omp parallel for schedule(static) if (nb_ > 1)")
#else
#define DK_OMP_FOR
#endif
#define DK_PARALLEL(n, call)                                                   \
    do {                                                                       \
        const long nb_ = (long)(((n) + DK_BLOCK - 1) / DK_BLOCK);              \
        DK_OMP_FOR                                                             \
        for (long b_ = 0; b_ < nb_; b_++) {                                    \
            size_t lo = (size_t)b_ * DK_BLOCK;                                 \
            size_t hi = lo + DK_BLOCK < (n) ? lo + DK_BLOCK : (n);             \
            call;                                                              \
        }                                                                      \
    } while (0)

static inline float from_bf16(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Rows [r0, r1) of y (B x W) into oneDNN's blocked layout of the weight
 * gradient products' B operand (BA16a64b2a of B x W, see
 * kernels_bf16.c's genbo__k_vnni_rows_avx); the block holding the last
 * row also zeroes the padding rows up to a multiple of 32, which oneDNN
 * requires to be zero (the buffer holds other row counts' layouts too). */
static void vnni_rows(const uint16_t *y, size_t W, size_t KB, size_t r0, size_t r1, uint16_t *yb) {
    const size_t NB = (W + 63) / 64;
    for (size_t k = r0; k < r1; k++)
        for (size_t n = 0; n < 64 * NB; n++)
            yb[(((n / 64) * KB + k / 32) * 16 + (k % 32) / 2) * 128 + 2 * (n % 64) + (k & 1)] =
                y && n < W ? y[k * W + n] : 0;
}

static void vnni_block(const uint16_t *y, size_t B, size_t W, size_t r0, size_t r1, uint16_t *yb,
                       int avx) {
    const size_t KB = (B + 31) / 32;
    if (avx)
        genbo__k_vnni_rows_avx(y, W, KB, r0, r1, yb);
    else
        vnni_rows(y, W, KB, r0, r1, yb);
    if (r1 == B && B < 32 * KB) {
        if (avx)
            genbo__k_vnni_rows_avx(NULL, W, KB, B, 32 * KB, yb);
        else
            vnni_rows(NULL, W, KB, B, 32 * KB, yb);
    }
}

/* Training passes work on blocks of whole rows (about DK_BLOCK elements):
 * a block's column sums are one partial sum, and the partials are added
 * in block order, so the result does not depend on the thread count. */
static size_t rows_per_block(size_t W) { return W >= DK_BLOCK ? 1 : DK_BLOCK / W; }

/* DK_PARALLEL's twin for kernels over B x W rows: `body` runs once per
 * block of whole rows [r0, r1) (rows_per_block(W) each), the blocks over
 * OpenMP's threads. */
#define DK_ROW_BLOCKS(B, W, body)                                              \
    do {                                                                       \
        const size_t rows_ = rows_per_block(W);                                \
        const long nb_ = (long)(((B) + rows_ - 1) / rows_);                    \
        DK_OMP_FOR                                                             \
        for (long b_ = 0; b_ < nb_; b_++) {                                    \
            size_t r0 = (size_t)b_ * rows_;                                    \
            size_t r1 = r0 + rows_ < (B) ? r0 + rows_ : (B);                   \
            body;                                                              \
        }                                                                      \
    } while (0)

DK_CLONES
static void silu_sig_rows(const float *x, const uint16_t *r16, const float *b, float *hn,
                          uint16_t *y, uint16_t *sg, size_t W, size_t r0, size_t r1) {
    float t[DK_TILE], u[DK_TILE], v[DK_TILE];
    for (size_t r = r0; r < r1; r++) {
        for (size_t j0 = 0; j0 < W; j0 += DK_TILE) {
            const size_t m = W - j0 < DK_TILE ? W - j0 : DK_TILE, o = r * W + j0;
            const float *xr = x + o;
            if (r16) {
                for (size_t j = 0; j < m; j++) v[j] = xr[j] + from_bf16(r16[o + j]) + b[j0 + j];
                xr = v;
            }
            if (hn)
                for (size_t j = 0; j < m; j++) hn[o + j] = xr[j];
            for (size_t j = 0; j < m; j++) {
                float s = sigm(xr[j]);
                u[j] = s * (1.0f + xr[j] * (1.0f - s)); /* silu'(x) */
                t[j] = xr[j] * s;
            }
            for (size_t j = 0; j < m; j++) y[o + j] = to_bf16(t[j]);
            for (size_t j = 0; j < m; j++) sg[o + j] = to_bf16(u[j]);
        }
    }
}

void genbo__k_silu_sig_bf16(const float *x, const uint16_t *r16, const float *b, float *hn,
                            uint16_t *act16, uint16_t *actb, uint16_t *ds16, size_t B, size_t W) {
    const int avx = genbo__k_avx512bf16();
    DK_ROW_BLOCKS(B, W, {
        if (avx)
            genbo__k_silu_sig_rows_avx(x, r16, b, hn, act16, ds16, W, r0, r1);
        else
            silu_sig_rows(x, r16, b, hn, act16, ds16, W, r0, r1);
        if (actb) vnni_block(act16, B, W, r0, r1, actb, avx); /* the rows still in L1 */
    });
}

DK_CLONES
static void silu16_range(const uint16_t *x, uint16_t *y, size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; i++) {
        float v = from_bf16(x[i]);
        y[i] = to_bf16(v * sigm(v));
    }
}

void genbo__k_silu16_bf16(const uint16_t *x, uint16_t *y, size_t n) {
    if (genbo__k_avx512bf16())
        DK_PARALLEL(n, genbo__k_silu16_bf16_avx(x, y, lo, hi));
    else
        DK_PARALLEL(n, silu16_range(x, y, lo, hi));
}

DK_CLONES
static void silu_ds16_range(const uint16_t *x16, uint16_t *y, uint16_t *ds, size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; i++) {
        float x = from_bf16(x16[i]), s = sigm(x);
        y[i] = to_bf16(x * s);
        ds[i] = to_bf16(s * (1.0f + x * (1.0f - s)));
    }
}

void genbo__k_silu_ds_bf16(const uint16_t *x16, uint16_t *act16, uint16_t *actb, uint16_t *ds16,
                           size_t B, size_t W) {
    const size_t n = B * W;
    const int avx = genbo__k_avx512bf16();
    if (actb) { /* in blocks of whole rows, each packed while in L1 */
        DK_ROW_BLOCKS(B, W, {
            if (avx)
                genbo__k_silu_ds16_avx(x16, act16, ds16, r0 * W, r1 * W);
            else
                silu_ds16_range(x16, act16, ds16, r0 * W, r1 * W);
            vnni_block(act16, B, W, r0, r1, actb, avx);
        });
        return;
    }
    if (avx)
        DK_PARALLEL(n, genbo__k_silu_ds16_avx(x16, act16, ds16, lo, hi));
    else
        DK_PARALLEL(n, silu_ds16_range(x16, act16, ds16, lo, hi));
}

/* t = dy silu'(x), silu'(x) read back from the forward pass; with dres
 * t += dres (dres may be d itself); d fp32 is written only where `d` is
 * given. */
DK_CLONES
static void dsilu_rows(const uint16_t *ds, const uint16_t *dy, const float *dres, float *d,
                       uint16_t *d16, uint16_t *d16t, size_t ldt, float *part, size_t W, size_t r0,
                       size_t r1) {
    float t[DK_TILE];
    if (part)
        for (size_t j = 0; j < W; j++) part[j] = 0.0f;
    for (size_t r = r0; r < r1; r++) {
        for (size_t j0 = 0; j0 < W; j0 += DK_TILE) {
            const size_t m = W - j0 < DK_TILE ? W - j0 : DK_TILE, o = r * W + j0;
            for (size_t j = 0; j < m; j++) t[j] = from_bf16(dy[o + j]) * from_bf16(ds[o + j]);
            if (dres)
                for (size_t j = 0; j < m; j++) t[j] += dres[o + j];
            if (d)
                for (size_t j = 0; j < m; j++) d[o + j] = t[j];
            if (part)
                for (size_t j = 0; j < m; j++) part[j0 + j] += t[j];
            for (size_t j = 0; j < m; j++) d16[o + j] = to_bf16(t[j]);
            if (d16t)
                for (size_t j = 0; j < m; j++) d16t[(j0 + j) * ldt + r] = d16[o + j];
        }
    }
}

size_t genbo__k_colsum_scratch(size_t B, size_t W) {
    const size_t rows = rows_per_block(W);
    return (B + rows - 1) / rows * W;
}

void genbo__k_dsilu_bf16(const uint16_t *ds16, const uint16_t *dy16, const float *dres, float *d,
                         uint16_t *d16, uint16_t *d16t, float *colsum, float *scratch, size_t B,
                         size_t W) {
    const size_t rows = rows_per_block(W);
    const long nb_ = (long)((B + rows - 1) / rows);
    const int avx = genbo__k_avx512bf16();
    DK_OMP_FOR
    for (long b_ = 0; b_ < nb_; b_++) {
        size_t r0 = (size_t)b_ * rows;
        size_t r1 = r0 + rows < B ? r0 + rows : B;
        float *part = colsum ? scratch + (size_t)b_ * W : NULL;
        if (avx)
            genbo__k_dsilu_rows_avx(ds16, dy16, dres, d, d16, d16t, B, part, W, r0, r1);
        else
            dsilu_rows(ds16, dy16, dres, d, d16, d16t, B, part, W, r0, r1);
    }
    if (!colsum) return;
    for (size_t j = 0; j < W; j++) colsum[j] = 0.0f;
    for (long b_ = 0; b_ < nb_; b_++)
        for (size_t j = 0; j < W; j++) colsum[j] += scratch[(size_t)b_ * W + j];
}

void genbo__k_to_bf16_rows(const float *x, uint16_t *y, uint16_t *yb, size_t B, size_t W) {
    const int avx = genbo__k_avx512bf16();
    DK_ROW_BLOCKS(B, W, {
        if (avx)
            genbo__k_to_bf16_avx(x, y, r0 * W, r1 * W);
        else
            to_bf16_range(x, y, r0 * W, r1 * W);
        vnni_block(y, B, W, r0, r1, yb, avx);
    });
}

void genbo__k_to_bf16(const float *x, uint16_t *y, size_t n) {
    if (genbo__k_avx512bf16())
        DK_PARALLEL(n, genbo__k_to_bf16_avx(x, y, lo, hi));
    else
        DK_PARALLEL(n, to_bf16_range(x, y, lo, hi));
}

void genbo__k_silu_bf16(const float *x, uint16_t *y, size_t n) {
    if (genbo__k_avx512bf16())
        DK_PARALLEL(n, genbo__k_silu_bf16_avx(x, y, lo, hi));
    else
        DK_PARALLEL(n, silu_bf16_range(x, y, lo, hi));
}

/* Sums of squares in double, in an order fixed by n alone (never by the
 * thread count): at most SUMSQ_PARTS blocks of whole 32-element groups,
 * summed in parallel, each over 32 interleaved partial sums (four vectors
 * of independent chains), the block sums added in block order. One
 * serial chain of n dependent additions took 3.4 ms for W1's 2.2 M
 * gradient entries (fp32), the bf16 path's eight chains 1.1 ms a step;
 * a bf16 value squared is exact in double, so genbo__k_sumsq16(x) equals
 * genbo__k_sumsq of x widened, bit for bit. */
enum { SUMSQ_LANES = 32, SUMSQ_PARTS = 64 };

static size_t sumsq_block(size_t n) {
    size_t b = (n + SUMSQ_PARTS - 1) / SUMSQ_PARTS;
    b = (b + SUMSQ_LANES - 1) / SUMSQ_LANES * SUMSQ_LANES;
    return b < DK_BLOCK ? DK_BLOCK : b;
}

static double lanes_total(double *s) { /* pairwise, a fixed tree */
    for (int w = SUMSQ_LANES / 2; w >= 1; w /= 2)
        for (int j = 0; j < w; j++) s[j] += s[j + w];
    return s[0];
}

DK_CLONES
static double sumsq_range(const float *x, size_t lo, size_t hi) {
    double s[SUMSQ_LANES] = {0};
    size_t k = lo;
    for (; k + SUMSQ_LANES <= hi; k += SUMSQ_LANES)
        for (int j = 0; j < SUMSQ_LANES; j++) s[j] += (double)x[k + j] * x[k + j];
    for (; k < hi; k++) s[(k - lo) & (SUMSQ_LANES - 1)] += (double)x[k] * x[k];
    return lanes_total(s);
}

DK_CLONES
static double sumsq16_range(const uint16_t *x, size_t lo, size_t hi) {
    double s[SUMSQ_LANES] = {0};
    size_t k = lo;
    for (; k + SUMSQ_LANES <= hi; k += SUMSQ_LANES)
        for (int j = 0; j < SUMSQ_LANES; j++) {
            const double v = from_bf16(x[k + j]);
            s[j] += v * v;
        }
    for (; k < hi; k++) {
        const double v = from_bf16(x[k]);
        s[(k - lo) & (SUMSQ_LANES - 1)] += v * v;
    }
    return lanes_total(s);
}

/* tot = the sum of range_call over the blocks of [0, n) (sumsq_block) */
#define SUMSQ_BLOCKS(tot, n, range_call)                                       \
    do {                                                                       \
        const size_t bs_ = sumsq_block(n);                                     \
        const long nb_ = (long)(((n) + bs_ - 1) / bs_);                        \
        double part_[SUMSQ_PARTS];                                             \
        DK_OMP_FOR                                                             \
        for (long b_ = 0; b_ < nb_; b_++) {                                    \
            const size_t lo = (size_t)b_ * bs_, hi = lo + bs_ < (n) ? lo + bs_ : (n); \
            part_[b_] = range_call;                                            \
        }                                                                      \
        tot = 0;                                                               \
        for (long b_ = 0; b_ < nb_; b_++) tot += part_[b_];                    \
    } while (0)

double genbo__k_sumsq(const float *x, size_t n) {
    double s;
    SUMSQ_BLOCKS(s, n, sumsq_range(x, lo, hi));
    return s;
}

double genbo__k_sumsq16(const uint16_t *x, size_t n) {
    double s;
    SUMSQ_BLOCKS(s, n, sumsq16_range(x, lo, hi));
    return s;
}

DK_CLONES
static void from_bf16_range(const uint16_t *x, float *y, size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; i++) y[i] = from_bf16(x[i]);
}

void genbo__k_from_bf16(const uint16_t *x, float *y, size_t n) { DK_PARALLEL(n, from_bf16_range(x, y, lo, hi)); }

/* sin and cos of n arguments |x| < 2^20 (the embeddings' f_k s: |x| < 100),
 * vectorised: Cephes' single-precision method. x = j pi/2 + r by a
 * three-part pi/2 (Cody-Waite, exact for |j| < 2^12 and accurate beyond),
 * |r| <= pi/4, degree-7 sine and degree-8 cosine polynomials of r, the
 * quadrant j mod 4 picking and signing them; error ~1 ulp. libm's
 * sinf/cosf are scalar calls: 1,024 rows x 64 frequencies of t and y
 * were 0.5 ms of a W1 training step (the "input rows" phase). */
DK_CLONES
void genbo__k_sincos(const float *x, size_t n, float *s, float *c) {
    const float shifter = 12582912.0f; /* 1.5 2^23: rounds to an integer */
    for (size_t i = 0; i < n; i++) {
        float t = x[i] * 0.636619772367581343f + shifter;
        float j = t - shifter;
        uint32_t tb;
        memcpy(&tb, &t, sizeof tb);
        uint32_t q = tb & 3u; /* j mod 4, from the shifted sum's low bits */
        float r = x[i] - j * 1.5703125f;
        r = r - j * 4.83751296997070312e-4f;
        r = r - j * 7.54978995489188216e-8f;
        float z = r * r;
        float sr = ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f) * z * r + r;
        float cr = ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z + 4.166664568298827e-2f) * z * z -
                   0.5f * z + 1.0f;
        /* sin x = sr, cr, -sr, -cr and cos x = cr, -sr, -cr, sr for q = 0..3 */
        float sv = q & 1u ? cr : sr, cv = q & 1u ? sr : cr;
        s[i] = q & 2u ? -sv : sv;
        c[i] = (q + 1u) & 2u ? -cv : cv;
    }
}
