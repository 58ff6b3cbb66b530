/* select.c - pessimistic, support-aware, diverse selection (see select.h). */
#include <math.h>
#include <stdlib.h>

#include "core/core.h"
#include "optimizer/select.h"

typedef struct cand {
    int on;      /* on the support */
    double key;  /* acquisition (on) or support ratio (off) */
    size_t i;
} cand;

/* On-support first, by acquisition descending; then off-support by ratio
 * ascending; ties by index (deterministic). */
static int cand_order(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->on != y->on) return y->on - x->on;
    if (x->key != y->key) {
        int less = x->key < y->key;
        return x->on ? (less ? 1 : -1) : (less ? -1 : 1);
    }
    return (x->i > y->i) - (x->i < y->i);
}

static double sq_dist(const double *a, const double *b, size_t dim) {
    double s = 0;
    for (size_t j = 0; j < dim; j++) s += (a[j] - b[j]) * (a[j] - b[j]);
    return s;
}

int genbo__select_radii(size_t m, size_t dim, const double *Z, const double *acq,
                        const double *ratio, double ratio_max, const double *radius, double delta,
                        size_t n_have, size_t n, size_t *chosen, double *delta_used) {
    if (!Z || !acq || !ratio || !chosen || dim == 0 || n == 0 || n_have > n)
        return genbo__fail(GENBO_EINVAL, "select: missing input");
    cand *c = genbo__malloc((m ? m : 1) * sizeof *c);
    unsigned char *taken = genbo__calloc(m ? m : 1, 1); /* by candidate index */
    if (!c || !taken) {
        free(c), free(taken);
        return GENBO_ENOMEM;
    }
    for (size_t t = 0; t < n_have; t++)
        if (chosen[t] < m) taken[chosen[t]] = 1;
    size_t k = 0;
    for (size_t i = 0; i < m; i++) {
        int ok = isfinite(acq[i]) && isfinite(ratio[i]);
        for (size_t j = 0; ok && j < dim; j++) ok = isfinite(Z[i * dim + j]);
        if (!ok || taken[i]) continue;
        int on = ratio[i] <= ratio_max;
        c[k++] = (cand){on, on ? acq[i] : ratio[i], i};
    }
    if (k < n - n_have) {
        free(c), free(taken);
        return genbo__fail(GENBO_ENUMERIC, "select: %zu of %zu candidates are finite, %zu asked for",
                           k + n_have, m, n);
    }
    qsort(c, k, sizeof *c, cand_order);
    size_t got = n_have;
    double dl = isfinite(delta) && delta > 0 ? delta : 0, f = 1; /* f: the radii's factor */
    for (int pass = 0; got < n; pass++) {
        if (pass > GENBO__SELECT_HALVINGS) dl = 0, f = 0;
        double d2 = dl * dl;
        for (size_t q = 0; q < k && got < n; q++) {
            if (taken[c[q].i]) continue;
            const double *z = Z + c[q].i * dim;
            int far = 1;
            for (size_t t = 0; far && t < got; t++) {
                double r = radius ? f * radius[chosen[t]] : 0;
                double r2 = radius ? (isfinite(r) && r > 0 ? r * r : 0) : d2;
                far = sq_dist(z, Z + chosen[t] * dim, dim) >= r2;
            }
            if (!far) continue;
            taken[c[q].i] = 1;
            chosen[got++] = c[q].i;
        }
        if (got < n) dl *= 0.5, f *= 0.5;
    }
    if (delta_used) *delta_used = dl;
    free(c), free(taken);
    return GENBO_OK;
}

int genbo__select_more(size_t m, size_t dim, const double *Z, const double *acq,
                       const double *ratio, double ratio_max, double delta, size_t n_have,
                       size_t n, size_t *chosen, double *delta_used) {
    return genbo__select_radii(m, dim, Z, acq, ratio, ratio_max, NULL, delta, n_have, n, chosen,
                               delta_used);
}

int genbo__select(size_t m, size_t dim, const double *Z, const double *acq, const double *ratio,
                  double ratio_max, double delta, size_t n, size_t *chosen, double *delta_used) {
    return genbo__select_more(m, dim, Z, acq, ratio, ratio_max, delta, 0, n, chosen, delta_used);
}

