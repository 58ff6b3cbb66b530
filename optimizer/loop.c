/* loop.c - the optimisation loop of a study run (genbo_study_run,
 * studies/run.c, calls it once the run's row and lock are held):
 *
 *   data -> reward -> pseudo -> diffusion        (studies/pipeline.c)
 *   generate: for each target and method a batch of n designs
 *   round 1..R: a batch at the loop target, refit, optional fine-tune
 *
 * A batch: generate (unless its trials are stored), evaluate the trials
 * still asked and tell them, write the metrics row. Every read and write of
 * the database goes through studies/ (batch.h, study.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "optimizer/evaluator.h"
#include "optimizer/loop.h"
#include "studies/batch.h"
#include "studies/store.h"
#include "studies/study.h"

/* ---- one batch ------------------------------------------------------------ */

static int generate_batch(genbo_study *s, const genbo__batch *b) {
    size_t dim = s->data.dim;
    double *X = genbo__malloc(b->n * dim * sizeof *X), *pred = genbo__malloc(b->n * sizeof *pred);
    double *supp = s->data.task ? genbo__malloc(b->n * sizeof *supp) : NULL;
    int64_t *ids = genbo__malloc(b->n * sizeof *ids);
    unsigned *flags = genbo__malloc(b->n * sizeof *flags);
    int rc = X && pred && ids && flags && (supp || !s->data.task) ? GENBO_OK : GENBO_ENOMEM;
    genbo__method method;
    if (!rc) rc = genbo__method_from_name(b->method, &method);
    if (!rc) {
        genbo__models mm;
        genbo__study_method_models(s, &mm);
        /* the run's told designs: the pool source must not propose them again */
        double *LX = NULL, *LY = NULL;
        size_t nl = 0;
        rc = genbo__run_labels(s, b->run_id, &LX, &LY, &nl);
        if (!rc && nl > s->data.n_label)
            mm.seen_X = LX + s->data.n_label * dim, mm.n_seen = nl - s->data.n_label;
        if (!rc) rc = genbo__generate_trusted(method, &mm, mm.trust, b->target, b->n, b->seed, X, flags);
        free(LX);
        free(LY);
    }
    if (!rc) rc = genbo_reward_predict(s->models.reward, b->n, X, pred, NULL);
    if (!rc && supp) rc = genbo_task_support_distance(s->data.task, b->n, X, supp);
    if (!rc) rc = genbo__trials_insert(s, b->run_id, b->round, b->target, b->label, b->method, b->n,
                                       X, pred, supp, flags, ids);
    free(flags);
    free(X);
    free(pred);
    free(supp);
    free(ids);
    return rc;
}

/* Evaluate the batch's trials still 'asked' and tell their values. A
 * failing evaluator fails the trials (with its reason), not the run. */
static int evaluate_rows(genbo_study *s, genbo__evaluator *ev, genbo__batch_rows *r) {
    size_t dim = s->data.dim, k = 0;
    for (size_t i = 0; i < r->n; i++) k += r->asked[i];
    if (!ev || k == 0) return GENBO_OK;
    double *X = genbo__malloc(k * dim * sizeof *X), *y = genbo__malloc(k * sizeof *y);
    int64_t *ids = genbo__malloc(k * sizeof *ids);
    char **reasons = genbo__calloc(k, sizeof *reasons);
    int rc = X && y && ids && reasons ? GENBO_OK : GENBO_ENOMEM;
    for (size_t i = 0, j = 0; !rc && i < r->n; i++) {
        if (!r->asked[i]) continue;
        memcpy(X + j * dim, r->X + i * dim, dim * sizeof *X);
        ids[j++] = r->ids[i];
    }
    if (!rc) {
        int erc = genbo__evaluate(ev, k, X, y, reasons);
        char why[1100];
        if (erc) snprintf(why, sizeof why, "%s", genbo_errmsg());
        rc = genbo__trials_tell_batch(s, k, ids, y, reasons, erc ? why : NULL);
        for (size_t i = 0, j = 0; !rc && i < r->n; i++) {
            if (!r->asked[i]) continue;
            r->y[i] = erc ? NAN : y[j];
            r->asked[i] = 0;
            j++;
        }
    }
    if (reasons) genbo__reasons_free(reasons, k); /* the strings; the array is ours */
    free(reasons);
    free(X);
    free(y);
    free(ids);
    return rc;
}

static int run_batch(genbo_study *s, genbo__evaluator *ev, const genbo__batch *b) {
    int64_t have;
    int rc = genbo__batch_count_metrics(s, b, &have);
    if (rc || have) return rc;
    rc = genbo__batch_count_trials(s, b, &have);
    if (!rc && have == 0) rc = generate_batch(s, b);
    genbo__batch_rows r;
    memset(&r, 0, sizeof r);
    if (!rc) rc = genbo__batch_load_rows(s, b, &r);
    if (!rc) rc = evaluate_rows(s, ev, &r);
    if (!rc && r.n > 0) rc = genbo__batch_metrics(s, b, &r, ev != NULL);
    genbo__batch_rows_free(&r);
    return rc ? genbo__fail_prefix(rc, "batch %s at %s (round %d)", b->method, b->label, b->round) : rc;
}

