/* methods.c - see methods.h. */
#include "tests/support/methods.h"

#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "optimizer/methods.h"
#include "optimizer/metrics.h"
#include "optimizer/reweight.h"
#include "optimizer/trust.h"
#include "studies/config.h"
#include "studies/study.h"

struct genbo__support_trust {
    genbo__trust t;
};

const char *genbo__support_method(size_t i) {
    return i < GENBO__METHOD_COUNT ? genbo__method_name((genbo__method)i) : NULL;
}

/* The optimizer's model set of m (the support struct holds public types). */
static void to_models(const genbo__support_models *m, genbo__models *md) {
    memset(md, 0, sizeof *md);
    md->dim = m->dim;
    md->label_X = m->label_X, md->label_y = m->label_y, md->n_label = m->n_label;
    md->pool_X = m->pool_X, md->n_pool = m->n_pool;
    md->reward = m->reward, md->diffusion = m->diffusion, md->sample = m->sample;
    md->reweighted = m->reweighted;
    if (m->settings) genbo__config_select_settings(m->settings, &md->select);
}

int genbo__support_generate(const char *method, const genbo__support_models *m, double target, size_t n,
                            uint64_t seed, double *designs) {
    genbo__method id;
    int rc = genbo__method_from_name(method, &id);
    if (rc) return rc;
    genbo__models md;
    to_models(m, &md);
    return genbo__generate(id, &md, target, n, seed, designs);
}

int genbo__support_generate_trusted(const char *method, const genbo__support_models *m,
                                    const genbo__support_trust *t, double target, size_t n,
                                    uint64_t seed, double *designs, unsigned *flags,
                                    genbo__support_report *report) {
    genbo__method id;
    int rc = genbo__method_from_name(method, &id);
    if (rc) return rc;
    genbo__models md;
    to_models(m, &md);
    genbo__batch_report br = {{0}, 0, 0};
    md.trust = t ? &t->t : NULL;
    md.report = report ? &br : NULL;
    rc = genbo__generate_trusted(id, &md, md.trust, target, n, seed, designs, flags);
    if (report) {
        _Static_assert(sizeof report->from == sizeof br.from, "one count per source");
        for (int q = 0; q < GENBO__N_SOURCES; q++) report->from[q] = br.from[q];
        report->n_explore = br.n_explore;
        report->explore_q = br.explore_q;
    }
    return rc;
}

void genbo__support_config_params(const genbo_config *c, genbo_reward_params *rp,
                                  genbo_diffusion_params *dp, genbo_sample_params *sp) {
    if (rp) genbo__config_reward_params(c, rp);
    if (dp) genbo__config_diffusion_params(c, dp);
    if (sp) genbo__config_sample_params(c, sp);
}

int genbo__support_trust_new(size_t dim, const double *A, size_t nA, const double *B, size_t nB,
                             double margin, const unsigned char *simplex, genbo__support_trust **out) {
    *out = NULL;
    genbo__support_trust *t = genbo__calloc(1, sizeof *t);
    if (!t) return GENBO_ENOMEM;
    int rc = genbo__trust_init(&t->t, dim, A, nA, B, nB, margin, NULL, NULL, simplex);
    if (rc) free(t);
    else *out = t;
    return rc;
}

unsigned genbo__support_trust_check(const genbo__support_trust *t, const double *x) {
    return genbo__trust_check(&t->t, x);
}

void genbo__support_trust_free(genbo__support_trust *t) {
    if (!t) return;
    genbo__trust_free(&t->t);
    free(t);
}

int genbo__support_resolve_target(const char *spec, const double *pseudo, size_t n, double *out) {
    genbo__target t;
    const char *why = NULL;
    if (genbo__parse_target(spec, &t, &why)) return genbo__fail(GENBO_EINVAL, "target '%s': %s", spec, why);
    *out = genbo__resolve_target(&t, pseudo, n);
    return GENBO_OK;
}

int genbo__support_ddom_weights(size_t n, const double *y, double percentile, double *w) {
    return genbo__ddom_weights(n, y, percentile, w);
}

int genbo__support_batch_metrics(size_t n, size_t dim, const double *X, double target, const double *y_true,
                                 const double *support, genbo__support_batch *out) {
    genbo__metrics_input in = {0};
    in.n = n, in.dim = dim, in.X = X, in.target = target;
    in.y_true = y_true, in.support = support;
    genbo__metrics mt;
    int rc = genbo__metrics_compute(&in, &mt);
    if (rc) return rc;
    out->subopt = mt.subopt;
    out->true_mean = mt.true_mean;
    out->true_best = mt.true_best;
    out->support = mt.support;
    out->diversity = mt.diversity;
    return GENBO_OK;
}

double genbo__support_percentile(const double *v, size_t n, double q) { return genbo__percentile(v, n, q); }
