/* cli.h - the genbo command-line program: one file per sub-command. */
#ifndef GENBO_CLI_H
#define GENBO_CLI_H

#include <stdio.h>

#include "genbo.h"

/* Each sub-command gets argv with argv[0] = its own name. Returns the
 * process exit status: 0 success, 1 failure (message already printed),
 * 2 usage error. */
typedef int (*cli_command_fn)(int argc, char **argv);

int cmd_info(int argc, char **argv);
int cmd_report(int argc, char **argv); /* dashboard: static HTML report */
int cmd_serve(int argc, char **argv);  /* dashboard: live web page */
int cmd_fit(int argc, char **argv);    /* reward: fit a reward model to a CSV */
/* studies: cmd_run.c, cmd_asktell.c, cmd_status.c */
int cmd_run(int argc, char **argv);
int cmd_ask(int argc, char **argv);
int cmd_tell(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_export(int argc, char **argv);
/* studies without a run, the catalogue, the best trial: cmd_study.c */
int cmd_create(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_studies(int argc, char **argv);
int cmd_best(int argc, char **argv);

/* Help of every command (help.c): one flag per line with its meaning and
 * an example value, then example command lines. */
#define CLI_HELP_FLAGS 16
typedef struct cli_help {
    const char *name, *summary, *synopsis;
    struct { const char *flag, *meaning; } flags[CLI_HELP_FLAGS];
    const char *examples;
} cli_help;
const cli_help *cli_help_find(const char *name);
const cli_help *cli_help_at(size_t i); /* NULL past the end */
void cli_help_print(FILE *f, const char *name);
/* The synopsis on stderr; returns 2 (a usage error). */
int cli_usage_error(const char *name);
/* --help: full help on stdout, 0; anything else: cli_usage_error. */
int cli_help_or_usage(const char *name, int is_help);

/* JSON numbers that read back to the same double: cJSON's own printer
 * uses 15 significant digits when they come within an epsilon, which
 * changes ~12% of random doubles. These print %.17g (null when not
 * finite) as raw JSON. */
struct cJSON;
struct cJSON *cli_json_double(double v);
struct cJSON *cli_json_doubles(const double *x, size_t n);
/* A trial as a JSON object: trial, run, round, method, target_label,
 * target, state, value, predicted, support_distance, x, params (by name). */
struct cJSON *cli_trial_json(genbo_study *s, const genbo_trial *t);

/* lead, then text wrapped at 100 columns under its first column (stdout). */
void cli_print_wrapped(const char *lead, const char *text);
/* The program's own failures (cli_error.c): keep "fmt ..." as the newest
 * message and return status, as the library does with its own. */
int cli_error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The newest failure's message: cli_error's, or genbo_errmsg() when the
 * library failed after it. */
const char *cli_errmsg(void);
/* Monotonic seconds, for durations. */
double cli_now(void);
/* Print "genbo: <what>: <cli_errmsg()>" to stderr and return 1. */
int cli_fail(const char *what);
/* A terminal progress display for genbo_progress_fn (ctx unused). Draws
 * a single updating line on a terminal, periodic lines otherwise. */
int cli_progress(void *ctx, const char *stage, long done, long total, const char *msg);

#endif
