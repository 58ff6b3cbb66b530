/* ridge.c - ridge regression with intercept on standardised features.
 *
 * lambda is chosen over a log grid by GCV or k-fold CV from one thin SVD
 * Z = U S V^T per fit (per fold), which makes every grid point O(n r):
 *   theta(l) = V diag(s / (s^2 + l)) U^T y_c,
 *   H(l)     = 1/n 11^T + U diag(s^2 / (s^2 + l)) U^T   (Z is centred),
 *   GCV(l)   = n ||(I - H) y||^2 / (n - tr H)^2.
 * The final fit solves (Z^T Z + l I) theta = Z^T y_c by Cholesky and keeps
 * A^{-1} = (Z^T Z + l I)^{-1} for the predictive uncertainty z^T A^{-1} z;
 * with fewer rows than features (n < d) it uses the thin SVD instead and
 * keeps A^{-1} in low-rank form (fit_wide), so 3 rows x 20,000 features take
 * milliseconds and kilobytes, not a 20,000^2 matrix. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "core/core.h"
#include "reward/reward.h"

void genbo__ridge_grid(double *lambdas) {
    double lo = log(GENBO_RIDGE_GRID_MIN), hi = log(GENBO_RIDGE_GRID_MAX);
    for (int i = 0; i < GENBO_RIDGE_GRID_N; i++)
        lambdas[i] = exp(lo + (hi - lo) * i / (GENBO_RIDGE_GRID_N - 1));
}

/* Thin SVD of the row-major n x d matrix Z (destroyed): U (n x r, row-major),
 * s (r), Vt (r x d, row-major). Z row-major is Z^T column-major, whose SVD
 * Z^T = V S U^T hands back exactly these layouts. */
static int thin_svd(size_t n, size_t d, double *Z, double *U, double *s, double *Vt) {
    size_t r = n < d ? n : d;
    double *superb = genbo__malloc((r + 1) * sizeof(double));
    if (!superb) return GENBO_ENOMEM;
    lapack_int info = LAPACKE_dgesvd(LAPACK_COL_MAJOR, 'S', 'S', (lapack_int)d, (lapack_int)n, Z,
                                     (lapack_int)d, s, Vt, (lapack_int)d, U, (lapack_int)r, superb);
    free(superb);
    if (info != 0)
        return genbo__fail(GENBO_ENUMERIC, "ridge: SVD of the %zu x %zu design failed (info %d)",
                           n, d, (int)info);
    return GENBO_OK;
}

static void gather_standardised(size_t m, const size_t *idx, size_t d, const double *X,
                                const double *mu, const double *sd, double *Z) {
    for (size_t t = 0; t < m; t++)
        for (size_t j = 0; j < d; j++) Z[t * d + j] = (X[idx[t] * d + j] - mu[j]) / sd[j];
}

/* GCV over the grid from one SVD of the full standardised design. */
static int select_gcv(size_t n, size_t d, const double *Z, const double *yc,
                      const double *grid, double *best_lambda, double *best_score) {
    size_t r = n < d ? n : d;
    double *work = genbo__malloc((n * d + n * r + r + r * d + r + n) * sizeof(double));
    if (!work) return GENBO_ENOMEM;
    double *Zc = work, *U = Zc + n * d, *s = U + n * r, *Vt = s + r, *uty = Vt + r * d,
           *res = uty + r;
    memcpy(Zc, Z, n * d * sizeof(double));
    int rc = thin_svd(n, d, Zc, U, s, Vt);
    if (rc) {
        free(work);
        return rc;
    }
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, (int)r, 1.0, U, (int)r, yc, 1, 0.0, uty, 1);
    /* the part of y_c outside span(U): no lambda shrinks it */
    memcpy(res, yc, n * sizeof(double));
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)r, -1.0, U, (int)r, uty, 1, 1.0, res, 1);
    double rss0 = cblas_ddot((int)n, res, 1, res, 1);
    double best = INFINITY;
    *best_lambda = grid[GENBO_RIDGE_GRID_N - 1];
    for (int g = 0; g < GENBO_RIDGE_GRID_N; g++) {
        double l = grid[g], rss = rss0, df = 1.0; /* 1: the intercept */
        for (size_t j = 0; j < r; j++) {
            double s2 = s[j] * s[j], shrink = l / (s2 + l);
            rss += shrink * shrink * uty[j] * uty[j];
            df += s2 / (s2 + l);
        }
        double dof = (double)n - df;
        if (!(dof > 1e-6)) continue; /* interpolating fit: GCV undefined */
        double gcv = (double)n * rss / (dof * dof);
        if (gcv < best) {
            best = gcv;
            *best_lambda = l;
        }
    }
    free(work);
    *best_score = best;
    if (!isfinite(best))
        return genbo__fail(GENBO_ENUMERIC, "ridge: GCV undefined on the whole lambda grid");
    return GENBO_OK;
}

