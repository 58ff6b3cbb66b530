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
/* A model that knows less: a GP on the first n labels, which becomes the
 * fixture's reward model (the caller frees it). */
static genbo_reward *gp_on_first_labels(fixture *f, size_t n) {
    genbo_reward_params rp;
    genbo_reward_params_default(&rp);
    rp.kind = GENBO_REWARD_GP;
    genbo_reward *m;
    cr_assert_eq(genbo_reward_fit(&rp, n, D, f->md.label_X, f->md.label_y, &m), GENBO_OK, "%s", genbo_errmsg());
    f->md.reward = m, f->md.n_label = n;
    return m;
}

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
    f.md.select = (genbo__select_settings){4, 1.0, 0.5, GENBO__SOURCE_GUIDED | GENBO__SOURCE_EDIT, 0.3, 0.0, GENBO__DIVERSITY_ADAPTIVE, GENBO__EXPLORE_THOMPSON};
    cr_assert_eq(genbo__generate(GENBO__METHOD_GENBO, &f.md, f.a, N, 11, X), GENBO_OK, "%s", genbo_errmsg());
    for (int j = 0; j < D; j++) cr_assert_eq(X[N * D + j], 1234.5, "wrote past n designs");
    for (int i = 0; i < N; i++) cr_assert(genbo__trust_check(&box, X + i * D) == 0, "design %d off the trust region", i);
    /* the same seed and settings give the same batch */
    double *X2 = malloc(N * D * sizeof *X2);
    cr_assert_eq(genbo__generate(GENBO__METHOD_GENBO, &f.md, f.a, N, 11, X2), GENBO_OK);
    cr_assert_eq(memcmp(X, X2, N * D * sizeof *X), 0);
    /* without selection (one guided candidate per design) */
    f.md.select = (genbo__select_settings){1, 0, 0, GENBO__SOURCE_GUIDED, 0, 0.0, GENBO__DIVERSITY_ADAPTIVE, GENBO__EXPLORE_THOMPSON};
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
    f.md.select = (genbo__select_settings){4, 1.0, 0.5, GENBO__SOURCE_GUIDED | GENBO__SOURCE_EDIT, 0.3, 0.0, GENBO__DIVERSITY_ADAPTIVE, GENBO__EXPLORE_THOMPSON};
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

/* The extra sources and the exploration share, on one fixture:
 * - pool only (kappa 0, no diversity rule, no exploration): the batch is
 *   exactly the N unlabelled pool designs with the highest predicted
 *   reward, even when the labelled designs are in the pool too;
 * - ascent: the surrogate-ascent designs stay on this subspace, so adding
 *   them as candidates raises the batch's true reward over guided alone;
 * - exploration: the first N - e designs are the pessimistic batch's
 *   first N - e, e = floor(min(explore, q) N) with the reported q, and the
 *   other e have a larger predictive sd than the first N - e. */
