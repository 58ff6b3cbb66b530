/* tasks.c - synthetic design tasks with a known true reward and a known
 * support, so SubOpt(a) and the support distance can be computed exactly.
 *
 * Subspace tasks: x = A z, A (D x d) with orthonormal columns (QR of a
 * Gaussian matrix), z ~ N(0, I_d). The data live on a d-dimensional
 * subspace, and the support distance is the relative norm of the part of
 * x outside it.
 * Curved manifold: x = A phi(u), phi(u) = (u, sin(W u + b)) in R^d, u ~
 * N(0, I_k) (datasets/manifold.c): a curved k-dimensional manifold inside
 * the same kind of subspace. The oracle penalises the squared Euclidean
 * distance to it, which is also the support distance.
 * GP sequences: x = vec(L_Gamma Z L_Lambda^T) (row-major, time-major), a
 * full-rank Gaussian with covariance Gamma (x) Lambda; the support distance
 * is the Mahalanobis radius in excess of what the data ever reach.
 *
 * Random streams (core RNG) are fixed per purpose, so changing one knob
 * (say off_ratio) does not change the rest of the task:
 *   task seed: 1 = A, 2 = beta, 3 = theta_perp, 4 = z* (curved: u*),
 *   5 = Lambda, 6 = w, 7 = W, 8 = b, 9 = the normal offset of z*,
 *   10 = the Monte Carlo moments of the curved task's reward
 *   sample/split seed: 0 = genbo_task_sample, 1 = labelled designs,
 *   2 = label noise, 3 = pool designs. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/fields.h"
#include "datasets/dataset.h"
#include "datasets/manifold.h"
#include "datasets/tasks.h"

enum {
    STREAM_A = 1, STREAM_BETA, STREAM_PERP, STREAM_ZSTAR, STREAM_LAMBDA, STREAM_W,
    STREAM_MW, STREAM_MB, STREAM_NORMAL, STREAM_MOMENTS
};
enum { SPLIT_SAMPLE = 0, SPLIT_LABELLED, SPLIT_NOISE, SPLIT_POOL };

/* Jitter on Gamma's diagonal: an RBF Gram matrix over a regular grid is
 * numerically singular for long lengthscales. */
#define GP_JITTER 1e-6
/* Rows (subspace) / sequences (GP) processed per BLAS call. */
#define CHUNK_ROWS 4096
#define CHUNK_SEQS 256


void genbo_task_params_default(genbo_task_params *p) {
    memset(p, 0, sizeof *p);
    p->kind = GENBO_TASK_SUBSPACE_LINEAR;
    p->D = 64;
    p->d = 16;
    p->off_ratio = 0.0;
    p->noise_sd = 0.1;
    p->seq_len = 16;
    p->seq_dim = 4;
    p->lengthscale = 3.0;
    p->seed = 1;
    p->manifold_dim = 3;
}

void genbo_task_free(genbo_task *t) {
    if (!t) return;
    free(t->A);
    free(t->beta);
    free(t->zstar);
    free(t->theta);
    free(t->Gamma);
    free(t->Lambda);
    free(t->LG);
    free(t->LL);
    free(t->ustar);
    genbo__manifold_clear(&t->mf);
    free(t);
}

static void fill_normal(genbo__rng *r, double *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = genbo__rng_normal(r);
}

static double norm2(const double *x, size_t n) { return cblas_dnrm2((int)n, x, 1); }

/* A: orthonormal columns from the QR factorisation of a Gaussian D x d. */
static int make_basis(genbo_task *t) {
    size_t D = t->D, d = t->d;
    genbo__rng r;
    genbo__rng_seed(&r, t->p.seed, STREAM_A);
    double *tau = genbo__malloc(d * sizeof *tau);
    if (!tau) return GENBO_ENOMEM;
    fill_normal(&r, t->A, D * d);
    int info = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, (int)D, (int)d, t->A, (int)d, tau);
    if (info == 0) info = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, (int)D, (int)d, (int)d, t->A, (int)d, tau);
    free(tau);
    if (info != 0)
        return genbo__fail(GENBO_ENUMERIC, "task: QR of the basis failed (LAPACK info %d)", info);
    return GENBO_OK;
}

