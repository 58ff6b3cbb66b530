/* manifold.c - a curved k-dimensional manifold in R^d (the graph of
 * u -> sin(W u + b)) and its distance function.
 *
 * Projection. For z = (a, s), a in R^k, the squared distance is
 *   F(u) = ||u - a||^2 + ||sin(W u + b) - s||^2,  minimised over u.
 * The residual's Jacobian is J = [I; C W] with C = diag(cos(W u + b)), so
 * the Gauss-Newton matrix J^T J = I + W^T C^2 W has every eigenvalue >= 1:
 * each step is a well-conditioned k x k solve, with step halving until F
 * decreases. Since F(u*) <= F(a), the nearest point satisfies
 * ||u* - a|| <= R = sqrt(F(a)): the search starts from a and from the 2k
 * points a +- (R/2) e_i of that ball, and keeps the best. On the data and
 * near it (R small against the sines' period) the problem is convex and
 * the first start already converges to the exact projection; far off it,
 * where several local minima exist, the best of the starts is a tight
 * upper bound (tests/test_tasks.c checks it against a dense search). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "datasets/manifold.h"

#define GN_MAX_ITER 100
#define GN_MAX_HALVINGS 40

int genbo__manifold_init(genbo__manifold *m, size_t d, size_t k, uint64_t seed,
                         uint64_t stream_w, uint64_t stream_b) {
    memset(m, 0, sizeof *m);
    if (k < 1 || k >= d)
        return genbo__fail(GENBO_EINVAL, "task: need 1 <= manifold_dim < d (got %zu, d = %zu)", k,
                           d);
    size_t c = d - k;
    m->d = d;
    m->k = k;
    m->W = genbo__malloc(c * k * sizeof(double));
    m->b = genbo__malloc(c * sizeof(double));
    if (!m->W || !m->b) {
        genbo__manifold_clear(m);
        return GENBO_ENOMEM;
    }
    genbo__rng r;
    genbo__rng_seed(&r, seed, stream_w);
    double scale = GENBO__MANIFOLD_FREQ / sqrt((double)k);
    for (size_t i = 0; i < c * k; i++) m->W[i] = scale * genbo__rng_normal(&r);
    genbo__rng_seed(&r, seed, stream_b);
    for (size_t j = 0; j < c; j++) m->b[j] = 2.0 * M_PI * genbo__rng_uniform(&r);
    return GENBO_OK;
}

void genbo__manifold_clear(genbo__manifold *m) {
    free(m->W);
    free(m->b);
    m->W = m->b = NULL;
}

void genbo__manifold_map(const genbo__manifold *m, const double *u, double *z) {
    size_t k = m->k, c = m->d - k;
    memcpy(z, u, k * sizeof(double));
    for (size_t j = 0; j < c; j++) {
        double a = m->b[j];
        for (size_t i = 0; i < k; i++) a += m->W[j * k + i] * u[i];
        z[k + j] = sin(a);
    }
}

void genbo__manifold_jacobian(const genbo__manifold *m, const double *u, double *J) {
    size_t k = m->k, c = m->d - k;
    memset(J, 0, m->d * k * sizeof(double));
    for (size_t i = 0; i < k; i++) J[i * k + i] = 1.0;
    for (size_t j = 0; j < c; j++) {
        double a = m->b[j];
        for (size_t i = 0; i < k; i++) a += m->W[j * k + i] * u[i];
        double cs = cos(a);
        for (size_t i = 0; i < k; i++) J[(k + j) * k + i] = cs * m->W[j * k + i];
    }
}

/* F(u) for z = (a, s); the sine residuals and cosines into res/cs (c each). */
static double objective(const genbo__manifold *m, const double *z, const double *u, double *res,
                        double *cs) {
    size_t k = m->k, c = m->d - k;
    double f = 0;
    for (size_t i = 0; i < k; i++) f += (u[i] - z[i]) * (u[i] - z[i]);
    for (size_t j = 0; j < c; j++) {
        double a = m->b[j];
        for (size_t i = 0; i < k; i++) a += m->W[j * k + i] * u[i];
        res[j] = sin(a) - z[k + j];
        if (cs) cs[j] = cos(a);
        f += res[j] * res[j];
    }
    return f;
}

