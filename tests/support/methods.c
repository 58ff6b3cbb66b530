/* methods.c - see methods.h. */
#include "tests/support/methods.h"

#include "optimizer/methods.h"
#include "optimizer/metrics.h"

const char *genbo__support_method(size_t i) {
    return i < GENBO__METHOD_COUNT ? genbo__method_name((genbo__method)i) : NULL;
}

int genbo__support_generate(const char *method, const genbo__support_models *m, double target, size_t n,
                            uint64_t seed, double *designs) {
    genbo__method id;
    int rc = genbo__method_from_name(method, &id);
    if (rc) return rc;
    genbo__models md = {0};
    md.dim = m->dim;
    md.label_X = m->label_X, md.label_y = m->label_y, md.n_label = m->n_label;
    md.pool_X = m->pool_X, md.n_pool = m->n_pool;
    md.reward = m->reward, md.diffusion = m->diffusion, md.sample = m->sample;
    return genbo__generate(id, &md, target, n, seed, designs);
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
