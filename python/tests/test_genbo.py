"""The Python module over libgenbo: a 3-round ask/tell loop on a CSV
study, errors as exceptions with genbo's message, progress and cancel,
reads, and the ctypes struct layouts against the C compiler's."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import genbo  # noqa: E402

SRC = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
CENTER = np.array([0.5, -0.25, 0.0, 0.75])


def reward(x):
    """The black box of the test: a concave bowl with its top inside the data."""
    return float(1.0 - np.sum((np.asarray(x) - CENTER) ** 2))


def write_study(tmp_path, name="bowl", steps=600):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 4))
    y = np.array([reward(x) for x in X]) + 0.05 * rng.normal(size=300)
    with open(tmp_path / "labelled.csv", "w") as f:
        f.write("temp,press,flow,ratio,reward\n")
        for xi, yi in zip(X, y):
            f.write(",".join(f"{v:.17g}" for v in (*xi, yi)) + "\n")
    ini = tmp_path / f"{name}.ini"
    ini.write_text(f"""[study]
name = {name}
seed = 2
[data]
task = csv
labelled = labelled.csv
[diffusion]
width = 64
depth = 1
t_embed = 16
y_embed = 16
steps = {steps}
batch = 128
[generate]
steps = 30
[loop]
target = p90
[ask]
steps = 30
""")
    return ini, y


def test_three_round_loop(tmp_path):
    ini, y_labelled = write_study(tmp_path)
    db = str(tmp_path / "loop.db")
    study = genbo.create_study(db, str(ini))
    assert study.dim == 4
    assert study.feature_names == ["temp", "press", "flow", "ratio"]
    seen, values = set(), []
    for rnd in range(3):
        trials = study.ask(target="p90", n=8)
        assert len(trials) == 8
        for t in trials:
            assert t.id not in seen
            seen.add(t.id)
            assert t.x.shape == (4,) and t.x.dtype == np.float64
            assert np.all(np.isfinite(t.x))
            assert list(t.params) == study.feature_names
            assert t.params["temp"] == t.x[0]
            assert t.target_label == "p90" and t.method == "genbo"
            v = reward(t.x)
            values.append(v)
            study.tell(t, v)
        print(f"round {rnd + 1}: best so far {max(values):.4f}, mean this round "
              f"{np.mean(values[-8:]):.4f}")
    best = study.best_trial
    assert best.value == max(values)
    assert best.state == "told" and best.round is None
    np.testing.assert_array_equal(best.x, [best.params[k] for k in study.feature_names])
    assert reward(best.x) == best.value
    # The loop aims at the data's 90th percentile: its designs score above
    # the median label (a real property of guided generation; could fail).
    assert np.mean(values) > np.median(y_labelled), (np.mean(values), np.median(y_labelled))
    trials = study.trials
    assert [t.id for t in trials] == sorted(seen)
    assert all(t.state == "told" for t in trials)
    assert study.best_of(genbo.PHASE_RUN) is None  # no `genbo run`: no run phase
    summary = genbo.studies(db)
    assert summary[0]["name"] == "bowl" and summary[0]["told"] == 24
    assert summary[0]["best_value"] == summary[0]["best_loop"] == best.value
    assert summary[0]["best_run"] is None
    study.close()


def test_errors_are_exceptions_with_genbos_message(tmp_path):
    ini, _ = write_study(tmp_path, steps=200)
    db = str(tmp_path / "err.db")
    with pytest.raises(genbo.GenboError, match="no such database") as e:
        genbo.Study(str(tmp_path / "missing.db"), "bowl")
    assert e.value.code == "GENBO_ENOTFOUND"
    study = genbo.create_study(db, str(ini))
    with pytest.raises(genbo.GenboError, match="no study named 'nope'"):
        genbo.Study(db, "nope")
    with pytest.raises(ValueError):
        study.best_trial  # nothing told yet
    (t,) = study.ask(n=1)  # [loop] target and method
    assert t.target_label == "p90"
    study.tell(t, 0.5)
    with pytest.raises(genbo.GenboError, match="already told"):
        study.tell(t, 0.6)
    with pytest.raises(genbo.GenboError, match="not a finite number"):
        study.tell(study.ask()[0], float("nan"))
    with pytest.raises(genbo.GenboError, match="has no trial 999999"):
        study.tell(999999, 1.0)
    with pytest.raises(genbo.GenboError, match="pQ needs 0 <= Q <= 100"):
        study.ask(target="p120")
    with pytest.raises(genbo.GenboError, match="annealing"):
        study.ask(method="annealing")
    (f,) = study.ask(target=0.9, method="random")
    assert f.method == "random" and f.target == 0.9
    study.tell_failed(f, "sensor offline")
    (frozen,) = [x for x in study.trials if x.id == f.id]
    assert frozen.state == "failed" and frozen.reason == "sensor offline" and frozen.value is None
    with pytest.warns(genbo.GenboWarning, match="beyond the data"):
        (w,) = study.ask(target=50)
    assert "beyond the data" in w.warning
    study.close()
    ro = genbo.Study(db, "bowl", read_only=True)
    with pytest.raises(genbo.GenboError, match="read-only"):
        ro.ask()
    assert len(ro.trials) == 4  # the failed asks reserved no trial
    ro.close()
    genbo.delete_study(db, "bowl")
    assert genbo.studies(db) == []


def test_progress_reports_and_cancels(tmp_path):
    ini, _ = write_study(tmp_path, steps=3000)
    db = str(tmp_path / "prog.db")
    study = genbo.create_study(db, str(ini))
    stages = []

    def stop_at_third_train_report(stage, done, total, msg):
        stages.append(stage)
        return stages.count("train") >= 3

    with pytest.raises(genbo.GenboError, match="interrupted"):
        study.prepare(stop_at_third_train_report)
    assert stages.count("train") == 3 and "reward" in stages

    def boom(stage, done, total, msg):
        raise KeyError("from the callback")

    with pytest.raises(KeyError, match="from the callback"):
        study.prepare(boom)
    done = []
    study.prepare(lambda stage, d, t, m: done.append((stage, d, t)) and False)
    assert done[-1][0] == "train" and done[-1][1] == done[-1][2] == 3000
    study.close()


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler to compare layouts")
def test_struct_layouts_match_genbo_h(tmp_path):
    from genbo import _lib
    prog = tmp_path / "sizes.c"
    prog.write_text("""#include <stddef.h>
#include <stdio.h>
#include "genbo.h"
int main(void) {
    printf("%zu %zu %zu %zu %zu %zu\\n", sizeof(genbo_ask_options), sizeof(genbo_ask_info),
           sizeof(genbo_trial), offsetof(genbo_trial, x), sizeof(genbo_study_summary),
           offsetof(genbo_study_summary, best_run));
    return 0;
}
""")
    exe = tmp_path / "sizes"
    subprocess.run(["cc", "-std=c11", "-I", os.path.join(SRC, "include"), str(prog), "-o", str(exe)],
                   check=True)
    got = [int(v) for v in subprocess.run([str(exe)], check=True, capture_output=True,
                                          text=True).stdout.split()]
    import ctypes
    want = [ctypes.sizeof(_lib.AskOptions), ctypes.sizeof(_lib.AskInfo), ctypes.sizeof(_lib.Trial),
            _lib.Trial.x.offset, ctypes.sizeof(_lib.StudySummary), _lib.StudySummary.best_run.offset]
    assert got == want
