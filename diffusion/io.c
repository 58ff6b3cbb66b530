/* io.c - versioned binary format of a diffusion model.
 *
 * Little-endian, in order:
 *   "GNBD"                       magic (4 bytes)
 *   u32 version                  GD_FORMAT_VERSION
 *   u32 D, width, depth, t_embed, y_embed, schedule, conditional
 *   f64 t0, T, y_mean, y_sd
 *   f64 x_mean[D], x_sd[D]
 *   u64 n_params
 *   f32 params[n_params]         the EMA weights (see net.h for the layout)
 *   u32 crc32                    CRC-32 (IEEE) of every byte before it
 * Only the weights used for sampling are stored; a fine-tune starts from
 * them with a fresh optimiser. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diffusion/diffusion_internal.h"

#define GD_MAGIC "GNBD"
#define GD_FORMAT_VERSION 1u
#define GD_HEADER_BYTES (4 + 4 + 7 * 4 + 4 * 8)

typedef struct wbuf {
    unsigned char *p;
    size_t len;
} wbuf;

static void put(wbuf *b, const void *src, size_t n) {
    memcpy(b->p + b->len, src, n);
    b->len += n;
}
static void put_u32(wbuf *b, uint32_t v) { put(b, &v, 4); }
static void put_f64(wbuf *b, double v) { put(b, &v, 8); }

static int is_little_endian(void) {
    uint16_t one = 1;
    return *(unsigned char *)&one == 1;
}

int genbo_diffusion_save_buffer(const genbo_diffusion *m, void **buf, size_t *len) {
    if (!m || !buf || !len) return genbo__fail(GENBO_EINVAL, "diffusion_save: NULL argument");
    if (!is_little_endian())
        return genbo__fail(GENBO_EINVAL, "diffusion_save: big-endian hosts are not supported");
    size_t D = (size_t)m->cfg.D;
    size_t total = GD_HEADER_BYTES + 16 * D + 8 + 4 * m->n_params + 4;
    wbuf b = {genbo__malloc(total), 0};
    if (!b.p) return GENBO_ENOMEM;
    put(&b, GD_MAGIC, 4);
    put_u32(&b, GD_FORMAT_VERSION);
    put_u32(&b, (uint32_t)m->cfg.D);
    put_u32(&b, (uint32_t)m->cfg.width);
    put_u32(&b, (uint32_t)m->cfg.depth);
    put_u32(&b, (uint32_t)m->cfg.t_embed);
    put_u32(&b, (uint32_t)m->cfg.y_embed);
    put_u32(&b, (uint32_t)m->schedule);
    put_u32(&b, (uint32_t)m->conditional);
    put_f64(&b, m->t0);
    put_f64(&b, m->T);
    put_f64(&b, m->y_mean);
    put_f64(&b, m->y_sd);
    put(&b, m->x_mean, 8 * D);
    put(&b, m->x_sd, 8 * D);
    uint64_t np = m->n_params;
    put(&b, &np, 8);
    put(&b, m->params, 4 * m->n_params);
    put_u32(&b, genbo__crc32(0, b.p, b.len));
    *buf = b.p;
    *len = b.len;
    return GENBO_OK;
}

static uint32_t get_u32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static double get_f64(const unsigned char *p) {
    double v;
    memcpy(&v, p, 8);
    return v;
}

int genbo_diffusion_load_buffer(const void *buf, size_t len, genbo_diffusion **out) {
    if (!buf || !out) return genbo__fail(GENBO_EINVAL, "diffusion_load: NULL argument");
    *out = NULL;
    const unsigned char *p = buf;
    if (len < 8 || memcmp(p, GD_MAGIC, 4) != 0)
        return genbo__fail(GENBO_EFORMAT, "not a genbo diffusion model (no GNBD magic)");
    uint32_t version = get_u32(p + 4);
    if (version != GD_FORMAT_VERSION)
        return genbo__fail(GENBO_EVERSION,
                           "diffusion model format version %u, this genbo reads version %u",
                           version, GD_FORMAT_VERSION);
    if (len < GD_HEADER_BYTES + 4)
        return genbo__fail(GENBO_EFORMAT, "diffusion model truncated (%zu bytes)", len);
    uint32_t crc = get_u32(p + len - 4);
    if (genbo__crc32(0, p, len - 4) != crc)
        return genbo__fail(GENBO_EFORMAT, "diffusion model checksum mismatch (corrupt file)");
    const unsigned char *h = p + 8;
    genbo__net_config c = {(int)get_u32(h), (int)get_u32(h + 4), (int)get_u32(h + 8),
                   (int)get_u32(h + 12), (int)get_u32(h + 16)};
    uint32_t schedule = get_u32(h + 20), conditional = get_u32(h + 24);
    h += 28;
    double t0 = get_f64(h), T = get_f64(h + 8), y_mean = get_f64(h + 16),
           y_sd = get_f64(h + 24);
    h += 32;
    if (c.D < 1 || c.D > 65536 || c.width < 1 || c.width > 65536 || c.depth < 0 ||
        c.depth > 256 || c.t_embed < 2 || c.t_embed % 2 || c.t_embed > 4096 ||
        c.y_embed < 2 || c.y_embed % 2 || c.y_embed > 4096 || schedule > 1 ||
        conditional > 1)
        return genbo__fail(GENBO_EFORMAT, "diffusion model header has invalid shapes");
    if (!(t0 > 0) || !(T > t0) || !isfinite(T))
        return genbo__fail(GENBO_EFORMAT, "diffusion model: times t0 = %g, T = %g (need 0 < t0 < T, finite)", t0, T);
    if (!(fabs(y_mean) <= GD_SCALE_MAX) || !(y_sd > 0) || !(y_sd <= GD_SCALE_MAX))
        return genbo__fail(GENBO_EFORMAT, "diffusion model: reward scale y_mean = %g, y_sd = %g "
                           "(need finite, |y_mean| <= %g, 0 < y_sd <= %g)", y_mean, y_sd, GD_SCALE_MAX, GD_SCALE_MAX);
    genbo__net_layout l;
    genbo__net_layout_init(&c, &l);
    size_t D = (size_t)c.D;
    size_t expect = GD_HEADER_BYTES + 16 * D + 8 + 4 * l.total + 4;
    if (len != expect)
        return genbo__fail(GENBO_EFORMAT, "diffusion model size %zu does not match its shapes "
                                          "(%zu expected)", len, expect);
    uint64_t np;
    memcpy(&np, h + 16 * D, 8);
    if (np != l.total)
        return genbo__fail(GENBO_EFORMAT, "diffusion model parameter count %llu, shapes say %zu",
                           (unsigned long long)np, l.total);
    genbo_diffusion *m;
    int rc = genbo__gd_model_alloc(&c, &m);
    if (rc) return rc;
    m->schedule = (genbo_schedule)schedule;
    m->conditional = (int)conditional;
    m->t0 = t0;
    m->T = T;
    m->y_mean = y_mean;
    m->y_sd = y_sd;
    memcpy(m->x_mean, h, 8 * D);
    memcpy(m->x_sd, h + 8 * D, 8 * D);
    for (size_t j = 0; j < D; j++)
        if (!(m->x_sd[j] > 0) || !(m->x_sd[j] <= GD_SCALE_MAX) || !(fabs(m->x_mean[j]) <= GD_SCALE_MAX)) {
            genbo__fail(GENBO_EFORMAT, "diffusion model: feature %zu scale mean %g, sd %g (need finite, "
                        "|mean| <= %g, 0 < sd <= %g)", j, m->x_mean[j], m->x_sd[j], GD_SCALE_MAX, GD_SCALE_MAX);
            genbo_diffusion_free(m);
            return GENBO_EFORMAT;
        }
    memcpy(m->params, h + 16 * D + 8, 4 * l.total);
    for (size_t i = 0; i < l.total; i++)
        if (!(fabsf(m->params[i]) <= GD_WEIGHT_MAX)) {
            genbo__fail(GENBO_EFORMAT, "diffusion model: parameter %zu is %g (need finite, |w| <= %g)", i,
                        (double)m->params[i], (double)GD_WEIGHT_MAX);
            genbo_diffusion_free(m);
            return GENBO_EFORMAT;
        }
    *out = m;
    return GENBO_OK;
}

int genbo_diffusion_save(const genbo_diffusion *m, const char *path) {
    if (!path) return genbo__fail(GENBO_EINVAL, "diffusion_save: path is NULL");
    void *buf;
    size_t len;
    int rc = genbo_diffusion_save_buffer(m, &buf, &len);
    if (rc) return genbo__fail_prefix(rc, "%s", path);
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(buf);
        return genbo__fail(GENBO_EIO, "%s: cannot open for writing", path);
    }
    size_t w = fwrite(buf, 1, len, f);
    int close_rc = fclose(f);
    free(buf);
    if (w != len || close_rc != 0)
        return genbo__fail(GENBO_EIO, "%s: write failed", path);
    return GENBO_OK;
}

int genbo_diffusion_load(const char *path, genbo_diffusion **out) {
    if (!path || !out) return genbo__fail(GENBO_EINVAL, "diffusion_load: NULL argument");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return genbo__fail(GENBO_EIO, "%s: cannot open", path);
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = GENBO_OK;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? 2 * cap : 1 << 16;
            unsigned char *nb = realloc(buf, ncap);
            if (!nb) {
                rc = genbo__fail(GENBO_ENOMEM, "%s: out of memory", path);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0) {
            if (ferror(f)) rc = genbo__fail(GENBO_EIO, "%s: read error", path);
            break;
        }
    }
    fclose(f);
    if (!rc) {
        rc = genbo_diffusion_load_buffer(buf, len, out);
        if (rc) genbo__fail_prefix(rc, "%s", path);
    }
    free(buf);
    return rc;
}
