/* cmd_asktell.c - `genbo ask` and `genbo tell`: the ask/tell loop from a
 * shell or another program (one JSON object per design). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
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

static const char *const ASK_USAGE =
    "usage: genbo ask --db FILE --study NAME --target A [--n N] [--json]\n"
    "  prints one design per line: {\"trial\": ID, \"target\": A, \"x\": [...], \"flags\": [...]}\n"
    "  with --json (flags: \"projected\" / \"resampled\" when the trust region changed it),\n"
    "  else 'ID x0 x1 ...'\n";

int cmd_ask(int argc, char **argv) {
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"study", required_argument, 0, 's'},
                                         {"target", required_argument, 0, 't'},
                                         {"n", required_argument, 0, 'n'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL, *study = NULL;
    double target = NAN, nd = 1;
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:s:t:n:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 's': study = optarg; break;
        case 't': if (!parse_num("--target", optarg, &target)) return 2; break;
        case 'n': if (!parse_num("--n", optarg, &nd)) return 2; break;
        case 'j': json = 1; break;
        case 'h': fputs(ASK_USAGE, stdout); return 0;
        default: fputs(ASK_USAGE, stderr); return 2;
        }
    }
    if (!db || !study || isnan(target) || nd < 1 || nd > 1e6 || nd != floor(nd) || optind != argc) {
        fputs(ASK_USAGE, stderr);
        return 2;
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
    unsigned *flags = malloc(n * sizeof *flags);
    if (!ids || !X || !flags || genbo_study_ask_flags(s, target, n, ids, X, flags)) {
        int out = ids && X && flags ? cli_fail("ask")
                                    : (fprintf(stderr, "genbo: ask: out of memory\n"), 1);
        free(ids);
        free(X);
        free(flags);
        genbo_study_close(s);
        return out;
    }
    for (size_t i = 0; i < n; i++) {
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "trial", (double)ids[i]);
            cJSON_AddItemToObject(o, "target", cli_json_double(target));
            cJSON_AddItemToObject(o, "x", cli_json_doubles(X + i * dim, dim));
            /* what the trust region did to the design ([] = nothing) */
            cJSON *fl = cJSON_AddArrayToObject(o, "flags");
            if (flags[i] & GENBO_DESIGN_RESAMPLED)
                cJSON_AddItemToArray(fl, cJSON_CreateString("resampled"));
            if (flags[i] & GENBO_DESIGN_PROJECTED)
                cJSON_AddItemToArray(fl, cJSON_CreateString("projected"));
            char *text = cJSON_PrintUnformatted(o);
            if (text) puts(text);
            cJSON_free(text);
            cJSON_Delete(o);
        } else {
            printf("%lld", (long long)ids[i]);
            for (size_t j = 0; j < dim; j++) printf(" %.17g", X[i * dim + j]);
            printf("\n");
        }
    }
    fflush(stdout);
    free(ids);
    free(X);
    free(flags);
    genbo_study_close(s);
    return 0;
}

static const char *const TELL_USAGE =
    "usage: genbo tell --db FILE --study NAME --trial ID (--value Y | --failed REASON)\n";

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
        case 'h': fputs(TELL_USAGE, stdout); return 0;
        default: fputs(TELL_USAGE, stderr); return 2;
        }
    }
    if (!db || !study || trial <= 0 || have_value == !!failed || optind != argc) {
        fputs(TELL_USAGE, stderr);
        return 2;
    }
    genbo_study *s;
    if (genbo_study_open(db, study, NULL, 0, &s)) return cli_fail("tell");
    int rc = failed ? genbo_study_tell_failed(s, (int64_t)trial, failed)
                    : genbo_study_tell(s, (int64_t)trial, value);
    genbo_study_close(s);
    return rc ? cli_fail("tell") : 0;
}
