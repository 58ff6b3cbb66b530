/* bench_util.h - what the quality and speed benchmarks share: per-cell
 * results over seeds (mean, sd), Markdown and JSON output, progress lines.
 *
 * Header-only (static functions) because CMake makes one program of every
 * bench/bench_*.c and links nothing else into it. Only the benchmarks use
 * it; the library never prints, the benchmarks do. */
#ifndef GENBO_BENCH_UTIL_H
#define GENBO_BENCH_UTIL_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genbo.h"
#include "tests/support/support.h"

#define BU_MAX_SEEDS 8
#define BU_MAX_METRICS 16

/* One row of a results table: a configuration (free text columns), a set
 * of named metrics, and one value per seed for each. */
typedef struct bu_cell {
    char section[16];
    char config[96]; /* e.g. "n_label=200 off=0" */
    char method[48];
    double target;   /* NaN when the row has no target */
    int n_metrics;
    char metric[BU_MAX_METRICS][24];
    double v[BU_MAX_METRICS][BU_MAX_SEEDS];
    int n[BU_MAX_METRICS];
} bu_cell;

typedef struct bu_table {
    bu_cell *cells;
    size_t n, cap;
} bu_table;

static inline bu_cell *bu_cell_get(bu_table *t, const char *section, const char *config,
                                   const char *method, double target) {
    for (size_t i = 0; i < t->n; i++) {
        bu_cell *c = &t->cells[i];
        if (!strcmp(c->section, section) && !strcmp(c->config, config) &&
            !strcmp(c->method, method) &&
            ((isnan(c->target) && isnan(target)) || c->target == target))
            return c;
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->cells = realloc(t->cells, t->cap * sizeof *t->cells);
        if (!t->cells) {
            fprintf(stderr, "bench: out of memory\n");
            exit(1);
        }
    }
    bu_cell *c = &t->cells[t->n++];
    memset(c, 0, sizeof *c);
    snprintf(c->section, sizeof c->section, "%s", section);
    snprintf(c->config, sizeof c->config, "%s", config);
    snprintf(c->method, sizeof c->method, "%s", method);
    c->target = target;
    return c;
}

/* Record one seed's value of metric `name` in cell c. */
static inline void bu_add(bu_cell *c, const char *name, double value) {
    int k = 0;
    while (k < c->n_metrics && strcmp(c->metric[k], name)) k++;
    if (k == c->n_metrics) {
        if (k == BU_MAX_METRICS) return;
        snprintf(c->metric[k], sizeof c->metric[k], "%s", name);
        c->n_metrics++;
    }
    if (c->n[k] < BU_MAX_SEEDS) c->v[k][c->n[k]++] = value;
}

/* Mean and sample sd (n - 1) of a metric over seeds; NaN if absent. */
static inline void bu_stat(const bu_cell *c, const char *name, double *mean, double *sd) {
    *mean = *sd = NAN;
    for (int k = 0; k < c->n_metrics; k++) {
        if (strcmp(c->metric[k], name)) continue;
        int n = c->n[k];
        if (n == 0) return;
        double s = 0, s2 = 0;
        for (int i = 0; i < n; i++) s += c->v[k][i];
        *mean = s / n;
        for (int i = 0; i < n; i++) s2 += (c->v[k][i] - *mean) * (c->v[k][i] - *mean);
        *sd = n > 1 ? sqrt(s2 / (n - 1)) : 0;
        return;
    }
}

/* Number of values recorded for a metric. */
static inline int bu_count(const bu_cell *c, const char *name) {
    for (int k = 0; k < c->n_metrics; k++)
        if (!strcmp(c->metric[k], name)) return c->n[k];
    return 0;
}

/* "1.23 ± 0.04" (or "1.23" for a single run, "-" when absent) into buf. */
static inline const char *bu_fmt(const bu_cell *c, const char *name, int digits, char *buf,
                                 size_t cap) {
    double m, s;
    bu_stat(c, name, &m, &s);
    if (isnan(m)) snprintf(buf, cap, "-");
    else if (bu_count(c, name) < 2) snprintf(buf, cap, "%.*f", digits, m); /* one run */
    else snprintf(buf, cap, "%.*f ± %.*f", digits, m, digits, s);
    return buf;
}

