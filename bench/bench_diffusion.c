/* bench_diffusion.c - speed of the diffusion engine on workload W1.
 *
 * W1: D = 64, scalar reward, width 512, 4 residual blocks, time and reward
 * embeddings of 64, batch 1024, Adam; then 4,096 samples x 100
 * Euler-Maruyama steps with classifier-free guidance (2 network passes a
 * step, batched as one pass of 2n rows). Run at both precisions: fp32
 * (OpenBLAS) and bf16 (oneDNN on AMX / AVX512-BF16, where the CPU has it).
 *
 * The sampling rate is per sample-step, so the default of 50 steps (to keep
 * the run short) measures nearly the same rate as W1's 100 (--sample-steps
 * 100): K steps are K + 1 guided passes on both sides, the last one for
 * the Tweedie estimate x0hat that genbo's sampler returns.
 *
 * Reports, from one run: training samples/s, sampling sample-steps/s and
 * the GFLOP/s of their matrix products for genbo fp32, genbo bf16, PyTorch
 * fp32 and PyTorch under bf16 autocast (bench/torch_w1.py, same network,
 * same threads, run from here through popen), each the best of --rounds
 * rounds run in turn (the machine is shared: a round is all four, so a
 * busy spell hits them alike). The rooflines are the bare products on the
 * same shapes: cblas_sgemm for fp32, oneDNN's bf16 matmul (the layouts
 * genbo uses, no post-ops) for bf16. Then the latency of an ask: n = 1, 2, 4, 8,
 * 64 designs from a model of the default study's size, with the study's
 * default sampler (ancestral, 200 steps, look-ahead gradient guidance).
 *
 * usage: bench_diffusion [--threads N] [--train-steps S] [--sample-steps K]
 *                        [--samples n] [--rounds R] [--no-torch] [--no-ask]
 *                        [--torch-script PATH] */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "genbo.h"
#include "tests/support/kernels.h"
#include "tests/support/support.h"

static const genbo__support_net W1 = {64, 512, 4, 64, 64};
enum { W1_BATCH = 1024 };

/* FLOPs of the matrix products of one training step (what net.c runs). */
static double train_flops(const genbo__support_net *c, int B) {
    double W = c->width, din = c->D + c->t_embed + c->y_embed, L = c->depth, D = c->D;
    double fwd = 2.0 * B * (din * W + 2 * L * W * W + W * D);
    double wgrad = fwd;                                     /* dW = dY^T X, same shapes */
    double dgrad = 2.0 * B * (2 * L * W * W + W * D) + 2.0 * B * W * c->y_embed;
    return fwd + wgrad + dgrad;
}

/* FLOPs of the products genbo's sampler runs for one design's CFG pair
 * of rows (net.c / net_bf16.c genbo__net_forward_step): the first layer
 * only over x (the embedding columns are one per-step vector), in fp32
 * once for both rows (they share x), in bf16 once per row (each CFG half
 * runs as its own tiles); the rest twice. At W1 3.7% (fp32) and 3.0%
 * (bf16) fewer than the two full passes PyTorch runs
 * (2 genbo__support_net_flops_per_row). */
static double genbo_flops_per_pair(const genbo__support_net *c, genbo_precision prec) {
    double W = c->width, L = c->depth, D = c->D;
    double first = 2.0 * D * W * (prec == GENBO_PRECISION_BF16 ? 2 : 1);
    return 2.0 * (2.0 * (2 * L * W * W + W * D)) + first;
}

/* cblas_sgemm alone over the products of one step, timed. */
typedef struct gemm_shape {
    int M, N, K, transA, transB;
    int bf_transA; /* bf16: A read transposed as genbo's plan does (net_bf16.c plans_build) */
} gemm_shape;

static double roofline(const gemm_shape *s, int ns, int reps) {
    size_t maxsz = 0;
    for (int i = 0; i < ns; i++) {
        size_t a = (size_t)s[i].M * s[i].K, b = (size_t)s[i].K * s[i].N,
               c = (size_t)s[i].M * s[i].N;
        if (a > maxsz) maxsz = a;
        if (b > maxsz) maxsz = b;
        if (c > maxsz) maxsz = c;
    }
    float *A = genbo__support_alloc64(maxsz * 4), *Bm = genbo__support_alloc64(maxsz * 4),
          *C = genbo__support_alloc64(maxsz * 4);
    for (size_t i = 0; i < maxsz; i++) A[i] = Bm[i] = C[i] = 0.01f * (float)(i % 97);
    double flops = 0;
    for (int i = 0; i < ns; i++) flops += 2.0 * s[i].M * s[i].N * s[i].K;
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = genbo__support_now();
        for (int i = 0; i < ns; i++) {
            const gemm_shape *g = &s[i];
            int lda = g->transA ? g->M : g->K, ldb = g->transB ? g->K : g->N;
            cblas_sgemm(CblasRowMajor, g->transA ? CblasTrans : CblasNoTrans,
                        g->transB ? CblasTrans : CblasNoTrans, g->M, g->N, g->K, 1.0f, A, lda,
                        Bm, ldb, 0.0f, C, g->N);
        }
        double dt = genbo__support_now() - t0;
        if (dt < best) best = dt;
    }
    free(A);
    free(Bm);
    free(C);
    return flops / best / 1e9;
}

