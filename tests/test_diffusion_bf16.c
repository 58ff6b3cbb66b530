/* test_diffusion_bf16.c - the bf16 back end (net_bf16.c, mm.c) against the
 * fp32 network: same outputs and gradients to bf16 accuracy, exact
 * reproducibility, the precision setting and its error where the CPU has
 * no bf16. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diffusion/diffusion_internal.h"
#include "diffusion/kernels.h"
#include "diffusion/mm.h"
#include "precision_fixture.h"

/* wide enough that the products use the matrix units' blocking; odd row
 * counts exercise the tails */
static const genbo__net_config cfg = {7, 96, 2, 16, 12};

static double rel_err(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += (double)b[i] * b[i];
    }
    return sqrt(num / fmax(den, 1e-300));
}

typedef struct batch {
    int B;
    float *x, *lt, *y, *R;
    uint8_t *nul;
} batch;

static batch make_batch(int B, uint64_t seed) {
    batch b = {B, malloc(sizeof(float) * B * cfg.D), malloc(sizeof(float) * B),
               malloc(sizeof(float) * B), malloc(sizeof(float) * B * cfg.D), malloc(B)};
    genbo__rng r;
    genbo__rng_seed(&r, seed, 0);
    for (int i = 0; i < B * cfg.D; i++) b.x[i] = (float)genbo__rng_normal(&r);
    for (int i = 0; i < B * cfg.D; i++) b.R[i] = (float)genbo__rng_normal(&r);
    for (int i = 0; i < B; i++) {
        b.lt[i] = (float)(log(1e-3) + 9.0 * genbo__rng_uniform(&r));
        b.y[i] = (float)genbo__rng_normal(&r);
        b.nul[i] = genbo__rng_uniform(&r) < 0.3;
    }
    return b;
}

static void free_batch(batch *b) {
    free(b->x), free(b->lt), free(b->y), free(b->R), free(b->nul);
}

static float *make_params(void) {
    genbo__net_layout l;
    genbo__net_layout_init(&cfg, &l);
    float *p = malloc(l.total * sizeof(float));
    genbo__rng r;
    genbo__rng_seed(&r, 9, 0);
    genbo__net_init_params(&cfg, p, &r);
    for (size_t k = 0; k < l.total; k++) /* non-zero biases and residual branches */
        if (p[k] == 0.0f) p[k] = (float)(0.2 * genbo__rng_normal(&r));
    return p;
}

