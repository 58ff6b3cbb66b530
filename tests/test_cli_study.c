/* test_cli_study.c - the genbo program end to end (env GENBO_CLI): run a
 * small study and check the database and the printed table, SIGKILL a run
 * (during diffusion training, then after some tells) and resume it, a
 * 3-round ask/tell loop with an external evaluator, config errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "study_fixture.h"

#define NEGSQ GENBO_SOURCE_DIR "/tests/evaluators/studies_negsq.sh"


static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static double db_num(const char *db_path, const char *sql) {
    sqlite3 *db;
    cr_assert_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
    double v = NAN;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Same, 0 while the database or its tables do not exist yet. */
static double db_poll(const char *db_path, const char *sql) {
    if (access(db_path, F_OK)) return 0;
    sqlite3 *db;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return 0;
    }
    sqlite3_busy_timeout(db, 2000);
    sqlite3_stmt *st;
    double v = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_double(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

static void sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

TestSuite(cli_study, .init = fixture_make_dir, .timeout = 180);

Test(cli_study, run_prints_subopt_table_matching_the_database) {
    fixture_write("tiny.ini", TINY_STUDY);
    FIXTURE_PATH(db, "run.db");
    cr_assert_eq(sh("%s run %s --db %s --quiet > %s 2> %s", cli(), fixture_path("tiny.ini"), db,
                    fixture_path("out.txt"), fixture_path("err.txt")), 0, "%s", slurp(fixture_path("err.txt")));
    char *out = slurp(fixture_path("out.txt"));
    cr_assert(strstr(out, "SubOpt(a)"), "%s", out);
    cr_assert(strstr(out, "surrogate_ascent"), "%s", out);
    /* the database holds everything */
    cr_assert_eq(db_num(db, "SELECT COUNT(*) FROM runs WHERE status = 'done'"), 1);
    cr_assert_eq(db_num(db, "SELECT COUNT(*) FROM steps"), 7); /* data reward pseudo diffusion generate round1 round2 */
    cr_assert_eq(db_num(db, "SELECT COUNT(*) FROM trials WHERE round = 0"), 2 * 4 * 16);
    cr_assert_eq(db_num(db, "SELECT COUNT(*) FROM trials WHERE round > 0"), 2 * 4);
    cr_assert_eq(db_num(db, "SELECT COUNT(*) FROM trials WHERE state = 'told'"), 2 * 4 * 16 + 8);
    cr_assert_eq(db_num(db, "SELECT COUNT(*) FROM metrics WHERE round = 0 AND subopt_kind = 'true'"), 8);
    cr_assert_eq(db_num(db, "SELECT COUNT(*) FROM metrics WHERE round > 0"), 2);
    cr_assert_eq(db_num(db, "SELECT COUNT(*) FROM models WHERE kind = 'reward'"), 3);
    cr_assert_eq(db_num(db, "SELECT COUNT(*) FROM datasets"), 2);
    cr_assert_eq(db_num(db, "SELECT COUNT(*) FROM reward_samples WHERE kind = 'labelled'"), 100);
    cr_assert_eq(db_num(db, "SELECT COUNT(*) FROM reward_samples WHERE kind = 'pool'"), 2000);
    /* SubOpt = target - mean of the told values, recomputed from the trials */
    cr_assert_lt(db_num(db, "SELECT MAX(abs(m.subopt - (m.target - (SELECT AVG(o.value) FROM trials t JOIN "
                            "observations o ON o.trial_id = t.id WHERE t.run_id = m.run_id AND t.round = m.round "
                            "AND t.target_label = m.target_label AND t.method = m.method)))) FROM metrics m"),
                 1e-9);
    /* the printed table shows the stored numbers: p90 row, random column */
    char want[64];
    snprintf(want, sizeof want, "%.4f", db_num(db, "SELECT subopt FROM metrics WHERE round = 0 AND "
                                                   "target_label = 'p90' AND method = 'random'"));
    char *row = strstr(out, "\np90 (");
    cr_assert_not_null(row, "%s", out);
    char *eol = strchr(row + 1, '\n');
    *eol = '\0';
    cr_assert(strstr(row, want), "row '%s' lacks %s", row, want);
    *eol = '\n';
    /* random search picks pool designs: on the support (task distance 0) */
    cr_assert_lt(db_num(db, "SELECT MAX(support_distance) FROM metrics WHERE method = 'random'"), 1e-9);
    /* status and export read the same database */
    cr_assert_eq(sh("%s status --db %s --study tiny --json > %s", cli(), db, fixture_path("st.json")), 0);
    cr_assert(strstr(slurp(fixture_path("st.json")), "\"told\":\t136"), "%s", slurp(fixture_path("st.json")));
    cr_assert_eq(sh("%s export --db %s --study tiny --format csv > %s", cli(), db, fixture_path("t.csv")), 0);
    cr_assert_eq(sh("test $(wc -l < %s) -eq 137", fixture_path("t.csv")), 0);
    cr_assert_eq(sh("head -1 %s | grep -q '^trial,run,round,method,target_label,target,state,value,predicted,"
                    "support_distance,reason,x0,x1,x2,x3,x4,x5,x6,x7$'", fixture_path("t.csv")), 0);
    cr_assert_eq(sh("%s export --db %s --study tiny --format json | python3 -c 'import json,sys; "
                    "d=json.load(sys.stdin); assert len(d)==136 and len(d[0][\"x\"])==8'", cli(), db), 0);
}

/* A study whose diffusion training takes a few seconds, evaluated by a
 * slow external command, so a SIGKILL can land in training and again
 * between tells. */
static const char *slow_study(void) {
    static char text[2048];
    snprintf(text, sizeof text,
             "[study]\nname = slow\nseed = 5\n"
             "[data]\nD = 8\nd = 2\nn_label = 100\nn_unlabel = 2000\n"
             "[diffusion]\nwidth = 32\ndepth = 1\nt_embed = 16\ny_embed = 16\nsteps = 6000\nbatch = 128\n"
             "[generate]\ntargets = p50, p90\nn = 8\nsteps = 20\nmethods = genbo, unguided, random\n"
             "[evaluate]\nevaluator = command\ncommand = sh %s 0.15\n"
             "[loop]\nrounds = 3\nbatch = 4\n", NEGSQ);
    return text;
}

static pid_t spawn_run(const char *ini, const char *db) {
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        execl(cli(), "genbo", "run", ini, "--db", db, "--quiet", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void wait_for(const char *db, const char *sql, double at_least, pid_t pid) {
    double t0 = (double)time(NULL);
    while (db_poll(db, sql) < at_least) {
        int status;
        cr_assert_eq(waitpid(pid, &status, WNOHANG), 0, "the run ended before '%s' reached %g", sql, at_least);
        cr_assert_lt((double)time(NULL) - t0, 60, "timed out waiting for '%s'", sql);
        sleep_s(0.02);
    }
}

static void kill_run(pid_t pid) {
    kill(pid, SIGKILL);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the run finished before the kill");
}

Test(cli_study, sigkill_during_training_and_after_tells_then_resume) {
    fixture_write("slow.ini", slow_study());
    FIXTURE_PATH(ini, "slow.ini");
    FIXTURE_PATH(db, "slow.db");
    /* 1: kill while the diffusion model trains */
    pid_t pid = spawn_run(ini, db);
    wait_for(db, "SELECT COUNT(*) FROM steps WHERE step = 'pseudo'", 1, pid);
    sleep_s(0.1); /* training (several seconds) has begun */
    kill_run(pid);
    cr_assert_eq(db_num(db, "SELECT COUNT(*) FROM steps WHERE step = 'diffusion'"), 0);
    cr_assert_eq(db_num(db, "SELECT COUNT(*) FROM runs WHERE status = 'running'"), 1);
    /* 2: resume, kill again once some values were told */
    pid = spawn_run(ini, db);
    wait_for(db, "SELECT COUNT(*) FROM observations", 8, pid);
    kill_run(pid);
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(h, "SELECT trial_id, value FROM observations ORDER BY trial_id", -1, &st, NULL), SQLITE_OK);
    int64_t ids[512];
    double vals[512];
    int k = 0;
    while (sqlite3_step(st) == SQLITE_ROW && k < 512) {
        ids[k] = sqlite3_column_int64(st, 0);
        vals[k++] = sqlite3_column_double(st, 1);
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    cr_assert_geq(k, 8);
    /* 3: resume to the end */
    cr_assert_eq(sh("%s run %s --db %s --quiet > /dev/null 2> %s", cli(), ini, db, fixture_path("err.txt")), 0,
                 "%s", slurp(fixture_path("err.txt")));
    cr_assert_eq(db_num(db, "SELECT COUNT(*) FROM runs"), 1, "the run was resumed, not restarted");
    cr_assert_eq(db_num(db, "SELECT COUNT(*) FROM runs WHERE status = 'done'"), 1);
    cr_assert_eq(db_num(db, "SELECT COUNT(*) FROM models WHERE kind = 'diffusion'"), 1);
    /* everything told before the kill is still there, unchanged */
    for (int i = 0; i < k; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT value FROM observations WHERE trial_id = %lld", (long long)ids[i]);
        cr_assert_eq(db_num(db, sql), vals[i], "trial %lld", (long long)ids[i]);
    }
    /* and the run is complete: 2 targets x 3 methods x 8 + 3 rounds x 4, each told once */
    cr_assert_eq(db_num(db, "SELECT COUNT(*) FROM trials"), 2 * 3 * 8 + 3 * 4);
    cr_assert_eq(db_num(db, "SELECT COUNT(*) FROM observations"), 2 * 3 * 8 + 3 * 4);
    cr_assert_eq(db_num(db, "SELECT COUNT(*) FROM metrics"), 2 * 3 + 3);
    /* the values are the evaluator's: -||x||^2 of the stored design */
    sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL);
    sqlite3_prepare_v2(h, "SELECT t.x, o.value FROM trials t JOIN observations o ON o.trial_id = t.id", -1, &st, NULL);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const double *x = sqlite3_column_blob(st, 0);
        double s = 0;
        for (int j = 0; j < 8; j++) s -= x[j] * x[j];
        cr_assert_float_eq(sqlite3_column_double(st, 1), s, 1e-9 * (1 + fabs(s)));
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
}

/* Three rounds of ask (JSON) -> external evaluator -> tell through the CLI. */
Test(cli_study, three_round_ask_tell_loop_with_external_evaluator) {
    fixture_write("tiny.ini", TINY_STUDY);
    FIXTURE_PATH(db, "loop.db");
    /* create the study (a run with no rounds would also do; ask creates
     * models on its own when there are none) */
    cr_assert_eq(sh("%s run %s --db %s --quiet > /dev/null 2>&1", cli(), fixture_path("tiny.ini"), db), 0);
    for (int round = 0; round < 3; round++) {
        cr_assert_eq(sh("%s ask --db %s --study tiny --target 1.5 --n 4 --json > %s", cli(), db,
                        fixture_path("ask.jsonl")), 0);
        /* each JSON line -> CSV for the evaluator -> tell */
        cr_assert_eq(sh("cd %s && python3 -c '\n"
                        "import json, subprocess\n"
                        "for line in open(\"ask.jsonl\"):\n"
                        "    d = json.loads(line)\n"
                        "    assert d[\"target\"] == 1.5 and len(d[\"x\"]) == 8\n"
                        "    csv = \",\".join(\"x%%d\" %% j for j in range(8)) + \"\\n\" + \",\".join(repr(v) for v in d[\"x\"]) + \"\\n\"\n"
                        "    y = subprocess.run([\"sh\", \"%s\"], input=csv, capture_output=True, text=True, check=True).stdout.strip()\n"
                        "    subprocess.run([\"%s\", \"tell\", \"--db\", \"%s\", \"--study\", \"tiny\", \"--trial\", str(d[\"trial\"]), \"--value\", y], check=True)\n"
                        "'", fixture_dir, NEGSQ, cli(), db), 0);
    }
    cr_assert_eq(db_num(db, "SELECT COUNT(*) FROM trials WHERE round IS NULL AND state = 'told'"), 12);
    /* every ask after a tell refit the reward model on more labels, each
     * refit replacing the previous one (issue 10.7): the last one saw every
     * label but the last 4 tells */
    cr_assert_eq(db_num(db, "SELECT COUNT(*) FROM models WHERE kind = 'reward' AND round IS NULL"), 1);
    cr_assert_eq(db_num(db, "SELECT n_labels FROM models WHERE kind = 'reward' AND round IS NULL"),
                 100 + db_num(db, "SELECT COUNT(*) FROM trials WHERE state = 'told'") - 4);
    /* the told values are -||x||^2 of the stored designs */
    cr_assert_lt(db_num(db, "SELECT COUNT(*) FROM trials t JOIN observations o ON o.trial_id = t.id "
                            "WHERE t.round IS NULL AND o.value > 0"), 1);
    /* tell errors: already told, unknown trial, NaN */
    double first = db_num(db, "SELECT MIN(id) FROM trials WHERE round IS NULL");
    cr_assert_eq(sh("%s tell --db %s --study tiny --trial %.0f --value 1 2> %s", cli(), db, first,
                    fixture_path("e.txt")), 1);
    cr_assert(strstr(slurp(fixture_path("e.txt")), "already told"));
    cr_assert_eq(sh("%s tell --db %s --study tiny --trial 99999 --value 1 2> /dev/null", cli(), db), 1);
    cr_assert_eq(sh("%s tell --db %s --study tiny --trial %.0f --value nan 2> /dev/null", cli(), db, first), 1);
}

Test(cli_study, config_errors_name_file_line_and_key) {
    fixture_write("bad.ini", "[study]\nname = bad\n\n[diffusion]\nsteps = abc\n");
    cr_assert_eq(sh("%s run %s --db %s 2> %s", cli(), fixture_path("bad.ini"), fixture_path("bad.db"),
                    fixture_path("e.txt")), 1);
    char want[256];
    snprintf(want, sizeof want, "%s:5: [diffusion] steps: 'abc' is not an integer", fixture_path("bad.ini"));
    cr_assert(strstr(slurp(fixture_path("e.txt")), want), "%s", slurp(fixture_path("e.txt")));
    cr_assert_eq(access(fixture_path("bad.db"), F_OK), -1, "no database for a bad study file");
    cr_assert_eq(sh("%s run 2> /dev/null", cli()), 2);
    cr_assert_eq(sh("%s status --db %s 2> /dev/null", cli(), fixture_path("missing.db")), 1);
}
