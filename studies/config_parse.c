/* config_parse.c - reading study files: a key's text into the
 * configuration (type, range and words from the key table, config.c), the
 * cross-key rules, defaults, genbo_config_set, the file loader, and the
 * genbo_*_params_set calls that set one library struct by key. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bin.h"
#include "core/core.h"
#include "core/fields.h"
#include "optimizer/methods.h"
#include "studies/config.h"
#include "studies/config_table.h"

/* ---- value parsing ------------------------------------------------------ */

#define word_index genbo__word_index

static int parse_long(const char *v, long *out) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno) return 0;
    *out = x;
    return 1;
}

static int parse_double(const char *v, double *out) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end || errno == ERANGE || !isfinite(x)) return 0;
    *out = x;
    return 1;
}

int genbo__parse_target(const char *text, genbo__target *t, const char **why) {
    memset(t, 0, sizeof *t);
    if (strlen(text) >= sizeof t->label) {
        *why = "is too long for a target";
        return GENBO_EINVAL;
    }
    memcpy(t->label, text, strlen(text) + 1);
    if (!strcmp(text, "max")) {
        t->kind = GENBO__TARGET_MAX;
        return GENBO_OK;
    }
    if (text[0] == 'p' || text[0] == 'P') {
        if (!parse_double(text + 1, &t->value) || t->value < 0 || t->value > 100) {
            *why = "is not a target (pQ needs 0 <= Q <= 100)";
            return GENBO_EINVAL;
        }
        t->kind = GENBO__TARGET_PERCENTILE;
        return GENBO_OK;
    }
    if (!parse_double(text, &t->value)) {
        *why = "is not a target (expected pQ, max or a number)";
        return GENBO_EINVAL;
    }
    t->kind = GENBO__TARGET_ABSOLUTE;
    return GENBO_OK;
}

/* Split a comma-separated list into trimmed items; calls fn per item.
 * Returns the first failure. */
static const char *next_item(const char **p, char *buf, size_t size) {
    const char *s = *p;
    while (*s == ' ' || *s == '\t' || *s == ',') s++;
    if (!*s) return NULL;
    const char *e = strchr(s, ',');
    if (!e) e = s + strlen(s);
    const char *t = e;
    while (t > s && (t[-1] == ' ' || t[-1] == '\t')) t--;
    size_t k = (size_t)(t - s);
    if (k >= size) k = size - 1;
    memcpy(buf, s, k);
    buf[k] = '\0';
    *p = e;
    return buf;
}

int genbo__parse_bounds(const char *text, size_t dim, double *lo, double *hi, size_t *count,
                        const char **why) {
    size_t n = 0;
    char item[128];
    const char *p = text;
    while (next_item(&p, item, sizeof item)) {
        double a = NAN, b = NAN;
        if (strcmp(item, "data")) {
            char *colon = strchr(item, ':');
            if (!colon) {
                *why = "is not LO:HI or data";
                return GENBO_EINVAL;
            }
            *colon = '\0';
            if (!parse_double(item, &a) || !parse_double(colon + 1, &b)) {
                *why = "needs two numbers LO:HI";
                return GENBO_EINVAL;
            }
            if (!(a <= b)) {
                *why = "has LO above HI";
                return GENBO_EINVAL;
            }
        }
        if (dim && n < dim) lo[n] = a, hi[n] = b;
        n++;
    }
    if (n == 0) {
        *why = "lists no bounds";
        return GENBO_EINVAL;
    }
    if (dim && n == 1) /* one range for every feature */
        for (size_t j = 1; j < dim; j++) lo[j] = lo[0], hi[j] = hi[0];
    else if (dim && n != dim) {
        *why = "does not give one range per feature (or one for all)";
        *count = n;
        return GENBO_EINVAL;
    }
    *count = n;
    return GENBO_OK;
}

/* Where a message comes from: "file:line: [section] key" or "[section] key". */
static int key_fail(const genbo_config *c, int line, const key_def *k, int status,
                    const char *fmt, const char *value, const char *why) {
    char where[GENBO__CFG_STR + 64];
    if (c->source[0] && line > 0)
        snprintf(where, sizeof where, "%s:%d: ", c->source, line);
    else if (c->source[0])
        snprintf(where, sizeof where, "%s: ", c->source);
    else
        where[0] = '\0';
    char what[256];
    snprintf(what, sizeof what, fmt, value, why ? why : "");
    return genbo__fail(status, "%s[%s] %s: %s", where, k->section, k->name, what);
}

