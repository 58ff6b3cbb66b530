/* core.h - internal helpers shared by every part of the library:
 * error reporting, a seeded random-number generator, checked allocation,
 * a checksum (the binary format itself is bin.h). Not installed. */
#ifndef GENBO_CORE_H
#define GENBO_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "genbo.h"

/* Set the thread-local error message (printf-style) and return `status`,
 * so a failing path reads: return genbo__fail(GENBO_EINVAL, "...", ...); */
int genbo__fail(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prefix the current message with more context ("reading x.csv: ..."). */
int genbo__fail_prefix(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void genbo__clear_error(void);

/* malloc/calloc that set GENBO_ENOMEM's message on failure (return NULL). */
void *genbo__malloc(size_t size);
void *genbo__calloc(size_t count, size_t size);
/* count * size with an overflow check: returns 0 on overflow. */
int genbo__mul_ok(size_t a, size_t b, size_t *out);
/* The one growth helper: make the malloc'ed array *array (passed as a T **,
 * *cap elements of elem bytes) hold at least `need`, doubling (from 16).
 * On failure *array is unchanged (still the caller's to free) and the
 * status is GENBO_ENOMEM, "out of memory for <what>" (what: "trials"). */
int genbo__grow(void *array, size_t *cap, size_t need, size_t elem, const char *what);

/* xoshiro256** seeded through splitmix64: fast, reproducible, with
 * independent streams derived from (seed, stream). */
typedef struct genbo__rng {
    uint64_t s[4];
    int has_spare;
    double spare;
} genbo__rng;

void genbo__rng_seed(genbo__rng *r, uint64_t seed, uint64_t stream);
/* The one seed mixer: a seed for a step labelled (a, b) derived from a
 * master seed through splitmix64's finaliser, so the steps of a study are
 * reproducible and independent of each other. */
uint64_t genbo__seed_mix(uint64_t seed, uint64_t a, uint64_t b);
uint64_t genbo__rng_u64(genbo__rng *r);
/* uniform on [0, 1) with 53 random bits */
double genbo__rng_uniform(genbo__rng *r);
/* standard normal (polar Box-Muller) */
double genbo__rng_normal(genbo__rng *r);
/* uniform integer in [0, n) without modulo bias */
uint64_t genbo__rng_below(genbo__rng *r, uint64_t n);
/* Partial Fisher-Yates: permute idx[0..n) so that idx[0..m) is a uniform
 * random m-subset (in random order) of its entries. m <= n. */
void genbo__rng_shuffle_prefix(genbo__rng *r, size_t *idx, size_t n, size_t m);
/* Fill with standard normals by the ziggurat (rng.c): ~5x faster than
 * genbo__rng_normal, for the diffusion engine's bulk draws; a different
 * stream of values than n calls of genbo__rng_normal. */
void genbo__rng_normal_fill(genbo__rng *r, double *out, size_t n);
void genbo__rng_normal_f(genbo__rng *r, float *out, size_t n);

/* Per-column mean and sd of the rows idx[0..n) of X (n x d, row-major;
 * idx NULL = rows 0..n-1), two passes in double, the sd over n - ddof (0
 * when n <= ddof). A (numerically) constant column, sd <= 1e-12 (1 +
 * |mean|), gets sd 1, so standardising maps it to 0 instead of dividing by
 * ~0 (numeric.c). */
void genbo__column_stats(size_t n, const size_t *idx, size_t d, const double *X, size_t ddof, double *mean,
                         double *sd);

/* Modified Gram-Schmidt on the columns of A (rows x cols, row-major, cols
 * <= rows, full rank), in place; passes > 1 repeats each column's step
 * against rounding. */
void genbo__orthonormalise(size_t rows, size_t cols, double *A, int passes);

/* Indices ranked by a key, highest first; ties by index, so the order is
 * deterministic (selection, Thompson candidates, best labelled rows). */
typedef struct genbo__ranked {
    double key;
    size_t i;
} genbo__ranked;
void genbo__rank_desc(genbo__ranked *r, size_t n);

/* CRC-32 (IEEE) for binary model formats. */
uint32_t genbo__crc32(uint32_t crc, const void *data, size_t len);

/* Monotonic wall-clock seconds. */
double genbo__now(void);


#endif
