/* test_diffusion_net.c - the score network's backward pass against finite
 * differences, the optimiser, save/load, determinism and bad input. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diffusion/diffusion_internal.h"
#include "diffusion/kernels.h"

/* A small network and a batch with mixed conditional / null rows. */
static const genbo__net_config small = {3, 8, 2, 4, 6};
enum { NB = 5 };
static float gx[NB * 3], glt[NB], gy[NB], gR[NB * 3];
static const uint8_t gnul[NB] = {0, 1, 0, 0, 1};

static void make_batch(void) {
    genbo__rng r;
    genbo__rng_seed(&r, 11, 0);
    for (int i = 0; i < NB * 3; i++) gx[i] = (float)genbo__rng_normal(&r);
    for (int i = 0; i < NB * 3; i++) gR[i] = (float)genbo__rng_normal(&r);
    for (int i = 0; i < NB; i++) glt[i] = (float)(log(1e-3) + 9.0 * genbo__rng_uniform(&r));
    for (int i = 0; i < NB; i++) gy[i] = (float)genbo__rng_normal(&r);
}

/* L = sum R .* out, evaluated in double from the float outputs */
static double loss_of(const float *params, genbo__net_acts *a, const float *x) {
    genbo__net_forward(&small, params, a, NB, x, glt, gy, gnul);
    double L = 0;
    for (int i = 0; i < NB * 3; i++) L += (double)gR[i] * a->out[i];
    return L;
}

/* The embeddings' vectorised sin/cos (kernels.c) against libm in double:
 * within 2 ulp of 1 over arguments well past what the embeddings use
 * (|f_k s| < 100), at the quadrant edges and across a run whose length is
 * no multiple of a vector. */
Test(diffusion_net, sincos_kernel_is_within_two_ulp) {
    enum { N = 200003 };
    float *x = malloc(N * sizeof(float)), *s = malloc(N * sizeof(float)), *c = malloc(N * sizeof(float));
    cr_assert(x && s && c);
    for (int i = 0; i < N; i++) x[i] = -300.0f + 600.0f * (float)i / (float)(N - 1);
    for (int k = 0; k < 64; k++) x[k] = (float)(k - 32) * 0.785398163397448f; /* multiples of pi/4 */
    x[64] = 0.0f, x[65] = -0.0f, x[66] = 1e-30f;
    genbo__k_sincos(x, N, s, c);
    double es = 0, ec = 0;
    for (int i = 0; i < N; i++) {
        es = fmax(es, fabs(s[i] - sin((double)x[i])));
        ec = fmax(ec, fabs(c[i] - cos((double)x[i])));
    }
    cr_assert_lt(es, 2.4e-7, "sin off by %.3g", es);
    cr_assert_lt(ec, 2.4e-7, "cos off by %.3g", ec);
    cr_assert_eq(s[64], 0.0f);
    cr_assert_eq(c[64], 1.0f);
    free(x), free(s), free(c);
}

/* The gradient norm's sum of squares: parallel in blocks whose order is
 * fixed by n, so one and two threads give the same bits, and within 1e-13
 * (relative) of a long-double sum, at sizes around its block and part
 * boundaries and with a ragged tail. */
Test(diffusion_net, sum_of_squares_is_thread_count_free_and_accurate) {
    enum { N = 2200003 };
    float *x = malloc(N * sizeof(float));
    cr_assert(x);
    genbo__rng r;
    genbo__rng_seed(&r, 5, 0);
    for (int i = 0; i < N; i++) x[i] = (float)(genbo__rng_normal(&r) * exp(4.0 * genbo__rng_uniform(&r)));
    const size_t sizes[] = {1, 31, 33, 16384, 16417, 1048576 + 7, N};
    for (size_t q = 0; q < sizeof sizes / sizeof sizes[0]; q++) {
        const size_t n = sizes[q];
        long double ref = 0;
        for (size_t k = 0; k < n; k++) ref += (long double)x[k] * x[k];
        genbo_set_threads(1);
        const double one = genbo__k_sumsq(x, n);
        genbo_set_threads(2);
        const double two = genbo__k_sumsq(x, n);
        cr_assert_eq(one, two, "n = %zu: %.17g at 1 thread, %.17g at 2", n, one, two);
        cr_assert_lt(fabsl(one - ref) / ref, 1e-13L, "n = %zu: %.17g against %.17Lg", n, one, ref);
    }
    free(x);
}