/* "out of range" with the range as the message says it: integers
 * "(between 1 and 1000000000)", numbers "(must be >= 0)", otherwise the
 * range text of fields.h. */
static int range_fail(const genbo_config *c, int line, const key_def *k, const char *v, int integer,
                      double lo, double hi, unsigned flags) {
    char r[160];
    if (flags & (GENBO__FIELD_MIN_OPEN | GENBO__FIELD_MAX_OPEN | GENBO__FIELD_EVEN)) {
        genbo__field f = {k->name, integer ? GENBO__FIELD_LONG : GENBO__FIELD_DOUBLE, 0, lo, hi, flags, NULL};
        genbo__field_range_text(&f, "|", r, sizeof r);
    } else if (integer) {
        snprintf(r, sizeof r, "between %.0f and %.0f", lo, hi);
    } else if (hi >= BIG) {
        snprintf(r, sizeof r, "must be >= %g", lo);
    } else {
        snprintf(r, sizeof r, "must be between %g and %g", lo, hi);
    }
    return key_fail(c, line, k, GENBO_EINVAL, "%s is out of range (%s)", v, r);
}

/* A number for a key of type `type` (int/long/double/u64/bool/enum) with
 * range lo..hi and flags into *x; words for enum. GENBO_OK or a message. */
static int parse_number(const genbo_config *c, int line, const key_def *k, const char *v,
                        genbo__field_type type, double lo, double hi, unsigned flags,
                        const char *words, double *x) {
    long l;
    switch (type) {
    case GENBO__FIELD_INT:
    case GENBO__FIELD_LONG: {
        int is_auto = (flags & GENBO__FIELD_AUTO) != 0;
        if (is_auto && !strcmp(v, "auto")) {
            *x = 0;
            return GENBO_OK;
        }
        if (!parse_long(v, &l))
            return key_fail(c, line, k, GENBO_EINVAL,
                            is_auto ? "'%s' is not an integer or auto" : "'%s' is not an integer", v, 0);
        genbo__field f = {k->name, type, 0, lo, hi, flags, NULL}; /* with AUTO, 0 means auto too */
        if (!genbo__field_in_range(&f, (double)l) || (type == GENBO__FIELD_INT && (l < INT_MIN || l > INT_MAX)))
            return range_fail(c, line, k, v, 1, lo, hi, flags);
        *x = (double)l;
        return GENBO_OK;
    }
    case GENBO__FIELD_U64: {
        char *end;
        errno = 0;
        unsigned long long u = strtoull(v, &end, 10);
        if (end == v || *end || errno || v[0] == '-')
            return key_fail(c, line, k, GENBO_EINVAL, "'%s' is not a non-negative integer", v, 0);
        *x = (double)u; /* not for seeds: set_value stores those exactly */
        return GENBO_OK;
    }
    case GENBO__FIELD_DOUBLE: {
        if (!parse_double(v, x)) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is not a number", v, 0);
        genbo__field f = {k->name, type, 0, lo, hi, flags, NULL};
        if (!genbo__field_in_range(&f, *x)) return range_fail(c, line, k, v, 0, lo, hi, flags);
        return GENBO_OK;
    }
    case GENBO__FIELD_BOOL: {
        int b = word_index("false|true|no|yes|0|1|off|on", v);
        if (b < 0) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is not true or false", v, 0);
        *x = b % 2;
        return GENBO_OK;
    }
    case GENBO__FIELD_ENUM: {
        int i = word_index(words, v);
        if (i < 0) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is not one of %s", v, words);
        *x = i;
        return GENBO_OK;
    }
    case GENBO__FIELD_FLAGS: {
        unsigned mask = 0;
        char item[64];
        const char *p = v;
        while (next_item(&p, item, sizeof item)) {
            int i = word_index(words, item);
            if (i < 0) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is not one of %s", item, words);
            if (mask & (1u << i)) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is listed twice", item, 0);
            mask |= 1u << i;
        }
        if (!mask && (flags & GENBO__FIELD_NONEMPTY))
            return key_fail(c, line, k, GENBO_EINVAL, "'%s' lists none of %s", v, words);
        *x = mask;
        return GENBO_OK;
    }
    }
    return GENBO_EINVAL;
}