Test(diffusion_bf16, forward_and_backward_match_fp32_to_bf16_accuracy) {
    need_precision(GENBO_PRECISION_BF16);
    genbo__net_layout l;
    genbo__net_layout_init(&cfg, &l);
    float *p = make_params();
    float *g32 = malloc(l.total * sizeof(float)), *g16 = malloc(l.total * sizeof(float));
    const int rows[] = {37, 1, 64};
    for (int t = 0; t < 3; t++) {
        const int B = rows[t];
        batch b = make_batch(B, 100 + t);
        float *dx32 = malloc(sizeof(float) * B * cfg.D), *dx16 = malloc(sizeof(float) * B * cfg.D);
        genbo__net_acts f, h, inf;
        cr_assert_eq(genbo__net_acts_alloc(&cfg, 64, 1, &f), GENBO_OK);
        cr_assert_eq(genbo__net_acts_alloc(&cfg, 64, 1, &h), GENBO_OK);
        cr_assert_eq(genbo__net_acts_alloc(&cfg, 64, 0, &inf), GENBO_OK);
        cr_assert_eq(genbo__net_acts_use_bf16(&cfg, &h), GENBO_OK, "%s", genbo_errmsg());
        cr_assert_eq(genbo__net_acts_use_bf16(&cfg, &inf), GENBO_OK, "%s", genbo_errmsg());
        cr_assert_eq(genbo__net_acts_load_weights(&cfg, &h, p), GENBO_OK);
        cr_assert_eq(genbo__net_acts_load_weights(&cfg, &inf, p), GENBO_OK);
        cr_assert_eq(genbo__net_forward(&cfg, p, &f, B, b.x, b.lt, b.y, b.nul), GENBO_OK);
        cr_assert_eq(genbo__net_forward(&cfg, p, &h, B, b.x, b.lt, b.y, b.nul), GENBO_OK);
        cr_assert_eq(genbo__net_forward(&cfg, p, &inf, B, b.x, b.lt, b.y, b.nul), GENBO_OK);
        double eo = rel_err(h.out, f.out, (size_t)B * cfg.D);
        double ei = rel_err(inf.out, f.out, (size_t)B * cfg.D);
        cr_log_info("rows %d: output relative error bf16 %.2e, bf16 inference %.2e", B, eo, ei);
        /* bf16 keeps 8 bits: ~4e-3 per operand, a few layers deep */
        cr_expect_lt(eo, 3e-2, "rows %d: training-mode output error %.3e", B, eo);
        cr_expect_lt(ei, 3e-2, "rows %d: inference output error %.3e", B, ei);
        cr_expect_gt(eo, 0.0, "bf16 ran at all (the outputs differ from fp32 somewhere)");
        cr_assert_eq(genbo__net_backward(&cfg, p, g32, &f, B, b.R, b.y, b.nul, dx32), GENBO_OK);
        cr_assert_eq(genbo__net_backward(&cfg, p, g16, &h, B, b.R, b.y, b.nul, dx16), GENBO_OK);
        /* per tensor: weights, biases, null embedding, input */
        struct {
            const char *name;
            size_t off, n;
        } ts[] = {{"w_in", l.w_in, l.b_in - l.w_in},   {"b_in", l.b_in, cfg.width},
                  {"null_y", l.null_y, cfg.y_embed},   {"block0", l.blocks, l.block_size},
                  {"w_out", l.w_out, l.b_out - l.w_out}, {"b_out", l.b_out, cfg.D}};
        for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) {
            double e = rel_err(g16 + ts[k].off, g32 + ts[k].off, ts[k].n);
            cr_expect_lt(e, 5e-2, "rows %d: gradient of %s off by %.3e", B, ts[k].name, e);
        }
        double ex = rel_err(dx16, dx32, (size_t)B * cfg.D);
        cr_expect_lt(ex, 5e-2, "rows %d: input gradient off by %.3e", B, ex);
        genbo__net_acts_free(&f);
        genbo__net_acts_free(&h);
        genbo__net_acts_free(&inf);
        free(dx32);
        free(dx16);
        free_batch(&b);
    }
    free(p);
    free(g32);
    free(g16);
}

/* Training converts each weight's bf16 copies a chunk of rows at a time
 * right after the optimiser's update (genbo__net_acts_load_weight_rows):
 * the copies must come out exactly as converted whole, for matrices whose
 * rows and columns end inside a block (width 160, D 70, 19 input
 * columns), chunks taken in reverse order. Checked through what reads
 * them: the forward outputs and every gradient, bit for bit. */