Test(genbo_method, pool_ascent_and_exploration, .timeout = 180) {
    fixture f;
    fx_make(&f);
    /* a pool that also holds every labelled design */
    double *PL = malloc((NP + NL) * D * sizeof *PL);
    memcpy(PL, f.md.label_X, NL * D * sizeof *PL);
    memcpy(PL + NL * D, f.md.pool_X, NP * D * sizeof *PL);
    genbo__models md = f.md;
    md.pool_X = PL, md.n_pool = NP + NL;
    md.select = (genbo__select_settings){4, 0.0, 0.0, GENBO__SOURCE_POOL, 0.3, 0.0, GENBO__DIVERSITY_ADAPTIVE, GENBO__EXPLORE_THOMPSON};
    double *X = malloc((N + 1) * D * sizeof *X);
    for (int j = 0; j < D; j++) X[N * D + j] = 1234.5;
    cr_assert_eq(genbo__generate(GENBO__METHOD_GENBO, &md, f.a, N, 21, X), GENBO_OK, "%s", genbo_errmsg());
    for (int j = 0; j < D; j++) cr_assert_eq(X[N * D + j], 1234.5, "wrote past n designs");
    double *mu = malloc(NP * sizeof *mu), *mx = malloc(N * sizeof *mx);
    cr_assert_eq(genbo_reward_predict(f.rm, NP, f.md.pool_X, mu, NULL), GENBO_OK);
    cr_assert_eq(genbo_reward_predict(f.rm, N, X, mx, NULL), GENBO_OK);
    double *sorted = malloc(NP * sizeof *sorted);
    memcpy(sorted, mu, NP * sizeof *mu);
    double nth = genbo__percentile(sorted, NP, 100.0 * (NP - N) / (NP - 1)); /* ~ the N-th largest */
    for (int i = 0; i < N; i++) {
        for (int l = 0; l < NL; l++)
            cr_assert_neq(memcmp(X + i * D, f.md.label_X + l * D, D * sizeof *X), 0, "design %d is labelled design %d", i, l);
        int in_pool = 0;
        for (int p = 0; p < NP && !in_pool; p++) in_pool = !memcmp(X + i * D, f.md.pool_X + p * D, D * sizeof *X);
        cr_assert(in_pool, "design %d is not a pool design", i);
        cr_assert_geq(mx[i], nth - 1e-9, "design %d predicted %.4f below the N-th best pool design %.4f", i, mx[i], nth);
    }
    /* ascent as a source: guided + ascent against guided alone */
    double *G = malloc(N * D * sizeof *G);
    f.md.select = (genbo__select_settings){4, 1.0, 0.5, GENBO__SOURCE_GUIDED, 0.3, 0.0, GENBO__DIVERSITY_ADAPTIVE, GENBO__EXPLORE_THOMPSON};
    cr_assert_eq(genbo__generate(GENBO__METHOD_GENBO, &f.md, f.a, N, 22, G), GENBO_OK, "%s", genbo_errmsg());
    f.md.select.sources = GENBO__SOURCE_GUIDED | GENBO__SOURCE_ASCENT;
    genbo__batch_report rep;
    f.md.report = &rep;
    cr_assert_eq(genbo__generate(GENBO__METHOD_GENBO, &f.md, f.a, N, 22, X), GENBO_OK, "%s", genbo_errmsg());
    double tg = mean_true(&f, N, G), ta = mean_true(&f, N, X), sd = pool_true_sd(&f);
    cr_log_info("guided %.3f, guided + ascent %.3f (%zu ascent designs; pool sd %.3f)", tg, ta, rep.from[3], sd);
    cr_assert_geq(rep.from[3], 1, "no ascent design was taken");
    cr_assert_gt(ta, tg, "ascent candidates lowered the true reward: %.3f vs %.3f", ta, tg);
    /* exploration, by a model that knows less: a GP on 5 of the labels */
    genbo_reward *few = gp_on_first_labels(&f, 5);
    f.md.select = (genbo__select_settings){4, 1.0, 0.5, GENBO__SOURCE_GUIDED | GENBO__SOURCE_POOL, 0.3, 0.0, GENBO__DIVERSITY_ADAPTIVE, GENBO__EXPLORE_THOMPSON};
    cr_assert_eq(genbo__generate(GENBO__METHOD_GENBO, &f.md, f.a, N, 23, G), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(rep.n_explore, 0);
    f.md.select.explore = 0.5;
    cr_assert_eq(genbo__generate(GENBO__METHOD_GENBO, &f.md, f.a, N, 23, X), GENBO_OK, "%s", genbo_errmsg());
    size_t e = rep.n_explore;
    cr_log_info("exploration: q = %.3f, %zu of %d designs", rep.explore_q, e, N);
    cr_assert_geq(e, 2, "a GP on 5 labels is unsure of its batch: q = %.3f", rep.explore_q);
    cr_assert_eq(e, (size_t)floor(fmin(0.5, rep.explore_q) * N));
    cr_assert_eq(memcmp(X, G, (N - e) * D * sizeof *X), 0, "the pessimistic part changed");
    /* the exploring part goes where the model is less sure */
    double *sx = malloc(N * sizeof *sx), s_pess = 0, s_exp = 0;
    cr_assert_eq(genbo_reward_predict(few, N, X, mx, sx), GENBO_OK); /* sx: variances */
    for (size_t i = 0; i < N; i++) *(i < N - e ? &s_pess : &s_exp) += sqrt(sx[i]) / (double)(i < N - e ? N - e : e);
    cr_log_info("predictive sd: pessimistic part %.4f, exploring part %.4f", s_pess, s_exp);
    cr_assert_gt(s_exp, s_pess, "exploring designs %.4f no less certain than the others %.4f", s_exp, s_pess);
    genbo_reward_free(few);
    free(sx), free(G), free(X), free(mu), free(mx), free(sorted), free(PL);
    fx_free(&f);
}

/* The adaptive diversity rule on a model that is sure of its optimum (a GP
 * on 100 labels of a 2-dim quadratic). This pool is dense (3,000 rows on 2
 * dims), so the default min_distance (half the nearest-neighbour spacing)
 * is already finer than what the model tells apart; with min_distance = 4
 * (two spacings) the radius near the optimum shrinks below it to what the
 * model can tell apart, the local source fills it, and the batch's true
 * reward rises over the fixed rule's at the same min_distance, with every
 * design still distinct and inside the trust region. A model unsure of its
 * batch (it explores) never packs it. */
Test(genbo_method, adaptive_radius_packs_a_confident_batch, .timeout = 120) {
    fixture f;
    fx_make(&f);
    genbo__trust box;
    cr_assert_eq(genbo__trust_default(&box, D, f.md.label_X, NL, f.md.pool_X, NP), GENBO_OK);
    double *A = malloc(N * D * sizeof *A), *F = malloc(N * D * sizeof *F), sd = pool_true_sd(&f);
    genbo__batch_report rep;
    f.md.report = &rep;
    genbo__select_settings_default(&f.md.select);
    f.md.select.min_distance = 4;
    cr_assert_eq(genbo__generate(GENBO__METHOD_GENBO, &f.md, f.a, N, 31, A), GENBO_OK, "%s", genbo_errmsg());
    size_t n_local = rep.from[5];
    f.md.select.diversity = GENBO__DIVERSITY_FIXED;
    cr_assert_eq(genbo__generate(GENBO__METHOD_GENBO, &f.md, f.a, N, 31, F), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(rep.from[5], 0, "no local candidates without a radius below min_distance");
    double ta = mean_true(&f, N, A), tf = mean_true(&f, N, F);
    cr_log_info("adaptive %.4f (%zu local designs), fixed %.4f (pool true sd %.3f)", ta, n_local, tf, sd);
    cr_assert_geq(n_local, 1, "the local source gave no design");
    cr_assert_gt(ta, tf + 0.02 * sd, "adaptive %.4f vs fixed %.4f (pool sd %.3f)", ta, tf, sd);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(genbo__trust_check(&box, A + i * D), 0, "design %d off the trust region", i);
        for (int j = 0; j < i; j++)
            cr_assert_neq(memcmp(A + i * D, A + j * D, D * sizeof *A), 0, "designs %d and %d coincide", i, j);
    }
    /* a model unsure of its batch (a GP on 5 of the labels: it explores)
     * never packs it: no local design */
    genbo_reward *few = gp_on_first_labels(&f, 5);
    f.md.select.diversity = GENBO__DIVERSITY_ADAPTIVE;
    cr_assert_eq(genbo__generate(GENBO__METHOD_GENBO, &f.md, f.a, N, 31, A), GENBO_OK, "%s", genbo_errmsg());
    cr_log_info("GP on 5 labels: q = %.3f, %zu exploring, %zu local", rep.explore_q, rep.n_explore, rep.from[5]);
    cr_assert_geq(rep.n_explore, 1);
    cr_assert_eq(rep.from[5], 0, "an unsure model packed %zu designs", rep.from[5]);
    genbo_reward_free(few);
    free(A), free(F);
    genbo__trust_free(&box);
    fx_free(&f);
}