static int set_value(genbo_config *c, int ki, const char *v, int line) {
    const key_def *k = &genbo__config_keys[ki];
    char *field = (char *)c + k->offset;
    double x = 0;
    const char *why = NULL;
    char wbuf[256];
    int rc;
    switch (k->type) {
    case K_LIB: {
        const genbo__field *f = genbo__config_lib_row(k);
        if (f->type == GENBO__FIELD_U64) {
            rc = parse_number(c, line, k, v, f->type, 0, 0, 0, NULL, &x);
            if (rc) return rc;
            *(uint64_t *)field = strtoull(v, NULL, 10);
            break;
        }
        rc = parse_number(c, line, k, v, f->type, f->min, f->max, f->flags, f->words, &x);
        if (rc) return rc;
        genbo__field_store(f, (char *)c + k->base, x);
        break;
    }
    case K_INT:
    case K_LONG:
    case K_DOUBLE:
        rc = parse_number(c, line, k, v,
                          k->type == K_INT    ? GENBO__FIELD_INT
                          : k->type == K_LONG ? GENBO__FIELD_LONG
                                              : GENBO__FIELD_DOUBLE,
                          k->min, k->max, 0, NULL, &x);
        if (rc) return rc;
        if (k->type == K_INT) *(int *)field = (int)x;
        else if (k->type == K_LONG) *(long *)field = (long)x;
        else *(double *)field = x;
        break;
    case K_U64:
        rc = parse_number(c, line, k, v, GENBO__FIELD_U64, 0, 0, 0, NULL, &x);
        if (rc) return rc;
        *(uint64_t *)field = strtoull(v, NULL, 10);
        break;
    case K_ENUM:
    case K_TASK:
        rc = parse_number(c, line, k, v, GENBO__FIELD_ENUM, 0, 0, 0, genbo__config_key_words(k, wbuf, sizeof wbuf), &x);
        if (rc) return rc;
        *(int *)field = (int)x;
        break;
    case K_METHOD:
        rc = parse_number(c, line, k, v, GENBO__FIELD_ENUM, 0, 0, 0, METHOD_WORDS, &x);
        if (rc) return rc;
        snprintf(field, k->size, "%s", v); /* a method name kept as text */
        break;
    case K_LAMBDA: {
        const genbo__field *f = genbo__config_lib_row(k);
        genbo_lambda_select sel = GENBO_LAMBDA_FIXED;
        if (!strcmp(v, "gcv")) sel = GENBO_LAMBDA_GCV;
        else if (!strcmp(v, "kfold")) sel = GENBO_LAMBDA_KFOLD;
        else if (!parse_double(v, &x) || !genbo__field_in_range(f, x)) {
            char r[96];
            genbo__field_range_text(f, "|", r, sizeof r);
            return key_fail(c, line, k, GENBO_EINVAL, "'%s' is not gcv, kfold or a %s", v, r);
        }
        c->reward.lambda_select = sel;
        if (sel == GENBO_LAMBDA_FIXED) c->reward.lambda = x;
        break;
    }
    case K_STR:
        if (strlen(v) >= k->size) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is too long", v, 0);
        memcpy(field, v, strlen(v) + 1);
        break;
    case K_PATH: {
        char full[2 * GENBO__CFG_STR + 2];
        if (v[0] && v[0] != '/' && c->base_dir[0])
            snprintf(full, sizeof full, "%s/%s", c->base_dir, v);
        else
            snprintf(full, sizeof full, "%s", v);
        if (strlen(full) >= k->size) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is too long", v, 0);
        if (full[0] && access(full, R_OK) != 0)
            return key_fail(c, line, k, GENBO_EIO, "file '%s' cannot be read%s", full,
                            errno == ENOENT ? " (no such file)" : "");
        /* Store the absolute path: the stored configuration is reused by
         * `genbo ask` and resumed runs started from other directories. */
        char abs[PATH_MAX];
        if (full[0] && realpath(full, abs)) {
            if (strlen(abs) >= k->size) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is too long", abs, 0);
            memcpy(full, abs, strlen(abs) + 1); /* fits: checked against k->size above */
        }
        memcpy(field, full, strlen(full) + 1);
        break;
    }
    case K_BOUNDS: {
        size_t cnt;
        if (genbo__parse_bounds(v, 0, NULL, NULL, &cnt, &why))
            return key_fail(c, line, k, GENBO_EINVAL, "'%s' %s", v, why);
        if (strlen(v) >= k->size) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is too long", v, 0);
        memcpy(field, v, strlen(v) + 1);
        break;
    }
    case K_TARGET: {
        genbo__target t;
        if (genbo__parse_target(v, &t, &why))
            return key_fail(c, line, k, GENBO_EINVAL, "'%s' %s", v, why);
        c->loop_target = t;
        memcpy(field, v, strlen(v) + 1);
        break;
    }
    case K_TARGETS: {
        genbo__target ts[GENBO__CFG_MAX_TARGETS];
        int n = 0;
        char item[64];
        const char *p = v;
        while (next_item(&p, item, sizeof item)) {
            if (n == GENBO__CFG_MAX_TARGETS)
                return key_fail(c, line, k, GENBO_EINVAL, "'%s' lists more than 16 targets", v, 0);
            if (genbo__parse_target(item, &ts[n], &why))
                return key_fail(c, line, k, GENBO_EINVAL, "'%s' %s", item, why);
            for (int j = 0; j < n; j++)
                if (!strcmp(ts[j].label, ts[n].label))
                    return key_fail(c, line, k, GENBO_EINVAL, "'%s' is listed twice", item, 0);
            n++;
        }
        if (n == 0) return key_fail(c, line, k, GENBO_EINVAL, "'%s' lists no target", v, 0);
        if (strlen(v) >= k->size) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is too long", v, 0);
        memcpy(c->targets, ts, sizeof ts[0] * (size_t)n);
        c->n_targets = n;
        memcpy(field, v, strlen(v) + 1);
        break;
    }
    case K_METHODS: {
        char ms[GENBO__CFG_MAX_METHODS][32];
        int n = 0;
        char item[64];
        const char *p = v;
        while (next_item(&p, item, sizeof item)) {
            if (word_index(METHOD_WORDS, item) < 0)
                return key_fail(c, line, k, GENBO_EINVAL, "'%s' is not one of %s", item, METHOD_WORDS);
            for (int j = 0; j < n; j++)
                if (!strcmp(ms[j], item))
                    return key_fail(c, line, k, GENBO_EINVAL, "'%s' is listed twice", item, 0);
            if (n == GENBO__CFG_MAX_METHODS) break;
            memcpy(ms[n++], item, strlen(item) + 1); /* a known method name: short */
        }
        if (n == 0) return key_fail(c, line, k, GENBO_EINVAL, "'%s' lists no method", v, 0);
        if (strlen(v) >= k->size) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is too long", v, 0);
        memcpy(c->methods, ms, sizeof ms[0] * (size_t)n);
        c->n_methods = n;
        memcpy(field, v, strlen(v) + 1);
        break;
    }
    }
    c->line[ki] = line;
    return GENBO_OK;
}