Test(diffusion_bf16, weights_converted_by_row_chunks_equal_whole_conversion) {
    need_precision(GENBO_PRECISION_BF16);
    const genbo__net_config c2 = {70, 160, 2, 4, 10};
    genbo__net_layout l;
    genbo__net_layout_init(&c2, &l);
    float *p = malloc(l.total * sizeof(float));
    genbo__rng r;
    genbo__rng_seed(&r, 21, 0);
    for (size_t k = 0; k < l.total; k++) p[k] = (float)(0.1 * genbo__rng_normal(&r));
    enum { B = 45 };
    float *x = malloc(sizeof(float) * B * c2.D), *R = malloc(sizeof(float) * B * c2.D), lt[B], y[B];
    for (int i = 0; i < B * c2.D; i++) x[i] = (float)genbo__rng_normal(&r), R[i] = (float)genbo__rng_normal(&r);
    for (int i = 0; i < B; i++) lt[i] = (float)(-3.0 + 0.1 * i), y[i] = (float)genbo__rng_normal(&r);
    genbo__net_acts whole, rows;
    cr_assert_eq(genbo__net_acts_alloc(&c2, B, 1, &whole), GENBO_OK);
    cr_assert_eq(genbo__net_acts_alloc(&c2, B, 1, &rows), GENBO_OK);
    cr_assert_eq(genbo__net_acts_use_bf16(&c2, &whole), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo__net_acts_use_bf16(&c2, &rows), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo__net_acts_load_weights(&c2, &whole, p), GENBO_OK);
    size_t bounds[2 * 2 + 3];
    const int ns = genbo__net_weight_segments(&c2, bounds);
    int by_rows = 1;
    for (int k = 0; k < ns && by_rows; k++) {
        int nr, nc;
        genbo__net_segment_matrix(&c2, k, &nr, &nc);
        cr_assert_eq(bounds[k] + (size_t)nr * nc <= bounds[k + 1], 1, "segment %d holds its matrix", k);
        for (int r0 = (nr - 1) / GENBO__MM_ROW_CHUNK * GENBO__MM_ROW_CHUNK; r0 >= 0 && by_rows;
             r0 -= GENBO__MM_ROW_CHUNK) {
            int r1 = r0 + GENBO__MM_ROW_CHUNK < nr ? r0 + GENBO__MM_ROW_CHUNK : nr;
            by_rows = genbo__net_acts_load_weight_rows(&c2, &rows, p, bounds[k], r0, r1) == 0;
        }
    }
    if (!by_rows) { /* this CPU's layout is oneDNN's own: whole conversions only */
        cr_log_info("weights convert whole only here (oneDNN ISA %s)", genbo__mm_isa_name());
    } else {
        float *g1 = malloc(l.total * sizeof(float)), *g2 = malloc(l.total * sizeof(float));
        float *d1 = malloc(sizeof(float) * B * c2.D), *d2 = malloc(sizeof(float) * B * c2.D);
        cr_assert_eq(genbo__net_forward(&c2, p, &whole, B, x, lt, y, NULL), GENBO_OK);
        cr_assert_eq(genbo__net_forward(&c2, p, &rows, B, x, lt, y, NULL), GENBO_OK);
        cr_assert_eq(memcmp(whole.out, rows.out, sizeof(float) * B * c2.D), 0);
        cr_assert_eq(genbo__net_backward(&c2, p, g1, &whole, B, R, y, NULL, d1), GENBO_OK);
        cr_assert_eq(genbo__net_backward(&c2, p, g2, &rows, B, R, y, NULL, d2), GENBO_OK);
        cr_assert_eq(memcmp(g1, g2, l.total * sizeof(float)), 0);
        cr_assert_eq(memcmp(d1, d2, sizeof(float) * B * c2.D), 0);
        free(g1), free(g2), free(d1), free(d2);
    }
    genbo__net_acts_free(&whole);
    genbo__net_acts_free(&rows);
    free(p), free(x), free(R);
}

static int no_hook(void *ctx, int r0, int r1) {
    (void)ctx, (void)r0, (void)r1;
    return 0;
}

/* Training keeps the weight gradients in bf16 as their products write
 * them (genbo__net_acts.wgrad16) and the optimiser widens them as it
 * reads them: the bf16 gradients must be exactly the values a pass
 * without wgrad16 writes into grads (fp32, widened), their sums of squares
 * the fp32 sums of those, the biases' and null embedding's gradients the
 * same bits; and AdamW from the bf16 gradient the same bits as from the
 * widened one. */
