/* common.c - error printing and the terminal progress display. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <math.h>

#include "cli.h"
#include "core/core.h"

cJSON *cli_json_double(double v) {
    if (!isfinite(v)) return cJSON_CreateNull();
    char buf[32];
    snprintf(buf, sizeof buf, "%.17g", v);
    return cJSON_CreateRaw(buf);
}

cJSON *cli_json_doubles(const double *x, size_t n) {
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cli_json_double(x[i]));
    return a;
}

int cli_fail(const char *what) {
    fprintf(stderr, "genbo: %s: %s\n", what, genbo_errmsg());
    return 1;
}

int cli_progress(void *ctx, const char *stage, long done, long total, const char *msg) {
    (void)ctx;
    static double last = 0.0;
    static int tty = -1;
    if (tty < 0) tty = isatty(STDERR_FILENO);
    double now = genbo__now();
    int finished = total > 0 && done >= total;
    /* Redraw at most 10 times a second on a terminal, every 5 s in a log. */
    if (!finished && now - last < (tty ? 0.1 : 5.0)) return 0;
    last = now;
    char bar[32] = "";
    if (total > 0) {
        int w = 20, k = (int)(w * (double)done / (double)total);
        if (k > w) k = w;
        bar[0] = '[';
        for (int i = 0; i < w; i++) bar[1 + i] = i < k ? '#' : '.';
        bar[w + 1] = ']';
        bar[w + 2] = '\0';
    }
    if (tty) {
        fprintf(stderr, "\r\033[K%-8s %s %ld/%ld %s", stage, bar, done, total, msg ? msg : "");
        if (finished) fputc('\n', stderr);
    } else {
        fprintf(stderr, "%-8s %ld/%ld %s\n", stage, done, total, msg ? msg : "");
    }
    fflush(stderr);
    return 0;
}