Test(diffusion_net, backward_matches_central_differences) {
    make_batch();
    genbo__net_layout l;
    genbo__net_layout_init(&small, &l);
    float *p = malloc(l.total * sizeof(float)), *g = malloc(l.total * sizeof(float));
    genbo__rng r;
    genbo__rng_seed(&r, 5, 0);
    genbo__net_init_params(&small, p, &r);
    /* biases start at 0: give them values so their paths are exercised */
    for (size_t k = 0; k < l.total; k++)
        if (p[k] == 0.0f) p[k] = (float)(0.3 * genbo__rng_normal(&r));
    genbo__net_acts a;
    cr_assert_eq(genbo__net_acts_alloc(&small, NB, 1, &a), GENBO_OK);
    float dx[NB * 3];
    loss_of(p, &a, gx);
    genbo__net_backward(&small, p, g, &a, NB, gR, gy, gnul, dx);

    const float h = 2e-3f;
    int checked = 0;
    double worst = 0;
    for (size_t k = 0; k < l.total; k++) {
        float keep = p[k];
        p[k] = keep + h;
        double lp = loss_of(p, &a, gx);
        p[k] = keep - h;
        double lm = loss_of(p, &a, gx);
        p[k] = keep;
        double fd = (lp - lm) / (2.0 * (double)h);
        double err = fabs(fd - g[k]) / (1e-2 + fabs(fd));
        if (err > worst) worst = err;
        cr_expect_lt(err, 2e-2, "param %zu: backward %g, finite difference %g", k, g[k], fd);
        checked++;
    }
    for (int k = 0; k < NB * 3; k++) {
        float xs[NB * 3];
        memcpy(xs, gx, sizeof xs);
        xs[k] = gx[k] + h;
        double lp = loss_of(p, &a, xs);
        xs[k] = gx[k] - h;
        double lm = loss_of(p, &a, xs);
        double fd = (lp - lm) / (2.0 * (double)h);
        cr_expect_lt(fabs(fd - dx[k]) / (1e-2 + fabs(fd)), 2e-2, "input %d: %g vs %g", k, dx[k],
                     fd);
    }
    cr_assert_eq((size_t)checked, l.total);
    /* the null embedding receives gradient only from null rows: it must be non-zero */
    double gnull = 0;
    for (int k = 0; k < small.y_embed; k++) gnull += fabs(g[l.null_y + k]);
    cr_assert_gt(gnull, 1e-4);
    genbo__net_acts_free(&a);
    free(p);
    free(g);
}

Test(diffusion_net, adamw_reduces_a_convex_quadratic) {
    enum { P = 50 };
    float w[P], g[P], m1[P] = {0}, m2[P] = {0}, ema[P] = {0}, c[P], a[P];
    genbo__rng r;
    genbo__rng_seed(&r, 9, 0);
    for (int k = 0; k < P; k++) {
        w[k] = (float)genbo__rng_normal(&r);
        c[k] = (float)genbo__rng_normal(&r);
        a[k] = (float)(0.1 + 10 * genbo__rng_uniform(&r)); /* condition number 100 */
    }
    double first = 0, last = 0;
    for (long step = 0; step < 2000; step++) {
        double L = 0;
        for (int k = 0; k < P; k++) {
            L += 0.5 * a[k] * (w[k] - c[k]) * (w[k] - c[k]);
            g[k] = a[k] * (w[k] - c[k]);
        }
        if (step == 0) first = L;
        last = L;
        double lr = 0.05 * 0.5 * (1 + cos(M_PI * step / 2000.0));
        genbo__gd_adamw_update_par(w, g, m1, m2, ema, P, lr, 0.0, 1.0, step, 0.0);
    }
    for (int k = 0; k < P; k++) cr_assert_eq(ema[k], w[k], "an EMA of decay 0 is the weights");
    cr_assert_gt(first, 1.0);
    cr_assert_lt(last, 1e-4 * first, "loss %g -> %g", first, last);
}

/* ---- a tiny trained model for the API tests ----------------------------- */
static genbo_diffusion *tiny_model_steps(uint64_t seed, long steps, double p_uncond) {
    enum { N = 400, D = 3 };
    static double X[N * D], y[N];
    genbo__rng r;
    genbo__rng_seed(&r, 3, 0);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < D; j++) X[i * D + j] = 2.0 + 0.5 * genbo__rng_normal(&r);
        y[i] = X[i * D] - X[i * D + 1];
    }
    genbo_diffusion_params p;
    genbo_diffusion_params_default(&p);
    p.width = 32;
    p.depth = 1;
    p.t_embed = 8;
    p.y_embed = 8;
    p.steps = steps;
    p.p_uncond = p_uncond;
    p.batch = 64;
    p.seed = seed;
    genbo_diffusion *m = NULL;
    cr_assert_eq(genbo_diffusion_train(&p, N, D, X, y, &m), GENBO_OK, "%s", genbo_errmsg());
    return m;
}

