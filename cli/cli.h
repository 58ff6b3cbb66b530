/* cli.h - the genbo command-line program: one file per sub-command. */
#ifndef GENBO_CLI_H
#define GENBO_CLI_H

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

/* JSON numbers that read back to the same double: cJSON's own printer
 * uses 15 significant digits when they come within an epsilon, which
 * changes ~12% of random doubles. These print %.17g (null when not
 * finite) as raw JSON. */
struct cJSON;
struct cJSON *cli_json_double(double v);
struct cJSON *cli_json_doubles(const double *x, size_t n);

/* Print "genbo: <what>: <genbo_errmsg()>" to stderr and return 1. */
int cli_fail(const char *what);
/* A terminal progress display for genbo_progress_fn (ctx unused). Draws
 * a single updating line on a terminal, periodic lines otherwise. */
int cli_progress(void *ctx, const char *stage, long done, long total, const char *msg);

#endif
