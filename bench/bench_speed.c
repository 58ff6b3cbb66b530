/* bench_speed.c - how genbo's cost scales (the W1 throughput itself is
 * bench_diffusion's job; run.sh runs both).
 *
 *   pool      pseudo-labelling (ridge predict) and diffusion training at a
 *             fixed number of steps, pool of 10^4 .. 10^6 designs (D = 64):
 *             training cost is steps x batch, the pool only enters through
 *             standardisation and row gathering - measured, not assumed
 *   sampling  sample-steps/s against sampler steps and against the number
 *             of designs (the batch of one call)
 *   reward    fit time against n_label: ridge (GCV) and GP (RBF, marginal
 *             likelihood, tuned on at most 1,000 points)
 *
 * usage: bench_speed [--threads N] [--out PREFIX] [--quick]
 * Writes PREFIX.md and PREFIX.json; progress on stderr. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"

enum { D = 64 };
/* Every timing is the best (minimum) of REPS runs: the machine is shared,
 * and other jobs only ever add time. */
enum { REPS = 3 };

typedef struct sconf {
    size_t pools[3];
    int n_pools;
    long train_steps;
    int width, depth, batch;
    int sample_steps[4], n_sample_steps;
    size_t sample_n[3];
    int n_sample_n;
    size_t ridge_n[4];
    int n_ridge;
    size_t gp_n[5];
    int n_gp;
} sconf;

static const sconf FULL = {{10000, 100000, 1000000}, 3, 300, 256, 2, 128,
                           {25, 50, 100, 200}, 4, {256, 1024, 4096}, 3,
                           {100, 1000, 10000, 100000}, 4, {100, 250, 500, 1000, 2000}, 5};
static const sconf QUICK = {{10000, 30000, 0}, 2, 30, 64, 1, 64,
                            {10, 20, 0, 0}, 2, {64, 256, 0}, 2,
                            {100, 1000, 0, 0}, 2, {100, 200, 0, 0, 0}, 2};

static bu_table T;

/* Subspace-like data with a linear reward: cheap to make at 10^6 rows. */
static void make_data(size_t n, uint64_t seed, double *X, double *y) {
    genbo__support_rng *r = genbo__support_rng_new(seed, 0);
    if (!r) abort(); /* out of memory */
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t k = 0; k < D; k++) {
            X[i * D + k] = genbo__support_rng_normal(r);
            s += (k < 8 ? 0.35 : 0.01) * X[i * D + k];
        }
        if (y) y[i] = s + 0.1 * genbo__support_rng_normal(r);
    }
    genbo__support_rng_free(r);
}

static genbo_diffusion_params dparams(const sconf *c, long steps) {
    genbo_diffusion_params p;
    genbo_diffusion_params_default(&p);
    p.width = c->width;
    p.depth = c->depth;
    p.batch = c->batch;
    p.steps = steps;
    p.lr = 3e-3;
    return p;
}

static void bench_pool(const sconf *c) {
    /* ridge fitted once on 500 labels, then pool sizes */
    double *LX = bu_alloc(500 * D * sizeof *LX), *LY = bu_alloc(500 * sizeof *LY);
    make_data(500, 1, LX, LY);
    genbo_reward_params rp;
    genbo_reward_params_default(&rp);
    genbo_reward *rm = NULL;
    bu_check(genbo_reward_fit(&rp, 500, D, LX, LY, &rm), "ridge fit");
    for (int i = 0; i < c->n_pools; i++) {
        size_t n = c->pools[i];
        double *X = bu_alloc(n * D * sizeof *X), *yh = bu_alloc(n * sizeof *yh);
        make_data(n, 2, X, NULL);
        double tp = INFINITY, tt = INFINITY;
        for (int r = 0; r < REPS; r++) {
            double t = genbo__support_now();
            bu_check(genbo_reward_predict(rm, n, X, yh, NULL), "ridge predict");
            tp = fmin(tp, genbo__support_now() - t);
            genbo_diffusion_params p = dparams(c, c->train_steps);
            genbo_diffusion *m = NULL;
            t = genbo__support_now();
            bu_check(genbo_diffusion_train(&p, n, D, X, yh, &m), "diffusion train");
            tt = fmin(tt, genbo__support_now() - t);
            genbo_diffusion_free(m);
        }
        char cfg[64];
        snprintf(cfg, sizeof cfg, "pool=%zu", n);
        bu_cell *cell = bu_cell_get(&T, "pool", cfg, "train", NAN);
        bu_add(cell, "pseudo_label_s", tp);
        bu_add(cell, "train_s", tt);
        bu_add(cell, "ms_per_step", 1e3 * tt / (double)c->train_steps);
        bu_progress("pool %zu: pseudo-labels %.3f s, %ld training steps %.2f s", n, tp,
                    c->train_steps, tt);
        free(X);
        free(yh);
    }
    genbo_reward_free(rm);
    free(LX);
    free(LY);
}

