/* test_diffusion_train.c - training to convergence: early stopping on a
 * small task, an integer step count is exact, budgets are reported, and an
 * interrupted training resumes from its checkpoint to the same weights as
 * an uninterrupted one (one thread: bit-identical). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diffusion/train_internal.h"

enum { N = 1500, D = 4 };
static double X[N * D], Y[N];

/* designs on a 1-dimensional curve in R^4, reward along it */
static void make_data(void) {
    genbo__rng r;
    genbo__rng_seed(&r, 21, 0);
    for (int i = 0; i < N; i++) {
        double z = genbo__rng_normal(&r);
        X[i * D + 0] = z;
        X[i * D + 1] = z * z - 1.0;
        X[i * D + 2] = sin(2.0 * z);
        X[i * D + 3] = 0.05 * genbo__rng_normal(&r);
        Y[i] = z + 0.1 * genbo__rng_normal(&r);
    }
}

static void small_params(genbo_diffusion_params *p) {
    genbo_diffusion_params_default(p);
    p->width = 32;
    p->depth = 1;
    p->t_embed = 8;
    p->y_embed = 8;
    p->batch = 64;
    p->lr = 2e-3;
    p->eval_every = 50;
    p->patience = 4;
    p->tol = 0.01;
    p->seed = 5;
}

typedef struct curve {
    int n;
    long step[4096];
    double val[4096];
} curve;

static int record(void *ctx, const genbo_train_point *pt) {
    curve *c = ctx;
    if (c->n < 4096) {
        c->step[c->n] = pt->step;
        c->val[c->n] = pt->val_loss;
        c->n++;
    }
    return 0;
}

static void setup(void) {
    genbo_set_threads(1);
    make_data();
}

TestSuite(diffusion_train, .init = setup);