Test(diffusion_bf16, weight_gradients_kept_in_bf16_are_the_written_ones) {
    need_precision(GENBO_PRECISION_BF16);
    genbo__net_layout l;
    genbo__net_layout_init(&cfg, &l);
    float *p = make_params();
    enum { B = 45 };
    batch b = make_batch(B, 77);
    float *g32 = malloc(l.total * sizeof(float)), *g16 = malloc(l.total * sizeof(float));
    for (size_t k = 0; k < l.total; k++) g16[k] = NAN; /* what wgrad16 leaves alone */
    double wsq32[2 * 2 + 2], wsq16[2 * 2 + 2];
    genbo__net_acts a32, a16;
    cr_assert_eq(genbo__net_acts_alloc(&cfg, B, 1, &a32), GENBO_OK);
    cr_assert_eq(genbo__net_acts_alloc(&cfg, B, 1, &a16), GENBO_OK);
    cr_assert_eq(genbo__net_acts_use_bf16(&cfg, &a32), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo__net_acts_use_bf16(&cfg, &a16), GENBO_OK, "%s", genbo_errmsg());
    a32.wsq = wsq32, a16.wsq = wsq16, a16.wgrad16 = 1;
    genbo__net_acts *both[] = {&a32, &a16};
    float *gs[] = {g32, g16};
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(genbo__net_acts_load_weights(&cfg, both[i], p), GENBO_OK);
        cr_assert_eq(genbo__net_forward(&cfg, p, both[i], B, b.x, b.lt, b.y, b.nul), GENBO_OK);
        cr_assert_eq(genbo__net_backward(&cfg, p, gs[i], both[i], B, b.R, b.y, b.nul, NULL), GENBO_OK);
    }
    cr_assert_null(genbo__net_acts_weight_grad16(&cfg, &a32, 0), "no bf16 gradients without wgrad16");
    size_t bounds[2 * 2 + 3];
    const int ns = genbo__net_weight_segments(&cfg, bounds);
    for (int k = 0; k < ns; k++) {
        int R, C;
        genbo__net_segment_matrix(&cfg, k, &R, &C);
        const size_t nm = (size_t)R * C, rest = bounds[k + 1] - bounds[k] - nm;
        const uint16_t *w16 = genbo__net_acts_weight_grad16(&cfg, &a16, k);
        cr_assert_not_null(w16, "segment %d", k);
        float *wide = malloc(nm * sizeof(float));
        genbo__k_from_bf16(w16, wide, nm);
        cr_assert_eq(memcmp(wide, g32 + bounds[k], nm * sizeof(float)), 0, "segment %d: bf16 gradient", k);
        cr_assert_eq(memcmp(g16 + bounds[k] + nm, g32 + bounds[k] + nm, rest * sizeof(float)), 0,
                     "segment %d: biases", k);
        cr_assert_eq(isnan(g16[bounds[k]]), 1, "segment %d: grads' matrix left alone", k);
        cr_assert_eq(wsq16[k], genbo__k_sumsq(wide, nm), "segment %d: sum of squares", k);
        cr_assert_eq(wsq32[k], wsq16[k]);
        /* one AdamW step each way, from the same state */
        float *w[2], *m1[2], *m2[2], *ema[2];
        for (int i = 0; i < 2; i++) {
            w[i] = malloc(nm * sizeof(float)), m1[i] = malloc(nm * sizeof(float));
            m2[i] = malloc(nm * sizeof(float)), ema[i] = malloc(nm * sizeof(float));
            memcpy(w[i], p + bounds[k], nm * sizeof(float));
            memcpy(ema[i], p + bounds[k], nm * sizeof(float));
            for (size_t j = 0; j < nm; j++) m1[i][j] = 1e-3f * (float)(j % 7), m2[i][j] = 1e-6f * (float)(j % 5);
        }
        cr_assert_eq(genbo__gd_adamw_update_rows(w[0], wide, NULL, m1[0], m2[0], ema[0], R, C, 16, 1e-3, 0.01,
                                                 0.7, 3, 0.99, no_hook, NULL), 0);
        cr_assert_eq(genbo__gd_adamw_update_rows(w[1], NULL, w16, m1[1], m2[1], ema[1], R, C, 16, 1e-3, 0.01,
                                                 0.7, 3, 0.99, no_hook, NULL), 0);
        cr_assert_eq(memcmp(w[0], w[1], nm * sizeof(float)), 0, "segment %d: AdamW from bf16", k);
        cr_assert_eq(memcmp(m2[0], m2[1], nm * sizeof(float)), 0);
        cr_assert_eq(memcmp(ema[0], ema[1], nm * sizeof(float)), 0);
        cr_assert_neq(memcmp(w[0], p + bounds[k], nm * sizeof(float)), 0, "the step moved the weights");
        for (int i = 0; i < 2; i++) free(w[i]), free(m1[i]), free(m2[i]), free(ema[i]);
        free(wide);
    }
    genbo__net_acts_free(&a32);
    genbo__net_acts_free(&a16);
    free_batch(&b);
    free(p), free(g32), free(g16);
}

/* genbo__net_forward_step (a sampling step's rows: one log t, y one value
 * or null, CFG's pairs) against the same rows built out for
 * genbo__net_forward, in one precision: the inference pass computes h_0 as
 * a K = D product plus a per-step fp32 vector, so it agrees to rounding
 * (fp32) or to bf16 accuracy (its embedding columns are no longer rounded
 * to bf16); a pass that keeps activations builds the rows out and is
 * bit-identical, as a bf16 CFG pass within one tile. Repeating a step
 * gives the same bits. */
