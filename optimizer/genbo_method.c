/* genbo_method.c - the `genbo` method: generate many, return the best.
 *
 *   1. M = oversample * n candidates from the sources, in two stages: half
 *      split evenly (the first source takes the remainder), the other half
 *      in proportion to each source's pilot candidates on the support (plus
 *      one), so a source whose designs leave the data gets fewer slots.
 *      Sources: `guided` = conditional diffusion
 *      at the target with CFG and gradient guidance on f_hat; `edit` = the
 *      edit method's designs (edit.c); `reweighted` = the guided sampler on
 *      the DDOM-reweighted model.
 *   2. Every candidate outside the trust region (the study's, trust.h, or
 *      without one the data's default region, genbo__trust_default) is
 *      projected into it and then
 *      counts as off the support. (With oversample 1 or a single source:
 *      one stage, no pilot.)
 *   3. Each is scored with the reward model's mean mu(x) and predictive sd
 *      s(x) (below), and with the data-driven support ratio r(x)
 *      (support.h; the task's own support distance is never used).
 *   4. Acquisition a(x) = mu(x) - kappa s(x) (pessimistic); the n designs
 *      are chosen greedily by a(x) among candidates on the support, at
 *      least min_distance x (the pool's mean nearest-neighbour distance)
 *      apart in standardised features (select.h).
 *
 * Predictive sd: the GP's posterior sd of f; for ridge, whose predict
 * returns x^T (Z^T Z + lambda I)^{-1} x in standardised features, that
 * times the residual variance of the fit on the labelled set (the
 * Bayesian posterior of the linear model), so a(x) is in reward units
 * either way and kappa is scale-free. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "optimizer/methods.h"
#include "optimizer/select.h"
#include "optimizer/support.h"
#include "optimizer/trust.h"

/* Residual variance of the reward model on the labelled set. */
static int residual_var(const genbo__models *mm, double *out) {
    double *mu = genbo__malloc(mm->n_label * sizeof *mu);
    if (!mu) return GENBO_ENOMEM;
    int rc = genbo_reward_predict(mm->reward, mm->n_label, mm->label_X, mu, NULL);
    double s = 0;
    size_t k = 0;
    for (size_t i = 0; !rc && i < mm->n_label; i++)
        if (isfinite(mm->label_y[i])) {
            s += (mm->label_y[i] - mu[i]) * (mm->label_y[i] - mu[i]);
            k++;
        }
    free(mu);
    *out = k ? s / (double)k : 0;
    return rc;
}

/* mu and s of the m candidates X (see the top of the file). */
static int predictive(const genbo__models *mm, size_t m, const double *X, double *mu, double *sd) {
    int rc = genbo_reward_predict(mm->reward, m, X, mu, sd);
    if (rc) return rc;
    double scale = 1;
    if (genbo_reward_get_kind(mm->reward) == GENBO_REWARD_RIDGE && (rc = residual_var(mm, &scale)))
        return rc;
    for (size_t i = 0; i < m; i++) sd[i] = sqrt(scale * sd[i]);
    return GENBO_OK;
}

/* `share` candidates from one source into C. */
static int source_draw(const genbo__models *mm, unsigned src, double target, size_t share,
                       uint64_t seed, double *C) {
    if (src == GENBO__SOURCE_EDIT) return genbo__edit_batch(mm, target, share, seed, C);
    const genbo_diffusion *dm = src == GENBO__SOURCE_REWEIGHTED ? mm->reweighted : mm->diffusion;
    if (!dm) return genbo__fail(GENBO_ESTATE, "the reweighted source needs the reweighted model");
    genbo_sample_params p;
    int rc = genbo__method_sample_params(GENBO__METHOD_GENBO, &mm->sample, mm->reward, seed, &p);
    return rc ? rc : genbo_diffusion_sample(dm, &p, target, share, C);
}

static int score_and_select(const genbo__models *mm, const genbo__support *sup, size_t M,
                            const double *C, const unsigned char *moved, size_t n, double *out) {
    const size_t dim = mm->dim;
    const genbo__select_settings *st = &mm->select;
    double *Z = genbo__malloc(M * dim * sizeof *Z), *mu = genbo__malloc(3 * M * sizeof *mu);
    size_t *chosen = genbo__malloc(n * sizeof *chosen);
    int rc = Z && mu && chosen ? GENBO_OK : GENBO_ENOMEM;
    double *sd = mu ? mu + M : NULL, *ratio = mu ? mu + 2 * M : NULL;
    if (!rc) {
        genbo__support_standardise(sup, M, C, Z);
        rc = genbo__support_ratio(sup, M, Z, ratio);
    }
    if (!rc) rc = predictive(mm, M, C, mu, sd);
    if (!rc) {
        for (size_t i = 0; i < M; i++) mu[i] -= st->kappa * sd[i]; /* acquisition */
        /* a candidate the trust region had to move counts as off the
         * support: it is returned only when too few others are on it */
        for (size_t i = 0; i < M; i++)
            if (moved[i] && !(ratio[i] > sup->ratio_max)) ratio[i] = nextafter(sup->ratio_max, INFINITY);
        double delta = st->min_distance > 0 ? st->min_distance * sup->nn_spacing : 0;
        rc = genbo__select(M, dim, Z, mu, ratio, sup->ratio_max, delta, n, chosen, NULL);
    }
    for (size_t k = 0; !rc && k < n; k++)
        memcpy(out + k * dim, C + chosen[k] * dim, dim * sizeof *out);
    free(Z), free(mu), free(chosen);
    return rc;
}