/* Random unit vector of length n from stream `stream`. */
static void unit_vector(uint64_t seed, uint64_t stream, double *v, size_t n) {
    genbo__rng r;
    genbo__rng_seed(&r, seed, stream);
    double s;
    do {
        fill_normal(&r, v, n);
        s = norm2(v, n);
    } while (s == 0.0);
    cblas_dscal((int)n, 1.0 / s, v, 1);
}

static int make_subspace(genbo_task *t) {
    size_t D = t->D, d = t->d;
    t->A = genbo__malloc(D * d * sizeof(double));
    t->beta = genbo__malloc(d * sizeof(double));
    if (!t->A || !t->beta) return GENBO_ENOMEM;
    int rc = make_basis(t);
    if (rc) return rc;
    /* beta unit-norm: theta^T x = beta^T z has sd exactly 1 on the data. */
    unit_vector(t->p.seed, STREAM_BETA, t->beta, d);
    if (t->p.kind == GENBO_TASK_SUBSPACE_LINEAR) {
        t->theta = genbo__malloc(D * sizeof(double));
        if (!t->theta) return GENBO_ENOMEM;
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)D, (int)d, 1.0, t->A, (int)d, t->beta, 1,
                    0.0, t->theta, 1);
        if (t->p.off_ratio > 0) {
            /* theta_perp: a Gaussian vector with its part in span(A) removed
             * (twice, for orthogonality to rounding), scaled to
             * off_ratio * ||A beta|| = off_ratio. */
            double *v = genbo__malloc(D * sizeof(double));
            double *z = genbo__malloc(d * sizeof(double));
            if (!v || !z) {
                free(v);
                free(z);
                return GENBO_ENOMEM;
            }
            genbo__rng r;
            genbo__rng_seed(&r, t->p.seed, STREAM_PERP);
            double s = 0;
            while (s < 1e-8) {
                fill_normal(&r, v, D);
                for (int pass = 0; pass < 2; pass++) {
                    cblas_dgemv(CblasRowMajor, CblasTrans, (int)D, (int)d, 1.0, t->A, (int)d, v,
                                1, 0.0, z, 1);
                    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)D, (int)d, -1.0, t->A, (int)d,
                                z, 1, 1.0, v, 1);
                }
                s = norm2(v, D);
            }
            cblas_daxpy((int)D, t->p.off_ratio / s, v, 1, t->theta, 1);
            free(v);
            free(z);
        }
        t->mean = 0.0;
        t->sd = 1.0;
    } else {
        t->zstar = genbo__malloc(d * sizeof(double));
        if (!t->zstar) return GENBO_ENOMEM;
        unit_vector(t->p.seed, STREAM_ZSTAR, t->zstar, d);
        /* ||z - z*||^2 is noncentral chi-square (d dof, noncentrality
         * ||z*||^2 = 1): mean d + 1, variance 2 (d + 2). c = (d + 1) / 2
         * centres the reward at 0; its sd is sqrt((d + 2) / 2). */
        t->c = 0.5 * (double)(d + 1);
        t->mean = 0.0;
        t->sd = sqrt(0.5 * (double)(d + 2));
    }
    return GENBO_OK;
}

/* Curved manifold: A, the manifold, z* = phi(u*) + H n* with n* a unit
 * normal at phi(u*), and c chosen so the best valid design scores exactly
 * GENBO__CURVED_OPTIMUM. The quadratic's own peak z* lies off the manifold:
 * ascending it leaves the valid designs, which the penalty punishes. */
