/* config_text.c - writing a configuration: each key's value as the study
 * file writes it (genbo_config_get), the resolved INI text
 * (genbo_config_to_ini, stored with every study and run) and the README's
 * key table (genbo__config_doc_table, which tests/test_docs.c compares). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/fields.h"
#include "studies/config.h"
#include "studies/config_table.h"

/* Shortest text that reads back as the same double. */
static void fmt_double(char *buf, size_t size, double x) {
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) return;
    }
}

/* A library field's value as the study file writes it. */
static void field_text(const genbo__field *f, const void *base, char *buf, size_t size) {
    double x = genbo__field_value(f, base);
    switch (f->type) {
    case GENBO__FIELD_INT:
    case GENBO__FIELD_LONG:
        if ((f->flags & GENBO__FIELD_AUTO) && x == 0) snprintf(buf, size, "auto");
        else snprintf(buf, size, "%.0f", x);
        break;
    case GENBO__FIELD_DOUBLE: fmt_double(buf, size, x); break;
    case GENBO__FIELD_BOOL: snprintf(buf, size, "%s", x != 0 ? "true" : "false"); break;
    case GENBO__FIELD_ENUM: genbo__word_at(f->words, (int)x, buf, size); break;
    case GENBO__FIELD_FLAGS: { /* the words of the set bits, in bit order */
        size_t len = 0;
        buf[0] = '\0';
        char w[64];
        for (int i = 0; i < 31 && len < size; i++)
            if (((unsigned)x >> i) & 1u) {
                genbo__word_at(f->words, i, w, sizeof w);
                len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "", w);
            }
        break;
    }
    case GENBO__FIELD_U64:
        snprintf(buf, size, "%llu",
                 (unsigned long long)*(const uint64_t *)((const char *)base + f->offset));
        break;
    }
}

static void value_text(const genbo_config *c, const key_def *k, char *buf, size_t size) {
    const char *field = (const char *)c + k->offset;
    char wbuf[256];
    switch (k->type) {
    case K_LIB: field_text(genbo__config_lib_row(k), (const char *)c + k->base, buf, size); break;
    case K_LAMBDA:
        if (c->reward.lambda_select == GENBO_LAMBDA_GCV) snprintf(buf, size, "gcv");
        else if (c->reward.lambda_select == GENBO_LAMBDA_KFOLD) snprintf(buf, size, "kfold");
        else fmt_double(buf, size, c->reward.lambda);
        break;
    case K_INT: snprintf(buf, size, "%d", *(const int *)field); break;
    case K_LONG: snprintf(buf, size, "%ld", *(const long *)field); break;
    case K_U64: snprintf(buf, size, "%llu", (unsigned long long)*(const uint64_t *)field); break;
    case K_DOUBLE: fmt_double(buf, size, *(const double *)field); break;
    case K_ENUM:
    case K_TASK: genbo__word_at(genbo__config_key_words(k, wbuf, sizeof wbuf), *(const int *)field, buf, size); break;
    default: snprintf(buf, size, "%s", field); break;
    }
}

int genbo_config_get(const genbo_config *cfg, const char *section, const char *key, char *buf,
                     size_t size) {
    if (!cfg || !section || !key || !buf || size == 0)
        return genbo__fail(GENBO_EINVAL, "genbo_config_get: NULL argument");
    int ki = genbo__config_find_key(section, key);
    if (ki < 0) return genbo__fail(GENBO_ENOTFOUND, "[%s] %s: unknown key", section, key);
    value_text(cfg, &genbo__config_keys[ki], buf, size);
    return GENBO_OK;
}

char *genbo_config_to_ini(const genbo_config *cfg) {
    if (!cfg) return NULL;
    size_t cap = 8192, len = 0;
    char *out = genbo__malloc(cap);
    if (!out) return NULL;
    const char *section = "";
    for (int i = 0; i < genbo__config_n_keys; i++) {
        char val[2 * GENBO__CFG_STR];
        value_text(cfg, &genbo__config_keys[i], val, sizeof val);
        char line[3 * GENBO__CFG_STR];
        int k = 0;
        if (strcmp(section, genbo__config_keys[i].section)) {
            section = genbo__config_keys[i].section;
            k = snprintf(line, sizeof line, "%s[%s]\n", i ? "\n" : "", section);
        }
        k += snprintf(line + k, sizeof line - (size_t)k, "%s = %s\n", genbo__config_keys[i].name, val);
        if (len + (size_t)k + 1 > cap) {
            cap = 2 * (len + (size_t)k + 1);
            char *grown = realloc(out, cap);
            if (!grown) {
                free(out);
                genbo__fail(GENBO_ENOMEM, "out of memory writing the configuration");
                return NULL;
            }
            out = grown;
        }
        memcpy(out + len, line, (size_t)k + 1);
        len += (size_t)k;
    }
    return out;
}

/* The README's "values" column of a key (bars escaped for Markdown). */
static void values_text(const key_def *k, char *values, size_t size) {
    static const char *const bar = " \\| ";
    const genbo__field *f = genbo__config_lib_row(k);
    char ws[256], r[160];
    switch (k->type) {
    case K_LIB: genbo__field_range_text(f, bar, values, size); break;
    case K_LAMBDA:
        genbo__field_range_text(f, bar, r, sizeof r);
        snprintf(values, size, "gcv%skfold%s%s", bar, bar, r);
        break;
    case K_INT: case K_LONG: snprintf(values, size, "integer %.0f..%.0f", k->min, k->max); break;
    case K_U64: snprintf(values, size, "integer >= 0"); break;
    case K_DOUBLE:
        if (k->max >= BIG) snprintf(values, size, "number >= %g", k->min);
        else snprintf(values, size, "number %g..%g", k->min, k->max);
        break;
    case K_ENUM: case K_TASK: case K_METHOD: {
        genbo__field e = {k->name, GENBO__FIELD_ENUM, 0, 0, 0, 0, genbo__config_key_words(k, ws, sizeof ws)};
        genbo__field_range_text(&e, bar, values, size);
        break;
    }
    case K_STR: snprintf(values, size, "text"); break;
    case K_PATH: snprintf(values, size, "file path"); break;
    case K_TARGETS: snprintf(values, size, "list of pQ%smax%snumber", bar, bar); break;
    case K_TARGET: snprintf(values, size, "pQ%smax%snumber", bar, bar); break;
    case K_METHODS: snprintf(values, size, "list of methods"); break;
    case K_BOUNDS: snprintf(values, size, "data%sLO:HI%slist of LO:HI or data", bar, bar); break;
    }
}

char *genbo__config_doc_table(void) {
    genbo_config *dflt;
    if (genbo_config_default(&dflt)) return NULL;
    size_t cap = 32768, len = 0;
    char *out = genbo__malloc(cap);
    if (!out) {
        genbo_config_free(dflt);
        return NULL;
    }
    len += (size_t)snprintf(out, cap, "| section | key | default | values | meaning |\n|---|---|---|---|---|\n");
    for (int i = 0; i < genbo__config_n_keys && len < cap; i++) {
        const key_def *k = &genbo__config_keys[i];
        char values[320], d[2 * GENBO__CFG_STR];
        values_text(k, values, sizeof values);
        value_text(dflt, k, d, sizeof d); /* the default is what a default configuration holds */
        len += (size_t)snprintf(out + len, cap - len, "| [%s] | `%s` | `%s` | %s | %s |\n", k->section,
                                k->name, d, values, k->doc);
    }
    genbo_config_free(dflt);
    return out;
}
