/* cmd_fit.c - `genbo fit`: fit a reward model to a labelled CSV and report
 * its hyper-parameters and how well it fits (training RMSE and R^2, k-fold
 * CV RMSE by refitting, and the GCV score for ridge/GCV). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

/* The help table (help.c): everything on --help, the synopsis on errors. */
static void fit_usage(FILE *f) {
    if (f == stdout) cli_help_print(f, "fit");
    else cli_usage_error("fit");
}

int cmd_fit(int argc, char **argv) {
    const char *data = NULL, *reward_col = NULL, *save = NULL;
    int json = 0;
    genbo_reward_params p;
    genbo_reward_params_default(&p);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = !strcmp(a, "--data") || !strcmp(a, "--reward-col") || !strcmp(a, "--model") ||
                    !strcmp(a, "--kernel") || !strcmp(a, "--save") || !strcmp(a, "--lambda") ||
                    !strcmp(a, "--seed");
        if (takes && !v) {
            fprintf(stderr, "genbo fit: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fit_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--data")) {
            data = v;
        } else if (!strcmp(a, "--reward-col")) {
            reward_col = v;
        } else if (!strcmp(a, "--save")) {
            save = v;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--ard")) {
            p.ard = 1;
        } else if (!strcmp(a, "--model") || !strcmp(a, "--kernel") || !strcmp(a, "--lambda")) {
            /* the study file's [reward] model / kernel / lambda: the same
             * words and range (the library's), the same message */
            if (genbo_reward_params_set(&p, a + 2, v)) {
                fprintf(stderr, "genbo fit: %s: %s\n", a, genbo_errmsg());
                return 2;
            }
        } else if (!strcmp(a, "--seed")) {
            char *end;
            unsigned long long s = strtoull(v, &end, 10);
            if (*end != '\0' || end == v || v[0] == '-') {
                fprintf(stderr, "genbo fit: --seed must be a non-negative integer, not '%s'\n", v);
                return 2;
            }
            p.seed = s;
        } else {
            fprintf(stderr, "genbo fit: unknown option '%s'\n\n", a);
            fit_usage(stderr);
            return 2;
        }
        if (takes) i++;
    }
    if (!data) {
        fprintf(stderr, "genbo fit: --data FILE.csv is required\n\n");
        fit_usage(stderr);
        return 2;
    }
    genbo_csv_options opts = {reward_col, NULL, NULL};
    genbo_dataset *ds = NULL;
    if (genbo_dataset_read_csv(data, &opts, &ds)) return cli_fail("fit");
    size_t n = genbo_dataset_rows(ds), d = genbo_dataset_dim(ds);
    const double *X = genbo_dataset_x(ds), *y = genbo_dataset_y(ds);
    if (!y) {
        fprintf(stderr, "genbo fit: %s: no reward column (name it with --reward-col)\n", data);
        genbo_dataset_free(ds);
        return 1;
    }
    genbo_reward *m = NULL;
    double t0 = cli_now();
    if (genbo_reward_fit(&p, n, d, X, y, &m)) {
        cli_error(GENBO_EINVAL, "%s: %s", data, genbo_errmsg());
        genbo_dataset_free(ds);
        return cli_fail("fit");
    }
    double fit_seconds = cli_now() - t0;
    double *pred = malloc(n * sizeof(double));
    if (!pred || genbo_reward_predict(m, n, X, pred, NULL)) {
        free(pred);
        genbo_reward_free(m);
        genbo_dataset_free(ds);
        return cli_fail("fit");
    }
    double ybar = 0.0, sse = 0.0, sst = 0.0;
    for (size_t i = 0; i < n; i++) ybar += y[i] / (double)n;
    for (size_t i = 0; i < n; i++) {
        sse += (pred[i] - y[i]) * (pred[i] - y[i]);
        sst += (y[i] - ybar) * (y[i] - ybar);
    }
    free(pred);
    double rmse = sqrt(sse / (double)n), r2 = sst > 0 ? 1.0 - sse / sst : NAN;
    int k = n >= 10 ? 5 : 0; /* too few rows for a meaningful 5-fold CV */
    double cv = NAN;
    if (k && genbo_reward_cv_rmse(&p, n, d, X, y, k, &cv)) {
        genbo_reward_free(m);
        genbo_dataset_free(ds);
        return cli_fail("fit: cross-validation");
    }
    if (save && genbo_reward_save(m, save)) {
        genbo_reward_free(m);
        genbo_dataset_free(ds);
        return cli_fail("fit: --save");
    }
    const char *model = p.kind == GENBO_REWARD_RIDGE ? "ridge" : "gp";
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "data", data);
        cJSON_AddStringToObject(o, "model", model);
        cJSON_AddNumberToObject(o, "rows", (double)n);
        cJSON_AddNumberToObject(o, "features", (double)d);
        cJSON_AddStringToObject(o, "hyperparameters", genbo_reward_describe(m));
        cJSON_AddNumberToObject(o, "train_rmse", rmse);
        if (isfinite(r2)) cJSON_AddNumberToObject(o, "train_r2", r2);
        else cJSON_AddNullToObject(o, "train_r2");
        if (isfinite(cv)) cJSON_AddNumberToObject(o, "cv5_rmse", cv);
        else cJSON_AddNullToObject(o, "cv5_rmse");
        cJSON_AddNumberToObject(o, "fit_seconds", fit_seconds);
        if (save) cJSON_AddStringToObject(o, "saved", save);
        char *s = cJSON_PrintUnformatted(o);
        if (s) puts(s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("data:            %s (%zu rows, %zu features)\n", data, n, d);
        printf("model:           %s\n", genbo_reward_describe(m));
        printf("train RMSE:      %.6g\n", rmse);
        printf("train R^2:       %.6g\n", r2);
        if (k) printf("5-fold CV RMSE:  %.6g\n", cv);
        else printf("5-fold CV RMSE:  n/a (fewer than 10 rows)\n");
        printf("fit time:        %.3f s\n", fit_seconds);
        if (save) printf("saved:           %s\n", save);
    }
    genbo_reward_free(m);
    genbo_dataset_free(ds);
    return 0;
}
