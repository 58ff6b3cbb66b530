/* blas.c - the matrix libraries under the score network: which OpenBLAS
 * kernel runs and whether it is a slow one, oneDNN's instruction set, and
 * one thread count for both (diffusion/ because the oneDNN half is mm.c;
 * the reward models' LAPACK calls share the OpenBLAS count).
 *
 * Debian's OpenBLAS is built with DYNAMIC_ARCH: it picks a kernel from the
 * CPU id when the library loads. On virtual CPUs it can fall back to a
 * generic kernel (Prescott, Core2, ...) that runs dense products several
 * times slower than the Haswell/SkylakeX kernels the CPU could run.
 * OPENBLAS_CORETYPE overrides the choice, but only when the library loads,
 * so the library can only report it; the CLI acts on it (see cli/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"
#include "diffusion/blas.h"
#include "diffusion/mm.h"

char *openblas_get_corename(void);
char *openblas_get_config(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int);

static const char *const slow_kernels[] = {"prescott", "core2", "atom", "katmai", "coppermine",
                                           "northwood", "banias", "penryn", "dunnington",
                                           "nehalem", "opteron", "opteron_sse3", "barcelona",
                                           "bobcat", "nano", "generic", "unknown", NULL};

void genbo_get_blas_info(genbo_blas_info *info) {
    memset(info, 0, sizeof *info);
    const char *core = openblas_get_corename();
    const char *cfg = openblas_get_config();
    snprintf(info->corename, sizeof info->corename, "%s", core ? core : "unknown");
    snprintf(info->config, sizeof info->config, "%s", cfg ? cfg : "");
    info->threads = openblas_get_num_threads();
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    info->cpu_has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    int generic = 0;
    for (int i = 0; slow_kernels[i]; i++)
        if (strcasecmp(info->corename, slow_kernels[i]) == 0) generic = 1;
    info->slow_kernel = generic && info->cpu_has_avx2;
    snprintf(info->dnnl_isa, sizeof info->dnnl_isa, "%s", genbo__mm_isa_name());
    info->bf16 = genbo__mm_bf16_available();
}

/* OpenBLAS and oneDNN's OpenMP with the same count: the bf16 kernels also
 * re-sync OpenMP to OpenBLAS's count in the calling thread (mm.c). */
static int threads_chosen = 0; /* genbo_set_threads was called */

void genbo_set_threads(int threads) {
    if (threads <= 0) return;
    threads_chosen = 1;
    openblas_set_num_threads(threads);
    genbo__mm_set_threads(threads);
}

/* Short work (an ask of a few designs): the products are a few rows wide,
 * where OpenBLAS's threads only add hand-offs (8 CLI workers on 2 cores:
 * 74.2 ask/tell pairs/s with the default threads, 99.7 with one). Unless
 * the user chose a count (genbo_set_threads, OPENBLAS_NUM_THREADS,
 * OMP_NUM_THREADS), it runs on one thread; the count is restored after. */
int genbo__threads_short_begin(void) {
    if (threads_chosen || getenv("OPENBLAS_NUM_THREADS") || getenv("OMP_NUM_THREADS")) return 0;
    int t = openblas_get_num_threads();
    if (t <= 1) return 0;
    openblas_set_num_threads(1);
    genbo__mm_set_threads(1);
    return t;
}

void genbo__threads_short_end(int saved) {
    if (saved <= 1) return;
    openblas_set_num_threads(saved);
    genbo__mm_set_threads(saved);
}
