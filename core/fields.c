/* fields.c - range checks and range text from the parameter-field tables
 * (fields.h): the one place a field's bounds are read. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "core/fields.h"

const genbo__field *genbo__field_named(const genbo__fields *t, const char *name) {
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->rows[i].name, name)) return &t->rows[i];
    return NULL;
}

const genbo__field *genbo__field_at(const genbo__fields *t, size_t offset) {
    for (size_t i = 0; i < t->n; i++)
        if (t->rows[i].offset == offset) return &t->rows[i];
    return NULL;
}

int genbo__word_index(const char *words, const char *w) {
    size_t n = strlen(w);
    int i = 0;
    for (const char *p = words; p && *p; i++) {
        const char *bar = strchr(p, '|');
        size_t k = bar ? (size_t)(bar - p) : strlen(p);
        if (k == n && !strncmp(p, w, n)) return i;
        if (!bar) break;
        p = bar + 1;
    }
    return -1;
}

int genbo__word_at(const char *words, int i, char *buf, size_t size) {
    const char *p = words;
    for (int j = 0; j < i && p; j++) {
        p = strchr(p, '|');
        if (p) p++;
    }
    if (!p || i < 0) {
        snprintf(buf, size, "?");
        return 0;
    }
    size_t k = strcspn(p, "|");
    if (k >= size) k = size - 1;
    memcpy(buf, p, k);
    buf[k] = '\0';
    return 1;
}

static int n_words(const char *words) {
    int n = 1;
    for (const char *p = words; *p; p++) n += *p == '|';
    return n;
}

int genbo__field_in_range(const genbo__field *f, double x) {
    if (!isfinite(x)) return 0;
    switch (f->type) {
    case GENBO__FIELD_U64: return 1;
    case GENBO__FIELD_BOOL: return x == 0 || x == 1;
    case GENBO__FIELD_ENUM: return x >= 0 && x < n_words(f->words) && x == floor(x);
    case GENBO__FIELD_FLAGS:
        if (x < 0 || x >= (double)(1u << n_words(f->words))) return 0;
        return !(f->flags & GENBO__FIELD_NONEMPTY) || x > 0;
    default: break;
    }
    if ((f->flags & GENBO__FIELD_AUTO) && x == 0) return 1;
    if (f->flags & GENBO__FIELD_MIN_OPEN ? !(x > f->min) : !(x >= f->min)) return 0;
    if (f->flags & GENBO__FIELD_MAX_OPEN ? !(x < f->max) : !(x <= f->max)) return 0;
    if ((f->flags & GENBO__FIELD_EVEN) && fmod(x, 2.0) != 0) return 0;
    return 1;
}

double genbo__field_value(const genbo__field *f, const void *p) {
    const char *at = (const char *)p + f->offset;
    switch (f->type) {
    case GENBO__FIELD_LONG: return (double)*(const long *)at;
    case GENBO__FIELD_DOUBLE: return *(const double *)at;
    case GENBO__FIELD_FLAGS: return (double)*(const unsigned *)at;
    case GENBO__FIELD_U64: return (double)*(const uint64_t *)at;
    default: return (double)*(const int *)at; /* INT, BOOL, ENUM (int-sized enums) */
    }
}

void genbo__field_store(const genbo__field *f, void *p, double x) {
    char *at = (char *)p + f->offset;
    switch (f->type) {
    case GENBO__FIELD_LONG: *(long *)at = (long)x; break;
    case GENBO__FIELD_DOUBLE: *(double *)at = x; break;
    case GENBO__FIELD_FLAGS: *(unsigned *)at = (unsigned)x; break;
    case GENBO__FIELD_U64: *(uint64_t *)at = (uint64_t)x; break;
    default: *(int *)at = (int)x; break;
    }
}

/* Words with `bar` between them. */
static void words_text(const char *words, const char *bar, char *buf, size_t size) {
    size_t j = 0, nb = strlen(bar);
    for (const char *p = words; *p && j + nb + 1 < size; p++) {
        if (*p == '|') {
            memcpy(buf + j, bar, nb);
            j += nb;
        } else {
            buf[j++] = *p;
        }
    }
    buf[j] = '\0';
}

void genbo__field_range_text(const genbo__field *f, const char *bar, char *buf, size_t size) {
    char ws[256];
    switch (f->type) {
    case GENBO__FIELD_U64: snprintf(buf, size, "integer >= 0"); return;
    case GENBO__FIELD_BOOL: snprintf(buf, size, "true/false"); return;
    case GENBO__FIELD_ENUM: words_text(f->words, bar, buf, size); return;
    case GENBO__FIELD_FLAGS:
        words_text(f->words, bar, ws, sizeof ws);
        snprintf(buf, size, "list of %s", ws);
        return;
    default: break;
    }
    int integer = f->type != GENBO__FIELD_DOUBLE;
    const char *kind = integer ? "integer" : "number";
    char lo[32], hi[32], pre[48] = "";
    snprintf(lo, sizeof lo, integer ? "%.0f" : "%g", f->min);
    snprintf(hi, sizeof hi, integer ? "%.0f" : "%g", f->max);
    if (f->flags & GENBO__FIELD_AUTO) snprintf(pre, sizeof pre, "auto%s", bar);
    if (f->flags & GENBO__FIELD_EVEN) kind = "even integer";
    int min_open = (f->flags & GENBO__FIELD_MIN_OPEN) != 0, max_open = (f->flags & GENBO__FIELD_MAX_OPEN) != 0;
    if (f->max >= GENBO__FIELD_NOMAX)
        snprintf(buf, size, "%s%s %s %s", pre, kind, min_open ? ">" : ">=", lo);
    else if (min_open && max_open)
        snprintf(buf, size, "%s%s %s..%s (both excluded)", pre, kind, lo, hi);
    else if (min_open || max_open)
        snprintf(buf, size, "%s%s %s..%s (%s excluded)", pre, kind, lo, hi, min_open ? lo : hi);
    else
        snprintf(buf, size, "%s%s %s..%s", pre, kind, lo, hi);
}

int genbo__field_check(const genbo__fields *t, const genbo__field *f, const void *p) {
    double x = genbo__field_value(f, p);
    if (genbo__field_in_range(f, x)) return GENBO_OK;
    char range[320];
    genbo__field_range_text(f, "|", range, sizeof range);
    if (f->type == GENBO__FIELD_ENUM)
        return genbo__fail(GENBO_EINVAL, "%s: unknown %s %.0f (%s)", t->what, f->name, x, range);
    return genbo__fail(GENBO_EINVAL, f->type == GENBO__FIELD_DOUBLE ? "%s: %s = %g is out of range (%s)"
                                                                    : "%s: %s = %.0f is out of range (%s)",
                       t->what, f->name, x, range);
}

int genbo__field_check_named(const genbo__fields *t, const char *name, const void *p) {
    const genbo__field *f = genbo__field_named(t, name);
    if (!f) return genbo__fail(GENBO_EINVAL, "%s: no field %s (a bug)", t->what, name);
    return genbo__field_check(t, f, p);
}
