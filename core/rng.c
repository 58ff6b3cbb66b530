/* rng.c - xoshiro256** (Blackman & Vigna) seeded by splitmix64, and the
 * seed mixer every step of a study derives its seed with. */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "core.h"

/* splitmix64's output function (Steele, Lea & Flood 2014). */
static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t splitmix64(uint64_t *x) { return mix64(*x += 0x9e3779b97f4a7c15ULL); }

uint64_t genbo__seed_mix(uint64_t seed, uint64_t a, uint64_t b) {
    return mix64(seed ^ (a * 0x9e3779b97f4a7c15ULL) ^ (b * 0xc2b2ae3d27d4eb4fULL));
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void genbo__rng_seed(genbo__rng *r, uint64_t seed, uint64_t stream) {
    /* Mix the stream in so (seed, 0) and (seed, 1) are unrelated. */
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ULL + 0x2545f4914f6cdd1dULL);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    r->has_spare = 0;
    r->spare = 0.0;
}

uint64_t genbo__rng_u64(genbo__rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double genbo__rng_uniform(genbo__rng *r) { return (genbo__rng_u64(r) >> 11) * 0x1.0p-53; }

double genbo__rng_normal(genbo__rng *r) {
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u, v, s;
    do {
        u = 2.0 * genbo__rng_uniform(r) - 1.0;
        v = 2.0 * genbo__rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double m = sqrt(-2.0 * log(s) / s);
    r->spare = v * m;
    r->has_spare = 1;
    return u * m;
}

uint64_t genbo__rng_below(genbo__rng *r, uint64_t n) {
    if (n == 0) return 0;
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = genbo__rng_u64(r);
    while (x >= limit);
    return x % n;
}

void genbo__rng_shuffle_prefix(genbo__rng *r, size_t *idx, size_t n, size_t m) {
    for (size_t i = 0; i < m && i < n; i++) {
        size_t j = i + (size_t)genbo__rng_below(r, n - i);
        size_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

/* ---- bulk normals: the ziggurat of Marsaglia & Tsang (2000) ----------
 * The diffusion engine draws ~65,000 normals per training step and per
 * sampling step at W1 (batch or designs x D); the polar method above took
 * 21 ns each (a log, a sqrt, a division and a rejection branch taken 21%
 * of the time): 1.4 ms of a 20-40 ms step. The ziggurat covers the density
 * with ZN strips of equal area; a draw picks a strip and a point in it
 * from one 64-bit word and is accepted by one comparison 98.8% of the
 * time, so it costs a few ns. It is exact: a point in a strip's overhang
 * is accepted under the density, and the base strip's tail beyond ZR is
 * drawn by Marsaglia's (1964) exponential rejection.
 *
 * The strips for ZN = 256 (r and v from Marsaglia & Tsang's paper):
 *   x_0 = v / f(r), x_1 = r, x_i+1 = f^-1(v / x_i + f(x_i)), x_ZN = 0,
 *   f(x) = exp(-x^2 / 2); strip i is [0, x_i] x [f(x_i), f(x_i+1)] and the
 *   part of it under x_i+1 lies under the density. Built once per process
 *   in double from libm's exp and log. */

enum { ZN = 256 };
#define ZR 3.6541528853610088
#define ZV 4.92867323399e-3
static double zig_x[ZN + 1], zig_f[ZN + 1];
static pthread_once_t zig_once = PTHREAD_ONCE_INIT;

static void zig_build(void) {
    zig_x[0] = ZV / exp(-0.5 * ZR * ZR);
    zig_x[1] = ZR;
    for (int i = 1; i < ZN - 1; i++)
        zig_x[i + 1] = sqrt(-2.0 * log(ZV / zig_x[i] + exp(-0.5 * zig_x[i] * zig_x[i])));
    zig_x[ZN] = 0.0;
    for (int i = 0; i <= ZN; i++) zig_f[i] = exp(-0.5 * zig_x[i] * zig_x[i]);
}

/* One normal; the rare slow paths (1.2% of draws) out of line. */
static double zig_slow(genbo__rng *r, int i, double z) {
    for (;;) {
        if (i == 0) { /* the tail beyond ZR */
            double a, b;
            do {
                a = -log1p(-genbo__rng_uniform(r)) / ZR; /* 1 - U in (0, 1] */
                b = -log1p(-genbo__rng_uniform(r));
            } while (2.0 * b < a * a);
            return z < 0 ? -(ZR + a) : ZR + a;
        }
        double az = fabs(z);
        if (zig_f[i] + genbo__rng_uniform(r) * (zig_f[i + 1] - zig_f[i]) < exp(-0.5 * az * az))
            return z;
        uint64_t u = genbo__rng_u64(r); /* rejected: a new strip and point */
        i = (int)(u & (ZN - 1));
        z = (double)(u >> 11) * 0x1.0p-53 * zig_x[i];
        if (u & ZN) z = -z;
        if (fabs(z) < zig_x[i + 1]) return z;
    }
}

/* bits 0-7 of u: the strip; bit 8: the sign; bits 11-63: the point. The
 * sign is set without a branch (a coin flip mispredicts half the time). */
static inline double zig_draw(genbo__rng *r) {
    uint64_t u = genbo__rng_u64(r), b;
    const int i = (int)(u & (ZN - 1));
    const double a = (double)(u >> 11) * 0x1.0p-53 * zig_x[i];
    memcpy(&b, &a, sizeof b);
    b |= (u & ZN) << (63 - 8);
    double z;
    memcpy(&z, &b, sizeof z);
    return a < zig_x[i + 1] ? z : zig_slow(r, i, z);
}

/* The state is copied into a local, which the compiler keeps in registers
 * (through r it stored all four words after every draw: out may alias). */
#define ZIG_FILL(r, out, n, type)                   \
    do {                                            \
        pthread_once(&zig_once, zig_build);         \
        genbo__rng g_ = *(r);                       \
        for (size_t i_ = 0; i_ < (n); i_++) (out)[i_] = (type)zig_draw(&g_); \
        *(r) = g_;                                  \
    } while (0)

void genbo__rng_normal_fill(genbo__rng *r, double *out, size_t n) { ZIG_FILL(r, out, n, double); }

void genbo__rng_normal_f(genbo__rng *r, float *out, size_t n) { ZIG_FILL(r, out, n, float); }
