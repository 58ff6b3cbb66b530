/* evaluator.c - score designs with a C function or an external command
 * (CSV in, one number per line out). Process handling is in command.c. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"
#include "optimizer/command.h"
#include "optimizer/evaluator.h"

struct genbo__evaluator {
    size_t dim;
    genbo__eval_fn fn; /* NULL for a command */
    void *ctx;
    char *cmd;
    double timeout_s;
    char **names; /* dim column names (command only) */
};

void genbo__evaluator_free(genbo__evaluator *ev) {
    if (!ev) return;
    if (ev->names)
        for (size_t j = 0; j < ev->dim; j++) free(ev->names[j]);
    free(ev->names);
    free(ev->cmd);
    free(ev);
}

size_t genbo__evaluator_dim(const genbo__evaluator *ev) { return ev ? ev->dim : 0; }

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = genbo__malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

int genbo__evaluator_from_fn(size_t dim, genbo__eval_fn fn, void *ctx, genbo__evaluator **out) {
    if (!out) return genbo__fail(GENBO_EINVAL, "evaluator: NULL out");
    *out = NULL;
    if (!fn || dim == 0) return genbo__fail(GENBO_EINVAL, "evaluator: no function or dim 0");
    genbo__evaluator *ev = genbo__calloc(1, sizeof *ev);
    if (!ev) return GENBO_ENOMEM;
    ev->dim = dim;
    ev->fn = fn;
    ev->ctx = ctx;
    *out = ev;
    return GENBO_OK;
}

/* ---- the oracle of a synthetic task ---------------------------------------- */

static int oracle_fn(void *ctx, size_t n, size_t dim, const double *X, double *y) {
    (void)dim;
    return genbo_task_oracle((const genbo_task *)ctx, n, X, y);
}

int genbo__evaluator_oracle(const genbo_task *task, genbo__evaluator **out) {
    if (out) *out = NULL;
    if (!task) return genbo__fail(GENBO_EINVAL, "evaluator: oracle needs a synthetic task");
    /* the evaluator only reads the task; the cast drops const for ctx */
    return genbo__evaluator_from_fn(genbo_task_dim(task), oracle_fn, (void *)task, out);
}

int genbo__evaluator_command(const char *cmd, double timeout_s, size_t dim,
                             const char *const *names, genbo__evaluator **out) {
    if (!out) return genbo__fail(GENBO_EINVAL, "evaluator: NULL out");
    *out = NULL;
    if (!cmd || !*cmd) return genbo__fail(GENBO_EINVAL, "[evaluate] command: empty command");
    if (!(timeout_s > 0) || !isfinite(timeout_s))
        return genbo__fail(GENBO_EINVAL, "[evaluate] timeout: %g is not a positive number of seconds",
                           timeout_s);
    if (dim == 0) return genbo__fail(GENBO_EINVAL, "evaluator: dim 0");
    genbo__evaluator *ev = genbo__calloc(1, sizeof *ev);
    if (!ev) return GENBO_ENOMEM;
    ev->dim = dim;
    ev->timeout_s = timeout_s;
    ev->cmd = dup_str(cmd);
    ev->names = genbo__calloc(dim, sizeof *ev->names);
    if (!ev->cmd || !ev->names) {
        genbo__evaluator_free(ev);
        return GENBO_ENOMEM;
    }
    for (size_t j = 0; j < dim; j++) {
        char def[32];
        snprintf(def, sizeof def, "x%zu", j);
        ev->names[j] = dup_str(names && names[j] ? names[j] : def);
        if (!ev->names[j]) {
            genbo__evaluator_free(ev);
            return GENBO_ENOMEM;
        }
    }
    *out = ev;
    return GENBO_OK;
}

void genbo__reasons_free(char **reasons, size_t n) {
    if (!reasons) return;
    for (size_t i = 0; i < n; i++) {
        free(reasons[i]);
        reasons[i] = NULL;
    }
}

/* ---- CSV out ------------------------------------------------------- */