static void bench_sampling(const sconf *c) {
    size_t n = 20000;
    double *X = bu_alloc(n * D * sizeof *X), *y = bu_alloc(n * sizeof *y);
    make_data(n, 3, X, y);
    genbo_diffusion_params p = dparams(c, 20); /* the weights do not change the cost */
    genbo_diffusion *m = NULL;
    bu_check(genbo_diffusion_train(&p, n, D, X, y, &m), "diffusion train");
    size_t maxn = 1024; /* the steps sweep and the guidance rows use 1,024 designs */
    for (int i = 0; i < c->n_sample_n; i++)
        if (c->sample_n[i] > maxn) maxn = c->sample_n[i];
    double *G = bu_alloc(maxn * D * sizeof *G);
    for (int pass = 0; pass < 2; pass++) {
        int ni = pass ? c->n_sample_n : c->n_sample_steps;
        for (int i = 0; i < ni; i++) {
            int steps = pass ? 100 : c->sample_steps[i];
            size_t ns = pass ? c->sample_n[i] : 1024;
            genbo_sample_params sp;
            genbo_sample_params_default(&sp);
            sp.steps = steps;
            double dt = INFINITY;
            for (int r = 0; r < REPS; r++) {
                double t = genbo__support_now();
                bu_check(genbo_diffusion_sample(m, &sp, 0.5, ns, G), "diffusion sample");
                dt = fmin(dt, genbo__support_now() - t);
            }
            char cfg[64];
            snprintf(cfg, sizeof cfg, "steps=%d n=%zu", steps, ns);
            bu_cell *cell = bu_cell_get(&T, pass ? "sample_n" : "sample_steps", cfg, "ancestral",
                                        NAN);
            bu_add(cell, "seconds", dt);
            bu_add(cell, "sample_steps_per_s", (double)ns * steps / dt);
            bu_progress("sampling %s: %.3f s (%.0f sample-steps/s)", cfg, dt,
                        (double)ns * steps / dt);
        }
    }
    /* the same model with gradient guidance (look-ahead: one extra backward
     * through the network a step) and with CFG (2n rows a step) */
    genbo_reward_params rp;
    genbo_reward_params_default(&rp);
    genbo_reward *rm = NULL;
    bu_check(genbo_reward_fit(&rp, 500, D, X, y, &rm), "ridge fit");
    const char *names[] = {"plain", "cfg w=1", "lookahead eta=1", "naive eta=1"};
    for (int v = 0; v < 4; v++) {
        genbo_sample_params sp;
        genbo_sample_params_default(&sp);
        sp.steps = 100;
        if (v == 1) sp.cfg_weight = 1;
        if (v >= 2) {
            sp.grad_mode = v == 2 ? GENBO_GRAD_LOOKAHEAD : GENBO_GRAD_NAIVE;
            sp.grad_eta = 1;
            bu_check(genbo_reward_guidance(rm, &sp), "reward guidance");
        }
        double dt = INFINITY;
        for (int r = 0; r < REPS; r++) {
            double t = genbo__support_now();
            bu_check(genbo_diffusion_sample(m, &sp, 0.5, 1024, G), "diffusion sample");
            dt = fmin(dt, genbo__support_now() - t);
        }
        bu_cell *cell = bu_cell_get(&T, "guidance", "steps=100 n=1024", names[v], NAN);
        bu_add(cell, "seconds", dt);
        bu_add(cell, "sample_steps_per_s", 1024.0 * 100 / dt);
        bu_progress("sampling with %s: %.3f s", names[v], dt);
    }
    genbo_reward_free(rm);
    genbo_diffusion_free(m);
    free(G);
    free(X);
    free(y);
}

