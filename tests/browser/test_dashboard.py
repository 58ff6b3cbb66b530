#!/usr/bin/env python3
"""test_dashboard.py - the genbo dashboards as a person sees them.

Headless Chromium (Debian's chromium + chromium-driver, driven by
python3-selenium) opens the `genbo report` file and the `genbo serve` page
over a study database made by the real CLI (`genbo run` on tiny_study.ini,
twice with two seeds, plus a study whose run fails), and checks against the database itself (queried here
with sqlite3) that every chart drew one point per row, that tables and
tooltips print the database's numbers as %.6g, that the page logs no console
error, and that a trial asked and told by another process (`genbo ask`, `genbo
tell`) appears on the live page.
Screenshots go to --out-dir (dashboard_report.png, dashboard_serve.png).

Exit status: 0 all passed, 1 a failure, 77 skipped (no Chromium/selenium).
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ARGS = None
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
STUDY = "tiny"
BROKEN = "broken"
XY_CHARTS = {  # chart id -> the metrics column its points come from
    "subopt": "subopt", "reward": "coalesce(mean_true, mean_pred)",
    "support": "support_distance", "diversity": "diversity"}


def g6(x):
    return "" if x is None else "%.6g" % x


def q(db, sql, *params):
    return db.execute(sql, params).fetchall()


def write_labelled_csv(path, n=120, seed=7):
    """tiny_study.ini's data: x = (z0, z1, z0 - z1, (z0 + z1) / 2), reward
    z0 + z1 + noise (the evaluator's x0 + x1)."""
    import random
    rng = random.Random(seed)
    with open(path, "w") as f:
        f.write("x0,x1,x2,x3,reward\n")
        for _ in range(n):
            z0, z1 = rng.gauss(0, 1), rng.gauss(0, 1)
            x = [z0, z1, z0 - z1, 0.5 * (z0 + z1)]
            f.write(",".join("%.6f" % v for v in x) + ",%.6f\n" % (z0 + z1 + rng.gauss(0, 0.1)))


def run_genbo(cwd, *args, check=True):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    r = subprocess.run([ARGS.genbo] + list(args), cwd=cwd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=120)
    if check and r.returncode != 0:
        raise RuntimeError("genbo %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
    return r


def make_study_db(tmp, db_path):
    """The study database, written by `genbo run` as a user would: study
    "tiny" run with seed 1 and seed 2 (two runs), and study "broken" whose
    only run fails on a malformed CSV (no results: every chart empty)."""
    for name in ["tiny_study.ini", "tiny_evaluator.sh"]:
        shutil.copy(os.path.join(HERE, name), tmp)
    write_labelled_csv(os.path.join(tmp, "tiny_labelled.csv"))
    study = os.path.join(tmp, "tiny_study.ini")
    run_genbo(tmp, "run", study, "--db", db_path, "--quiet")
    with open(study) as f:
        text = f.read()
    seed2 = os.path.join(tmp, "tiny_study_seed2.ini")
    with open(seed2, "w") as f:
        f.write(text.replace("seed = 1\n", "seed = 2\n"))
    run_genbo(tmp, "run", seed2, "--db", db_path, "--quiet")
    with open(os.path.join(tmp, "broken.csv"), "w") as f:
        f.write("x0,x1,reward\n1,2,3\n4,oops,5\n")
    with open(os.path.join(tmp, "broken.ini"), "w") as f:
        f.write("[study]\nname = %s\n[data]\ntask = csv\nlabelled = broken.csv\n" % BROKEN)
    r = run_genbo(tmp, "run", os.path.join(tmp, "broken.ini"), "--db", db_path, check=False)
    if r.returncode != 1 or "not a number" not in r.stderr:
        raise RuntimeError("the broken study should fail on its CSV: %r" % r.stderr)


def make_driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1000",
                 "--user-data-dir=" + tempfile.mkdtemp(prefix="genbo-chromium-")]:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


class Dashboard(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="genbo-dashboard-")
        cls.db_path = os.path.join(cls.tmp, "study.db")
        t0 = time.time()
        make_study_db(cls.tmp, cls.db_path)
        print("study database made by genbo run in %.1f s" % (time.time() - t0), file=sys.stderr)
        cls.driver = make_driver()
        cls.driver.set_page_load_timeout(60)

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- helpers -------------------------------------------------------

    def db(self):
        return sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True)

    # Generous limits: CI runs other test executables on the same 2 cores.
    def wait_for(self, cond, what, timeout=30.0):
        end = time.time() + timeout
        while time.time() < end:
            v = cond()
            if v:
                return v
            time.sleep(0.1)
        self.fail("timed out waiting for " + what)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def open_and_wait(self, url, study=STUDY):
        self.driver.get(url)
        self.wait_for(lambda: self.js(
            "return document.body.dataset.ready === '1' && document.body.dataset.study === arguments[0]",
            study), "the page to render study " + study)

    def console_errors(self):
        return [e for e in self.driver.get_log("browser") if e.get("level") == "SEVERE"]

    def screenshot(self, name):
        h = self.js("return Math.min(document.documentElement.scrollHeight, 7000)")
        self.driver.set_window_size(1400, h + 20)
        path = os.path.join(ARGS.out_dir, name)
        self.assertTrue(self.driver.save_screenshot(path))
        self.assertGreater(os.path.getsize(path), 20000, "screenshot looks blank")
        self.driver.set_window_size(1400, 1000)

    def series_counts(self, chart):
        """{series key: (data-n, circles or bars drawn)} of one chart."""
        return self.js("""
            const svg = document.querySelector('svg[data-chart="' + arguments[0] + '"]');
            if (!svg) return null;
            const out = {};
            for (const g of svg.querySelectorAll('g.series'))
              out[g.dataset.series] = [parseInt(g.dataset.n, 10),
                g.querySelectorAll('circle').length,
                Array.from(g.querySelectorAll('rect')).reduce((s, r) => s + parseInt(r.dataset.count, 10), 0)];
            return out;""", chart)

    def check_page(self):
        """Every chart and table of study STUDY against the database."""
        db = self.db()
        sid = q(db, "SELECT id FROM studies WHERE name = ?", STUDY)[0][0]
        # What genbo run wrote, so nothing below passes on an empty page.
        self.assertEqual(q(db, "SELECT count(*), count(DISTINCT seed) FROM runs WHERE study_id = ?"
                               " AND kind = 'run' AND status = 'done'", sid), [(2, 2)])
        self.assertEqual(q(db, "SELECT count(DISTINCT round) FROM metrics m JOIN runs r ON r.id = m.run_id"
                               " WHERE r.study_id = ? AND round >= 1", sid), [(2,)])
        self.assertEqual(q(db, "SELECT count(*) FROM trials WHERE study_id = ? AND state = 'failed'", sid),
                         [(1,)])
        # Charts against a: one point per (method, target label) with a value.
        for chart, col in XY_CHARTS.items():
            want = dict(q(db, "SELECT method, count(DISTINCT target_label) FROM metrics m"
                              " JOIN runs r ON r.id = m.run_id WHERE r.study_id = ? AND round = 0"
                              " AND %s IS NOT NULL GROUP BY method" % col, sid))
            got = self.series_counts(chart)
            self.assertIsNotNone(got, "chart %s missing" % chart)
            self.assertEqual({k: v[0] for k, v in got.items()}, want, chart)
            self.assertEqual({k: v[1] for k, v in got.items()}, want, chart + " circles")
        # Histograms of the data: every sample counted once, in some bar.
        want = dict(q(db, "SELECT s.kind, count(*) FROM reward_samples s JOIN runs r"
                          " ON r.id = s.run_id WHERE r.study_id = ? GROUP BY s.kind", sid))
        got = self.series_counts("hist-data")
        self.assertEqual({k: v[0] for k, v in got.items()}, want)
        self.assertEqual({k: v[2] for k, v in got.items()}, want)
        # Generated designs of the default method (genbo) by target label.
        want = dict(q(db, "SELECT target_label, count(o.value) FROM trials t JOIN observations o"
                          " ON o.trial_id = t.id WHERE t.study_id = ? AND t.round = 0"
                          " AND t.method = 'genbo' GROUP BY target_label", sid))
        got = self.series_counts("hist-generated")
        self.assertEqual({k: v[0] for k, v in got.items()}, want)
        # Design loop: one point per round.
        want = dict(q(db, "SELECT method || '@' || target_label, count(DISTINCT round) FROM metrics m"
                          " JOIN runs r ON r.id = m.run_id WHERE r.study_id = ? AND round >= 1"
                          " GROUP BY 1", sid))
        got = self.series_counts("rounds-subopt")
        self.assertEqual({k: v[1] for k, v in got.items()}, want)
        got = self.series_counts("rounds-reward")
        self.assertEqual({k[5:]: v[1] for k, v in got.items() if k.startswith("best:")}, want)
        # Diffusion training: one point per train_curve row and loss, per run.
        want = {}
        for kind, col in (("val", "val_loss"), ("train", "train_loss")):
            for run, n in q(db, "SELECT c.run_id, count(%s) FROM train_curve c JOIN runs r ON r.id = c.run_id"
                                " WHERE r.study_id = ? AND c.round = 0 AND %s > 0 GROUP BY c.run_id" % (col, col), sid):
                want["%s:%d" % (kind, run)] = n
        self.assertGreater(sum(want.values()), 0, "no training curve stored")
        got = self.series_counts("training")
        self.assertEqual({k: v[1] for k, v in got.items()}, want)
        (ntr,), = q(db, "SELECT count(*) FROM trainings t JOIN runs r ON r.id = t.run_id WHERE r.study_id = ?", sid)
        self.assertEqual(self.js("return document.querySelectorAll('table[data-table=\"trainings\"] tbody tr').length"),
                         ntr)
        # The summary table and the tooltips print the database's numbers.
        rows = q(db, "SELECT method, target_label, avg(subopt), min(subopt), max(subopt),"
                     " avg(mean_true), avg(diversity), avg(target), count(subopt) FROM metrics m JOIN runs r"
                     " ON r.id = m.run_id WHERE r.study_id = ? AND round = 0"
                     " GROUP BY method, target_label", sid)
        cells = self.js("""
            const out = {};
            for (const tr of document.querySelectorAll('table[data-table="summary"] tbody tr')) {
              const c = {};
              for (const td of tr.querySelectorAll('td')) c[td.dataset.key] = td.textContent;
              out[tr.dataset.key] = c;
            }
            return out;""")
        self.assertEqual(len(cells), len(rows))
        self.assertGreater(len(rows), 0)
        for m, lab, s, smin, smax, mt, div, a, n in rows:
            c = cells[m + "|" + lab]
            self.assertEqual((c["subopt"], c["subopt_min"], c["subopt_max"], c["mean_true"],
                              c["diversity"], c["target"]),
                             (g6(s), g6(smin), g6(smax), g6(mt), g6(div), g6(a)), m + "@" + lab)
        tips = self.js("""
            const out = {};
            for (const g of document.querySelectorAll('svg[data-chart="subopt"] g.series'))
              out[g.dataset.series] = Array.from(g.querySelectorAll('circle title')).map(t => t.textContent);
            return out;""")
        for m, lab, s, smin, smax, mt, div, a, n in rows:
            tip = [t for t in tips[m] if t.split("\n")[0].endswith("@ " + lab)]
            self.assertEqual(len(tip), 1)
            if n > 1:
                self.assertIn("SubOpt = %s (min %s, max %s, %d runs)" % (g6(s), g6(smin), g6(smax), n),
                              tip[0])
            else:
                self.assertIn("SubOpt = %s" % g6(s), tip[0])
            self.assertIn("a = " + g6(a), tip[0])
        # Runs table: durations as the database computes them.
        want = {rid: g6(d) for rid, d in q(db, "SELECT id, ended - started FROM runs WHERE study_id = ?", sid)}
        got = self.js("""
            const out = {};
            for (const tr of document.querySelectorAll('table[data-table="runs"] tbody tr'))
              out[tr.dataset.id] = tr.querySelector('td[data-key="duration"]').textContent;
            return out;""")
        self.assertEqual({int(k): v for k, v in got.items()}, want)
        # Trials table: all rows counted, shown ones match their DB row.
        n_trials = q(db, "SELECT count(*) FROM trials WHERE study_id = ?", sid)[0][0]
        self.assertEqual(self.js("return +document.querySelector('table[data-table=\"trials\"]').dataset.rows"),
                         n_trials)
        shown = self.js("""
            return Array.from(document.querySelectorAll('table[data-table="trials"] tbody tr')).slice(0, 40)
              .map(tr => [tr.dataset.id, tr.querySelector('td[data-key="value"]').textContent,
                          tr.querySelector('td[data-key="predicted"]').textContent,
                          tr.querySelector('td[data-key="state"]').textContent]);""")
        self.assertEqual(len(shown), 40)
        for tid, value, pred, st in shown:
            row = q(db, "SELECT o.value, t.predicted, t.state FROM trials t LEFT JOIN observations o"
                        " ON o.trial_id = t.id WHERE t.id = ?", int(tid))[0]
            self.assertEqual((value, pred, st), (g6(row[0]), g6(row[1]), row[2]))
        # Failed trials, with their reasons.
        failed = q(db, "SELECT id, reason FROM trials WHERE study_id = ? AND state = 'failed'", sid)
        got = self.js("""
            return Array.from(document.querySelectorAll('table[data-table="failed"] tbody tr'))
              .map(tr => [+tr.dataset.id, tr.querySelector('td[data-key="reason"]').textContent]);""")
        self.assertEqual(sorted(map(tuple, got)), sorted(failed))
        self.check_loop_panels(db, sid)
        db.close()

    def check_loop_panels(self, db, sid):
        """History of told trials (loop and run phase apart), the best-trial
        panel with its named design, the trial filters, the CLI's method names."""
        loop_told = q(db, "SELECT count(*) FROM trials WHERE study_id = ? AND state = 'told'"
                          " AND (round IS NULL OR round >= 1)", sid)[0][0]
        run_told = q(db, "SELECT count(*) FROM trials WHERE study_id = ? AND state = 'told' AND round = 0",
                     sid)[0][0]
        self.assertGreater(loop_told, 0)
        for chart, told in (("history-loop", loop_told), ("history-run", run_told)):
            got = self.series_counts(chart)
            self.assertEqual(got["best"][1], told, chart + ": one best-so-far point per told trial")
            self.assertEqual(sum(v[1] for k, v in got.items() if k != "best"), told, chart)
        # The best-so-far line ends at the phase's best value.
        last = self.js("""const g = document.querySelector('svg[data-chart="history-loop"] g[data-series="best"]');
            const c = Array.from(g.querySelectorAll('circle')).map(c => +c.dataset.y);
            return [Math.max.apply(null, c), c[c.length - 1]];""")
        (best_id, best_value, best_pred), = q(
            db, "SELECT t.id, o.value, t.predicted FROM trials t JOIN observations o ON o.trial_id = t.id"
                " WHERE t.study_id = ? AND (t.round IS NULL OR t.round >= 1) ORDER BY o.value DESC, t.id LIMIT 1", sid)
        self.assertEqual(last, [best_value, best_value])
        box = self.js("""const b = document.getElementById('best-loop');
            return [b.dataset.trial, b.querySelector('td[data-key="value"]').textContent,
                    b.querySelector('td[data-key="predicted"]').textContent,
                    Array.from(b.querySelectorAll('table.design th')).map(th => th.textContent),
                    Array.from(b.querySelectorAll('table.design td')).map(td => td.textContent)];""")
        x = json.loads(q(db, "SELECT x_json FROM trials WHERE id = ?", best_id)[0][0])
        self.assertEqual(box, [str(best_id), g6(best_value), g6(best_pred), ["x0", "x1", "x2", "x3"],
                               [g6(v) for v in x]])
        (run_best,), = q(db, "SELECT t.id FROM trials t JOIN observations o ON o.trial_id = t.id"
                             " WHERE t.study_id = ? AND t.round = 0 ORDER BY o.value DESC, t.id LIMIT 1", sid)
        self.assertEqual(self.js("return document.getElementById('best-run').dataset.trial"), str(run_best))
        # Method names are the CLI's, everywhere.
        names = set(self.js("""return Array.from(document.querySelectorAll(
            'table[data-table="summary"] td[data-key="method"]')).map(td => td.textContent);"""))
        self.assertEqual(names, {m for (m,) in q(db, "SELECT DISTINCT method FROM trials WHERE study_id = ?"
                                                     " AND round = 0", sid)})
        # Filters: method random and state told leave exactly those trials.
        want = q(db, "SELECT count(*) FROM trials WHERE study_id = ? AND method = 'random' AND state = 'told'",
                 sid)[0][0]
        for k, v in (("method", "random"), ("state", "told")):
            self.js("""const s = document.querySelector('select[data-filter="' + arguments[0] + '"]');
                s.value = arguments[1]; s.dispatchEvent(new Event('change'));""", k, v)
        rows = self.js("""return [+document.querySelector('table[data-table="trials"]').dataset.rows,
            Array.from(document.querySelectorAll('table[data-table="trials"] tbody tr')).map(tr =>
              tr.querySelector('td[data-key="method"]').textContent + '/' +
              tr.querySelector('td[data-key="state"]').textContent)];""")
        self.assertEqual(rows[0], want)
        self.assertEqual(set(rows[1]), {"random/told"})
        design = self.js("""return document.querySelector('table[data-table="trials"] tbody td[data-key="x"]')
            .textContent;""")
        self.assertTrue(design.startswith("x0="), design)
        for k in ("method", "state"):
            self.js("""const s = document.querySelector('select[data-filter="' + arguments[0] + '"]');
                s.value = ''; s.dispatchEvent(new Event('change'));""", k)
        self.assertEqual(self.js("return +document.querySelector('table[data-table=\"trials\"]').dataset.rows"),
                         q(db, "SELECT count(*) FROM trials WHERE study_id = ?", sid)[0][0])

    def check_legend_toggle(self):
        """Clicking a legend entry hides its series (the axis refits to the
        others); clicking it again brings it back."""
        before = self.series_counts("subopt")
        n0 = self.js("return +document.querySelector('svg[data-chart=\"subopt\"]').dataset.n")
        click = ("document.querySelector('svg[data-chart=\"subopt\"]').parentNode"
                 ".querySelector('[data-legend=\"surrogate_ascent\"]').click()")
        self.js(click)
        hidden = self.series_counts("subopt")
        self.assertNotIn("surrogate_ascent", hidden)
        self.assertEqual(hidden, {k: v for k, v in before.items() if k != "surrogate_ascent"})
        self.assertEqual(self.js("return +document.querySelector('svg[data-chart=\"subopt\"]').dataset.n"),
                         n0 - before["surrogate_ascent"][1])
        self.js(click)
        self.assertEqual(self.series_counts("subopt"), before)

    # ---- tests ---------------------------------------------------------

    def test_format_matches_c(self):
        """The page's number format is C's %.6g, ties and exponents included."""
        self.driver.get("file://" + self.report_file())
        vals = [0.0, 1.0, -1.5, 0.1, 1 / 3, 2 / 3 * 1e-5, 123456.0, 1234567.0, 999999.5, 0.00012345,
                0.000012345, 12345.25, 12345.75, 2.5, 0.5, -0.0001, 1e-300, 1.7976931348623157e308,
                3.0000005, 100000.5, 5e-5, 9.9999995e-5]
        got = self.js("return arguments[0].map(window.genboFmt)", vals)
        self.assertEqual(got, ["%.6g" % v for v in vals])

    def report_file(self):
        path = os.path.join(ARGS.out_dir, "dashboard_report.html")
        if not os.path.exists(path):
            subprocess.run([ARGS.genbo, "report", "--db", self.db_path, "--out", path],
                           check=True, stdout=subprocess.DEVNULL)
        return path

    def test_report_file(self):
        path = os.path.join(ARGS.out_dir, "dashboard_report.html")
        if os.path.exists(path):
            os.remove(path)
        self.report_file()
        self.driver.get_log("browser")  # drop earlier entries
        self.open_and_wait("file://" + path + "#study=" + STUDY)
        self.check_page()
        self.screenshot("dashboard_report.png")
        self.check_legend_toggle()
        # The other study: its only run failed before any result, so every
        # chart says so and draws nothing, and the runs table shows why.
        self.js("const s = document.getElementById('study-select'); s.value = arguments[0];"
                "s.dispatchEvent(new Event('change'));", BROKEN)
        self.wait_for(lambda: self.js("return document.body.dataset.study") == BROKEN, "study switch")
        counts = self.js("return Array.from(document.querySelectorAll('svg[data-chart]'))"
                         ".map(s => +s.dataset.n)")
        # 8 result charts + the loop's and the run phase's history + the diffusion training.
        self.assertEqual(len(counts), 11)
        self.assertEqual(set(counts), {0})
        db = self.db()
        (error,), = q(db, "SELECT r.error FROM runs r JOIN studies s ON s.id = r.study_id"
                          " WHERE s.name = ? AND r.status = 'failed'", BROKEN)
        db.close()
        shown = self.js("return Array.from(document.querySelectorAll("
                        "'table[data-table=\"runs\"] tbody tr.failed td[data-key=\"error\"]'))"
                        ".map(td => td.textContent)")
        self.assertEqual(shown, [error])
        self.assertEqual(self.console_errors(), [])
        # No network: the file references nothing outside itself.
        html = open(path, encoding="utf-8").read()
        self.assertIsNone(re.search(r'(src|href)="(https?:)?//', html))

    def test_live_page(self):
        with open(self.db_path, "rb") as f:
            before = hashlib.sha256(f.read()).hexdigest()
        proc = subprocess.Popen([ARGS.genbo, "serve", "--db", self.db_path, "--port", "0"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline()
            m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
            self.assertIsNotNone(m, "no URL printed: %r" % line)
            base = m.group(1)
            self.check_api(base)
            self.driver.get_log("browser")
            self.open_and_wait(base + "?study=" + STUDY)
            self.check_page()
            self.screenshot("dashboard_serve.png")
            with open(self.db_path, "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), before,
                                 "serving changed the database file")
            # Other processes ask for a design and tell its reward (the
            # genbo CLI); the open page shows the trial waiting, then told.
            renders = self.js("return +document.body.dataset.renders")
            n0 = self.js("return +document.getElementById('counts').dataset.trials")
            out = run_genbo(self.tmp, "ask", "--db", self.db_path, "--study", STUDY, "--target", "2.5",
                            "--json").stdout
            tid = json.loads(out.splitlines()[0])["trial"]
            newest = ("const tr = document.querySelector('table[data-table=\"trials\"] tbody tr');"
                      "return [tr.dataset.id, tr.querySelector('td[data-key=\"value\"]').textContent,"
                      " tr.querySelector('td[data-key=\"state\"]').textContent]")
            self.wait_for(lambda: self.js("return +document.getElementById('counts').dataset.asked") == 1,
                          "the asked trial to be counted", timeout=20)
            self.assertEqual(self.js("return +document.getElementById('counts').dataset.trials"), n0 + 1)
            self.assertEqual(self.js(newest), [str(tid), "", "asked"])
            value = 3.14159265358979
            run_genbo(self.tmp, "tell", "--db", self.db_path, "--study", STUDY, "--trial", str(tid),
                      "--value", repr(value))
            self.wait_for(lambda: self.js(newest)[2] == "told", "the told trial to be shown", timeout=20)
            self.assertGreater(self.js("return +document.body.dataset.renders"), renders)
            self.assertEqual(self.js(newest), [str(tid), g6(value), "told"])
            self.assertEqual(self.js("return +document.getElementById('counts').dataset.asked"), 0)
            self.check_page()
            self.assertEqual(self.console_errors(), [])
        finally:
            # leave the live page first: a poll it fires after the server
            # stopped would log a refused connection into the next test
            self.driver.get("about:blank")
            proc.send_signal(signal.SIGTERM)
            try:
                rc = proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = None
            proc.stdout.close()
            proc.stderr.close()
        self.assertEqual(rc, 0, "genbo serve did not stop cleanly on SIGTERM")

    def check_api(self, base):
        def get(path, method="GET"):
            req = urllib.request.Request(base + path, method=method)
            try:
                with urllib.request.urlopen(req, timeout=5) as r:
                    return r.status, r.headers.get("Content-Type"), r.read()
            except urllib.error.HTTPError as e:
                return e.code, e.headers.get("Content-Type"), e.read()
        code, ctype, body = get("api/studies")
        self.assertEqual(code, 200)
        names = [s["name"] for s in json.loads(body)["studies"]]
        self.assertEqual(sorted(names), sorted([STUDY, BROKEN]))
        for path, want in [("api/study?name=nope", 404), ("api/study", 400), ("api/study?name=", 400),
                           ("api/nothing", 404), ("api/study?name=%ZZ", 404),
                           ("api/study?name=nope&known=1", 404)]:
            code, ctype, body = get(path)
            self.assertEqual(code, want, path)
            self.assertEqual(ctype, "application/json", path)
            self.assertIn("error", json.loads(body), path)
        self.assertIn("unknown study 'nope'", json.loads(get("api/study?name=nope")[2])["error"])
        code, _, body = get("api/study", method="POST")
        self.assertEqual(code, 405)
        doc = json.loads(get("api/study?name=" + STUDY)[2])
        # Polling with the version we have: nothing committed, nothing sent.
        same = json.loads(get("api/study?name=%s&known=%d" % (STUDY, doc["data_version"]))[2])
        self.assertEqual(same, {"unchanged": True, "data_version": doc["data_version"]})
        self.assertEqual(get("api/study?name=%s&known=x1" % STUDY)[0], 400)
        db = self.db()
        self.assertEqual(len(doc["trials"]), q(db, "SELECT count(*) FROM trials t JOIN studies s ON s.id = t.study_id WHERE s.name = ?",
                                             STUDY)[0][0])
        db.close()


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--genbo", required=True)
    ap.add_argument("--out-dir", required=True)
    ARGS, rest = ap.parse_known_args()
    ARGS.out_dir = os.path.abspath(ARGS.out_dir)
    ARGS.genbo = os.path.abspath(ARGS.genbo)  # genbo runs in the test's directory
    try:
        import selenium  # noqa: F401
    except ImportError:
        print("SKIP: python3-selenium is not installed (.ci/install-deps.sh installs it)")
        return 77
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        print("SKIP: chromium / chromium-driver not installed")
        return 77
    os.makedirs(ARGS.out_dir, exist_ok=True)
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(Dashboard)
    res = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(res.failures) + len(res.errors)
    print("%d passed, %d failed" % (max(0, res.testsRun - failed), failed))
    return 0 if res.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