/* k-fold CV over the grid: each fold re-standardises on its training rows
 * (no leakage) and takes one SVD. */
static int select_kfold(size_t n, size_t d, const double *X, const double *y, int k,
                        uint64_t seed, const double *grid, double *best_lambda,
                        double *best_score) {
    size_t rmax = n < d ? n : d;
    size_t *perm = genbo__malloc(n * sizeof(size_t));
    double *sse = genbo__calloc(GENBO_RIDGE_GRID_N, sizeof(double));
    double *work = genbo__malloc((2 * n * d + n * rmax + rmax + rmax * d + rmax + n * rmax + 2 * d + n) *
                                 sizeof(double));
    int rc = GENBO_OK;
    if (!perm || !sse || !work) {
        rc = GENBO_ENOMEM;
        goto done;
    }
    genbo__rng rng;
    genbo__rng_seed(&rng, seed, 0x52494447ULL); /* "RIDG" stream */
    for (size_t i = 0; i < n; i++) perm[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)genbo__rng_below(&rng, i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    double *Ztr = work, *Zte = Ztr + n * d, *U = Zte + n * d, *s = U + n * rmax,
           *Vt = s + rmax, *uty = Vt + rmax * d, *ZV = uty + rmax, *mu = ZV + n * rmax,
           *sd = mu + d, *ytr = sd + d;
    size_t *tr = genbo__malloc(n * sizeof(size_t));
    if (!tr) {
        rc = GENBO_ENOMEM;
        goto done;
    }
    for (int f = 0; f < k && !rc; f++) {
        /* fold f holds perm[i] for i = f, f + k, ...: sizes differ by <= 1 */
        size_t ntr = 0, nte;
        for (size_t i = 0; i < n; i++)
            if ((int)(i % (size_t)k) != f) tr[ntr++] = perm[i];
        nte = n - ntr;
        size_t r = ntr < d ? ntr : d;
        genbo__column_stats(ntr, tr, d, X, 0, mu, sd);
        gather_standardised(ntr, tr, d, X, mu, sd, Ztr);
        double ybar = 0.0;
        for (size_t t = 0; t < ntr; t++) ybar += y[tr[t]];
        ybar /= (double)ntr;
        for (size_t t = 0; t < ntr; t++) ytr[t] = y[tr[t]] - ybar;
        /* held-out rows, standardised with the training statistics */
        size_t m = 0;
        for (size_t i = (size_t)f; i < n; i += (size_t)k) {
            size_t row = perm[i];
            for (size_t j = 0; j < d; j++) Zte[m * d + j] = (X[row * d + j] - mu[j]) / sd[j];
            m++;
        }
        rc = thin_svd(ntr, d, Ztr, U, s, Vt);
        if (rc) break;
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)ntr, (int)r, 1.0, U, (int)r, ytr, 1, 0.0,
                    uty, 1);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nte, (int)r, (int)d, 1.0, Zte,
                    (int)d, Vt, (int)d, 0.0, ZV, (int)r);
        for (int g = 0; g < GENBO_RIDGE_GRID_N; g++) {
            double l = grid[g], e2 = 0.0;
            m = 0;
            for (size_t i = (size_t)f; i < n; i += (size_t)k, m++) {
                double pred = ybar;
                for (size_t j = 0; j < r; j++) pred += ZV[m * r + j] * s[j] * uty[j] / (s[j] * s[j] + l);
                double e = y[perm[i]] - pred;
                e2 += e * e;
            }
            sse[g] += e2;
        }
    }
    free(tr);
    if (!rc) {
        double best = INFINITY;
        *best_lambda = grid[GENBO_RIDGE_GRID_N - 1];
        for (int g = 0; g < GENBO_RIDGE_GRID_N; g++)
            if (sse[g] < best) {
                best = sse[g];
                *best_lambda = grid[g];
            }
        *best_score = best / (double)n;
    }
done:
    free(perm);
    free(sse);
    free(work);
    return rc;
}

/* Wide data (n < d): theta = V diag(s / (s^2 + l)) U^T y_c from one thin
 * SVD, and A^{-1} kept in its low-rank form (no d x d matrix). */