static genbo_diffusion *tiny_model(uint64_t seed) { return tiny_model_steps(seed, 50, 0.1); }

static void sample_tiny(const genbo_diffusion *m, genbo_sampler s, uint64_t seed, double *out) {
    genbo_sample_params sp;
    genbo_sample_params_default(&sp);
    sp.sampler = s;
    sp.steps = 20;
    sp.cfg_weight = 0.5;
    sp.seed = seed;
    cr_assert_eq(genbo_diffusion_sample(m, &sp, 0.3, 10, out), GENBO_OK, "%s",
                 genbo_errmsg());
}

Test(diffusion_net, same_seed_gives_bit_identical_models_and_samples) {
    genbo_diffusion *a = tiny_model(7), *b = tiny_model(7), *c = tiny_model(8);
    cr_assert_eq(memcmp(a->params, b->params, a->n_params * sizeof(float)), 0);
    cr_assert_neq(memcmp(a->params, c->params, a->n_params * sizeof(float)), 0);
    for (int s = 0; s < 3; s++) {
        double x1[30], x2[30], x3[30];
        sample_tiny(a, (genbo_sampler)s, 42, x1);
        sample_tiny(b, (genbo_sampler)s, 42, x2);
        sample_tiny(a, (genbo_sampler)s, 43, x3);
        cr_assert_eq(memcmp(x1, x2, sizeof x1), 0, "sampler %d", s);
        cr_assert_neq(memcmp(x1, x3, sizeof x1), 0, "sampler %d", s);
    }
    genbo_diffusion_free(a);
    genbo_diffusion_free(b);
    genbo_diffusion_free(c);
}

Test(diffusion_net, save_load_reproduces_samples_exactly) {
    genbo_diffusion *m = tiny_model(1), *f = NULL, *bm = NULL;
    char path[] = "/tmp/genbo_test_diffusion_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(genbo_diffusion_save(m, path), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_diffusion_load(path, &f), GENBO_OK, "%s", genbo_errmsg());
    void *buf;
    size_t len;
    cr_assert_eq(genbo_diffusion_save_buffer(m, &buf, &len), GENBO_OK);
    cr_assert_eq(genbo_diffusion_load_buffer(buf, len, &bm), GENBO_OK);
    double x1[30], x2[30], x3[30];
    sample_tiny(m, GENBO_SAMPLER_ANCESTRAL, 5, x1);
    sample_tiny(f, GENBO_SAMPLER_ANCESTRAL, 5, x2);
    sample_tiny(bm, GENBO_SAMPLER_ANCESTRAL, 5, x3);
    cr_assert_eq(memcmp(x1, x2, sizeof x1), 0);
    cr_assert_eq(memcmp(x1, x3, sizeof x1), 0);
    cr_assert_eq(genbo_diffusion_dim(f), 3);
    remove(path);
    free(buf);
    genbo_diffusion_free(m);
    genbo_diffusion_free(f);
    genbo_diffusion_free(bm);
}

Test(diffusion_net, corrupt_foreign_and_other_version_files_fail_clearly) {
    genbo_diffusion *m = tiny_model(1), *out = (genbo_diffusion *)0x1;
    void *buf;
    size_t len;
    cr_assert_eq(genbo_diffusion_save_buffer(m, &buf, &len), GENBO_OK);
    unsigned char *b = buf;

    b[len / 2] ^= 0x40; /* one flipped bit in the weights */
    cr_assert_eq(genbo_diffusion_load_buffer(buf, len, &out), GENBO_EFORMAT);
    cr_assert_null(out);
    cr_assert(strstr(genbo_errmsg(), "checksum"), "%s", genbo_errmsg());
    b[len / 2] ^= 0x40;

    cr_assert_eq(genbo_diffusion_load_buffer(buf, len - 1, &out), GENBO_EFORMAT);
    b[4] = 99; /* version */
    cr_assert_eq(genbo_diffusion_load_buffer(buf, len, &out), GENBO_EVERSION);
    cr_assert(strstr(genbo_errmsg(), "version 99"), "%s", genbo_errmsg());
    b[4] = 1;
    memcpy(b, "GNBR", 4); /* someone else's file */
    cr_assert_eq(genbo_diffusion_load_buffer(buf, len, &out), GENBO_EFORMAT);
    cr_assert(strstr(genbo_errmsg(), "magic"), "%s", genbo_errmsg());
    memcpy(b, "GNBD", 4);
    cr_assert_eq(genbo_diffusion_load_buffer(buf, len, &out), GENBO_OK);
    genbo_diffusion_free(out);

    cr_assert_eq(genbo_diffusion_load("/nonexistent/model.gnbd", &out), GENBO_EIO);
    cr_assert(strstr(genbo_errmsg(), "/nonexistent/model.gnbd"));
    free(buf);
    genbo_diffusion_free(m);
}

