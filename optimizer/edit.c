/* edit.c - the `edit` method (SDEdit, Meng et al. 2022; as used for
 * offline design by DEMO, Yuan et al. 2024): surrogate ascent finds designs
 * the learned reward rates highly but that may have left the data's
 * manifold; each is noised to the time where sigma_t^2 = edit_noise and
 * the reverse process of the conditional model at target a brings it back.
 * A small edit_noise keeps the ascent's gains, a large one forgets them
 * (edit_noise -> 1 is plain conditional sampling). */
#include <stdlib.h>

#include "core/core.h"
#include "optimizer/baselines.h"
#include "optimizer/methods.h"

int genbo__edit_batch(const genbo__models *mm, double target, size_t n, uint64_t seed,
                      double *designs) {
    const size_t dim = mm->dim;
    double *A = genbo__malloc(n * dim * sizeof *A);
    if (!A) return GENBO_ENOMEM;
    int rc = genbo__surrogate_ascent_reward(mm->reward, mm->label_X, mm->label_y, mm->n_label,
                                            mm->pool_X, mm->n_pool, dim, n, mm->ascent_max_evals, A);
    genbo_sample_params p;
    if (!rc) rc = genbo__method_sample_params(GENBO__METHOD_EDIT, &mm->sample, NULL, seed, &p);
    if (!rc) {
        p.init = A;
        p.init_noise = mm->select.edit_noise > 0 ? mm->select.edit_noise : GENBO__EDIT_NOISE;
        rc = genbo_diffusion_sample(mm->diffusion, &p, target, n, designs);
    }
    free(A);
    return rc;
}
