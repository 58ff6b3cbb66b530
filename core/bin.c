/* bin.c - the framed little-endian binary format and the file loader
 * (bin.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bin.h"
#include "core/core.h"

/* Arrays are copied as they are on a little-endian host; elsewhere each
 * number goes through the explicit byte order of the scalar functions. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_LE 1
#else
#define HOST_LE 0
#endif

/* ---- writer --------------------------------------------------------------- */

static void put_bytes(genbo__bin_writer *w, const void *src, size_t k) {
    if (w->len + k > w->cap) { /* a size-formula bug: end() reports it */
        w->len = w->cap + 1;
        return;
    }
    memcpy(w->p + w->len, src, k);
    w->len += k;
}

int genbo__bin_begin(genbo__bin_writer *w, const char magic[4], uint32_t version, size_t payload) {
    w->cap = GENBO__BIN_FRAME + payload;
    w->len = 0;
    w->p = genbo__malloc(w->cap);
    if (!w->p) return GENBO_ENOMEM;
    put_bytes(w, magic, 4);
    genbo__bin_put_u32(w, version);
    return GENBO_OK;
}

void genbo__bin_put_u32(genbo__bin_writer *w, uint32_t v) {
    unsigned char b[4];
    for (int i = 0; i < 4; i++) b[i] = (unsigned char)(v >> (8 * i));
    put_bytes(w, b, 4);
}

void genbo__bin_put_u64(genbo__bin_writer *w, uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    put_bytes(w, b, 8);
}

void genbo__bin_put_f64(genbo__bin_writer *w, double x) {
    uint64_t v;
    memcpy(&v, &x, 8);
    genbo__bin_put_u64(w, v);
}

void genbo__bin_put_f32s(genbo__bin_writer *w, const float *x, size_t n) {
#if HOST_LE
    put_bytes(w, x, 4 * n);
#else
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, x + i, 4);
        genbo__bin_put_u32(w, v);
    }
#endif
}

void genbo__bin_put_f64s(genbo__bin_writer *w, const double *x, size_t n) {
#if HOST_LE
    put_bytes(w, x, 8 * n);
#else
    for (size_t i = 0; i < n; i++) genbo__bin_put_f64(w, x[i]);
#endif
}

int genbo__bin_end(genbo__bin_writer *w, void **buf, size_t *len) {
    if (w->len + 4 != w->cap) {
        free(w->p);
        w->p = NULL;
        return genbo__fail(GENBO_EINVAL, "binary format: wrote %zu bytes of %zu", w->len, w->cap - 4);
    }
    genbo__bin_put_u32(w, genbo__crc32(0, w->p, w->len));
    *buf = w->p;
    *len = w->len;
    w->p = NULL;
    return GENBO_OK;
}

/* ---- reader --------------------------------------------------------------- */

static const unsigned char *take(genbo__bin_reader *r, size_t k) {
    if (r->overrun || r->len - r->pos < k) {
        r->overrun = 1;
        return NULL;
    }
    const unsigned char *q = r->p + r->pos;
    r->pos += k;
    return q;
}

static uint32_t le32(const unsigned char *q) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)q[i] << (8 * i);
    return v;
}

int genbo__bin_open(const void *buf, size_t len, const char magic[4], uint32_t vmin, uint32_t vmax,
                    const char *what, uint32_t *version, genbo__bin_reader *r) {
    const unsigned char *p = buf;
    if (len < 8 || memcmp(p, magic, 4) != 0)
        return genbo__fail(GENBO_EFORMAT, "not a genbo %s (no \"%.4s\" magic)", what, magic);
    *version = le32(p + 4);
    if (*version < vmin || *version > vmax) {
        if (vmin == vmax)
            return genbo__fail(GENBO_EVERSION, "%s format version %u, this genbo reads version %u", what,
                               *version, vmin);
        return genbo__fail(GENBO_EVERSION, "%s format version %u, this genbo reads versions %u-%u", what,
                           *version, vmin, vmax);
    }
    r->p = p;
    r->len = len;
    r->pos = 8;
    r->overrun = 0;
    return GENBO_OK;
}

int genbo__bin_crc_ok(const void *buf, size_t len) {
    return len >= 4 && genbo__crc32(0, buf, len - 4) == le32((const unsigned char *)buf + len - 4);
}

