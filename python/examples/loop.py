#!/usr/bin/env python3
"""loop.py DB - a 3-round design loop from Python, start to finish.

Writes 300 labelled designs of a 4-feature black box (a bowl whose top,
reward 1, lies inside the data) to bowl.csv beside DB, creates the study
with genbo.create_study (no `genbo run`), then asks 8 designs a round at
the data's 90th percentile, "measures" them and tells the values. The
same database then shows the loop in `genbo serve --db DB`.

    PYTHONPATH=python python3 python/examples/loop.py /tmp/bowl.db
"""
import os
import sys

import numpy as np

import genbo

CENTER = np.array([0.5, -0.25, 0.0, 0.75])


def measure(x):
    """The black box (in real life: an experiment or a simulation)."""
    return float(1.0 - np.sum((x - CENTER) ** 2))


def main(db):
    here = os.path.dirname(os.path.abspath(db))
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 4))
    y = [measure(x) + 0.05 * rng.normal() for x in X]
    with open(os.path.join(here, "bowl.csv"), "w") as f:
        f.write("temp,press,flow,ratio,reward\n")
        for xi, yi in zip(X, y):
            f.write(",".join("%.17g" % v for v in (*xi, yi)) + "\n")
    ini = os.path.join(here, "bowl.ini")
    with open(ini, "w") as f:
        f.write("[study]\nname = bowl\n[data]\ntask = csv\nlabelled = bowl.csv\n[reward]\nmodel = gp\n"
                "[diffusion]\nwidth = 128\ndepth = 2\nsteps = 3000\nbatch = 256\n"
                "[loop]\ntarget = p90\n[ask]\nsteps = 100\n")
    study = genbo.create_study(db, ini)
    print("study %r: %d features %s, best label %.4f, median label %.4f"
          % (study.name, study.dim, study.feature_names, max(y), float(np.median(y))))
    last = [0.0]

    def progress(stage, done, total, msg):
        if stage == "train" and done - last[0] >= total / 4:
            last[0] = done
            print("  training %d/%d %s" % (done, total, msg))

    for rnd in range(1, 4):
        trials = study.ask(target="p90", n=8, progress=progress)
        values = [measure(t.x) for t in trials]
        for t, v in zip(trials, values):
            study.tell(t, v)
        print("round %d: trials %d-%d at %s = %.4f: mean %.4f, best %.4f; best so far %.4f (trial %d)"
              % (rnd, trials[0].id, trials[-1].id, trials[0].target_label, trials[0].target,
                 np.mean(values), max(values), study.best_value, study.best_trial.id))
    best = study.best_trial
    print("best trial %d: value %.4f (predicted %.4f when asked)" % (best.id, best.value, best.predicted))
    print("  " + ", ".join("%s=%.4f" % kv for kv in best.params.items()))
    print("  (the top of the bowl: %s)" % ", ".join("%s=%.4f" % (k, v) for k, v in
                                                   zip(study.feature_names, CENTER)))
    study.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bowl.db")