typedef struct strbuf {
    char *s;
    size_t len, cap;
    int nomem;
} strbuf;

static void sb_add(strbuf *b, const char *s, size_t n) {
    if (b->nomem) return;
    if (genbo__grow(&b->s, &b->cap, b->len + n + 1, 1, "the command's input")) {
        b->nomem = 1;
        return;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

/* A header field, quoted as RFC 4180 says when it holds , " or a newline. */
static void sb_add_field(strbuf *b, const char *f) {
    if (!strpbrk(f, ",\"\r\n")) {
        sb_add(b, f, strlen(f));
        return;
    }
    sb_add(b, "\"", 1);
    for (const char *p = f; *p; p++) {
        if (*p == '"') sb_add(b, "\"", 1); /* "" inside quotes */
        sb_add(b, p, 1);
    }
    sb_add(b, "\"", 1);
}

static char *designs_csv(const genbo__evaluator *ev, size_t n, const double *X, size_t *len) {
    strbuf b = {0};
    for (size_t j = 0; j < ev->dim; j++) {
        if (j) sb_add(&b, ",", 1);
        sb_add_field(&b, ev->names[j]);
    }
    sb_add(&b, "\n", 1);
    char num[40];
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < ev->dim; j++) {
            int k = snprintf(num, sizeof num, "%s%.17g", j ? "," : "", X[i * ev->dim + j]);
            sb_add(&b, num, (size_t)k);
        }
        sb_add(&b, "\n", 1);
    }
    if (b.nomem) {
        free(b.s);
        genbo__fail(GENBO_ENOMEM, "evaluator: out of memory writing %zu designs as CSV", n);
        return NULL;
    }
    *len = b.len;
    return b.s;
}

/* ---- output in ----------------------------------------------------- */

/* The command as it appears in messages: cut long ones. */
static void short_cmd(const char *cmd, char *buf, size_t size) {
    if (strlen(cmd) < size) snprintf(buf, size, "%s", cmd);
    else snprintf(buf, size, "%.*s...", (int)(size - 4), cmd);
}

/* The last non-empty line of the child's standard error, for messages. */
static void stderr_tail(const char *err, char *buf, size_t size) {
    buf[0] = '\0';
    const char *end = err + strlen(err);
    while (end > err && isspace((unsigned char)end[-1])) end--;
    const char *start = end;
    while (start > err && start[-1] != '\n') start--;
    if (end > start) snprintf(buf, size, " (stderr: %.*s)", (int)(end - start), start);
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
    *e = '\0';
    return s;
}

/* "fail", "fail reason", "fail: reason" -> reason (or "failed"). */
static const char *failure_reason(const char *line) {
    if (strncasecmp(line, "fail", 4) != 0) return NULL;
    const char *r = line + 4;
    if (strncasecmp(r, "ed", 2) == 0) r += 2; /* "failed ..." reads well too */
    if (*r && *r != ' ' && *r != '\t' && *r != ':') return NULL;
    while (*r == ' ' || *r == '\t' || *r == ':') r++;
    return *r ? r : "failed";
}

/* Parse one reward per line into y; per-design failures into reasons. */
static int parse_rewards(const char *name, char *out, size_t n, double *y, char **reasons) {
    size_t lines = 0;
    for (char *p = out; *p;) { /* count lines: a final one without '\n' counts */
        char *nl = strchr(p, '\n');
        lines++;
        if (!nl) break;
        p = nl + 1;
    }
    if (lines != n)
        return genbo__fail(GENBO_EEXTERNAL, "evaluator '%s' printed %zu line%s for %zu designs",
                           name, lines, lines == 1 ? "" : "s", n);
    char *p = out;
    for (size_t i = 0; i < n; i++) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        char *line = trim(p);
        p = nl ? nl + 1 : p + strlen(p);
        const char *why = failure_reason(line);
        if (!why && strcasecmp(line, "nan") == 0) why = "evaluator printed nan";
        if (why) {
            y[i] = NAN;
            if (reasons) {
                reasons[i] = dup_str(why);
                if (!reasons[i]) return GENBO_ENOMEM;
            }
            continue;
        }
        char *end;
        errno = 0;
        double v = strtod(line, &end);
        if (end == line || *end != '\0')
            return genbo__fail(GENBO_EEXTERNAL, "evaluator '%s': line %zu: '%.40s' is not a number",
                               name, i + 1, line);
        if (!isfinite(v))
            return genbo__fail(GENBO_EEXTERNAL,
                               "evaluator '%s': line %zu: '%.40s' is not a finite number", name,
                               i + 1, line);
        y[i] = v;
    }
    return GENBO_OK;
}

