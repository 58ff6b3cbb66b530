/* loop_store.c - a study run's design loop: the loop's storage operations
 * (optimizer/loop.h) on the study's database, its plan from the study
 * file, its evaluator, and the call (genbo__study_loop, from run.c).
 * Each operation is one of the study's own calls (batch.c, trials.c,
 * pipeline.c, training.c, models.c) bound to the run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "optimizer/loop.h"
#include "studies/batch.h"
#include "studies/store.h"
#include "studies/study.h"

typedef struct loop_ctx {
    genbo_study *s;
    int64_t run_id;
    genbo__study_training tr; /* the round's fine-tune, until its model is stored */
} loop_ctx;

static int op_step_done(void *ctx, const char *step) {
    loop_ctx *c = ctx;
    return genbo__step_done(c->s, c->run_id, step);
}

static int op_step_mark(void *ctx, const char *step, double seconds) {
    loop_ctx *c = ctx;
    int rc = genbo__store_begin(c->s->db);
    if (rc) return rc;
    rc = genbo__step_mark(c->s, c->run_id, step, seconds, NULL);
    if (rc) genbo__store_rollback(c->s->db);
    else rc = genbo__store_commit(c->s->db);
    return rc;
}

static int op_target_value(void *ctx, const char *label, double *value) {
    loop_ctx *c = ctx;
    return genbo__run_target_value(c->s, c->run_id, label, value);
}

static int op_batch_counts(void *ctx, const genbo__batch *b, int64_t *n_trials, int64_t *n_metrics) {
    loop_ctx *c = ctx;
    *n_trials = 0;
    int rc = genbo__batch_count_metrics(c->s, b, n_metrics);
    if (!rc && *n_metrics == 0) rc = genbo__batch_count_trials(c->s, b, n_trials);
    return rc;
}

static int op_batch_insert(void *ctx, const genbo__batch *b, const double *X, const double *pred,
                           const double *supp, const unsigned *flags) {
    loop_ctx *c = ctx;
    int64_t *ids = genbo__malloc(b->n * sizeof *ids);
    if (!ids) return GENBO_ENOMEM;
    int rc = genbo__trials_insert(c->s, b->run_id, b->round, b->target, b->label, b->method, b->n, X,
                                  pred, supp, flags, ids);
    free(ids);
    return rc;
}

static int op_batch_rows(void *ctx, const genbo__batch *b, genbo__batch_rows *r) {
    loop_ctx *c = ctx;
    return genbo__batch_load_rows(c->s, b, r);
}

static int op_tell(void *ctx, size_t n, const int64_t *ids, const double *y, char *const *reasons,
                   const char *batch_reason) {
    loop_ctx *c = ctx;
    return genbo__trials_tell_batch(c->s, n, ids, y, reasons, batch_reason);
}

static int op_batch_metrics(void *ctx, const genbo__batch *b, genbo__batch_rows *r, int with_true) {
    loop_ctx *c = ctx;
    return genbo__batch_metrics(c->s, b, r, with_true);
}

static int op_labels(void *ctx, double **X, double **y, size_t *n) {
    loop_ctx *c = ctx;
    return genbo__run_labels(c->s, c->run_id, X, y, n);
}

static int op_trusted_told(void *ctx, double **X, double **y, size_t *n) {
    loop_ctx *c = ctx;
    return genbo__run_trusted_told(c->s, c->run_id, X, y, n);
}

static void op_method_models(void *ctx, genbo__models *mm) {
    loop_ctx *c = ctx;
    genbo__study_method_models(c->s, mm);
}

static int op_refit(void *ctx, genbo_reward **out, int64_t *n_labels) {
    loop_ctx *c = ctx;
    return genbo__refit_reward(c->s, c->run_id, out, n_labels);
}

