/* alias.c - weighted draws of training rows in O(1) (Walker's alias
 * method, Vose's numerically stable construction). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diffusion/diffusion_internal.h"

void genbo__gd_alias_free(genbo__gd_alias *a) {
    if (!a) return;
    free(a->prob);
    free(a->alias);
    memset(a, 0, sizeof *a);
}

int genbo__gd_alias_build(genbo__gd_alias *a, size_t n, const double *w) {
    memset(a, 0, sizeof *a);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(w[i] >= 0) || !isfinite(w[i]))
            return genbo__fail(GENBO_EINVAL, "row_weights[%zu] = %g: weights must be finite and >= 0",
                               i, w[i]);
        sum += w[i];
    }
    if (n == 0 || !(sum > 0)) return genbo__fail(GENBO_EINVAL, "row_weights sum to 0");
    a->n = n;
    a->prob = genbo__malloc(n * sizeof *a->prob);
    a->alias = genbo__malloc(n * sizeof *a->alias);
    size_t *work = genbo__malloc(n * sizeof *work); /* small from the front, large from the back */
    if (!a->prob || !a->alias || !work) {
        free(work);
        genbo__gd_alias_free(a);
        return GENBO_ENOMEM;
    }
    size_t ns = 0, nl = n;
    for (size_t i = 0; i < n; i++) {
        a->prob[i] = w[i] * (double)n / sum; /* mean 1 */
        a->alias[i] = i;
        if (a->prob[i] < 1.0) work[ns++] = i;
        else work[--nl] = i;
    }
    /* pair each small column with a large one that tops it up to 1 */
    size_t s = 0, l = nl;
    while (s < ns && l < n) {
        size_t i = work[s++], j = work[l];
        a->alias[i] = j;
        a->prob[j] -= 1.0 - a->prob[i];
        if (a->prob[j] < 1.0) { /* j became small: it is next on the small side */
            l++;
            work[--s] = j;
        }
    }
    /* what is left is 1 up to rounding */
    for (size_t k = s; k < ns; k++) a->prob[work[k]] = 1.0;
    for (size_t k = l; k < n; k++) a->prob[work[k]] = 1.0;
    free(work);
    return GENBO_OK;
}

size_t genbo__gd_alias_draw(const genbo__gd_alias *a, genbo__rng *r) {
    size_t i = (size_t)genbo__rng_below(r, a->n);
    return genbo__rng_uniform(r) < a->prob[i] ? i : a->alias[i];
}
