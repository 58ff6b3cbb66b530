/* test_optimizer_genbo.c - the genbo method's batch and the edit method on
 * a small nonlinear task: 8-dim designs on a 2-dim subspace, quadratic
 * true reward peaking inside the data, a GP reward model and a deliberately
 * small, briefly trained diffusion model (what a user gets before training
 * has converged). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "optimizer/methods.h"
#include "optimizer/metrics.h"
#include "optimizer/reweight.h"
#include "optimizer/trust.h"

enum { D = 8, DS = 2, NL = 100, NP = 3000, N = 32 };

typedef struct fixture {
    genbo_task *task;
    genbo_dataset *L, *P;
    genbo_reward *rm;
    genbo_diffusion *dm;
    double *pseudo;
    genbo__models md;
    double a; /* target: the pool's 90th percentile pseudo-reward */
} fixture;

static void train_params(genbo_diffusion_params *dp) {
    genbo_diffusion_params_default(dp);
    dp->width = 64, dp->depth = 2, dp->steps = 800, dp->batch = 128, dp->seed = 4;
    dp->lr = 1e-3; /* the briefly trained model these margins were set on (the default is now 2e-3) */
}

static void fx_make(fixture *f) {
    memset(f, 0, sizeof *f);
    genbo_task_params tp;
    genbo_task_params_default(&tp);
    tp.kind = GENBO_TASK_SUBSPACE_QUADRATIC;
    tp.D = D, tp.d = DS, tp.seed = 4;
    cr_assert_eq(genbo_task_create(&tp, &f->task), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_task_split(f->task, NL, NP, 4, &f->L, &f->P), GENBO_OK);
    genbo_reward_params rp;
    genbo_reward_params_default(&rp);
    rp.kind = GENBO_REWARD_GP;
    const double *LX = genbo_dataset_x(f->L), *LY = genbo_dataset_y(f->L), *PX = genbo_dataset_x(f->P);
    cr_assert_eq(genbo_reward_fit(&rp, NL, D, LX, LY, &f->rm), GENBO_OK, "%s", genbo_errmsg());
    f->pseudo = malloc(NP * sizeof *f->pseudo);
    cr_assert_eq(genbo_reward_predict(f->rm, NP, PX, f->pseudo, NULL), GENBO_OK);
    genbo_diffusion_params dp;
    train_params(&dp);
    cr_assert_eq(genbo_diffusion_train(&dp, NP, D, PX, f->pseudo, &f->dm), GENBO_OK, "%s", genbo_errmsg());
    genbo__models *m = &f->md;
    m->dim = D;
    m->label_X = LX, m->label_y = LY, m->n_label = NL;
    m->pool_X = PX, m->n_pool = NP;
    m->reward = f->rm, m->diffusion = f->dm;
    genbo_sample_params_default(&m->sample);
    m->sample.steps = 60;
    m->sample.grad_mode = GENBO_GRAD_LOOKAHEAD;
    m->sample.grad_eta = 1;
    f->a = genbo__percentile(f->pseudo, NP, 90);
}

static void fx_free(fixture *f) {
    genbo_diffusion_free(f->dm);
    genbo_reward_free(f->rm);
    genbo_dataset_free(f->L);
    genbo_dataset_free(f->P);
    genbo_task_free(f->task);
    free(f->pseudo);
}

static double mean_true(const fixture *f, size_t n, const double *X) {
    double *y = malloc(n * sizeof *y), s = 0;
    cr_assert_eq(genbo_task_oracle(f->task, n, X, y), GENBO_OK);
    for (size_t i = 0; i < n; i++) s += y[i];
    free(y);
    return s / (double)n;
}

static double mean_pred(const fixture *f, size_t n, const double *X) {
    double *y = malloc(n * sizeof *y), s = 0;
    cr_assert_eq(genbo_reward_predict(f->rm, n, X, y, NULL), GENBO_OK);
    for (size_t i = 0; i < n; i++) s += y[i];
    free(y);
    return s / (double)n;
}

