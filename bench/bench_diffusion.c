/* bench_diffusion.c - speed of the diffusion engine on workload W1.
 *
 * W1: D = 64, scalar reward, width 512, 4 residual blocks, time and reward
 * embeddings of 64, batch 1024, fp32, Adam; then 4,096 samples x 100
 * Euler-Maruyama steps with classifier-free guidance (2 network passes a
 * step, batched as one pass of 2n rows).
 *
 * The sampling rate is per sample-step, so the default of 50 steps (to keep
 * the run short) measures the same rate as W1's 100 (--sample-steps 100).
 *
 * Reports, from one run: training samples/s, sampling sample-steps/s and
 * the GFLOP/s of their matrix products, next to (a) cblas_sgemm alone on
 * the same shapes (the roofline of this machine) and (b) the same network
 * in PyTorch on the CPU (bench/torch_w1.py, same thread count), run from
 * here through popen.
 *
 * usage: bench_diffusion [--threads N] [--train-steps S] [--sample-steps K]
 *                        [--samples n] [--no-torch] [--torch-script PATH] */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diffusion/diffusion_internal.h"

static const dn_config W1 = {64, 512, 4, 64, 64};
enum { W1_BATCH = 1024 };

/* FLOPs of the matrix products of one training step (what net.c runs). */
static double train_flops(const dn_config *c, int B) {
    double W = c->width, din = c->D + c->t_embed + c->y_embed, L = c->depth, D = c->D;
    double fwd = 2.0 * B * (din * W + 2 * L * W * W + W * D);
    double wgrad = fwd;                                     /* dW = dY^T X, same shapes */
    double dgrad = 2.0 * B * (2 * L * W * W + W * D) + 2.0 * B * W * c->y_embed;
    return fwd + wgrad + dgrad;
}

/* cblas_sgemm alone over the products of one step, timed. */
typedef struct gemm_shape {
    int M, N, K, transA, transB;
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
    float *A = malloc(maxsz * 4), *Bm = malloc(maxsz * 4), *C = malloc(maxsz * 4);
    for (size_t i = 0; i < maxsz; i++) A[i] = Bm[i] = C[i] = 0.01f * (float)(i % 97);
    double flops = 0;
    for (int i = 0; i < ns; i++) flops += 2.0 * s[i].M * s[i].N * s[i].K;
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = genbo__now();
        for (int i = 0; i < ns; i++) {
            const gemm_shape *g = &s[i];
            int lda = g->transA ? g->M : g->K, ldb = g->transB ? g->K : g->N;
            cblas_sgemm(CblasRowMajor, g->transA ? CblasTrans : CblasNoTrans,
                        g->transB ? CblasTrans : CblasNoTrans, g->M, g->N, g->K, 1.0f, A, lda,
                        Bm, ldb, 0.0f, C, g->N);
        }
        double dt = genbo__now() - t0;
        if (dt < best) best = dt;
    }
    free(A);
    free(Bm);
    free(C);
    return flops / best / 1e9;
}

