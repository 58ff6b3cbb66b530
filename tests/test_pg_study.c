/* test_pg_study.c - whole studies on a real PostgreSQL server (issue 13):
 * `genbo run` + status + export (and best, studies, report, serve) on a
 * postgresql:// URL give the rows and the answers of the same study on
 * SQLite; `genbo copy` SQLite -> PostgreSQL -> SQLite gives back the same
 * database row by row; one `genbo run` of a study at a time across
 * processes (the advisory lock), released at once when the run is killed;
 * four processes opening a fresh database at once (schema migration). */
#include <sys/prctl.h>

#include "pg_fixture.h"
#include "study_fixture.h"

TestSuite(pg_study, .init = fixture_make_dir, .timeout = 300);

/* The tables of a genbo SQLite database, into names (at most cap). */
static int sqlite_tables(const char *db, char names[][64], int cap) {
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "sqlite3 %s \"SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%%' "
             "ORDER BY name\"",
             db);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    int n = 0;
    char line[128];
    while (n < cap && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (line[0] && strlen(line) < 64) memcpy(names[n++], line, strlen(line) + 1);
    }
    pclose(f);
    return n;
}

static long long sqlite_int(const char *db, const char *sql) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sqlite3 %s \"%s\"", db, sql);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    long long v = -1;
    if (fscanf(f, "%lld", &v) != 1) v = -1;
    pclose(f);
    return v;
}

static const char *tiny_ini(void) {
    fixture_write("tiny.ini", TINY_STUDY);
    return fixture_path("tiny.ini");
}

/* The same study file run on SQLite and on PostgreSQL: the same rows in
 * every table and byte-identical exports (the study is seeded and nothing in
 * the export is a clock), and status works on the URL. */