static int known_section(const char *section) {
    for (int i = 0; i < genbo__config_n_keys; i++)
        if (!strcmp(genbo__config_keys[i].section, section)) return 1;
    return 0;
}

static int config_set_at(genbo_config *c, const char *section, const char *name,
                         const char *value, int line) {
    char where[GENBO__CFG_STR + 32] = "";
    if (c->source[0] && line > 0) snprintf(where, sizeof where, "%s:%d: ", c->source, line);
    if (!known_section(section)) {
        char known[256] = "";
        size_t len = 0;
        for (int i = 0; i < genbo__config_n_keys && len < sizeof known; i++)
            if (i == 0 || strcmp(genbo__config_keys[i].section, genbo__config_keys[i - 1].section))
                len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "",
                                        genbo__config_keys[i].section);
        return genbo__fail(GENBO_EINVAL, "%sunknown section [%s] (known: %s)", where, section, known);
    }
    int ki = genbo__config_find_key(section, name);
    if (ki < 0) return genbo__fail(GENBO_EINVAL, "%s[%s] %s: unknown key", where, section, name);
    return set_value(c, ki, value, line);
}

/* Cross-key rules, checked once the whole file is read; the message names
 * the line of the key that breaks the rule. */
static int validate(genbo_config *c) {
#define RULE(cond, key_section, key_name, ...)                                          \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            int ki_ = genbo__config_find_key(key_section, key_name);                                 \
            char msg_[256];                                                            \
            snprintf(msg_, sizeof msg_, __VA_ARGS__);                                  \
            return key_fail(c, c->line[ki_], &genbo__config_keys[ki_], GENBO_EINVAL, "%s%s", msg_, ""); \
        }                                                                              \
    } while (0)
    int subspace = c->task == GENBO_TASK_SUBSPACE_LINEAR || c->task == GENBO_TASK_SUBSPACE_QUADRATIC ||
                   c->task == GENBO_TASK_CURVED_MANIFOLD;
    const genbo_task_params *tp = &c->task_params;
    RULE(!subspace || tp->d <= tp->D, "data", "d", "d = %d must not exceed D = %d", tp->d, tp->D);
    RULE(c->task != GENBO_TASK_CURVED_MANIFOLD || tp->manifold_dim < tp->d, "data", "manifold_dim",
         "manifold_dim = %d must be smaller than d = %d", tp->manifold_dim, tp->d);
    RULE(c->task != GENBO_TASK_GP_SEQUENCE || (long)tp->seq_len * tp->seq_dim <= (1L << 20), "data",
         "seq_dim", "seq_len x seq_dim = %ld must not exceed 2^20", (long)tp->seq_len * tp->seq_dim);
    RULE(c->task != GENBO__CFG_TASK_CSV || c->labelled[0], "data", "labelled",
         "task = csv needs a labelled file");
    RULE(c->task == GENBO__CFG_TASK_CSV || (!c->labelled[0] && !c->pool[0]), "data", "labelled",
         "labelled/pool files need task = csv");
    RULE(c->diffusion.t0 < c->diffusion.T, "diffusion", "T", "T = %g must be larger than t0 = %g",
         c->diffusion.T, c->diffusion.t0);
    RULE(!(c->evaluator == GENBO__CFG_EVAL_ORACLE && c->task == GENBO__CFG_TASK_CSV), "evaluate", "evaluator",
         "oracle needs a synthetic task (task = csv has no true reward)");
    RULE(c->evaluator != GENBO__CFG_EVAL_COMMAND || c->command[0], "evaluate", "command",
         "evaluator = command needs a command");
