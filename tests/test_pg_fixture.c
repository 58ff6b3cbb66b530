/* test_pg_fixture.c - the PostgreSQL test server itself (tests/pg_fixture.h,
 * tests/pg_server.sh): it answers on its URL, hands out fresh databases,
 * survives a restart on the same port with its data, a server whose owner
 * died is swept away, it starts without root too, and missing binaries exit
 * 77 (skipped) with a message instead of passing. */
#define PG_FIXTURE_ONLY /* the server alone: no PostgreSQL back end needed */
#include "pg_fixture.h"

TestSuite(pg_fixture, .timeout = 120);

static int sh_status(const char *cmd) {
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

Test(pg_fixture, server_answers_on_its_url) {
    const char *url = getenv("GENBO_PG_URL");
    cr_assert_not_null(url);
    cr_assert_eq(strncmp(url, "postgresql://genbo@127.0.0.1:", 29), 0, "%s", url);
    cr_assert_eq(pg_int("genbo_test", "SELECT 6 * 7"), 42);
    /* the URL itself works with libpq's client (psql takes a URL as dbname) */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "psql -X -At '%s' -c 'SELECT 1' | grep -qx 1", url);
    cr_assert_eq(sh_status(cmd), 0, "%s", cmd);
    /* cheap: no fsync */
    cr_assert_eq(pg_int("genbo_test", "SELECT (current_setting('fsync') = 'off')::int"), 1);
}

Test(pg_fixture, fresh_databases_are_empty_and_separate) {
    pg_db("fx_a");
    pg_sql("fx_a", "CREATE TABLE t (i int); INSERT INTO t SELECT generate_series(1, 5)", NULL, 0);
    cr_assert_eq(pg_int("fx_a", "SELECT count(*) FROM t"), 5);
    char path[128];
    snprintf(path, sizeof path, "/tmp/genbo_pg_fixture_%d.txt", (int)getpid());
    cr_assert_eq(pg_sql_to_file("fx_a", "SELECT i, i * i FROM t WHERE i > 3 ORDER BY i", path), 0);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "printf '4|16\\n5|25\\n' | cmp -s - %s", path);
    cr_assert_eq(sh_status(cmd), 0, "pg_sql_to_file wrote something else than the two rows");
    unlink(path);
    const char *url = pg_db("fx_a"); /* again: dropped and re-created */
    cr_assert(strstr(url, "/fx_a") != NULL, "%s", url);
    cr_assert_eq(pg_int("fx_a", "SELECT count(*) FROM pg_tables WHERE tablename = 't'"), 0);
    pg_db("fx_b");
    cr_assert_eq(pg_int("fx_b", "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), 0);
}

Test(pg_fixture, restart_keeps_port_and_data_and_cuts_connections) {
    pg_db("fx_r");
    cr_assert_eq(pg_sql("fx_r", "CREATE TABLE t (i int); INSERT INTO t VALUES (7)", NULL, 0), 0);
    long long before = pg_int("fx_r", "SELECT extract(epoch FROM pg_postmaster_start_time()) * 1000");
    int port = pg_port();
    /* a session open across the restart is cut: psql sleeping in a query */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "psql -X -At '%s' -c 'SELECT pg_sleep(30)' >/dev/null 2>&1 & echo $!", pg_url_of("fx_r"));
    FILE *f = popen(cmd, "r");
    int pid = 0;
    cr_assert_eq(fscanf(f, "%d", &pid), 1);
    pclose(f);
    usleep(300 * 1000);
    cr_assert_eq(pg_restart(), 0);
    cr_assert_eq(pg_port(), port);
    long long after = pg_int("fx_r", "SELECT extract(epoch FROM pg_postmaster_start_time()) * 1000");
    cr_assert_gt(after, before, "the postmaster did not restart");
    cr_assert_eq(pg_int("fx_r", "SELECT i FROM t"), 7);
    /* the sleeping client lost its connection and exited long before 30 s */
    int gone = 0;
    for (int i = 0; i < 50 && !gone; i++) {
        gone = kill(pid, 0) != 0;
        if (!gone) usleep(100 * 1000);
    }
    cr_assert(gone, "psql %d survived the restart", pid);
}