static int fit_wide(genbo__ridge_model *r, size_t n, size_t d, double *Z, const double *yc) {
    size_t k = n; /* rank bound: n < d */
    double *U = genbo__malloc(n * k * sizeof(double)), *s = genbo__malloc(k * sizeof(double));
    double *uty = genbo__malloc(k * sizeof(double));
    r->vt = genbo__malloc(k * d * sizeof(double));
    r->shrink = genbo__malloc(k * sizeof(double));
    int rc = U && s && uty && r->vt && r->shrink ? GENBO_OK : GENBO_ENOMEM;
    if (!rc && !(r->lambda > 0))
        rc = genbo__fail(GENBO_ENUMERIC, "ridge: with %zu rows and %zu features X^T X + lambda I is singular "
                         "for lambda = %g: use lambda > 0 (gcv, kfold or a positive value)", n, d, r->lambda);
    if (!rc) rc = thin_svd(n, d, Z, U, s, r->vt);
    if (!rc) {
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, (int)k, 1.0, U, (int)k, yc, 1, 0.0, uty, 1);
        for (size_t j = 0; j < k; j++) {
            double s2 = s[j] * s[j];
            uty[j] *= s[j] / (s2 + r->lambda);
            r->shrink[j] = s2 / (s2 + r->lambda);
        }
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)k, (int)d, 1.0, r->vt, (int)d, uty, 1, 0.0, r->theta, 1);
        r->rank = k;
    }
    free(U);
    free(s);
    free(uty);
    return rc;
}

int genbo__ridge_fit(genbo_reward *m, const genbo_reward_params *p, size_t n, const double *X,
                     const double *y) {
    size_t d = m->d;
    int wide = n < d;
    genbo__ridge_model *r = &m->ridge;
    double *Z = genbo__malloc(n * d * sizeof(double));
    double *yc = genbo__malloc(n * sizeof(double));
    r->theta = genbo__calloc(d, sizeof(double));
    r->ainv = wide ? NULL : genbo__calloc(d * d, sizeof(double));
    int rc = GENBO_OK;
    if (!Z || !yc || !r->theta || (!wide && !r->ainv)) {
        rc = GENBO_ENOMEM;
        goto done;
    }
    genbo__reward_standardise(m, n, X, Z);
    double ybar = 0.0;
    for (size_t i = 0; i < n; i++) ybar += y[i];
    ybar /= (double)n;
    double yss = 0.0;
    for (size_t i = 0; i < n; i++) {
        yc[i] = y[i] - ybar;
        yss += yc[i] * yc[i];
    }
    r->y_mean = ybar;
    r->y_sd = sqrt(yss / (double)n);
    r->select = p->lambda_select;
    r->kfold = p->lambda_select == GENBO_LAMBDA_KFOLD ? p->kfold : 0;
    r->score = NAN;

    double grid[GENBO_RIDGE_GRID_N];
    genbo__ridge_grid(grid);
    if (p->lambda_select == GENBO_LAMBDA_GCV)
        rc = select_gcv(n, d, Z, yc, grid, &r->lambda, &r->score);
    else if (p->lambda_select == GENBO_LAMBDA_KFOLD)
        rc = select_kfold(n, d, X, y, p->kfold, p->seed, grid, &r->lambda, &r->score);
    else
        r->lambda = p->lambda;
    if (rc) goto done;
    if (wide) {
        rc = fit_wide(r, n, d, Z, yc);
        goto done;
    }

    /* A = Z^T Z + lambda I. Symmetric, so the row-major lower triangle is the
     * column-major upper one: LAPACK runs without transposed copies. */
    double *A = r->ainv;
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)d, (int)n, 1.0, Z, (int)d, 0.0, A,
                (int)d);
    for (size_t j = 0; j < d; j++) A[j * d + j] += r->lambda;
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, (int)d, 1.0, Z, (int)d, yc, 1, 0.0, r->theta, 1);
    lapack_int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (lapack_int)d, A, (lapack_int)d);
    if (info != 0) {
        rc = genbo__fail(GENBO_ENUMERIC,
                         "ridge: X^T X + lambda I is not positive definite (lambda = %g); "
                         "constant or collinear features need lambda > 0",
                         r->lambda);
        goto done;
    }
    LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'U', (lapack_int)d, 1, A, (lapack_int)d, r->theta,
                   (lapack_int)d);
    info = LAPACKE_dpotri(LAPACK_COL_MAJOR, 'U', (lapack_int)d, A, (lapack_int)d);
    if (info != 0) {
        rc = genbo__fail(GENBO_ENUMERIC, "ridge: inverting X^T X + lambda I failed (info %d)",
                         (int)info);
        goto done;
    }
    for (size_t i = 0; i < d; i++)
        for (size_t j = i + 1; j < d; j++) A[i * d + j] = A[j * d + i];
done:
    free(Z);
    free(yc);
    return rc;
}

/* Raw-unit weights: f(x) = b0 + w . x with w_j = theta_j / sd_j. */
static double raw_weights(const genbo_reward *m, double *w) {
    double b0 = m->ridge.y_mean;
    for (size_t j = 0; j < m->d; j++) {
        w[j] = m->ridge.theta[j] / m->x_sd[j];
        b0 -= w[j] * m->x_mean[j];
    }
    return b0;
}