static int stop_at_3(void *ctx, const char *stage, long done, long total, const char *msg) {
    (void)ctx, (void)stage, (void)total, (void)msg;
    return done >= 3;
}

/* a gradient callback for the argument checks (zero gradient) */
static int stub_grad(void *ctx, size_t n, const double *X, double *grad) {
    (void)ctx, (void)X;
    memset(grad, 0, n * 3 * sizeof *grad);
    return GENBO_OK;
}

Test(diffusion_net, bad_input_and_interruption_fail_without_output) {
    double X[6] = {1, 2, 3, 4, 5, NAN}, y[2] = {0, 1};
    genbo_diffusion_params p;
    genbo_diffusion_params_default(&p);
    genbo_diffusion *m = (genbo_diffusion *)0x1;
    cr_assert_eq(genbo_diffusion_train(&p, 2, 3, X, y, &m), GENBO_EINVAL);
    cr_assert_null(m);
    cr_assert(strstr(genbo_errmsg(), "X[1][2]"), "%s", genbo_errmsg());
    X[5] = 6;
    p.width = -1;
    cr_assert_eq(genbo_diffusion_train(&p, 2, 3, X, y, &m), GENBO_EINVAL);
    cr_assert(strstr(genbo_errmsg(), "width"), "%s", genbo_errmsg());
    genbo_diffusion_params_default(&p);
    p.width = 8, p.depth = 1, p.steps = 100, p.batch = 4;
    p.progress = stop_at_3;
    cr_assert_eq(genbo_diffusion_train(&p, 2, 3, X, y, &m), GENBO_ESTATE);
    cr_assert_null(m);
    cr_assert(strstr(genbo_errmsg(), "interrupted"), "%s", genbo_errmsg());

    /* an unconditional model refuses conditional sampling */
    p.progress = NULL;
    p.steps = 5;
    cr_assert_eq(genbo_diffusion_train(&p, 2, 3, X, NULL, &m), GENBO_OK);
    genbo_sample_params sp;
    genbo_sample_params_default(&sp);
    double out[3];
    cr_assert_eq(genbo_diffusion_sample(m, &sp, 1.0, 1, out), GENBO_ESTATE);
    sp.conditional = 0;
    sp.grad_mode = GENBO_GRAD_LOOKAHEAD;
    cr_assert_eq(genbo_diffusion_sample(m, &sp, 1.0, 1, out), GENBO_EINVAL);
    cr_assert(strstr(genbo_errmsg(), "gradient callback"), "%s", genbo_errmsg());
    /* target-seeking guidance also needs f itself */
    sp.grad_mode = GENBO_GRAD_TARGET;
    sp.grad = stub_grad;
    cr_assert_eq(genbo_diffusion_sample(m, &sp, 1.0, 1, out), GENBO_EINVAL);
    cr_assert(strstr(genbo_errmsg(), "value callback"), "%s", genbo_errmsg());
    sp.grad_mode = GENBO_GRAD_LOOKAHEAD;
    sp.grad_scale = -1;
    cr_assert_eq(genbo_diffusion_sample(m, &sp, 1.0, 1, out), GENBO_EINVAL);
    cr_assert(strstr(genbo_errmsg(), "grad_scale"), "%s", genbo_errmsg());
    genbo_diffusion_free(m);
}

/* The public sampler with a fitted ridge model as the gradient source:
 * look-ahead guidance towards a linear reward raises it. */
