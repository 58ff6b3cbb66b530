#!/usr/bin/env python3
"""test_cli_loop.py GENBO - a newcomer's loop from the shell, no `genbo run`:
create (the data checked), a 3-round ask/tell loop where the first ask
trains with progress and an ETA on stderr, targets as pQ / max / numbers
echoed back, a warning beyond the data, feature names in the JSON, best
(loop apart from the run phase), studies, delete. Exit 0 or 1."""
import json
import os
import random
import subprocess
import sys
import tempfile

genbo = sys.argv[1]
tmp = tempfile.mkdtemp(prefix="genbo-cli-loop-")
failures = []


def run(*args, ok=True):
    p = subprocess.run([genbo, *args], cwd=tmp, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    if ok and p.returncode != 0:
        raise SystemExit(f"genbo {' '.join(args)} failed ({p.returncode}): {p.stderr}")
    return p


def check(cond, what):
    if not cond:
        failures.append(what)


def bowl(x):
    return 1.0 - sum((a - b) ** 2 for a, b in zip(x, (0.5, -0.25, 0.0)))


rng = random.Random(3)
with open(os.path.join(tmp, "lab.csv"), "w") as f:
    f.write("alpha,beta,gamma,reward\n")
    for _ in range(150):
        x = [rng.gauss(0, 1) for _ in range(3)]
        f.write(",".join("%.10g" % v for v in x) + ",%.10g\n" % (bowl(x) + rng.gauss(0, 0.05)))
with open(os.path.join(tmp, "s.ini"), "w") as f:
    f.write("[study]\nname = shell\n[data]\ntask = csv\nlabelled = lab.csv\n[reward]\nmodel = gp\n"
            "[diffusion]\nwidth = 32\ndepth = 1\nt_embed = 8\ny_embed = 8\nsteps = 600\nbatch = 64\n"
            "[ask]\nsteps = 20\n")
p = run("create", "s.ini", "--db", "s.db")
check("study 'shell' in s.db: dim 3" in p.stdout, "create: " + p.stdout)
p = run("create", "s.ini", "--db", "s.db")  # the same file again: fine
with open(os.path.join(tmp, "bad.csv"), "w") as f:
    f.write("alpha,reward\n1,2\nzz,3\n")
with open(os.path.join(tmp, "bad.ini"), "w") as f:
    f.write("[study]\nname = bad\n[data]\ntask = csv\nlabelled = bad.csv\n")
p = run("create", "bad.ini", "--db", "s.db", ok=False)
check(p.returncode == 1 and "bad.csv" in p.stderr, "create of bad data: %d %r" % (p.returncode, p.stderr))
values = []
for rnd, (target, method) in enumerate([("p90", None), ("max", None), ("0.5", "conditional")]):
    args = ["ask", "--db", "s.db", "--study", "shell", "--target", target, "--n", "4", "--json"]
    if method:
        args += ["--method", method]
    p = run(*args)
    if rnd == 0:
        check("train" in p.stderr and "ETA" in p.stderr and "in " in p.stderr,
              "first ask: no training progress with an ETA: " + p.stderr)
    else:
        check("train" not in p.stderr, "a later ask trained again: " + p.stderr)
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    check(len(rows) == 4, "ask --n 4 printed %d lines" % len(rows))
    for r in rows:
        check(r["target_label"] == target and r["method"] == (method or "genbo"), "echo: %r" % r)
        check(list(r["params"]) == ["alpha", "beta", "gamma"], "params: %r" % r["params"])
        check([r["params"][k] for k in ("alpha", "beta", "gamma")] == r["x"], "params vs x")
        v = bowl(r["x"])
        values.append((v, r["trial"]))
        run("tell", "--db", "s.db", "--study", "shell", "--trial", str(r["trial"]), "--value", repr(v))
p = run("ask", "--db", "s.db", "--study", "shell", "--target", "1000", "--n", "1")
check("warning" in p.stderr and "beyond the data" in p.stderr, "no warning at 1000: " + p.stderr)
check("1 design at target 1000 = 1000, method genbo" in p.stderr, "no echo of the target: " + p.stderr)
check(len(p.stdout.split()) == 4, "plain ask output: " + p.stdout)
p = run("ask", "--db", "s.db", "--study", "shell", "--target", "p200", ok=False)
check(p.returncode == 1 and "pQ needs" in p.stderr, "p200: " + p.stderr)
p = run("best", "--db", "s.db", "--study", "shell", "--json")
best = json.loads(p.stdout)
top = max(values)
check(best["loop"]["trial"] == top[1] and best["loop"]["value"] == top[0], "best: %r vs %r" % (best["loop"], top))
check(best["run"] is None, "best run phase without a run")
check(list(best["loop"]["params"]) == ["alpha", "beta", "gamma"], "best params")
p = run("best", "--db", "s.db", "--study", "shell")
check(all(len(line) <= 100 for line in p.stdout.splitlines()) and "alpha=" in p.stdout, "best text: " + p.stdout)
p = run("studies", "--db", "s.db", "--json")
st = json.loads(p.stdout)
check([s["name"] for s in st] == ["shell"] and st[0]["told"] == 12 and st[0]["asked"] == 1, "studies: %r" % st)
check(st[0]["best_loop"] == top[0] and st[0]["best_run"] is None, "studies best: %r" % st)
p = run("delete", "--db", "s.db", "--study", "shell")
p = run("studies", "--db", "s.db")
check("no studies" in p.stdout, "after delete: " + p.stdout)
p = run("best", "--db", "missing.db", "--study", "shell", ok=False)
check(p.returncode == 1 and "missing.db: no such database" in p.stderr, "missing db: " + p.stderr)
check(not os.path.exists(os.path.join(tmp, "missing.db")), "a read created the database")
if failures:
    print("\n".join(failures))
    sys.exit(1)
print("shell loop: create, 3 rounds of ask/tell, best, studies, delete: ok")
