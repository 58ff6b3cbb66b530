/* tasks.h - internals of the synthetic tasks (not installed): the curved
 * task's constants and the task's state. What tests and benchmarks read of
 * it (the true subspace, reward direction, spread) is in the support
 * library, tests/support/task_view.h. */
#ifndef GENBO_TASKS_H
#define GENBO_TASKS_H

#include <stddef.h>
#include <stdint.h>

#include "datasets/manifold.h"
#include "genbo.h"

/* GENBO_TASK_CURVED_MANIFOLD's constants (docs/datasets.md):
 * f*(x) = c - 1/2 ||A^T x - z*||^2 - PENALTY dist(x)^2, with
 * z* = phi(u*) + OFFSET n* (||u*|| = USTAR_NORM, n* a unit normal of the
 * manifold at phi(u*)) and c such that the best design on the manifold
 * scores OPTIMUM. */
#define GENBO__CURVED_PENALTY 10.0
#define GENBO__CURVED_OFFSET 0.5
#define GENBO__CURVED_USTAR_NORM 0.5
#define GENBO__CURVED_OPTIMUM 2.0

/* The task's state (tasks.c builds it; the support library's accessors,
 * tests/support/task_view.h, read it for tests and benchmarks). */
struct genbo_task {
    genbo_task_params p;
    size_t D;
    /* subspace tasks */
    size_t d;
    double *A;      /* D x d */
    double *beta;   /* d */
    double *zstar;  /* d (quadratic) */
    double c;       /* quadratic offset */
    /* linear reward direction: subspace linear and GP */
    double *theta;  /* D */
    /* GP sequences */
    size_t N, m;
    double *Gamma, *Lambda; /* N x N, m x m */
    double *LG, *LL;        /* their lower Cholesky factors */
    double radius;          /* Mahalanobis radius of the support */
    /* curved manifold (zstar, c above are its reward's) */
    genbo__manifold mf;
    double *ustar;          /* k: parameter of the best valid design */
    double mean, sd;        /* of f* on the data */
};

#endif
