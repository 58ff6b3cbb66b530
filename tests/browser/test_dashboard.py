#!/usr/bin/env python3
"""test_dashboard.py - the genbo dashboards as a person sees them.

Headless Chromium (Debian's chromium + chromium-driver, driven by
python3-selenium) opens the `genbo report` file and the `genbo serve` page
over a study database, and checks against the database itself (queried here
with sqlite3) that every chart drew one point per row, that tables and
tooltips print the database's numbers as %.6g, that the page logs no console
error, and that a trial told by another process appears on the live page.
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
sys.path.insert(0, HERE)
import fixture  # noqa: E402

ARGS = None
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
STUDY = "demo"
XY_CHARTS = {  # chart id -> the metrics column its points come from
    "subopt": "subopt", "reward": "coalesce(mean_true, mean_pred)",
    "support": "support_distance", "diversity": "diversity"}


def g6(x):
    return "" if x is None else "%.6g" % x


def q(db, sql, *params):
    return db.execute(sql, params).fetchall()


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
        fixture.make_fixture(cls.db_path)
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
        # The summary table and the tooltips print the database's numbers.
        rows = q(db, "SELECT method, target_label, avg(subopt), min(subopt), max(subopt),"
                     " avg(mean_true), avg(diversity), avg(target) FROM metrics m JOIN runs r"
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
        for m, lab, s, smin, smax, mt, div, a in rows:
            c = cells[m + "|" + lab]
            self.assertEqual((c["subopt"], c["subopt_min"], c["subopt_max"], c["mean_true"],
                              c["diversity"], c["target"]),
                             (g6(s), g6(smin), g6(smax), g6(mt), g6(div), g6(a)), m + "@" + lab)
        tips = self.js("""
            const out = {};
            for (const g of document.querySelectorAll('svg[data-chart="subopt"] g.series'))
              out[g.dataset.series] = Array.from(g.querySelectorAll('circle title')).map(t => t.textContent);
            return out;""")
        for m, lab, s, smin, smax, mt, div, a in rows:
            tip = [t for t in tips[m] if t.split("\n")[0].endswith("@ " + lab)]
            self.assertEqual(len(tip), 1)
            self.assertIn("SubOpt = %s (min %s, max %s, 3 runs)" % (g6(s), g6(smin), g6(smax)), tip[0])
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
        db.close()

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
        self.open_and_wait("file://" + path)
        self.check_page()
        self.screenshot("dashboard_report.png")
        # The other study: no runs, every chart says so and draws nothing.
        self.js("const s = document.getElementById('study-select'); s.value = 'empty';"
                "s.dispatchEvent(new Event('change'));")
        self.wait_for(lambda: self.js("return document.body.dataset.study") == "empty", "study switch")
        counts = self.js("return Array.from(document.querySelectorAll('svg[data-chart]'))"
                         ".map(s => +s.dataset.n)")
        self.assertEqual(len(counts), 8)
        self.assertEqual(set(counts), {0})
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
            # Another process tells a trial; the open page shows it.
            renders = self.js("return +document.body.dataset.renders")
            n0 = self.js("return +document.getElementById('counts').dataset.trials")
            value = 3.14159265358979
            tid = fixture.tell_new_trial(self.db_path, value)
            self.wait_for(lambda: self.js("return +document.getElementById('counts').dataset.trials") == n0 + 1,
                          "the told trial to be counted", timeout=20)
            self.assertGreater(self.js("return +document.body.dataset.renders"), renders)
            cell = self.js("const tr = document.querySelector('table[data-table=\"trials\"] tbody tr');"
                           "return [tr.dataset.id, tr.querySelector('td[data-key=\"value\"]').textContent,"
                           " tr.querySelector('td[data-key=\"state\"]').textContent]")
            self.assertEqual(cell, [str(tid), g6(value), "told"])
            self.check_page()
            self.assertEqual(self.console_errors(), [])
        finally:
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
        self.assertEqual(names, ["demo", "empty"])
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
        doc = json.loads(get("api/study?name=demo")[2])
        # Polling with the version we have: nothing committed, nothing sent.
        same = json.loads(get("api/study?name=demo&known=%d" % doc["data_version"])[2])
        self.assertEqual(same, {"unchanged": True, "data_version": doc["data_version"]})
        self.assertEqual(get("api/study?name=demo&known=x1")[0], 400)
        db = self.db()
        self.assertEqual(len(doc["trials"]), q(db, "SELECT count(*) FROM trials WHERE study_id = 1")[0][0])
        db.close()


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--genbo", required=True)
    ap.add_argument("--out-dir", required=True)
    ARGS, rest = ap.parse_known_args()
    ARGS.out_dir = os.path.abspath(ARGS.out_dir)
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
    print("%d passed, %d failed" % (res.testsRun - failed, failed))
    return 0 if res.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