/* The bare bf16 products of a pass, prepared once (roof_set_new) so that
 * a pass can be timed in a bare loop (roofline_bf16) and between genbo's
 * own steps (step_clock). oneDNN's bf16 matmul alone over the same
 * products. With genbo_layouts
 * (the roofline the bounds are read against) in the layouts genbo's plans
 * use: every B operand in the blocked layout oneDNN picks (the prepared
 * weights, and since session 4 the activations X of the weight gradients,
 * which the training kernels write blocked), A of the weight gradients
 * row-major (dY^T, written transposed by the SiLU' kernel) but for the
 * output layer's (read transposed). Without (session 3's roofline, for
 * comparison): the weight gradients on the tensors as a pass holds them,
 * dY read transposed and X plain, which oneDNN copies on every call. */
typedef struct roof_set {
    int ns;
    genbo__support_mm *plan[64];
    genbo__support_wbuf *wb[64];
    void *stream;
    uint16_t *A, *Bm;
    float *C, *W;
    double flops; /* of one pass over the products */
} roof_set;

/* The plans and operands of a roof_set (NULL where bf16 is unavailable). */
static roof_set *roof_set_new(const gemm_shape *s, int ns, int genbo_layouts) {
    if (!genbo__support_bf16_available()) return NULL;
    roof_set *r = calloc(1, sizeof *r);
    r->ns = ns;
    r->stream = genbo__support_mm_stream_new();
    size_t maxsz = 0;
    for (int i = 0; i < ns; i++) {
        const gemm_shape *g = &s[i];
        const int at = genbo_layouts ? g->bf_transA : g->transA, blocked = genbo_layouts || !g->transA;
        r->plan[i] = genbo__support_mm_new(g->M, g->N, g->K, at, blocked, r->stream);
        r->wb[i] = r->plan[i] && blocked ? genbo__support_wbuf_new(r->plan[i], 1) : NULL;
        size_t a = (size_t)g->M * g->K, b = (size_t)g->K * g->N, c = (size_t)g->M * g->N;
        if (a > maxsz) maxsz = a;
        if (b > maxsz) maxsz = b;
        if (c > maxsz) maxsz = c;
        r->flops += 2.0 * g->M * g->N * g->K;
    }
    /* cache-line aligned operands, as genbo's own (genbo__support_alloc64) */
    r->A = genbo__support_alloc64(maxsz * 2), r->Bm = genbo__support_alloc64(maxsz * 2);
    r->C = genbo__support_alloc64(maxsz * 4), r->W = genbo__support_alloc64(maxsz * 4);
    for (size_t i = 0; i < maxsz; i++) r->A[i] = r->Bm[i] = 0x3c00 + (uint16_t)(i % 97), r->W[i] = 0.01f;
    for (int i = 0; i < ns; i++)
        if (r->wb[i]) genbo__support_wbuf_load(r->wb[i], r->W);
    return r;
}

/* seconds for one pass over every product */
static double roof_set_once(roof_set *r) {
    double t0 = genbo__support_now();
    for (int i = 0; i < r->ns; i++)
        if (r->plan[i])
            genbo__support_mm_run(r->plan[i], r->A, r->wb[i] ? genbo__support_wbuf_data(r->wb[i]) : r->Bm, r->C);
    return genbo__support_now() - t0;
}

/* ... the second of two passes: the first brings the operands back into
 * the caches after genbo's step, as the bare loop has them */
static double roof_set_warm(roof_set *r) {
    (void)roof_set_once(r);
    return roof_set_once(r);
}

static void roof_set_free(roof_set *r) {
    if (!r) return;
    for (int i = 0; i < r->ns; i++) {
        genbo__support_wbuf_free(r->wb[i]);
        genbo__support_mm_free(r->plan[i]);
    }
    genbo__support_mm_stream_free(r->stream);
    free(r->A), free(r->Bm), free(r->C), free(r->W);
    free(r);
}

/* GFLOP/s of the best of `reps` passes in a bare loop; 0 without bf16 */
static double roofline_bf16(const gemm_shape *s, int ns, int reps, int genbo_layouts) {
    roof_set *r = roof_set_new(s, ns, genbo_layouts);
    if (!r) return 0;
    double best = 1e30;
    for (int k = 0; k < reps; k++) best = fmin(best, roof_set_once(r));
    const double gf = r->flops / best / 1e9;
    roof_set_free(r);
    return gf;
}

