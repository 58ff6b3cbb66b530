/* test_pg_kill.c - workers SIGKILLed on a PostgreSQL study (issue 13).
 * Mid-ask and mid-tell are made exact, not left to timing: a psql session
 * of the test holds a lock (the trials table, or the one trial's row) so
 * the worker blocks inside its write transaction; the test sees it waiting
 * in pg_stat_activity, SIGKILLs it, and lets the lock go. The study must
 * hold every pair whole or not at all, and the trial a dead worker was
 * handed is failed later by `genbo fail-stale`, not left waiting forever. */
#include <math.h>

#include "pg_fixture.h"
#include "study_fixture.h"

static const char *const KILL_STUDY =
    "[study]\nname = k\nseed = 2\n"
    "[data]\nD = 16\nd = 4\nn_label = 60\nn_unlabel = 300\n"
    "[diffusion]\nwidth = 16\ndepth = 1\nt_embed = 8\ny_embed = 8\nsteps = 30\nbatch = 32\n"
    "[generate]\ntargets = p50\nn = 4\nsteps = 8\nmethods = genbo\n"
    "[loop]\nmethod = conditional\n[ask]\nsteps = 2\n";

TestSuite(pg_kill, .init = fixture_make_dir, .timeout = 240);

/* A fresh database `db` with study k, trained by one ask/tell. */
static const char *trained_study(const char *db) {
    const char *url = pg_db(db);
    fixture_write("k.ini", KILL_STUDY);
    pg_train_study(url, fixture_path("k.ini"), "k");
    return url;
}

/* A psql session (application_name genbo_locker) that runs `sql` in a
 * transaction and then sleeps holding its locks; returns its pid once the
 * server shows it sleeping. */
static pid_t hold_lock(const char *db, const char *sql) {
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        char q[1024];
        snprintf(q, sizeof q, "BEGIN; %s; SELECT pg_sleep(200); COMMIT;", sql);
        setenv("PGAPPNAME", "genbo_locker", 1);
        execlp("psql", "psql", "-X", "-q", "-o", "/dev/null", pg_url_of(db), "-c", q, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 400; i++) {
        if (pg_int(db, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'genbo_locker' "
                       "AND wait_event = 'PgSleep'") == 1)
            return pid;
        usleep(25 * 1000);
    }
    cr_assert_fail("the lock holder never got to its sleep");
    return pid;
}

static void release_lock(const char *db, pid_t holder) {
    pg_int(db, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'genbo_locker'");
    int st;
    cr_assert_eq(waitpid(holder, &st, 0), holder);
}

/* Wait until a backend of database db waits for a lock (the worker is
 * inside its transaction, blocked on the holder). */
static void wait_blocked(const char *db) {
    for (int i = 0; i < 400; i++) {
        if (pg_int(db, "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' AND wait_event_type = 'Lock'", db) >=
            1)
            return;
        usleep(25 * 1000);
    }
    cr_assert_fail("the worker never blocked on the held lock");
}

/* Wait until only our own psql is connected to db (the killed worker's
 * backend has rolled back and gone). */
static void wait_backends_gone(const char *db) {
    for (int i = 0; i < 400; i++) {
        if (pg_int(db, "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' AND pid <> pg_backend_pid()", db) == 0)
            return;
        usleep(25 * 1000);
    }
    cr_assert_fail("the killed worker's backend never went away");
}

/* Rows that would betray a half-written pair: a told trial without its
 * observation, an observation of a trial not told, two of one trial. */
static void assert_whole(const char *db) {
    cr_assert_eq(pg_int(db, "SELECT count(*) FROM trials t WHERE t.state = 'told' AND NOT EXISTS "
                            "(SELECT 1 FROM observations o WHERE o.trial_id = t.id)"),
                 0, "a told trial has no observation");
    cr_assert_eq(pg_int(db, "SELECT count(*) FROM observations o JOIN trials t ON t.id = o.trial_id "
                            "WHERE t.state <> 'told'"),
                 0, "an observation of a trial that is not told");
    cr_assert_eq(pg_int(db, "SELECT count(*) - count(DISTINCT trial_id) FROM observations"), 0);
}

/* A worker: open, say ready (one byte), wait for go, then either ask one
 * trial (mode 'a') or, mode 't', ask one, report its id, wait again and
 * tell it. It never gets past the blocked call: it is killed there. */
static pid_t worker(const char *url, char mode, int to_parent, int from_parent) {
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid != 0) return pid;
    genbo_study *s;
    if (genbo_study_open(url, "k", NULL, 0, &s)) _exit(2);
    double x[16];
    int64_t id;
    char c = 'r';
    if (write(to_parent, &c, 1) != 1 || read(from_parent, &c, 1) != 1) _exit(3);
    if (genbo_study_ask(s, 1.0, 1, &id, x)) _exit(4);
    if (mode == 'a') _exit(0); /* the ask went through: the test fails on exit 0 */
    if (write(to_parent, &id, sizeof id) != (ssize_t)sizeof id || read(from_parent, &c, 1) != 1) _exit(5);
    genbo_study_tell(s, id, 42.0);
    _exit(0);
}

