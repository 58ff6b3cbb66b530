/* rng.c - xoshiro256** (Blackman & Vigna) seeded by splitmix64, and the
 * seed mixer every step of a study derives its seed with. */
#include <math.h>

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

void genbo__rng_normal_f(genbo__rng *r, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = (float)genbo__rng_normal(r);
}