static int build_shapes(const genbo__support_net *c, int B, int train, gemm_shape *s) {
    int W = c->width, D = c->D, din = c->D + c->t_embed + c->y_embed, n = 0;
    s[n++] = (gemm_shape){B, W, din, 0, 1, 0};
    for (int l = 0; l < c->depth; l++) {
        s[n++] = (gemm_shape){B, W, W, 0, 1, 0};
        s[n++] = (gemm_shape){B, W, W, 0, 1, 0};
    }
    s[n++] = (gemm_shape){B, D, W, 0, 1, 0};
    if (!train) return n;
    s[n++] = (gemm_shape){D, W, B, 1, 0, 1}; /* wg_out */
    s[n++] = (gemm_shape){B, W, D, 0, 0, 0};
    for (int l = 0; l < c->depth; l++) {
        s[n++] = (gemm_shape){W, W, B, 1, 0, 0};
        s[n++] = (gemm_shape){B, W, W, 0, 0, 0};
        s[n++] = (gemm_shape){W, W, B, 1, 0, 0};
        s[n++] = (gemm_shape){B, W, W, 0, 0, 0};
    }
    s[n++] = (gemm_shape){W, din, B, 1, 0, 0};
    s[n++] = (gemm_shape){B, c->y_embed, W, 0, 0, 0};
    return n;
}

typedef struct torch_result {
    int ok;
    double train_sps, sample_sps;
    char version[64], blas[160];
} torch_result;

static double json_num(const char *line, const char *key) {
    const char *p = strstr(line, key);
    return p ? atof(p + strlen(key) + 2) : NAN; /* "key": value */
}

static void json_str(const char *line, const char *key, char *out, size_t cap) {
    const char *p = strstr(line, key);
    out[0] = 0;
    if (!p) return;
    p = strchr(p + strlen(key) + 1, '"');
    if (!p) return;
    p++;
    size_t i = 0;
    while (p[i] && p[i] != '"' && i + 1 < cap) out[i] = p[i], i++;
    out[i] = 0;
}

static torch_result run_torch(const char *script, int threads, int train_steps,
                              int sample_steps, int samples, int autocast) {
    torch_result r = {0};
    char cmd[2048];
    /* Debian's python3-torch lives in /usr/bin/python3's site-packages; a
     * python3 earlier on PATH (pyenv, venv) may not see it. GENBO_PYTHON
     * overrides. */
    const char *py = getenv("GENBO_PYTHON");
    if (!py) py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    snprintf(cmd, sizeof cmd,
             "OMP_NUM_THREADS=%d %s '%s' --threads %d --train-steps %d --sample-steps %d "
             "--samples %d%s 2>/dev/null",
             threads, py, script, threads, train_steps, sample_steps, samples,
             autocast ? " --autocast" : "");
    FILE *f = popen(cmd, "r");
    if (!f) return r;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        if (line[0] != '{') continue;
        r.train_sps = json_num(line, "\"train_samples_per_s\"");
        r.sample_sps = json_num(line, "\"sample_steps_per_s\"");
        json_str(line, "\"torch\"", r.version, sizeof r.version);
        json_str(line, "\"blas\"", r.blas, sizeof r.blas);
        r.ok = isfinite(r.train_sps) && isfinite(r.sample_sps);
    }
    pclose(f);
    return r;
}

/* One genbo configuration: train W1 for `steps` steps (after a 2-step
 * warm-up) and sample `samples` designs with CFG; rates into r. */
typedef struct rates {
    double train_sps, train_gf, sample_sps, sample_gf;
    double call_s; /* the whole training call: setup, every step, final validation */
    double roof_train, roof_sample;   /* bf16: the rooflines timed between its steps (fastest pass) */
    double mroof_train, mroof_sample; /* ... over all those passes (their mean rate) */
} rates;

/* Timed steps start after WARM steps of the same run (first touch of the
 * buffers, thread pools up) and end before the last step, whose final
 * validation is bookkeeping: the same steady state bench/torch_w1.py times
 * (2 warm-up steps, then its loop). */
enum { WARM = 2 };

/* The progress callback's clock: when each optimiser step ended (it sees
 * every step of a run shorter than 100 steps) and, for bf16, one pass of
 * the bare products of the same shapes (the roofline) timed right there,
 * between genbo's steps: the box's speed moves by 2x within seconds (a
 * roofline timed at the start of a round, 15-20 s before genbo ran, once
 * read 1,209 GFLOP/s against 590 at genbo's moment), so genbo and the
 * roofline are timed at the same moments. Each time the products run
 * twice and the second, warm pass is timed (the bare loop's passes find
 * their operands in cache too); the roofline is the fastest of those
 * passes, as the bare loop's is its best of 8 (the mean pass of a bare
 * loop was 20-25% slower than its best in a fast moment, 3-5% in a slow
 * one); the round table also reads genbo's mean rate against their mean
 * rate, the like-for-like figure on a box whose speed jitters pass to
 * pass. A step is timed from the end of the passes
 * before it, so the roofline's own time is not genbo's; they do evict
 * some of genbo's data from the caches, which counts against genbo.
 * Sampling reports progress every few steps: the sampling shapes' passes
 * run at each report, their time taken out of genbo's. */
