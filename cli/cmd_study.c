/* cmd_study.c - `genbo create`, `genbo delete`, `genbo studies` and
 * `genbo best`: a study's life without `genbo run`, through genbo.h only. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* --db, else [study] db, else <name>.db (as genbo run). */
static const char *study_db(const genbo_config *cfg, const char *db, char *buf, size_t size) {
    if (db) return db;
    char name[256];
    genbo_config_get(cfg, "study", "db", buf, size);
    if (buf[0]) return buf;
    genbo_config_get(cfg, "study", "name", name, sizeof name);
    snprintf(buf, size, "%s.db", name);
    return buf;
}

int cmd_create(int argc, char **argv) {
    static const struct option opts[] = {
        {"db", required_argument, 0, 'd'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *db = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
        if (c == 'd') db = optarg;
        else return cli_help_or_usage("create", c == 'h');
    }
    if (optind != argc - 1) return cli_usage_error("create");
    genbo_config *cfg;
    if (genbo_config_load(argv[optind], &cfg)) return cli_fail("study file");
    char dbbuf[600], name[256];
    db = study_db(cfg, db, dbbuf, sizeof dbbuf);
    genbo_config_get(cfg, "study", "name", name, sizeof name);
    genbo_study *s;
    int rc = genbo_study_create(db, cfg, &s);
    genbo_config_free(cfg);
    if (rc) return cli_fail("create");
    char label[512]; /* never a password on the screen */
    genbo_db_label(db, label, sizeof label);
    printf("study '%s' in %s: dim %zu, data checked (ask trains the models if it has none yet)\n"
           "  genbo ask --db %s --study %s --target p90 --n 8 --json\n",
           name, label, genbo_study_dim(s), label, name);
    genbo_study_close(s);
    return 0;
}

int cmd_delete(int argc, char **argv) {
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"study", required_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL, *study = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:s:h", opts, NULL)) != -1) {
        if (c == 'd') db = optarg;
        else if (c == 's') study = optarg;
        else return cli_help_or_usage("delete", c == 'h');
    }
    if (!db || !study || optind != argc) return cli_usage_error("delete");
    if (genbo_study_delete(db, study)) return cli_fail("delete");
    char label[512];
    genbo_db_label(db, label, sizeof label);
    printf("deleted study '%s' from %s\n", study, label);
    return 0;
}

static void format_time(double t, char *buf, size_t size) {
    time_t tt = (time_t)t;
    struct tm tm;
    localtime_r(&tt, &tm);
    strftime(buf, size, "%Y-%m-%d %H:%M", &tm);
}

/* A name cut to w columns with "~" marking the cut (full names: --json). */
static void print_cut(const char *s, int w) {
    if ((int)strlen(s) <= w) printf("%-*s", w, s);
    else printf("%.*s~", w - 1, s);
}

int cmd_studies(int argc, char **argv) {
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL;
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:jh", opts, NULL)) != -1) {
        if (c == 'd') db = optarg;
        else if (c == 'j') json = 1;
        else return cli_help_or_usage("studies", c == 'h');
    }
    if (!db || optind != argc) return cli_usage_error("studies");
    genbo_study_summary *v;
    size_t n;
    if (genbo_db_studies(db, &v, &n)) return cli_fail("studies");
    if (json) {
        cJSON *a = cJSON_CreateArray();
        for (size_t i = 0; i < n; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "id", (double)v[i].id);
            cJSON_AddStringToObject(o, "name", v[i].name);
            cJSON_AddNumberToObject(o, "dim", (double)v[i].dim);
            cJSON_AddItemToObject(o, "created", cli_json_double(v[i].created));
            cJSON_AddItemToObject(o, "last_activity", cli_json_double(v[i].last_activity));
            cJSON_AddNumberToObject(o, "runs", (double)v[i].runs);
            cJSON_AddNumberToObject(o, "running", (double)v[i].running);
            cJSON_AddNumberToObject(o, "asked", (double)v[i].asked);
            cJSON_AddNumberToObject(o, "told", (double)v[i].told);
            cJSON_AddNumberToObject(o, "failed", (double)v[i].failed);
            cJSON_AddItemToObject(o, "best_value", cli_json_double(v[i].best_value));
            cJSON_AddItemToObject(o, "best_loop", cli_json_double(v[i].best_loop));
            cJSON_AddItemToObject(o, "best_run", cli_json_double(v[i].best_run));
            cJSON_AddItemToArray(a, o);
        }
        char *text = cJSON_Print(a);
        if (text) puts(text);
        cJSON_free(text);
        cJSON_Delete(a);
    } else {
        /* 99 columns at most: names are cut at 20 (full names in --json).
         * The loop's best and the run phase's apart: the run phase's can be
         * an off-support overshoot. */
        printf("%-20s %5s %4s %7s %7s %6s %11s %11s  %-16s\n", "study", "dim", "runs", "asked", "told",
               "failed", "best loop", "best run", "last activity");
        for (size_t i = 0; i < n; i++) {
            char when[32], bl[32], br[32];
            format_time(v[i].last_activity, when, sizeof when);
            snprintf(bl, sizeof bl, isnan(v[i].best_loop) ? "-" : "%.6g", v[i].best_loop);
            snprintf(br, sizeof br, isnan(v[i].best_run) ? "-" : "%.6g", v[i].best_run);
            print_cut(v[i].name, 20);
            printf(" %5zu %4lld %7lld %7lld %6lld %11s %11s  %-16s%s\n", v[i].dim, (long long)v[i].runs,
                   (long long)v[i].asked, (long long)v[i].told, (long long)v[i].failed, bl, br, when,
                   v[i].running ? " running" : "");
        }
        char label[512];
        genbo_db_label(db, label, sizeof label);
        if (n == 0) printf("(no studies; genbo create STUDY.ini --db %s makes one)\n", label);
    }
    free(v);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- best ------------------------------------------------------------- */

