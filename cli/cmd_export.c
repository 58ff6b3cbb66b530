/* cmd_export.c - `genbo export`: every trial of a study as CSV or JSON,
 * through the read API of genbo.h (genbo_study_trials), the database
 * opened read-only. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const COLS[] = {"trial", "run", "round", "method", "target_label", "target",
                                   "state", "value", "predicted", "support_distance", "reason"};
#define N_COLS 11
static const char *const STATES[] = {"asked", "told", "failed"};

static void csv_text(const char *t) {
    if (!strpbrk(t, ",\"\n\r")) {
        fputs(t, stdout);
        return;
    }
    putchar('"');
    for (; *t; t++) {
        if (*t == '"') putchar('"');
        putchar(*t);
    }
    putchar('"');
}

static void csv_num(double v) {
    if (!isnan(v)) printf("%.17g", v);
}

static void csv_row(const genbo_trial *t, size_t dim) {
    printf("%lld,", (long long)t->id);
    if (t->run_id) printf("%lld", (long long)t->run_id);
    putchar(',');
    if (t->round >= 0) printf("%d", t->round);
    putchar(',');
    csv_text(t->method);
    putchar(',');
    csv_text(t->target_label);
    putchar(',');
    csv_num(t->target);
    printf(",%s,", STATES[t->state]);
    csv_num(t->value);
    putchar(',');
    csv_num(t->predicted);
    putchar(',');
    csv_num(t->support_distance);
    putchar(',');
    if (t->state == GENBO_TRIAL_FAILED) csv_text(t->reason);
    for (size_t j = 0; j < dim; j++) {
        putchar(',');
        if (t->x) printf("%.17g", t->x[j]);
    }
    putchar('\n');
}

static cJSON *json_row(const genbo_trial *t, size_t dim) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, COLS[0], (double)t->id);
    if (t->run_id) cJSON_AddNumberToObject(o, COLS[1], (double)t->run_id);
    else cJSON_AddNullToObject(o, COLS[1]);
    if (t->round >= 0) cJSON_AddNumberToObject(o, COLS[2], t->round);
    else cJSON_AddNullToObject(o, COLS[2]);
    cJSON_AddStringToObject(o, COLS[3], t->method);
    cJSON_AddStringToObject(o, COLS[4], t->target_label);
    cJSON_AddItemToObject(o, COLS[5], cli_json_double(t->target));
    cJSON_AddStringToObject(o, COLS[6], STATES[t->state]);
    cJSON_AddItemToObject(o, COLS[7], cli_json_double(t->value));
    cJSON_AddItemToObject(o, COLS[8], cli_json_double(t->predicted));
    cJSON_AddItemToObject(o, COLS[9], cli_json_double(t->support_distance));
    if (t->state == GENBO_TRIAL_FAILED) cJSON_AddStringToObject(o, COLS[10], t->reason);
    else cJSON_AddNullToObject(o, COLS[10]);
    if (t->x) cJSON_AddItemToObject(o, "x", cli_json_doubles(t->x, dim));
    else cJSON_AddNullToObject(o, "x");
    return o;
}

int cmd_export(int argc, char **argv) {
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"study", required_argument, 0, 's'},
                                         {"format", required_argument, 0, 'f'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db_path = NULL, *study = NULL, *format = "csv";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:s:f:h", opts, NULL)) != -1) {
        if (c == 'd') db_path = optarg;
        else if (c == 's') study = optarg;
        else if (c == 'f') format = optarg;
        else return cli_help_or_usage("export", c == 'h');
    }
    int json = !strcmp(format, "json");
    if (!db_path || !study || optind != argc || (!json && strcmp(format, "csv")))
        return cli_usage_error("export");
    genbo_study *s;
    if (genbo_study_open(db_path, study, NULL, GENBO_OPEN_READONLY, &s)) return cli_fail("export");
    genbo_trial_list *l;
    if (genbo_study_trials(s, GENBO_PHASE_ALL, &l)) {
        genbo_study_close(s);
        return cli_fail("export");
    }
    size_t n = genbo_trial_list_size(l), dim = genbo_study_dim(s);
    if (json) {
        printf("[");
        for (size_t i = 0; i < n; i++) {
            cJSON *o = json_row(genbo_trial_list_get(l, i), dim);
            char *text = o ? cJSON_PrintUnformatted(o) : NULL;
            printf("%s\n%s", i ? "," : "", text ? text : "null");
            cJSON_free(text);
            cJSON_Delete(o);
        }
        printf("%s]\n", n ? "\n" : "");
    } else {
        /* Feature names as the data had them (x0..x{D-1} for tasks). */
        for (int k = 0; k < N_COLS; k++) printf("%s%s", k ? "," : "", COLS[k]);
        for (size_t j = 0; j < dim; j++) {
            const char *nm = genbo_study_feature_name(s, j);
            putchar(',');
            if (nm) csv_text(nm);
            else printf("x%zu", j);
        }
        printf("\n");
        for (size_t i = 0; i < n; i++) csv_row(genbo_trial_list_get(l, i), dim);
    }
    genbo_trial_list_free(l);
    genbo_study_close(s);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "genbo: export: writing the output failed\n");
        return 1;
    }
    return 0;
}