#undef RULE
    return GENBO_OK;
}

int genbo_config_default(genbo_config **out) {
    if (!out) return genbo__fail(GENBO_EINVAL, "genbo_config_default: NULL out");
    *out = NULL;
    genbo_config *c = genbo__calloc(1, sizeof *c);
    if (!c) return GENBO_ENOMEM;
    /* The library's defaults, from its owners' own functions ... */
    genbo_task_params_default(&c->task_params);
    genbo_reward_params_default(&c->reward);
    genbo_diffusion_params_default(&c->diffusion);
    genbo__generate_sample_default(&c->sample);
    genbo__select_settings_default(&c->select);
    /* ... and the study-level ones from the table. */
    for (int i = 0; i < genbo__config_n_keys; i++) {
        if (genbo__config_keys[i].type == K_LIB || genbo__config_keys[i].type == K_LAMBDA) continue;
        const char *dflt = genbo__config_keys[i].type == K_METHODS ? genbo__method_default_list() : genbo__config_keys[i].dflt;
        int rc = set_value(c, i, dflt, 0);
        if (rc) { /* a broken default is a bug in the table above */
            free(c);
            return genbo__fail_prefix(rc, "default configuration");
        }
    }
    *out = c;
    return GENBO_OK;
}

int genbo_config_set(genbo_config *cfg, const char *section, const char *key, const char *value) {
    if (!cfg || !section || !key || !value) return genbo__fail(GENBO_EINVAL, "genbo_config_set: NULL argument");
    genbo_config saved = *cfg;
    int rc = config_set_at(cfg, section, key, value, 0);
    if (!rc) rc = validate(cfg);
    if (rc) *cfg = saved; /* a rejected value leaves the configuration as it was */
    return rc;
}

/* ---- loading a file ------------------------------------------------------ */

typedef struct parse_state {
    genbo_config *c;
    int rc;
} parse_state;

static int ini_handler_fn(void *user, int line, const char *section, const char *name,
                          const char *value) {
    parse_state *st = user;
    st->rc = config_set_at(st->c, section, name, value, line);
    return st->rc == GENBO_OK;
}

