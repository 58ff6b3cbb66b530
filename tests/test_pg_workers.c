/* test_pg_workers.c - many processes on one PostgreSQL study (issue 13):
 * 8 worker processes x 200 ask/tell pairs through the C API. Every pair is
 * accounted for: each worker writes the trial ids it got and the value it
 * told, and the parent compares that with the server's rows (no id twice,
 * no tell lost, no worker error, no trial left open). A server restart
 * under 4 workers: they reconnect and finish. */
#include <math.h>

#include "pg_fixture.h"
#include "tests/support/support.h"
#include "genbo.h"

static const char *const WORKER_STUDY =
    "[study]\nname = %s\nseed = 2\n"
    "[data]\nD = 16\nd = 4\nn_label = 60\nn_unlabel = 300\n"
    "[diffusion]\nwidth = 16\ndepth = 1\nt_embed = 8\ny_embed = 8\nsteps = 30\nbatch = 32\n"
    "[generate]\ntargets = p50\nn = 4\nsteps = 8\nmethods = genbo\n"
    "[loop]\nmethod = conditional\n[ask]\nsteps = 2\n";

static char work_dir[64];

static void make_work_dir(void) {
    snprintf(work_dir, sizeof work_dir, "/tmp/genbo_test_pgw_XXXXXX");
    cr_assert_not_null(mkdtemp(work_dir));
}

static void remove_work_dir(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", work_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", work_dir);
}

/* Create study `name` at url and train it with one ask/tell (not timed). */
static void create_trained(const char *url, const char *name) {
    char text[2048], ini[256];
    snprintf(text, sizeof text, WORKER_STUDY, name);
    snprintf(ini, sizeof ini, "%s/%s.ini", work_dir, name);
    FILE *f = fopen(ini, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    pg_train_study(url, ini, name);
}

/* The value worker w tells for its i-th pair: distinct across the fleet
 * and exact in binary, so the server's rows can be matched one by one. */
static double told_value(int w, int i) { return 1000.0 * w + i + 0.25; }

/* A worker process: `pairs` ask(1)/tell pairs, one "id value" line per
 * told pair in its file; exit 0, or 1 with the error on stderr. */
static int worker(const char *url, const char *name, int w, int pairs) {
    char path[256];
    snprintf(path, sizeof path, "%s/worker%d.txt", work_dir, w);
    FILE *out = fopen(path, "w");
    if (!out) return 1;
    genbo_study *s;
    if (genbo_study_open(url, name, NULL, 0, &s)) {
        fprintf(stderr, "worker %d open: %s\n", w, genbo_errmsg());
        return 1;
    }
    double x[16];
    for (int i = 0; i < pairs; i++) {
        int64_t id;
        if (genbo_study_ask(s, 1.0, 1, &id, x)) {
            fprintf(stderr, "worker %d ask %d: %s\n", w, i, genbo_errmsg());
            return 1;
        }
        for (int j = 0; j < 16; j++)
            if (!isfinite(x[j])) {
                fprintf(stderr, "worker %d: trial %lld has a non-finite design\n", w, (long long)id);
                return 1;
            }
        if (genbo_study_tell(s, id, told_value(w, i))) {
            fprintf(stderr, "worker %d tell %d (trial %lld): %s\n", w, i, (long long)id, genbo_errmsg());
            return 1;
        }
        fprintf(out, "%lld %.17g\n", (long long)id, told_value(w, i));
        fflush(out);
    }
    genbo_study_close(s);
    return fclose(out) == 0 ? 0 : 1;
}

static pid_t spawn_workers(const char *url, const char *name, int workers, int pairs, pid_t *pids) {
    fflush(NULL);
    for (int w = 0; w < workers; w++) {
        pids[w] = fork();
        cr_assert_geq(pids[w], 0);
        if (pids[w] == 0) _exit(worker(url, name, w, pairs));
    }
    return 0;
}

static int wait_workers(int workers, const pid_t *pids) {
    int bad = 0;
    for (int w = 0; w < workers; w++) {
        int st;
        cr_assert_eq(waitpid(pids[w], &st, 0), pids[w]);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "worker %d: %s %d\n", w, WIFEXITED(st) ? "exit" : "signal",
                    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
            bad++;
        }
    }
    return bad;
}

typedef struct {
    long long id;
    double value;
} pair;

static int cmp_pair(const void *a, const void *b) {
    long long x = ((const pair *)a)->id, y = ((const pair *)b)->id;
    return (x > y) - (x < y);
}

/* Read "id value" lines (worker files, or psql's "id|value") into v. */
static size_t read_pairs(const char *path, pair *v, size_t cap) {
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    size_t n = 0;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        for (char *p = line; *p; p++)
            if (*p == '|') *p = ' ';
        long long id;
        double value;
        if (sscanf(line, "%lld %lf", &id, &value) != 2) continue;
        cr_assert_lt(n, cap, "more pairs than expected in %s", path);
        v[n++] = (pair){id, value};
    }
    fclose(f);
    return n;
}

/* The fleet's claims against the database: every pair a worker made is a
 * told trial with exactly that value, no id twice, and the study has no
 * other trials of the workers' kind (asked through ask: round IS NULL)
 * than the one the parent told and the workers' own. */
