/* manifold.h - the curved manifold of GENBO_TASK_CURVED_MANIFOLD, in the
 * coordinates z of its d-dimensional subspace (internal).
 *
 * The manifold is the graph of a smooth map of u in R^k:
 *   phi(u) = (u, sin(W u + b)) in R^d,  W (d - k) x k,  b in [0, 2 pi)^(d-k)
 * so it is k-dimensional, curved (the sines bend it on the scale of the
 * data) and has no self-intersections. Its distance function is computed
 * by Gauss-Newton projection (see manifold.c for why that is accurate). */
#ifndef GENBO_MANIFOLD_H
#define GENBO_MANIFOLD_H

#include <stddef.h>
#include <stdint.h>

typedef struct genbo__manifold {
    size_t d, k;
    double *W;  /* (d - k) x k, row-major */
    double *b;  /* d - k */
} genbo__manifold;

/* Random W (rows ~ N(0, I_k) scaled to norm ~ GENBO__MANIFOLD_FREQ) and b
 * from the RNG streams `stream_w` and `stream_b` of `seed`. 1 <= k < d. */
int genbo__manifold_init(genbo__manifold *m, size_t d, size_t k, uint64_t seed,
                         uint64_t stream_w, uint64_t stream_b);
void genbo__manifold_clear(genbo__manifold *m);

/* z = phi(u) (u: k, z: d). */
void genbo__manifold_map(const genbo__manifold *m, const double *u, double *z);

/* J = d phi / d u at u (d x k, row-major). */
void genbo__manifold_jacobian(const genbo__manifold *m, const double *u, double *J);

/* Squared Euclidean distance from z (length d) to the manifold; the
 * parameter of the nearest point found goes to u_out (may be NULL). */
double genbo__manifold_project(const genbo__manifold *m, const double *z, double *u_out);

/* Typical frequency ||w_j|| of the sines: the manifold turns by about
 * 1.5 radians per unit of u, and u has sd 1 on the data. */
#define GENBO__MANIFOLD_FREQ 1.5

#endif
