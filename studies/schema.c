/* schema.c - the study database's schema as an ordered list of migrations.
 *
 * PRAGMA user_version holds the number of migrations applied. Opening a
 * database applies the missing ones in one transaction; a database written
 * by a newer genbo (user_version > known) is refused with GENBO_EVERSION.
 * Never edit a migration that has shipped: append a new one. The full
 * schema is documented in README.md (tests/test_docs.c checks it). */
#include "studies/store.h"

static const char *const migration_1 =
    /* One row per study (a name in a database). config is the resolved
     * study file (INI text) the study was last opened with. */
    "CREATE TABLE studies ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  config TEXT NOT NULL,"
    "  dim INTEGER,"
    "  created REAL NOT NULL"
    ");"
    /* One row per execution of the pipeline (genbo run) or per ask/tell
     * session that had to train its own models (kind = 'ask'). */
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY,"
    "  study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL CHECK (kind IN ('run', 'ask')),"
    "  config TEXT NOT NULL,"
    "  seed INTEGER NOT NULL,"
    "  version TEXT NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),"
    "  started REAL NOT NULL,"
    "  ended REAL,"
    "  last_step TEXT,"
    "  error TEXT"
    ");"
    "CREATE INDEX runs_study ON runs(study_id);"
    /* Completed pipeline steps, in order: the resume points of a run. */
    "CREATE TABLE steps ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  step TEXT NOT NULL,"
    "  seconds REAL NOT NULL,"
    "  finished REAL NOT NULL,"
    "  detail TEXT,"
    "  PRIMARY KEY (run_id, step)"
    ");"
    /* The data a run used: a content hash (CRC-32 of the design matrix and
     * rewards as doubles, hex) so a resumed run can check it sees the same
     * data. source is a path or 'task:<kind>'. */
    "CREATE TABLE datasets ("
    "  id INTEGER PRIMARY KEY,"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  role TEXT NOT NULL CHECK (role IN ('labelled', 'pool')),"
    "  source TEXT NOT NULL,"
    "  hash TEXT NOT NULL,"
    "  rows INTEGER NOT NULL,"
    "  cols INTEGER NOT NULL,"
    "  UNIQUE (run_id, role)"
    ");"
    /* Fitted models as BLOBs in genbo's versioned binary formats
     * (genbo_reward_save_buffer / genbo_diffusion_save_buffer). round is 0
     * for the pipeline's first models, r for design-loop round r, NULL for
     * refits done by ask. n_labels = labels the reward model was fitted on. */
    "CREATE TABLE models ("
    "  id INTEGER PRIMARY KEY,"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL CHECK (kind IN ('reward', 'diffusion')),"
    "  round INTEGER,"
    "  n_labels INTEGER,"
    "  describe TEXT,"
    "  created REAL NOT NULL,"
    "  data BLOB NOT NULL"
    ");"
    "CREATE INDEX models_run ON models(run_id, kind);"
    /* Every design genbo proposed. round 0 = the generation phase (one batch
     * per target and method), r >= 1 = design-loop round r, NULL = asked
     * through genbo_study_ask / `genbo ask`. x is the design as little-endian
     * doubles (dim * 8 bytes), x_json the same as a JSON array. target is the
     * resolved target reward, target_label its spec ("p90", "max", "2.5").
     * predicted = the reward model's prediction when asked. */
    "CREATE TABLE trials ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,"
    "  run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,"
    "  round INTEGER,"
    "  target REAL,"
    "  target_label TEXT,"
    "  method TEXT NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('asked', 'told', 'failed')),"
    "  x BLOB,"
    "  x_json TEXT,"
    "  predicted REAL,"
    "  support_distance REAL,"
    "  reason TEXT,"
    "  asked REAL NOT NULL,"
    "  finished REAL"
    ");"
    "CREATE INDEX trials_study ON trials(study_id, state);"
    "CREATE INDEX trials_run ON trials(run_id, round, target_label, method);"
    /* Observed rewards: at most one per trial (a told trial). */
    "CREATE TABLE observations ("
    "  trial_id INTEGER PRIMARY KEY REFERENCES trials(id) ON DELETE CASCADE,"
    "  value REAL NOT NULL,"
    "  time REAL NOT NULL"
    ");"
    /* One row per (run, round, target, method) batch. subopt = target - mean
     * reward, computed from true rewards (subopt_kind 'true') or, when none
     * exist, from predicted ones ('predicted'). *_true are NULL without true
     * rewards. support_distance: the task's own (0 on the support) or a kNN
     * ratio (~1 = as close as pool points are to each other). */
    "CREATE TABLE metrics ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  round INTEGER NOT NULL,"
    "  target_label TEXT NOT NULL,"
    "  target REAL NOT NULL,"
    "  method TEXT NOT NULL,"
    "  subopt REAL,"
    "  subopt_kind TEXT CHECK (subopt_kind IN ('true', 'predicted')),"
    "  mean_true REAL, best_true REAL, sd_true REAL,"
    "  mean_pred REAL, best_pred REAL, sd_pred REAL,"
    "  support_distance REAL,"
    "  support_kind TEXT CHECK (support_kind IN ('task', 'knn')),"
    "  diversity REAL,"
    "  novelty REAL,"
    "  n INTEGER NOT NULL,"
    "  n_failed INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (run_id, round, target_label, method)"
    ");"
    /* Reward values for the dashboard's distributions: kind 'labelled' (the
     * observed labels), 'pool' (pseudo-labels of a seeded subsample of at
     * most 2000 pool designs), 'pool_true' (their true rewards when a task
     * oracle exists). */
    "CREATE TABLE reward_samples ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL CHECK (kind IN ('labelled', 'pool', 'pool_true')),"
    "  value REAL NOT NULL"
    ");"
    "CREATE INDEX reward_samples_run ON reward_samples(run_id, kind);"
    /* Resolved targets of a run: label -> value (percentiles of the pool's
     * pseudo-rewards, the pool max, or absolute). */
    "CREATE TABLE targets ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  label TEXT NOT NULL,"
    "  value REAL NOT NULL,"
    "  PRIMARY KEY (run_id, label)"
    ");";