Test(pg_study, run_status_export_match_sqlite) {
    FIXTURE_PATH(ini, "tiny.ini");
    tiny_ini();
    FIXTURE_PATH(lite, "e2e.db");
    const char *url = pg_db("e2e");
    FIXTURE_PATH(out_lite, "run_lite.txt");
    FIXTURE_PATH(out_pg, "run_pg.txt");
    cr_assert_eq(sh("%s run %s --db %s --quiet > %s 2>&1", cli(), ini, lite, out_lite), 0);
    cr_assert_eq(sh("%s run %s --db '%s' --quiet > %s 2>&1", cli(), ini, url, out_pg), 0, "see %s", out_pg);
    /* the printed SubOpt tables agree (the first line names the database,
     * the training line has a time in it) */
    cr_assert_eq(sh("grep -v -e 'Diffusion training' -e \"^study '\" %s > %s.t && "
                    "grep -v -e 'Diffusion training' -e \"^study '\" %s > %s.t && "
                    "diff %s.t %s.t >&2",
                    out_lite, out_lite, out_pg, out_pg, out_lite, out_pg),
                 0, "genbo run printed different tables on the two back ends");
    FIXTURE_PATH(exp_lite, "lite.csv");
    FIXTURE_PATH(exp_pg, "pg.csv");
    cr_assert_eq(sh("%s export --db %s --study tiny > %s", cli(), lite, exp_lite), 0);
    cr_assert_eq(sh("%s export --db '%s' --study tiny > %s", cli(), url, exp_pg), 0);
    cr_assert_eq(sh("cmp %s %s", exp_lite, exp_pg), 0, "the exports of the two back ends differ");
    cr_assert_eq(sh("%s export --db '%s' --study tiny --format json > %s.json", cli(), url, exp_pg), 0);
    cr_assert_eq(sh("%s export --db %s --study tiny --format json | cmp - %s.json", cli(), lite, exp_pg), 0);
    long long n_trials = sqlite_int(lite, "SELECT count(*) FROM trials");
    cr_assert_gt(n_trials, 100, "the study made only %lld trials", n_trials);
    cr_assert_eq(sh("test $(wc -l < %s) -eq %lld", exp_pg, n_trials + 1), 0, "export: not one line per trial");
    /* every table holds as many rows on both */
    char names[64][64];
    int n = sqlite_tables(lite, names, 64);
    cr_assert_geq(n, 13, "only %d tables in %s", n, lite);
    for (int i = 0; i < n; i++) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", names[i]);
        long long a = sqlite_int(lite, sql);
        long long b = pg_int("e2e", "%s", sql);
        cr_assert_eq(a, b, "table %s: %lld rows on SQLite, %lld on PostgreSQL", names[i], a, b);
    }
    /* status on the URL: the run is done, the counts are those of the table */
    FIXTURE_PATH(st, "status.json");
    cr_assert_eq(sh("%s status --db '%s' --json > %s", cli(), url, st), 0);
    cr_assert_eq(sh("grep -q '\"status\":[[:space:]]*\"done\"' %s", st), 0, "status does not say the run is done");
    /* the same document on both, clocks aside */
    cr_assert_eq(sh("%s status --db %s --json | grep -v -E '\"(started|ended|created|last_activity)\"' > %s.lite && "
                    "grep -v -E '\"(started|ended|created|last_activity)\"' %s > %s.pg && diff %s.lite %s.pg >&2",
                    cli(), lite, st, st, st, st, st),
                 0, "status (clock fields aside) differs between the back ends");
    /* best, studies: the same answers (clocks aside) */
    cr_assert_eq(sh("%s best --db %s --study tiny --json > %s.best.lite && %s best --db '%s' --study tiny --json > "
                    "%s.best.pg && cmp %s.best.lite %s.best.pg",
                    cli(), lite, st, cli(), url, st, st, st),
                 0, "best differs between the back ends");
    cr_assert_eq(sh("%s studies --db %s --json | grep -v -E '\"(created|last_activity)\"' > %s.ls.lite && "
                    "%s studies --db '%s' --json | grep -v -E '\"(created|last_activity)\"' > %s.ls.pg && "
                    "diff %s.ls.lite %s.ls.pg >&2",
                    cli(), lite, st, cli(), url, st, st, st),
                 0, "studies differs between the back ends");
    /* report: one HTML file with the study in it */
    FIXTURE_PATH(html, "report.html");
    cr_assert_eq(sh("%s report --db '%s' --out %s 2>&1", cli(), url, html), 0);
    cr_assert_eq(sh("grep -q '\"tiny\"' %s", html), 0, "the report does not hold the study");
    /* serve: the live dashboard answers on the URL's study */
    FIXTURE_PATH(slog, "serve.log");
    cr_assert_eq(sh("%s serve --db '%s' --port 0 > %s 2>&1 & pid=$!; "
                    "for i in $(seq 100); do grep -q 'http://' %s && break; sleep 0.1; done; "
                    "u=$(grep -o 'http://[^ ]*' %s | head -1); "
                    "/usr/bin/python3 -c 'import sys, urllib.request; "
                    "d = urllib.request.urlopen(sys.argv[1] + \"api/study?name=tiny\").read().decode(); "
                    "assert \"trials\" in d, d[:200]' \"$u\"; rc=$?; kill $pid; wait $pid; exit $rc",
                    cli(), url, slog, slog, slog),
                 0, "genbo serve on the URL did not serve the study (log %s)", slog);
}

/* Every row of every table, blobs in hex, in a fixed order. */
static void dump(const char *db, const char *out) {
    char names[64][64];
    int n = sqlite_tables(db, names, 64);
    cr_assert_gt(n, 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, ": > %s", out);
    cr_assert_eq(sh("%s", cmd), 0);
    for (int i = 0; i < n; i++) {
        /* ORDER BY every column: rowid order is not part of the data */
        cr_assert_eq(sh("cols=$(sqlite3 %s \"SELECT group_concat(CASE WHEN type = 'BLOB' THEN 'hex(' || name || ')' "
                        "ELSE 'quote(' || name || ')' END, ', ') FROM pragma_table_info('%s')\") && "
                        "echo '== %s' >> %s && sqlite3 %s \"SELECT $cols FROM %s ORDER BY $cols\" >> %s",
                        db, names[i], names[i], out, db, names[i], out),
                     0, "dump of %s", names[i]);
    }
}

