/* test_reward_fit_cli.c - `genbo fit` end to end: a CSV with a known linear
 * reward, the JSON report, the saved model, and usage errors. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/core.h"
#include "genbo.h"

static char csv_path[64], model_path[64];

static void write_csv(void) {
    snprintf(csv_path, sizeof csv_path, "/tmp/genbo_fit_%d.csv", (int)getpid());
    snprintf(model_path, sizeof model_path, "/tmp/genbo_fit_%d.bin", (int)getpid());
    FILE *f = fopen(csv_path, "w");
    cr_assert_not_null(f);
    fprintf(f, "a,b,c,score\n");
    genbo__rng r;
    genbo__rng_seed(&r, 4, 0);
    for (int i = 0; i < 80; i++) {
        double a = genbo__rng_normal(&r), b = 3 * genbo__rng_normal(&r), c = genbo__rng_uniform(&r);
        fprintf(f, "%.17g,%.17g,%.17g,%.17g\n", a, b, c, 1 + 2 * a - 0.5 * b + 0.01 * genbo__rng_normal(&r));
    }
    fclose(f);
}

/* Runs `genbo fit ARGS` with the shell redirection redir, returns its exit
 * status; what the redirection leaves on stdout goes into out. */
static int run_fit(const char *args, const char *redir, char *out, size_t cap) {
    const char *cli = getenv("GENBO_CLI");
    cr_assert_not_null(cli, "GENBO_CLI not set (run through ctest)");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "GENBO_NO_REEXEC=1 '%s' fit %s %s", cli, args, redir);
    FILE *p = popen(cmd, "r");
    size_t k = fread(out, 1, cap - 1, p);
    out[k] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs the CLI, returns its exit status; stdout into out. */
static int run(const char *args, char *out, size_t cap) { return run_fit(args, "2>/dev/null", out, cap); }

Test(reward_fit_cli, json_report_and_saved_model) {
    write_csv();
    char args[512], out[4096];
    snprintf(args, sizeof args, "--data %s --reward-col score --json --save %s", csv_path, model_path);
    cr_assert_eq(run(args, out, sizeof out), 0, "%s", out);
    cJSON *o = cJSON_Parse(out);
    cr_assert_not_null(o, "not JSON: %s", out);
    cr_assert_str_eq(cJSON_GetObjectItem(o, "model")->valuestring, "ridge");
    cr_assert_eq(cJSON_GetObjectItem(o, "rows")->valuedouble, 80);
    cr_assert_eq(cJSON_GetObjectItem(o, "features")->valuedouble, 3);
    double r2 = cJSON_GetObjectItem(o, "train_r2")->valuedouble;
    double rmse = cJSON_GetObjectItem(o, "train_rmse")->valuedouble;
    double cv = cJSON_GetObjectItem(o, "cv5_rmse")->valuedouble;
    cr_assert_gt(r2, 0.9999);
    /* noise sd is 0.01: training and CV errors sit at that level */
    cr_assert(rmse > 0.005 && rmse < 0.012, "train rmse %g", rmse);
    cr_assert(cv >= rmse && cv < 0.015, "cv rmse %g", cv);
    cJSON_Delete(o);
    genbo_reward *m = NULL;
    cr_assert_eq(genbo_reward_load(model_path, &m), GENBO_OK, "%s", genbo_errmsg());
    double g[3], x[3] = {0, 0, 0};
    genbo_reward_gradient(m, 1, x, g);
    cr_assert_lt(fabs(g[0] - 2.0), 0.01);
    cr_assert_lt(fabs(g[1] + 0.5), 0.01);
    genbo_reward_free(m);
    remove(model_path);

    snprintf(args, sizeof args, "--data %s --reward-col score --model gp --kernel matern52", csv_path);
    cr_assert_eq(run(args, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "gp matern52") && strstr(out, "5-fold CV RMSE"), "%s", out);
    remove(csv_path);
}

Test(reward_fit_cli, usage_errors) {
    char out[4096];
    cr_assert_eq(run("--model svm --data x.csv", out, sizeof out), 2);
    cr_assert_eq(run("", out, sizeof out), 2);
    cr_assert_eq(run("--data /nonexistent/x.csv", out, sizeof out), 1);
    cr_assert_eq(run("--lambda -1 --data x.csv", out, sizeof out), 2);
}

/* Runs the CLI with stderr captured instead of stdout. */
static int run_err(const char *args, char *err, size_t cap) { return run_fit(args, "2>&1 >/dev/null", err, cap); }

/* `genbo fit`'s --model, --kernel and --lambda are the study file's
 * [reward] keys: the same values pass, the same values fail with the same
 * message (issue 12: lambda 0 was refused by the study file only). */
Test(reward_fit_cli, options_agree_with_the_study_file) {
    write_csv();
    static const struct { const char *opt, *value; } cases[] = {
        {"lambda", "0"}, {"lambda", "-1"}, {"lambda", "1e-3"}, {"lambda", "kfold"}, {"lambda", "x"},
        {"model", "gp"}, {"model", "forest"}, {"kernel", "matern52"}, {"kernel", "rbf2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        genbo_config *c;
        cr_assert_eq(genbo_config_default(&c), GENBO_OK);
        int study_rc = genbo_config_set(c, "reward", cases[i].opt, cases[i].value);
        char study_msg[512];
        snprintf(study_msg, sizeof study_msg, "%s", genbo_errmsg());
        genbo_config_free(c);
        char args[512], err[4096];
        snprintf(args, sizeof args, "--data %s --reward-col score --%s %s", csv_path, cases[i].opt,
                 cases[i].value);
        int fit_rc = run_err(args, err, sizeof err);
        cr_expect_eq(fit_rc == 0, study_rc == GENBO_OK, "--%s %s: genbo fit exit %d (%s), study file %d (%s)",
                     cases[i].opt, cases[i].value, fit_rc, err, study_rc, study_msg);
        if (study_rc) cr_expect(strstr(err, study_msg) != NULL, "genbo fit said '%s', the study file '%s'", err, study_msg);
    }
    /* the library's own setter is the same code: a refused value leaves p as it was */
    genbo_reward_params p, before;
    genbo_reward_params_default(&p);
    before = p;
    cr_assert_eq(genbo_reward_params_set(&p, "lambda", "-1"), GENBO_EINVAL);
    cr_assert(!memcmp(&p, &before, sizeof p));
    cr_assert_eq(genbo_reward_params_set(&p, "lambda", "0"), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(p.lambda_select, GENBO_LAMBDA_FIXED);
    cr_assert_eq(p.lambda, 0.0);
    cr_assert_eq(genbo_reward_params_set(&p, "nope", "1"), GENBO_ENOTFOUND);
    genbo_diffusion_params dp;
    genbo_diffusion_params_default(&dp);
    cr_assert_eq(genbo_diffusion_params_set(&dp, "depth", "0"), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(dp.depth, 0);
    cr_assert_eq(genbo_diffusion_params_set(&dp, "reweight_percentile", "50"), GENBO_ENOTFOUND);
    genbo_sample_params sp;
    genbo_sample_params_default(&sp);
    cr_assert_eq(genbo_sample_params_set(&sp, "sampler", "heun_ode"), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(sp.sampler, GENBO_SAMPLER_HEUN_ODE);
}
