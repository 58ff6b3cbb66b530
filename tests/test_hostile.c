/* test_hostile.c - bad input and hostile environments (issue 10): foreign
 * and empty SQLite files are refused and left byte-identical, read-only
 * directories, odd study names, ask's argument errors. The README's
 * "Hostile input" table points at these tests. */
#include <criterion/criterion.h>
#include <math.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/core.h"
#include "diffusion/kernels.h"
#include "study_fixture.h"

/* A study that trains in well under a second. */
static const char *const MINI_STUDY =
    "[study]\nname = mini\nseed = 5\n"
    "[data]\nD = 4\nd = 2\nn_label = 40\nn_unlabel = 200\n"
    "[diffusion]\nwidth = 16\ndepth = 1\nt_embed = 8\ny_embed = 8\nsteps = 20\nbatch = 32\n"
    "[generate]\ntargets = p50\nn = 4\nsteps = 5\nmethods = genbo, random\n"
    "[ask]\nsteps = 3\n";


static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    if (len) *len = n;
    return buf;
}

static void make_mini(const char *db) {
    fixture_write("mini.ini", MINI_STUDY);
    cr_assert_eq(sh("%s run %s --db %s --quiet > /dev/null", cli(), fixture_path("mini.ini"), db), 0);
}

TestSuite(hostile, .init = fixture_make_dir, .timeout = 120);

/* Issue 10.5: ask/tell/status/export on another program's SQLite file or
 * a 0-byte file fail and leave the file byte-identical (no tables, no
 * user_version, no WAL); only run/create may create or migrate. */
