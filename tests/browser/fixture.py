"""fixture.py - a small, plausible genbo study database for the dashboard
tests, written with the schema in fixture_schema.sql (the studies branch's
migration 1) as another process would write it.

make_fixture(path, seed) builds study "demo": 3 runs (seeds), 6 methods x 5
targets in the generation phase (round 0, 6 designs each, a few failed), 3
design-loop rounds for the genbo method, reward samples, and one study
"empty" with no runs. Deterministic for a given seed.
"""
import json
import math
import os
import random
import sqlite3

HERE = os.path.dirname(os.path.abspath(__file__))
METHODS = ["genbo", "conditional", "unguided", "gradient", "surrogate_ascent", "best_labelled",
           "random"]
TARGETS = [("p50", 0.0), ("p75", 0.7), ("p90", 1.3), ("p99", 2.3), ("max", 3.0)]
CONFIG = "[study]\nname = demo\n\n[task]\nkind = subspace_linear\nD = 16\nd = 4\n"


def connect(path):
    db = sqlite3.connect(path, timeout=5.0, isolation_level=None)
    db.execute("PRAGMA foreign_keys = ON")
    return db


def make_fixture(path, seed=1, runs=3, per_batch=6, rounds=3):
    if os.path.exists(path):
        os.remove(path)
    rng = random.Random(seed)
    db = connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    with open(os.path.join(HERE, "fixture_schema.sql")) as f:
        db.executescript(f.read())
    db.execute("BEGIN")
    t0 = 1.7e9 + rng.random() * 1e6
    db.execute("INSERT INTO studies(name, config, dim, created) VALUES ('demo', ?, 16, ?)",
               (CONFIG, t0))
    db.execute("INSERT INTO studies(name, config, dim, created) VALUES ('empty', ?, 8, ?)",
               ("[study]\nname = empty\n", t0 + 1))
    for r in range(runs):
        started = t0 + 100 * r
        status = "done" if r < runs - 1 else "failed"
        cur = db.execute(
            "INSERT INTO runs(study_id, kind, config, seed, version, status, started, ended,"
            " last_step, error) VALUES (1, 'run', ?, ?, '0.1.0', ?, ?, ?, ?, ?)",
            (CONFIG + "seed = %d\n" % (r + 1), r + 1, status, started,
             started + 20 + 10 * rng.random(), "rounds" if status == "done" else "generate",
             None if status == "done" else "diffusion training diverged (loss = nan)"))
        run = cur.lastrowid
        # Reward samples: labelled ~ N(0, 1), pool pseudo-labels and truth.
        for _ in range(40):
            db.execute("INSERT INTO reward_samples VALUES (?, 'labelled', ?)", (run, rng.gauss(0, 1)))
        for _ in range(150):
            y = rng.gauss(0, 1)
            db.execute("INSERT INTO reward_samples VALUES (?, 'pool', ?)", (run, y + rng.gauss(0, .2)))
            db.execute("INSERT INTO reward_samples VALUES (?, 'pool_true', ?)", (run, y))
        for label, a in TARGETS:
            a_run = a + 0.05 * rng.gauss(0, 1)
            db.execute("INSERT INTO targets VALUES (?, ?, ?)", (run, label, a_run))
            for mi, m in enumerate(METHODS):
                # genbo tracks the target until the data run out; others lag.
                reach = 2.4 - 0.3 * mi
                mean = min(a_run, reach) - 0.1 * mi + 0.05 * rng.gauss(0, 1)
                vals, failed = [], 0
                for k in range(per_batch):
                    x = [rng.gauss(0, 1) for _ in range(4)]
                    pred = mean + 0.3 * rng.gauss(0, 1)
                    asked = started + 5 + 0.01 * k
                    if m == "random" and k == 0 and label == "max":
                        state, reason, value = "failed", "evaluator exited with status 3 <stderr: bad input>", None
                        failed += 1
                    else:
                        state, reason, value = "told", None, pred + 0.2 * rng.gauss(0, 1)
                        vals.append(value)
                    cur = db.execute(
                        "INSERT INTO trials(study_id, run_id, round, target, target_label, method,"
                        " state, x_json, predicted, support_distance, reason, asked, finished)"
                        " VALUES (1, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (run, a_run, label, m, state, json.dumps(x), pred,
                         abs(rng.gauss(0, 0.2)) * (1 + a_run), reason, asked, asked + 0.5))
                    if value is not None:
                        db.execute("INSERT INTO observations VALUES (?, ?, ?)",
                                   (cur.lastrowid, value, asked + 0.5))
                mt = sum(vals) / len(vals)
                sd = math.sqrt(sum((v - mt) ** 2 for v in vals) / len(vals))
                db.execute(
                    "INSERT INTO metrics VALUES (?, 0, ?, ?, ?, ?, 'true', ?, ?, ?, ?, ?, ?, ?,"
                    " 'task', ?, ?, ?, ?)",
                    (run, label, a_run, m, a_run - mt, mt, max(vals), sd, mt + 0.1,
                     max(vals) + 0.1, sd, 0.1 + 0.05 * mi * a_run + 0.02 * rng.random(),
                     2.0 - 0.1 * mi - 0.1 * a_run + 0.05 * rng.random(), 1.0 + rng.random(),
                     per_batch, failed))
        for rd in range(1, rounds + 1):
            best = 2.0 + 0.3 * rd + 0.1 * rng.gauss(0, 1)
            mt = best - 0.6
            db.execute(
                "INSERT INTO metrics VALUES (?, ?, 'max', 3.0, 'genbo', ?, 'true', ?, ?, 0.3,"
                " NULL, NULL, NULL, ?, 'task', ?, NULL, 8, 0)",
                (run, rd, 3.0 - mt, mt, best, 0.2 + 0.05 * rd, 1.5 - 0.1 * rd))
    db.execute("COMMIT")
    db.close()


def tell_new_trial(path, value, method="genbo", label="max"):
    """Write one new told trial, as `genbo tell` in another process would.
    Returns its id. timeout=0: a write blocked by the dashboard fails."""
    import time
    now = time.time()
    db = sqlite3.connect(path, timeout=0, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    cur = db.execute(
        "INSERT INTO trials(study_id, run_id, round, target, target_label, method, state,"
        " predicted, asked, finished) VALUES (1, NULL, NULL, 3.0, ?, ?, 'told', ?, ?, ?)",
        (label, method, value - 0.25, now, now))
    tid = cur.lastrowid
    db.execute("INSERT INTO observations VALUES (?, ?, ?)", (tid, value, now))
    db.execute("COMMIT")
    db.close()
    return tid


if __name__ == "__main__":
    import sys
    make_fixture(sys.argv[1] if len(sys.argv) > 1 else "fixture.db")
