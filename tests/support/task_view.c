/* task_view.c - see task_view.h: read-only accessors over the task's state
 * (datasets/tasks.h), used only by tests and benchmarks. */
#include "tests/support/task_view.h"

#include "datasets/manifold.h"
#include "datasets/tasks.h"

const genbo_task_params *genbo__task_params(const genbo_task *t) { return &t->p; }

const double *genbo__task_basis(const genbo_task *t, size_t *d) {
    if (d) *d = t->d;
    return t->A;
}

const double *genbo__task_theta(const genbo_task *t) { return t->theta; }

const double *genbo__task_zstar(const genbo_task *t, double *c) {
    if (c) *c = t->c;
    return t->zstar;
}

double genbo__task_reward_mean(const genbo_task *t) { return t->mean; }
double genbo__task_reward_sd(const genbo_task *t) { return t->sd; }

const double *genbo__task_gp_gamma(const genbo_task *t, size_t *N) {
    if (N) *N = t->N;
    return t->Gamma;
}

const double *genbo__task_gp_lambda(const genbo_task *t, size_t *m) {
    if (m) *m = t->m;
    return t->Lambda;
}

double genbo__task_gp_radius(const genbo_task *t) { return t->radius; }

const genbo__manifold *genbo__task_manifold(const genbo_task *t, const double **ustar) {
    if (t->p.kind != GENBO_TASK_CURVED_MANIFOLD) return NULL;
    if (ustar) *ustar = t->ustar;
    return &t->mf;
}