/* ---- after a round: refit and fine-tune ---------------------------------- */

/* Told values on another scale than the labels: an evaluator in other
 * units (or a broken one) mixes two scales in the refit. The measure:
 * z = |median(told) - mean(labels)| / sd(labels) and the spread ratio
 * 1.4826 MAD(told) / sd(labels); either above SCALE_ALARM (or the ratio
 * below 1 / SCALE_ALARM with 4+ values) is a mismatch. A loop that finds
 * better designs moves the median by a few label sd, not by SCALE_ALARM. */
#define SCALE_ALARM 20.0

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int scale_mismatch(const double *label_y, size_t nl, const double *told, size_t nt,
                          char *why, size_t cap) {
    if (nt == 0 || nl < 2) return 0;
    double mu = 0, ss = 0;
    for (size_t i = 0; i < nl; i++) mu += label_y[i] / (double)nl;
    for (size_t i = 0; i < nl; i++) ss += (label_y[i] - mu) * (label_y[i] - mu);
    double sd = sqrt(ss / (double)(nl - 1));
    if (!(sd > 0)) return 0;
    double *v = genbo__malloc(nt * sizeof *v);
    if (!v) return 0;
    memcpy(v, told, nt * sizeof *v);
    qsort(v, nt, sizeof *v, cmp_double);
    double med = nt % 2 ? v[nt / 2] : 0.5 * (v[nt / 2 - 1] + v[nt / 2]);
    for (size_t i = 0; i < nt; i++) v[i] = fabs(v[i] - med);
    qsort(v, nt, sizeof *v, cmp_double);
    double mad = 1.4826 * (nt % 2 ? v[nt / 2] : 0.5 * (v[nt / 2 - 1] + v[nt / 2]));
    free(v);
    double z = fabs(med - mu) / sd, ratio = mad / sd;
    int bad = z > SCALE_ALARM || ratio > SCALE_ALARM || (nt >= 4 && ratio < 1.0 / SCALE_ALARM);
    if (bad)
        snprintf(why, cap, "the told values are on another scale than the labels (median %.4g, "
                 "spread %.4g; labels: mean %.4g, sd %.4g): the diffusion model is not fine-tuned "
                 "on them; check the evaluator's units", med, mad, mu, sd);
    return bad;
}

static int finish_round(genbo_study *s, int64_t run_id, int round, double t_start) {
    study_models *m = &s->models;
    const study_data *d = &s->data;
    genbo_reward *fresh;
    int64_t n_labels;
    int rc = genbo__refit_reward(s, run_id, &fresh, &n_labels);
    if (rc) return rc;
    genbo_reward_free(m->reward);
    m->reward = fresh;
    m->reward_labels = n_labels;
    if (!m->pseudo) m->pseudo = genbo__malloc(d->n_pool * sizeof *m->pseudo);
    rc = m->pseudo ? genbo_reward_predict(m->reward, d->n_pool, d->pool_X, m->pseudo, NULL) : GENBO_ENOMEM;
    study_training tr;
    memset(&tr, 0, sizeof tr);
    char why[512] = "";
    if (!rc) { /* the scale check looks at every told value of the run */
        double *Xl = NULL, *yl = NULL;
        size_t nl = 0;
        rc = genbo__run_labels(s, run_id, &Xl, &yl, &nl);
        if (!rc && scale_mismatch(d->label_y, d->n_label, yl + d->n_label, nl - d->n_label, why,
                                  sizeof why) && s->progress)
            (void)s->progress(s->progress_ctx, "warning", 1, 1, why);
        free(Xl);
        free(yl);
    }
    if (!rc && s->cfg->finetune_steps > 0 && !why[0]) {
        double *Xt = NULL, *yt = NULL;
        size_t extra = 0;
        rc = genbo__run_trusted_told(s, run_id, &Xt, &yt, &extra);
        size_t n = d->n_pool + extra;
        double *X = rc ? NULL : genbo__malloc(n * d->dim * sizeof *X);
        double *y = rc ? NULL : genbo__malloc(n * sizeof *y);
        if (!rc && (!X || !y)) rc = GENBO_ENOMEM;
        if (!rc) {
            memcpy(X, d->pool_X, d->n_pool * d->dim * sizeof *X);
            memcpy(y, m->pseudo, d->n_pool * sizeof *y);
            memcpy(X + d->n_pool * d->dim, Xt, extra * d->dim * sizeof *X);
            memcpy(y + d->n_pool, yt, extra * sizeof *y);
            genbo_diffusion_params dp;
            genbo__config_diffusion_params(s->cfg, &dp);
            dp.steps = s->cfg->finetune_steps;
            dp.seed = genbo__seed_mix(s->cfg->seed, 11, (uint64_t)round);
            dp.progress = s->progress;
            dp.progress_ctx = s->progress_ctx;
            rc = genbo__training_attach(s, run_id, round, &dp, &tr); /* curve, checkpoint, summary */
            if (!rc) rc = genbo__training_finish(&tr, genbo_diffusion_finetune(m->diffusion, &dp, n, X, y));
            else free(tr.resume);
        }
        free(X);
        free(y);
        free(Xt);
        free(yt);
    }
    char step[32];
    snprintf(step, sizeof step, "round %d", round);
    /* The reward model, the fine-tuned diffusion model and the round's mark
     * commit together: a rerun after a crash before this point finds the
     * previous round's models and redoes the (deterministic) refit and
     * fine-tune from them. (Committing the fine-tuned model on its own made
     * a resume fine-tune it twice: issue 10.1.) */
    if (!rc) rc = genbo__store_round(s, run_id, round, n_labels, m->reward,
                                     s->cfg->finetune_steps > 0 && !why[0] ? m->diffusion : NULL, step,
                                     genbo__now() - t_start);
    if (!rc && tr.s) rc = genbo__training_done(&tr); /* the fine-tune's checkpoint is obsolete */
    if (!rc && why[0]) rc = genbo__step_detail(s, run_id, step, why);
    return rc;
}