Test(diffusion_net, public_sample_uses_reward_model_gradient) {
    genbo_diffusion *m = tiny_model_steps(2, 1500, 0.5);
    enum { NL = 200, NS = 200 };
    double X[NL * 3], y[NL];
    genbo__rng r;
    genbo__rng_seed(&r, 4, 0);
    for (int i = 0; i < NL; i++) {
        for (int j = 0; j < 3; j++) X[i * 3 + j] = 2.0 + 0.5 * genbo__rng_normal(&r);
        y[i] = X[i * 3] - X[i * 3 + 1];
    }
    genbo_reward_params rp;
    genbo_reward_params_default(&rp);
    genbo_reward *rw = NULL;
    cr_assert_eq(genbo_reward_fit(&rp, NL, 3, X, y, &rw), GENBO_OK, "%s", genbo_errmsg());
    genbo_sample_params sp;
    genbo_sample_params_default(&sp);
    sp.steps = 30;
    sp.conditional = 0;
    double G[NS * 3], plain = 0, guided = 0;
    cr_assert_eq(genbo_diffusion_sample(m, &sp, 0, NS, G), GENBO_OK, "%s", genbo_errmsg());
    for (int i = 0; i < NS; i++) plain += (G[i * 3] - G[i * 3 + 1]) / NS;
    sp.grad_mode = GENBO_GRAD_LOOKAHEAD;
    sp.grad_eta = 1.0;
    cr_assert_eq(genbo_diffusion_sample(m, &sp, 0, NS, G), GENBO_EINVAL); /* no reward given */
    cr_assert_eq(genbo_reward_guidance(rw, &sp), GENBO_OK);
    cr_assert_eq(genbo_diffusion_sample(m, &sp, 0, NS, G), GENBO_OK, "%s", genbo_errmsg());
    for (int i = 0; i < NS; i++) guided += (G[i * 3] - G[i * 3 + 1]) / NS;
    cr_log_info("reward x0 - x1: plain %.3f, guided %.3f", plain, guided);
    /* the data: x0 - x1 has mean 0 and sd 0.71; guidance must move it, not wreck it */
    cr_assert_lt(fabs(plain), 0.3, "unguided samples off the data: %.3f", plain);
    cr_assert_gt(guided, plain + 0.1, "guided %.3f vs plain %.3f", guided, plain);
    cr_assert_lt(guided, plain + 2.0, "guided %.3f vs plain %.3f", guided, plain);
    /* target-seeking guidance lands the reward near the target, on either
     * side of the data's mean (a tilt could only push one way) */
    sp.grad_mode = GENBO_GRAD_TARGET;
    const double targets[2] = {0.7, -0.7};
    for (int k = 0; k < 2; k++) {
        double mean = 0;
        cr_assert_eq(genbo_diffusion_sample(m, &sp, targets[k], NS, G), GENBO_OK, "%s",
                     genbo_errmsg());
        for (int i = 0; i < NS; i++) mean += (G[i * 3] - G[i * 3 + 1]) / NS;
        cr_log_info("target %.1f: reward x0 - x1 %.3f", targets[k], mean);
        cr_assert_lt(fabs(mean - targets[k]), 0.25, "target %.2f reached %.3f", targets[k], mean);
    }
    /* scale-free strength: the same reward in other units (x 1000, shifted)
     * gives the same designs at the same eta, in every mode */
    double y2[NL], *G2 = malloc(sizeof(double) * NS * 3);
    for (int i = 0; i < NL; i++) y2[i] = 1000.0 * y[i] - 5.0;
    genbo_reward *rw2 = NULL;
    cr_assert_eq(genbo_reward_fit(&rp, NL, 3, X, y2, &rw2), GENBO_OK, "%s", genbo_errmsg());
    const genbo_gradient_guidance modes[3] = {GENBO_GRAD_LOOKAHEAD, GENBO_GRAD_NAIVE,
                                              GENBO_GRAD_TARGET};
    for (int k = 0; k < 3; k++) {
        genbo_sample_params sp2 = sp;
        sp.grad_mode = sp2.grad_mode = modes[k];
        cr_assert_eq(genbo_reward_guidance(rw2, &sp2), GENBO_OK);
        cr_assert_eq(genbo_diffusion_sample(m, &sp, 0.5, NS, G), GENBO_OK, "%s", genbo_errmsg());
        cr_assert_eq(genbo_diffusion_sample(m, &sp2, 1000.0 * 0.5 - 5.0, NS, G2), GENBO_OK, "%s",
                     genbo_errmsg());
        double worst = 0;
        for (int q = 0; q < NS * 3; q++) worst = fmax(worst, fabs(G[q] - G2[q]));
        cr_assert_lt(worst, 1e-6, "mode %d: designs moved by %g with the reward's units",
                     (int)modes[k], worst);
    }
    free(G2);
    genbo_reward_free(rw2);
    genbo_reward_free(rw);
    genbo_diffusion_free(m);
}
