/* trust.c - the trust region: building it from the data, checking and
 * projecting designs, and generation that never returns an unmarked
 * design outside it (policy: optimizer/trust.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "optimizer/baselines.h"
#include "optimizer/trust.h"

void genbo__trust_free(genbo__trust *t) {
    if (!t) return;
    free(t->lo);
    free(t->hi);
    free(t->simplex);
    memset(t, 0, sizeof *t);
}

int genbo__trust_init(genbo__trust *t, size_t dim, const double *A, size_t nA, const double *B,
                      size_t nB, double margin, const double *user_lo, const double *user_hi,
                      const unsigned char *simplex) {
    memset(t, 0, sizeof *t);
    if (dim == 0 || nA + nB == 0) return genbo__fail(GENBO_EINVAL, "trust region: no data");
    if (!(margin >= 0) || !isfinite(margin))
        return genbo__fail(GENBO_EINVAL, "trust region: margin must be >= 0, got %g", margin);
    t->dim = dim;
    t->lo = genbo__malloc(dim * sizeof *t->lo);
    t->hi = genbo__malloc(dim * sizeof *t->hi);
    if (!t->lo || !t->hi) {
        genbo__trust_free(t);
        return GENBO_ENOMEM;
    }
    int rc = GENBO_OK, any_simplex = 0;
    for (size_t j = 0; j < dim && !rc; j++) {
        double mn = INFINITY, mx = -INFINITY, s = 0, ss = 0;
        size_t k = 0;
        for (size_t i = 0; i < nA + nB; i++) {
            double v = i < nA ? A[i * dim + j] : B[(i - nA) * dim + j];
            if (!isfinite(v)) continue;
            mn = fmin(mn, v), mx = fmax(mx, v);
            s += v, ss += v * v, k++;
        }
        double mu = k ? s / (double)k : 0, sd = k ? sqrt(fmax(ss / (double)k - mu * mu, 0)) : 0;
        t->lo[j] = k ? mn - margin * sd : -INFINITY;
        t->hi[j] = k ? mx + margin * sd : INFINITY;
        if (user_lo && !isnan(user_lo[j])) t->lo[j] = user_lo[j];
        if (user_hi && !isnan(user_hi[j])) t->hi[j] = user_hi[j];
        if (simplex && simplex[j]) {
            any_simplex = 1;
            t->lo[j] = fmax(t->lo[j], 0.0);
            t->hi[j] = fmin(t->hi[j], 1.0);
        }
        if (!(t->lo[j] <= t->hi[j]))
            rc = genbo__fail(GENBO_EINVAL, "trust region: feature %zu has lower bound %g above "
                             "its upper bound %g", j, t->lo[j], t->hi[j]);
    }
    if (!rc && any_simplex) {
        t->simplex = genbo__malloc(dim);
        if (!t->simplex) rc = GENBO_ENOMEM;
        double slo = 0, shi = 0;
        for (size_t j = 0; !rc && j < dim; j++) {
            t->simplex[j] = simplex[j] != 0;
            if (t->simplex[j]) slo += t->lo[j], shi += t->hi[j];
        }
        if (!rc && !(slo <= 1.0 + 1e-12 && shi >= 1.0 - 1e-12))
            rc = genbo__fail(GENBO_EINVAL, "trust region: the simplex features cannot sum to one "
                             "within their bounds (they sum to %g..%g)", slo, shi);
    }
    if (rc) genbo__trust_free(t);
    return rc;
}

int genbo__trust_default(genbo__trust *t, size_t dim, const double *A, size_t nA, const double *B,
                         size_t nB) {
    memset(t, 0, sizeof *t);
    double *box = genbo__malloc(2 * (dim ? dim : 1) * sizeof *box);
    if (!box) return GENBO_ENOMEM;
    int rc = genbo__bounding_box(dim, A, nA, B, nB, box, box + dim); /* validates only */
    free(box);
    if (rc) return genbo__fail_prefix(rc, "trust region");
    return genbo__trust_init(t, dim, A, nA, B, B ? nB : 0, GENBO__TRUST_MARGIN, NULL, NULL, NULL);
}

static double tol_of(double lo, double hi) {
    double w = isfinite(hi - lo) ? hi - lo : 1.0;
    return 1e-9 * (w + fabs(lo) + fabs(hi) + 1e-300) + 1e-300;
}

unsigned genbo__trust_check(const genbo__trust *t, const double *x) {
    unsigned f = 0;
    double sum = 0;
    for (size_t j = 0; j < t->dim; j++) {
        if (!isfinite(x[j])) {
            f |= GENBO__TRUST_NONFINITE;
            continue;
        }
        double tol = tol_of(t->lo[j], t->hi[j]);
        if (x[j] < t->lo[j] - tol || x[j] > t->hi[j] + tol) f |= GENBO__TRUST_OUTSIDE;
        if (t->simplex && t->simplex[j]) sum += x[j];
    }
    if (t->simplex && !(f & GENBO__TRUST_NONFINITE) && fabs(sum - 1.0) > 1e-9)
        f |= GENBO__TRUST_OUTSIDE;
    return f;
}