/* Solve the k x k SPD system N x = g in place (Cholesky; N >= I here). */
static void spd_solve(double *N, double *g, size_t k) {
    for (size_t j = 0; j < k; j++) {
        double s = N[j * k + j];
        for (size_t p = 0; p < j; p++) s -= N[j * k + p] * N[j * k + p];
        double l = sqrt(s > 1e-300 ? s : 1e-300);
        N[j * k + j] = l;
        for (size_t i = j + 1; i < k; i++) {
            double t = N[i * k + j];
            for (size_t p = 0; p < j; p++) t -= N[i * k + p] * N[j * k + p];
            N[i * k + j] = t / l;
        }
    }
    for (size_t i = 0; i < k; i++) { /* L y = g */
        double t = g[i];
        for (size_t p = 0; p < i; p++) t -= N[i * k + p] * g[p];
        g[i] = t / N[i * k + i];
    }
    for (size_t i = k; i-- > 0;) { /* L^T x = y */
        double t = g[i];
        for (size_t p = i + 1; p < k; p++) t -= N[p * k + i] * g[p];
        g[i] = t / N[i * k + i];
    }
}

/* Gauss-Newton from u (in place); returns F at the end. work: 4k + k^2 + 2c. */
static double descend(const genbo__manifold *m, const double *z, double *u, double *work) {
    size_t k = m->k, c = m->d - k;
    double *res = work, *cs = res + c, *g = cs + c, *N = g + k, *ut = N + k * k;
    double f = objective(m, z, u, res, cs);
    for (int it = 0; it < GN_MAX_ITER && f > 0; it++) {
        /* g = J^T r, N = J^T J */
        for (size_t i = 0; i < k; i++) g[i] = u[i] - z[i];
        memset(N, 0, k * k * sizeof(double));
        for (size_t i = 0; i < k; i++) N[i * k + i] = 1.0;
        for (size_t j = 0; j < c; j++) {
            const double *w = m->W + j * k;
            double cr = cs[j] * res[j], c2 = cs[j] * cs[j];
            for (size_t i = 0; i < k; i++) {
                g[i] += cr * w[i];
                for (size_t p = 0; p <= i; p++) N[i * k + p] += c2 * w[i] * w[p];
            }
        }
        for (size_t i = 0; i < k; i++)
            for (size_t p = i + 1; p < k; p++) N[i * k + p] = N[p * k + i];
        spd_solve(N, g, k); /* g <- Gauss-Newton step (to subtract) */
        double step = 1.0, fn = f, un = 0, gn = 0;
        for (size_t i = 0; i < k; i++) {
            un += u[i] * u[i];
            gn += g[i] * g[i];
        }
        int moved = 0;
        for (int h = 0; h < GN_MAX_HALVINGS; h++, step *= 0.5) {
            for (size_t i = 0; i < k; i++) ut[i] = u[i] - step * g[i];
            fn = objective(m, z, ut, res, cs);
            if (fn < f) {
                moved = 1;
                break;
            }
        }
        if (!moved) {
            objective(m, z, u, res, cs); /* restore res/cs at u */
            break;
        }
        memcpy(u, ut, k * sizeof(double));
        double df = f - fn;
        f = fn;
        if (step * sqrt(gn) <= 1e-14 * (1.0 + sqrt(un)) || df <= 1e-16 * f) break;
    }
    return f;
}

double genbo__manifold_project(const genbo__manifold *m, const double *z, double *u_out) {
    size_t k = m->k, c = m->d - k;
    /* small k (the task allows k < d <= 4096): stack buffers when they fit */
    double stack[512];
    size_t need = 2 * k + 4 * k + k * k + 2 * c;
    double *buf = need <= sizeof stack / sizeof *stack ? stack : malloc(need * sizeof(double));
    if (!buf) return NAN;
    double *best = buf, *u = best + k, *work = u + k;
    memcpy(best, z, k * sizeof(double));
    double fbest = descend(m, z, best, work);
    double R = sqrt(objective(m, z, z, work, NULL)); /* ball containing u* */
    if (R > 1e-9) {
        for (size_t i = 0; i < 2 * k; i++) {
            memcpy(u, z, k * sizeof(double));
            u[i / 2] += (i % 2 ? -0.5 : 0.5) * R;
            double f = descend(m, z, u, work);
            if (f < fbest) {
                fbest = f;
                memcpy(best, u, k * sizeof(double));
            }
        }
    }
    if (u_out) memcpy(u_out, best, k * sizeof(double));
    if (buf != stack) free(buf);
    return fbest;
}