/* A second server owned by a process that has exited: the sweep stops it
 * and removes its directory. */
Test(pg_fixture, sweep_removes_a_server_whose_owner_died) {
    pid_t dead = fork();
    if (dead == 0) _exit(0);
    waitpid(dead, NULL, 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sh %s start --durable --owner %d", PG_SCRIPT, (int)dead);
    FILE *f = popen(cmd, "r");
    char line[400], dir[400] = "", url[400] = "";
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!strncmp(line, "GENBO_PG_DIR=", 13)) snprintf(dir, sizeof dir, "%s", line + 13);
        if (!strncmp(line, "GENBO_PG_URL=", 13)) snprintf(url, sizeof url, "%s", line + 13);
    }
    cr_assert_eq(pclose(f), 0);
    cr_assert_neq(dir[0], 0);
    /* --durable: this one commits to disk (the benchmark's server) */
    snprintf(cmd, sizeof cmd, "psql -X -At '%s' -c 'SHOW fsync; SHOW synchronous_commit' | tr '\\n' ' ' | grep -qx 'on on '", url);
    cr_assert_eq(sh_status(cmd), 0, "--durable did not turn fsync and synchronous_commit on");
    char pidfile[600];
    snprintf(pidfile, sizeof pidfile, "%s/data/postmaster.pid", dir);
    f = fopen(pidfile, "r");
    cr_assert_not_null(f, "%s", pidfile);
    int postmaster = 0;
    cr_assert_eq(fscanf(f, "%d", &postmaster), 1);
    fclose(f);
    cr_assert_eq(kill(postmaster, 0), 0, "the second server is not running");
    snprintf(cmd, sizeof cmd, "sh %s sweep", PG_SCRIPT);
    cr_assert_eq(sh_status(cmd), 0);
    struct stat st;
    cr_assert_neq(stat(dir, &st), 0, "%s survived the sweep", dir);
    int gone = 0;
    for (int i = 0; i < 50 && !gone; i++) {
        gone = kill(postmaster, 0) != 0;
        if (!gone) usleep(100 * 1000);
    }
    cr_assert(gone, "postmaster %d survived the sweep", postmaster);
    /* our own server (owner alive) is untouched */
    cr_assert_eq(pg_int("genbo_test", "SELECT 1"), 1);
}

Test(pg_fixture, missing_binaries_skip_with_a_message) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "GENBO_PG_BINDIR=/nonexistent sh %s start 2>&1 >/dev/null | grep -q 'not found'",
             PG_SCRIPT);
    cr_assert_eq(sh_status(cmd), 0, "no message naming the missing binaries");
    snprintf(cmd, sizeof cmd, "GENBO_PG_BINDIR=/nonexistent sh %s start >/dev/null 2>&1", PG_SCRIPT);
    cr_assert_eq(sh_status(cmd), PG_SKIP);
}

/* CI runs as root (the server then runs as `postgres`); a developer does
 * not: as root, start and stop a server as the unprivileged postgres user. */
Test(pg_fixture, starts_without_root) {
    if (getuid() != 0) {
        cr_assert_eq(pg_int("genbo_test", "SELECT 1"), 1); /* this program already did */
        return;
    }
    if (sh_status("id postgres >/dev/null 2>&1") != 0) cr_skip_test("no postgres user");
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "runuser -u postgres -- sh -s start --owner $$ < %s > /tmp/genbo_pg_nonroot.$$ && "
             ". /tmp/genbo_pg_nonroot.$$ && rm -f /tmp/genbo_pg_nonroot.$$ && "
             "psql -X -At \"$GENBO_PG_URL\" -c 'SELECT 40 + 2' | grep -qx 42 && "
             "runuser -u postgres -- sh -s stop \"$GENBO_PG_DIR\" < %s && test ! -e \"$GENBO_PG_DIR\"",
             PG_SCRIPT, PG_SCRIPT);
    cr_assert_eq(sh_status(cmd), 0, "%s", cmd);
}

PG_TEST_MAIN()
