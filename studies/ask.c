/* ask.c - genbo_study_ask: designs at a target reward from the study's
 * newest models.
 *
 * Which run: the study's newest run that has a trained diffusion model
 * (a `genbo run` or an earlier ask). With none, ask starts a run of kind
 * 'ask' and trains the models first (data, reward, pseudo-labels,
 * diffusion: the long step), storing them like a run does.
 *
 * What is refit when: before sampling, ask counts the run's told trials; if
 * the labels (labelled set + told trials) grew by at least 1% of those the
 * reward model was fitted on (so after every tell below 100 labels), it is
 * refit on all of them (ridge: a few ms) and stored (models row, round
 * NULL), replacing the previous ask refit: storage does not grow with the
 * number of asks and neither does the amortised time of an ask. The diffusion model is never
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
#include "diffusion/blas.h"
#include "studies/store.h"
#include "studies/study.h"

/* The newest run with a diffusion model, or 0. */
static int find_model_run(genbo_study *s, int64_t *run_id) {
    return genbo__store_int(s->db,
                            "SELECT r.id FROM runs r WHERE r.study_id = ? AND EXISTS (SELECT 1 FROM "
                            "models m WHERE m.run_id = r.id AND m.kind = 'diffusion') ORDER BY r.id DESC LIMIT 1",
                            s->id, 0, run_id);
}

/* An unfinished ask run with this configuration (a prepare that was
 * cancelled or crashed), to go on from its completed steps; 0 if none. */
static int find_resumable(genbo_study *s, int64_t *run_id) {
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db,
                                  "SELECT id FROM runs WHERE study_id = ? AND kind = 'ask' AND status <> 'done' "
                                  "AND config = ? ORDER BY id DESC LIMIT 1", &st);
    if (rc) return rc;
    genbo__db_bind_int64(st, 1, s->id);
    genbo__db_bind_text(st, 2, s->cfg_text, -1, GENBO__DB_STATIC);
    *run_id = genbo__db_step(st) == GENBO__DB_ROW ? genbo__db_column_int64(st, 0) : 0;
    genbo__db_finalize(st);
    return GENBO_OK;
}

static int ensure_models(genbo_study *s) {
    int64_t run_id;
    int rc = find_model_run(s, &run_id);
    if (rc) return rc;
    if (run_id == 0) {
        rc = find_resumable(s, &run_id);
        if (!rc && run_id == 0) rc = genbo__run_create(s, "ask", &run_id);
        if (rc) return rc;
        rc = genbo__pipeline_models(s, run_id);
        int rc2 = genbo__run_finish(s, run_id, rc);
        return rc ? rc : rc2;
    }
    return genbo__pipeline_models(s, run_id);
}

int genbo_study_prepare(genbo_study *s, genbo_progress_fn progress, void *ctx) {
    if (!s) return genbo__fail(GENBO_EINVAL, "genbo_study_prepare: NULL study");
    if (s->readonly) return genbo__fail(GENBO_ESTATE, "study '%s' is open read-only", s->name);
    s->progress = progress;
    s->progress_ctx = ctx;
    int rc = ensure_models(s);
    s->progress = NULL;
    s->progress_ctx = NULL;
    return rc;
}

/* A refit matters once the labels grew by ASK_REFIT_GROWTH (1%) of those
 * the model was fitted on: every tell while there are fewer than 100
 * labels, every n/100-th tell after. Refitting on every tell made each ask
 * O(labels) (issue 10.7); this keeps the amortised cost per ask flat. */
#define ASK_REFIT_GROWTH 0.01

/* Asks of at most this many designs are short: the network's products are
 * a few rows wide, too small for more than one BLAS thread. */
#define ASK_SHORT_N 256

/* Refit the reward model if enough tells arrived since it was fitted. */
static int refresh_reward(genbo_study *s) {
    genbo__study_models *m = &s->models;
    int64_t told = genbo__run_told_count(s, m->run_id);
    if (told < 0) return GENBO_EDB;
    int64_t now = (int64_t)s->data.n_label + told;
    if (now <= m->reward_labels || (double)(now - m->reward_labels) < ASK_REFIT_GROWTH * (double)m->reward_labels)
        return GENBO_OK;
    genbo_reward *fresh;
    int64_t n_labels;
    int rc = genbo__refit_reward(s, m->run_id, &fresh, &n_labels);
    if (rc) return rc;
    rc = genbo__store_ask_refit(s, m->run_id, n_labels, fresh);
    if (rc) {
        genbo_reward_free(fresh);
        return rc;
    }
    genbo_reward_free(m->reward);
    m->reward = fresh;
    m->reward_labels = n_labels;
    return GENBO_OK;
}

