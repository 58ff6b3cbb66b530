/* loop.c - the optimisation loop of a study run (genbo_study_run,
 * studies/run.c, calls it once the run's row and lock are held and the
 * models are in place):
 *
 *   data -> reward -> pseudo -> diffusion        (studies/pipeline.c)
 *   generate: for each target and method a batch of n designs
 *   round 1..R: a batch at the loop target, refit, optional fine-tune
 *
 * A batch: generate (unless its trials are stored), evaluate the trials
 * still asked and tell them, write the metrics row. Every read and write of
 * the run's records goes through the storage operations of loop.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "optimizer/loop.h"
#include "optimizer/trust.h"

void genbo__batch_rows_free(genbo__batch_rows *r) {
    free(r->ids);
    free(r->X);
    free(r->pred);
    free(r->supp);
    free(r->y);
    free(r->asked);
    memset(r, 0, sizeof *r);
}

/* ---- one batch ------------------------------------------------------------ */

static int generate_batch(genbo__loop_state *st, const genbo__loop_store *so, const genbo__batch *b) {
    size_t dim = st->dim;
    double *X = genbo__malloc(b->n * dim * sizeof *X), *pred = genbo__malloc(b->n * sizeof *pred);
    double *supp = st->task ? genbo__malloc(b->n * sizeof *supp) : NULL;
    unsigned *flags = genbo__malloc(b->n * sizeof *flags);
    int rc = X && pred && flags && (supp || !st->task) ? GENBO_OK : GENBO_ENOMEM;
    genbo__method method;
    if (!rc) rc = genbo__method_from_name(b->method, &method);
    if (!rc) {
        genbo__models mm;
        so->method_models(so->ctx, &mm);
        /* the run's told designs: the pool source must not propose them again */
        double *LX = NULL, *LY = NULL;
        size_t nl = 0;
        rc = so->labels(so->ctx, &LX, &LY, &nl);
        if (!rc && nl > st->n_label)
            mm.seen_X = LX + st->n_label * dim, mm.n_seen = nl - st->n_label;
        if (!rc) rc = genbo__generate_trusted(method, &mm, mm.trust, b->target, b->n, b->seed, X, flags);
        free(LX);
        free(LY);
    }
    if (!rc) rc = genbo_reward_predict(*st->reward, b->n, X, pred, NULL);
    if (!rc && supp) rc = genbo_task_support_distance(st->task, b->n, X, supp);
    if (!rc) rc = so->batch_insert(so->ctx, b, X, pred, supp, flags);
    free(flags);
    free(X);
    free(pred);
    free(supp);
    return rc;
}

/* Evaluate the batch's trials still 'asked' and tell their values. A
 * failing evaluator fails the trials (with its reason), not the run. */
