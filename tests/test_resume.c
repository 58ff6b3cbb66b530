/* test_resume.c - exact resume (issue 10): a run killed at EVERY step
 * boundary (GENBO_FAULT_KILL_AFTER_COMMIT=k for k = 1, 2, ... until the run
 * completes) and then resumed ends in the same database as an
 * uninterrupted run, compared row by row (trials, values, models as bytes,
 * metrics, steps, targets, samples), wall-clock columns aside. Fixed thread
 * count: ctest sets OPENBLAS_NUM_THREADS=1. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

#include "study_fixture.h"

/* A design loop with fine-tuning: the case that resumed to a different
 * result (issue 10.1). */
static const char *const LOOP_STUDY =
    "[study]\nname = loop\nseed = 9\n"
    "[data]\nD = 4\nd = 2\nn_label = 40\nn_unlabel = 300\n"
    "[diffusion]\nwidth = 16\ndepth = 1\nt_embed = 8\ny_embed = 8\nsteps = 40\nbatch = 32\n"
    "[generate]\ntargets = p50, max\nn = 4\nsteps = 8\nmethods = genbo, random\n"
    "[loop]\nrounds = 3\nbatch = 3\nfinetune_steps = 15\n";

/* Every table, canonically ordered, without wall-clock columns. */
static const char *const DUMP[] = {
    "SELECT id, name, config, dim FROM studies ORDER BY id",
    "SELECT id, study_id, kind, config, seed, version, status, last_step, error FROM runs ORDER BY id",
    "SELECT run_id, step, detail FROM steps ORDER BY run_id, step",
    "SELECT id, run_id, role, source, hash, rows, cols, columns FROM datasets ORDER BY id",
    "SELECT id, run_id, kind, role, round, n_labels, describe, hex(data) FROM models ORDER BY id",
    "SELECT id, study_id, run_id, round, target, target_label, method, state, hex(x), x_json, predicted, "
    "support_distance, reason FROM trials ORDER BY id",
    "SELECT trial_id, value FROM observations ORDER BY trial_id",
    "SELECT * FROM metrics ORDER BY run_id, round, target_label, method",
    "SELECT run_id, kind, value FROM reward_samples ORDER BY rowid",
    "SELECT * FROM targets ORDER BY run_id, label",
    /* training records and loss curves (not their seconds, nor resumed_from,
     * which says a checkpoint was used); no checkpoint may be left over */
    "SELECT run_id, round, stop, steps, best_step, best_val_loss, val_loss, train_loss, n_train, n_val, "
    "val_seed, width, depth, batch FROM trainings ORDER BY run_id, round",
    "SELECT run_id, round, step, train_loss, val_loss, lr FROM train_curve ORDER BY run_id, round, step",
    "SELECT run_id, round, step FROM train_checkpoints ORDER BY run_id, round",
};
#define N_DUMP (sizeof DUMP / sizeof DUMP[0])

typedef struct dump {
    char *text[N_DUMP];
    long rows[N_DUMP];
} dump;

static void dump_db(const char *path, dump *d) {
    sqlite3 *db;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    for (size_t q = 0; q < N_DUMP; q++) {
        sqlite3_stmt *st;
        cr_assert_eq(sqlite3_prepare_v2(db, DUMP[q], -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
        size_t cap = 1 << 16, len = 0;
        char *t = malloc(cap);
        t[0] = '\0';
        d->rows[q] = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            d->rows[q]++;
            for (int c = 0; c < sqlite3_column_count(st); c++) {
                const char *v = (const char *)sqlite3_column_text(st, c);
                size_t k = (v ? strlen(v) : 4) + 2;
                if (len + k + 1 > cap) {
                    while (len + k + 1 > cap) cap *= 2;
                    t = realloc(t, cap);
                }
                len += (size_t)sprintf(t + len, "%s%c", v ? v : "NULL", c + 1 < sqlite3_column_count(st) ? '|' : '\n');
            }
        }
        sqlite3_finalize(st);
        d->text[q] = t;
    }
    sqlite3_close(db);
}

static void dump_free(dump *d) {
    for (size_t q = 0; q < N_DUMP; q++) free(d->text[q]);
}

/* The first differing line of two dumps, for the failure message. */
static const char *first_diff(const char *a, const char *b, char *out, size_t size) {
    size_t i = 0, line = 0, start = 0;
    while (a[i] && a[i] == b[i]) {
        if (a[i] == '\n') line++, start = i + 1;
        i++;
    }
    snprintf(out, size, "row %zu: '%.120s' vs '%.120s'", line, a + start, b + start);
    return out;
}

static int run_study(const char *ini, const char *db, long kill_after) {
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        if (kill_after > 0) {
            char v[32];
            snprintf(v, sizeof v, "%ld", kill_after);
            setenv("GENBO_FAULT_KILL_AFTER_COMMIT", v, 1);
        } else {
            unsetenv("GENBO_FAULT_KILL_AFTER_COMMIT");
        }
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(126);
        execl(getenv("GENBO_CLI"), "genbo", "run", ini, "--db", db, "--quiet", (char *)NULL);
        _exit(127);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    if (WIFSIGNALED(st)) return -WTERMSIG(st);
    return WEXITSTATUS(st);
}

static int run_done(const char *path) {
    sqlite3 *db;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    int done = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM runs WHERE status = 'done'", -1, &st, NULL) == SQLITE_OK) {
        done = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return done;
}

TestSuite(resume, .init = fixture_make_dir, .timeout = 300);

Test(resume, kill_at_every_step_boundary_then_resume_is_identical) {
    cr_assert_not_null(getenv("GENBO_CLI"));
    fixture_write("loop.ini", LOOP_STUDY);
    FIXTURE_PATH(ini, "loop.ini");
    FIXTURE_PATH(ref, "ref.db");
    cr_assert_eq(run_study(ini, ref, 0), 0);
    dump want;
    dump_db(ref, &want);
    cr_assert_gt(want.rows[4], 5, "models of every round");
    int kills = 0;
    for (long k = 1; k < 1000; k++) {
        char db[200];
        snprintf(db, sizeof db, "%s/k%ld.db", fixture_dir, k);
        int st = run_study(ini, db, k);
        if (st == 0) break; /* k is past the last commit: nothing left to kill */
        cr_assert_eq(st, -SIGKILL, "kill after commit %ld: status %d", k, st);
        kills++;
        /* killed after its last commit (the run marked done), the database is
         * complete: another `genbo run` would start a new run */
        if (!run_done(db)) cr_assert_eq(run_study(ini, db, 0), 0, "resume after commit %ld", k);
        dump got;
        dump_db(db, &got);
        for (size_t q = 0; q < N_DUMP; q++) {
            char why[400];
            cr_assert(strcmp(want.text[q], got.text[q]) == 0, "killed after commit %ld: %s differs at %s", k,
                      DUMP[q], first_diff(want.text[q], got.text[q], why, sizeof why));
        }
        dump_free(&got);
        char side[220];
        snprintf(side, sizeof side, "%s-wal", db);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", db);
        unlink(side);
        unlink(db);
    }
    cr_assert_gt(kills, 20, "only %d step boundaries", kills);
    cr_log_info("resume: %d kills, every resumed database identical", kills);
    fprintf(stderr, "resume: killed at %d step boundaries, every resumed database identical\n", kills);
    dump_free(&want);
}