/* A target spec's value for the run ask samples from: the run's stored
 * value for that label (so "p90" means what it meant in the run), else
 * resolved on the pool's pseudo-labels under the run's first reward model
 * (as the run resolves its own targets) and stored for the next ask. */
static int resolve_target(genbo_study *s, const genbo__target *t, double *value) {
    if (t->kind == GENBO__TARGET_ABSOLUTE) {
        *value = t->value;
        return GENBO_OK;
    }
    int64_t run_id = s->models.run_id;
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db, "SELECT value FROM targets WHERE run_id = ? AND label = ?", &st);
    if (rc) return rc;
    genbo__db_bind_int64(st, 1, run_id);
    genbo__db_bind_text(st, 2, t->label, -1, GENBO__DB_STATIC);
    int found = genbo__db_step(st) == GENBO__DB_ROW;
    if (found) *value = genbo__db_column_double(st, 0);
    genbo__db_finalize(st);
    if (found) return GENBO_OK;
    genbo_reward *first = NULL;
    rc = genbo__load_reward_round(s, run_id, 0, &first);
    const genbo__study_data *d = &s->data;
    double *pseudo = rc ? NULL : genbo__malloc(d->n_pool * sizeof *pseudo);
    if (!rc && !pseudo) rc = GENBO_ENOMEM;
    if (!rc) rc = genbo_reward_predict(first, d->n_pool, d->pool_X, pseudo, NULL);
    if (!rc) {
        *value = genbo__resolve_target(t, pseudo, d->n_pool);
        if (!isfinite(*value)) rc = genbo__fail(GENBO_ENUMERIC, "target %s is not a finite number", t->label);
    }
    free(pseudo);
    genbo_reward_free(first);
    if (rc) return rc;
    rc = genbo__store_begin(s->db);
    if (!rc) rc = genbo__store_prepare(s->db, "INSERT OR IGNORE INTO targets (run_id, label, value) VALUES (?, ?, ?)", &st);
    if (!rc) {
        genbo__db_bind_int64(st, 1, run_id);
        genbo__db_bind_text(st, 2, t->label, -1, GENBO__DB_STATIC);
        genbo__db_bind_double(st, 3, *value);
        if (genbo__db_step(st) != GENBO__DB_DONE) rc = genbo__store_fail(s->db, "storing a target");
        genbo__db_finalize(st);
        if (rc) genbo__store_rollback(s->db);
        else rc = genbo__store_commit(s->db);
    }
    return rc;
}

/* The largest reward the data show: labelled rewards, told values of the
 * run and the pool's pseudo-rewards under the current reward model. A
 * target above it asks the model to extrapolate. */
static int data_max(genbo_study *s, double *out) {
    const genbo__study_data *d = &s->data;
    double mx = -INFINITY;
    for (size_t i = 0; i < d->n_label; i++)
        if (d->label_y[i] > mx) mx = d->label_y[i];
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db, "SELECT max(o.value) FROM observations o JOIN trials t ON "
                                         "t.id = o.trial_id WHERE t.run_id = ?", &st);
    if (rc) return rc;
    genbo__db_bind_int64(st, 1, s->models.run_id);
    if (genbo__db_step(st) == GENBO__DB_ROW && genbo__db_column_type(st, 0) != GENBO__DB_NULL &&
        genbo__db_column_double(st, 0) > mx)
        mx = genbo__db_column_double(st, 0);
    genbo__db_finalize(st);
    double *pseudo = genbo__malloc(d->n_pool * sizeof *pseudo);
    if (!pseudo) return GENBO_ENOMEM;
    rc = genbo_reward_predict(s->models.reward, d->n_pool, d->pool_X, pseudo, NULL);
    for (size_t i = 0; !rc && i < d->n_pool; i++)
        if (pseudo[i] > mx) mx = pseudo[i];
    free(pseudo);
    *out = mx;
    return rc;
}