uint32_t genbo__bin_get_u32(genbo__bin_reader *r) {
    const unsigned char *q = take(r, 4);
    return q ? le32(q) : 0;
}

uint64_t genbo__bin_get_u64(genbo__bin_reader *r) {
    const unsigned char *q = take(r, 8);
    uint64_t v = 0;
    for (int i = 0; q && i < 8; i++) v |= (uint64_t)q[i] << (8 * i);
    return v;
}

double genbo__bin_get_f64(genbo__bin_reader *r) {
    uint64_t v = genbo__bin_get_u64(r);
    double x;
    memcpy(&x, &v, 8);
    return x;
}

void genbo__bin_get_f32s(genbo__bin_reader *r, float *x, size_t n) {
    const unsigned char *q = n <= (r->len - r->pos) / 4 ? take(r, 4 * n) : NULL;
    if (!q) {
        r->overrun = 1;
        memset(x, 0, n * sizeof *x);
        return;
    }
#if HOST_LE
    memcpy(x, q, 4 * n);
#else
    for (size_t i = 0; i < n; i++) {
        uint32_t v = le32(q + 4 * i);
        memcpy(x + i, &v, 4);
    }
#endif
}

void genbo__bin_get_f64s(genbo__bin_reader *r, double *x, size_t n) {
#if HOST_LE
    const unsigned char *q = n <= (r->len - r->pos) / 8 ? take(r, 8 * n) : NULL;
    if (!q) {
        r->overrun = 1;
        memset(x, 0, n * sizeof *x);
        return;
    }
    memcpy(x, q, 8 * n);
#else
    for (size_t i = 0; i < n; i++) x[i] = genbo__bin_get_f64(r);
#endif
}

uint32_t genbo__bin_crc_f32s(uint32_t crc, const float *x, size_t n) {
#if HOST_LE
    return genbo__crc32(crc, x, n * sizeof *x);
#else
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        unsigned char b[4];
        memcpy(&v, x + i, 4);
        for (int k = 0; k < 4; k++) b[k] = (unsigned char)(v >> (8 * k));
        crc = genbo__crc32(crc, b, 4);
    }
    return crc;
#endif
}

/* ---- files ---------------------------------------------------------------- */

int genbo__file_read(const char *path, const char *what, size_t max, void **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return genbo__fail(GENBO_EIO, "%s: cannot open %s: %s", path, what, strerror(errno));
    size_t n = 0, cap = 1 << 16;
    unsigned char *p = genbo__malloc(cap + 1);
    int rc = p ? GENBO_OK : GENBO_ENOMEM;
    while (!rc) {
        if (n == cap) {
            if (max && cap >= max) {
                rc = genbo__fail(GENBO_EFORMAT, "%s: %s larger than %zu bytes", path, what, max);
                break;
            }
            unsigned char *bigger = realloc(p, 2 * cap + 1);
            if (!bigger) {
                rc = genbo__fail(GENBO_ENOMEM, "%s: out of memory reading %s", path, what);
                break;
            }
            p = bigger;
            cap *= 2;
        }
        size_t got = fread(p + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) rc = genbo__fail(GENBO_EIO, "%s: cannot read %s: %s", path, what, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (!rc && max && n > max) rc = genbo__fail(GENBO_EFORMAT, "%s: %s larger than %zu bytes", path, what, max);
    if (rc) {
        free(p);
        return rc;
    }
    p[n] = '\0';
    *buf = p;
    *len = n;
    return GENBO_OK;
}

int genbo__file_write(const char *path, const void *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return genbo__fail(GENBO_EIO, "%s: cannot open for writing: %s", path, strerror(errno));
    size_t wrote = fwrite(buf, 1, len, f);
    int close_rc = fclose(f);
    if (wrote != len || close_rc != 0)
        return genbo__fail(GENBO_EIO, "%s: write failed: %s", path, strerror(errno));
    return GENBO_OK;
}

int genbo__file_save(const char *path, int rc, void *buf, size_t len) {
    if (!rc) rc = genbo__file_write(path, buf, len);
    else rc = genbo__fail_prefix(rc, "%s", path);
    free(buf);
    return rc;
}

int genbo__file_decoded(const char *path, int rc, void *buf) {
    free(buf);
    return rc ? genbo__fail_prefix(rc, "%s", path) : GENBO_OK;
}