static int op_finetune(void *ctx, int round, genbo_diffusion_params *dp, genbo_diffusion *m, size_t n,
                       const double *X, const double *y) {
    loop_ctx *c = ctx;
    memset(&c->tr, 0, sizeof c->tr);
    int rc = genbo__training_attach(c->s, c->run_id, round, dp, &c->tr); /* curve, checkpoint, summary */
    if (rc) {
        free(c->tr.resume);
        memset(&c->tr, 0, sizeof c->tr);
        return rc;
    }
    return genbo__training_finish(&c->tr, genbo_diffusion_finetune(m, dp, n, X, y));
}

static int op_store_round(void *ctx, int round, int64_t n_labels, const genbo_reward *reward,
                          const genbo_diffusion *diffusion, const char *step, double seconds,
                          const char *detail) {
    loop_ctx *c = ctx;
    int rc = genbo__store_round(c->s, c->run_id, round, n_labels, reward, diffusion, step, seconds);
    if (!rc && c->tr.s) rc = genbo__training_done(&c->tr); /* the fine-tune's checkpoint is obsolete */
    memset(&c->tr, 0, sizeof c->tr);
    if (!rc && detail) rc = genbo__step_detail(c->s, c->run_id, step, detail);
    return rc;
}

/* The study file's [evaluate] evaluator on the study's data (NULL: none). */
static genbo__evaluator *make_evaluator(genbo_study *s, int *rc) {
    const genbo_config *c = s->cfg;
    genbo__evaluator *ev = NULL;
    int kind = c->evaluator;
    if (kind == GENBO__CFG_EVAL_AUTO) kind = s->data.task ? GENBO__CFG_EVAL_ORACLE : GENBO__CFG_EVAL_NONE;
    *rc = GENBO_OK;
    if (kind == GENBO__CFG_EVAL_ORACLE) {
        if (!s->data.task) *rc = genbo__fail(GENBO_EINVAL, "[evaluate] evaluator = oracle needs a synthetic task");
        else *rc = genbo__evaluator_oracle(s->data.task, &ev);
    } else if (kind == GENBO__CFG_EVAL_COMMAND) {
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

int genbo__study_loop(genbo_study *s, int64_t run_id) {
    const genbo_config *c = s->cfg;
    int rc = genbo__pipeline_models(s, run_id);
    genbo__evaluator *ev = NULL;
    if (!rc) ev = make_evaluator(s, &rc);
    if (rc) return rc;
    const char *targets[GENBO__CFG_MAX_TARGETS], *methods[GENBO__CFG_MAX_METHODS];
    for (int i = 0; i < c->n_targets; i++) targets[i] = c->targets[i].label;
    for (int j = 0; j < c->n_methods; j++) methods[j] = c->methods[j];
    genbo__loop_plan plan = {run_id, c->seed, (size_t)c->n_targets, (size_t)c->n_methods, (size_t)c->n,
                             targets, methods, c->rounds, c->loop_target.label, c->loop_method,
                             (size_t)c->loop_batch, c->finetune_steps, {0}};
    genbo__config_diffusion_params(c, &plan.finetune);
    genbo__study_models *m = &s->models;
    genbo__loop_state st = {s->data.dim, s->data.n_label, s->data.n_pool, s->data.label_y, s->data.pool_X,
                            s->data.task, &m->reward, &m->reward_labels, &m->pseudo, m->diffusion, ev,
                            s->progress, s->progress_ctx};
    loop_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.s = s, ctx.run_id = run_id;
    const genbo__loop_store store = {&ctx, op_step_done, op_step_mark, op_target_value, op_batch_counts,
                                     op_batch_insert, op_batch_rows, op_tell, op_batch_metrics, op_labels,
                                     op_trusted_told, op_method_models, op_refit, op_finetune,
                                     op_store_round};
    rc = genbo__loop_run(&plan, &st, &store);
    if (ctx.tr.s) free(ctx.tr.resume); /* a fine-tune that failed before its round was stored */
    genbo__evaluator_free(ev);
    return rc;
}
