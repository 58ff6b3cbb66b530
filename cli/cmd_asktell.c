/* cmd_asktell.c - `genbo ask` and `genbo tell`: the ask/tell loop from a
 * shell or another program (one JSON object per design). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int parse_num(const char *what, const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE) {
        fprintf(stderr, "genbo: %s: '%s' is not a number\n", what, s);
        return 0;
    }
    *out = v;
    return 1;
}

static volatile sig_atomic_t interrupted = 0;
static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

/* Training on a first ask: the terminal display, and Ctrl-C cancels (the
 * completed steps are kept; the next ask goes on from them). */
static int ask_progress(void *ctx, const char *stage, long done, long total, const char *msg) {
    if (interrupted) return 1;
    if (ctx) return 0; /* --quiet */
    return cli_progress(NULL, stage, done, total, msg);
}

int cmd_ask(int argc, char **argv) {
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"study", required_argument, 0, 's'},
                                         {"target", required_argument, 0, 't'},
                                         {"method", required_argument, 0, 'm'},
                                         {"n", required_argument, 0, 'n'},
                                         {"json", no_argument, 0, 'j'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL, *study = NULL, *target = NULL, *method = NULL;
    double nd = 1;
    int json = 0, quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:s:t:m:n:jqh", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 's': study = optarg; break;
        case 't': target = optarg; break;
        case 'm': method = optarg; break;
        case 'n': if (!parse_num("--n", optarg, &nd)) return 2; break;
        case 'j': json = 1; break;
        case 'q': quiet = 1; break;
        default: return cli_help_or_usage("ask", c == 'h');
        }
    }
    /* Say what is wrong before the usage (issue 10.11). */
    const char *bad = NULL;
    char why[200];
    char *tend = NULL;
    double tv = target ? strtod(target, &tend) : 0;
    if (optind != argc) snprintf(why, sizeof why, "unexpected argument '%s'", argv[optind]), bad = why;
    else if (!db) bad = "--db FILE is required";
    else if (!study) bad = "--study NAME is required";
    else if (target && tend != target && !*tend && !isfinite(tv))
        snprintf(why, sizeof why, "--target must be a finite number, not %s", target), bad = why;
    else if (nd != floor(nd) || nd < 1 || nd > 1e6)
        snprintf(why, sizeof why, "--n must be a whole number of designs from 1 to 1000000, not %.17g", nd), bad = why;
    if (bad) {
        fprintf(stderr, "genbo: ask: %s\n", bad);
        return cli_usage_error("ask");
    }
    size_t n = (size_t)nd;
    genbo_study *s;
    if (genbo_study_open(db, study, NULL, 0, &s)) return cli_fail("ask");
    size_t dim = genbo_study_dim(s);
    if (dim == 0) {
        genbo_study_close(s);
        return cli_fail("ask: loading the study's data");
    }
    int64_t *ids = malloc(n * sizeof *ids);
    double *X = malloc(n * dim * sizeof *X);
    genbo_ask_options o = {target, method, ask_progress, quiet ? (void *)1 : NULL};
    genbo_ask_info info;
    signal(SIGINT, on_sigint);
    int rc = ids && X ? genbo_study_ask_with(s, &o, n, ids, X, &info) : -1;
    signal(SIGINT, SIG_DFL);
    if (rc) {
        int out = rc > 0 ? cli_fail("ask") : (fprintf(stderr, "genbo: ask: out of memory\n"), 1);
        if (interrupted) fprintf(stderr, "genbo: interrupted; the next ask goes on from the completed steps\n");
        free(ids);
        free(X);
        genbo_study_close(s);
        return out;
    }
    if (info.warning[0]) fprintf(stderr, "genbo: warning: %s\n", info.warning);
    if (!quiet)
        fprintf(stderr, "genbo: %zu design%s at target %s = %.6g, method %s (run %lld)\n", n,
                n == 1 ? "" : "s", info.target_label, info.target, info.method, (long long)info.run_id);
    for (size_t i = 0; i < n; i++) {
        if (json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddNumberToObject(j, "trial", (double)ids[i]);
            cJSON_AddItemToObject(j, "target", cli_json_double(info.target));
            cJSON_AddStringToObject(j, "target_label", info.target_label);
            cJSON_AddStringToObject(j, "method", info.method);
            cJSON_AddItemToObject(j, "x", cli_json_doubles(X + i * dim, dim));
            cJSON *p = cJSON_AddObjectToObject(j, "params");
            for (size_t k = 0; k < dim; k++) {
                const char *nm = genbo_study_feature_name(s, k);
                char fb[32];
                snprintf(fb, sizeof fb, "x%zu", k);
                cJSON_AddItemToObject(p, nm ? nm : fb, cli_json_double(X[i * dim + k]));
            }
            /* what the trust region did to the design ([] = nothing) */
            unsigned fv = 0;
            if (genbo_study_trial_flags(s, ids[i], &fv)) fv = 0; /* stored: cannot be missing */
            cJSON *fl = cJSON_AddArrayToObject(j, "flags");
            if (fv & GENBO_DESIGN_RESAMPLED)
                cJSON_AddItemToArray(fl, cJSON_CreateString("resampled"));
            if (fv & GENBO_DESIGN_PROJECTED)
                cJSON_AddItemToArray(fl, cJSON_CreateString("projected"));
            if (info.warning[0]) cJSON_AddStringToObject(j, "warning", info.warning);
            char *text = cJSON_PrintUnformatted(j);
            if (text) puts(text);
            cJSON_free(text);
            cJSON_Delete(j);
        } else {
            printf("%lld", (long long)ids[i]);
            for (size_t k = 0; k < dim; k++) printf(" %.17g", X[i * dim + k]);
            printf("\n");
        }
    }
    fflush(stdout);
    free(ids);
    free(X);
    genbo_study_close(s);
    return 0;
}

int cmd_tell(int argc, char **argv) {
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"study", required_argument, 0, 's'},
                                         {"trial", required_argument, 0, 't'},
                                         {"value", required_argument, 0, 'v'},
                                         {"failed", required_argument, 0, 'f'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL, *study = NULL, *failed = NULL;
    double value = NAN;
    long long trial = 0;
    char *end;
    int have_value = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:s:t:v:f:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 's': study = optarg; break;
        case 't':
            errno = 0;
            trial = strtoll(optarg, &end, 10);
            if (errno || end == optarg || *end || trial <= 0) {
                fprintf(stderr, "genbo: tell: --trial '%s' is not a trial id (a positive integer)\n", optarg);
                return 2;
            }
            break;
        case 'v': if (!parse_num("--value", optarg, &value)) return 2; have_value = 1; break;
        case 'f': failed = optarg; break;
        default: return cli_help_or_usage("tell", c == 'h');
        }
    }
    if (!db || !study || trial <= 0 || have_value == !!failed || optind != argc)
        return cli_usage_error("tell");
    genbo_study *s;
    if (genbo_study_open(db, study, NULL, 0, &s)) return cli_fail("tell");
    int rc = failed ? genbo_study_tell_failed(s, (int64_t)trial, failed)
                    : genbo_study_tell(s, (int64_t)trial, value);
    genbo_study_close(s);
    return rc ? cli_fail("tell") : 0;
}