/* SQLite -> PostgreSQL -> SQLite: every row of every table comes back
 * (ids, clocks and model blobs included); the PostgreSQL copy exports what
 * the original does and goes on asking with fresh ids. */
Test(pg_study, copy_sqlite_to_pg_and_back_row_by_row) {
    FIXTURE_PATH(ini, "tiny.ini");
    tiny_ini();
    FIXTURE_PATH(a, "a.db");
    FIXTURE_PATH(b, "b.db");
    cr_assert_eq(sh("%s run %s --db %s --quiet > /dev/null 2>&1", cli(), ini, a), 0);
    /* an open trial and a failed one, so every state travels */
    cr_assert_eq(sh("%s ask --db %s --study tiny --n 2 --quiet > /dev/null", cli(), a), 0);
    long long open_id = sqlite_int(a, "SELECT max(id) FROM trials");
    cr_assert_eq(sh("%s tell --db %s --study tiny --trial %lld --failed 'rig broke'", cli(), a, open_id), 0);
    const char *url = pg_db("copy");
    cr_assert_eq(sh("%s copy --from %s --to '%s' >&2", cli(), a, url), 0);
    cr_assert_eq(pg_int("copy", "SELECT count(*) FROM trials"), sqlite_int(a, "SELECT count(*) FROM trials"));
    FIXTURE_PATH(ea, "a.csv");
    cr_assert_eq(sh("%s export --db %s --study tiny > %s", cli(), a, ea), 0);
    cr_assert_eq(sh("%s export --db '%s' --study tiny | cmp - %s", cli(), url, ea), 0,
                 "export of the PostgreSQL copy differs from the original's");
    cr_assert_eq(sh("%s copy --from '%s' --to %s >&2", cli(), url, b), 0);
    FIXTURE_PATH(da, "a.dump");
    FIXTURE_PATH(db, "b.dump");
    dump(a, da);
    dump(b, db);
    cr_assert_eq(sh("cmp %s %s || diff %s %s | head -20 >&2", da, db, da, db), 0,
                 "SQLite -> PostgreSQL -> SQLite changed rows (diff above)");
    cr_assert_eq(sh("test $(wc -l < %s) -gt 500", da), 0, "the dump is suspiciously small");
    /* the copy is a live study: ids go on after the copied ones */
    long long max_id = pg_int("copy", "SELECT max(id) FROM trials");
    FIXTURE_PATH(asked, "asked.txt");
    cr_assert_eq(sh("%s ask --db '%s' --study tiny --n 3 --quiet > %s", cli(), url, asked), 0);
    long long first = -1;
    FILE *f = fopen(asked, "r");
    cr_assert_not_null(f);
    cr_assert_eq(fscanf(f, "%lld", &first), 1);
    fclose(f);
    cr_assert_gt(first, max_id, "ask on the copy handed out id %lld <= copied max %lld", first, max_id);
    cr_assert_eq(sh("%s tell --db '%s' --study tiny --trial %lld --value 0.5", cli(), url, first), 0);
    cr_assert_eq(pg_int("copy", "SELECT count(*) FROM trials"), sqlite_int(a, "SELECT count(*) FROM trials") + 3);
}

/* One `genbo run` of a study at a time across processes: a second run and
 * a delete are refused while the first holds the advisory lock; SIGKILL
 * frees it at once (the server drops the connection) and the same command
 * resumes the run to the end. */
