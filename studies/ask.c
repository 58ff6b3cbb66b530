/* ask.c - genbo_study_ask: designs at a target reward from the study's
 * newest models.
 *
 * Which run: the study's newest run that has a trained diffusion model
 * (a `genbo run` or an earlier ask). With none, ask starts a run of kind
 * 'ask' and trains the models first (data, reward, pseudo-labels,
 * diffusion: the long step), storing them like a run does.
 *
 * What is refit when: before sampling, ask counts the run's told trials; if
 * there are more labels (labelled set + told trials) than the reward model
 * was fitted on, the reward model is refit on all of them (ridge: a few ms)
 * and stored (models row, round NULL). The diffusion model is never
 * retrained by ask (that is the design loop's finetune_steps).
 *
 * Trial ids are reserved first (one short write transaction), then the
 * designs are sampled with a seed derived from the first id (so two
 * processes asking at once get different designs, and a rerun of the same
 * sequence of asks gets the same ones), then stored (a second short
 * transaction). The write lock is never held while sampling. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "studies/store.h"
#include "studies/study.h"

/* The newest run with a diffusion model, or 0. */
static int find_model_run(genbo_study *s, int64_t *run_id) {
    return genbo__store_int(s->db,
                            "SELECT r.id FROM runs r WHERE r.study_id = ? AND EXISTS (SELECT 1 FROM "
                            "models m WHERE m.run_id = r.id AND m.kind = 'diffusion') ORDER BY r.id DESC LIMIT 1",
                            s->id, 0, run_id);
}

static int ensure_models(genbo_study *s) {
    int64_t run_id;
    int rc = find_model_run(s, &run_id);
    if (rc) return rc;
    if (run_id == 0) {
        rc = genbo__run_create(s, "ask", &run_id);
        if (rc) return rc;
        rc = genbo__pipeline_models(s, run_id);
        int rc2 = genbo__run_finish(s, run_id, rc);
        return rc ? rc : rc2;
    }
    return genbo__pipeline_models(s, run_id);
}

/* Refit the reward model if tells arrived since it was fitted. */
static int refresh_reward(genbo_study *s) {
    study_models *m = &s->models;
    int64_t told = genbo__run_told_count(s, m->run_id);
    if (told < 0) return GENBO_EDB;
    if ((int64_t)s->data.n_label + told <= m->reward_labels) return GENBO_OK;
    genbo_reward *fresh;
    int64_t n_labels;
    int rc = genbo__refit_reward(s, m->run_id, &fresh, &n_labels);
    if (rc) return rc;
    rc = genbo__store_reward(s, m->run_id, -1, n_labels, fresh);
    if (rc) {
        genbo_reward_free(fresh);
        return rc;
    }
    genbo_reward_free(m->reward);
    m->reward = fresh;
    m->reward_labels = n_labels;
    return GENBO_OK;
}

int genbo_study_ask(genbo_study *s, double target, size_t n, int64_t *trial_ids, double *designs) {
    return genbo_study_ask_flags(s, target, n, trial_ids, designs, NULL);
}

int genbo_study_ask_flags(genbo_study *s, double target, size_t n, int64_t *trial_ids,
                          double *designs, unsigned *flags_out) {
    if (!s || !trial_ids || !designs) return genbo__fail(GENBO_EINVAL, "genbo_study_ask: NULL argument");
    if (s->readonly) return genbo__fail(GENBO_ESTATE, "study '%s' is open read-only", s->name);
    if (n == 0 || n > 1000000) return genbo__fail(GENBO_EINVAL, "ask: n = %zu designs (1..1000000)", n);
    if (!isfinite(target)) return genbo__fail(GENBO_EINVAL, "ask: the target %g is not a finite number", target);
    int rc = ensure_models(s);
    if (!rc) rc = refresh_reward(s);
    if (rc) return rc;
    const genbo_config *c = s->cfg;
    study_models *m = &s->models;
    size_t dim = s->data.dim;
    char label[32];
    snprintf(label, sizeof label, "%.6g", target);
    int64_t *ids = genbo__malloc(n * sizeof *ids);
    double *X = genbo__malloc(n * dim * sizeof *X), *pred = genbo__malloc(n * sizeof *pred);
    double *supp = s->data.task ? genbo__malloc(n * sizeof *supp) : NULL;
    unsigned *flags = genbo__malloc(n * sizeof *flags);
    if (!ids || !X || !pred || !flags || (s->data.task && !supp)) rc = GENBO_ENOMEM;
    if (!rc) rc = genbo__trials_reserve(s, m->run_id, -1, target, label, c->loop_method, n, ids);
    if (!rc) {
        genbo__method method;
        genbo__models mm;
        genbo__study_method_models(s, &mm);
        if (c->ask_steps > 0) mm.sample.steps = c->ask_steps;
        rc = genbo__method_from_name(c->loop_method, &method);
        if (!rc)
            rc = genbo__generate_trusted(method, &mm, mm.trust, target, n,
                                         genbo__seed_mix(c->seed, 7, (uint64_t)ids[0]), X, flags);
        if (!rc) rc = genbo_reward_predict(m->reward, n, X, pred, NULL);
        if (!rc && supp) rc = genbo_task_support_distance(s->data.task, n, X, supp);
        if (!rc) rc = genbo__trials_set_designs(s, n, ids, X, pred, supp, flags);
        if (rc) {
            /* Do not leave reserved trials without a design looking open. */
            char reason[300];
            snprintf(reason, sizeof reason, "ask failed: %s", genbo_errmsg());
            int saved = rc;
            genbo__trials_fail(s, n, ids, reason);
            rc = saved;
        }
    }
    if (!rc) {
        memcpy(trial_ids, ids, n * sizeof *ids);
        memcpy(designs, X, n * dim * sizeof *X);
        if (flags_out) memcpy(flags_out, flags, n * sizeof *flags);
    }
    free(flags);
    free(ids);
    free(X);
    free(pred);
    free(supp);
    return rc;
}