static int make_curved(genbo_task *t) {
    size_t D = t->D, d = t->d, k = (size_t)t->p.manifold_dim;
    int rc = genbo__manifold_init(&t->mf, d, k, t->p.seed, STREAM_MW, STREAM_MB);
    if (rc) return rc;
    t->A = genbo__malloc(D * d * sizeof(double));
    t->zstar = genbo__malloc(d * sizeof(double));
    t->ustar = genbo__malloc(k * sizeof(double));
    double *J = genbo__malloc(d * k * sizeof(double)), *nv = genbo__malloc(d * sizeof(double));
    if (!t->A || !t->zstar || !t->ustar || !J || !nv) {
        rc = GENBO_ENOMEM;
        goto done;
    }
    if ((rc = make_basis(t))) goto done;
    unit_vector(t->p.seed, STREAM_ZSTAR, t->ustar, k);
    cblas_dscal((int)k, GENBO__CURVED_USTAR_NORM, t->ustar, 1);
    genbo__manifold_map(&t->mf, t->ustar, t->zstar);
    /* n*: a Gaussian vector minus its part in the tangent space (columns
     * of J, orthonormalised by Gram-Schmidt, twice for rounding) */
    genbo__manifold_jacobian(&t->mf, t->ustar, J);
    genbo__orthonormalise(d, k, J, 2);
    genbo__rng r;
    genbo__rng_seed(&r, t->p.seed, STREAM_NORMAL);
    double nn = 0;
    while (nn < 1e-8) {
        fill_normal(&r, nv, d);
        for (int pass = 0; pass < 2; pass++)
            for (size_t a = 0; a < k; a++) {
                double s = 0;
                for (size_t i = 0; i < d; i++) s += J[i * k + a] * nv[i];
                for (size_t i = 0; i < d; i++) nv[i] -= s * J[i * k + a];
            }
        nn = norm2(nv, d);
    }
    cblas_daxpy((int)d, GENBO__CURVED_OFFSET / nn, nv, 1, t->zstar, 1);
    /* the nearest manifold point to z* is the best valid design (phi(u*)
     * itself unless the manifold comes back closer) */
    double h2 = genbo__manifold_project(&t->mf, t->zstar, t->ustar);
    if (!isfinite(h2)) {
        rc = GENBO_ENOMEM;
        goto done;
    }
    t->c = GENBO__CURVED_OPTIMUM + 0.5 * h2;
    /* mean and sd of f* on the data: no closed form, Monte Carlo with a
     * fixed stream (on the data the penalty is 0) */
    {
        enum { NMC = 1 << 15 };
        double *u = J, *z = nv, s = 0, s2 = 0; /* reuse: k <= d */
        genbo__rng_seed(&r, t->p.seed, STREAM_MOMENTS);
        for (int i = 0; i < NMC; i++) {
            fill_normal(&r, u, k);
            genbo__manifold_map(&t->mf, u, z);
            double e = 0;
            for (size_t j = 0; j < d; j++) e += (z[j] - t->zstar[j]) * (z[j] - t->zstar[j]);
            double f = t->c - 0.5 * e;
            s += f;
            s2 += f * f;
        }
        t->mean = s / NMC;
        t->sd = sqrt(fmax(0.0, s2 / NMC - t->mean * t->mean));
    }
done:
    free(J);
    free(nv);
    return rc;
}

static int cholesky(double *L, const double *S, size_t n, const char *what) {
    memcpy(L, S, n * n * sizeof(double));
    int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (int)n, L, (int)n);
    if (info != 0)
        return genbo__fail(GENBO_ENUMERIC, "task: %s is not positive definite (info %d)", what,
                           info);
    for (size_t i = 0; i < n; i++) /* clear the untouched upper triangle */
        for (size_t j = i + 1; j < n; j++) L[i * n + j] = 0.0;
    return GENBO_OK;
}