int genbo__ridge_predict(const genbo_reward *m, size_t n, const double *X, double *mean,
                         double *var) {
    size_t d = m->d, rows = genbo__reward_block_rows(d);
    double *w = genbo__malloc(d * sizeof(double));
    double *Z = var ? genbo__malloc(2 * rows * d * sizeof(double)) : NULL;
    if (!w || (var && !Z)) {
        free(w);
        free(Z);
        return GENBO_ENOMEM;
    }
    double b0 = raw_weights(m, w);
    for (size_t i0 = 0; i0 < n; i0 += rows) {
        size_t mb = n - i0 < rows ? n - i0 : rows;
        const double *Xb = X + i0 * d;
        for (size_t i = 0; i < mb; i++) mean[i0 + i] = b0;
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)mb, (int)d, 1.0, Xb, (int)d, w, 1, 1.0,
                    mean + i0, 1);
        if (var && m->ridge.rank) {
            /* z^T A^{-1} z = (|z|^2 - sum_j shrink_j (v_j . z)^2) / lambda */
            const genbo__ridge_model *r = &m->ridge;
            size_t k = r->rank;
            double *P = Z + rows * d; /* mb x k <= rows x d */
            genbo__reward_standardise(m, mb, Xb, Z);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)mb, (int)k, (int)d, 1.0, Z, (int)d,
                        r->vt, (int)d, 0.0, P, (int)k);
            for (size_t i = 0; i < mb; i++) {
                double v = cblas_ddot((int)d, Z + i * d, 1, Z + i * d, 1);
                for (size_t j = 0; j < k; j++) v -= r->shrink[j] * P[i * k + j] * P[i * k + j];
                v /= r->lambda;
                var[i0 + i] = v > 0.0 ? v : 0.0;
            }
        } else if (var) {
            double *T = Z + rows * d;
            genbo__reward_standardise(m, mb, Xb, Z);
            cblas_dsymm(CblasRowMajor, CblasRight, CblasLower, (int)mb, (int)d, 1.0,
                        m->ridge.ainv, (int)d, Z, (int)d, 0.0, T, (int)d);
            for (size_t i = 0; i < mb; i++) {
                double v = 0.0;
                for (size_t j = 0; j < d; j++) v += T[i * d + j] * Z[i * d + j];
                var[i0 + i] = v > 0.0 ? v : 0.0;
            }
        }
    }
    free(w);
    free(Z);
    return GENBO_OK;
}

int genbo__ridge_gradient(const genbo_reward *m, size_t n, double *grad) {
    size_t d = m->d;
    double *w = genbo__malloc(d * sizeof(double));
    if (!w) return GENBO_ENOMEM;
    raw_weights(m, w);
    for (size_t i = 0; i < n; i++) memcpy(grad + i * d, w, d * sizeof(double));
    free(w);
    return GENBO_OK;
}

/* cov = Z A^{-1} Z^T: with the thin SVD (Z Z^T - P diag(shrink) P^T) /
 * lambda, P = Z V; else (Z ainv) Z^T. */
int genbo__ridge_covariance(const genbo_reward *m, size_t n, const double *X, double *cov) {
    size_t d = m->d, k = m->ridge.rank;
    double *Z = genbo__malloc(n * d * sizeof(double));
    double *T = genbo__malloc(n * (k ? k : d) * sizeof(double));
    if (!Z || !T) {
        free(Z), free(T);
        return GENBO_ENOMEM;
    }
    genbo__reward_standardise(m, n, X, Z);
    if (k) {
        const genbo__ridge_model *r = &m->ridge;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)k, (int)d, 1.0, Z, (int)d,
                    r->vt, (int)d, 0.0, T, (int)k);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)d,
                    1.0 / r->lambda, Z, (int)d, Z, (int)d, 0.0, cov, (int)n);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < k; j++) T[i * k + j] *= sqrt(r->shrink[j] / r->lambda);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)k, -1.0, T, (int)k,
                    T, (int)k, 1.0, cov, (int)n);
    } else {
        cblas_dsymm(CblasRowMajor, CblasRight, CblasLower, (int)n, (int)d, 1.0, m->ridge.ainv,
                    (int)d, Z, (int)d, 0.0, T, (int)d);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)d, 1.0, T, (int)d,
                    Z, (int)d, 0.0, cov, (int)n);
    }
    for (size_t i = 0; i < n; i++) /* exact symmetry, a non-negative diagonal */
        for (size_t j = 0; j <= i; j++) {
            double v = 0.5 * (cov[i * n + j] + cov[j * n + i]);
            cov[i * n + j] = cov[j * n + i] = i == j && v < 0.0 ? 0.0 : v;
        }
    free(Z), free(T);
    return GENBO_OK;
}
