/* loop.h - the optimisation loop of a study run (loop.c). Internal.
 *
 * The loop knows designs, models and evaluators, not where they are kept:
 * every read and write of the run's records goes through a table of
 * storage operations (genbo__loop_store, function pointers + context, as
 * NLopt passes an objective), which studies/ implements on a study's
 * database (studies/loop_store.c). So optimizer/ includes nothing from
 * studies/ and the loop reads top to bottom as the algorithm. */
#ifndef GENBO_OPTIMIZER_LOOP_H
#define GENBO_OPTIMIZER_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include "genbo.h"
#include "optimizer/evaluator.h"
#include "optimizer/methods.h"

/* One batch: the n designs of one (run, round, target, method). */
typedef struct genbo__batch {
    int64_t run_id;
    int round;
    const char *label, *method;
    double target;
    size_t n;
    uint64_t seed;
} genbo__batch;

/* A batch's trials as stored, in id order. */
typedef struct genbo__batch_rows {
    size_t n;
    int64_t *ids;
    double *X, *pred, *supp, *y; /* y: observed value or NaN */
    int *asked;
    int has_supp;
} genbo__batch_rows;

void genbo__batch_rows_free(genbo__batch_rows *r);

/* Where the run's records live. Each call returns GENBO_OK or a status
 * with the message set; ctx is the first argument of every call. */
typedef struct genbo__loop_store {
    void *ctx;
    /* completed steps ("generate", "round 3"): 1 when done */
    int (*step_done)(void *ctx, const char *step);
    /* mark a step completed, in its own transaction */
    int (*step_mark)(void *ctx, const char *step, double seconds);
    /* the value the run resolved for a target label */
    int (*target_value)(void *ctx, const char *label, double *value);
    /* trials and metrics rows stored for a batch so far */
    int (*batch_counts)(void *ctx, const genbo__batch *b, int64_t *n_trials, int64_t *n_metrics);
    /* store a batch's designs as asked trials, in one transaction */
    int (*batch_insert)(void *ctx, const genbo__batch *b, const double *X, const double *pred,
                        const double *supp, const unsigned *flags);
    int (*batch_rows)(void *ctx, const genbo__batch *b, genbo__batch_rows *r);
    /* tell n trials in one transaction: y[i] when finite, else failed with
     * reasons[i]; batch_reason != NULL fails them all */
    int (*tell)(void *ctx, size_t n, const int64_t *ids, const double *y, char *const *reasons,
                const char *batch_reason);
    /* the batch's metrics row from its rows (with_true: observed values) */
    int (*batch_metrics)(void *ctx, const genbo__batch *b, genbo__batch_rows *r, int with_true);
    /* the run's labels: the labelled set, then every told trial (malloc'ed) */
    int (*labels)(void *ctx, double **X, double **y, size_t *n);
    /* the told designs the trust region did not move (malloc'ed) */
    int (*trusted_told)(void *ctx, double **X, double **y, size_t *n);
    /* what the methods use: data, the current models, settings */
    void (*method_models)(void *ctx, genbo__models *mm);
    /* the reward model fitted on labels() with the run's settings */
    int (*refit)(void *ctx, genbo_reward **out, int64_t *n_labels);
    /* fine-tune m with dp on (X, y), recording the training (loss curve,
     * checkpoints to resume from) under round */
    int (*finetune)(void *ctx, int round, genbo_diffusion_params *dp, genbo_diffusion *m, size_t n,
                    const double *X, const double *y);
    /* a round's outputs and its step mark in ONE transaction: the refit
     * reward model, the fine-tuned diffusion model (NULL: none), the
     * detail (NULL: none); then the fine-tune's checkpoint is dropped */
    int (*store_round)(void *ctx, int round, int64_t n_labels, const genbo_reward *reward,
                       const genbo_diffusion *diffusion, const char *step, double seconds,
                       const char *detail);
} genbo__loop_store;

/* What the run does: the generate phase (a batch of n designs for each
 * target and method) and the design-loop rounds ([loop]). Borrowed. */
typedef struct genbo__loop_plan {
    int64_t run_id;
    uint64_t seed;
    size_t n_targets, n_methods, n;
    const char *const *targets, *const *methods; /* target labels, method names */
    int rounds;
    const char *loop_target, *loop_method;
    size_t loop_batch;
    long finetune_steps;
    genbo_diffusion_params finetune; /* the run's diffusion settings */
} genbo__loop_plan;

/* The run's data and models. The models are the caller's: a round's
 * refit replaces *reward (freeing the old one) and its pseudo-labels. */
typedef struct genbo__loop_state {
    size_t dim, n_label, n_pool;
    const double *label_y, *pool_X;
    const genbo_task *task;   /* synthetic task (support distances), or NULL */
    genbo_reward **reward;
    int64_t *reward_labels;
    double **pseudo;          /* n_pool pseudo-labels of *reward */
    genbo_diffusion *diffusion;
    genbo__evaluator *ev;     /* NULL: nothing is evaluated */
    genbo_progress_fn progress;
    void *progress_ctx;
} genbo__loop_state;

/* Every step of the plan not yet completed: the generate phase, then the
 * rounds (a batch at the loop target, refit, optional fine-tune). The
 * models must be in place (studies/pipeline.c). */
int genbo__loop_run(const genbo__loop_plan *plan, genbo__loop_state *st, const genbo__loop_store *store);

#endif