static int make_gp(genbo_task *t) {
    size_t N = t->N, m = t->m, D = t->D;
    t->Gamma = genbo__malloc(N * N * sizeof(double));
    t->LG = genbo__malloc(N * N * sizeof(double));
    t->Lambda = genbo__malloc(m * m * sizeof(double));
    t->LL = genbo__malloc(m * m * sizeof(double));
    t->theta = genbo__malloc(D * sizeof(double));
    double *B = genbo__malloc(m * m * sizeof(double));
    double *w = genbo__malloc(m * sizeof(double));
    int rc = GENBO_OK;
    if (!t->Gamma || !t->LG || !t->Lambda || !t->LL || !t->theta || !B || !w) {
        rc = GENBO_ENOMEM;
        goto done;
    }
    /* Gamma: RBF kernel over time steps 0..N-1 (lengthscale in steps). */
    double l = t->p.lengthscale;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            double dt = (double)i - (double)j;
            t->Gamma[i * N + j] = exp(-0.5 * dt * dt / (l * l)) + (i == j ? GP_JITTER : 0.0);
        }
    /* Lambda = (B B^T / m + I) / 2 with B Gaussian: SPD, diagonal ~ 1. */
    genbo__rng r;
    genbo__rng_seed(&r, t->p.seed, STREAM_LAMBDA);
    fill_normal(&r, B, m * m);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)m, (int)m, 0.5 / (double)m,
                B, (int)m, B, (int)m, 0.0, t->Lambda, (int)m);
    for (size_t i = 0; i < m; i++) t->Lambda[i * m + i] += 0.5;
    for (size_t i = 0; i < m; i++) /* exact symmetry for the test and potrf */
        for (size_t j = 0; j < i; j++) t->Lambda[j * m + i] = t->Lambda[i * m + j];
    rc = cholesky(t->LG, t->Gamma, N, "the time covariance Gamma");
    if (!rc) rc = cholesky(t->LL, t->Lambda, m, "Lambda");
    if (rc) goto done;
    /* Reward: mean over time of w^T x_t, i.e. g^T x with g = (1/N) 1 (x) w.
     * Var = (1^T Gamma 1)(w^T Lambda w) / N^2; w is scaled so it is 1. */
    unit_vector(t->p.seed, STREAM_W, w, m);
    double sG = 0, wLw = 0;
    for (size_t i = 0; i < N * N; i++) sG += t->Gamma[i];
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < m; j++) wLw += w[i] * t->Lambda[i * m + j] * w[j];
    double scale = (double)N / sqrt(sG * wLw);
    for (size_t s = 0; s < N; s++)
        for (size_t k = 0; k < m; k++) t->theta[s * m + k] = scale * w[k] / (double)N;
    t->mean = 0.0;
    t->sd = 1.0;
    /* x^T C^{-1} x ~ chi-square(D) on the data. Off the support = beyond
     * its quantile at z = 5 (Wilson-Hilferty; tail probability ~3e-7). */
    double k9 = 2.0 / (9.0 * (double)D);
    double q = (double)D * pow(1.0 - k9 + 5.0 * sqrt(k9), 3.0);
    t->radius = sqrt(q);
done:
    free(B);
    free(w);
    return rc;
}

/* The range of every settable field and the task names (the one list):
 * genbo_task_create and the study file's [data] keys (studies/config.c)
 * both read this table. Rules between fields (d <= D, manifold_dim < d,
 * seq_len x seq_dim) stay in genbo_task_create. */