int genbo_study_ask_with(genbo_study *s, const genbo_ask_options *opts, size_t n, int64_t *trial_ids,
                         double *designs, genbo_ask_info *info) {
    if (!s || !trial_ids || !designs) return genbo__fail(GENBO_EINVAL, "genbo_study_ask: NULL argument");
    if (s->readonly) return genbo__fail(GENBO_ESTATE, "study '%s' is open read-only", s->name);
    if (n == 0 || n > 1000000) return genbo__fail(GENBO_EINVAL, "ask: n = %zu designs (1..1000000)", n);
    const genbo_config *c = s->cfg;
    genbo__target spec = c->loop_target;
    const char *why;
    if (opts && opts->target && genbo__parse_target(opts->target, &spec, &why))
        return genbo__fail(GENBO_EINVAL, "ask: target '%s' %s", opts->target, why);
    if (spec.kind == GENBO__TARGET_ABSOLUTE && !isfinite(spec.value))
        return genbo__fail(GENBO_EINVAL, "ask: the target %g is not a finite number", spec.value);
    const char *method_name = opts && opts->method ? opts->method : c->loop_method;
    genbo__method method;
    int rc = genbo__method_from_name(method_name, &method);
    if (rc) return genbo__fail_prefix(rc, "ask");
    /* Optuna's rule: trials of dead workers are failed before new ones are
     * asked (stale.c; only when [ask] timeout or heartbeat is set). */
    if (genbo__stale_timeout(c) > 0) rc = genbo_study_fail_stale(s, 0, NULL);
    if (!rc) rc = genbo_study_prepare(s, opts ? opts->progress : NULL, opts ? opts->progress_ctx : NULL);
    if (!rc) rc = refresh_reward(s);
    double target = NAN, dmax = NAN;
    if (!rc) rc = resolve_target(s, &spec, &target);
    if (!rc) rc = data_max(s, &dmax);
    if (rc) return rc;
    char label[32];
    if (spec.kind == GENBO__TARGET_ABSOLUTE) snprintf(label, sizeof label, "%.6g", target);
    else snprintf(label, sizeof label, "%s", spec.label);
    genbo__study_models *m = &s->models;
    size_t dim = s->data.dim;
    int64_t *ids = genbo__malloc(n * sizeof *ids);
    double *X = genbo__malloc(n * dim * sizeof *X), *pred = genbo__malloc(n * sizeof *pred);
    double *supp = s->data.task ? genbo__malloc(n * sizeof *supp) : NULL;
    unsigned *flags = genbo__malloc(n * sizeof *flags);
    if (!ids || !X || !pred || !flags || (s->data.task && !supp)) rc = GENBO_ENOMEM;
    if (!rc) rc = genbo__trials_reserve(s, m->run_id, -1, target, label, method_name, n, ids);
    if (!rc) {
        genbo__models mm;
        genbo__study_method_models(s, &mm);
        if (c->ask_steps > 0) mm.sample.steps = c->ask_steps;
        /* a short ask runs on one BLAS thread (diffusion/blas.c) */
        int threads = n <= ASK_SHORT_N ? genbo__threads_short_begin() : 0;
        rc = genbo__generate_trusted(method, &mm, mm.trust, target, n,
                                     genbo__seed_mix(c->seed, 7, (uint64_t)ids[0]), X, flags);
        if (!rc) rc = genbo_reward_predict(m->reward, n, X, pred, NULL);
        genbo__threads_short_end(threads);
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
        if (info) {
            memset(info, 0, sizeof *info);
            info->target = target;
            snprintf(info->target_label, sizeof info->target_label, "%s", label);
            snprintf(info->method, sizeof info->method, "%s", method_name);
            info->run_id = m->run_id;
            info->data_max = dmax;
            info->beyond_data = target > dmax;
            if (info->beyond_data)
                snprintf(info->warning, sizeof info->warning,
                         "target %s = %.6g lies beyond the data (largest reward in the labels, "
                         "told trials and the pool's pseudo-rewards: %.6g): the designs extrapolate",
                         label, target, dmax);
        }
    }
    free(flags);
    free(ids);
    free(X);
    free(pred);
    free(supp);
    return rc;
}

int genbo_study_ask(genbo_study *s, double target, size_t n, int64_t *trial_ids, double *designs) {
    if (!isfinite(target)) return genbo__fail(GENBO_EINVAL, "ask: the target %g is not a finite number", target);
    char spec[40];
    snprintf(spec, sizeof spec, "%.17g", target);
    genbo_ask_options o = {spec, NULL, NULL, NULL};
    return genbo_study_ask_with(s, &o, n, trial_ids, designs, NULL);
}
