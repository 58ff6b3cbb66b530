/* cmd_info.c - `genbo info`: version and linear-algebra back ends (OpenBLAS,
 * oneDNN's instruction set and the precision `auto` resolves to). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_info(int argc, char **argv) {
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            cli_help_print(stdout, "info");
            return 0;
        } else {
            fprintf(stderr, "genbo: info: unknown option '%s'\n", argv[i]);
            return cli_usage_error("info");
        }
    }
    genbo_blas_info info;
    genbo_get_blas_info(&info);
    if (json) {
        printf("{\"version\":\"%s\",\"openblas_core\":\"%s\",\"threads\":%d,"
               "\"cpu_avx2\":%d,\"slow_kernel\":%d,\"dnnl_isa\":\"%s\",\"bf16\":%d,"
               "\"precision_auto\":\"%s\"}\n",
               genbo_version(), info.corename, info.threads, info.cpu_has_avx2,
               info.slow_kernel, info.dnnl_isa, info.bf16, info.bf16 ? "bf16" : "fp32");
    } else {
        printf("genbo %s\n", genbo_version());
        printf("OpenBLAS kernel: %s%s\n", info.corename,
               info.slow_kernel ? "  (generic: slow, set OPENBLAS_CORETYPE)" : "");
        printf("OpenBLAS threads: %d\n", info.threads);
        printf("OpenBLAS config: %s\n", info.config);
        printf("oneDNN ISA: %s\n", info.dnnl_isa);
        printf("precision auto: %s\n",
               info.bf16 ? "bf16 (native bf16 matrix products)" : "fp32 (no native bf16 on this CPU)");
        if (info.bf16)
            printf("bf16: native (oneDNN %s)\n", info.dnnl_isa);
        else
            printf("bf16 unavailable: oneDNN ISA %s has neither AVX512-BF16 nor AMX; "
                   "precision = bf16 is refused, auto runs fp32\n", info.dnnl_isa);
    }
    return 0;
}