#define TF(name, type, lo, hi, flags, words) \
    {#name, GENBO__FIELD_##type, offsetof(genbo_task_params, name), lo, hi, flags, words}
static const genbo__field task_rows[] = {
    TF(kind, ENUM, 0, 0, 0, "subspace_linear|subspace_quadratic|gp_sequence|curved_manifold"),
    TF(D, INT, 1, 1 << 20, 0, NULL),
    TF(d, INT, 1, 1 << 20, 0, NULL),
    TF(off_ratio, DOUBLE, 0, GENBO__FIELD_NOMAX, 0, NULL),
    TF(noise_sd, DOUBLE, 0, GENBO__FIELD_NOMAX, 0, NULL),
    TF(seq_len, INT, 1, 4096, 0, NULL),
    TF(seq_dim, INT, 1, 4096, 0, NULL),
    TF(lengthscale, DOUBLE, 0, GENBO__FIELD_NOMAX, GENBO__FIELD_MIN_OPEN, NULL),
    TF(seed, U64, 0, 0, 0, NULL),
    TF(manifold_dim, INT, 1, (1 << 20) - 1, 0, NULL),
};
#undef TF
const genbo__fields genbo__task_fields = GENBO__FIELDS("task", task_rows);

int genbo__task_check_params(const genbo_task_params *p) {
    /* The fields this kind reads, against the table above. */
    static const char *const subspace[] = {"noise_sd", "D", "d", "off_ratio", NULL};
    static const char *const curved[] = {"noise_sd", "D", "d", "off_ratio", "manifold_dim", NULL};
    static const char *const gp[] = {"noise_sd", "seq_len", "seq_dim", "lengthscale", NULL};
    int rc = genbo__field_check_named(&genbo__task_fields, "kind", p);
    if (rc) return rc;
    const char *const *used = p->kind == GENBO_TASK_GP_SEQUENCE    ? gp
                              : p->kind == GENBO_TASK_CURVED_MANIFOLD ? curved
                                                                      : subspace;
    for (int i = 0; used[i]; i++)
        if ((rc = genbo__field_check_named(&genbo__task_fields, used[i], p))) return rc;
    return GENBO_OK;
}

int genbo_task_create(const genbo_task_params *p, genbo_task **out) {
    if (!p || !out) return genbo__fail(GENBO_EINVAL, "genbo_task_create: NULL argument");
    *out = NULL;
    int rc = genbo__task_check_params(p);
    if (rc) return rc;
    genbo_task *t = genbo__calloc(1, sizeof *t);
    if (!t) return GENBO_ENOMEM;
    t->p = *p;
    switch (p->kind) {
    case GENBO_TASK_SUBSPACE_LINEAR:
    case GENBO_TASK_SUBSPACE_QUADRATIC:
    case GENBO_TASK_CURVED_MANIFOLD:
        if (p->d > p->D) {
            rc = genbo__fail(GENBO_EINVAL, "task: need 1 <= d <= D <= 2^20 (got D=%d, d=%d)",
                             p->D, p->d);
            break;
        }
        if (p->off_ratio > 0 && p->d == p->D) {
            rc = genbo__fail(GENBO_EINVAL, "task: off_ratio > 0 needs d < D (got d = D = %d)",
                             p->D);
            break;
        }
        if (p->kind == GENBO_TASK_CURVED_MANIFOLD && p->manifold_dim >= p->d) {
            rc = genbo__fail(GENBO_EINVAL, "task: need 1 <= manifold_dim < d (got %d, d = %d)",
                             p->manifold_dim, p->d);
            break;
        }
        t->D = (size_t)p->D;
        t->d = (size_t)p->d;
        rc = p->kind == GENBO_TASK_CURVED_MANIFOLD ? make_curved(t) : make_subspace(t);
        break;
    case GENBO_TASK_GP_SEQUENCE:
        if ((long)p->seq_len * p->seq_dim > (1L << 20)) {
            rc = genbo__fail(GENBO_EINVAL,
                             "task: need seq_len, seq_dim >= 1 and seq_len*seq_dim <= 2^20 "
                             "(got %d x %d)",
                             p->seq_len, p->seq_dim);
            break;
        }
        t->N = (size_t)p->seq_len;
        t->m = (size_t)p->seq_dim;
        t->D = t->N * t->m;
        rc = make_gp(t);
        break;
    default: rc = genbo__fail(GENBO_EINVAL, "task: unknown kind %d", (int)p->kind);
    }
    if (rc) {
        genbo_task_free(t);
        return rc;
    }
    *out = t;
    return GENBO_OK;
}

size_t genbo_task_dim(const genbo_task *t) { return t ? t->D : 0; }

/* n designs from the data distribution, drawing from r in a fixed order
 * (one design's normals after another), so chunking never changes them. */
static int sample_rng(const genbo_task *t, size_t n, genbo__rng *r, double *X) {
    size_t D = t->D;
    if (t->p.kind != GENBO_TASK_GP_SEQUENCE) {
        size_t d = t->d, chunk = n < CHUNK_ROWS ? n : CHUNK_ROWS;
        size_t k = t->mf.k;
        double *Z = genbo__malloc(chunk * d * sizeof(double));
        double *U = k ? genbo__malloc(k * sizeof(double)) : NULL;
        if (!Z || (k && !U)) {
            free(Z);
            free(U);
            return GENBO_ENOMEM;
        }
        for (size_t i0 = 0; i0 < n; i0 += chunk) {
            size_t b = n - i0 < chunk ? n - i0 : chunk;
            if (k) { /* curved: z = phi(u), u ~ N(0, I_k) */
                for (size_t i = 0; i < b; i++) {
                    fill_normal(r, U, k);
                    genbo__manifold_map(&t->mf, U, Z + i * d);
                }
            } else {
                fill_normal(r, Z, b * d);
            }
            /* X = Z A^T */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b, (int)D, (int)d, 1.0, Z,
                        (int)d, t->A, (int)d, 0.0, X + i0 * D, (int)D);
        }
        free(Z);
        free(U);
        return GENBO_OK;
    }
    /* GP: lay a chunk of b sequences out as [time][sequence][dim], so both
     * Cholesky factors apply as single matrix products:
     *   W = Z L_Lambda^T as (N b) x m,  Y = L_Gamma W as N x (b m). */
    size_t N = t->N, m = t->m, B = n < CHUNK_SEQS ? n : CHUNK_SEQS;
    double *Z = genbo__malloc(B * D * sizeof(double));
    double *W = genbo__malloc(B * D * sizeof(double));
    if (!Z || !W) {
        free(Z);
        free(W);
        return GENBO_ENOMEM;
    }
    for (size_t i0 = 0; i0 < n; i0 += B) {
        size_t b = n - i0 < B ? n - i0 : B;
        for (size_t i = 0; i < b; i++)
            for (size_t s = 0; s < N; s++)
                for (size_t k = 0; k < m; k++) Z[(s * b + i) * m + k] = genbo__rng_normal(r);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(N * b), (int)m, (int)m, 1.0, Z,
                    (int)m, t->LL, (int)m, 0.0, W, (int)m);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)(b * m), (int)N, 1.0,
                    t->LG, (int)N, W, (int)(b * m), 0.0, Z, (int)(b * m));
        for (size_t i = 0; i < b; i++)
            for (size_t s = 0; s < N; s++)
                memcpy(X + (i0 + i) * D + s * m, Z + (s * b + i) * m, m * sizeof(double));
    }
    free(Z);
    free(W);
    return GENBO_OK;
}