/* moved[i] = 1 for the rows that had to be projected into the region. */
static void project_rows(const genbo__trust *g, size_t dim, size_t n, double *X, unsigned char *moved) {
    for (size_t i = 0; i < n; i++) {
        double *x = X + i * dim;
        moved[i] = genbo__trust_check(g, x) != 0;
        if (moved[i]) genbo__trust_project(g, 1, x, NULL);
    }
}

/* Draw share[k] candidates from each source into C (consecutive rows),
 * projected into the trust region. stage 0 keeps the method's seed for the
 * first source (oversample = 1 then gives the sampler's own batch). */
static int draw_stage(const genbo__models *mm, const unsigned *src, int ns, const size_t *share,
                      double target, uint64_t seed, int stage, const genbo__trust *g, double *C,
                      unsigned char *moved) {
    size_t off = 0;
    for (int k = 0; k < ns; k++) {
        uint64_t sk = stage == 0 && k == 0
                          ? seed
                          : seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(src[k] + 8u * (unsigned)stage));
        int rc = share[k] ? source_draw(mm, src[k], target, share[k], sk, C + off * mm->dim) : 0;
        if (rc) return genbo__fail_prefix(rc, "genbo: candidates");
        project_rows(g, mm->dim, share[k], C + off * mm->dim, moved + off);
        off += share[k];
    }
    return GENBO_OK;
}

/* Stage 2's shares: the rest of the budget in proportion to each source's
 * candidates on the support in stage 1, plus one (no source is shut out
 * on a small pilot), by largest remainder. */
static void stage2_shares(const genbo__support *sup, const double *C1, const unsigned char *moved1,
                          const size_t *share1, int ns, size_t M2, size_t dim, size_t *share2,
                          int *rc) {
    size_t M1 = 0, on[8] = {0}, tot = 0;
    for (int k = 0; k < ns; k++) M1 += share1[k];
    double *Z = genbo__malloc(M1 * dim * sizeof *Z), *r = genbo__malloc(M1 * sizeof *r);
    *rc = Z && r ? GENBO_OK : GENBO_ENOMEM;
    if (!*rc) {
        genbo__support_standardise(sup, M1, C1, Z);
        *rc = genbo__support_ratio(sup, M1, Z, r);
    }
    for (int k = 0, i = 0; !*rc && k < ns; k++)
        for (size_t q = 0; q < share1[k]; q++, i++) on[k] += r[i] <= sup->ratio_max && !moved1[i];
    free(Z), free(r);
    if (*rc) return;
    for (int k = 0; k < ns; k++) tot += on[k] + 1;
    size_t given = 0;
    double rem[8];
    for (int k = 0; k < ns; k++) {
        double exact = (double)M2 * (double)(on[k] + 1) / (double)tot;
        share2[k] = (size_t)exact;
        rem[k] = exact - (double)share2[k];
        given += share2[k];
    }
    while (given < M2) { /* largest remainder, ties to the first source */
        int best = 0;
        for (int k = 1; k < ns; k++) if (rem[k] > rem[best]) best = k;
        share2[best]++;
        rem[best] = -1;
        given++;
    }
}

int genbo__genbo_batch(const genbo__models *mm, double target, size_t n, uint64_t seed,
                       double *designs) {
    const size_t dim = mm->dim;
    const genbo__select_settings *st = &mm->select;
    size_t over = st->oversample > 1 ? (size_t)st->oversample : 1, M;
    if (!genbo__mul_ok(n, over, &M) || M > (size_t)1 << 28)
        return genbo__fail(GENBO_EINVAL, "genbo: %zu designs x oversample %zu is too many", n, over);
    unsigned src[8];
    int ns = 0;
    unsigned mask = st->sources ? st->sources : GENBO__SOURCE_GUIDED;
    for (unsigned b = 1; b <= GENBO__SOURCE_REWEIGHTED; b <<= 1)
        if (mask & b) src[ns++] = b;
    if (!mm->reward) return genbo__fail(GENBO_EINVAL, "genbo: needs a reward model");
    double *C = M == n ? designs : genbo__malloc(M * dim * sizeof *C);
    unsigned char *moved = genbo__calloc(M, 1);
    int rc = C && moved ? GENBO_OK : GENBO_ENOMEM;
    genbo__trust own; /* the data's default region when the study gives none */
    memset(&own, 0, sizeof own);
    if (!rc && !mm->trust) rc = genbo__trust_default(&own, dim, mm->label_X, mm->n_label, mm->pool_X, mm->n_pool);
    const genbo__trust *g = mm->trust ? mm->trust : &own;
    /* one stage (even split) without selection or with one source; else a
     * pilot of half the budget split evenly, then the rest by stage2_shares */
    int two = M > n && ns > 1;
    size_t M1 = two ? M / 2 : M, share1[8], share2[8] = {0};
    for (int k = 0; k < ns; k++) share1[k] = M1 / (size_t)ns + (k == 0 ? M1 % (size_t)ns : 0);
    if (!rc) rc = draw_stage(mm, src, ns, share1, target, seed, 0, g, C, moved);
    genbo__support sup;
    int have_sup = 0;
    if (!rc && M > n) {
        rc = genbo__support_build(mm->pool_X, mm->n_pool, dim, seed ^ 0x5e1ec7u, &sup);
        have_sup = !rc;
    }
    if (!rc && two) stage2_shares(&sup, C, moved, share1, ns, M - M1, dim, share2, &rc);
    if (!rc && two)
        rc = draw_stage(mm, src, ns, share2, target, seed, 1, g, C + M1 * dim, moved + M1);
    if (!rc && M > n) rc = score_and_select(mm, &sup, M, C, moved, n, designs);
    if (have_sup) genbo__support_free(&sup);
    if (C != designs) free(C);
    genbo__trust_free(&own);
    free(moved);
    return rc;
}
