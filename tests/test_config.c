/* test_config.c - study files: defaults, the resolved INI text, and error
 * messages that name the file, the line and the key. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "genbo.h"
#include "studies/config.h"

static char dir[64];

static void make_dir(void) {
    snprintf(dir, sizeof dir, "/tmp/genbo_test_config_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static const char *write_file(const char *name, const char *text) {
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* Load text as a study file; return the status and copy the message. */
static int load_text(const char *text, char *msg, size_t size, genbo_config **out) {
    const char *path = write_file("study.ini", text);
    genbo_config *c = NULL;
    int rc = genbo_config_load(path, &c);
    snprintf(msg, size, "%s", genbo_errmsg());
    if (out) *out = c;
    else genbo_config_free(c);
    return rc;
}

TestSuite(config, .init = make_dir);

Test(config, defaults_round_trip_through_ini_text) {
    genbo_config *c;
    cr_assert_eq(genbo_config_default(&c), GENBO_OK);
    cr_assert_eq(c->task_params.D, 64);
    cr_assert_eq(c->diffusion.steps, GENBO_STEPS_AUTO);
    cr_assert_eq(c->diffusion.width, 0); /* auto */
    cr_assert_eq(c->n_targets, 3);
    cr_assert_eq(c->targets[1].kind, GENBO__TARGET_PERCENTILE);
    cr_assert_float_eq(c->targets[1].value, 90.0, 1e-12);
    cr_assert_eq(c->targets[2].kind, GENBO__TARGET_MAX);
    cr_assert_eq(c->n_methods, 8);
    char *ini = genbo_config_to_ini(c);
    cr_assert_not_null(ini);
    cr_assert_not_null(strstr(ini, "[diffusion]\nwidth = auto\n"));
    cr_assert_not_null(strstr(ini, "lr = 0.002\n"));
    genbo_config *d;
    cr_assert_eq(load_text(ini, (char[256]){0}, 256, &d), GENBO_OK, "%s", genbo_errmsg());
    char *ini2 = genbo_config_to_ini(d);
    cr_assert_str_eq(ini, ini2);
    free(ini);
    free(ini2);
    genbo_config_free(c);
    genbo_config_free(d);
}

Test(config, file_values_are_read_and_typed) {
    genbo_config *c;
    char msg[512];
    int rc = load_text("; a comment\n[study]\nname = demo\nseed = 7\n\n[data]\nD = 32\nd = 4\n"
                       "noise_sd = 0.25\n[generate]\ntargets = p75, max, 2.5\nmethods = genbo, random\n"
                       "[reward]\nlambda = 0.5\nard = yes\n",
                       msg, sizeof msg, &c);
    cr_assert_eq(rc, GENBO_OK, "%s", msg);
    cr_assert_str_eq(c->name, "demo");
    cr_assert_eq(c->seed, 7);
    cr_assert_eq(c->task_params.D, 32);
    cr_assert_eq(c->task_params.d, 4);
    cr_assert_float_eq(c->task_params.noise_sd, 0.25, 1e-15);
    cr_assert_eq(c->n_targets, 3);
    cr_assert_eq(c->targets[2].kind, GENBO__TARGET_ABSOLUTE);
    cr_assert_float_eq(c->targets[2].value, 2.5, 1e-15);
    cr_assert_str_eq(c->targets[0].label, "p75");
    cr_assert_eq(c->n_methods, 2);
    cr_assert_str_eq(c->methods[1], "random");
    genbo_reward_params rp;
    genbo__config_reward_params(c, &rp);
    cr_assert_eq(rp.lambda_select, GENBO_LAMBDA_FIXED);
    cr_assert_float_eq(rp.lambda, 0.5, 1e-15);
    cr_assert_eq(c->reward.ard, 1);
    genbo_config_free(c);
}

Test(config, bad_integer_names_file_line_and_key) {
    char msg[512];
    int rc = load_text("[study]\nname = x\n\n[diffusion]\nwidth = 64\nsteps = abc\n", msg, sizeof msg, NULL);
    cr_assert_eq(rc, GENBO_EINVAL);
    char want[256];
    snprintf(want, sizeof want, "%s/study.ini:6: [diffusion] steps: 'abc' is not an integer or auto", dir);
    cr_assert_str_eq(msg, want);
}

