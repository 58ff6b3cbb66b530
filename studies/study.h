/* study.h - internals of a study handle and the pieces shared by ask/tell
 * (ask.c, trials.c) and the pipeline (run.c, pipeline.c, optimizer/loop.c).
 * Internal. */
#ifndef GENBO_STUDIES_STUDY_H
#define GENBO_STUDIES_STUDY_H

#include <stddef.h>
#include <stdint.h>

#include "genbo.h"
#include "optimizer/methods.h"
#include "optimizer/trust.h"
#include "studies/config.h"
#include "studies/db.h"

/* The data a run works on, rebuilt deterministically from the
 * configuration (synthetic task + seed, or the CSV files, checked against
 * the stored content hashes). */
typedef struct genbo__study_data {
    genbo_task *task;      /* NULL for CSV data */
    genbo_dataset *labelled;
    genbo_dataset *pool;   /* NULL: the labelled designs double as the pool */
    size_t dim, n_label, n_pool;
    const double *label_X, *label_y, *pool_X; /* borrowed from the datasets */
    double knn_scale;      /* pool's own kNN distance (0 = not computed yet) */
    genbo__trust trust;    /* where designs may go ([constraints]; trust.h) */
} genbo__study_data;

/* Models of one run, as loaded or fitted. */
typedef struct genbo__study_models {
    int64_t run_id;
    genbo_reward *reward;
    int64_t reward_labels; /* labels the reward model was fitted on */
    genbo_diffusion *diffusion;
    genbo_diffusion *reweighted; /* DDOM-reweighted model (NULL unless a method needs it) */
    double *pseudo;        /* pool pseudo-labels from `reward` (n_pool) */
} genbo__study_models;

struct genbo_study {
    genbo__db *db;
    char *db_path; /* the target with any password masked (messages, lock file) */
    int readonly;
    int64_t id;
    char name[128];
    genbo_config *cfg;
    char *cfg_text; /* genbo_config_to_ini(cfg) */
    genbo__study_data data;
    int have_data;
    genbo__study_models models;
    genbo_progress_fn progress;
    void *progress_ctx;
    char **names; /* feature names, loaded on first use (read.c) */
    size_t n_names;
    int shared_db;  /* opened by genbo_db_study: db belongs to the genbo_db; never loads data */
    int cfg_broken; /* the stored configuration did not parse: cfg holds the defaults */
};

/* The configuration as stored in the database: INI text with any password
 * in [study] db masked (never stored). */
char *genbo__study_config_text(const genbo_config *cfg);
/* Every study's genbo_study_summary (catalog.c), on an open connection. */
int genbo__studies_list(genbo__db *db, genbo_study_summary **out, size_t *n);

/* The stale-trial timeout of a configuration ([ask] timeout, else twice
 * [ask] heartbeat, else 0 = none; stale.c). */
double genbo__stale_timeout(const genbo_config *c);

/* Unix time in seconds (what the database stores). */
double genbo__unix_now(void);

/* Data: load (once per handle) from the configuration. */
int genbo__study_load_data(genbo_study *s);
void genbo__study_data_free(genbo__study_data *d);
void genbo__study_models_free(genbo__study_models *m);
void genbo__study_names_free(genbo_study *s);
/* CRC-32 of a dataset's designs and rewards, as 8 hex digits. */
void genbo__dataset_hash(const genbo_dataset *ds, char out[9]);

/* Labels of a run: the labelled set plus every told trial of the run
 * (malloc'ed X n x dim and y; *n counts them). */
int genbo__run_labels(genbo_study *s, int64_t run_id, double **X, double **y, size_t *n);
int64_t genbo__run_told_count(genbo_study *s, int64_t run_id);
/* The run's told designs the trust region did not move (trials.flags
 * NULL), the ones the diffusion model may be fine-tuned on (malloc'ed). */
int genbo__run_trusted_told(genbo_study *s, int64_t run_id, double **X, double **y, size_t *n);

/* Model BLOBs. round < 0 stores NULL (a refit by ask). */
int genbo__store_reward(genbo_study *s, int64_t run_id, int round, int64_t n_labels,
                        const genbo_reward *m);
int genbo__store_diffusion(genbo_study *s, int64_t run_id, int round, const genbo_diffusion *m);
/* The same, committed together with a completed-step mark. */
int genbo__store_reward_step(genbo_study *s, int64_t run_id, int round, int64_t n_labels,
                             const genbo_reward *m, const char *step, double seconds);
int genbo__store_diffusion_step(genbo_study *s, int64_t run_id, int round,
                                const genbo_diffusion *m, const char *step, double seconds);
/* A design-loop round's outputs - the refit reward model, the fine-tuned
 * diffusion model (NULL: none) - and its step mark, in ONE transaction: a
 * kill before it leaves the previous round's models the newest, so the
 * resumed round redoes the same refit and fine-tune from the same start. */
int genbo__store_round(genbo_study *s, int64_t run_id, int round, int64_t n_labels,
                       const genbo_reward *reward, const genbo_diffusion *diffusion, const char *step,
                       double seconds);
/* Ask's reward refit (round NULL): replaces the run's previous ask refit,
 * unless that one was fitted on at least as many labels, so a run keeps at
 * most one (issue 10.7: one row per ask was 275 MB after 8,000 pairs). */
int genbo__store_ask_refit(genbo_study *s, int64_t run_id, int64_t n_labels, const genbo_reward *m);
/* A diffusion model with a role (models.role, e.g. "reweighted"; NULL =
 * the run's main model), committed with a step mark when step != NULL. */