int genbo_task_sample(const genbo_task *t, size_t n, uint64_t seed, double *X) {
    if (!t || (n && !X)) return genbo__fail(GENBO_EINVAL, "genbo_task_sample: NULL argument");
    genbo__rng r;
    genbo__rng_seed(&r, seed, SPLIT_SAMPLE);
    return sample_rng(t, n, &r, X);
}

/* The b designs Xb (b x D) split by the orthonormal A (D x d): their
 * subspace coordinates Z = Xb A (b x d) and the residual R = Xb - Z A^T
 * (b x D), the part off the subspace. */
static void subspace_split(const genbo_task *t, size_t b, const double *Xb, double *Z, double *R) {
    size_t D = t->D, d = t->d;
    memcpy(R, Xb, b * D * sizeof(double));
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)b, (int)d, (int)D, 1.0, Xb,
                (int)D, t->A, (int)d, 0.0, Z, (int)d);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b, (int)D, (int)d, -1.0, Z,
                (int)d, t->A, (int)d, 1.0, R, (int)D);
}

/* Curved manifold, per design: the squared distance to the manifold,
 * ||(I - A A^T) x||^2 + dist_M(A^T x)^2 (A orthonormal, so the two parts
 * are orthogonal), and with it the reward (y) or the distance (dist). */
