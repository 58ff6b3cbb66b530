/* test_study.c - the study C API: open/create, ask trains the models once
 * and refits the reward after tells, tell's rules, durability, and four
 * processes asking and telling on one database at once. */
#include <criterion/criterion.h>
#include <math.h>
#include <sqlite3.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "studies/config.h"
#include "studies/store.h"
#include "study_fixture.h"

static genbo_config *tiny_config(void) {
    fixture_write("tiny.ini", TINY_STUDY);
    genbo_config *c;
    cr_assert_eq(genbo_config_load(fixture_path("tiny.ini"), &c), GENBO_OK, "%s", genbo_errmsg());
    return c;
}

TestSuite(study, .init = fixture_make_dir, .timeout = 120);

Test(study, open_missing_study_fails_and_create_needs_config) {
    FIXTURE_PATH(db, "a.db");
    genbo_study *s = (genbo_study *)1;
    cr_assert_eq(genbo_study_open(db, "nope", NULL, GENBO_OPEN_CREATE, &s), GENBO_ENOTFOUND);
    cr_assert_null(s);
    cr_assert(strstr(genbo_errmsg(), "no study named 'nope'"), "%s", genbo_errmsg());
    genbo_config *c = tiny_config();
    cr_assert_eq(genbo_study_open(db, "tiny", c, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s", genbo_errmsg());
    genbo_study_close(s);
    /* reopened without a config: the stored one is used */
    cr_assert_eq(genbo_study_open(db, "tiny", NULL, 0, &s), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_dim(s), 8);
    genbo_study_close(s);
    /* read-only handles cannot tell */
    cr_assert_eq(genbo_study_open(db, "tiny", NULL, GENBO_OPEN_READONLY, &s), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_tell(s, 1, 1.0), GENBO_ESTATE);
    genbo_study_close(s);
    cr_assert_eq(fixture_db_int(db, "PRAGMA user_version"), genbo__n_migrations);
    genbo_config_free(c);
}

Test(study, ask_trains_once_refits_after_tells_and_tell_rules_hold) {
    FIXTURE_PATH(db, "b.db");
    genbo_config *c = tiny_config();
    genbo_study *s;
    cr_assert_eq(genbo_study_open(db, "tiny", c, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s", genbo_errmsg());
    int64_t ids[3];
    double X[3 * 8];
    cr_assert_eq(genbo_study_ask(s, 1.0, 3, ids, X), GENBO_OK, "%s", genbo_errmsg());
    cr_assert(ids[1] == ids[0] + 1 && ids[2] == ids[1] + 1);
    for (int i = 0; i < 24; i++) cr_assert(isfinite(X[i]));
    /* the ask trained and stored one diffusion model and one reward model */
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM models WHERE kind = 'diffusion'"), 1);
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM models WHERE kind = 'reward'"), 1);
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM runs WHERE kind = 'ask' AND status = 'done'"), 1);

    /* tell: a value, then the rules */
    cr_assert_eq(genbo_study_tell(s, ids[0], 0.5), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_tell(s, ids[0], 0.7), GENBO_ESTATE);
    cr_assert(strstr(genbo_errmsg(), "already told"), "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_tell(s, 999999, 0.7), GENBO_ENOTFOUND);
    cr_assert_eq(genbo_study_tell(s, ids[1], NAN), GENBO_EINVAL);
    cr_assert_eq(genbo_study_tell(s, ids[1], INFINITY), GENBO_EINVAL);
    cr_assert_eq(genbo_study_tell_failed(s, ids[1], "simulation crashed"), GENBO_OK);
    cr_assert_eq(genbo_study_tell(s, ids[1], 1.0), GENBO_ESTATE);
    cr_assert(strstr(genbo_errmsg(), "already failed"), "%s", genbo_errmsg());

    /* the next ask refits the reward on 100 labelled + 1 told, not the diffusion */
    cr_assert_eq(genbo_study_ask(s, 1.0, 1, ids, X), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM models WHERE kind = 'diffusion'"), 1);
    cr_assert_eq(fixture_db_int(db, "SELECT MAX(n_labels) FROM models WHERE kind = 'reward'"), 101);
    /* no new tell: no refit */
    cr_assert_eq(genbo_study_ask(s, 1.0, 1, ids, X), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM models WHERE kind = 'reward'"), 2);
    genbo_study_close(s);

    /* durable: a fresh connection sees exactly what was told */
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM observations"), 1);
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM trials WHERE state = 'failed' AND reason = 'simulation crashed'"), 1);
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM trials WHERE state = 'asked'"), 3);
    genbo_config_free(c);
}

Test(study, same_asks_give_same_designs) {
    genbo_config *c = tiny_config();
    double X1[2 * 8], X2[2 * 8];
    int64_t ids1[2], ids2[2];
    const char *dbs[2] = {fixture_path("c1.db"), fixture_path("c2.db")};
    for (int k = 0; k < 2; k++) {
        genbo_study *s;
        cr_assert_eq(genbo_study_open(dbs[k], "tiny", c, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s", genbo_errmsg());
        cr_assert_eq(genbo_study_ask(s, 0.5, 2, k ? ids2 : ids1, k ? X2 : X1), GENBO_OK, "%s", genbo_errmsg());
        genbo_study_close(s);
    }
    cr_assert_eq(ids1[0], ids2[0]);
    cr_assert_eq(memcmp(X1, X2, sizeof X1), 0, "same seed and trial ids must give the same designs");
    genbo_config_free(c);
}

/* 4 processes x 200 ask/tell pairs: every trial id distinct, every tell
 * stored (value = a function of the id, so a mixed-up tell shows), no
 * "database is locked". */
Test(study, four_processes_ask_and_tell_concurrently) {
    FIXTURE_PATH(db, "d.db");
    genbo_config *c = tiny_config();
    genbo_study *s;
    cr_assert_eq(genbo_study_open(db, "tiny", c, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s", genbo_errmsg());
    int64_t id;
    double x[8];
    cr_assert_eq(genbo_study_ask(s, 0.0, 1, &id, x), GENBO_OK, "%s", genbo_errmsg()); /* trains */
    cr_assert_eq(genbo_study_tell(s, id, 0.001 * (double)id), GENBO_OK);
    genbo_study_close(s);
    enum { PROCS = 4, PAIRS = 200 };
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        cr_assert(pids[p] >= 0);
        if (pids[p] == 0) {
            genbo_study *cs;
            if (genbo_study_open(db, "tiny", NULL, 0, &cs)) {
                fprintf(stderr, "child open: %s\n", genbo_errmsg());
                _exit(1);
            }
            for (int i = 0; i < PAIRS; i++) {
                int64_t tid;
                double xx[8];
                if (genbo_study_ask(cs, 0.5, 1, &tid, xx) || genbo_study_tell(cs, tid, 0.001 * (double)tid)) {
                    fprintf(stderr, "child %d pair %d: %s\n", p, i, genbo_errmsg());
                    _exit(2);
                }
            }
            genbo_study_close(cs);
            _exit(0);
        }
    }
    for (int p = 0; p < PROCS; p++) {
        int status;
        cr_assert_eq(waitpid(pids[p], &status, 0), pids[p]);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d failed", p);
    }
    long long n = 1 + PROCS * PAIRS;
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM trials"), n);
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(DISTINCT id) FROM trials"), n);
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM trials WHERE state = 'told'"), n);
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM observations"), n);
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM observations WHERE abs(value - 0.001 * trial_id) > 1e-12"), 0);
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM trials WHERE x IS NULL"), 0);
    /* only the first ask trained a diffusion model */
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM models WHERE kind = 'diffusion'"), 1);
    genbo_config_free(c);
}

/* A failing evaluator fails the trials (with its reason), not the run. */
Test(study, failing_evaluator_fails_trials_not_the_run) {
    FIXTURE_PATH(db, "e.db");
    genbo_config *c = tiny_config();
    cr_assert_eq(genbo_config_set(c, "evaluate", "evaluator", "command"), GENBO_EINVAL); /* no command yet */
    cr_assert_eq(genbo_config_set(c, "evaluate", "command", "cat > /dev/null; exit 3"), GENBO_OK);
    cr_assert_eq(genbo_config_set(c, "evaluate", "evaluator", "command"), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_config_set(c, "generate", "methods", "random, best_labelled"), GENBO_OK);
    cr_assert_eq(genbo_config_set(c, "loop", "rounds", "1"), GENBO_OK);
    genbo_study *s;
    cr_assert_eq(genbo_study_open(db, "tiny", c, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_run(s, NULL, NULL), GENBO_OK, "%s", genbo_errmsg());
    genbo_study_close(s);
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM trials"), 2 * 2 * 16 + 4);
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM trials WHERE state = 'failed' AND reason LIKE '%exited with status 3%'"),
                 2 * 2 * 16 + 4);
    /* no true reward: SubOpt from the predicted rewards, flagged as such */
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM metrics WHERE subopt_kind = 'predicted' AND mean_true IS NULL"), 5);
    cr_assert_eq(fixture_db_int(db, "SELECT SUM(n_failed) FROM metrics"), 2 * 2 * 16 + 4);
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM runs WHERE status = 'done'"), 1);
    genbo_config_free(c);
}

/* A run resumed on CSV data that changed in the meantime refuses to go on. */
Test(study, resume_refuses_changed_csv_data) {
    FIXTURE_PATH(db, "csv.db");
    char lab[4096] = "a,b,reward\n";
    for (int i = 0; i < 40; i++) {
        char row[64];
        snprintf(row, sizeof row, "%d,%d,%d\n", i % 7, (i * 3) % 5, i % 7 + (i * 3) % 5);
        strcat(lab, row);
    }
    fixture_write("lab.csv", lab);
    fixture_write("csv.ini", "[study]\nname = c\n[data]\ntask = csv\nlabelled = lab.csv\n"
                             "[diffusion]\nwidth = 16\ndepth = 1\nt_embed = 8\ny_embed = 8\nsteps = 20\nbatch = 16\n"
                             "[generate]\ntargets = p50\nn = 4\nsteps = 5\nmethods = random\n");
    genbo_config *c;
    cr_assert_eq(genbo_config_load(fixture_path("csv.ini"), &c), GENBO_OK, "%s", genbo_errmsg());
    genbo_study *s;
    cr_assert_eq(genbo_study_open(db, "c", c, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_run(s, NULL, NULL), GENBO_OK, "%s", genbo_errmsg());
    genbo_study_close(s);
    /* pretend the run was killed before its end, then change one value */
    sqlite3 *h;
    cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(h, "UPDATE runs SET status = 'running'", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    lab[strlen("a,b,reward\n")] = '6';
    fixture_write("lab.csv", lab);
    cr_assert_eq(genbo_study_open(db, "c", c, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_run(s, NULL, NULL), GENBO_ESTATE);
    cr_assert(strstr(genbo_errmsg(), "changed since run 1"), "%s", genbo_errmsg());
    genbo_study_close(s);
    genbo_config_free(c);
}

Test(study, ask_on_a_missing_database_creates_nothing) {
    FIXTURE_PATH(db, "typo.db");
    genbo_study *s = (genbo_study *)1;
    cr_assert_eq(genbo_study_open(db, "tiny", NULL, 0, &s), GENBO_ENOTFOUND);
    cr_assert_null(s);
    cr_assert(strstr(genbo_errmsg(), "no such database"), "%s", genbo_errmsg());
    cr_assert_neq(access(db, F_OK), 0, "a database was created by a failed open");
}

Test(study, a_second_run_of_the_same_study_is_refused_while_one_runs) {
    FIXTURE_PATH(db, "lock.db");
    genbo_config *c = tiny_config();
    genbo_study *s;
    cr_assert_eq(genbo_study_open(db, "tiny", c, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s", genbo_errmsg());
    /* Hold the run lock as another `genbo run` process would. */
    char lock_path[256];
    snprintf(lock_path, sizeof lock_path, "%s.tiny.runlock", db);
    int fd = open(lock_path, O_RDWR | O_CREAT, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
    cr_assert_eq(genbo_study_run(s, NULL, NULL), GENBO_ESTATE);
    cr_assert(strstr(genbo_errmsg(), "being run by another process"), "%s", genbo_errmsg());
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM runs"), 0, "the refused run started anyway");
    close(fd); /* the other process ends: the run goes ahead */
    cr_assert_eq(genbo_study_run(s, NULL, NULL), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM runs WHERE status = 'done'"), 1);
    genbo_study_close(s);
    genbo_config_free(c);
}