typedef struct step_clock {
    int train_steps;
    double t_in[256], t_out[256]; /* train: a step's callback entered, left */
    roof_set *rt, *rs;            /* bf16: the training, sampling products */
    double roof_t, roof_s;        /* the fastest of the interleaved passes counted */
    double sum_t, sum_s;          /* ... and their sums */
    int nroof_t, nroof_s;
    double cb_s; /* sampling: seconds inside the callback */
} step_clock;

static int on_progress(void *ctx, const char *stage, long done, long total, const char *msg) {
    (void)total, (void)msg;
    step_clock *c = ctx;
    const double t_in = genbo__support_now();
    if (!strcmp(stage, "train") && done >= 0 && done < 256) {
        c->t_in[done] = t_in;
        /* after step WARM too, so every timed step follows a pass */
        if (c->rt && done >= WARM && done <= WARM + c->train_steps) {
            const double dt = roof_set_warm(c->rt);
            if (done > WARM) {
                if (c->roof_t == 0 || dt < c->roof_t) c->roof_t = dt;
                c->sum_t += dt, c->nroof_t++;
            }
        }
        c->t_out[done] = genbo__support_now();
    } else if (!strcmp(stage, "sample") && c->rs) {
        const double dt = roof_set_warm(c->rs);
        if (c->roof_s == 0 || dt < c->roof_s) c->roof_s = dt;
        c->sum_s += dt, c->nroof_s++;
        c->cb_s += genbo__support_now() - t_in;
    }
    return 0;
}

/* One genbo configuration: train W1 for `steps` steps (after a 2-step
 * warm-up) and sample `samples` designs with CFG; rates into r, with rt
 * and rs (bf16) the rooflines timed between its steps. */