Test(pg_study, run_lock_across_two_processes) {
    /* the tiny study with a training long enough to be caught holding the lock */
    char text[4096];
    const char *p = strstr(TINY_STUDY, "steps = 200\n");
    cr_assert_not_null(p);
    snprintf(text, sizeof text, "%.*ssteps = 4000\n%s", (int)(p - TINY_STUDY), TINY_STUDY, p + 12);
    fixture_write("lock.ini", text);
    FIXTURE_PATH(ini, "lock.ini");
    const char *url = pg_db("lock");
    const char *held = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted";
    cr_assert_eq(pg_int("lock", "%s", held), 0);
    FIXTURE_PATH(log1, "first.txt");
    fflush(NULL);
    pid_t first = fork();
    cr_assert_geq(first, 0);
    if (first == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed assertion must not leave the run behind */
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "exec %s run %s --db '%s' --quiet > %s 2>&1", cli(), ini, url, log1);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    /* the first run is past its lock once its run row says running (the
     * advisory locks alone do not tell: every write transaction takes one) */
    int locked = 0;
    for (int i = 0; i < 600 && !locked; i++) {
        locked = sh("sh %s psql %s \"SELECT count(*) FROM runs WHERE status = 'running'\" lock 2>/dev/null | "
                    "grep -qx '[1-9]'",
                    PG_SCRIPT, pg_dir()) == 0; /* no runs table yet: not yet */
        if (!locked) usleep(50 * 1000);
    }
    cr_assert(locked, "the first run never started");
    cr_assert_gt(pg_int("lock", "%s", held), 0, "a running run holds no advisory lock");
    FIXTURE_PATH(log2, "second.txt");
    cr_assert_eq(sh("%s run %s --db '%s' --quiet > %s 2>&1", cli(), ini, url, log2), 1);
    cr_assert_eq(sh("grep -q 'being run by another process' %s", log2), 0, "second run's message: see %s", log2);
    cr_assert_eq(sh("%s delete --db '%s' --study tiny > /dev/null 2>&1", cli(), url), 1,
                 "delete went through while the study was being run");
    int st;
    cr_assert_eq(waitpid(first, &st, WNOHANG), 0, "the first run ended before it could be killed: see %s", log1);
    cr_assert_eq(kill(first, SIGKILL), 0);
    cr_assert_eq(waitpid(first, &st, 0), first);
    cr_assert(WIFSIGNALED(st));
    int freed = 0;
    for (int i = 0; i < 100 && !freed; i++) {
        freed = pg_int("lock", "%s", held) == 0;
        if (!freed) usleep(50 * 1000);
    }
    cr_assert(freed, "the advisory lock outlived the killed run by 5 s");
    FIXTURE_PATH(log3, "third.txt");
    cr_assert_eq(sh("%s run %s --db '%s' --quiet > %s 2>&1", cli(), ini, url, log3), 0, "resume: see %s", log3);
    cr_assert_eq(pg_int("lock", "SELECT count(*) FROM runs"), 1, "the killed run was not resumed");
    cr_assert_eq(pg_int("lock", "SELECT count(*) FROM runs WHERE status = 'done'"), 1);
    cr_assert_eq(pg_int("lock", "%s", held), 0, "the finished run left its lock");
}

/* Four processes create the same study on a fresh database at once (the
 * first open of a database migrates its schema): every one succeeds and
 * there is one study, one schema. */
Test(pg_study, four_first_opens_of_a_fresh_database_at_once) {
    FIXTURE_PATH(ini, "tiny.ini");
    tiny_ini();
    const char *url = pg_db("fresh4");
    FIXTURE_PATH(log, "create");
    cr_assert_eq(sh("pids=; for i in 1 2 3 4; do %s create %s --db '%s' > %s.$i 2>&1 & pids=\"$pids $!\"; done; "
                    "rc=0; for p in $pids; do wait $p || rc=1; done; "
                    "[ $rc = 0 ] || cat %s.* >&2; exit $rc",
                    cli(), ini, url, log, log),
                 0, "a concurrent first open failed (messages above)");
    cr_assert_eq(pg_int("fresh4", "SELECT count(*) FROM studies"), 1);
}

PG_TEST_MAIN()