static void step_matches_rows(genbo_precision prec) {
    float *p = make_params();
    /* 2,800 rows a half: more than a bf16 tile (2,720 rows at width 96),
     * so that each CFG half runs as its own tiles, one of them partial;
     * smaller pairs run as rows built out */
    const int ns[] = {37, 1, 32, 2800};
    for (int t = 0; t < 4; t++) {
        const int n = ns[t], R = 2 * n;
        batch b = make_batch(R, 200 + t);
        const float lt = b.lt[0], yv = b.y[0];
        float *xr = malloc(sizeof(float) * R * cfg.D), *ly = malloc(sizeof(float) * R * 2);
        uint8_t *nul = malloc(R);
        float *ref = malloc(sizeof(float) * R * cfg.D);
        for (int store = 0; store < 2; store++)
            for (int k = 0; k < 3; k++) { /* CFG pair, conditional only, unconditional only */
                const int pair = k == 0, rows = pair ? R : n;
                const float *y = k == 2 ? NULL : &yv;
                for (int i = 0; i < rows; i++) {
                    memcpy(xr + i * cfg.D, b.x + (i % n) * cfg.D, sizeof(float) * cfg.D);
                    ly[i] = lt, ly[R + i] = yv, nul[i] = !y || i >= n;
                }
                genbo__net_acts a;
                cr_assert_eq(genbo__net_acts_alloc(&cfg, R, store, &a), GENBO_OK);
                if (prec == GENBO_PRECISION_BF16) {
                    cr_assert_eq(genbo__net_acts_use_bf16(&cfg, &a), GENBO_OK, "%s", genbo_errmsg());
                    cr_assert_eq(genbo__net_acts_load_weights(&cfg, &a, p), GENBO_OK);
                }
                cr_assert_eq(genbo__net_forward(&cfg, p, &a, rows, xr, ly, ly + R, nul), GENBO_OK);
                memcpy(ref, a.out, sizeof(float) * rows * cfg.D);
                cr_assert_eq(genbo__net_forward_step(&cfg, p, &a, n, b.x, lt, y, pair), GENBO_OK);
                const double e = rel_err(a.out, ref, (size_t)rows * cfg.D);
                const double tol = store ? 0 : prec == GENBO_PRECISION_BF16 ? 1e-2 : 1e-5;
                cr_log_info("n %d store %d kind %d: step vs rows built out %.2e", n, store, k, e);
                cr_expect_leq(e, tol, "n %d store %d kind %d: step pass off by %.3e", n, store, k, e);
                if (prec == GENBO_PRECISION_BF16) { /* and against fp32, as the rows' own test */
                    genbo__net_acts f;
                    cr_assert_eq(genbo__net_acts_alloc(&cfg, R, 0, &f), GENBO_OK);
                    cr_assert_eq(genbo__net_forward(&cfg, p, &f, rows, xr, ly, ly + R, nul), GENBO_OK);
                    const double e32 = rel_err(a.out, f.out, (size_t)rows * cfg.D);
                    cr_expect_lt(e32, 3e-2, "n %d kind %d: bf16 step pass vs fp32 %.3e", n, k, e32);
                    genbo__net_acts_free(&f);
                }
                memcpy(ref, a.out, sizeof(float) * rows * cfg.D);
                cr_assert_eq(genbo__net_forward_step(&cfg, p, &a, n, b.x, lt, y, pair), GENBO_OK);
                cr_expect_eq(memcmp(ref, a.out, sizeof(float) * rows * cfg.D), 0, "repeat differs");
                genbo__net_acts_free(&a);
            }
        free(xr), free(ly), free(nul), free(ref);
        free_batch(&b);
    }
    free(p);
}
TEST_BOTH_PRECISIONS(diffusion_bf16, step_pass_matches_rows_built_out, step_matches_rows, .timeout = 60)