static int build_shapes(const dn_config *c, int B, int train, gemm_shape *s) {
    int W = c->width, D = c->D, din = c->D + c->t_embed + c->y_embed, n = 0;
    s[n++] = (gemm_shape){B, W, din, 0, 1};
    for (int l = 0; l < c->depth; l++) {
        s[n++] = (gemm_shape){B, W, W, 0, 1};
        s[n++] = (gemm_shape){B, W, W, 0, 1};
    }
    s[n++] = (gemm_shape){B, D, W, 0, 1};
    if (!train) return n;
    s[n++] = (gemm_shape){D, W, B, 1, 0};
    s[n++] = (gemm_shape){B, W, D, 0, 0};
    for (int l = 0; l < c->depth; l++) {
        s[n++] = (gemm_shape){W, W, B, 1, 0};
        s[n++] = (gemm_shape){B, W, W, 0, 0};
        s[n++] = (gemm_shape){W, W, B, 1, 0};
        s[n++] = (gemm_shape){B, W, W, 0, 0};
    }
    s[n++] = (gemm_shape){W, din, B, 1, 0};
    s[n++] = (gemm_shape){B, c->y_embed, W, 0, 0};
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
                              int sample_steps, int samples) {
    torch_result r = {0};
    char cmd[2048];
    /* Debian's python3-torch lives in /usr/bin/python3's site-packages; a
     * python3 earlier on PATH (pyenv, venv) may not see it. GENBO_PYTHON
     * overrides. */
    const char *py = getenv("GENBO_PYTHON");
    if (!py) py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    snprintf(cmd, sizeof cmd,
             "%s '%s' --threads %d --train-steps %d --sample-steps %d --samples %d "
             "2>/dev/null",
             py, script, threads, train_steps, sample_steps, samples);
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

int main(int argc, char **argv) {
    int threads = 0, train_steps = 20, sample_steps = 50, samples = 4096, torch = 1;
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
        else if (!strcmp(argv[i], "--no-torch")) torch = 0;
        else if (!strcmp(argv[i], "--torch-script") && i + 1 < argc)
            snprintf(script, sizeof script, "%s", argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--threads N] [--train-steps S] [--sample-steps K] "
                            "[--samples n] [--no-torch] [--torch-script PATH]\n", argv[0]);
            return 2;
        }
    }
    if (threads > 0) genbo_set_threads(threads);
    genbo_blas_info bi;
    genbo_get_blas_info(&bi);
    threads = bi.threads;
    printf("W1: D=%d width=%d depth=%d t_embed=%d y_embed=%d batch=%d\n", W1.D, W1.width,
           W1.depth, W1.t_embed, W1.y_embed, W1_BATCH);
    printf("OpenBLAS kernel %s, %d threads (%s)%s\n", bi.corename, threads, bi.config,
           bi.slow_kernel ? "  [generic kernel: set OPENBLAS_CORETYPE]" : "");

    /* ---- roofline: the same products through cblas_sgemm alone, measured
     * before and after the engine (best of both: the machine is shared) */
    gemm_shape sh_train[64], sh_sample[64];
    int ns_train = build_shapes(&W1, W1_BATCH, 1, sh_train);
    int ns_sample = build_shapes(&W1, 2048, 0, sh_sample); /* 1024 designs x 2 CFG passes */
    double roof_train = roofline(sh_train, ns_train, 8);
    double roof_sample = roofline(sh_sample, ns_sample, 8);

    /* ---- training */
    const size_t n = 16384, D = (size_t)W1.D;
    double *X = malloc(sizeof(double) * n * D), *y = malloc(sizeof(double) * n);
    genbo_rng r;
    genbo_rng_seed(&r, 1, 0);
    for (size_t i = 0; i < n * D; i++) X[i] = genbo_rng_normal(&r);
    for (size_t i = 0; i < n; i++) y[i] = X[i * D] + 0.5 * X[i * D + 1];
    genbo_diffusion_params p;
    genbo_diffusion_params_default(&p);
    p.width = W1.width, p.depth = W1.depth, p.t_embed = W1.t_embed, p.y_embed = W1.y_embed;
    p.batch = W1_BATCH;
    p.steps = 2; /* warm-up: page in, thread pool up */
    genbo_diffusion *m = NULL;
    if (genbo_diffusion_train(&p, n, D, X, y, &m)) {
        fprintf(stderr, "train: %s\n", genbo_errmsg());
        return 1;
    }
    genbo_diffusion_free(m);
    p.steps = train_steps;
    double t0 = genbo__now();
    if (genbo_diffusion_train(&p, n, D, X, y, &m)) {
        fprintf(stderr, "train: %s\n", genbo_errmsg());
        return 1;
    }
    double tt = genbo__now() - t0;
    double train_sps = (double)train_steps * W1_BATCH / tt;
    double train_gf = train_flops(&W1, W1_BATCH) * train_steps / tt / 1e9;

    /* ---- sampling: EM, CFG w = 1, 2n rows a pass */
    genbo_sample_params sp;
    genbo_sample_params_default(&sp);
    sp.sampler = GENBO_SAMPLER_EULER_MARUYAMA;
    sp.steps = sample_steps;
    sp.cfg_weight = 1.0;
    double *G = malloc(sizeof(double) * (size_t)samples * D);
    t0 = genbo__now();
    if (genbo_diffusion_sample(m, &sp, 1.0, (size_t)samples, G)) {
        fprintf(stderr, "sample: %s\n", genbo_errmsg());
        return 1;
    }
    double ts = genbo__now() - t0;
    /* steps + the final x0hat evaluation, each 2 * samples rows */
    double sample_rows = 2.0 * samples * (sample_steps + 1);
    double sample_sps = (double)samples * sample_steps / ts;
    double sample_gf = sample_rows * dn_forward_flops_per_row(&W1) / ts / 1e9;

    roof_train = fmax(roof_train, roofline(sh_train, ns_train, 8));
    roof_sample = fmax(roof_sample, roofline(sh_sample, ns_sample, 8));

    printf("\n%-34s %14s %10s %10s\n", "", "rate", "GFLOP/s", "of sgemm");
    printf("%-34s %10.0f s/s %10.1f %9.0f%%\n", "genbo training (samples/s)", train_sps,
           train_gf, 100 * train_gf / roof_train);
    printf("%-34s %10.0f s/s %10.1f %9.0f%%\n", "genbo sampling (sample-steps/s)", sample_sps,
           sample_gf, 100 * sample_gf / roof_sample);
    printf("%-34s %14s %10.1f\n", "cblas_sgemm alone, training shapes", "", roof_train);
    printf("%-34s %14s %10.1f\n", "cblas_sgemm alone, sampling shapes", "", roof_sample);
    printf("(training %d steps in %.2f s; sampling %d x %d steps in %.2f s)\n", train_steps, tt,
           samples, sample_steps, ts);

    if (torch) {
        torch_result tr = run_torch(script, threads, train_steps, sample_steps, samples);
        if (tr.ok) {
            printf("\nPyTorch %s (%s), %d threads:\n", tr.version, tr.blas, threads);
            printf("%-34s %10.0f s/s   genbo / torch = %.2fx\n", "torch training (samples/s)",
                   tr.train_sps, train_sps / tr.train_sps);
            printf("%-34s %10.0f s/s   genbo / torch = %.2fx\n",
                   "torch sampling (sample-steps/s)", tr.sample_sps, sample_sps / tr.sample_sps);
        } else {
            printf("\nPyTorch: not available (python3 -c 'import torch' failed), no comparison\n");
        }
    }
    free(G);
    free(X);
    free(y);
    genbo_diffusion_free(m);
    return 0;
}