static void bench_reward(const sconf *c) {
    size_t maxn = 0;
    for (int i = 0; i < c->n_ridge; i++)
        if (c->ridge_n[i] > maxn) maxn = c->ridge_n[i];
    for (int i = 0; i < c->n_gp; i++)
        if (c->gp_n[i] > maxn) maxn = c->gp_n[i];
    double *X = bu_alloc(maxn * D * sizeof *X), *y = bu_alloc(maxn * sizeof *y);
    make_data(maxn, 4, X, y);
    for (int kind = 0; kind < 2; kind++) {
        int nk = kind ? c->n_gp : c->n_ridge;
        for (int i = 0; i < nk; i++) {
            size_t n = kind ? c->gp_n[i] : c->ridge_n[i];
            genbo_reward_params rp;
            genbo_reward_params_default(&rp);
            rp.kind = kind ? GENBO_REWARD_GP : GENBO_REWARD_RIDGE;
            genbo_reward *rm = NULL;
            double dt = INFINITY;
            for (int r = 0; r < REPS; r++) {
                genbo_reward_free(rm);
                rm = NULL;
                double t = genbo__support_now();
                bu_check(genbo_reward_fit(&rp, n, D, X, y, &rm), "reward fit");
                dt = fmin(dt, genbo__support_now() - t);
            }
            char cfg[64];
            snprintf(cfg, sizeof cfg, "n_label=%zu", n);
            bu_cell *cell = bu_cell_get(&T, "reward", cfg, kind ? "gp" : "ridge", NAN);
            bu_add(cell, "fit_s", dt);
            bu_progress("%s fit n=%zu: %.3f s  [%s]", kind ? "gp" : "ridge", n, dt,
                        genbo_reward_describe(rm));
            genbo_reward_free(rm);
        }
    }
    free(X);
    free(y);
}

int main(int argc, char **argv) {
    const sconf *c = &FULL;
    const char *out = "bench_speed";
    int threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--quick")) c = &QUICK;
        else {
            fprintf(stderr, "usage: %s [--threads N] [--out PREFIX] [--quick]\n", argv[0]);
            return 2;
        }
    }
    if (threads > 0) genbo_set_threads(threads);
    genbo_blas_info bi;
    genbo_get_blas_info(&bi);
    bu_progress("bench_speed: OpenBLAS %s, %d threads", bi.corename, bi.threads);
    double secs[3], t = genbo__support_now();
    bench_pool(c);
    secs[0] = genbo__support_now() - t, t = genbo__support_now();
    bench_sampling(c);
    secs[1] = genbo__support_now() - t, t = genbo__support_now();
    bench_reward(c);
    secs[2] = genbo__support_now() - t;

    FILE *f = bu_open_out(out, "md");
    if (!f) return 1;
    fprintf(f, "### Scaling (%d OpenBLAS threads, kernel %s; every time is the best of %d runs)\n\n",
            bi.threads, bi.corename, REPS);
    fprintf(f, "Training time against pool size (%ld steps, network %d x %d, batch %d, D = 64; "
               "pseudo-labels by ridge predict over the whole pool) (%.0f s):\n\n",
            c->train_steps, c->width, c->depth, c->batch, secs[0]);
    static const char *const pm[] = {"pseudo_label_s", "train_s", "ms_per_step"};
    static const char *const ph[] = {"pseudo-labelling s", "training s", "ms / step"};
    static const int pd[] = {3, 2, 2};
    bu_write_md(f, &T, "pool", pm, ph, pd, 3);
    fprintf(f, "Sampling (ancestral, same network, D = 64) against steps and designs (%.0f s):\n\n",
            secs[1]);
    static const char *const sm[] = {"seconds", "sample_steps_per_s"};
    static const char *const sh[] = {"seconds", "sample-steps/s"};
    static const int sd[] = {3, 0};
    bu_write_md(f, &T, "sample_steps", sm, sh, sd, 2);
    bu_write_md(f, &T, "sample_n", sm, sh, sd, 2);
    bu_write_md(f, &T, "guidance", sm, sh, sd, 2);
    fprintf(f, "Reward fitting against n_label (D = 64; GP tuned on at most 1,000 points, "
               "2 restarts) (%.0f s):\n\n", secs[2]);
    static const char *const rm[] = {"fit_s"};
    static const char *const rh[] = {"fit s"};
    static const int rd[] = {3};
    bu_write_md(f, &T, "reward", rm, rh, rd, 1);
    fclose(f);
    f = bu_open_out(out, "json");
    if (!f) return 1;
    fprintf(f, "{\"threads\": %d, \"kernel\": \"%s\", \"blas_config\": \"%s\", "
               "\"cpu_has_avx2\": %d, \"slow_kernel\": %d, \"section_seconds\": {\"pool\": %.1f, "
               "\"sampling\": %.1f, \"reward\": %.1f}, \"cells\": ",
            bi.threads, bi.corename, bi.config, bi.cpu_has_avx2, bi.slow_kernel, secs[0],
            secs[1], secs[2]);
    bu_write_json(f, &T);
    fprintf(f, "}\n");
    fclose(f);
    bu_progress("bench_speed: done, wrote %s.md / .json", out);
    free(T.cells);
    return 0;
}