static int evaluate_command(genbo__evaluator *ev, size_t n, const double *X, double *y,
                            char **reasons) {
    char name[72], tail[200];
    short_cmd(ev->cmd, name, sizeof name);
    size_t in_len = 0;
    char *input = designs_csv(ev, n, X, &in_len);
    if (!input) return GENBO_ENOMEM;
    genbo__cmd_result res;
    int rc = genbo__cmd_run(ev->cmd, input, in_len, ev->timeout_s, GENBO__EVAL_MAX_OUTPUT, &res);
    free(input);
    if (rc != GENBO_OK) return genbo__fail_prefix(rc, "evaluator '%s'", name);
    stderr_tail(res.err, tail, sizeof tail);
    if (res.timed_out)
        rc = genbo__fail(GENBO_ETIMEOUT, "evaluator '%s' timed out after %g s", name,
                         ev->timeout_s);
    else if (res.too_much)
        rc = genbo__fail(GENBO_EEXTERNAL, "evaluator '%s' printed more than %zu bytes", name,
                         (size_t)GENBO__EVAL_MAX_OUTPUT);
    else if (res.signaled)
        rc = genbo__fail(GENBO_EEXTERNAL, "evaluator '%s' killed by signal %d%s", name, res.signo,
                         tail);
    else if (!res.exited)
        rc = genbo__fail(GENBO_EEXTERNAL, "evaluator '%s' ended abnormally%s", name, tail);
    else if (res.exit_status > 128 && res.exit_status <= 128 + 64)
        /* /bin/sh -c reports a child killed by signal n as status 128 + n */
        rc = genbo__fail(GENBO_EEXTERNAL,
                         "evaluator '%s' killed by signal %d (shell exit status %d)%s", name,
                         res.exit_status - 128, res.exit_status, tail);
    else if (res.exit_status != 0)
        rc = genbo__fail(GENBO_EEXTERNAL, "evaluator '%s' exited with status %d%s", name,
                         res.exit_status, tail);
    else
        rc = parse_rewards(name, res.out, n, y, reasons);
    genbo__cmd_result_free(&res);
    return rc;
}

int genbo__evaluate(genbo__evaluator *ev, size_t n, const double *X, double *y, char **reasons) {
    if (!ev || !X || !y || n == 0)
        return genbo__fail(GENBO_EINVAL, "evaluator: no designs to evaluate");
    if (reasons)
        for (size_t i = 0; i < n; i++) reasons[i] = NULL;
    for (size_t i = 0; i < n; i++) y[i] = NAN;
    int rc = ev->fn ? ev->fn(ev->ctx, n, ev->dim, X, y) : evaluate_command(ev, n, X, y, reasons);
    if (rc != GENBO_OK) {
        /* a failed batch: nothing half-valid is handed back */
        for (size_t i = 0; i < n; i++) y[i] = NAN;
        genbo__reasons_free(reasons, n);
        return rc;
    }
    if (ev->fn && reasons)
        for (size_t i = 0; i < n; i++)
            if (isnan(y[i]) && !(reasons[i] = dup_str("evaluator returned nan"))) {
                genbo__reasons_free(reasons, n);
                return GENBO_ENOMEM;
            }
    return GENBO_OK;
}