static int curved_eval(const genbo_task *t, size_t n, const double *X, double *y, double *dist) {
    size_t D = t->D, d = t->d, chunk = n < CHUNK_ROWS ? n : CHUNK_ROWS;
    double *Z = genbo__malloc(chunk * d * sizeof(double));
    double *R = genbo__malloc(chunk * D * sizeof(double));
    if (!Z || !R) {
        free(Z);
        free(R);
        return GENBO_ENOMEM;
    }
    int rc = GENBO_OK;
    for (size_t i0 = 0; i0 < n && !rc; i0 += chunk) {
        size_t b = n - i0 < chunk ? n - i0 : chunk;
        const double *Xb = X + i0 * D;
        subspace_split(t, b, Xb, Z, R);
        for (size_t i = 0; i < b; i++) {
            const double *z = Z + i * d;
            double perp = norm2(R + i * D, D), dm = genbo__manifold_project(&t->mf, z, NULL);
            if (isnan(dm) && isfinite(perp)) { /* only an allocation can fail for finite z */
                int finite = 1;
                for (size_t j = 0; j < d; j++) finite &= isfinite(z[j]) != 0;
                if (finite) {
                    rc = GENBO_ENOMEM;
                    break;
                }
            }
            double dist2 = perp * perp + dm;
            if (dist) dist[i0 + i] = sqrt(dist2);
            if (y) {
                double e = 0;
                for (size_t j = 0; j < d; j++) e += (z[j] - t->zstar[j]) * (z[j] - t->zstar[j]);
                y[i0 + i] = t->c - 0.5 * e - GENBO__CURVED_PENALTY * dist2;
            }
        }
    }
    free(Z);
    free(R);
    return rc;
}

int genbo_task_oracle(const genbo_task *t, size_t n, const double *X, double *y) {
    if (!t || (n && (!X || !y))) return genbo__fail(GENBO_EINVAL, "genbo_task_oracle: NULL argument");
    if (n == 0) return GENBO_OK;
    size_t D = t->D;
    if (t->p.kind == GENBO_TASK_CURVED_MANIFOLD) return curved_eval(t, n, X, y, NULL);
    if (t->theta) {
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)D, 1.0, X, (int)D, t->theta, 1, 0.0,
                    y, 1);
        return GENBO_OK;
    }
    /* quadratic: z = A^T x per row, chunked to bound memory */
    size_t d = t->d, chunk = n < CHUNK_ROWS ? n : CHUNK_ROWS;
    double *Z = genbo__malloc(chunk * d * sizeof(double));
    if (!Z) return GENBO_ENOMEM;
    for (size_t i0 = 0; i0 < n; i0 += chunk) {
        size_t b = n - i0 < chunk ? n - i0 : chunk;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)b, (int)d, (int)D, 1.0,
                    X + i0 * D, (int)D, t->A, (int)d, 0.0, Z, (int)d);
        for (size_t i = 0; i < b; i++) {
            double s = 0;
            for (size_t k = 0; k < d; k++) {
                double e = Z[i * d + k] - t->zstar[k];
                s += e * e;
            }
            y[i0 + i] = t->c - 0.5 * s;
        }
    }
    free(Z);
    return GENBO_OK;
}