/* text: len bytes plus a terminating NUL, modified in place. */
static int parse(char *text, size_t len, const char *source, const char *base_dir,
                 genbo_config **out) {
    genbo_config *c;
    int rc = genbo_config_default(&c);
    if (rc) return rc;
    snprintf(c->source, sizeof c->source, "%s", source);
    snprintf(c->base_dir, sizeof c->base_dir, "%s", base_dir);
    parse_state st = {c, GENBO_OK};
    int e = genbo__ini_parse(text, len, ini_handler_fn, &st);
    if (st.rc) rc = st.rc;
    else if (e > 0) rc = genbo__fail(GENBO_EFORMAT, "%s:%d: not a section header or key = value line", source, e);
    else if (e < 0) rc = genbo__fail(GENBO_EFORMAT, "%s:%d: a NUL byte (not a text file)", source, -e);
    else rc = validate(c);
    if (rc) {
        free(c);
        return rc;
    }
    *out = c;
    return GENBO_OK;
}

/* Study files larger than this are refused (they are a few KB). */
#define STUDY_FILE_MAX ((size_t)16 << 20)

int genbo_config_load(const char *path, genbo_config **out) {
    if (!out) return genbo__fail(GENBO_EINVAL, "genbo_config_load: NULL out");
    *out = NULL;
    if (!path) return genbo__fail(GENBO_EINVAL, "genbo_config_load: NULL path");
    void *buf;
    size_t len;
    int rc = genbo__file_read(path, "study file", STUDY_FILE_MAX, &buf, &len);
    if (rc) return rc;
    char *text = buf;
    char base[GENBO__CFG_STR] = "";
    const char *slash = strrchr(path, '/');
    if (slash) {
        size_t k = (size_t)(slash - path);
        if (k == 0) k = 1; /* "/x.ini" */
        if (k >= sizeof base) k = sizeof base - 1;
        memcpy(base, path, k);
        base[k] = '\0';
    }
    rc = parse(text, len, path, base, out);
    free(text);
    return rc;
}

int genbo__config_parse_text(const char *text, const char *source, genbo_config **out) {
    if (!out) return genbo__fail(GENBO_EINVAL, "genbo__config_parse_text: NULL out");
    *out = NULL;
    if (!text) return genbo__fail(GENBO_EINVAL, "genbo__config_parse_text: NULL text");
    size_t len = strlen(text);
    char *copy = genbo__malloc(len + 1);
    if (!copy) return GENBO_ENOMEM;
    memcpy(copy, text, len + 1);
    int rc = parse(copy, len, source ? source : "", "", out);
    free(copy);
    return rc;
}

void genbo_config_free(genbo_config *cfg) { free(cfg); }

/* ---- one library struct set key by key (genbo fit, the Python module) ---- */

/* Key `key` of `section` bound to table t, parsed as the study file parses
 * it into a scratch configuration whose member at `base` is *p. */
static int struct_set(const char *what, const genbo__fields *t, const char *section, size_t base,
                      size_t size, void *p, const char *key, const char *value) {
    if (!p || !key || !value) return genbo__fail(GENBO_EINVAL, "%s: NULL argument", what);
    int ki = genbo__config_find_key(section, key);
    if (ki < 0 || genbo__config_keys[ki].lib != t) {
        char known[512] = "";
        size_t len = 0;
        for (int i = 0; i < genbo__config_n_keys && len < sizeof known; i++)
            if (genbo__config_keys[i].lib == t && !strcmp(genbo__config_keys[i].section, section))
                len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", len ? ", " : "", genbo__config_keys[i].name);
        return genbo__fail(GENBO_ENOTFOUND, "%s: unknown key '%s' (known: %s)", what, key, known);
    }
    genbo_config *c = genbo__calloc(1, sizeof *c);
    if (!c) return GENBO_ENOMEM;
    memcpy((char *)c + base, p, size);
    int rc = set_value(c, ki, value, 0);
    if (!rc) memcpy(p, (char *)c + base, size);
    free(c);
    return rc;
}

int genbo_reward_params_set(genbo_reward_params *p, const char *key, const char *value) {
    return struct_set("genbo_reward_params_set", &genbo__reward_fields, "reward",
                      offsetof(struct genbo_config, reward), sizeof *p, p, key, value);
}

int genbo_diffusion_params_set(genbo_diffusion_params *p, const char *key, const char *value) {
    return struct_set("genbo_diffusion_params_set", &genbo__diffusion_fields, "diffusion",
                      offsetof(struct genbo_config, diffusion), sizeof *p, p, key, value);
}

int genbo_sample_params_set(genbo_sample_params *p, const char *key, const char *value) {
    return struct_set("genbo_sample_params_set", &genbo__sample_fields, "generate",
                      offsetof(struct genbo_config, sample), sizeof *p, p, key, value);
}