static double clip(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Euclidean projection of the simplex features of x onto {sum = 1, lo <= x
 * <= hi}: x_j = clip(x_j - lambda, lo_j, hi_j) with the lambda that makes
 * the sum one (the sum falls monotonically in lambda: bisection). */
static void project_simplex(const genbo__trust *t, double *x) {
    double a = INFINITY, b = -INFINITY;
    for (size_t j = 0; j < t->dim; j++)
        if (t->simplex[j]) {
            a = fmin(a, x[j] - t->hi[j]);
            b = fmax(b, x[j] - t->lo[j]);
        }
    for (int it = 0; it < 200 && b - a > 1e-15 * (1 + fabs(a) + fabs(b)); it++) {
        double lam = 0.5 * (a + b), s = 0;
        for (size_t j = 0; j < t->dim; j++)
            if (t->simplex[j]) s += clip(x[j] - lam, t->lo[j], t->hi[j]);
        if (s > 1.0) a = lam;
        else b = lam;
    }
    double lam = 0.5 * (a + b);
    for (size_t j = 0; j < t->dim; j++)
        if (t->simplex[j]) x[j] = clip(x[j] - lam, t->lo[j], t->hi[j]);
}

size_t genbo__trust_project(const genbo__trust *t, size_t n, double *X, unsigned *flags) {
    size_t moved = 0;
    for (size_t i = 0; i < n; i++) {
        double *x = X + i * t->dim;
        if (!genbo__trust_check(t, x)) continue;
        for (size_t j = 0; j < t->dim; j++) {
            if (!isfinite(x[j])) { /* no direction to keep: the interval's middle */
                double lo = isfinite(t->lo[j]) ? t->lo[j] : 0, hi = isfinite(t->hi[j]) ? t->hi[j] : 0;
                x[j] = isfinite(t->lo[j]) && isfinite(t->hi[j]) ? 0.5 * (lo + hi) : lo + hi;
            }
            x[j] = clip(x[j], t->lo[j], t->hi[j]);
        }
        if (t->simplex) project_simplex(t, x);
        if (flags) flags[i] |= GENBO_DESIGN_PROJECTED;
        moved++;
    }
    return moved;
}

static int row_finite(const double *x, size_t dim) {
    for (size_t j = 0; j < dim; j++)
        if (!isfinite(x[j])) return 0;
    return 1;
}

int genbo__generate_trusted(genbo__method m, const genbo__models *models, const genbo__trust *t,
                            double target, size_t n, uint64_t seed, double *designs,
                            unsigned *flags) {
    if (flags) memset(flags, 0, n * sizeof *flags);
    const size_t dim = models ? models->dim : 0;
    int rc = genbo__generate(m, models, target, n, seed, designs);
    double *extra = NULL;
    for (int k = 1; k <= GENBO__TRUST_RESAMPLES; k++) {
        size_t bad = 0;
        if (rc == GENBO_OK)
            for (size_t i = 0; i < n; i++) bad += !row_finite(designs + i * dim, dim);
        if (rc == GENBO_OK && bad == 0) break;
        if (rc != GENBO_OK && rc != GENBO_ENUMERIC) break;
        /* another seed for the whole batch (the sampler's streams are per
         * batch); a failed batch is replaced entirely, otherwise only its
         * non-finite rows */
        uint64_t s2 = seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)k);
        if (rc == GENBO_ENUMERIC) {
            rc = genbo__generate(m, models, target, n, s2, designs);
            if (flags)
                for (size_t i = 0; i < n; i++) flags[i] |= GENBO_DESIGN_RESAMPLED;
            continue;
        }
        if (!extra && !(extra = genbo__malloc(n * dim * sizeof *extra))) return GENBO_ENOMEM;
        int rc2 = genbo__generate(m, models, target, n, s2, extra);
        if (rc2 != GENBO_OK && rc2 != GENBO_ENUMERIC) {
            rc = rc2;
            break;
        }
        for (size_t i = 0, q = 0; rc2 == GENBO_OK && i < n; i++) {
            if (row_finite(designs + i * dim, dim)) continue;
            while (q < n && !row_finite(extra + q * dim, dim)) q++;
            if (q == n) break;
            memcpy(designs + i * dim, extra + q++ * dim, dim * sizeof *designs);
            if (flags) flags[i] |= GENBO_DESIGN_RESAMPLED;
        }
    }
    free(extra);
    if (rc) return rc;
    if (t) {
        genbo__trust_project(t, n, designs, flags);
    } else {
        for (size_t i = 0; i < n; i++)
            if (!row_finite(designs + i * dim, dim))
                return genbo__fail(GENBO_ENUMERIC, "method '%s': design %zu is not finite after "
                                   "%d resamples", genbo__method_name(m), i, GENBO__TRUST_RESAMPLES);
    }
    return GENBO_OK;
}

const char *genbo__design_flags_text(unsigned flags) {
    int p = (flags & GENBO_DESIGN_PROJECTED) != 0, r = (flags & GENBO_DESIGN_RESAMPLED) != 0;
    return p && r ? "resampled,projected" : p ? "projected" : r ? "resampled" : NULL;
}
