/* bench_guidance.c - gradient-guidance modes side by side (issue 14, part
 * 2): today's linear tilt (lookahead), Guo et al.'s target-seeking
 * normalised look-ahead (target), and none, with and without conditioning,
 * on the paper's task (linear reward on a 16-dim subspace of R^64, ridge
 * on 1000 labels) and a nonlinear one (quadratic reward peaking inside the
 * data, 6-dim subspace of R^48, GP on 300 labels). Also the same reward in
 * other units (x 1000, target x 1000): the scale-free strength must give
 * the same row as in reward units.
 *
 * Prints one Markdown table: per task, target, method and mode the mean
 * true reward of the designs, SubOpt = target - mean true reward (the
 * study metric), the mean support distance and the largest design norm,
 * mean over seeds. usage: bench_guidance [--seeds S] [--steps N] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genbo.h"

typedef struct row {
    const char *task, *target, *method, *mode;
    double mean, subopt, support, maxnorm;
    int n;
} row;

static row rows[256];
static int n_rows;

static void check(int rc, const char *what) {
    if (rc) {
        fprintf(stderr, "bench_guidance: %s: %s\n", what, genbo_errmsg());
        exit(1);
    }
}

static row *get_row(const char *task, const char *target, const char *method, const char *mode) {
    for (int i = 0; i < n_rows; i++)
        if (!strcmp(rows[i].task, task) && !strcmp(rows[i].target, target) &&
            !strcmp(rows[i].method, method) && !strcmp(rows[i].mode, mode))
            return &rows[i];
    row *r = &rows[n_rows++];
    memset(r, 0, sizeof *r);
    r->task = task, r->target = target, r->method = method, r->mode = mode;
    return r;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* a reward model's callbacks with its values multiplied by k */
typedef struct scaled {
    const genbo_reward *m;
    double k;
} scaled;
static int scaled_grad(void *ctx, size_t n, const double *X, double *g) {
    const scaled *s = ctx;
    int rc = genbo_reward_gradient(s->m, n, X, g);
    for (size_t q = 0; !rc && q < n * genbo_reward_dim(s->m); q++) g[q] *= s->k;
    return rc;
}
static int scaled_value(void *ctx, size_t n, const double *X, double *f) {
    const scaled *s = ctx;
    int rc = genbo_reward_predict(s->m, n, X, f, NULL);
    for (size_t i = 0; !rc && i < n; i++) f[i] *= s->k;
    return rc;
}