static void kill_and_reap(pid_t pid) {
    int st;
    cr_assert_eq(waitpid(pid, &st, WNOHANG), 0, "the worker finished: it was not blocked");
    cr_assert_eq(kill(pid, SIGKILL), 0);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

/* Killed inside ask's transaction (blocked on the trials table): no trial,
 * half a trial or burnt state is left; the next ask and tell work. */
Test(pg_kill, sigkill_mid_ask_leaves_no_trial) {
    const char *url = trained_study("kill_ask");
    long long trials = pg_int("kill_ask", "SELECT count(*) FROM trials");
    int up[2], down[2];
    cr_assert_eq(pipe(up), 0);
    cr_assert_eq(pipe(down), 0);
    pid_t w = worker(url, 'a', up[1], down[0]);
    char c;
    cr_assert_eq(read(up[0], &c, 1), 1, "the worker could not open the study");
    pid_t holder = hold_lock("kill_ask", "LOCK TABLE trials IN EXCLUSIVE MODE");
    cr_assert_eq(write(down[1], "g", 1), 1);
    wait_blocked("kill_ask");
    kill_and_reap(w);
    release_lock("kill_ask", holder);
    wait_backends_gone("kill_ask");
    cr_assert_eq(pg_int("kill_ask", "SELECT count(*) FROM trials"), trials, "the killed ask left a trial");
    assert_whole("kill_ask");
    cr_assert_eq(sh("%s ask --db '%s' --study k --quiet > %s", cli(), url, fixture_path("id.txt")), 0);
    cr_assert_eq(sh("%s tell --db '%s' --study k --trial $(cut -d' ' -f1 %s) --value 1.5", cli(), url,
                    fixture_path("id.txt")),
                 0);
    cr_assert_eq(pg_int("kill_ask", "SELECT count(*) FROM trials WHERE state = 'told'"), trials + 1);
    assert_whole("kill_ask");
}

/* A mode-'t' worker that has opened the study and asked one trial: the
 * trial's id; *w its pid, up/down its pipes (it now waits on down for the
 * go to tell). */
static int64_t worker_with_asked_trial(const char *url, pid_t *w, int up[2], int down[2]) {
    cr_assert_eq(pipe(up), 0);
    cr_assert_eq(pipe(down), 0);
    *w = worker(url, 't', up[1], down[0]);
    char c;
    cr_assert_eq(read(up[0], &c, 1), 1, "the worker could not open the study");
    cr_assert_eq(write(down[1], "g", 1), 1);
    int64_t id;
    cr_assert_eq(read(up[0], &id, sizeof id), (ssize_t)sizeof id, "the worker's ask failed");
    return id;
}

/* Killed inside tell's transaction (blocked on the trial's row): the tell
 * is not half done - the trial is still open, no observation - and a tell
 * of it from another process then goes through. */
Test(pg_kill, sigkill_mid_tell_leaves_the_trial_open) {
    const char *url = trained_study("kill_tell");
    int up[2], down[2];
    pid_t w;
    int64_t id = worker_with_asked_trial(url, &w, up, down);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT id FROM trials WHERE id = %lld FOR UPDATE", (long long)id);
    pid_t holder = hold_lock("kill_tell", sql);
    cr_assert_eq(write(down[1], "g", 1), 1);
    wait_blocked("kill_tell");
    kill_and_reap(w);
    release_lock("kill_tell", holder);
    wait_backends_gone("kill_tell");
    cr_assert_eq(pg_int("kill_tell", "SELECT count(*) FROM trials WHERE id = %lld AND state = 'asked'", (long long)id),
                 1, "the killed tell changed the trial");
    cr_assert_eq(pg_int("kill_tell", "SELECT count(*) FROM observations WHERE trial_id = %lld", (long long)id), 0);
    assert_whole("kill_tell");
    cr_assert_eq(sh("%s tell --db '%s' --study k --trial %lld --value 2.5", cli(), url, (long long)id), 0);
    cr_assert_eq(pg_int("kill_tell", "SELECT count(*) FROM observations WHERE trial_id = %lld AND value = 2.5",
                        (long long)id),
                 1);
    assert_whole("kill_tell");
}

/* A worker SIGKILLed after its ask returned (the trial is durable and
 * nobody will tell it): `genbo fail-stale` fails it with a reason once it
 * is older than the timeout, and keeps both a trial asked a moment ago and
 * an old one whose evaluator sent a heartbeat; a late tell of the failed
 * trial is refused. */
Test(pg_kill, killed_workers_trial_is_failed_by_fail_stale) {
    const char *url = trained_study("stale");
    int up[2], down[2];
    pid_t w;
    int64_t id = worker_with_asked_trial(url, &w, up, down);
    kill_and_reap(w); /* it waits for a go to tell that never comes */
    FIXTURE_PATH(beat, "beat.txt");
    cr_assert_eq(sh("%s ask --db '%s' --study k --quiet > %s", cli(), url, beat), 0);
    sleep(3);
    cr_assert_eq(sh("%s heartbeat --db '%s' --study k --trial $(cut -d' ' -f1 %s)", cli(), url, beat), 0);
    FIXTURE_PATH(fresh, "fresh.txt");
    cr_assert_eq(sh("%s ask --db '%s' --study k --quiet > %s", cli(), url, fresh), 0);
    cr_assert_eq(sh("%s fail-stale --db '%s' --study k --timeout 2 >&2", cli(), url), 0);
    cr_assert_eq(pg_int("stale", "SELECT count(*) FROM trials WHERE id = %lld AND state = 'failed' "
                                 "AND reason IS NOT NULL AND reason <> ''",
                        (long long)id),
                 1, "fail-stale did not fail the dead worker's trial");
    cr_assert_eq(pg_int("stale", "SELECT count(*) FROM trials WHERE state = 'asked'"), 2,
                 "fail-stale failed the fresh or the heartbeating trial too");
    cr_assert_eq(pg_int("stale", "SELECT count(*) FROM trials WHERE state = 'failed'"), 1);
    cr_assert_neq(sh("%s tell --db '%s' --study k --trial %lld --value 1 2>/dev/null", cli(), url, (long long)id), 0,
                  "a tell of the failed trial was accepted");
    assert_whole("stale");
}

PG_TEST_MAIN()