static inline void bu_json_num(FILE *f, double x) {
    if (isfinite(x)) fprintf(f, "%.6g", x);
    else fprintf(f, "null");
}

/* The whole table as a JSON array of cells, every seed's value kept. */
static inline void bu_write_json(FILE *f, const bu_table *t) {
    fprintf(f, "[");
    for (size_t i = 0; i < t->n; i++) {
        const bu_cell *c = &t->cells[i];
        fprintf(f, "%s\n  {\"section\": \"%s\", \"config\": \"%s\", \"method\": \"%s\", \"target\": ",
                i ? "," : "", c->section, c->config, c->method);
        bu_json_num(f, c->target);
        fprintf(f, ", \"metrics\": {");
        for (int k = 0; k < c->n_metrics; k++) {
            double m, s;
            bu_stat(c, c->metric[k], &m, &s);
            fprintf(f, "%s\"%s\": {\"mean\": ", k ? ", " : "", c->metric[k]);
            bu_json_num(f, m);
            fprintf(f, ", \"sd\": ");
            bu_json_num(f, s);
            fprintf(f, ", \"seeds\": [");
            for (int j = 0; j < c->n[k]; j++) {
                if (j) fprintf(f, ", ");
                bu_json_num(f, c->v[k][j]);
            }
            fprintf(f, "]}");
        }
        fprintf(f, "}}");
    }
    fprintf(f, "\n]\n");
}

/* A Markdown table of every cell of `section`: config, method, target,
 * then the given metrics as mean ± sd. */
static inline void bu_write_md(FILE *f, const bu_table *t, const char *section,
                               const char *const *metrics, const char *const *headers,
                               const int *digits, int nm) {
    fprintf(f, "| config | method | a |");
    for (int k = 0; k < nm; k++) fprintf(f, " %s |", headers[k]);
    fprintf(f, "\n|---|---|---|");
    for (int k = 0; k < nm; k++) fprintf(f, "---|");
    fprintf(f, "\n");
    for (size_t i = 0; i < t->n; i++) {
        const bu_cell *c = &t->cells[i];
        if (strcmp(c->section, section)) continue;
        char tb[32], buf[64];
        if (isnan(c->target)) snprintf(tb, sizeof tb, "-");
        else snprintf(tb, sizeof tb, "%.2f", c->target);
        fprintf(f, "| %s | %s | %s |", c->config, c->method, tb);
        for (int k = 0; k < nm; k++)
            fprintf(f, " %s |", bu_fmt(c, metrics[k], digits[k], buf, sizeof buf));
        fprintf(f, "\n");
    }
    fprintf(f, "\n");
}

/* Progress on the terminal (stderr), with the elapsed wall time. */
static double bu_t_start;
static inline void bu_progress(const char *fmt, ...) {
    if (bu_t_start == 0) bu_t_start = genbo__support_now();
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[%7.1f s] ", genbo__support_now() - bu_t_start);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

/* Abort the benchmark on a library failure, naming the call. */
/* Open PREFIX.EXT for writing; NULL (after a message) if it cannot be. */
static inline FILE *bu_open_out(const char *prefix, const char *ext) {
    char path[1100];
    snprintf(path, sizeof path, "%s.%s", prefix, ext);
    FILE *f = fopen(path, "w");
    if (!f) fprintf(stderr, "bench: cannot write %s\n", path);
    return f;
}

static inline void bu_check(int rc, const char *what) {
    if (rc == GENBO_OK) return;
    fprintf(stderr, "bench: %s failed: %s (%s)\n", what, genbo_errmsg(), genbo_strstatus(rc));
    exit(1);
}

static inline void *bu_alloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "bench: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

static inline double bu_mean(const double *v, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += v[i];
    return n ? s / (double)n : NAN;
}

static inline double bu_max(const double *v, size_t n) {
    double m = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (v[i] > m) m = v[i];
    return m;
}

#endif