static int run_genbo(genbo_precision prec, size_t n, const double *X, const double *y,
                     int train_steps, int sample_steps, int samples, rates *r, double *prof,
                     roof_set *rt, roof_set *rs) {
    const size_t D = (size_t)W1.D;
    genbo_diffusion_params p;
    genbo_diffusion_params_default(&p);
    p.width = W1.width, p.depth = W1.depth, p.t_embed = W1.t_embed, p.y_embed = W1.y_embed;
    p.batch = W1_BATCH;
    p.precision = prec;
    p.steps = 2; /* warm-up: page in, thread pools up, plans built */
    genbo_diffusion *m = NULL;
    if (genbo_diffusion_train(&p, n, D, X, y, &m)) return -1;
    genbo_diffusion_free(m);
    p.steps = WARM + train_steps + 1;
    step_clock clk = {0};
    clk.train_steps = train_steps, clk.rt = rt;
    p.progress = on_progress;
    p.progress_ctx = &clk;
    genbo__support_prof_reset();
    double t0 = genbo__support_now();
    if (genbo_diffusion_train(&p, n, D, X, y, &m)) return -1;
    r->call_s = genbo__support_now() - t0;
    for (int k = 0; k < GENBO__SUPPORT_PROF_N; k++)
        prof[k] = genbo__support_prof_get(k), prof[GENBO__SUPPORT_PROF_N + k] = genbo__support_prof_min(k);
    double tt = 0; /* the timed steps, each from the end of the callback before it */
    for (int k = WARM + 1; k <= WARM + train_steps; k++) tt += clk.t_in[k] - clk.t_out[k - 1];
    r->train_sps = (double)train_steps * W1_BATCH / tt;
    r->train_gf = train_flops(&W1, W1_BATCH) * train_steps / tt / 1e9;
    r->roof_train = clk.roof_t > 0 ? rt->flops / clk.roof_t / 1e9 : 0;
    r->mroof_train = clk.nroof_t ? rt->flops * clk.nroof_t / clk.sum_t / 1e9 : 0;

    genbo_sample_params sp;
    genbo_sample_params_default(&sp);
    sp.sampler = GENBO_SAMPLER_EULER_MARUYAMA;
    sp.steps = sample_steps;
    sp.cfg_weight = 1.0;
    sp.precision = prec;
    if (rs) sp.progress = on_progress, sp.progress_ctx = &clk, clk.rs = rs;
    double *G = malloc(sizeof(double) * (size_t)samples * D);
    t0 = genbo__support_now();
    int rc = genbo_diffusion_sample(m, &sp, 1.0, (size_t)samples, G);
    double ts = genbo__support_now() - t0 - clk.cb_s;
    free(G);
    genbo_diffusion_free(m);
    if (rc) return -1;
    /* steps + the final x0hat evaluation, each a CFG pair of passes per
     * design; GFLOP/s of the products genbo runs (genbo_flops_per_pair) */
    double passes = (double)samples * (sample_steps + 1);
    r->sample_sps = (double)samples * sample_steps / ts;
    r->sample_gf = passes * genbo_flops_per_pair(&W1, prec) / ts / 1e9;
    r->roof_sample = clk.roof_s > 0 ? rs->flops / clk.roof_s / 1e9 : 0;
    r->mroof_sample = clk.nroof_s ? rs->flops * clk.nroof_s / clk.sum_s / 1e9 : 0;
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* the median of v[0..n) (sorted in place) */
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void best_of(rates *b, const rates *r) {
    b->train_sps = fmax(b->train_sps, r->train_sps);
    b->train_gf = fmax(b->train_gf, r->train_gf);
    b->sample_sps = fmax(b->sample_sps, r->sample_sps);
    b->sample_gf = fmax(b->sample_gf, r->sample_gf);
    if (r->call_s > 0) b->call_s = b->call_s > 0 ? fmin(b->call_s, r->call_s) : r->call_s;
}

/* Where a training run's time went (a -DGENBO_PROFILE=ON build only):
 * prof[k] the sum over the run, prof[N + k] the least in one step. */
static void print_profile(const char *name, const double *prof, int steps) {
    double tot = 0, tmin = 0;
    for (int k = 0; k < GENBO__SUPPORT_PROF_N; k++) tot += prof[k], tmin += prof[GENBO__SUPPORT_PROF_N + k];
    if (!(tot > 0)) return;
    printf("\nprofile of one %s training run (%d steps + final validation):\n", name, steps);
    printf("  %-22s %12s %7s %14s %7s\n", "phase", "mean ms/step", "share", "least ms/step",
           "share");
    for (int k = 0; k < GENBO__SUPPORT_PROF_N; k++)
        if (prof[k] > 0)
            printf("  %-22s %12.2f %6.1f%% %14.2f %6.1f%%\n", genbo__support_prof_name(k),
                   1e3 * prof[k] / steps, 100 * prof[k] / tot, 1e3 * prof[GENBO__SUPPORT_PROF_N + k],
                   100 * prof[GENBO__SUPPORT_PROF_N + k] / tmin);
}

/* ---- ask latency: a linear reward's gradient for look-ahead guidance */
static int lin_grad(void *ctx, size_t n, const double *X, double *g) {
    (void)X;
    const int D = *(const int *)ctx;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < D; j++) g[i * D + j] = j < 2 ? 1.0 : 0.0;
    return 0;
}

/* Milliseconds of one ask of n designs, best of reps, or NAN. */
static double ask_ms(const genbo_diffusion *m, genbo_precision prec, size_t n, int reps) {
    int D = (int)genbo_diffusion_dim(m);
    genbo_sample_params sp;
    genbo_sample_params_default(&sp); /* the study's: ancestral, 200 steps */
    sp.grad_mode = GENBO_GRAD_LOOKAHEAD;
    sp.grad_eta = 1.0;
    sp.grad = lin_grad;
    sp.grad_ctx = &D;
    sp.precision = prec;
    double *G = malloc(sizeof(double) * n * D), best = NAN;
    for (int r = 0; r < reps; r++) {
        double t0 = genbo__support_now();
        if (genbo_diffusion_sample(m, &sp, 1.0, n, G)) {
            fprintf(stderr, "ask: %s\n", genbo_errmsg());
            break;
        }
        double dt = 1e3 * (genbo__support_now() - t0);
        if (!(dt >= best)) best = dt;
    }
    free(G);
    return best;
}