static double from_bf16(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* The inference SiLU kernels compute sigmoid to bf16 accuracy only (their
 * result is rounded to bf16): every value within half a bf16 ulp (2^-8
 * relative, at most) plus 3e-4 of exact silu, from fp32 and from bf16
 * inputs, over [-90, 90] and at the extremes (values below 1e-35, which
 * the passes flush, count as 0); NaN stays NaN. */
Test(diffusion_bf16, inference_silu_kernels_are_bf16_accurate) {
    enum { N = 20011 };
    float *x = malloc(sizeof(float) * (N + 5));
    uint16_t *x16 = malloc(sizeof(uint16_t) * (N + 5)), *y = malloc(sizeof(uint16_t) * (N + 5)),
             *y16 = malloc(sizeof(uint16_t) * (N + 5));
    for (int i = 0; i < N; i++) x[i] = -90.0f + 180.0f * (float)i / (N - 1);
    const float ext[5] = {1e30f, -1e30f, 3e38f, -3e38f, NAN};
    memcpy(x + N, ext, sizeof ext);
    genbo__k_to_bf16(x, x16, N + 5);
    genbo__k_silu_bf16(x, y, N + 5);
    genbo__k_silu16_bf16(x16, y16, N + 5);
    int bad = 0;
    for (int i = 0; i < N + 4; i++)
        for (int k = 0; k < 2; k++) {
            const double v = k ? from_bf16(x16[i]) : (double)x[i];
            const double e = v > 0 ? v / (1.0 + exp(-v)) : v * exp(v) / (1.0 + exp(v));
            const double got = from_bf16(k ? y16[i] : y[i]);
            if (!(fabs(got - e) <= (0x1p-8 + 3e-4) * fabs(e) + 1e-35) && bad++ < 5)
                cr_log_error("silu(%.9g) = %.9g, exact %.9g (%s input)", v, got, e, k ? "bf16" : "fp32");
        }
    cr_expect_eq(bad, 0, "%d values off", bad);
    cr_expect(isnan(from_bf16(y[N + 4])) && isnan(from_bf16(y16[N + 4])));
    free(x), free(x16), free(y), free(y16);
}

/* The training forward kernels store silu and silu' in bf16 and compute
 * sigmoid to bf16 accuracy too: silu within half a bf16 ulp plus 3e-4 of
 * exact, silu' the same plus 4e-4 absolute (it crosses 0 at x = -1.28,
 * where its relative error grows), from fp32 (silu_sig) and bf16
 * (silu_ds) inputs, over [-90, 90] and at the extremes; NaN stays NaN. */
Test(diffusion_bf16, training_silu_kernels_are_bf16_accurate) {
    enum { N = 20011, M = N + 5 };
    float *x = malloc(sizeof(float) * M);
    uint16_t *x16 = malloc(sizeof(uint16_t) * M), *a = malloc(sizeof(uint16_t) * M),
             *d = malloc(sizeof(uint16_t) * M), *a16 = malloc(sizeof(uint16_t) * M),
             *d16 = malloc(sizeof(uint16_t) * M);
    for (int i = 0; i < N; i++) x[i] = -90.0f + 180.0f * (float)i / (N - 1);
    const float ext[5] = {1e30f, -1e30f, 3e38f, -3e38f, NAN};
    memcpy(x + N, ext, sizeof ext);
    genbo__k_to_bf16(x, x16, M);
    genbo__k_silu_sig_bf16(x, NULL, NULL, NULL, a, NULL, d, 1, M); /* one row of M */
    genbo__k_silu_ds_bf16(x16, a16, NULL, d16, 1, M);
    int bad = 0;
    for (int i = 0; i < M - 1; i++)
        for (int k = 0; k < 2; k++) {
            const double v = k ? from_bf16(x16[i]) : (double)x[i];
            const double e = exp(-fabs(v)), sg = v > 0 ? 1.0 / (1.0 + e) : e / (1.0 + e),
                         oms = v > 0 ? e / (1.0 + e) : 1.0 / (1.0 + e);
            const double silu = v * sg, dsilu = sg * (1.0 + v * oms);
            const double ga = from_bf16(k ? a16[i] : a[i]), gd = from_bf16(k ? d16[i] : d[i]);
            const double tol = 0x1p-8 + 3e-4;
            if (!(fabs(ga - silu) <= tol * fabs(silu) + 1e-35) && bad++ < 5)
                cr_log_error("silu(%.9g) = %.9g, exact %.9g (%s input)", v, ga, silu, k ? "bf16" : "fp32");
            if (!(fabs(gd - dsilu) <= tol * fabs(dsilu) + 4e-4) && bad++ < 5)
                cr_log_error("silu'(%.9g) = %.9g, exact %.9g (%s input)", v, gd, dsilu, k ? "bf16" : "fp32");
        }
    cr_expect_eq(bad, 0, "%d values off", bad);
    cr_expect(isnan(from_bf16(a[M - 1])) && isnan(from_bf16(d[M - 1])) && isnan(from_bf16(a16[M - 1])));
    free(x), free(x16), free(a), free(d), free(a16), free(d16);
}

static genbo_diffusion *train_tiny(genbo_precision prec, uint64_t seed) {
    enum { N = 300, D = 3 };
    double X[N * D], y[N];
    genbo__rng r;
    genbo__rng_seed(&r, 3, 0);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < D; j++) X[i * D + j] = genbo__rng_normal(&r);
        y[i] = X[i * D] - X[i * D + 1];
    }
    genbo_diffusion_params p;
    genbo_diffusion_params_default(&p);
    p.width = 64, p.depth = 1, p.t_embed = 8, p.y_embed = 8, p.steps = 40, p.batch = 64;
    p.seed = seed;
    p.precision = prec;
    genbo_diffusion *m = NULL;
    cr_assert_eq(genbo_diffusion_train(&p, N, D, X, y, &m), GENBO_OK, "%s", genbo_errmsg());
    return m;
}

