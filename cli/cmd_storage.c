/* cmd_storage.c - commands about where a study lives: `genbo copy`
 * (between an SQLite file and a PostgreSQL server, either way),
 * `genbo fail-stale` and `genbo heartbeat` (asked trials whose worker
 * died). Through genbo.h only. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int cmd_copy(int argc, char **argv) {
    static const struct option opts[] = {{"from", required_argument, 0, 'f'},
                                         {"to", required_argument, 0, 't'},
                                         {"study", required_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *from = NULL, *to = NULL, *study = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:t:s:h", opts, NULL)) != -1) {
        if (c == 'f') from = optarg;
        else if (c == 't') to = optarg;
        else if (c == 's') study = optarg;
        else return cli_help_or_usage("copy", c == 'h');
    }
    if (!from || !to || optind != argc) return cli_usage_error("copy");
    size_t rows = 0;
    if (genbo_db_copy(from, to, study, &rows)) return cli_fail("copy");
    printf("copied %s%s%s: %zu rows\n", study ? "study '" : "every study", study ? study : "",
           study ? "'" : "", rows);
    return 0;
}

int cmd_fail_stale(int argc, char **argv) {
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"study", required_argument, 0, 's'},
                                         {"timeout", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL, *study = NULL;
    double timeout = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:s:t:h", opts, NULL)) != -1) {
        if (c == 'd') db = optarg;
        else if (c == 's') study = optarg;
        else if (c == 't') {
            char *end;
            timeout = strtod(optarg, &end);
            if (end == optarg || *end || !(timeout > 0)) {
                fprintf(stderr, "genbo fail-stale: --timeout %s: a number of seconds > 0 expected\n", optarg);
                return 2;
            }
        } else return cli_help_or_usage("fail-stale", c == 'h');
    }
    if (!db || !study || optind != argc) return cli_usage_error("fail-stale");
    genbo_study *s;
    if (genbo_study_open(db, study, NULL, 0, &s)) return cli_fail("fail-stale");
    size_t n = 0;
    int rc = genbo_study_fail_stale(s, timeout, &n);
    genbo_study_close(s);
    if (rc) return cli_fail("fail-stale");
    printf("study '%s': %zu stale trial%s failed\n", study, n, n == 1 ? "" : "s");
    return 0;
}

int cmd_heartbeat(int argc, char **argv) {
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"study", required_argument, 0, 's'},
                                         {"trial", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db = NULL, *study = NULL;
    long long trial = -1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:s:t:h", opts, NULL)) != -1) {
        if (c == 'd') db = optarg;
        else if (c == 's') study = optarg;
        else if (c == 't') {
            char *end;
            trial = strtoll(optarg, &end, 10);
            if (end == optarg || *end || trial < 1) {
                fprintf(stderr, "genbo heartbeat: --trial %s: a trial id expected\n", optarg);
                return 2;
            }
        } else return cli_help_or_usage("heartbeat", c == 'h');
    }
    if (!db || !study || trial < 1 || optind != argc) return cli_usage_error("heartbeat");
    genbo_study *s;
    if (genbo_study_open(db, study, NULL, 0, &s)) return cli_fail("heartbeat");
    int rc = genbo_study_heartbeat(s, (int64_t)trial);
    genbo_study_close(s);
    return rc ? cli_fail("heartbeat") : 0;
}