/* Version 2: the feature names of a dataset (a JSON array of strings, the
 * CSV header or x0..x{D-1}), so exports can name their columns. */
static const char *const migration_2 = "ALTER TABLE datasets ADD COLUMN columns TEXT;";

/* Version 3: every schema change of the second wave, in one migration. */
static const char *const migration_3 =
    /* One row per diffusion training of a run: round 0 = the pipeline's,
     * r = the fine-tune after design-loop round r, -1 = the reweighted
     * (DDOM) model's. stop: 'steps' (a fixed
     * step count), 'converged' (validation loss stopped improving),
     * 'max_steps' / 'max_seconds' (budget hit before converging),
     * 'interrupted' (resumable from train_checkpoints). The validation
     * split is val_seed's permutation of the pool (n_val rows held out). */
    "CREATE TABLE trainings ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  round INTEGER NOT NULL,"
    "  stop TEXT NOT NULL CHECK (stop IN ('steps', 'converged', 'max_steps', 'max_seconds',"
    "    'interrupted')),"
    "  steps INTEGER NOT NULL,"
    "  best_step INTEGER,"
    "  best_val_loss REAL,"
    "  val_loss REAL,"
    "  train_loss REAL,"
    "  seconds REAL NOT NULL,"
    "  resumed_from INTEGER NOT NULL DEFAULT 0,"
    "  n_train INTEGER NOT NULL,"
    "  n_val INTEGER NOT NULL,"
    "  val_seed INTEGER NOT NULL,"
    "  width INTEGER NOT NULL,"
    "  depth INTEGER NOT NULL,"
    "  batch INTEGER NOT NULL,"
    "  PRIMARY KEY (run_id, round)"
    ");"
    /* The loss curves: one row per validation (every eval_every steps and
     * at the end). train_loss = mean minibatch loss since the previous
     * row, val_loss = EMA weights on the fixed validation draws. */
    "CREATE TABLE train_curve ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  round INTEGER NOT NULL,"
    "  step INTEGER NOT NULL,"
    "  train_loss REAL,"
    "  val_loss REAL,"
    "  lr REAL,"
    "  seconds REAL,"
    "  PRIMARY KEY (run_id, round, step)"
    ");"
    /* The last checkpoint of a training in progress (at most one per run
     * and round, replaced in place, deleted when the training completes):
     * weights, Adam moments, EMA, best weights, RNG, step, schedule. */
    "CREATE TABLE train_checkpoints ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  round INTEGER NOT NULL,"
    "  step INTEGER NOT NULL,"
    "  created REAL NOT NULL,"
    "  data BLOB NOT NULL,"
    "  PRIMARY KEY (run_id, round)"
    ");"
    /* trials.flags: what the trust region did to the design, NULL =
     * nothing; 'projected' (it was outside the region and was projected
     * onto it), 'resampled' (the sampler diverged and the design was drawn
     * again) or 'resampled,projected'. */
    "ALTER TABLE trials ADD COLUMN flags TEXT;"

    /* models.role names a model's job beside the run's main one: NULL =
     * the main model, 'reweighted' = the diffusion model trained with DDOM
     * weights toward high pseudo-rewards (method `reweighted`). */
    "ALTER TABLE models ADD COLUMN role TEXT;";

/* Version 4: every schema change of the third wave, in one migration. */
static const char *const migration_4 =
    /* trials.heartbeat: the last sign of life of an asked trial's worker
     * (genbo_study_heartbeat), NULL = none since the ask; a trial with no
     * tell and no heartbeat for [ask] timeout seconds is failed as stale. */
    "ALTER TABLE trials ADD COLUMN heartbeat REAL;";

const char *const genbo__migrations[] = {migration_1, migration_2, migration_3, migration_4};
const int genbo__n_migrations = (int)(sizeof genbo__migrations / sizeof genbo__migrations[0]);