Test(diffusion_bf16, same_seed_same_threads_is_bit_identical_in_bf16) {
    need_precision(GENBO_PRECISION_BF16);
    genbo_diffusion *a = train_tiny(GENBO_PRECISION_BF16, 7), *b = train_tiny(GENBO_PRECISION_BF16, 7);
    genbo_diffusion *c = train_tiny(GENBO_PRECISION_FP32, 7);
    cr_assert_eq(genbo_diffusion_precision(a), GENBO_PRECISION_BF16);
    cr_assert_eq(genbo_diffusion_precision(c), GENBO_PRECISION_FP32);
    cr_assert_eq(memcmp(a->params, b->params, a->n_params * sizeof(float)), 0);
    /* a different precision is a different (close) model */
    cr_assert_neq(memcmp(a->params, c->params, a->n_params * sizeof(float)), 0);
    /* sampling: 1 design (an ask), 5, and 1100 (two chunks, two plan sets) */
    const size_t ns[] = {1, 5, 1100};
    for (int k = 0; k < 3; k++) {
        size_t n = ns[k];
        double *x1 = malloc(sizeof(double) * n * 3), *x2 = malloc(sizeof(double) * n * 3);
        genbo_sample_params sp;
        genbo_sample_params_default(&sp);
        sp.steps = 15;
        sp.cfg_weight = 0.5;
        cr_assert_eq(genbo_diffusion_sample(a, &sp, 0.3, n, x1), GENBO_OK, "%s",
                     genbo_errmsg());
        cr_assert_eq(genbo_diffusion_sample(b, &sp, 0.3, n, x2), GENBO_OK);
        cr_assert_eq(memcmp(x1, x2, sizeof(double) * n * 3), 0, "n = %zu", n);
        for (size_t q = 0; q < n * 3; q++) cr_assert(isfinite(x1[q]));
        free(x1);
        free(x2);
    }
    genbo_diffusion_free(a);
    genbo_diffusion_free(b);
    genbo_diffusion_free(c);
}

Test(diffusion_bf16, precision_setting_resolves_or_fails_clearly) {
    cr_assert_eq(genbo_precision_resolve(GENBO_PRECISION_FP32), GENBO_PRECISION_FP32);
    int bf = genbo__mm_bf16_available();
    cr_assert_eq(genbo_precision_resolve(GENBO_PRECISION_AUTO),
                 bf ? GENBO_PRECISION_BF16 : GENBO_PRECISION_FP32);
    cr_assert_eq(genbo_precision_resolve((genbo_precision)7), -1);
    genbo_diffusion_params p;
    genbo_diffusion_params_default(&p);
    cr_assert_eq(p.precision, GENBO_PRECISION_AUTO);
    p.precision = GENBO_PRECISION_BF16;
    double X[20] = {0}, y[10] = {0};
    for (int i = 0; i < 20; i++) X[i] = i * 0.1;
    genbo_diffusion *m = NULL;
    p.steps = 2, p.width = 8, p.depth = 1, p.batch = 4;
    int rc = genbo_diffusion_train(&p, 10, 2, X, y, &m);
    if (bf) {
        cr_assert_eq(rc, GENBO_OK, "%s", genbo_errmsg());
        cr_assert_eq(genbo_diffusion_precision(m), GENBO_PRECISION_BF16);
    } else { /* no silent fallback: a clear error naming the ISA */
        cr_assert_eq(rc, GENBO_EINVAL);
        cr_assert_null(m);
        cr_assert(strstr(genbo_errmsg(), "bf16") && strstr(genbo_errmsg(), genbo__mm_isa_name()), "%s",
                  genbo_errmsg());
    }
    genbo_diffusion_free(m);
    genbo_blas_info bi;
    genbo_get_blas_info(&bi);
    cr_assert_eq(bi.bf16, bf);
    cr_assert_str_eq(bi.dnnl_isa, genbo__mm_isa_name());
}

