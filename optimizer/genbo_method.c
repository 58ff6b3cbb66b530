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
 *      are chosen greedily by a(x) among candidates on the support, each
 *      outside the ball of every design already taken (select.h): radius
 *      delta = min_distance x (the pool's mean nearest-neighbour distance)
 *      in standardised features, or with `diversity = adaptive` the
 *      local-penalisation radius min(delta, (max mu - a(x)) / L) (radii()
 *      below), so a confident model can pack its batch near its optimum.
 *
 * Extra candidates (with oversample > 1, beside the M diffusion draws):
 * `ascent` = the surrogate-ascent designs themselves (L-BFGS on f_hat from
 * the n best labelled designs), which the support test keeps only where the
 * ascent stayed on the data; `pool` = the unlabelled pool designs (not
 * already labelled or told in the run, models->seen_X) with the highest mu - kappa s (n of them) and the
 * highest mu + kappa s (4 n, for the exploring part): they are data, so
 * they count as on the support; `local` (with `ascent`) = n points between
 * the best ascent design and its nearest pool rows, spaced by its radius,
 * only for a batch the model is sure of (local_candidates()).
 *
 * Exploration share: the batch is chosen in two parts. The first n - e by
 * the pessimistic a(x) above, which keeps the batch's mean; the last e by
 * `explore_rule` with the same support and diversity rules: Thompson
 * sampling (thompson.h: each slot the best candidate under one joint
 * posterior draw) or the optimistic mu(x) + kappa s(x) (UCB); either keeps
 * some of the tail a random draw of the pool would find. e = floor(min(explore,
 * q) n), q = the median s(x) of the n on-support candidates with the best
 * a(x), over the sd of the labels: a model that is
 * sure of its predictions (s << the labels' spread) spends almost nothing
 * on exploration, an uncertain one up to `explore` of the batch. Scale-free:
 * s and the labels' sd are both in reward units.
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
#include "optimizer/baselines.h"
#include "optimizer/metrics.h"
#include "optimizer/methods.h"
#include "optimizer/select.h"
#include "optimizer/support.h"
#include "optimizer/thompson.h"
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


/* The model's relative uncertainty about the batch it would return: the
 * median predictive sd of the n on-support candidates with the best
 * acquisition, over the sd of the labels (top of the file). */
static double explore_share(const genbo__models *mm, size_t M, size_t n, const double *acq,
                            const double *sd, const double *ratio, double ratio_max) {
    double a = 0, b = 0;
    size_t k = 0;
    for (size_t i = 0; i < mm->n_label; i++)
        if (isfinite(mm->label_y[i])) a += mm->label_y[i], k++;
    double mean = k ? a / (double)k : 0;
    for (size_t i = 0; i < mm->n_label; i++)
        if (isfinite(mm->label_y[i])) b += (mm->label_y[i] - mean) * (mm->label_y[i] - mean);
    double sdy = k > 1 ? sqrt(b / (double)(k - 1)) : 0;
    genbo__ranked *r = genbo__malloc((M ? M : 1) * sizeof *r);
    double *v = genbo__malloc((n ? n : 1) * sizeof *v);
    double q = 0;
    if (r && v) {
        size_t m = 0;
        for (size_t i = 0; i < M; i++)
            if (ratio[i] <= ratio_max && isfinite(acq[i]) && isfinite(sd[i])) r[m++] = (genbo__ranked){acq[i], i};
        genbo__rank_desc(r, m);
        size_t t = m < n ? m : n;
        for (size_t i = 0; i < t; i++) v[i] = sd[r[i].i];
        q = t ? genbo__percentile(v, t, 50) : 0;
    }
    free(r), free(v);
    return sdy > 0 ? q / sdy : 1.0;
}

/* The scores of candidate rows: standardised Z, mean mu, predictive sd,
 * support ratio and the norm of the mean's gradient in standardised
 * coordinates (for the diversity radii). */
typedef struct scores {
    double *Z, *mu, *sd, *ratio, *gn;
} scores;

static int scores_alloc(scores *s, size_t cap, size_t dim) {
    memset(s, 0, sizeof *s);
    s->Z = genbo__malloc((cap ? cap : 1) * dim * sizeof *s->Z);
    s->mu = genbo__malloc(4 * (cap ? cap : 1) * sizeof *s->mu);
    if (!s->Z || !s->mu) return GENBO_ENOMEM;
    s->sd = s->mu + cap, s->ratio = s->mu + 2 * cap, s->gn = s->mu + 3 * cap;
    return GENBO_OK;
}
static void scores_free(scores *s) { free(s->Z), free(s->mu); }

/* Score rows [from, to) of C. Pool rows are data: ratio 0, no distance
 * computed. A row the trust region had to move counts as off the support
 * (returned only when too few others are on it). */
static int score_rows(const genbo__models *mm, const genbo__support *sup, const double *C,
                      const unsigned char *moved, const unsigned char *kind, size_t from,
                      size_t to, int need_grad, scores *s) {
    const size_t dim = mm->dim, k = to - from;
    if (!k) return GENBO_OK;
    genbo__support_standardise(sup, k, C + from * dim, s->Z + from * dim);
    size_t *gen = genbo__malloc(k * sizeof *gen);
    double *W = genbo__malloc(k * dim * sizeof *W), *r = genbo__malloc(k * sizeof *r);
    int rc = gen && W && r ? GENBO_OK : GENBO_ENOMEM;
    size_t ng = 0;
    for (size_t i = from; !rc && i < to; i++) {
        s->ratio[i] = 0;
        if (kind[i] != GENBO__SOURCE_POOL) {
            memcpy(W + ng * dim, s->Z + i * dim, dim * sizeof *W);
            gen[ng++] = i;
        }
    }
    if (!rc && ng) rc = genbo__support_ratio(sup, ng, W, r);
    for (size_t q = 0; !rc && q < ng; q++) s->ratio[gen[q]] = r[q];
    for (size_t i = from; !rc && i < to; i++)
        if (moved[i] && !(s->ratio[i] > sup->ratio_max))
            s->ratio[i] = nextafter(sup->ratio_max, INFINITY);
    if (!rc) rc = predictive(mm, k, C + from * dim, s->mu + from, s->sd + from);
    if (!rc && need_grad) {
        /* d mu / d z_j = d mu / d x_j x sd_j (z = (x - mean) / sd) */
        rc = genbo_reward_gradient(mm->reward, k, C + from * dim, W);
        for (size_t i = 0; !rc && i < k; i++) {
            double g2 = 0;
            for (size_t j = 0; j < dim; j++) {
                double g = W[i * dim + j] * sup->sd[j];
                g2 += g * g;
            }
            s->gn[from + i] = sqrt(g2);
        }
    }
    free(gen), free(W), free(r);
    return rc;
}

/* The diversity radius of each candidate (in standardised units).
 * fixed: delta = min_distance x the pool's nearest-neighbour spacing for
 * every design. adaptive (local penalisation, Gonzalez et al. 2016): if
 * f(x_j) is as low as a(x_j) = mu - kappa sd, the ball of radius
 * (M - a(x_j)) / L around x_j holds no design better than M = the largest
 * mean of the candidates on the support, L = the largest gradient norm of
 * mu over them (a Lipschitz estimate): nothing is lost by keeping the rest
 * of the batch out of it. A design far below the best keeps a wide ball
 * (the batch spreads); the model's best design, with a small sd, gets a
 * ball of kappa sd / L, the distance over which the mean moves by kappa
 * sd: what the model can tell apart there. So a confident model packs the
 * batch near its optimum and an unsure one keeps it spread. The radius
 * never exceeds delta and is 0 only where kappa sd is. */
static void radii(const genbo__select_settings *st, size_t m, const scores *s, double ratio_max,
                  double delta, double *radius) {
    double U = -INFINITY, L = 0;
    for (size_t i = 0; i < m; i++)
        if (s->ratio[i] <= ratio_max && isfinite(s->mu[i]) && isfinite(s->sd[i])) {
            U = s->mu[i] > U ? s->mu[i] : U;
            L = isfinite(s->gn[i]) && s->gn[i] > L ? s->gn[i] : L;
        }
    int adapt = st->diversity == GENBO__DIVERSITY_ADAPTIVE && L > 0 && isfinite(U);
    for (size_t i = 0; i < m; i++) {
        double r = delta;
        if (adapt) {
            double lp = (U - (s->mu[i] - st->kappa * s->sd[i])) / L;
            if (isfinite(lp) && lp < r) r = lp > 0 ? lp : 0;
        }
        radius[i] = r;
    }
}

/* The local source: n points on the segments from the best ascent design
 * on the support (by a = mu - kappa sd) to its n nearest pool rows, the
 * j-th at distance r sqrt(j) from it (r its diversity radius; at most half
 * way to the row): room for a packed batch around the model's optimum,
 * made only when that radius is below delta (the model can tell designs
 * apart there more finely than the fixed rule) and the model is sure of
 * its batch (floor(q n) = 0, q as for the exploring share).
 * Segments between data stay on a linear support (subspace, simplex, box)
 * and close to a smooth one. *got = 0 when no ascent design is on the
 * support. */
static int local_candidates(const genbo__models *mm, const genbo__support *sup, size_t m,
                            const unsigned char *kind, const double *C, const scores *s,
                            const double *radius, double delta, size_t n, double *out,
                            size_t *got) {
    const size_t dim = mm->dim, nr = sup->n_ref;
    *got = 0;
    size_t best = m;
    double ba = -INFINITY;
    for (size_t i = 0; i < m; i++) {
        double a = s->mu[i] - mm->select.kappa * s->sd[i];
        if (kind[i] == GENBO__SOURCE_ASCENT && s->ratio[i] <= sup->ratio_max && isfinite(a) && a > ba)
            ba = a, best = i;
    }
    /* only where the model lets the batch pack: the radius there below
     * min_distance (an unsure model keeps its batch spread anyway) */
    if (best == m || nr == 0 || !(radius[best] > 0) || !(radius[best] < delta)) return GENBO_OK;
    const double *z0 = s->Z + best * dim, *x0 = C + best * dim;
    genbo__ranked *r = genbo__malloc(nr * sizeof *r);
    if (!r) return GENBO_ENOMEM;
    for (size_t q = 0; q < nr; q++) {
        double d2 = 0;
        for (size_t j = 0; j < dim; j++) {
            double d = sup->Z[q * dim + j] - z0[j];
            d2 += d * d;
        }
        r[q] = (genbo__ranked){-d2, q}; /* nearest first */
    }
    genbo__rank_desc(r, nr);
    size_t k = n < nr ? n : nr;
    for (size_t q = 0; q < k; q++) {
        double d = sqrt(-r[q].key);
        if (!(d > 0)) continue;
        double lam = radius[best] * sqrt((double)(q + 1)) / d;
        if (lam > 0.5) lam = 0.5;
        double *x = out + *got * dim;
        const double *zr = sup->Z + r[q].i * dim;
        for (size_t j = 0; j < dim; j++) {
            double xr = sup->mean[j] + sup->sd[j] * zr[j]; /* the pool row */
            x[j] = x0[j] + lam * (xr - x0[j]);
        }
        (*got)++;
    }
    free(r);
    return GENBO_OK;
}

/* kind[i]: the candidate's source (GENBO__SOURCE_*). Chooses n of the m
 * scored candidates (top of the file). */
static int select_batch(const genbo__models *mm, const genbo__support *sup, size_t m,
                        const double *C, const unsigned char *kind, const scores *s,
                        const double *radius, double delta, size_t n, uint64_t seed,
                        double *out) {
    const size_t dim = mm->dim;
    const genbo__select_settings *st = &mm->select;
    double *acq = genbo__malloc(2 * (m ? m : 1) * sizeof *acq), *opt = acq ? acq + m : NULL;
    size_t *chosen = genbo__malloc(n * sizeof *chosen);
    int rc = acq && chosen ? GENBO_OK : GENBO_ENOMEM;
    size_t n_exp = 0;
    double q = 0;
    if (!rc) {
        for (size_t i = 0; i < m; i++) {
            opt[i] = s->mu[i] + st->kappa * s->sd[i];
            acq[i] = s->mu[i] - st->kappa * s->sd[i];
        }
        q = explore_share(mm, m, n, acq, s->sd, s->ratio, sup->ratio_max);
        n_exp = (size_t)floor((q < st->explore ? q : st->explore) * (double)n);
        if (n_exp >= n) n_exp = n - 1;
        rc = genbo__select_radii(m, dim, s->Z, acq, s->ratio, sup->ratio_max, radius, delta,
                                 0, n - n_exp, chosen, NULL);
    }
    if (!rc && n_exp) { /* the exploring part, same support and diversity rules */
        if (st->explore_rule == GENBO__EXPLORE_UCB)
            rc = genbo__select_radii(m, dim, s->Z, opt, s->ratio, sup->ratio_max, radius, delta,
                                     n - n_exp, n, chosen, NULL);
        else {
            double scale = 1;
            if (genbo_reward_get_kind(mm->reward) == GENBO_REWARD_RIDGE)
                rc = residual_var(mm, &scale);
            if (!rc)
                rc = genbo__thompson_more(mm->reward, scale, m, dim, C, s->Z, s->mu, opt, s->ratio,
                                          sup->ratio_max, radius, delta, n - n_exp, n, seed,
                                          chosen);
        }
    }
    for (size_t k = 0; !rc && k < n; k++)
        memcpy(out + k * dim, C + chosen[k] * dim, dim * sizeof *out);
    if (!rc && mm->report) {
        memset(mm->report, 0, sizeof *mm->report);
        for (size_t k = 0; k < n; k++)
            for (int b = 0; b < GENBO__N_SOURCES; b++) mm->report->from[b] += kind[chosen[k]] == (1u << b);
        mm->report->n_explore = n_exp;
        mm->report->explore_q = q;
    }
    free(acq), free(chosen);
    return rc;
}

/* 1 if x is one of the n rows of L (exactly). */
static int is_row_of(const double *L, size_t n, size_t dim, const double *x) {
    for (size_t i = 0; L && i < n; i++) {
        const double *l = L + i * dim;
        size_t j = 0;
        while (j < dim && l[j] == x[j]) j++;
        if (j == dim) return 1;
    }
    return 0;
}

/* 1 if x is labelled or already told in this run (never proposed again). */
static int is_labelled(const genbo__models *mm, const double *x) {
    return is_row_of(mm->label_X, mm->n_label, mm->dim, x) ||
           is_row_of(mm->seen_X, mm->n_seen, mm->dim, x);
}

/* The pool source: the unlabelled pool designs (never one already
 * labelled) with the n highest mu - kappa s (for the pessimistic part) and
 * the GENBO__POOL_UCB x n highest mu + kappa s (for the exploring part,
 * enough for its diversity rule), each once, into out; *got = how many.
 * Pools over GENBO__POOL_SCAN rows: among the GENBO__POOL_SCAN rows with
 * the highest mean (the predictive sd is the costly part). */
#define GENBO__POOL_UCB 4
/* pools larger than this: only the rows with the highest mean are scored */
#define GENBO__POOL_SCAN 20000
static size_t pool_cap(size_t n) { return (1 + GENBO__POOL_UCB) * n; }
static int pool_candidates(const genbo__models *mm, size_t n, double *out, size_t *got) {
    const size_t np = mm->n_pool, dim = mm->dim;
    *got = 0;
    if (!mm->pool_X || np == 0) return GENBO_OK;
    double *mu = genbo__malloc(2 * np * sizeof *mu);
    genbo__ranked *r = genbo__malloc(np * sizeof *r);
    unsigned char *pick = genbo__calloc(np, 1);
    size_t *scan = genbo__malloc(np * sizeof *scan), ns = np;
    double *S = NULL;
    int rc = mu && r && pick && scan ? GENBO_OK : GENBO_ENOMEM;
    for (size_t i = 0; i < np && scan; i++) scan[i] = i;
    if (!rc && np > GENBO__POOL_SCAN) {
        /* a large pool: the predictive sd (O(n_label^2) per row for a GP)
         * only for the GENBO__POOL_SCAN rows with the highest mean */
        rc = genbo_reward_predict(mm->reward, np, mm->pool_X, mu, NULL);
        size_t m = 0;
        for (size_t i = 0; !rc && i < np; i++)
            if (isfinite(mu[i])) r[m++] = (genbo__ranked){mu[i], i};
        genbo__rank_desc(r, m);
        ns = m < GENBO__POOL_SCAN ? m : GENBO__POOL_SCAN;
        for (size_t q = 0; q < ns; q++) scan[q] = r[q].i;
        S = genbo__malloc((ns ? ns : 1) * dim * sizeof *S);
        if (!S) rc = GENBO_ENOMEM;
        for (size_t q = 0; !rc && q < ns; q++)
            memcpy(S + q * dim, mm->pool_X + scan[q] * dim, dim * sizeof *S);
    }
    if (!rc) rc = predictive(mm, ns, S ? S : mm->pool_X, mu, mu + np);
    size_t total = 0;
    for (int pass = 0; !rc && pass < 2; pass++) {
        double sign = pass ? 1.0 : -1.0;
        size_t m = 0, took = 0, want = pass ? GENBO__POOL_UCB * n : n;
        for (size_t q = 0; q < ns; q++) {
            double key = mu[q] + sign * mm->select.kappa * mu[np + q];
            if (isfinite(key)) r[m++] = (genbo__ranked){key, scan[q]};
        }
        genbo__rank_desc(r, m);
        for (size_t q = 0; q < m && took < want; q++) {
            if (pick[r[q].i] || is_labelled(mm, mm->pool_X + r[q].i * dim)) continue;
            pick[r[q].i] = 1;
            took++;
        }
        total += took;
    }
    for (size_t i = 0; !rc && i < np && *got < total; i++)
        if (pick[i]) memcpy(out + (*got)++ * dim, mm->pool_X + i * dim, dim * sizeof *out);
    free(mu), free(r), free(pick), free(scan), free(S);
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
                      unsigned char *moved, unsigned char *kind) {
    size_t off = 0;
    for (int k = 0; k < ns; k++) {
        uint64_t sk = stage == 0 && k == 0
                          ? seed
                          : seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(src[k] + 8u * (unsigned)stage));
        int rc = share[k] ? source_draw(mm, src[k], target, share[k], sk, C + off * mm->dim) : 0;
        if (rc) return genbo__fail_prefix(rc, "genbo: candidates");
        project_rows(g, mm->dim, share[k], C + off * mm->dim, moved + off);
        memset(kind + off, (int)src[k], share[k]);
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
    int sel = over > 1;
    if (!genbo__mul_ok(n, over, &M) || M > (size_t)1 << 28)
        return genbo__fail(GENBO_EINVAL, "genbo: %zu designs x oversample %zu is too many", n, over);
    unsigned src[8];
    int ns = 0;
    unsigned mask = st->sources ? st->sources : GENBO__SOURCE_GUIDED;
    unsigned extra = sel ? mask & (GENBO__SOURCE_ASCENT | GENBO__SOURCE_POOL) : 0;
    if (!(mask & GENBO__SOURCES_DIFFUSION) && !extra) mask |= GENBO__SOURCE_GUIDED;
    for (unsigned b = 1; b <= GENBO__SOURCE_REWEIGHTED; b <<= 1)
        if (mask & b) src[ns++] = b;
    if (!ns) M = 0; /* extra sources only */
    if (!mm->reward) return genbo__fail(GENBO_EINVAL, "genbo: needs a reward model");
    int local = (extra & GENBO__SOURCE_ASCENT) && (mask & GENBO__SOURCE_LOCAL);
    size_t cap = M + (extra & GENBO__SOURCE_ASCENT ? n : 0) + (extra & GENBO__SOURCE_POOL ? pool_cap(n) : 0) +
                 (local ? n : 0);
    double *C = !sel ? designs : genbo__malloc((cap ? cap : 1) * dim * sizeof *C);
    unsigned char *moved = genbo__calloc(cap ? 2 * cap : 2, 1), *kind = moved ? moved + cap : NULL;
    int rc = C && moved ? GENBO_OK : GENBO_ENOMEM;
    genbo__trust own; /* the data's default region when the study gives none */
    memset(&own, 0, sizeof own);
    if (!rc && !mm->trust) rc = genbo__trust_default(&own, dim, mm->label_X, mm->n_label, mm->pool_X, mm->n_pool);
    const genbo__trust *g = mm->trust ? mm->trust : &own;
    /* one stage (even split) without selection or with one source; else a
     * pilot of half the budget split evenly, then the rest by stage2_shares */
    int two = sel && ns > 1;
    size_t M1 = two ? M / 2 : M, share1[8], share2[8] = {0};
    for (int k = 0; k < ns; k++) share1[k] = M1 / (size_t)ns + (k == 0 ? M1 % (size_t)ns : 0);
    if (!rc) rc = draw_stage(mm, src, ns, share1, target, seed, 0, g, C, moved, kind);
    genbo__support sup;
    int have_sup = 0;
    if (!rc && sel) {
        rc = genbo__support_build(mm->pool_X, mm->n_pool, dim, seed ^ 0x5e1ec7u, &sup);
        have_sup = !rc;
    }
    if (!rc && two) stage2_shares(&sup, C, moved, share1, ns, M - M1, dim, share2, &rc);
    if (!rc && two)
        rc = draw_stage(mm, src, ns, share2, target, seed, 1, g, C + M1 * dim, moved + M1,
                        kind + M1);
    size_t m = M;
    if (!rc && (extra & GENBO__SOURCE_ASCENT)) {
        rc = genbo__surrogate_ascent_reward(mm->reward, mm->label_X, mm->label_y, mm->n_label,
                                            mm->pool_X, mm->n_pool, dim, n, mm->ascent_max_evals,
                                            C + m * dim);
        if (rc) rc = genbo__fail_prefix(rc, "genbo: ascent candidates");
        else {
            project_rows(g, dim, n, C + m * dim, moved + m);
            memset(kind + m, GENBO__SOURCE_ASCENT, n);
            m += n;
        }
    }
    if (!rc && (extra & GENBO__SOURCE_POOL)) {
        size_t got = 0;
        rc = pool_candidates(mm, n, C + m * dim, &got);
        if (rc) rc = genbo__fail_prefix(rc, "genbo: pool candidates");
        project_rows(g, dim, got, C + m * dim, moved + m);
        memset(kind + m, GENBO__SOURCE_POOL, got);
        m += got;
    }
    scores sc;
    memset(&sc, 0, sizeof sc);
    double *radius = NULL;
    if (!rc && sel) {
        rc = scores_alloc(&sc, cap, dim);
        radius = genbo__malloc((cap ? cap : 1) * sizeof *radius);
        if (!rc && !radius) rc = GENBO_ENOMEM;
    }
    double delta = st->min_distance > 0 && have_sup ? st->min_distance * sup.nn_spacing : 0;
    int adapt = st->diversity == GENBO__DIVERSITY_ADAPTIVE && delta > 0;
    if (!rc && sel) rc = score_rows(mm, &sup, C, moved, kind, 0, m, adapt, &sc);
    if (!rc && sel) radii(st, m, &sc, sup.ratio_max, delta, radius);
    if (!rc && sel && local) {
        /* pack only a batch the model is sure of: its relative uncertainty
         * q (the exploring share's, top of the file) would not buy a single
         * exploring design (floor(q n) = 0). A model unsure of its batch is
         * unsure where its optimum is, whatever its sd next to one design. */
        double *acq = genbo__malloc((m ? m : 1) * sizeof *acq);
        if (!acq) rc = GENBO_ENOMEM;
        for (size_t i = 0; !rc && i < m; i++) acq[i] = sc.mu[i] - st->kappa * sc.sd[i];
        if (!rc && floor(explore_share(mm, m, n, acq, sc.sd, sc.ratio, sup.ratio_max) * (double)n) > 0)
            local = 0;
        free(acq);
    }
    if (!rc && sel && local) {
        size_t got = 0;
        rc = local_candidates(mm, &sup, m, kind, C, &sc, radius, delta, n, C + m * dim, &got);
        if (!rc && got) {
            project_rows(g, dim, got, C + m * dim, moved + m);
            memset(kind + m, GENBO__SOURCE_LOCAL, got);
            rc = score_rows(mm, &sup, C, moved, kind, m, m + got, adapt, &sc);
            m += got;
            if (!rc) radii(st, m, &sc, sup.ratio_max, delta, radius);
        }
    }
    if (!rc && sel) rc = select_batch(mm, &sup, m, C, kind, &sc, radius, delta, n, seed, designs);
    scores_free(&sc);
    free(radius);
    if (have_sup) genbo__support_free(&sup);
    if (C != designs) free(C);
    genbo__trust_free(&own);
    free(moved);
    return rc;
}
