/* support.c - see support.h. */
#include "tests/support/support.h"

#include <stdlib.h>

#include "core/core.h"

struct genbo__support_rng {
    genbo__rng r;
};

double genbo__support_now(void) { return genbo__now(); }

genbo__support_rng *genbo__support_rng_new(uint64_t seed, uint64_t stream) {
    genbo__support_rng *r = malloc(sizeof *r);
    if (r) genbo__rng_seed(&r->r, seed, stream);
    return r;
}

void genbo__support_rng_free(genbo__support_rng *r) { free(r); }

double genbo__support_rng_normal(genbo__support_rng *r) { return genbo__rng_normal(&r->r); }

uint64_t genbo__support_seed_mix(uint64_t seed, uint64_t a, uint64_t b) { return genbo__seed_mix(seed, a, b); }