/* sd of the true reward over the pool: the unit of the margins below */
static double pool_true_sd(const fixture *f) {
    double *y = malloc(NP * sizeof *y), s = 0, s2 = 0;
    cr_assert_eq(genbo_task_oracle(f->task, NP, genbo_dataset_x(f->P), y), GENBO_OK);
    for (int i = 0; i < NP; i++) s += y[i];
    for (int i = 0; i < NP; i++) s2 += (y[i] - s / NP) * (y[i] - s / NP);
    free(y);
    return sqrt(s2 / (NP - 1));
}

Test(genbo_method, selection_returns_n_designs_inside_the_trust_region, .timeout = 120) {
    fixture f;
    fx_make(&f);
    genbo__trust box;
    cr_assert_eq(genbo__trust_default(&box, D, f.md.label_X, NL, f.md.pool_X, NP), GENBO_OK);
    double *X = malloc((N + 1) * D * sizeof *X), *X1 = malloc(N * D * sizeof *X1);
    for (int j = 0; j < D; j++) X[N * D + j] = 1234.5; /* a row past the batch: never written */
    f.md.select = (genbo__select_settings){4, 1.0, 0.5, GENBO__SOURCE_GUIDED | GENBO__SOURCE_EDIT, 0.3};
    cr_assert_eq(genbo__generate(GENBO__METHOD_GENBO, &f.md, f.a, N, 11, X), GENBO_OK, "%s", genbo_errmsg());
    for (int j = 0; j < D; j++) cr_assert_eq(X[N * D + j], 1234.5, "wrote past n designs");
    for (int i = 0; i < N; i++) cr_assert(genbo__trust_check(&box, X + i * D) == 0, "design %d off the trust region", i);
    /* the same seed and settings give the same batch */
    double *X2 = malloc(N * D * sizeof *X2);
    cr_assert_eq(genbo__generate(GENBO__METHOD_GENBO, &f.md, f.a, N, 11, X2), GENBO_OK);
    cr_assert_eq(memcmp(X, X2, N * D * sizeof *X), 0);
    /* without selection (one guided candidate per design) */
    f.md.select = (genbo__select_settings){1, 0, 0, GENBO__SOURCE_GUIDED, 0};
    cr_assert_eq(genbo__generate(GENBO__METHOD_GENBO, &f.md, f.a, N, 11, X1), GENBO_OK, "%s", genbo_errmsg());
    for (int i = 0; i < N; i++) cr_assert(genbo__trust_check(&box, X1 + i * D) == 0);
    double sel = mean_pred(&f, N, X), nosel = mean_pred(&f, N, X1);
    double tsel = mean_true(&f, N, X), tnosel = mean_true(&f, N, X1);
    cr_log_info("genbo at %.3f: predicted %.3f with selection, %.3f without; true %.3f vs %.3f", f.a, sel, nosel, tsel, tnosel);
    cr_assert_gt(sel, nosel, "selection lowered the predicted reward: %.3f vs %.3f", sel, nosel);
    /* a study's own trust region (here: feature 0 capped at 0, about the
     * data's mean, far inside the data) binds every returned design */
    genbo__trust tr;
    double ulo[D], uhi[D];
    for (int j = 0; j < D; j++) ulo[j] = uhi[j] = NAN;
    uhi[0] = 0.0;
    cr_assert_eq(genbo__trust_init(&tr, D, f.md.label_X, NL, f.md.pool_X, NP, 0.5, ulo, uhi, NULL), GENBO_OK,
                 "%s", genbo_errmsg());
    f.md.trust = &tr;
    f.md.select = (genbo__select_settings){4, 1.0, 0.5, GENBO__SOURCE_GUIDED | GENBO__SOURCE_EDIT, 0.3};
    cr_assert_eq(genbo__generate(GENBO__METHOD_GENBO, &f.md, f.a, N, 11, X), GENBO_OK, "%s", genbo_errmsg());
    for (int j = 0; j < D; j++) cr_assert_eq(X[N * D + j], 1234.5, "wrote past n designs");
    for (int i = 0; i < N; i++) cr_assert_eq(genbo__trust_check(&tr, X + i * D), 0, "design %d off the study's region", i);
    genbo__trust_free(&tr);
    free(X), free(X1), free(X2);
    genbo__trust_free(&box);
    fx_free(&f);
}