Test(config, unknown_section_key_enum_and_range) {
    char msg[512];
    cr_assert_eq(load_text("[study]\n[difusion]\nsteps = 3\n", msg, sizeof msg, NULL), GENBO_EINVAL);
    cr_assert_not_null(strstr(msg, "study.ini:3: unknown section [difusion]"), "%s", msg);
    cr_assert_eq(load_text("[reward]\nmodel = ridge\nlamda = 1\n", msg, sizeof msg, NULL), GENBO_EINVAL);
    cr_assert_not_null(strstr(msg, "study.ini:3: [reward] lamda: unknown key"), "%s", msg);
    cr_assert_eq(load_text("[reward]\nmodel = forest\n", msg, sizeof msg, NULL), GENBO_EINVAL);
    cr_assert_not_null(strstr(msg, "study.ini:2: [reward] model: 'forest' is not one of ridge|gp"), "%s", msg);
    cr_assert_eq(load_text("[diffusion]\np_uncond = 1.5\n", msg, sizeof msg, NULL), GENBO_EINVAL);
    cr_assert_not_null(strstr(msg, "study.ini:2: [diffusion] p_uncond: 1.5 is out of range"), "%s", msg);
    cr_assert_eq(load_text("[generate]\ntargets = p90, p101\n", msg, sizeof msg, NULL), GENBO_EINVAL);
    cr_assert_not_null(strstr(msg, "study.ini:2: [generate] targets: 'p101'"), "%s", msg);
    cr_assert_eq(load_text("[generate]\nmethods = genbo, magic\n", msg, sizeof msg, NULL), GENBO_EINVAL);
    cr_assert_not_null(strstr(msg, "study.ini:2: [generate] methods: 'magic' is not one of"), "%s", msg);
    cr_assert_eq(load_text("[data]\nnoise_sd = 0.1x\n", msg, sizeof msg, NULL), GENBO_EINVAL);
    cr_assert_not_null(strstr(msg, "study.ini:2: [data] noise_sd: '0.1x' is not a number"), "%s", msg);
}

Test(config, missing_file_and_cross_key_rules) {
    char msg[512];
    cr_assert_eq(load_text("[data]\ntask = csv\nlabelled = nope.csv\n", msg, sizeof msg, NULL), GENBO_EIO);
    cr_assert_not_null(strstr(msg, "study.ini:3: [data] labelled: file '"), "%s", msg);
    cr_assert_not_null(strstr(msg, "nope.csv' cannot be read"), "%s", msg);
    /* d > D is found after the whole file: the message points at d's line */
    cr_assert_eq(load_text("[data]\nd = 20\nD = 8\n", msg, sizeof msg, NULL), GENBO_EINVAL);
    cr_assert_not_null(strstr(msg, "study.ini:2: [data] d: d = 20 must not exceed D = 8"), "%s", msg);
    cr_assert_eq(load_text("[data]\ntask = csv\n", msg, sizeof msg, NULL), GENBO_EINVAL);
    cr_assert_not_null(strstr(msg, "[data] labelled: task = csv needs a labelled file"), "%s", msg);
    cr_assert_eq(load_text("[evaluate]\nevaluator = command\n", msg, sizeof msg, NULL), GENBO_EINVAL);
    cr_assert_not_null(strstr(msg, "[evaluate] command: evaluator = command needs a command"), "%s", msg);
    cr_assert_eq(load_text("[data]\nD = 8\n garbage line\n", msg, sizeof msg, NULL), GENBO_EFORMAT);
    cr_assert_not_null(strstr(msg, "study.ini:3: not a section header or key = value line"), "%s", msg);
    /* the study file itself missing */
    genbo_config *c = (genbo_config *)1;
    cr_assert_eq(genbo_config_load("/nonexistent/dir/s.ini", &c), GENBO_EIO);
    cr_assert_null(c);
    cr_assert_not_null(strstr(genbo_errmsg(), "/nonexistent/dir/s.ini"));
}

Test(config, csv_paths_resolve_from_the_study_file) {
    write_file("lab.csv", "x0,reward\n1,2\n");
    genbo_config *c;
    char msg[512];
    cr_assert_eq(load_text("[data]\ntask = csv\nlabelled = lab.csv\n[evaluate]\nevaluator = none\n",
                           msg, sizeof msg, &c), GENBO_OK, "%s", msg);
    char want[160];
    snprintf(want, sizeof want, "%s/lab.csv", dir);
    cr_assert_str_eq(c->labelled, want);
    genbo_config_free(c);
}

Test(config, csv_paths_are_stored_absolute_when_run_from_the_study_dir) {
    /* `genbo run study.ini` from the study's own folder: the stored path must
     * still work for `genbo ask` started elsewhere. */
    write_file("lab.csv", "x0,reward\n1,2\n");
    write_file("study.ini", "[data]\ntask = csv\nlabelled = lab.csv\n[evaluate]\nevaluator = none\n");
    char old[4096];
    cr_assert_not_null(getcwd(old, sizeof old));
    cr_assert_eq(chdir(dir), 0);
    genbo_config *c = NULL;
    int rc = genbo_config_load("study.ini", &c);
    cr_assert_eq(chdir(old), 0);
    cr_assert_eq(rc, GENBO_OK, "%s", genbo_errmsg());
    char want[160];
    snprintf(want, sizeof want, "%s/lab.csv", dir);
    cr_assert_str_eq(c->labelled, want);
    genbo_config_free(c);
}

