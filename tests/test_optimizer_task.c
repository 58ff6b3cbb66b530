/* PENDING: move to tests/test_optimizer_task.c once reward/ is merged into
 * main (it links genbo_reward_*; verified passing, valgrind clean, on a
 * scratch merge of the reward and datasets branches). Not built here:
 * CMake globs only tests/test_*.c. */
/* test_optimizer_task.c - the baselines and evaluators on a real synthetic
 * task with a real reward model: surrogate ascent on a ridge fit of the
 * subspace + linear task leaves the subspace (the failure genbo's diffusion
 * avoids); the oracle evaluator returns f*; the metrics use the task's own
 * support distance. Needs datasets/ and reward/. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "optimizer/baselines.h"
#include "optimizer/evaluator.h"
#include "optimizer/metrics.h"

typedef struct fixture {
    genbo_task *task;
    genbo_dataset *lab, *pool;
    genbo_reward *ridge;
    size_t D;
} fixture;

static void setup_task(fixture *f, int D, int d, size_t n_label, size_t n_pool) {
    genbo_task_params tp;
    genbo_task_params_default(&tp);
    tp.kind = GENBO_TASK_SUBSPACE_LINEAR;
    tp.D = D;
    tp.d = d;
    tp.off_ratio = 0;
    tp.noise_sd = 0.1;
    tp.seed = 3;
    cr_assert_eq(genbo_task_create(&tp, &f->task), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_task_split(f->task, n_label, n_pool, 4, &f->lab, &f->pool), GENBO_OK,
                 "%s", genbo_errmsg());
    f->D = genbo_task_dim(f->task);
    genbo_reward_params rp;
    genbo_reward_params_default(&rp); /* ridge, GCV */
    cr_assert_eq(genbo_reward_fit(&rp, genbo_dataset_rows(f->lab), f->D,
                                  genbo_dataset_x(f->lab), genbo_dataset_y(f->lab), &f->ridge),
                 GENBO_OK, "%s", genbo_errmsg());
}

static void teardown_task(fixture *f) {
    genbo_reward_free(f->ridge);
    genbo_dataset_free(f->lab);
    genbo_dataset_free(f->pool);
    genbo_task_free(f->task);
}

Test(task, surrogate_ascent_on_ridge_leaves_the_subspace) {
    enum { N = 16 };
    fixture f;
    setup_task(&f, 32, 4, 200, 5000);
    size_t D = f.D, nl = genbo_dataset_rows(f.lab), np = genbo_dataset_rows(f.pool);
    const double *L = genbo_dataset_x(f.lab), *yl = genbo_dataset_y(f.lab);
    const double *P = genbo_dataset_x(f.pool);
    double *starts = malloc(sizeof(double) * N * D), *out = malloc(sizeof(double) * N * D);
    double lo[64], hi[64], f0[N], f1[N], s0[N], s1[N], t0[N], t1[N];
    cr_assert_eq(genbo__best_labelled(L, yl, nl, D, N, starts), GENBO_OK);
    cr_assert_eq(genbo__surrogate_ascent_reward(f.ridge, L, yl, nl, P, np, D, N, 0, out),
                 GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo__bounding_box(D, L, nl, P, np, lo, hi), GENBO_OK);
    for (size_t i = 0; i < N * D; i++)
        cr_assert(out[i] >= lo[i % D] - 1e-12 && out[i] <= hi[i % D] + 1e-12,
                  "coordinate %zu outside the box", i);
    /* f_hat increases from every start */
    cr_assert_eq(genbo_reward_predict(f.ridge, N, starts, f0, NULL), GENBO_OK);
    cr_assert_eq(genbo_reward_predict(f.ridge, N, out, f1, NULL), GENBO_OK);
    for (int i = 0; i < N; i++) cr_assert(f1[i] > f0[i] + 0.1, "%d: %g -> %g", i, f0[i], f1[i]);
    /* ...and the designs leave the support: the task's own distance */
    cr_assert_eq(genbo_task_support_distance(f.task, N, starts, s0), GENBO_OK);
    cr_assert_eq(genbo_task_support_distance(f.task, N, out, s1), GENBO_OK);
    double m0 = 0, m1 = 0;
    for (int i = 0; i < N; i++) m0 += s0[i] / N, m1 += s1[i] / N;
    /* the true reward is the linear f* = theta^T x: it rises too (the
     * ascent is not wrong about f, it is wrong about where data live) */
    cr_assert_eq(genbo_task_oracle(f.task, N, starts, t0), GENBO_OK);
    cr_assert_eq(genbo_task_oracle(f.task, N, out, t1), GENBO_OK);
    cr_log_info("support distance: labelled %.4f, ascent %.4f", m0, m1);
    cr_assert(m0 < 1e-6, "labelled designs off the support: %g", m0);
    cr_assert(m1 > 100 * (m0 + 1e-3), "ascent support distance %.4f not clearly off", m1);
    /* the kNN support distance agrees */
    genbo__metrics_input in = {.n = N, .dim = D, .X = out, .pool_X = P, .n_pool = np, .seed = 1};
    genbo__metrics ma, ml;
    cr_assert_eq(genbo__metrics_compute(&in, &ma), GENBO_OK);
    in.X = starts;
    cr_assert_eq(genbo__metrics_compute(&in, &ml), GENBO_OK);
    cr_log_info("kNN support: labelled %.3f, ascent %.3f", ml.support, ma.support);
    cr_assert(ma.support > 2.0 * ml.support, "kNN: %g vs %g", ma.support, ml.support);
    free(starts), free(out);
    teardown_task(&f);
}

Test(task, oracle_evaluator_and_task_support_in_metrics) {
    fixture f;
    setup_task(&f, 16, 4, 50, 500);
    size_t D = f.D;
    genbo__evaluator *ev = NULL;
    cr_assert_eq(genbo__evaluator_oracle(f.task, &ev), GENBO_OK);
    cr_assert_eq(genbo__evaluator_dim(ev), D);
    enum { N = 20 };
    double *X = malloc(sizeof(double) * N * D), y[N], ref[N], sup[N], pred[N];
    cr_assert_eq(genbo__random_pool(genbo_dataset_x(f.pool), genbo_dataset_rows(f.pool), D, N, 5,
                                    X),
                 GENBO_OK);
    cr_assert_eq(genbo__evaluate(ev, N, X, y, NULL), GENBO_OK);
    cr_assert_eq(genbo_task_oracle(f.task, N, X, ref), GENBO_OK);
    for (int i = 0; i < N; i++) cr_assert_eq(y[i], ref[i]);
    cr_assert_eq(genbo_task_support_distance(f.task, N, X, sup), GENBO_OK);
    cr_assert_eq(genbo_reward_predict(f.ridge, N, X, pred, NULL), GENBO_OK);
    genbo__metrics_input in = {.n = N, .dim = D, .X = X, .target = 2.0, .y_true = y,
                               .y_pred = pred, .support = sup};
    genbo__metrics m;
    cr_assert_eq(genbo__metrics_compute(&in, &m), GENBO_OK);
    cr_assert_eq(m.subopt_kind, GENBO__SUBOPT_TRUE);
    cr_assert_eq(m.support_kind, GENBO__SUPPORT_TASK);
    cr_assert(m.support < 1e-6, "pool designs are on the support: %g", m.support);
    double mean = 0;
    for (int i = 0; i < N; i++) mean += y[i] / N;
    cr_assert_float_eq(m.subopt, 2.0 - mean, 1e-12);
    genbo__evaluator_free(ev);
    free(X);
    teardown_task(&f);
}