static void run_task(const char *name, genbo_task_kind kind, int D, int d, int n_label,
                     genbo_reward_kind rk, uint64_t seed, long steps) {
    enum { POOL = 10000, NS = 512 };
    genbo_task_params tp;
    genbo_task_params_default(&tp);
    tp.kind = kind, tp.D = D, tp.d = d, tp.seed = seed;
    genbo_task *task;
    check(genbo_task_create(&tp, &task), "task");
    genbo_dataset *lab, *pool;
    check(genbo_task_split(task, (size_t)n_label, POOL, seed, &lab, &pool), "split");
    genbo_reward_params rp;
    genbo_reward_params_default(&rp);
    rp.kind = rk;
    rp.seed = seed;
    genbo_reward *rm;
    check(genbo_reward_fit(&rp, (size_t)n_label, (size_t)D, genbo_dataset_x(lab),
                           genbo_dataset_y(lab), &rm),
          "reward fit");
    double *pseudo = malloc(POOL * sizeof *pseudo), *sorted = malloc(POOL * sizeof *sorted);
    check(genbo_reward_predict(rm, POOL, genbo_dataset_x(pool), pseudo, NULL), "pseudo-labels");
    genbo_diffusion_params dp;
    genbo_diffusion_params_default(&dp);
    dp.steps = steps;
    dp.batch = 256;
    dp.seed = seed;
    genbo_diffusion *dm;
    fprintf(stderr, "bench_guidance: %s seed %llu: training %ld steps\n", name,
            (unsigned long long)seed, steps);
    check(genbo_diffusion_train(&dp, POOL, (size_t)D, genbo_dataset_x(pool), pseudo, &dm), "train");
    memcpy(sorted, pseudo, POOL * sizeof *sorted);
    qsort(sorted, POOL, sizeof *sorted, cmp_double);
    const char *tnames[3] = {"p50", "p90", "max"};
    const double tval[3] = {sorted[POOL / 2], sorted[(size_t)(0.9 * POOL)], sorted[POOL - 1]};
    double *G = malloc(sizeof(double) * NS * (size_t)D), *y = malloc(NS * sizeof *y),
           *sd = malloc(NS * sizeof *sd);
    static const struct {
        const char *method, *mode;
        int cond;
        genbo_gradient_guidance g;
        double k; /* reward units multiplier (1000: the scale-free check) */
    } V[] = {
        {"conditional", "none", 1, GENBO_GRAD_NONE, 1},
        {"genbo", "lookahead", 1, GENBO_GRAD_LOOKAHEAD, 1},
        {"genbo", "target", 1, GENBO_GRAD_TARGET, 1},
        {"gradient", "lookahead", 0, GENBO_GRAD_LOOKAHEAD, 1},
        {"gradient", "target", 0, GENBO_GRAD_TARGET, 1},
        {"gradient", "target, reward x1000", 0, GENBO_GRAD_TARGET, 1000},
    };
    for (int ti = 0; ti < 3; ti++) {
        for (size_t v = 0; v < sizeof V / sizeof V[0]; v++) {
            genbo_sample_params sp;
            genbo_sample_params_default(&sp);
            sp.steps = 100;
            sp.seed = seed * 7 + (uint64_t)ti;
            sp.conditional = V[v].cond;
            sp.grad_mode = V[v].g;
            sp.grad_eta = 1.0;
            scaled sc = {rm, V[v].k};
            double a = tval[ti];
            if (V[v].g != GENBO_GRAD_NONE) {
                check(genbo_reward_guidance(rm, &sp), "guidance");
                if (V[v].k != 1) {
                    sp.grad = scaled_grad, sp.value = scaled_value, sp.grad_ctx = &sc;
                    sp.grad_scale *= V[v].k;
                }
            }
            /* unconditional: the target is in the guiding function's units */
            int rc = genbo_diffusion_sample(dm, &sp, a * V[v].k, NS, G);
            row *r = get_row(name, tnames[ti], V[v].method, V[v].mode);
            if (rc) {
                fprintf(stderr, "  %s %s %s: %s\n", tnames[ti], V[v].method, V[v].mode,
                        genbo_errmsg());
                continue;
            }
            check(genbo_task_oracle(task, NS, G, y), "oracle");
            check(genbo_task_support_distance(task, NS, G, sd), "support");
            double my = 0, ms = 0, mn = 0;
            for (int i = 0; i < NS; i++) {
                my += y[i] / NS, ms += sd[i] / NS;
                double s2 = 0;
                for (int j = 0; j < D; j++) s2 += G[(size_t)i * D + j] * G[(size_t)i * D + j];
                mn = fmax(mn, sqrt(s2));
            }
            r->mean += my, r->subopt += a - my, r->support += ms, r->maxnorm = fmax(r->maxnorm, mn);
            r->n++;
        }
    }
    free(G), free(y), free(sd), free(pseudo), free(sorted);
    genbo_diffusion_free(dm);
    genbo_reward_free(rm);
    genbo_dataset_free(lab);
    genbo_dataset_free(pool);
    genbo_task_free(task);
}

int main(int argc, char **argv) {
    int seeds = 2;
    long steps = 4000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--seeds")) seeds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--steps")) steps = atol(argv[i + 1]);
    }
    for (int s = 1; s <= seeds; s++) {
        run_task("linear D=64 d=16 (paper)", GENBO_TASK_SUBSPACE_LINEAR, 64, 16, 1000,
                 GENBO_REWARD_RIDGE, (uint64_t)s, steps);
        run_task("quadratic D=48 d=6", GENBO_TASK_SUBSPACE_QUADRATIC, 48, 6, 300, GENBO_REWARD_GP,
                 (uint64_t)s, steps);
    }
    printf("| task | target | method | guidance | mean true reward | SubOpt | support distance | max norm |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < n_rows; i++) {
        const row *r = &rows[i];
        if (!r->n) {
            printf("| %s | %s | %s | %s | failed | | | |\n", r->task, r->target, r->method, r->mode);
            continue;
        }
        printf("| %s | %s | %s | %s | %.3f | %.3f | %.3f | %.2f |\n", r->task, r->target, r->method,
               r->mode, r->mean / r->n, r->subopt / r->n, r->support / r->n, r->maxnorm);
    }
    return 0;
}
