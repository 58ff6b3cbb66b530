-- fixture_schema.sql - the study database schema (migration 1 of
-- studies/schema.c on the `studies` branch, copied verbatim) so the
-- dashboard tests can build a fixture database before that code is on main.
-- Keep in sync with docs/studies.md; the dashboard reads only these tables.
CREATE TABLE studies (  id INTEGER PRIMARY KEY,  name TEXT NOT NULL UNIQUE,  config TEXT NOT NULL,  dim INTEGER,  created REAL NOT NULL);
CREATE TABLE runs (  id INTEGER PRIMARY KEY,  study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,  kind TEXT NOT NULL CHECK (kind IN ('run', 'ask')),  config TEXT NOT NULL,  seed INTEGER NOT NULL,  version TEXT NOT NULL,  status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),  started REAL NOT NULL,  ended REAL,  last_step TEXT,  error TEXT);
CREATE INDEX runs_study ON runs(study_id);
CREATE TABLE steps (  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,  step TEXT NOT NULL,  seconds REAL NOT NULL,  finished REAL NOT NULL,  detail TEXT,  PRIMARY KEY (run_id, step));
CREATE TABLE datasets (  id INTEGER PRIMARY KEY,  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,  role TEXT NOT NULL CHECK (role IN ('labelled', 'pool')),  source TEXT NOT NULL,  hash TEXT NOT NULL,  rows INTEGER NOT NULL,  cols INTEGER NOT NULL,  UNIQUE (run_id, role));
CREATE TABLE models (  id INTEGER PRIMARY KEY,  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,  kind TEXT NOT NULL CHECK (kind IN ('reward', 'diffusion')),  round INTEGER,  n_labels INTEGER,  describe TEXT,  created REAL NOT NULL,  data BLOB NOT NULL);
CREATE INDEX models_run ON models(run_id, kind);
CREATE TABLE trials (  id INTEGER PRIMARY KEY AUTOINCREMENT,  study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,  run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,  round INTEGER,  target REAL,  target_label TEXT,  method TEXT NOT NULL,  state TEXT NOT NULL CHECK (state IN ('asked', 'told', 'failed')),  x BLOB,  x_json TEXT,  predicted REAL,  support_distance REAL,  reason TEXT,  asked REAL NOT NULL,  finished REAL);
CREATE INDEX trials_study ON trials(study_id, state);
CREATE INDEX trials_run ON trials(run_id, round, target_label, method);
CREATE TABLE observations (  trial_id INTEGER PRIMARY KEY REFERENCES trials(id) ON DELETE CASCADE,  value REAL NOT NULL,  time REAL NOT NULL);
CREATE TABLE metrics (  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,  round INTEGER NOT NULL,  target_label TEXT NOT NULL,  target REAL NOT NULL,  method TEXT NOT NULL,  subopt REAL,  subopt_kind TEXT CHECK (subopt_kind IN ('true', 'predicted')),  mean_true REAL, best_true REAL, sd_true REAL,  mean_pred REAL, best_pred REAL, sd_pred REAL,  support_distance REAL,  support_kind TEXT CHECK (support_kind IN ('task', 'knn')),  diversity REAL,  novelty REAL,  n INTEGER NOT NULL,  n_failed INTEGER NOT NULL DEFAULT 0,  PRIMARY KEY (run_id, round, target_label, method));
CREATE TABLE reward_samples (  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,  kind TEXT NOT NULL CHECK (kind IN ('labelled', 'pool', 'pool_true')),  value REAL NOT NULL);
CREATE INDEX reward_samples_run ON reward_samples(run_id, kind);
CREATE TABLE targets (  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,  label TEXT NOT NULL,  value REAL NOT NULL,  PRIMARY KEY (run_id, label));
PRAGMA user_version = 1;