static int evaluate_rows(genbo__loop_state *st, const genbo__loop_store *so, genbo__batch_rows *r) {
    genbo__evaluator *ev = st->ev;
    size_t dim = st->dim, k = 0;
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
        rc = so->tell(so->ctx, k, ids, y, reasons, erc ? why : NULL);
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

static int run_batch(genbo__loop_state *st, const genbo__loop_store *so, const genbo__batch *b) {
    int64_t n_trials, n_metrics;
    int rc = so->batch_counts(so->ctx, b, &n_trials, &n_metrics);
    if (rc || n_metrics) return rc;
    if (n_trials == 0) rc = generate_batch(st, so, b);
    genbo__batch_rows r;
    memset(&r, 0, sizeof r);
    if (!rc) rc = so->batch_rows(so->ctx, b, &r);
    if (!rc) rc = evaluate_rows(st, so, &r);
    if (!rc && r.n > 0) rc = so->batch_metrics(so->ctx, b, &r, st->ev != NULL);
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

static int finish_round(const genbo__loop_plan *p, genbo__loop_state *st, const genbo__loop_store *so,
                        int round, double t_start) {
    genbo_reward *fresh;
    int64_t n_labels;
    int rc = so->refit(so->ctx, &fresh, &n_labels);
    if (rc) return rc;
    genbo_reward_free(*st->reward);
    *st->reward = fresh;
    *st->reward_labels = n_labels;
    if (!*st->pseudo) *st->pseudo = genbo__malloc(st->n_pool * sizeof **st->pseudo);
    rc = *st->pseudo ? genbo_reward_predict(fresh, st->n_pool, st->pool_X, *st->pseudo, NULL) : GENBO_ENOMEM;
    char why[512] = "";
    if (!rc) { /* the scale check looks at every told value of the run */
        double *Xl = NULL, *yl = NULL;
        size_t nl = 0;
        rc = so->labels(so->ctx, &Xl, &yl, &nl);
        if (!rc && scale_mismatch(st->label_y, st->n_label, yl + st->n_label, nl - st->n_label, why,
                                  sizeof why) && st->progress)
            (void)st->progress(st->progress_ctx, "warning", 1, 1, why);
        free(Xl);
        free(yl);
    }
    int tune = p->finetune_steps > 0 && !why[0];
    if (!rc && tune) {
        double *Xt = NULL, *yt = NULL;
        size_t extra = 0, dim = st->dim;
        rc = so->trusted_told(so->ctx, &Xt, &yt, &extra);
        size_t n = st->n_pool + extra;
        double *X = rc ? NULL : genbo__malloc(n * dim * sizeof *X);
        double *y = rc ? NULL : genbo__malloc(n * sizeof *y);
        if (!rc && (!X || !y)) rc = GENBO_ENOMEM;
        if (!rc) {
            memcpy(X, st->pool_X, st->n_pool * dim * sizeof *X);
            memcpy(y, *st->pseudo, st->n_pool * sizeof *y);
            memcpy(X + st->n_pool * dim, Xt, extra * dim * sizeof *X);
            memcpy(y + st->n_pool, yt, extra * sizeof *y);
            genbo_diffusion_params dp = p->finetune;
            dp.steps = p->finetune_steps;
            dp.seed = genbo__seed_mix(p->seed, 11, (uint64_t)round);
            dp.progress = st->progress;
            dp.progress_ctx = st->progress_ctx;
            rc = so->finetune(so->ctx, round, &dp, st->diffusion, n, X, y); /* curve, checkpoint */
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
    if (!rc) rc = so->store_round(so->ctx, round, n_labels, fresh, tune ? st->diffusion : NULL, step,
                                  genbo__now() - t_start, why[0] ? why : NULL);
    return rc;
}

static int progress(const genbo__loop_state *st, const char *stage, long done, long total, const char *msg) {
    if (st->progress && st->progress(st->progress_ctx, stage, done, total, msg))
        return genbo__fail(GENBO_ESTATE, "interrupted");
    return GENBO_OK;
}

int genbo__loop_run(const genbo__loop_plan *p, genbo__loop_state *st, const genbo__loop_store *so) {
    int rc = GENBO_OK;
    if (!so->step_done(so->ctx, "generate")) {
        double t = genbo__now();
        long total = (long)(p->n_targets * p->n_methods), k = 0;
        for (size_t i = 0; !rc && i < p->n_targets; i++) {
            genbo__batch b = {p->run_id, 0, p->targets[i], NULL, 0, p->n, 0};
            rc = so->target_value(so->ctx, b.label, &b.target);
            for (size_t j = 0; !rc && j < p->n_methods; j++, k++) {
                char msg[96];
                snprintf(msg, sizeof msg, "%s at %s", p->methods[j], b.label);
                rc = progress(st, "generate", k, total, msg);
                b.method = p->methods[j];
                /* Seeded by target and method, not by their order in the file. */
                b.seed = genbo__seed_mix(p->seed, 100 + genbo__crc32(0, b.label, strlen(b.label)),
                                         genbo__crc32(0, b.method, strlen(b.method)));
                if (!rc) rc = run_batch(st, so, &b);
            }
        }
        if (!rc) rc = progress(st, "generate", total, total, "done");
        if (!rc) rc = so->step_mark(so->ctx, "generate", genbo__now() - t);
    }
    for (int r = 1; !rc && r <= p->rounds; r++) {
        char step[32];
        snprintf(step, sizeof step, "round %d", r);
        if (so->step_done(so->ctx, step)) continue;
        double t = genbo__now();
        genbo__batch b = {p->run_id, r, p->loop_target, p->loop_method, 0, p->loop_batch,
                          genbo__seed_mix(p->seed, 200, (uint64_t)r)};
        rc = progress(st, "round", r - 1, p->rounds, step);
        if (!rc) rc = so->target_value(so->ctx, b.label, &b.target);
        if (!rc) rc = run_batch(st, so, &b);
        if (!rc) rc = finish_round(p, st, so, r, t);
        if (!rc) rc = progress(st, "round", r, p->rounds, step);
    }
    return rc;
}