int genbo__store_diffusion_role_step(genbo_study *s, int64_t run_id, const char *role, int round,
                                     const genbo_diffusion *m, const char *step, double seconds);
int genbo__load_diffusion_role(genbo_study *s, int64_t run_id, const char *role,
                               genbo_diffusion **out);
/* Latest model of a kind for a run (GENBO_ENOTFOUND if none). */
int genbo__load_reward(genbo_study *s, int64_t run_id, genbo_reward **out, int64_t *n_labels);
int genbo__load_diffusion(genbo_study *s, int64_t run_id, genbo_diffusion **out);
/* The first reward model a run stored for a round (0: the pipeline's). */
int genbo__load_reward_round(genbo_study *s, int64_t run_id, int round, genbo_reward **out);

/* A diffusion training recorded in the database (training.c): attach sets
 * dp's report, curve and checkpoint callbacks and the checkpoint to resume
 * from; finish stores the summary (after success or an interruption) and
 * returns train_rc or a storage failure; done deletes the checkpoint once
 * the trained model is stored. */
typedef struct genbo__study_training {
    genbo_study *s;
    int64_t run_id;
    int round;
    genbo_train_report report;
    void *resume;
    size_t resume_len;
} genbo__study_training;
int genbo__training_attach(genbo_study *s, int64_t run_id, int round, genbo_diffusion_params *dp,
                           genbo__study_training *tr);
int genbo__training_finish(genbo__study_training *tr, int train_rc);
int genbo__training_done(genbo__study_training *tr);
/* "converged", "max_steps", ... as stored in trainings.stop */
const char *genbo__train_stop_name(genbo_train_stop stop);

/* Steps of a run. */
int genbo__step_done(genbo_study *s, int64_t run_id, const char *step);
int genbo__step_mark(genbo_study *s, int64_t run_id, const char *step, double seconds,
                     const char *detail);
/* Set a completed step's detail, in its own transaction. */
int genbo__step_detail(genbo_study *s, int64_t run_id, const char *step, const char *detail);

/* The run's design loop (optimizer/loop.c) on this study's storage
 * (loop_store.c): the pipeline's model steps, then every step not yet
 * completed. */
int genbo__study_loop(genbo_study *s, int64_t run_id);

/* The first pipeline steps (data, reward, pseudo-labels, diffusion), each
 * skipped when already completed for run_id; leaves s->models loaded. */
int genbo__pipeline_models(genbo_study *s, int64_t run_id);

/* Fit the reward model on the run's labels (labelled set + told trials). */
int genbo__refit_reward(genbo_study *s, int64_t run_id, genbo_reward **out, int64_t *n_labels);
/* A target spec's value on the pool's pseudo-labels. */
double genbo__resolve_target(const genbo__target *t, const double *pseudo, size_t n);

/* Trials. */
int genbo__trials_reserve(genbo_study *s, int64_t run_id, int round, double target,
                          const char *target_label, const char *method, size_t n, int64_t *ids);
/* flags (n GENBO_DESIGN_* values, may be NULL) -> trials.flags text. */
int genbo__trials_set_designs(genbo_study *s, size_t n, const int64_t *ids, const double *X,
                              const double *pred, const double *support, const unsigned *flags);
/* Reserve and store designs in one transaction (the pipeline's batches). */
int genbo__trials_insert(genbo_study *s, int64_t run_id, int round, double target,
                         const char *target_label, const char *method, size_t n, const double *X,
                         const double *pred, const double *support, const unsigned *flags,
                         int64_t *ids);
/* Tell n trials in one transaction: y[i] when finite, else a failure with
 * reasons[i] (may be NULL); batch_reason != NULL fails them all. */
int genbo__trials_tell_batch(genbo_study *s, size_t n, const int64_t *ids, const double *y,
                             char *const *reasons, const char *batch_reason);
int genbo__trials_fail(genbo_study *s, size_t n, const int64_t *ids, const char *reason);

/* What the optimizer's methods need (optimizer/methods.h), borrowed from
 * the study's data and current models. */
void genbo__study_method_models(genbo_study *s, genbo__models *mm);

/* Runs: create one (kind "run" or "ask", status running) and record its
 * end (status done, or failed with the current error message when rc). */
int genbo__run_create(genbo_study *s, const char *kind, int64_t *run_id);
int genbo__run_finish(genbo_study *s, int64_t run_id, int rc);
/* The value a run resolved for a target label (table targets). */
int genbo__run_target_value(genbo_study *s, int64_t run_id, const char *label, double *value);
/* Hold the study's run lock (run_lock.c): *lock_fd to close when done. */
int genbo__run_lock(genbo_study *s, int *lock_fd);
/* Release it (the fd, or the PostgreSQL advisory lock when lock_fd < 0). */
void genbo__run_unlock(genbo_study *s, int lock_fd);
/* The run lock file of a study: "<db>.<name>.runlock", the name's bytes
 * other than [A-Za-z0-9._-] percent-encoded (a '/' must not make a path). */
void genbo__run_lock_path(const char *db_path, const char *name, char *out, size_t size);
/* The newest run of kind 'run' (0 if none). */
int64_t genbo__study_last_run(genbo_study *s);
/* After a tell: when the trial's batch (a run's round >= 0) has no asked
 * trial left and its metrics came from predicted rewards, recompute them
 * from the told values (evaluator = none: the user is the evaluator). */
int genbo__batch_metrics_after_tell(genbo_study *s, int64_t trial_id);

#endif
