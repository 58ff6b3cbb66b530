/* cli_error.c - the program's own failures (a file it cannot write, out of
 * memory, a bad --host) reported the way the library reports its own:
 * a status returned, a message kept for whoever prints it. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static char message[1024];
/* genbo_errmsg() when cli_error ran: if it differs now, the library failed
 * since, and its message is the newer one. */
static char library_then[1024];

int cli_error(int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    snprintf(library_then, sizeof library_then, "%s", genbo_errmsg());
    return status;
}

const char *cli_errmsg(void) {
    const char *lib = genbo_errmsg();
    return message[0] && !strcmp(lib, library_then) ? message : lib;
}

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
