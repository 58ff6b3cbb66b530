/* config_get.c - typed reads of a resolved configuration for programs (the
 * CLI, the dashboard, the Python module): a number, or the items of a list
 * key. Built only on genbo_config_get, so the key table in config.c stays
 * the one place that knows how each key is stored and written. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "genbo.h"

/* Long enough for every value genbo_config_to_ini writes (paths, lists). */
#define VALUE_MAX 2048

int genbo_config_get_double(const genbo_config *cfg, const char *section, const char *key,
                            double *out) {
    if (!out) return genbo__fail(GENBO_EINVAL, "genbo_config_get_double: NULL out");
    char buf[VALUE_MAX];
    int rc = genbo_config_get(cfg, section, key, buf, sizeof buf);
    if (rc) return rc;
    char *end = NULL;
    errno = 0;
    double v = strtod(buf, &end);
    if (end == buf || *end || errno == ERANGE || !isfinite(v))
        return genbo__fail(GENBO_EINVAL, "[%s] %s = '%s' is not a number", section, key, buf);
    *out = v;
    return GENBO_OK;
}

/* Item `want` of a comma-separated value into buf, split as the parser
 * splits list keys (config.c next_item: items trimmed of spaces and tabs,
 * empty items skipped); returns the number of items. */
static size_t list_item(const char *text, size_t want, char *buf, size_t size) {
    size_t count = 0;
    for (const char *s = text;;) {
        while (*s == ' ' || *s == '\t' || *s == ',') s++;
        if (!*s) break;
        const char *e = strchr(s, ',');
        if (!e) e = s + strlen(s);
        const char *t = e;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t')) t--;
        if (count == want && buf) snprintf(buf, size, "%.*s", (int)(t - s), s);
        count++;
        s = e;
    }
    return count;
}

int genbo_config_list_size(const genbo_config *cfg, const char *section, const char *key,
                           size_t *n) {
    if (!n) return genbo__fail(GENBO_EINVAL, "genbo_config_list_size: NULL out");
    char buf[VALUE_MAX];
    int rc = genbo_config_get(cfg, section, key, buf, sizeof buf);
    if (rc) return rc;
    *n = list_item(buf, (size_t)-1, NULL, 0);
    return GENBO_OK;
}

int genbo_config_list_item(const genbo_config *cfg, const char *section, const char *key,
                           size_t i, char *buf, size_t size) {
    if (!buf || size == 0) return genbo__fail(GENBO_EINVAL, "genbo_config_list_item: NULL buffer");
    char text[VALUE_MAX];
    int rc = genbo_config_get(cfg, section, key, text, sizeof text);
    if (rc) return rc;
    size_t n = list_item(text, i, buf, size);
    if (i >= n) return genbo__fail(GENBO_ENOTFOUND, "[%s] %s: no item %zu (it has %zu)", section, key, i, n);
    return GENBO_OK;
}
