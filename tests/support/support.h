/* support.h - the clock and random numbers of the benchmark and test
 * programs (support library, not part of libgenbo): core/'s monotonic clock
 * and seeded generator behind a handle, so a program built on genbo.h draws
 * exactly the numbers it drew when it called core/ itself. */
#ifndef GENBO_SUPPORT_SUPPORT_H
#define GENBO_SUPPORT_SUPPORT_H

#include <stdint.h>

/* Monotonic seconds (durations only, not dates). */
double genbo__support_now(void);

/* A seeded generator: the (seed, stream) pair picks an independent
 * stream. NULL when out of memory; free with genbo__support_rng_free. */
typedef struct genbo__support_rng genbo__support_rng;
genbo__support_rng *genbo__support_rng_new(uint64_t seed, uint64_t stream);
void genbo__support_rng_free(genbo__support_rng *r);
/* A standard normal draw. */
double genbo__support_rng_normal(genbo__support_rng *r);
/* The seed of a step from the study seed and the step's identity (the
 * mixer every seeded step of a study uses). */
uint64_t genbo__support_seed_mix(uint64_t seed, uint64_t a, uint64_t b);

#endif