static genbo__evaluator *make_evaluator(genbo_study *s, int *rc) {
    const genbo_config *c = s->cfg;
    genbo__evaluator *ev = NULL;
    int kind = c->evaluator;
    if (kind == CFG_EVAL_AUTO) kind = s->data.task ? CFG_EVAL_ORACLE : CFG_EVAL_NONE;
    *rc = GENBO_OK;
    if (kind == CFG_EVAL_ORACLE) {
        if (!s->data.task) *rc = genbo__fail(GENBO_EINVAL, "[evaluate] evaluator = oracle needs a synthetic task");
        else *rc = genbo__evaluator_oracle(s->data.task, &ev);
    } else if (kind == CFG_EVAL_COMMAND) {
        size_t dim = s->data.dim;
        const char **names = genbo__calloc(dim, sizeof *names);
        if (!names) {
            *rc = GENBO_ENOMEM;
            return NULL;
        }
        for (size_t j = 0; j < dim; j++) names[j] = genbo_dataset_column_name(s->data.labelled, j);
        *rc = genbo__evaluator_command(c->command, c->timeout, dim, names, &ev);
        free(names);
    }
    return ev;
}

static int progress(genbo_study *s, const char *stage, long done, long total, const char *msg) {
    if (s->progress && s->progress(s->progress_ctx, stage, done, total, msg))
        return genbo__fail(GENBO_ESTATE, "interrupted");
    return GENBO_OK;
}

int genbo__loop_run(genbo_study *s, int64_t run_id) {
    const genbo_config *c = s->cfg;
    int rc = genbo__pipeline_models(s, run_id);
    genbo__evaluator *ev = NULL;
    if (!rc) ev = make_evaluator(s, &rc);
    if (!rc && !genbo__step_done(s, run_id, "generate")) {
        double t = genbo__now();
        long total = (long)c->n_targets * c->n_methods, k = 0;
        for (int i = 0; !rc && i < c->n_targets; i++) {
            genbo__batch b = {run_id, 0, c->targets[i].label, NULL, 0, (size_t)c->n, 0};
            rc = genbo__run_target_value(s, run_id, b.label, &b.target);
            for (int j = 0; !rc && j < c->n_methods; j++, k++) {
                char msg[96];
                snprintf(msg, sizeof msg, "%s at %s", c->methods[j], b.label);
                rc = progress(s, "generate", k, total, msg);
                b.method = c->methods[j];
                /* Seeded by target and method, not by their order in the file. */
                b.seed = genbo__seed_mix(c->seed, 100 + genbo__crc32(0, b.label, strlen(b.label)),
                                         genbo__crc32(0, b.method, strlen(b.method)));
                if (!rc) rc = run_batch(s, ev, &b);
            }
        }
        if (!rc) rc = progress(s, "generate", total, total, "done");
        if (!rc) rc = genbo__store_begin(s->db);
        if (!rc) {
            rc = genbo__step_mark(s, run_id, "generate", genbo__now() - t, NULL);
            if (rc) genbo__store_rollback(s->db);
            else rc = genbo__store_commit(s->db);
        }
    }
    for (int r = 1; !rc && r <= c->rounds; r++) {
        char step[32];
        snprintf(step, sizeof step, "round %d", r);
        if (genbo__step_done(s, run_id, step)) continue;
        double t = genbo__now();
        genbo__batch b = {run_id, r, c->loop_target.label, c->loop_method, 0, (size_t)c->loop_batch,
                   genbo__seed_mix(c->seed, 200, (uint64_t)r)};
        rc = progress(s, "round", r - 1, c->rounds, step);
        if (!rc) rc = genbo__run_target_value(s, run_id, b.label, &b.target);
        if (!rc) rc = run_batch(s, ev, &b);
        if (!rc) rc = finish_round(s, run_id, r, t);
        if (!rc) rc = progress(s, "round", r, c->rounds, step);
    }
    genbo__evaluator_free(ev);
    return rc;
}

/* One `genbo run` of a study at a time: two processes resuming the same
 * unfinished run would both generate its batches. An flock on a file beside
 * the database marks the owner; the kernel drops it when the process ends,
 * even by SIGKILL, so a killed run can always be resumed. */