static void ask_section(int have_bf16) {
    enum { N = 2000, D = 64 };
    double *X = malloc(sizeof(double) * N * D), *y = malloc(sizeof(double) * N);
    genbo__support_rng *r = genbo__support_rng_new(2, 0);
    for (size_t i = 0; i < (size_t)N * D; i++) X[i] = genbo__support_rng_normal(r);
    genbo__support_rng_free(r);
    for (int i = 0; i < N; i++) y[i] = X[(size_t)i * D] + X[(size_t)i * D + 1];
    genbo_diffusion_params p;
    genbo_diffusion_params_default(&p); /* the default study's network: width 256, depth 3 */
    p.width = 256, p.depth = 3, p.batch = 256;
    p.steps = 5; /* latency does not depend on the weights */
    p.precision = GENBO_PRECISION_FP32;
    genbo_diffusion *m = NULL;
    if (genbo_diffusion_train(&p, N, D, X, y, &m)) {
        fprintf(stderr, "ask model: %s\n", genbo_errmsg());
        return;
    }
    /* the same network trained in bf16, asked at precision auto: what an
     * ask of a bf16 study runs (fp32 for passes of at most 4 rows) */
    genbo_diffusion *mb = NULL;
    p.precision = GENBO_PRECISION_BF16;
    if (have_bf16 && genbo_diffusion_train(&p, N, D, X, y, &mb)) fprintf(stderr, "ask model (bf16): %s\n", genbo_errmsg());
    printf("\nask latency (D %d, width 256, depth 3; ancestral 200 steps, look-ahead guidance;"
           " best of 3; auto = a bf16-trained model at precision auto):\n", D);
    printf("%-10s %14s %14s %14s %14s\n", "designs", "fp32 ms", "bf16 ms", "auto ms", "fp32 / bf16");
    const size_t ns[] = {1, 2, 4, 8, 64};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        double f = ask_ms(m, GENBO_PRECISION_FP32, ns[k], 3);
        if (!have_bf16) {
            printf("n = %-6zu %14.1f %14s %14s %14s\n", ns[k], f, "n/a", "n/a", "n/a");
            continue;
        }
        double b = ask_ms(m, GENBO_PRECISION_BF16, ns[k], 3);
        double a = mb ? ask_ms(mb, GENBO_PRECISION_AUTO, ns[k], 3) : NAN;
        printf("n = %-6zu %14.1f %14.1f %14.1f %13.2fx\n", ns[k], f, b, a, f / b);
    }
    genbo_diffusion_free(mb);
    genbo_diffusion_free(m);
    free(X);
    free(y);
}

static void row(const char *name, double rate, double gf, double roof) {
    if (!(rate > 0)) {
        printf("%-30s %12s\n", name, "n/a");
        return;
    }
    if (roof > 0)
        printf("%-30s %12.0f %10.1f %10.1f %8.0f%%\n", name, rate, gf, roof, 100 * gf / roof);
    else
        printf("%-30s %12.0f %10.1f\n", name, rate, gf);
}

