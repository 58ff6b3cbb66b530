/* command.h - run a shell command with a byte string on its standard input,
 * collect its standard output and error, with a time-out (internal).
 *
 * The child runs as `/bin/sh -c cmd` in its own process group. Input is
 * written and output read concurrently (poll), so a child that prints
 * before it has read all its input cannot deadlock. On time-out the whole
 * process group is killed with SIGKILL. The child is always reaped (no
 * zombie) and every descriptor opened here is closed (no leak); the
 * child inherits no descriptor but 0, 1 and 2. */
#ifndef GENBO_OPTIMIZER_COMMAND_H
#define GENBO_OPTIMIZER_COMMAND_H

#include <stddef.h>

/* Standard error kept for messages (the first bytes; the rest is drained). */
#define GENBO__CMD_ERR_MAX 4096

typedef struct genbo__cmd_result {
    char *out;        /* standard output, malloc'ed, NUL-terminated */
    size_t out_len;
    char err[GENBO__CMD_ERR_MAX + 1]; /* start of standard error, NUL-terminated */
    int timed_out;    /* 1: killed at the time-out (status fields unset) */
    int too_much;     /* 1: printed more than max_out bytes, killed */
    int exited;       /* 1: exited normally with exit_status */
    int exit_status;
    int signaled;     /* 1: terminated by signal signo */
    int signo;
    double seconds;   /* wall-clock run time */
} genbo__cmd_result;

/* Run cmd with `input` (input_len bytes) on its standard input. Returns
 * GENBO_OK when the child ran and was reaped, whatever it did (see the
 * result's flags), or an error when it could not be started (pipe/fork
 * failure) or on bad arguments. On GENBO_OK the caller frees res->out with
 * genbo__cmd_result_free. max_out bounds the standard output kept. */
int genbo__cmd_run(const char *cmd, const char *input, size_t input_len, double timeout_s,
                   size_t max_out, genbo__cmd_result *res);
void genbo__cmd_result_free(genbo__cmd_result *res);

#endif
