/* error.c - thread-local last-error message and status names. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define GENBO_ERRMSG_MAX 1024

static _Thread_local char errbuf[GENBO_ERRMSG_MAX];

const char *genbo_errmsg(void) { return errbuf; }

void genbo__clear_error(void) { errbuf[0] = '\0'; }

int genbo__fail(int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, sizeof errbuf, fmt, ap);
    va_end(ap);
    return status;
}

int genbo__fail_prefix(int status, const char *fmt, ...) {
    char old[GENBO_ERRMSG_MAX];
    memcpy(old, errbuf, sizeof old);
    char prefix[GENBO_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* prefix + ": " + old, cut to the buffer */
    size_t k = strlen(prefix);
    if (k > sizeof errbuf - 3) k = sizeof errbuf - 3;
    memcpy(errbuf, prefix, k);
    memcpy(errbuf + k, ": ", 2);
    size_t room = sizeof errbuf - k - 3, m = strlen(old);
    if (m > room) m = room;
    memcpy(errbuf + k + 2, old, m);
    errbuf[k + 2 + m] = '\0';
    return status;
}

const char *genbo_strstatus(int status) {
    switch (status) {
    case GENBO_OK: return "GENBO_OK";
    case GENBO_EINVAL: return "GENBO_EINVAL";
    case GENBO_EIO: return "GENBO_EIO";
    case GENBO_ENOMEM: return "GENBO_ENOMEM";
    case GENBO_EFORMAT: return "GENBO_EFORMAT";
    case GENBO_ENUMERIC: return "GENBO_ENUMERIC";
    case GENBO_ENOTFOUND: return "GENBO_ENOTFOUND";
    case GENBO_ESTATE: return "GENBO_ESTATE";
    case GENBO_EDB: return "GENBO_EDB";
    case GENBO_EVERSION: return "GENBO_EVERSION";
    case GENBO_ETIMEOUT: return "GENBO_ETIMEOUT";
    case GENBO_EEXTERNAL: return "GENBO_EEXTERNAL";
    default: return "GENBO_UNKNOWN";
    }
}

const char *genbo_version(void) { return GENBO_VERSION_STRING; }

void *genbo__malloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (!p) genbo__fail(GENBO_ENOMEM, "out of memory allocating %zu bytes", size);
    return p;
}

void *genbo__calloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) genbo__fail(GENBO_ENOMEM, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

int genbo__mul_ok(size_t a, size_t b, size_t *out) {
    if (a && b > (size_t)-1 / a) return 0;
    *out = a * b;
    return 1;
}

int genbo__grow(void *array, size_t *cap, size_t need, size_t elem, const char *what) {
    if (need <= *cap) return GENBO_OK;
    size_t nc = *cap ? *cap : 16, bytes;
    while (nc < need) {
        if (nc > (size_t)-1 / 2) return genbo__fail(GENBO_ENOMEM, "out of memory for %s: %zu elements", what, need);
        nc *= 2;
    }
    if (!genbo__mul_ok(nc, elem, &bytes))
        return genbo__fail(GENBO_ENOMEM, "out of memory for %s: %zu elements", what, need);
    void *p;
    memcpy(&p, array, sizeof p); /* array is a T **: its pointer, whatever T */
    void *q = realloc(p, bytes);
    if (!q) return genbo__fail(GENBO_ENOMEM, "out of memory for %s", what);
    memcpy(array, &q, sizeof q);
    *cap = nc;
    return GENBO_OK;
}