static void check_rows(const char *db, const char *name, int workers, int pairs, int max_orphans) {
    size_t n_claim = (size_t)workers * pairs;
    pair *claim = malloc(n_claim * sizeof *claim), *rows = malloc((n_claim + 16) * sizeof *rows);
    size_t n = 0;
    for (int w = 0; w < workers; w++) {
        char path[256];
        snprintf(path, sizeof path, "%s/worker%d.txt", work_dir, w);
        size_t k = read_pairs(path, claim + n, n_claim - n);
        cr_assert_eq(k, (size_t)pairs, "worker %d recorded %zu of %d pairs", w, k, pairs);
        n += k;
    }
    qsort(claim, n, sizeof *claim, cmp_pair);
    for (size_t i = 1; i < n; i++)
        cr_assert_neq(claim[i].id, claim[i - 1].id, "trial %lld was handed to two workers", claim[i].id);
    char sql[512], path[256];
    snprintf(path, sizeof path, "%s/rows.txt", work_dir);
    snprintf(sql, sizeof sql,
             "SELECT o.trial_id, o.value FROM observations o JOIN trials t ON t.id = o.trial_id "
             "JOIN studies s ON s.id = t.study_id WHERE s.name = '%s' AND o.value <> -1 ORDER BY 1",
             name);
    cr_assert_eq(pg_sql_to_file(db, sql, path), 0);
    size_t m = read_pairs(path, rows, n_claim + 16);
    cr_assert_eq(m, n, "%zu told trials in the database, the workers told %zu", m, n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(rows[i].id, claim[i].id, "row %zu: trial %lld in the database, %lld told", i, rows[i].id,
                     claim[i].id);
        cr_assert_eq(rows[i].value, claim[i].value, "trial %lld: value %.17g stored, %.17g told", rows[i].id,
                     rows[i].value, claim[i].value);
    }
    /* nothing else: no trial left asked or failed, one observation per trial */
    long long trials = pg_int(db,
                              "SELECT count(*) FROM trials t JOIN studies s ON s.id = t.study_id "
                              "WHERE s.name = '%s' AND t.round IS NULL",
                              name);
    long long told = pg_int(db,
                            "SELECT count(*) FROM trials t JOIN studies s ON s.id = t.study_id "
                            "WHERE s.name = '%s' AND t.round IS NULL AND t.state = 'told'",
                            name);
    long long obs = pg_int(db,
                           "SELECT count(*) FROM observations o JOIN trials t ON t.id = o.trial_id "
                           "JOIN studies s ON s.id = t.study_id WHERE s.name = '%s' AND t.round IS NULL",
                           name);
    fprintf(stderr, "%s: %d workers x %d pairs: %zu claimed, %zu rows matched, %lld asked trials, %lld told, %lld "
            "observations (1 of them the parent's)\n",
            name, workers, pairs, n, m, trials, told, obs);
    /* an ask whose COMMIT landed but whose answer was cut by a restart is
     * retried: its first trial stays open, never handed out (fail-stale's
     * job); at most one per worker and only where the test allows it */
    long long orphans = trials - ((long long)n + 1);
    cr_assert_geq(orphans, 0);
    cr_assert_leq(orphans, max_orphans, "%lld trials asked but never handed out", orphans);
    cr_assert_eq(told, (long long)n + 1, "%lld told trials for %zu pairs + 1", told, n);
    cr_assert_eq(obs, told);
    free(claim);
    free(rows);
}

TestSuite(pg_workers, .init = make_work_dir, .fini = remove_work_dir, .timeout = 300);

Test(pg_workers, eight_workers_200_pairs_every_row_counted) {
    enum { W = 8, P = 200 };
    const char *url = pg_db("workers8");
    create_trained(url, "w8");
    pid_t pids[W];
    double t0 = genbo__support_now();
    spawn_workers(url, "w8", W, P, pids);
    cr_assert_eq(wait_workers(W, pids), 0, "a worker failed (its error is above)");
    fprintf(stderr, "w8: %d pairs in %.1f s\n", W * P, genbo__support_now() - t0);
    check_rows("workers8", "w8", W, P, 0);
}

/* pg_ctl restart (fast: every connection is cut) once about a third of the
 * pairs are told; the workers reconnect and finish every pair. */
Test(pg_workers, server_restart_while_workers_run) {
    enum { W = 4, P = 120 };
    /* The failures this found (a read snapshot, a model write and a COMMIT
     * whose connection was cut were not retried) are fixed in db_pg.c,
     * data.c, models.c and store.c: 12 of 12 runs passed there. */
    const char *url = pg_db("restart");
    create_trained(url, "rs");
    pid_t pids[W];
    spawn_workers(url, "rs", W, P, pids);
    const char *count = "SELECT count(*) FROM observations";
    long long before = 0;
    for (int i = 0; i < 600 && (before = pg_int("restart", "%s", count)) < 1 + W * P / 3; i++) usleep(50 * 1000);
    cr_assert_eq(pg_restart(), 0, "pg_ctl restart failed");
    long long after = pg_int("restart", "%s", count);
    fprintf(stderr, "rs: restart at %lld of %d tells (%lld just after)\n", before - 1, W * P, after - 1);
    cr_assert_lt(after, 1 + W * P, "the workers finished before the restart: nothing tested");
    cr_assert_eq(wait_workers(W, pids), 0, "a worker did not survive the restart (its error is above)");
    check_rows("restart", "rs", W, P, W);
}

PG_TEST_MAIN()