Test(genbo_method, edit_beats_conditional_on_a_quadratic_reward, .timeout = 120) {
    fixture f;
    fx_make(&f);
    double *E = malloc(N * D * sizeof *E), *C = malloc(N * D * sizeof *C), sd = pool_true_sd(&f);
    f.md.select.edit_noise = 0.3;
    cr_assert_eq(genbo__generate(GENBO__METHOD_EDIT, &f.md, f.a, N, 12, E), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo__generate(GENBO__METHOD_CONDITIONAL, &f.md, f.a, N, 12, C), GENBO_OK, "%s", genbo_errmsg());
    genbo__trust box;
    cr_assert_eq(genbo__trust_default(&box, D, f.md.label_X, NL, f.md.pool_X, NP), GENBO_OK);
    genbo__trust_project(&box, N, C, NULL); /* conditional's outliers do not decide the test */
    double te = mean_true(&f, N, E), tc = mean_true(&f, N, C);
    cr_log_info("target %.3f: edit %.3f, conditional %.3f (pool true sd %.3f)", f.a, te, tc, sd);
    cr_assert_gt(te, tc + 0.5 * sd, "edit %.3f vs conditional %.3f (pool sd %.3f)", te, tc, sd);
    /* the edit differs from plain ascent (noise really went in) */
    double *A = malloc(N * D * sizeof *A);
    f.md.select.edit_noise = 0.999;
    cr_assert_eq(genbo__generate(GENBO__METHOD_EDIT, &f.md, f.a, N, 12, A), GENBO_OK);
    double tfull = mean_true(&f, N, A);
    cr_log_info("edit from sigma^2 = 0.999 (the ascent forgotten): %.3f", tfull);
    cr_assert_lt(tfull, te, "an almost-full re-noise keeps the ascent's gain: %.3f vs %.3f", tfull, te);
    free(E), free(C), free(A);
    genbo__trust_free(&box);
    fx_free(&f);
}

/* DDOM: the same network, steps and seed, rows drawn by the histogram
 * weights of their pseudo-labels; sampled at the same target as the plain
 * model. The short training spends most of its draws on the high-reward
 * rows, so the conditional at a high target is learned better. */
Test(genbo_method, reweighted_training_beats_conditional, .timeout = 120) {
    fixture f;
    fx_make(&f);
    double *w = malloc(NP * sizeof *w);
    cr_assert_eq(genbo__ddom_weights(NP, f.pseudo, 90, w), GENBO_OK);
    genbo_diffusion_params dp;
    train_params(&dp);
    dp.row_weights = w;
    genbo_diffusion *rw;
    cr_assert_eq(genbo_diffusion_train(&dp, NP, D, f.md.pool_X, f.pseudo, &rw), GENBO_OK, "%s", genbo_errmsg());
    f.md.reweighted = rw;
    double sd = pool_true_sd(&f);
    genbo__trust box;
    cr_assert_eq(genbo__trust_default(&box, D, f.md.label_X, NL, f.md.pool_X, NP), GENBO_OK);
    double *R = malloc(N * D * sizeof *R), *C = malloc(N * D * sizeof *C);
    double tr = 0, tc = 0;
    for (int k = 0; k < 2; k++) { /* two targets: p90 and the pool's max */
        double a = k ? genbo__percentile(f.pseudo, NP, 100) : f.a;
        cr_assert_eq(genbo__generate(GENBO__METHOD_REWEIGHTED, &f.md, a, N, 13, R), GENBO_OK, "%s", genbo_errmsg());
        cr_assert_eq(genbo__generate(GENBO__METHOD_CONDITIONAL, &f.md, a, N, 13, C), GENBO_OK, "%s", genbo_errmsg());
        genbo__trust_project(&box, N, R, NULL); /* outliers do not decide the test */
        genbo__trust_project(&box, N, C, NULL);
        double r = mean_true(&f, N, R), c = mean_true(&f, N, C);
        cr_log_info("target %.3f: reweighted %.3f, conditional %.3f (pool true sd %.3f)", a, r, c, sd);
        tr += r / 2, tc += c / 2;
    }
    cr_assert_gt(tr, tc + 0.25 * sd, "reweighted %.3f vs conditional %.3f (pool sd %.3f)", tr, tc, sd);
    genbo_diffusion_free(rw);
    free(w), free(R), free(C);
    genbo__trust_free(&box);
    fx_free(&f);
}
