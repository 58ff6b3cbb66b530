/* common.c - error printing and the terminal progress display. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <math.h>

#include "cli.h"

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
    const char *msg = cli_errmsg();
    size_t k = strlen(what);
    /* the library's message may already start with the same context
     * ("ask: target 'x' ..."): say it once */
    if (!strncmp(msg, what, k) && msg[k] == ':') fprintf(stderr, "genbo: %s\n", msg);
    else fprintf(stderr, "genbo: %s: %s\n", what, msg);
    return 1;
}

/* "12.3s", "4m05s", "1h02m". */
static void format_secs(double t, char *buf, size_t size) {
    if (t < 0 || !isfinite(t)) snprintf(buf, size, "?");
    else if (t < 60) snprintf(buf, size, "%.1fs", t);
    else if (t < 3600) snprintf(buf, size, "%dm%02ds", (int)(t / 60), (int)fmod(t, 60));
    else snprintf(buf, size, "%dh%02dm", (int)(t / 3600), (int)fmod(t / 60, 60));
}

/* One line per stage: a bar, done/total, the elapsed time and the ETA
 * (elapsed * remaining / done: the stages report evenly spaced units), the
 * stage's detail, all within 100 columns; when a stage ends (or another
 * begins) its line says how long it took. */
int cli_progress(void *ctx, const char *stage, long done, long total, const char *msg) {
    (void)ctx;
    static double last = 0.0, started = 0.0;
    static char current[32] = "";
    static int open_line = 0, tty = -1;
    if (tty < 0) tty = isatty(STDERR_FILENO);
    double now = cli_now();
    int finished = total > 0 && done >= total;
    if (strcmp(current, stage)) {
        if (open_line && tty) fputc('\n', stderr);
        open_line = 0;
        snprintf(current, sizeof current, "%s", stage);
        started = now;
        last = 0.0;
    }
    /* Redraw at most 10 times a second on a terminal, every 5 s in a log. */
    if (!finished && now - last < (tty ? 0.1 : 5.0)) return 0;
    last = now;
    char bar[32] = "", elapsed[16], eta[32] = "";
    format_secs(now - started, elapsed, sizeof elapsed);
    if (total > 0) {
        int w = 20, k = (int)(w * (double)done / (double)total);
        if (k > w) k = w;
        bar[0] = '[';
        for (int i = 0; i < w; i++) bar[1 + i] = i < k ? '#' : '.';
        bar[w + 1] = ']';
        bar[w + 2] = '\0';
        if (!finished && done > 0) {
            char t[16];
            format_secs((now - started) * (double)(total - done) / (double)done, t, sizeof t);
            snprintf(eta, sizeof eta, " ETA %s", t);
        }
    }
    char line[256];
    int len = snprintf(line, sizeof line, "%-8s %s %ld/%ld %s%s%s", stage, bar, done, total,
                       finished ? "in " : "", elapsed, eta);
    if (msg && *msg && len < 97) snprintf(line + len, sizeof line - (size_t)len, "  %.*s", 97 - len, msg);
    if (tty) {
        fprintf(stderr, "\r\033[K%s", line);
        open_line = !finished;
        if (finished) fputc('\n', stderr);
    } else {
        fprintf(stderr, "%s\n", line);
    }
    if (finished) current[0] = '\0';
    fflush(stderr);
    return 0;
}

void cli_print_wrapped(const char *lead, const char *text) {
    int indent = (int)strlen(lead), width = 100 - indent;
    if (width < 20) width = 20;
    fputs(lead, stdout);
    while ((int)strlen(text) > width) {
        int cut = width;
        while (cut > 0 && text[cut] != ' ') cut--;
        if (cut == 0) cut = width; /* one long word: cut it */
        printf("%.*s\n%*s", cut, text, indent, "");
        text += cut + (text[cut] == ' ');
    }
    printf("%s\n", text);
}