static const char *round_text(int round, char *buf, size_t size) {
    if (round < 0) snprintf(buf, size, "ask");
    else if (round == 0) snprintf(buf, size, "run phase");
    else snprintf(buf, size, "round %d", round);
    return buf;
}

cJSON *cli_trial_json(genbo_study *s, const genbo_trial *t) {
    static const char *const states[] = {"asked", "told", "failed"};
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "trial", (double)t->id);
    if (t->run_id) cJSON_AddNumberToObject(o, "run", (double)t->run_id);
    else cJSON_AddNullToObject(o, "run");
    if (t->round >= 0) cJSON_AddNumberToObject(o, "round", t->round);
    else cJSON_AddNullToObject(o, "round");
    cJSON_AddStringToObject(o, "method", t->method);
    cJSON_AddStringToObject(o, "target_label", t->target_label);
    cJSON_AddItemToObject(o, "target", cli_json_double(t->target));
    cJSON_AddStringToObject(o, "state", states[t->state]);
    cJSON_AddItemToObject(o, "value", cli_json_double(t->value));
    cJSON_AddItemToObject(o, "predicted", cli_json_double(t->predicted));
    cJSON_AddItemToObject(o, "support_distance", cli_json_double(t->support_distance));
    if (t->x) {
        cJSON_AddItemToObject(o, "x", cli_json_doubles(t->x, t->dim));
        cJSON *p = cJSON_AddObjectToObject(o, "params");
        for (size_t j = 0; j < t->dim; j++) {
            const char *nm = genbo_study_feature_name(s, j);
            char fb[32];
            snprintf(fb, sizeof fb, "x%zu", j);
            cJSON_AddItemToObject(p, nm ? nm : fb, cli_json_double(t->x[j]));
        }
    } else {
        cJSON_AddNullToObject(o, "x");
    }
    return o;
}

/* name=value pairs wrapped at 100 columns. */
static void print_design(genbo_study *s, const genbo_trial *t) {
    int col = 0;
    for (size_t j = 0; t->x && j < t->dim; j++) {
        char cell[160];
        const char *nm = genbo_study_feature_name(s, j);
        int len = snprintf(cell, sizeof cell, "%s=%.6g", nm ? nm : "?", t->x[j]);
        if (col > 0 && col + 2 + len > 100) {
            printf("\n");
            col = 0;
        }
        col += printf("%s%s", col ? "  " : "    ", cell);
    }
    if (col) printf("\n");
}

static void print_best(genbo_study *s, const char *title, const genbo_trial *t) {
    if (!t) {
        printf("%s: no told trial\n", title);
        return;
    }
    char r[32];
    printf("%s: trial %lld, value %.6g\n  %s, method %s at target %s = %.6g, predicted %.6g when asked\n",
           title, (long long)t->id, t->value, round_text(t->round, r, sizeof r), t->method,
           t->target_label, t->target, t->predicted);
    print_design(s, t);
}

int cmd_best(int argc, char **argv) {
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"study", required_argument, 0, 's'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL, *study = NULL;
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:s:jh", opts, NULL)) != -1) {
        if (c == 'd') db = optarg;
        else if (c == 's') study = optarg;
        else if (c == 'j') json = 1;
        else return cli_help_or_usage("best", c == 'h');
    }
    if (!db || !study || optind != argc) return cli_usage_error("best");
    genbo_study *s;
    if (genbo_study_open(db, study, NULL, GENBO_OPEN_READONLY, &s)) return cli_fail("best");
    genbo_trial_list *loop = NULL, *run = NULL;
    if (genbo_study_best_trial(s, GENBO_PHASE_LOOP, &loop) || genbo_study_best_trial(s, GENBO_PHASE_RUN, &run)) {
        genbo_trial_list_free(loop);
        genbo_study_close(s);
        return cli_fail("best");
    }
    const genbo_trial *tl = genbo_trial_list_get(loop, 0), *tr = genbo_trial_list_get(run, 0);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "study", study);
        cJSON_AddItemToObject(o, "loop", tl ? cli_trial_json(s, tl) : cJSON_CreateNull());
        cJSON_AddItemToObject(o, "run", tr ? cli_trial_json(s, tr) : cJSON_CreateNull());
        char *text = cJSON_Print(o);
        if (text) puts(text);
        cJSON_free(text);
        cJSON_Delete(o);
    } else {
        print_best(s, "design loop (asks and loop rounds)", tl);
        print_best(s, "run phase (every method at every target)", tr);
    }
    genbo_trial_list_free(loop);
    genbo_trial_list_free(run);
    genbo_study_close(s);
    return fflush(stdout) == 0 ? 0 : 1;
}
