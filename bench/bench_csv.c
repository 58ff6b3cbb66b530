/* bench_csv.c - speed of the dataset layer (never run by ctest).
 *
 *   bench_csv gen PATH ROWS COLS   write a CSV of standard normals (%.6f) and a reward column
 *   bench_csv read PATH            time genbo_dataset_read_csv (run under /usr/bin/time -v
 *                                  for the peak RSS)
 *   bench_csv tasks                time sampling 10^5 x 64 designs per task kind, and the
 *                                  oracle and support distance on them
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "genbo.h"
#include "tests/support/support.h"

static int gen(const char *path, long rows, long cols) {
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    for (long j = 0; j < cols; j++) fprintf(f, "x%ld,", j);
    fputs("reward\n", f);
    genbo__support_rng *r = genbo__support_rng_new(1, 0);
    if (!r) abort(); /* out of memory */
    for (long i = 0; i < rows; i++) {
        for (long j = 0; j <= cols; j++)
            fprintf(f, j < cols ? "%.6f," : "%.6f\n", genbo__support_rng_normal(r));
    }
    genbo__support_rng_free(r);
    return fclose(f) != 0;
}

static int read_bench(const char *path) {
    double t0 = genbo__support_now();
    genbo_dataset *ds = NULL;
    int rc = genbo_dataset_read_csv(path, NULL, &ds);
    double t = genbo__support_now() - t0;
    if (rc) {
        fprintf(stderr, "%s\n", genbo_errmsg());
        return 1;
    }
    size_t n = genbo_dataset_rows(ds), d = genbo_dataset_dim(ds);
    double mb = (double)(n * (d + 1)) * sizeof(double) / 1e6;
    printf("read %zu rows x %zu features + reward in %.2f s (%.2f M cells/s); data %.0f MB\n", n,
           d, t, (double)(n * (d + 1)) / t / 1e6, mb);
    genbo_dataset_free(ds);
    return 0;
}

static int tasks_bench(void) {
    const size_t n = 100000;
    const char *names[] = {"subspace-linear", "subspace-quadratic", "gp-sequence"};
    for (int k = 0; k < 3; k++) {
        genbo_task_params p;
        genbo_task_params_default(&p); /* D = 64, d = 16; GP 16 x 4 = 64 */
        p.kind = (genbo_task_kind)k;
        genbo_task *t = NULL;
        if (genbo_task_create(&p, &t)) {
            fprintf(stderr, "%s\n", genbo_errmsg());
            return 1;
        }
        size_t D = genbo_task_dim(t);
        double *X = malloc(n * D * sizeof(double)), *y = malloc(n * sizeof(double)),
               *dist = malloc(n * sizeof(double));
        double t0 = genbo__support_now();
        clock_t c0 = clock();
        genbo_task_sample(t, n, 1, X);
        double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
        double t1 = genbo__support_now();
        genbo_task_oracle(t, n, X, y);
        double t2 = genbo__support_now();
        genbo_task_support_distance(t, n, X, dist);
        double t3 = genbo__support_now();
        printf("%-18s n=%zu D=%zu: sample %.3f s (cpu %.3f s), oracle %.3f s, support "
               "distance %.3f s\n",
               names[k], n, D, t1 - t0, cpu, t2 - t1, t3 - t2);
        free(X);
        free(y);
        free(dist);
        genbo_task_free(t);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "gen") == 0) return gen(argv[2], atol(argv[3]), atol(argv[4]));
    if (argc == 3 && strcmp(argv[1], "read") == 0) return read_bench(argv[2]);
    if (argc == 2 && strcmp(argv[1], "tasks") == 0) return tasks_bench();
    fprintf(stderr, "usage: bench_csv gen PATH ROWS COLS | read PATH | tasks\n");
    return 2;
}