Test(diffusion_train, auto_stops_on_convergence_before_the_budget) {
    genbo_diffusion_params p;
    small_params(&p);
    p.max_steps = 40000;
    genbo_train_report rep;
    static curve c;
    c.n = 0;
    p.report = &rep;
    p.on_eval = record;
    p.eval_ctx = &c;
    genbo_diffusion *m;
    cr_assert_eq(genbo_diffusion_train(&p, N, D, X, Y, &m), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(rep.stop, GENBO_STOP_CONVERGED, "stop %d after %ld steps", rep.stop, rep.steps);
    cr_assert_lt(rep.steps, p.max_steps);
    cr_assert_eq(rep.n_val, (size_t)(N / 10));
    cr_assert_eq(rep.n_train, (size_t)(N - N / 10));
    /* the validation loss is recorded, finite, and the best is the minimum */
    cr_assert_gt(c.n, p.patience);
    cr_assert_eq(c.step[c.n - 1], rep.steps);
    double lo = INFINITY;
    for (int i = 0; i < c.n; i++) {
        cr_assert(isfinite(c.val[i]));
        lo = fmin(lo, c.val[i]);
    }
    cr_assert_float_eq(rep.best_val_loss, lo, 1e-12);
    /* the last `patience` validations improved on the earlier best by less than tol */
    double early = INFINITY, late = INFINITY;
    for (int i = 0; i < c.n; i++) {
        if (i < c.n - p.patience) early = fmin(early, c.val[i]);
        else late = fmin(late, c.val[i]);
    }
    cr_assert_geq(late, early * (1.0 - p.tol), "late %g early %g", late, early);
    /* it learned something: far below the loss of predicting eps = 0 (1) */
    cr_assert_lt(rep.best_val_loss, 0.7 * c.val[0], "%g vs first %g", rep.best_val_loss, c.val[0]);
    genbo_diffusion_free(m);
}

Test(diffusion_train, an_integer_step_count_is_exact) {
    genbo_diffusion_params p;
    small_params(&p);
    p.steps = 137;
    genbo_train_report rep;
    static curve c;
    c.n = 0;
    p.report = &rep;
    p.on_eval = record;
    p.eval_ctx = &c;
    genbo_diffusion *m;
    cr_assert_eq(genbo_diffusion_train(&p, N, D, X, Y, &m), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(rep.stop, GENBO_STOP_STEPS);
    cr_assert_eq(rep.steps, 137);
    cr_assert_eq(c.n, 3); /* at 50, 100 and the end */
    cr_assert_eq(c.step[2], 137);
    genbo_diffusion_free(m);
}

Test(diffusion_train, budgets_are_reported) {
    genbo_diffusion_params p;
    small_params(&p);
    p.max_steps = 120;
    genbo_train_report rep;
    p.report = &rep;
    genbo_diffusion *m;
    cr_assert_eq(genbo_diffusion_train(&p, N, D, X, Y, &m), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(rep.stop, GENBO_STOP_MAX_STEPS);
    cr_assert_eq(rep.steps, 120);
    cr_assert(isfinite(rep.best_val_loss) && isfinite(rep.val_loss));
    genbo_diffusion_free(m);
    p.max_steps = 1000000;
    p.max_seconds = 0.05;
    cr_assert_eq(genbo_diffusion_train(&p, N, D, X, Y, &m), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(rep.stop, GENBO_STOP_MAX_SECONDS);
    cr_assert_lt(rep.steps, 1000000);
    cr_assert_lt(rep.seconds, 5.0);
    genbo_diffusion_free(m);
}

/* The caller's store: the latest checkpoint only (as the database keeps). */
typedef struct store {
    void *buf;
    size_t len;
    long step;
    int writes;
} store;

static int keep_checkpoint(void *ctx, long step, const void *buf, size_t len) {
    store *s = ctx;
    free(s->buf);
    s->buf = malloc(len);
    memcpy(s->buf, buf, len);
    s->len = len;
    s->step = step;
    s->writes++;
    return 0;
}

static long stop_at;
static int interrupt_at(void *ctx, const char *stage, long done, long total, const char *msg) {
    (void)ctx, (void)stage, (void)total, (void)msg;
    return done >= stop_at;
}

static void *model_bytes(const genbo_diffusion *m, size_t *len) {
    void *buf;
    cr_assert_eq(genbo_diffusion_save_buffer(m, &buf, len), GENBO_OK);
    return buf;
}

Test(diffusion_train, resume_from_checkpoint_gives_the_same_weights) {
    genbo_diffusion_params p;
    small_params(&p);
    p.max_steps = 700; /* a budget stop: the run is the same length both ways */
    genbo_train_report ra, rb;
    p.report = &ra;
    genbo_diffusion *a, *b = (genbo_diffusion *)0x1;
    cr_assert_eq(genbo_diffusion_train(&p, N, D, X, Y, &a), GENBO_OK, "%s", genbo_errmsg());

    /* interrupted at the first progress report from step 300 on: the
     * checkpoint holds that step */
    store s = {0};
    p.report = &rb;
    p.checkpoint = keep_checkpoint;
    p.checkpoint_ctx = &s;
    p.checkpoint_seconds = 1e9; /* only on interruption */
    p.progress = interrupt_at;
    stop_at = 300;
    cr_assert_eq(genbo_diffusion_train(&p, N, D, X, Y, &b), GENBO_ESTATE);
    cr_assert_null(b);
    cr_assert_eq(rb.stop, GENBO_STOP_INTERRUPTED);
    cr_assert_eq(s.writes, 1);
    cr_assert(s.step >= 300 && s.step < 310, "checkpoint at %ld", s.step);
    cr_assert_eq(rb.steps, s.step);

    /* resumed: continues from there to the same end and the same weights */
    p.progress = NULL;
    p.resume = s.buf;
    p.resume_len = s.len;
    cr_assert_eq(genbo_diffusion_train(&p, N, D, X, Y, &b), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(rb.resumed_from, s.step);
    cr_assert_eq(rb.steps, ra.steps);
    cr_assert_eq(rb.stop, ra.stop);
    cr_assert_eq(rb.best_step, ra.best_step);
    cr_assert_float_eq(rb.best_val_loss, ra.best_val_loss, 0.0);
    size_t la, lb;
    void *ba = model_bytes(a, &la), *bb = model_bytes(b, &lb);
    cr_assert_eq(la, lb);
    cr_assert(memcmp(ba, bb, la) == 0, "resumed weights differ from the uninterrupted run's");
    free(ba);
    free(bb);
    genbo_diffusion_free(b);

    /* a checkpoint of another training is refused with a reason */
    p.seed = 6;
    b = (genbo_diffusion *)0x1;
    cr_assert_eq(genbo_diffusion_train(&p, N, D, X, Y, &b), GENBO_ESTATE);
    cr_assert_null(b);
    cr_assert(strstr(genbo_errmsg(), "checkpoint"), "%s", genbo_errmsg());
    ((unsigned char *)s.buf)[s.len / 2] ^= 1;
    p.seed = 5;
    cr_assert_eq(genbo_diffusion_train(&p, N, D, X, Y, &b), GENBO_EFORMAT);
    cr_assert(strstr(genbo_errmsg(), "checksum"), "%s", genbo_errmsg());
    free(s.buf);
    genbo_diffusion_free(a);
}

Test(diffusion_train, auto_sizes_follow_dimension_and_rows) {
    genbo_diffusion_params p;
    genbo_diffusion_params_default(&p);
    genbo_diffusion_params_resolve(&p, 20000, 64);
    cr_assert_eq(p.width, 256);
    cr_assert_eq(p.batch, 256);
    genbo_diffusion_params_default(&p);
    genbo_diffusion_params_resolve(&p, 300, 3);
    cr_assert_eq(p.width, 64);
    cr_assert_eq(p.batch, 32);
    genbo_diffusion_params_default(&p);
    genbo_diffusion_params_resolve(&p, 2000, 200);
    cr_assert_eq(p.width, 512);
    cr_assert_eq(p.batch, 64); /* 1800 / 16 = 112 */
    p.width = 48, p.batch = 7; /* given sizes are kept */
    genbo_diffusion_params_resolve(&p, 2000, 200);
    cr_assert(p.width == 48 && p.batch == 7);
}