int genbo_task_support_distance(const genbo_task *t, size_t n, const double *X, double *dist) {
    if (!t || (n && (!X || !dist)))
        return genbo__fail(GENBO_EINVAL, "genbo_task_support_distance: NULL argument");
    if (n == 0) return GENBO_OK;
    size_t D = t->D;
    if (t->p.kind == GENBO_TASK_CURVED_MANIFOLD) return curved_eval(t, n, X, NULL, dist);
    if (t->p.kind != GENBO_TASK_GP_SEQUENCE) {
        /* ||x - A A^T x|| / ||x||, through Z = X A and R = X - Z A^T. */
        size_t d = t->d, chunk = n < CHUNK_ROWS ? n : CHUNK_ROWS;
        double *Z = genbo__malloc(chunk * d * sizeof(double));
        double *R = genbo__malloc(chunk * D * sizeof(double));
        if (!Z || !R) {
            free(Z);
            free(R);
            return GENBO_ENOMEM;
        }
        for (size_t i0 = 0; i0 < n; i0 += chunk) {
            size_t b = n - i0 < chunk ? n - i0 : chunk;
            const double *Xb = X + i0 * D;
            subspace_split(t, b, Xb, Z, R);
            for (size_t i = 0; i < b; i++) {
                double nx = norm2(Xb + i * D, D);
                dist[i0 + i] = nx > 0 ? norm2(R + i * D, D) / nx : 0.0;
            }
        }
        free(Z);
        free(R);
        return GENBO_OK;
    }
    /* GP: q = x^T (Gamma (x) Lambda)^{-1} x = ||L_Gamma^{-1} X_i L_Lambda^{-T}||_F^2,
     * in the same [time][sequence][dim] layout as sampling. */
    size_t N = t->N, m = t->m, B = n < CHUNK_SEQS ? n : CHUNK_SEQS;
    double *Y = genbo__malloc(B * D * sizeof(double));
    if (!Y) return GENBO_ENOMEM;
    for (size_t i0 = 0; i0 < n; i0 += B) {
        size_t b = n - i0 < B ? n - i0 : B;
        for (size_t i = 0; i < b; i++)
            for (size_t s = 0; s < N; s++)
                memcpy(Y + (s * b + i) * m, X + (i0 + i) * D + s * m, m * sizeof(double));
        cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)N,
                    (int)(b * m), 1.0, t->LG, (int)N, Y, (int)(b * m));
        cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)(N * b),
                    (int)m, 1.0, t->LL, (int)m, Y, (int)m);
        for (size_t i = 0; i < b; i++) {
            double q = 0;
            for (size_t s = 0; s < N; s++)
                for (size_t k = 0; k < m; k++) {
                    double v = Y[(s * b + i) * m + k];
                    q += v * v;
                }
            double excess = sqrt(q) - t->radius;
            dist[i0 + i] = excess > 0 ? excess / sqrt((double)D) : 0.0;
        }
    }
    free(Y);
    return GENBO_OK;
}

int genbo_task_split(const genbo_task *t, size_t n_label, size_t n_unlabel, uint64_t seed,
                     genbo_dataset **labelled, genbo_dataset **pool) {
    if (!t || !labelled || !pool) return genbo__fail(GENBO_EINVAL, "genbo_task_split: NULL argument");
    *labelled = NULL;
    *pool = NULL;
    size_t D = t->D, bl, bp;
    if (!genbo__mul_ok(n_label, D * sizeof(double), &bl) ||
        !genbo__mul_ok(n_unlabel, D * sizeof(double), &bp))
        return genbo__fail(GENBO_EINVAL, "genbo_task_split: sizes too large");
    double *XL = genbo__malloc(bl), *yL = genbo__malloc(n_label * sizeof(double));
    double *XP = genbo__malloc(bp);
    if (!XL || !yL || !XP) {
        free(XL);
        free(yL);
        free(XP);
        return GENBO_ENOMEM;
    }
    genbo__rng rl, rn, rp;
    genbo__rng_seed(&rl, seed, SPLIT_LABELLED);
    genbo__rng_seed(&rn, seed, SPLIT_NOISE);
    genbo__rng_seed(&rp, seed, SPLIT_POOL);
    int rc = sample_rng(t, n_label, &rl, XL);
    if (!rc) rc = genbo_task_oracle(t, n_label, XL, yL);
    if (!rc) rc = sample_rng(t, n_unlabel, &rp, XP);
    if (rc) {
        free(XL);
        free(yL);
        free(XP);
        return rc;
    }
    for (size_t i = 0; i < n_label; i++) yL[i] += t->p.noise_sd * genbo__rng_normal(&rn);
    genbo_dataset *L = NULL, *P = NULL;
    rc = genbo__dataset_take(n_label, D, XL, yL, NULL, &L);
    if (rc) {
        free(XP);
        return rc;
    }
    rc = genbo__dataset_take(n_unlabel, D, XP, NULL, NULL, &P);
    if (rc) {
        genbo_dataset_free(L);
        return rc;
    }
    *labelled = L;
    *pool = P;
    return GENBO_OK;
}
