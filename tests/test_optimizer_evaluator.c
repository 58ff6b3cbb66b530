/* test_optimizer_evaluator.c - the external-command evaluator: exact values,
 * every failure mode with its reason, time-out bound, no zombie, no fd leak,
 * no deadlock on large batches. Scripts are in tests/evaluators/. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/core.h"
#include "optimizer/evaluator.h"

#define EVAL_DIR GENBO_SOURCE_DIR "/tests/evaluators/"

static int count_open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    cr_assert(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

/* No child left behind: waitpid says there is none. */
static void assert_no_children(void) {
    errno = 0;
    cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1);
    cr_assert_eq(errno, ECHILD);
}

static void fill_designs(double *X, size_t n, size_t d, uint64_t seed) {
    genbo__rng r;
    genbo__rng_seed(&r, seed, 0);
    for (size_t i = 0; i < n * d; i++) X[i] = genbo__rng_normal(&r) * 3.0;
}

static genbo__evaluator *command(const char *script_and_args, double timeout, size_t d) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "sh " EVAL_DIR "%s", script_and_args);
    genbo__evaluator *ev = NULL;
    cr_assert_eq(genbo__evaluator_command(cmd, timeout, d, NULL, &ev), GENBO_OK, "%s",
                 genbo_errmsg());
    return ev;
}

Test(evaluator, good_command_returns_exact_values) {
    enum { N = 17, D = 5 };
    double X[N * D], y[N];
    fill_designs(X, N, D, 3);
    int fds = count_open_fds();
    genbo__evaluator *ev = command("good.sh", 10, D);
    char *reasons[N];
    cr_assert_eq(genbo__evaluate(ev, N, X, y, reasons), GENBO_OK, "%s", genbo_errmsg());
    for (size_t i = 0; i < N; i++) {
        double s = 0;
        for (size_t j = 0; j < D; j++) s += X[i * D + j] * X[i * D + j];
        cr_assert_eq(y[i], -s, "design %zu: %.17g != %.17g", i, y[i], -s);
        cr_assert_null(reasons[i]);
    }
    genbo__evaluator_free(ev);
    cr_assert_eq(count_open_fds(), fds, "descriptor leak");
    assert_no_children();
}

Test(evaluator, large_batch_does_not_deadlock) {
    /* ~7 MB of CSV in, ~0.4 MB out while still reading: a
     * writer that fills both pipes deadlocks without poll. */
    enum { N = 20000, D = 16 };
    double *X = malloc(sizeof(double) * N * D), *y = malloc(sizeof(double) * N);
    fill_designs(X, N, D, 4);
    genbo__evaluator *ev = command("good.sh", 30, D);
    cr_assert_eq(genbo__evaluate(ev, N, X, y, NULL), GENBO_OK, "%s", genbo_errmsg());
    double s = 0;
    for (size_t j = 0; j < D; j++) s += X[(N - 1) * D + j] * X[(N - 1) * D + j];
    cr_assert_eq(y[N - 1], -s);
    genbo__evaluator_free(ev);
    free(X), free(y);
    assert_no_children();
}

Test(evaluator, child_ignoring_input_does_not_kill_us) {
    enum { N = 5000, D = 32 };
    double *X = malloc(sizeof(double) * N * D), y[N];
    fill_designs(X, N, D, 5);
    genbo__evaluator *ev = command("ignores_input.sh 5000", 10, D);
    cr_assert_eq(genbo__evaluate(ev, N, X, y, NULL), GENBO_OK, "%s", genbo_errmsg());
    for (size_t i = 0; i < N; i++) cr_assert_eq(y[i], 1.0);
    genbo__evaluator_free(ev);
    free(X);
}

static int pid_with_cmdline_alive(const char *needle) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    int found = 0;
    while (d && (e = readdir(d))) {
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        size_t k = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        for (size_t i = 0; i < k; i++)
            if (buf[i] == '\0') buf[i] = ' ';
        buf[k] = '\0';
        if (strstr(buf, needle) && !strstr(buf, "test_optimizer")) found = 1;
    }
    if (d) closedir(d);
    return found;
}

