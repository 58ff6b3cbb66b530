/* cmd_status.c - `genbo status`: the studies of a database, their trial
 * counts, best values and runs, through the read API of genbo.h (the
 * database opened read-only; WAL: never blocks a running writer). */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void add_text_or_null(cJSON *o, const char *key, const char *text) {
    if (text[0]) cJSON_AddStringToObject(o, key, text);
    else cJSON_AddNullToObject(o, key);
}

static cJSON *run_json(const genbo_run_info *r) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)r->id);
    cJSON_AddStringToObject(o, "kind", r->kind);
    cJSON_AddStringToObject(o, "status", r->status);
    add_text_or_null(o, "last_step", r->last_step);
    cJSON_AddItemToObject(o, "started", cli_json_double(r->started));
    cJSON_AddItemToObject(o, "ended", cli_json_double(r->ended));
    cJSON_AddNumberToObject(o, "seed", (double)r->seed);
    cJSON_AddStringToObject(o, "version", r->version);
    add_text_or_null(o, "error", r->error);
    return o;
}

static cJSON *study_json(const genbo_study_summary *e) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", e->name);
    if (e->dim) cJSON_AddNumberToObject(o, "dim", (double)e->dim);
    else cJSON_AddNullToObject(o, "dim");
    cJSON_AddNumberToObject(o, "asked", (double)e->asked);
    cJSON_AddNumberToObject(o, "told", (double)e->told);
    cJSON_AddNumberToObject(o, "failed", (double)e->failed);
    cJSON_AddItemToObject(o, "best_value", cli_json_double(e->best_value));
    cJSON_AddItemToObject(o, "best_loop", cli_json_double(e->best_loop));
    cJSON_AddItemToObject(o, "best_run", cli_json_double(e->best_run));
    return o;
}

static void print_best(const char *what, double v) {
    printf("%s ", what);
    if (isnan(v)) printf("-");
    else printf("%.6g", v);
}

static void study_text(const genbo_study_summary *e) {
    printf("study %s  dim %zu  trials: %lld asked, %lld told, %lld failed\n", e->name, e->dim,
           (long long)e->asked, (long long)e->told, (long long)e->failed);
    /* The loop (asks, loop rounds) and the run phase apart: a run phase's
     * best can be an off-support overshoot no loop would keep. */
    if (!isnan(e->best_value)) {
        print_best("  best told value: design loop", e->best_loop);
        print_best(", run phase", e->best_run);
        printf("  (genbo best shows the designs)\n");
    }
}

static void run_text(const genbo_run_info *r) {
    printf("  run %lld (%s): %s, last step '%s'", (long long)r->id, r->kind, r->status,
           r->last_step[0] ? r->last_step : "-");
    if (!isnan(r->ended)) printf(", %.1f s", r->ended - r->started);
    printf("\n");
    /* Errors can be long (a path, a library message): wrapped at 100
     * columns on lines of their own. */
    if (r->error[0]) cli_print_wrapped("    error: ", r->error);
}

int cmd_status(int argc, char **argv) {
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"study", required_argument, 0, 's'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db_path = NULL, *study = NULL;
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:s:jh", opts, NULL)) != -1) {
        if (c == 'd') db_path = optarg;
        else if (c == 's') study = optarg;
        else if (c == 'j') json = 1;
        else return cli_help_or_usage("status", c == 'h');
    }
    if (!db_path || optind != argc) return cli_usage_error("status");
    genbo_study_summary *v;
    size_t n;
    if (genbo_db_studies(db_path, &v, &n)) return cli_fail("status");
    cJSON *all = json ? cJSON_CreateArray() : NULL;
    int found = 0, rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        if (study && strcmp(study, v[i].name)) continue;
        found++;
        genbo_study *s;
        genbo_run_info *runs = NULL;
        size_t nr = 0;
        if (genbo_study_open(db_path, v[i].name, NULL, GENBO_OPEN_READONLY, &s)) {
            rc = cli_fail("status");
            break;
        }
        if (genbo_study_runs(s, &runs, &nr)) rc = cli_fail("status");
        genbo_study_close(s);
        if (rc) break;
        if (json) {
            cJSON *o = study_json(&v[i]), *ra = cJSON_AddArrayToObject(o, "runs");
            for (size_t k = 0; k < nr; k++) cJSON_AddItemToArray(ra, run_json(&runs[k]));
            cJSON_AddItemToArray(all, o);
        } else {
            study_text(&v[i]);
            for (size_t k = 0; k < nr; k++) run_text(&runs[k]);
        }
        free(runs);
    }
    free(v);
    if (rc) {
        cJSON_Delete(all);
        return rc;
    }
    if (json) {
        char *text = cJSON_Print(all);
        if (text) puts(text);
        cJSON_free(text);
        cJSON_Delete(all);
    }
    if (study && !found) {
        char label[512];
        genbo_db_label(db_path, label, sizeof label);
        fprintf(stderr, "genbo: status: %s: no study named '%s'\n", label, study);
        return 1;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "genbo: status: writing the output failed\n");
        return 1;
    }
    return 0;
}