Test(hostile, foreign_and_empty_databases_are_refused_and_left_alone) {
    FIXTURE_PATH(foreign, "foreign.db");
    FIXTURE_PATH(empty, "empty.db");
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(foreign, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "CREATE TABLE foo(x); INSERT INTO foo VALUES (1)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    fclose(fopen(empty, "w"));
    size_t len0;
    char before[8192];
    const char *text0 = slurp(foreign, &len0);
    cr_assert(len0 <= sizeof before);
    memcpy(before, text0, len0);
    const char *files[] = {foreign, empty};
    for (int f = 0; f < 2; f++) {
        const char *cmds[] = {"tell --study s --trial 1 --value 1", "ask --study s --target 1",
                              "status", "export --study s"};
        for (int i = 0; i < 4; i++) {
            cr_assert_eq(sh("%s %s --db %s > /dev/null 2> %s", cli(), cmds[i], files[f], fixture_path("err")), 1,
                         "%s on %s", cmds[i], files[f]);
            cr_assert(strstr(slurp(fixture_path("err"), NULL), "genbo database") ||
                          strstr(slurp(fixture_path("err"), NULL), "schema version"),
                      "%s: %s", cmds[i], slurp(fixture_path("err"), NULL));
        }
        struct stat st;
        char side[200];
        snprintf(side, sizeof side, "%s-wal", files[f]);
        cr_assert_neq(stat(side, &st), 0, "a -wal file appeared beside %s", files[f]);
    }
    size_t len1;
    char *after = slurp(foreign, &len1);
    cr_assert_eq(len1, len0);
    cr_assert_eq(memcmp(before, after, len0), 0, "the foreign database changed");
    struct stat st;
    cr_assert_eq(stat(empty, &st), 0);
    cr_assert_eq(st.st_size, 0, "the empty file grew to %lld bytes", (long long)st.st_size);
    /* run (the creating command) still refuses a file with foreign tables */
    fixture_write("mini.ini", MINI_STUDY);
    cr_assert_eq(sh("%s run %s --db %s --quiet > /dev/null 2> %s", cli(), fixture_path("mini.ini"), foreign,
                    fixture_path("err")), 1);
    cr_assert(strstr(slurp(fixture_path("err"), NULL), "not a genbo database"), "%s", slurp(fixture_path("err"), NULL));
    after = slurp(foreign, &len1);
    cr_assert(len1 == len0 && memcmp(before, after, len0) == 0, "run changed the foreign database");
    /* ... but fills a 0-byte file */
    cr_assert_eq(sh("%s run %s --db %s --quiet > /dev/null", cli(), fixture_path("mini.ini"), empty), 0);
}

/* status, export and report as `as` (a command prefix) on db. */
static void read_only_commands(const char *as, const char *db) {
    cr_assert_eq(sh("%s%s status --db %s > %s 2>&1", as, cli(), db, fixture_path("out")), 0, "%s",
                 slurp(fixture_path("out"), NULL));
    cr_assert(strstr(slurp(fixture_path("out"), NULL), "mini"));
    cr_assert_eq(sh("%s%s export --db %s --study mini > %s 2>&1", as, cli(), db, fixture_path("out")), 0,
                 "%s", slurp(fixture_path("out"), NULL));
    cr_assert(strstr(slurp(fixture_path("out"), NULL), "trial,run,round"));
    cr_assert_eq(chmod(fixture_dir, 0777), 0); /* somewhere to write the report */
    cr_assert_eq(sh("%s%s report --db %s --out %s > %s 2>&1", as, cli(), db, fixture_path("r.html"),
                    fixture_path("out")), 0, "%s", slurp(fixture_path("out"), NULL));
    cr_assert_eq(chmod(fixture_dir, 0755), 0);
}

/* Issue 10.6: status, export, report and the dashboard's reader work in a
 * directory the user cannot write (no -shm can be created). Root ignores
 * permissions, so as root the commands run as 'nobody'. */
Test(hostile, read_only_commands_work_in_a_read_only_directory) {
    FIXTURE_PATH(rodir, "ro");
    cr_assert_eq(mkdir(rodir, 0755), 0);
    FIXTURE_PATH(db, "ro/mini.db");
    make_mini(db);
    cr_assert_eq(chmod(fixture_dir, 0755), 0);
    const char *as = "";
    if (geteuid() == 0) {
        if (access("/usr/sbin/runuser", X_OK) != 0) cr_skip_test("runuser missing: cannot drop root");
        as = "/usr/sbin/runuser -u nobody -- ";
    }
    /* as the writer left it (an empty -wal, an -shm we cannot write) ... */
    cr_assert_eq(chmod(rodir, 0555), 0);
    read_only_commands(as, db);
    /* ... and with neither */
    char side[200];
    cr_assert_eq(chmod(rodir, 0755), 0);
    snprintf(side, sizeof side, "%s-wal", db);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", db);
    unlink(side);
    cr_assert_eq(chmod(rodir, 0555), 0);
    read_only_commands(as, db);
    cr_assert_eq(chmod(rodir, 0755), 0);
}

/* Issue 10.9: a study name with '/' (and other bytes) runs: the run lock's
 * file name encodes it. */
Test(hostile, study_names_with_slashes_run) {
    FIXTURE_PATH(db, "names.db");
    const char *names[] = {"a/b", "../x", "sp ace%", "\xc3\xa9t\xff"};
    for (int i = 0; i < 4; i++) {
        char text[1024];
        snprintf(text, sizeof text, "%s", MINI_STUDY);
        genbo_config *c;
        fixture_write("n.ini", text);
        cr_assert_eq(genbo_config_load(fixture_path("n.ini"), &c), GENBO_OK, "%s", genbo_errmsg());
        cr_assert_eq(genbo_config_set(c, "study", "name", names[i]), GENBO_OK, "%s", genbo_errmsg());
        genbo_study *s;
        cr_assert_eq(genbo_study_open(db, names[i], c, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s", genbo_errmsg());
        cr_assert_eq(genbo_study_run(s, NULL, NULL), GENBO_OK, "%s: %s", names[i], genbo_errmsg());
        genbo_study_close(s);
        genbo_config_free(c);
    }
    char lock[256];
    snprintf(lock, sizeof lock, "%s.a%%2Fb.runlock", db);
    cr_assert_eq(access(lock, F_OK), 0, "%s", lock);
}

/* Issue 10.11: ask says what is wrong with --n and --target. */
Test(hostile, ask_argument_errors_say_what_is_wrong) {
    struct {
        const char *args, *want;
    } cases[] = {{"--target 1 --n 0", "--n must be a whole number of designs from 1 to 1000000, not 0"},
                 {"--target 1 --n 1.5", "not 1.5"},
                 {"--target 1 --n 2000000", "not 2000000"},
                 {"--target nan", "--target must be a finite number, not nan"},
                 {"--target inf", "--target must be a finite number, not inf"},
                 {"--target 1 --n x", "--n: 'x' is not a number"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq(sh("%s ask --db x.db --study s %s 2> %s", cli(), cases[i].args, fixture_path("err")), 2);
        cr_assert(strstr(slurp(fixture_path("err"), NULL), cases[i].want), "%s: %s", cases[i].args,
                  slurp(fixture_path("err"), NULL));
    }
}

/* Solve the n x n system A x = b in place (Gaussian elimination, n tiny). */
static void solve_small(int n, double *A, double *b) {
    for (int c = 0; c < n; c++)
        for (int r = c + 1; r < n; r++) {
            double f = A[r * n + c] / A[c * n + c];
            for (int k = c; k < n; k++) A[r * n + k] -= f * A[c * n + k];
            b[r] -= f * b[c];
        }
    for (int r = n - 1; r >= 0; r--) {
        for (int k = r + 1; k < n; k++) b[r] -= A[r * n + k] * b[k];
        b[r] /= A[r * n + r];
    }
}

/* Issue 10.4: ridge with n << d used a d x d matrix (2e4 features x 3 rows:
 * 102 s and 3.2 GB). The wide form must agree with the dual closed form
 * (fitted values K (K + l I)^{-1} y_c, variance (|z|^2 - k^T (K + l I)^{-1} k)
 * / l with K = Z Z^T) and store O(n d) numbers. */
Test(hostile, wide_ridge_matches_the_dual_form_and_stays_small) {
    enum { N = 5, D = 40 };
    double X[N * D], y[N], Zt[N * D];
    genbo__rng rng;
    genbo__rng_seed(&rng, 11, 0);
    for (int i = 0; i < N * D; i++) X[i] = genbo__rng_normal(&rng) * (1 + i % 3);
    for (int i = 0; i < N; i++) y[i] = X[i * D] - 2 * X[i * D + 1] + 0.1 * genbo__rng_normal(&rng);
    genbo_reward_params p;
    genbo_reward_params_default(&p);
    p.lambda_select = GENBO_LAMBDA_FIXED;
    p.lambda = 0.7;
    genbo_reward *m;
    cr_assert_eq(genbo_reward_fit(&p, N, D, X, y, &m), GENBO_OK, "%s", genbo_errmsg());
    /* standardised design, as the model sees it */
    double xm[D], xs[D], ybar = 0;
    for (int j = 0; j < D; j++) {
        double s = 0, ss = 0;
        for (int i = 0; i < N; i++) s += X[i * D + j];
        xm[j] = s / N;
        for (int i = 0; i < N; i++) ss += (X[i * D + j] - xm[j]) * (X[i * D + j] - xm[j]);
        xs[j] = sqrt(ss / N);
    }
    for (int i = 0; i < N; i++) ybar += y[i] / N;
    for (int i = 0; i < N * D; i++) Zt[i] = (X[i] - xm[i % D]) / xs[i % D];
    double K[N * N], alpha[N], mean[N], var[N];
    for (int a = 0; a < N; a++)
        for (int b = 0; b < N; b++) {
            double s = 0;
            for (int j = 0; j < D; j++) s += Zt[a * D + j] * Zt[b * D + j];
            K[a * N + b] = s + (a == b ? p.lambda : 0);
        }
    double Kc[N * N];
    memcpy(Kc, K, sizeof K);
    for (int i = 0; i < N; i++) alpha[i] = y[i] - ybar;
    solve_small(N, Kc, alpha);
    cr_assert_eq(genbo_reward_predict(m, N, X, mean, var), GENBO_OK, "%s", genbo_errmsg());
    for (int i = 0; i < N; i++) {
        double fit = ybar;
        for (int b = 0; b < N; b++) fit += (K[i * N + b] - (i == b ? p.lambda : 0)) * alpha[b];
        cr_assert_float_eq(mean[i], fit, 1e-8 * (1 + fabs(fit)), "row %d: %g vs %g", i, mean[i], fit);
        /* variance at a training point */
        double k[N], kk = 0, q[N * N], w[N];
        for (int b = 0; b < N; b++) k[b] = w[b] = K[i * N + b] - (i == b ? p.lambda : 0);
        for (int j = 0; j < D; j++) kk += Zt[i * D + j] * Zt[i * D + j];
        memcpy(q, K, sizeof K);
        solve_small(N, q, w);
        double v = kk;
        for (int b = 0; b < N; b++) v -= k[b] * w[b];
        v /= p.lambda;
        cr_assert_float_eq(var[i], v, 1e-8 * (1 + v), "var row %d: %g vs %g", i, var[i], v);
    }
    genbo_reward_free(m);
    /* 3 rows x 20,000 features: kilobytes per feature row, not d^2 */
    enum { N2 = 3, D2 = 20000 };
    double *X2 = malloc(sizeof(double) * N2 * D2), y2[N2] = {1, 2, 4};
    for (int i = 0; i < N2 * D2; i++) X2[i] = genbo__rng_normal(&rng);
    genbo_reward_params_default(&p);
    cr_assert_eq(genbo_reward_fit(&p, N2, D2, X2, y2, &m), GENBO_OK, "%s", genbo_errmsg());
    void *buf;
    size_t len;
    cr_assert_eq(genbo_reward_save_buffer(m, &buf, &len), GENBO_OK);
    cr_assert_lt(len, (size_t)8 * D2 * (N2 + 4) + 1024, "model is %zu bytes", len);
    genbo_reward *back;
    cr_assert_eq(genbo_reward_load_buffer(buf, len, &back), GENBO_OK, "%s", genbo_errmsg());
    double v1, v2, m1, m2;
    cr_assert_eq(genbo_reward_predict(m, 1, X2, &m1, &v1), GENBO_OK);
    cr_assert_eq(genbo_reward_predict(back, 1, X2, &m2, &v2), GENBO_OK);
    cr_assert(m1 == m2 && v1 == v2);
    free(buf);
    genbo_reward_free(back);
    genbo_reward_free(m);
    free(X2);
}

/* Issue 10.4: the header's duplicate-name check was quadratic (10^6
 * columns: still in strcmp after 120 s). The timeout is the bound. */
Test(hostile, a_million_column_header_reads_quickly, .timeout = 30) {
    FIXTURE_PATH(path, "wide.csv");
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    enum { C = 1000000 };
    for (int j = 0; j < C; j++) fprintf(f, "c%d,", j);
    fputs("reward\n", f);
    for (int r = 0; r < 2; r++) {
        for (int j = 0; j < C; j++) fputs("1,", f);
        fprintf(f, "%d\n", r);
    }
    fclose(f);
    genbo_dataset *ds;
    cr_assert_eq(genbo_dataset_read_csv(path, NULL, &ds), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_dataset_dim(ds), (size_t)C);
    genbo_dataset_free(ds);
    /* a duplicate far apart is still found, naming both columns */
    f = fopen(path, "w");
    for (int j = 0; j < C; j++) fprintf(f, "c%d,", j);
    fputs("c17\n", f);
    fclose(f);
    cr_assert_eq(genbo_dataset_read_csv(path, NULL, &ds), GENBO_EFORMAT);
    cr_assert(strstr(genbo_errmsg(), "('c17') duplicates column 18"), "%s", genbo_errmsg());
}

static void put_le32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Load buf after writing `bytes` at `off` and re-sealing the CRC (so the
 * value checks, not the checksum, must catch it). */
static int load_patched(int diffusion, const unsigned char *buf, size_t len, size_t off, const void *bytes,
                        size_t k) {
    unsigned char *b = malloc(len);
    memcpy(b, buf, len);
    memcpy(b + off, bytes, k);
    put_le32(b + len - 4, genbo__crc32(0, b, len - 4));
    int rc;
    if (diffusion) {
        genbo_diffusion *m = NULL;
        rc = genbo_diffusion_load_buffer(b, len, &m);
        genbo_diffusion_free(m);
    } else {
        genbo_reward *m = NULL;
        rc = genbo_reward_load_buffer(b, len, &m);
        genbo_reward_free(m);
    }
    free(b);
    return rc;
}

/* Issue 10.8: the loaders accepted finite but absurd values (weights of
 * 3.8e37 that overflow the network into NaN, a NaN x_mean, an infinite T):
 * every field is checked for finiteness and its documented magnitude. */
Test(hostile, model_loaders_validate_every_field) {
    enum { N = 64, D = 3 };
    double X[N * D], y[N];
    genbo__rng rng;
    genbo__rng_seed(&rng, 4, 0);
    for (int i = 0; i < N * D; i++) X[i] = genbo__rng_normal(&rng);
    for (int i = 0; i < N; i++) y[i] = X[i * D] + 0.1 * genbo__rng_normal(&rng);
    genbo_diffusion_params dp;
    genbo_diffusion_params_default(&dp);
    dp.width = 8;
    dp.depth = 1;
    dp.t_embed = dp.y_embed = 4;
    dp.steps = 5;
    dp.batch = 16;
    genbo_diffusion *dm;
    cr_assert_eq(genbo_diffusion_train(&dp, N, D, X, y, &dm), GENBO_OK, "%s", genbo_errmsg());
    void *vb;
    size_t len;
    cr_assert_eq(genbo_diffusion_save_buffer(dm, &vb, &len), GENBO_OK);
    const unsigned char *buf = vb;
    const size_t hdr = 4 + 4 + 7 * 4, t_off = hdr + 8, ym_off = hdr + 16, xm_off = hdr + 32,
                 w_off = xm_off + 16 * D + 8;
    float huge = 3.8e37f;
    double nan = NAN, inf = INFINITY, big = 1e300;
    cr_assert_eq(load_patched(1, buf, len, 0, "GNBD", 4), GENBO_OK, "the unpatched model loads: %s", genbo_errmsg());
    cr_assert_eq(load_patched(1, buf, len, w_off + 4 * 7, &huge, 4), GENBO_EFORMAT);
    cr_assert(strstr(genbo_errmsg(), "parameter 7"), "%s", genbo_errmsg());
    cr_assert_eq(load_patched(1, buf, len, xm_off + 8, &nan, 8), GENBO_EFORMAT);
    cr_assert(strstr(genbo_errmsg(), "feature 1"), "%s", genbo_errmsg());
    cr_assert_eq(load_patched(1, buf, len, t_off, &inf, 8), GENBO_EFORMAT);
    cr_assert(strstr(genbo_errmsg(), "T = inf"), "%s", genbo_errmsg());
    cr_assert_eq(load_patched(1, buf, len, ym_off, &big, 8), GENBO_EFORMAT);
    cr_assert(strstr(genbo_errmsg(), "y_mean"), "%s", genbo_errmsg());
    /* a target 1e308 is refused by name, not blamed on the reward model */
    genbo_sample_params sp;
    genbo_sample_params_default(&sp);
    sp.steps = 3;
    sp.grad_mode = GENBO_GRAD_NONE;
    double out[2 * D];
    cr_assert_eq(genbo_diffusion_sample(dm, &sp, 1e308, 2, out), GENBO_EINVAL);
    cr_assert(strstr(genbo_errmsg(), "target 1e+308 is"), "%s", genbo_errmsg());
    cr_assert_eq(genbo_diffusion_sample(dm, &sp, 1.0, 2, out), GENBO_OK, "%s", genbo_errmsg());
    free(vb);
    genbo_diffusion_free(dm);

    /* reward models: ridge (dense and wide) and GP */
    genbo_reward_params rp;
    genbo_reward_params_default(&rp);
    genbo_reward *rm;
    cr_assert_eq(genbo_reward_fit(&rp, N, D, X, y, &rm), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_reward_save_buffer(rm, &vb, &len), GENBO_OK);
    buf = vb;
    /* header, select + kfold, lambda, score, y_mean, y_sd, x_mean, x_sd, theta, ainv */
    const size_t rh = 4 + 4 + 4 + 8 + 8, lam = rh + 8, theta = rh + 8 + 32 + 16 * D, ainv = theta + 8 * D;
    double neg = -1;
    cr_assert_eq(load_patched(0, buf, len, lam, &neg, 8), GENBO_EFORMAT);
    cr_assert_eq(load_patched(0, buf, len, theta + 8, &big, 8), GENBO_EFORMAT);
    cr_assert(strstr(genbo_errmsg(), "theta[1]"), "%s", genbo_errmsg());
    cr_assert_eq(load_patched(0, buf, len, ainv + 16, &nan, 8), GENBO_EFORMAT);
    free(vb);
    genbo_reward_free(rm);
    rp.kind = GENBO_REWARD_GP;
    rp.max_evals = 20;
    rp.restarts = 1;
    cr_assert_eq(genbo_reward_fit(&rp, N, D, X, y, &rm), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_reward_save_buffer(rm, &vb, &len), GENBO_OK);
    buf = vb;
    const size_t sf2 = rh + 16;
    cr_assert_eq(load_patched(0, buf, len, sf2, &neg, 8), GENBO_EFORMAT);
    cr_assert(strstr(genbo_errmsg(), "sf2"), "%s", genbo_errmsg());
    cr_assert_eq(load_patched(0, buf, len, len - 12, &inf, 8), GENBO_EFORMAT); /* last Cholesky entry */
    free(vb);
    genbo_reward_free(rm);
}

/* Issue 10.8: fast_expf on NaN was undefined behaviour (a NaN converted to
 * int); now NaN in gives NaN out (the sanitizer replay checks there is no
 * UB, this checks the value). */
Test(hostile, silu_of_nan_is_nan) {
    float z[4] = {NAN, 1.0f, -200.0f, 200.0f}, b[4] = {0, 0, 0, 0}, a[4];
    genbo__k_bias_silu(z, b, a, 1, 4);
    cr_assert(isnan(a[0]));
    cr_assert_float_eq(a[1], 1.0f / (1.0f + expf(-1.0f)), 1e-6);
    cr_assert(fabsf(a[2]) < 1e-30f);
    cr_assert_float_eq(a[3], 200.0f, 1e-3);
}

/* Issue 10.8: `genbo ask --target 1e308` names the target, not the reward
 * predictor. */
Test(hostile, ask_at_an_absurd_target_names_it) {
    FIXTURE_PATH(db, "t.db");
    make_mini(db);
    cr_assert_eq(sh("%s ask --db %s --study mini --target 1e308 2> %s", cli(), db, fixture_path("err")), 1);
    cr_assert(strstr(slurp(fixture_path("err"), NULL), "target 1e+308 is"), "%s", slurp(fixture_path("err"), NULL));
    cr_assert_eq(sh("%s ask --db %s --study mini --target 0.5 > /dev/null", cli(), db), 0);
}

/* A non-UTF-8 column name is kept byte for byte (names are bytes). */
Test(hostile, non_utf8_csv_names_are_kept) {
    fixture_write("n.csv", "\xff\xfe,\"q\"\"x\",reward\r\n1,2,3\r\n4,5,6\r\n");
    genbo_dataset *ds;
    cr_assert_eq(genbo_dataset_read_csv(fixture_path("n.csv"), NULL, &ds), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_str_eq(genbo_dataset_column_name(ds, 0), "\xff\xfe");
    cr_assert_str_eq(genbo_dataset_column_name(ds, 1), "q\"x");
    genbo_dataset_free(ds);
}

/* Truncated databases fail with SQLite's own diagnosis and a non-zero exit
 * (never a crash); a future schema version is refused by every command and
 * the file left byte-identical. */
Test(hostile, truncated_and_future_version_databases) {
    FIXTURE_PATH(db, "a.db");
    make_mini(db);
    FIXTURE_PATH(cut, "cut.db");
    cr_assert_eq(sh("cp %s %s && truncate -s 20000 %s", db, cut, cut), 0);
    const char *cmds[] = {"status", "export --study mini", "ask --study mini --target 0.5",
                          "tell --study mini --trial 1 --value 1"};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(sh("%s %s --db %s > /dev/null 2> %s", cli(), cmds[i], cut, fixture_path("err")), 1, "%s",
                     cmds[i]);
        cr_assert(strstr(slurp(fixture_path("err"), NULL), "malformed"), "%s: %s", cmds[i],
                  slurp(fixture_path("err"), NULL));
    }
    FIXTURE_PATH(future, "future.db");
    cr_assert_eq(sh("cp %s %s && sqlite3 %s 'PRAGMA user_version = 99'", db, future, future), 0);
    size_t len0;
    char *text = slurp(future, &len0);
    char *before = malloc(len0);
    memcpy(before, text, len0);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(sh("%s %s --db %s > /dev/null 2> %s", cli(), cmds[i], future, fixture_path("err")), 1);
        cr_assert(strstr(slurp(fixture_path("err"), NULL), "version 99"), "%s", slurp(fixture_path("err"), NULL));
    }
    cr_assert_eq(sh("%s run %s --db %s > /dev/null 2> %s", cli(), fixture_path("mini.ini"), future,
                    fixture_path("err")), 1);
    cr_assert(strstr(slurp(fixture_path("err"), NULL), "newer than this genbo"), "%s", slurp(fixture_path("err"), NULL));
    size_t len1;
    text = slurp(future, &len1);
    cr_assert(len1 == len0 && !memcmp(before, text, len0), "the future-version database changed");
    free(before);
}

/* Disk full (a file-size limit: writes fail with EFBIG as on a full disk):
 * ask fails with SQLite's I/O error and exit 1, nothing told is lost, and
 * once space returns the same commands go on. */
Test(hostile, disk_full_fails_clearly_and_recovers) {
    FIXTURE_PATH(db, "full.db");
    make_mini(db);
    long long told0 = 0;
    sqlite3 *h;
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(h, "SELECT count(*) FROM observations", -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW) told0 = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    int failed = 0;
    for (int i = 0; i < 8 && !failed; i++) {
        int rc = sh("ulimit -f 300; trap '' XFSZ; %s ask --db %s --study mini --target 0.5 --n 300 > /dev/null 2> %s",
                    cli(), db, fixture_path("err"));
        if (rc) {
            cr_assert_eq(rc, 1);
            cr_assert(strstr(slurp(fixture_path("err"), NULL), "disk I/O error") ||
                          strstr(slurp(fixture_path("err"), NULL), "full"),
                      "%s", slurp(fixture_path("err"), NULL));
            failed = 1;
        }
    }
    cr_assert(failed, "the file-size limit never hit");
    cr_assert_eq(sh("%s ask --db %s --study mini --target 0.5 --json > %s", cli(), db, fixture_path("a.json")), 0);
    cr_assert_eq(sh("%s status --db %s > /dev/null", cli(), db), 0);
    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(h, "SELECT count(*) FROM observations", -1, &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int64(st, 0), told0);
    sqlite3_finalize(st);
    sqlite3_close(h);
}