Test(evaluator, timeout_kills_the_group_within_bound) {
    double X[2 * 3] = {1, 2, 3, 4, 5, 6}, y[2];
    int fds = count_open_fds();
    /* a sleep length unique to this process: other test runs on the
     * machine (parallel ctest, other checkouts) have their own */
    char arg[64], needle[64];
    snprintf(arg, sizeof arg, "slow.sh 30.%d", (int)getpid());
    snprintf(needle, sizeof needle, "sleep 30.%d", (int)getpid());
    genbo__evaluator *ev = command(arg, 1.0, 3);
    double t0 = genbo__now();
    int rc = genbo__evaluate(ev, 2, X, y, NULL);
    double took = genbo__now() - t0;
    cr_assert_eq(rc, GENBO_ETIMEOUT, "%s", genbo_strstatus(rc));
    cr_assert(strstr(genbo_errmsg(), "timed out after 1 s") != NULL, "%s", genbo_errmsg());
    cr_assert(strstr(genbo_errmsg(), "slow.sh") != NULL, "%s", genbo_errmsg());
    cr_assert(took >= 0.9 && took < 5.0, "returned after %.2f s", took);
    cr_assert(isnan(y[0]) && isnan(y[1]));
    /* the grandchild `sleep 30.4321` was killed with its group */
    /* SIGKILL is delivered asynchronously: allow the kernel a moment to
     * end the grandchild (a live sleep after 2 s means it was not killed) */
    int alive = 1;
    for (int i = 0; i < 200 && (alive = pid_with_cmdline_alive(needle)); i++) usleep(10000);
    cr_assert_not(alive, "the sleep survived the time-out");
    genbo__evaluator_free(ev);
    cr_assert_eq(count_open_fds(), fds, "descriptor leak");
    assert_no_children();
}

static void expect_failure(const char *script, size_t n, int code, const char *reason) {
    double X[8 * 2], y[8];
    fill_designs(X, n, 2, 9);
    genbo__evaluator *ev = command(script, 10, 2);
    int rc = genbo__evaluate(ev, n, X, y, NULL);
    cr_assert_eq(rc, code, "%s: %s (%s)", script, genbo_strstatus(rc), genbo_errmsg());
    cr_assert(strstr(genbo_errmsg(), reason) != NULL, "%s: message '%s' lacks '%s'", script,
              genbo_errmsg(), reason);
    for (size_t i = 0; i < n; i++) cr_assert(isnan(y[i]));
    genbo__evaluator_free(ev);
    assert_no_children();
}

Test(evaluator, crash_reports_the_signal) {
    expect_failure("crash.sh", 4, GENBO_EEXTERNAL, "killed by signal 11");
}

Test(evaluator, nonzero_exit_reports_status_and_stderr) {
    expect_failure("exit2.sh", 4, GENBO_EEXTERNAL, "exited with status 2");
    expect_failure("exit2.sh", 4, GENBO_EEXTERNAL, "cannot reach the instrument");
}

Test(evaluator, wrong_line_count_is_reported) {
    expect_failure("wrong_count.sh", 4, GENBO_EEXTERNAL, "printed 3 lines for 4 designs");
}

Test(evaluator, non_numeric_line_is_reported) {
    expect_failure("non_numeric.sh", 5, GENBO_EEXTERNAL, "line 3: 'abc' is not a number");
}

Test(evaluator, missing_program_is_reported) {
    genbo__evaluator *ev = NULL;
    cr_assert_eq(genbo__evaluator_command("genbo_no_such_program_xyz", 5, 1, NULL, &ev), GENBO_OK);
    double X[1] = {1}, y[1];
    cr_assert_eq(genbo__evaluate(ev, 1, X, y, NULL), GENBO_EEXTERNAL);
    cr_assert(strstr(genbo_errmsg(), "exited with status 127") != NULL, "%s", genbo_errmsg());
    cr_assert(strstr(genbo_errmsg(), "not found") != NULL, "%s", genbo_errmsg());
    genbo__evaluator_free(ev);
}