/* A CPU without native bf16, reproduced on any CPU: oneDNN reads
 * ONEDNN_MAX_CPU_ISA once, at its first use, so the test caps it before
 * anything touches oneDNN (each Criterion test is a fresh process). ctest
 * also runs this whole file under the cap (test_diffusion_bf16_no_native),
 * where every other test takes its no-bf16 branch or skips. */
Test(diffusion_bf16_fallback, capped_isa_falls_back_to_fp32_and_says_so) {
    setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE", 0); /* keep a cap set by ctest */
    cr_assert_eq(genbo__mm_bf16_available(), 0, "oneDNN ISA %s", genbo__mm_isa_name());
    cr_assert_eq(genbo_precision_resolve(GENBO_PRECISION_AUTO), GENBO_PRECISION_FP32);
    cr_assert_eq(genbo_precision_resolve(GENBO_PRECISION_BF16), -1);
    cr_assert(strstr(genbo_errmsg(), "no native bf16") && strstr(genbo_errmsg(), genbo__mm_isa_name()),
              "%s", genbo_errmsg());
    genbo_blas_info bi;
    genbo_get_blas_info(&bi);
    cr_assert_eq(bi.bf16, 0);
    cr_assert_str_neq(bi.dnnl_isa, "avx512_core_amx");
    /* auto trains in fp32; bf16 is refused with the reason, nothing trained */
    enum { N = 200, D = 3 };
    double X[N * D], y[N];
    genbo__rng r;
    genbo__rng_seed(&r, 3, 0);
    for (int i = 0; i < N * D; i++) X[i] = genbo__rng_normal(&r);
    for (int i = 0; i < N; i++) y[i] = X[i * D];
    genbo_diffusion_params p;
    genbo_diffusion_params_default(&p);
    p.width = 32, p.depth = 1, p.t_embed = 8, p.y_embed = 8, p.steps = 20, p.batch = 32;
    genbo_diffusion *m = NULL;
    cr_assert_eq(genbo_diffusion_train(&p, N, D, X, y, &m), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_diffusion_precision(m), GENBO_PRECISION_FP32);
    cr_assert(strstr(genbo_diffusion_describe(m), "fp32"), "%s", genbo_diffusion_describe(m));
    genbo_diffusion *m2 = NULL;
    p.precision = GENBO_PRECISION_BF16;
    cr_assert_eq(genbo_diffusion_train(&p, N, D, X, y, &m2), GENBO_EINVAL);
    cr_assert_null(m2);
    cr_assert(strstr(genbo_errmsg(), "bf16"), "%s", genbo_errmsg());
    double out[4 * D];
    genbo_sample_params sp;
    genbo_sample_params_default(&sp);
    sp.steps = 5;
    sp.precision = GENBO_PRECISION_BF16;
    cr_assert_eq(genbo_diffusion_sample(m, &sp, 0.5, 4, out), GENBO_EINVAL);
    cr_assert(strstr(genbo_errmsg(), "no native bf16"), "%s", genbo_errmsg());
    /* a model marked bf16 (trained where bf16 ran) samples in fp32 under auto */
    m->precision = GENBO_PRECISION_BF16;
    sp.precision = GENBO_PRECISION_AUTO;
    cr_assert_eq(genbo_diffusion_sample(m, &sp, 0.5, 4, out), GENBO_OK, "%s", genbo_errmsg());
    for (int q = 0; q < 4 * D; q++) cr_assert(isfinite(out[q]));
    genbo_diffusion_free(m);
    /* genbo info says what auto picks and why */
    const char *cli = getenv("GENBO_CLI");
    if (cli) {
        char cmd[1024], line[256], all[4096] = "";
        snprintf(cmd, sizeof cmd, "'%s' info", cli);
        FILE *f = popen(cmd, "r");
        cr_assert_not_null(f);
        while (fgets(line, sizeof line, f)) strncat(all, line, sizeof all - strlen(all) - 1);
        cr_assert_eq(pclose(f), 0);
        cr_assert(strstr(all, "precision auto: fp32 (no native bf16"), "%s", all);
        cr_assert(strstr(all, "bf16 unavailable"), "%s", all);
    }
}