Test(config, set_validates_and_keeps_old_value_on_error) {
    genbo_config *c;
    cr_assert_eq(genbo_config_default(&c), GENBO_OK);
    cr_assert_eq(genbo_config_set(c, "diffusion", "steps", "250"), GENBO_OK);
    cr_assert_eq(c->diffusion.steps, 250);
    cr_assert_eq(genbo_config_set(c, "diffusion", "steps", "-3"), GENBO_EINVAL);
    cr_assert_str_eq(genbo_errmsg(), "[diffusion] steps: -3 is out of range (between 1 and 1000000000)");
    cr_assert_eq(c->diffusion.steps, 250);
    cr_assert_eq(genbo_config_set(c, "data", "d", "100"), GENBO_EINVAL); /* > D = 64 */
    cr_assert_eq(c->task_params.d, 16);
    cr_assert_eq(genbo_config_set(c, "nosuch", "x", "1"), GENBO_EINVAL);
    genbo_config_free(c);
}

/* Issue 10.2: libinih cut lines at 199 characters and parsed the tail as a
 * line of its own, so a long comment ending in "steps = 7" set steps. */
Test(config, long_lines_are_one_line) {
    char text[2048], msg[512];
    char pad[400];
    memset(pad, 'x', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    snprintf(text, sizeof text, "[diffusion]\n; %s steps = 7\nbatch = 64 ; %s steps = 9\n", pad, pad);
    genbo_config *c = NULL;
    cr_assert_eq(load_text(text, msg, sizeof msg, &c), GENBO_OK, "%s", msg);
    genbo_config *dflt;
    cr_assert_eq(genbo_config_default(&dflt), GENBO_OK);
    cr_assert_eq(c->diffusion.steps, dflt->diffusion.steps, "the comment's tail set steps = %ld", (long)c->diffusion.steps);
    genbo_config_free(dflt);
    cr_assert_eq(c->diffusion.batch, 64);
    genbo_config_free(c);
    /* a long value reads back whole, and the resolved text reloads equal */
    char cmd[400];
    memset(cmd, 'e', sizeof cmd - 1);
    cmd[0] = '/';
    cmd[sizeof cmd - 1] = '\0';
    snprintf(text, sizeof text, "[evaluate]\nevaluator = command\ncommand = %s\n", cmd);
    cr_assert_eq(load_text(text, msg, sizeof msg, &c), GENBO_OK, "%s", msg);
    cr_assert_str_eq(c->command, cmd);
    char *ini = genbo_config_to_ini(c);
    genbo_config *back = NULL;
    cr_assert_eq(genbo__config_parse_text(ini, "stored", &back), GENBO_OK, "%s", genbo_errmsg());
    char *ini2 = genbo_config_to_ini(back);
    cr_assert_str_eq(ini, ini2);
    free(ini);
    free(ini2);
    genbo_config_free(back);
    genbo_config_free(c);
    /* BOM and CRLF */
    cr_assert_eq(load_text("\xEF\xBB\xBF[diffusion]\r\nsteps = 12\r\n", msg, sizeof msg, &c), GENBO_OK, "%s", msg);
    cr_assert_eq(c->diffusion.steps, 12);
    genbo_config_free(c);
    /* a NUL byte names its line */
    const char *path = write_file("nul.ini", "");
    FILE *f = fopen(path, "wb");
    fwrite("[diffusion]\nsteps = 1\0 2\n", 1, 26, f);
    fclose(f);
    cr_assert_eq(genbo_config_load(path, &c), GENBO_EFORMAT);
    cr_assert_not_null(strstr(genbo_errmsg(), "nul.ini:2: a NUL byte"), "%s", genbo_errmsg());
}

/* Issue 10.3: a directory opens with fopen but every read fails (EISDIR);
 * that was taken for an empty file, i.e. the default study. */
Test(config, a_directory_is_not_a_study_file) {
    genbo_config *c = (genbo_config *)1;
    cr_assert_eq(genbo_config_load(dir, &c), GENBO_EIO);
    cr_assert_null(c);
    cr_assert_not_null(strstr(genbo_errmsg(), "cannot read study file"), "%s", genbo_errmsg());
    cr_assert_not_null(strstr(genbo_errmsg(), "directory"), "%s", genbo_errmsg());
}

Test(config, curved_manifold_task_and_its_dimension_rule) {
    char msg[512];
    genbo_config *c = NULL;
    cr_assert_eq(load_text("[data]\ntask = curved_manifold\nD = 48\nd = 6\nmanifold_dim = 3\n", msg,
                           sizeof msg, &c),
                 GENBO_OK, "%s", msg);
    genbo_task_params p;
    genbo__config_task_params(c, &p);
    cr_assert_eq(p.kind, GENBO_TASK_CURVED_MANIFOLD);
    cr_assert_eq(p.manifold_dim, 3);
    genbo_config_free(c);
    /* csv keeps its meaning after the new task kind */
    cr_assert_eq(load_text("[data]\ntask = csv\n", msg, sizeof msg, NULL), GENBO_EINVAL);
    cr_assert_not_null(strstr(msg, "task = csv needs a labelled file"), "%s", msg);
    cr_assert_eq(load_text("[data]\ntask = curved_manifold\nd = 6\nmanifold_dim = 6\n", msg,
                           sizeof msg, NULL),
                 GENBO_EINVAL);
    cr_assert_not_null(strstr(msg, "study.ini:4: [data] manifold_dim: manifold_dim = 6 must be "
                                   "smaller than d = 6"),
                       "%s", msg);
}