Test(evaluator, signal_of_the_direct_child_is_reported) {
    /* exec: the shell itself becomes the process that dies */
    genbo__evaluator *ev = NULL;
    cr_assert_eq(genbo__evaluator_command("exec sh -c 'kill -TERM $$'", 5, 1, NULL, &ev), GENBO_OK);
    double X[1] = {1}, y[1];
    cr_assert_eq(genbo__evaluate(ev, 1, X, y, NULL), GENBO_EEXTERNAL);
    cr_assert(strstr(genbo_errmsg(), "killed by signal 15") != NULL, "%s", genbo_errmsg());
    genbo__evaluator_free(ev);
}

Test(evaluator, per_design_failures_keep_the_batch) {
    enum { N = 5 };
    double X[N * 2], y[N];
    char *reasons[N];
    fill_designs(X, N, 2, 10);
    genbo__evaluator *ev = command("partial_fail.sh", 10, 2);
    cr_assert_eq(genbo__evaluate(ev, N, X, y, reasons), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(y[0], 1.0);
    cr_assert(isnan(y[1]) && isnan(y[2]));
    cr_assert_eq(y[3], 4.0);
    cr_assert_eq(y[4], 5.0);
    cr_assert_null(reasons[0]);
    cr_assert_str_eq(reasons[1], "diverged");
    cr_assert_str_eq(reasons[2], "evaluator printed nan");
    genbo__reasons_free(reasons, N);
    genbo__evaluator_free(ev);
}

Test(evaluator, header_uses_column_names) {
    /* The child echoes its header back as the 'reward' of one design: it
     * must fail as non-numeric and show the names in the message. */
    const char *names[2] = {"temp", "press,ure"};
    genbo__evaluator *ev = NULL;
    cr_assert_eq(genbo__evaluator_command("head -n 1", 5, 2, names, &ev), GENBO_OK);
    double X[2] = {1, 2}, y[1];
    cr_assert_eq(genbo__evaluate(ev, 1, X, y, NULL), GENBO_EEXTERNAL);
    cr_assert(strstr(genbo_errmsg(), "'temp,\"press,ure\"' is not a number") != NULL, "%s",
              genbo_errmsg());
    genbo__evaluator_free(ev);
}

Test(evaluator, bad_arguments_fail_cleanly) {
    genbo__evaluator *ev = (genbo__evaluator *)1;
    cr_assert_eq(genbo__evaluator_command("", 5, 2, NULL, &ev), GENBO_EINVAL);
    cr_assert_null(ev);
    cr_assert_eq(genbo__evaluator_command("true", 0, 2, NULL, &ev), GENBO_EINVAL);
    cr_assert(strstr(genbo_errmsg(), "timeout") != NULL);
    cr_assert_eq(genbo__evaluator_command("true", -1, 2, NULL, &ev), GENBO_EINVAL);
}

static int square_sum(void *ctx, size_t n, size_t dim, const double *X, double *y) {
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t j = 0; j < dim; j++) s += X[i * dim + j] * X[i * dim + j];
        y[i] = i == 1 ? NAN : s;
    }
    return GENBO_OK;
}

Test(evaluator, function_evaluator_marks_nan_designs) {
    genbo__evaluator *ev = NULL;
    cr_assert_eq(genbo__evaluator_from_fn(2, square_sum, NULL, &ev), GENBO_OK);
    double X[6] = {1, 2, 3, 4, 5, 6}, y[3];
    char *reasons[3];
    cr_assert_eq(genbo__evaluate(ev, 3, X, y, reasons), GENBO_OK);
    cr_assert_eq(y[0], 5.0);
    cr_assert(isnan(y[1]));
    cr_assert_eq(y[2], 61.0);
    cr_assert_null(reasons[0]);
    cr_assert_not_null(reasons[1]);
    genbo__reasons_free(reasons, 3);
    genbo__evaluator_free(ev);
}

Test(evaluator, works_when_the_caller_has_no_stdin) {
    /* pipes may then land on fd 0; the child must still get the right ends */
    close(0);
    enum { N = 3, D = 2 };
    double X[N * D] = {1, 2, 3, 4, 5, 6}, y[N];
    genbo__evaluator *ev = command("good.sh", 10, D);
    cr_assert_eq(genbo__evaluate(ev, N, X, y, NULL), GENBO_OK, "%s", genbo_errmsg());
    cr_assert(y[0] == -5 && y[1] == -25 && y[2] == -61);
    genbo__evaluator_free(ev);
}