int main(int argc, char **argv) {
    int threads = 0, train_steps = 20, sample_steps = 50, samples = 4096, torch = 1, ask = 1;
    int rounds = 3;
    /* the script sits in <repo>/bench, the program in a build directory of <repo> */
    char script[1024];
    const char *slash = strrchr(argv[0], '/');
    snprintf(script, sizeof script, "%.*s/../bench/torch_w1.py",
             slash ? (int)(slash - argv[0]) : 1, slash ? argv[0] : ".");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--train-steps") && i + 1 < argc) train_steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--sample-steps") && i + 1 < argc) sample_steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--samples") && i + 1 < argc) samples = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-torch")) torch = 0;
        else if (!strcmp(argv[i], "--no-ask")) ask = 0;
        else if (!strcmp(argv[i], "--torch-script") && i + 1 < argc)
            snprintf(script, sizeof script, "%s", argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--threads N] [--train-steps S] [--sample-steps K] "
                            "[--samples n] [--rounds R] [--no-torch] [--no-ask] "
                            "[--torch-script PATH]\n", argv[0]);
            return 2;
        }
    }
    if (rounds < 1) rounds = 1;
    if (threads > 0) genbo_set_threads(threads);
    genbo_blas_info bi;
    genbo_get_blas_info(&bi);
    threads = bi.threads;
    printf("W1: D=%d width=%d depth=%d t_embed=%d y_embed=%d batch=%d\n", W1.D, W1.width,
           W1.depth, W1.t_embed, W1.y_embed, W1_BATCH);
    printf("OpenBLAS kernel %s, %d threads (%s)%s\n", bi.corename, threads, bi.config,
           bi.slow_kernel ? "  [generic kernel: set OPENBLAS_CORETYPE]" : "");
    printf("oneDNN ISA %s: bf16 %s\n", bi.dnnl_isa,
           bi.bf16 ? "native (genbo bf16 runs)" : "unavailable on this CPU (genbo bf16 skipped)");
    fflush(stdout);

    gemm_shape sh_train[64], sh_sample[64];
    int ns_train = build_shapes(&W1, W1_BATCH, 1, sh_train);
    int ns_sample = build_shapes(&W1, 2048, 0, sh_sample); /* 1024 designs x 2 CFG passes */

    const size_t n = 16384, D = (size_t)W1.D;
    double *X = malloc(sizeof(double) * n * D), *y = malloc(sizeof(double) * n);
    genbo__support_rng *r = genbo__support_rng_new(1, 0);
    for (size_t i = 0; i < n * D; i++) X[i] = genbo__support_rng_normal(r);
    genbo__support_rng_free(r);
    for (size_t i = 0; i < n; i++) y[i] = X[i * D] + 0.5 * X[i * D + 1];

    rates g32 = {0}, g16 = {0}, t32 = {0}, t16 = {0};
    double roof32_t = 0, roof32_s = 0, roof16_t = 0, roof16_s = 0, roof16_plain = 0;
    torch_result tr = {0};
    int torch_ok = 0;
    double prof32[2 * GENBO__SUPPORT_PROF_N] = {0}, prof16[2 * GENBO__SUPPORT_PROF_N] = {0};
    /* each round's own bf16 figures: its rooflines, genbo's and torch's rates */
    enum { MAX_ROUNDS = 32 };
    if (rounds > MAX_ROUNDS) rounds = MAX_ROUNDS;
    rates g16r[MAX_ROUNDS] = {{0}}, t16r[MAX_ROUNDS] = {{0}};
    /* the bf16 products of a training step and of a sampling pass, timed
     * between genbo's own steps (run_genbo); bt, bs: the rounds of genbo
     * bf16's best training and sampling rates */
    roof_set *rt16 = bi.bf16 ? roof_set_new(sh_train, ns_train, 1) : NULL,
             *rs16 = bi.bf16 ? roof_set_new(sh_sample, ns_sample, 1) : NULL;
    int bt = 0, bs = 0;
    for (int round = 0; round < rounds; round++) {
        rates x;
        roof32_t = fmax(roof32_t, roofline(sh_train, ns_train, 4));
        roof32_s = fmax(roof32_s, roofline(sh_sample, ns_sample, 4));
        /* the bare loop's bf16 rooflines (the hardware's best moment) */
        roof16_t = fmax(roof16_t, roofline_bf16(sh_train, ns_train, 8, 1));
        roof16_s = fmax(roof16_s, roofline_bf16(sh_sample, ns_sample, 8, 1));
        roof16_plain = fmax(roof16_plain, roofline_bf16(sh_train, ns_train, 8, 0));
        if (run_genbo(GENBO_PRECISION_FP32, n, X, y, train_steps, sample_steps, samples, &x,
                      prof32, NULL, NULL)) {
            fprintf(stderr, "genbo fp32: %s\n", genbo_errmsg());
            return 1;
        }
        best_of(&g32, &x);
        if (bi.bf16) {
            if (run_genbo(GENBO_PRECISION_BF16, n, X, y, train_steps, sample_steps, samples, &x,
                          prof16, rt16, rs16)) {
                fprintf(stderr, "genbo bf16: %s\n", genbo_errmsg());
                return 1;
            }
            if (x.train_sps > g16.train_sps) bt = round;
            if (x.sample_sps > g16.sample_sps) bs = round;
            best_of(&g16, &x);
            g16r[round] = x;
        }
        if (torch) {
            for (int ac = 0; ac < 2; ac++) {
                torch_result t = run_torch(script, threads, train_steps, sample_steps, samples, ac);
                if (!t.ok) continue;
                tr = t;
                torch_ok = 1;
                rates q = {t.train_sps, t.train_sps * train_flops(&W1, W1_BATCH) / W1_BATCH / 1e9,
                           t.sample_sps,
                           t.sample_sps * 2.0 * (sample_steps + 1) / sample_steps *
                               genbo__support_net_flops_per_row(&W1) / 1e9,
                           0, 0, 0, 0, 0};
                best_of(ac ? &t16 : &t32, &q);
                if (ac) t16r[round] = q;
            }
        }
        fprintf(stderr, "bench_diffusion: round %d of %d done\n", round + 1, rounds);
    }

    printf("\nbest of %d rounds; rate = samples/s (training), sample-steps/s (sampling)\n",
           rounds);
    printf("%-30s %12s %10s %10s %9s\n", "", "rate", "GFLOP/s", "roofline", "of roof");
    printf("training (batch %d, %d steps timed after %d warm-up steps)\n", W1_BATCH, train_steps,
           WARM);
    row("  genbo fp32 (OpenBLAS)", g32.train_sps, g32.train_gf, roof32_t);
    row("  genbo bf16 (oneDNN)", g16.train_sps, g16.train_gf, g16r[bt].roof_train);
    row("  torch fp32", t32.train_sps, t32.train_gf, roof32_t);
    row("  torch bf16 autocast", t16.train_sps, t16.train_gf, roof16_t);
    printf("sampling (%d designs x %d EM steps, CFG as 2n rows)\n", samples, sample_steps);
    row("  genbo fp32 (OpenBLAS)", g32.sample_sps, g32.sample_gf, roof32_s);
    row("  genbo bf16 (oneDNN)", g16.sample_sps, g16.sample_gf, g16r[bs].roof_sample);
    row("  torch fp32", t32.sample_sps, t32.sample_gf, roof32_s);
    row("  torch bf16 autocast", t16.sample_sps, t16.sample_gf, roof16_s);
    printf("rooflines: bare products on the same shapes (sgemm for fp32, oneDNN bf16 matmul "
           "for bf16, in genbo's layouts); genbo bf16's timed between its own steps in the "
           "round of its best rate, the others the best of 8 in a bare loop\n");
    if (bi.bf16)
        printf("bf16 roofline in the bare loop (best of 8, at every round's start): training %.1f, sampling "
               "%.1f GFLOP/s; genbo bf16's best rates are %.0f%% and %.0f%% of it\n",
               roof16_t, roof16_s, 100 * g16.train_gf / roof16_t, 100 * g16.sample_gf / roof16_s);
    if (roof16_plain > 0)
        printf("bf16 training roofline with the weight gradients on plain X and dY read transposed "
               "(session 3's): %.1f GFLOP/s, genbo bf16 %.0f%% of it\n",
               roof16_plain, 100 * g16.train_gf / roof16_plain);
    printf("whole training call (setup, plans, %d steps, final validation): fp32 %.3f s",
           WARM + train_steps + 1, g32.call_s);
    if (bi.bf16) printf(", bf16 %.3f s", g16.call_s);
    printf("\n");
    if (torch_ok) {
        printf("\nPyTorch %s (%.60s), %d threads\n", tr.version, tr.blas, threads);
        printf("genbo fp32 / torch fp32:          training %.2fx, sampling %.2fx\n",
               g32.train_sps / t32.train_sps, g32.sample_sps / t32.sample_sps);
        if (bi.bf16)
            printf("genbo bf16 / torch bf16 autocast: training %.2fx, sampling %.2fx\n",
                   g16.train_sps / t16.train_sps, g16.sample_sps / t16.sample_sps);
    } else if (torch) {
        printf("\nPyTorch: not available (python3 -c 'import torch' failed), no comparison\n");
    }
    if (bi.bf16)
        printf("genbo bf16 / genbo fp32:          training %.2fx, sampling %.2fx\n",
               g16.train_sps / g32.train_sps, g16.sample_sps / g32.sample_sps);
    if (bi.bf16 && rounds > 1) {
        /* the bounds round by round: the box's speed moves between rounds
         * (the bf16 roofline by 2x), so a round's genbo is read against
         * the roofline timed between its own steps (its fastest pass, and
         * the mean of its passes against genbo's mean) and that round's
         * PyTorch */
        printf("\nbf16 round by round (each against the roofline timed between its own steps: its fastest "
               "pass, and the mean of its passes; x its round's PyTorch bf16):\n");
        printf("  %5s  %-40s  %-40s\n", "round", "training: samples/s, of roof, of mean, x torch",
               "sampling: sample-steps/s, of roof, of mean, x torch");
        double ft[MAX_ROUNDS], fs[MAX_ROUNDS], mt[MAX_ROUNDS], ms[MAX_ROUNDS];
        for (int k = 0; k < rounds; k++) {
            const rates *g = &g16r[k], *t = &t16r[k];
            char xt[16] = "n/a", xs[16] = "n/a";
            if (t->train_sps > 0) snprintf(xt, sizeof xt, "%.2fx", g->train_sps / t->train_sps);
            if (t->sample_sps > 0) snprintf(xs, sizeof xs, "%.2fx", g->sample_sps / t->sample_sps);
            ft[k] = g->train_gf / g->roof_train, fs[k] = g->sample_gf / g->roof_sample;
            mt[k] = g->train_gf / g->mroof_train, ms[k] = g->sample_gf / g->mroof_sample;
            printf("  %5d  %10.0f %5.0f%% %5.0f%% %7s (%4.0f / %4.0f)  %10.0f %5.0f%% %5.0f%% %7s (%4.0f / %4.0f)\n",
                   k + 1, g->train_sps, 100 * ft[k], 100 * mt[k], xt, g->roof_train, g->mroof_train,
                   g->sample_sps, 100 * fs[k], 100 * ms[k], xs, g->roof_sample, g->mroof_sample);
        }
        printf("  median of the rounds: training %.0f%% of roof, %.0f%% of mean; sampling %.0f%% of roof, "
               "%.0f%% of mean\n",
               100 * median(ft, rounds), 100 * median(mt, rounds), 100 * median(fs, rounds), 100 * median(ms, rounds));
    }
    if (genbo__support_prof_enabled()) {
        print_profile("fp32", prof32, WARM + train_steps + 1);
        if (bi.bf16) print_profile("bf16", prof16, WARM + train_steps + 1);
    }
    fflush(stdout);
    if (ask) ask_section(bi.bf16);
    roof_set_free(rt16);
    roof_set_free(rs16);
    free(X);
    free(y);
    return 0;
}
