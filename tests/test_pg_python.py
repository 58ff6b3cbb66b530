"""The Python module on a PostgreSQL study (issue 13): a 3-round ask/tell
loop on a postgresql:// URL through genbo.create_study / Study / studies,
the best trial is the best told value, a late tell raises GENBO_ESTATE,
and a connection that fails names the server but never the password.

The server is the tests' throw-away one (tests/pg_server.sh). Without the
server binaries, or with a genbo built without libpq, this prints SKIPPED
and exits 77 (ctest's SKIP_RETURN_CODE for this test): never a silent pass.

    python3 tests/test_pg_python.py GENBO_PROGRAM
"""
import os
import re
import subprocess
import sys
import tempfile

SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SCRIPT = os.path.join(SRC, "tests", "pg_server.sh")
sys.path.insert(0, os.path.join(SRC, "python"))

STUDY = """[study]
name = py
seed = 2
[data]
D = 8
d = 3
n_label = 60
n_unlabel = 300
[diffusion]
width = 16
depth = 1
t_embed = 8
y_embed = 8
steps = 40
batch = 32
[generate]
targets = p50
n = 4
steps = 8
methods = genbo
[loop]
method = conditional
target = p90
[ask]
steps = 4
"""


def skip(why):
    print(f"SKIPPED: {why}; the PostgreSQL Python test did not run")
    sys.exit(77)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: test_pg_python.py GENBO_PROGRAM")
    info = subprocess.run([sys.argv[1], "info"], capture_output=True, text=True).stdout
    if not re.search(r"postgresql: *yes", info, re.I):
        skip("this genbo has no PostgreSQL back end (genbo info does not say 'postgresql: yes')")
    r = subprocess.run(["sh", SCRIPT, "start", "--owner", str(os.getpid())], capture_output=True, text=True)
    if r.returncode == 77:
        skip(r.stderr.strip())
    if r.returncode != 0:
        sys.exit(f"pg_server.sh start failed: {r.stderr}")
    env = dict(line.split("=", 1) for line in r.stdout.split())
    try:
        run(env["GENBO_PG_URL"])
    finally:
        subprocess.run(["sh", SCRIPT, "stop", env["GENBO_PG_DIR"]], check=True)
    assert not os.path.exists(env["GENBO_PG_DIR"]), "the server directory survived stop"
    print("pg_python: ok")


def run(url):
    import numpy as np

    import genbo

    with tempfile.TemporaryDirectory() as tmp:
        ini = os.path.join(tmp, "py.ini")
        with open(ini, "w") as f:
            f.write(STUDY)
        study = genbo.create_study(url, ini)
        assert study.dim == 8, study.dim
        told = {}
        for _ in range(3):
            for t in study.ask(n=4):
                assert t.x.shape == (8,) and np.all(np.isfinite(t.x))
                told[t.id] = float(-np.sum(t.x ** 2))
                study.tell(t, told[t.id])
        assert len(told) == 12, "ask handed out an id twice"
        best = study.best_trial
        assert best.value == max(told.values()), (best.value, max(told.values()))
        assert told[best.id] == best.value
        study.close()
        # a fresh handle on the URL reads back every told value exactly
        again = genbo.Study(url, "py")
        loop = {t.id: t.value for t in again.get_trials(genbo.PHASE_LOOP) if t.state == "told"}
        assert {k: loop[k] for k in told} == told, "told values changed on the server"
        try:
            again.tell(best.id, 1.0)
            raise AssertionError("a second tell of a trial was accepted")
        except genbo.GenboError as e:
            assert e.code == "GENBO_ESTATE", e.code
        again.close()
        summary = [s for s in genbo.studies(url) if s["name"] == "py"]
        assert len(summary) == 1 and summary[0]["told"] >= 12, summary
        # a server that is not there: the error names it, never the password
        try:
            genbo.Study("postgresql://genbo:s3cret-pw@127.0.0.1:1/none", "py")
            raise AssertionError("opening a study on a closed port succeeded")
        except genbo.GenboError as e:
            assert "s3cret-pw" not in str(e), f"the password is in the message: {e}"
            assert "127.0.0.1" in str(e), f"the message does not name the server: {e}"


if __name__ == "__main__":
    main()
