/* io.c - versioned binary format of a diffusion model.
 *
 * Little-endian on every host (core/bin.h), in order:
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

#include "core/bin.h"
#include "diffusion/diffusion_internal.h"

#define GD_MAGIC "GNBD"
#define GD_FORMAT_VERSION 1u
#define GD_HEADER_BYTES (4 + 4 + 7 * 4 + 4 * 8)

int genbo_diffusion_save_buffer(const genbo_diffusion *m, void **buf, size_t *len) {
    if (!m || !buf || !len) return genbo__fail(GENBO_EINVAL, "diffusion_save: NULL argument");
    size_t D = (size_t)m->cfg.D;
    genbo__bin_writer b;
    if (genbo__bin_begin(&b, GD_MAGIC, GD_FORMAT_VERSION, GD_HEADER_BYTES - 8 + 16 * D + 8 + 4 * m->n_params))
        return GENBO_ENOMEM;
    genbo__bin_put_u32(&b, (uint32_t)m->cfg.D);
    genbo__bin_put_u32(&b, (uint32_t)m->cfg.width);
    genbo__bin_put_u32(&b, (uint32_t)m->cfg.depth);
    genbo__bin_put_u32(&b, (uint32_t)m->cfg.t_embed);
    genbo__bin_put_u32(&b, (uint32_t)m->cfg.y_embed);
    genbo__bin_put_u32(&b, (uint32_t)m->schedule);
    genbo__bin_put_u32(&b, (uint32_t)m->conditional);
    genbo__bin_put_f64(&b, m->t0);
    genbo__bin_put_f64(&b, m->T);
    genbo__bin_put_f64(&b, m->y_mean);
    genbo__bin_put_f64(&b, m->y_sd);
    genbo__bin_put_f64s(&b, m->x_mean, D);
    genbo__bin_put_f64s(&b, m->x_sd, D);
    genbo__bin_put_u64(&b, (uint64_t)m->n_params);
    genbo__bin_put_f32s(&b, m->params, m->n_params);
    return genbo__bin_end(&b, buf, len);
}

int genbo_diffusion_load_buffer(const void *buf, size_t len, genbo_diffusion **out) {
    if (!buf || !out) return genbo__fail(GENBO_EINVAL, "diffusion_load: NULL argument");
    *out = NULL;
    genbo__bin_reader r;
    uint32_t version;
    int rc = genbo__bin_open(buf, len, GD_MAGIC, GD_FORMAT_VERSION, GD_FORMAT_VERSION, "diffusion model",
                             &version, &r);
    if (rc) return rc;
    if (len < GD_HEADER_BYTES + 4)
        return genbo__fail(GENBO_EFORMAT, "diffusion model truncated (%zu bytes)", len);
    if (!genbo__bin_crc_ok(buf, len))
        return genbo__fail(GENBO_EFORMAT, "diffusion model checksum mismatch (corrupt file)");
    genbo__net_config c;
    c.D = (int)genbo__bin_get_u32(&r);
    c.width = (int)genbo__bin_get_u32(&r);
    c.depth = (int)genbo__bin_get_u32(&r);
    c.t_embed = (int)genbo__bin_get_u32(&r);
    c.y_embed = (int)genbo__bin_get_u32(&r);
    uint32_t schedule = genbo__bin_get_u32(&r), conditional = genbo__bin_get_u32(&r);
    double t0 = genbo__bin_get_f64(&r), T = genbo__bin_get_f64(&r), y_mean = genbo__bin_get_f64(&r),
           y_sd = genbo__bin_get_f64(&r);
    if (c.D < 1 || c.D > 65536 || c.width < 1 || c.width > 65536 || c.depth < 0 ||
        c.depth > 256 || c.t_embed < 2 || c.t_embed % 2 || c.t_embed > 4096 ||
        c.y_embed < 2 || c.y_embed % 2 || c.y_embed > 4096 || schedule > 1 ||
        conditional > 1)
        return genbo__fail(GENBO_EFORMAT, "diffusion model header has invalid shapes");
    if (!(t0 > 0) || !(T > t0) || !isfinite(T))
        return genbo__fail(GENBO_EFORMAT, "diffusion model: times t0 = %g, T = %g (need 0 < t0 < T, finite)", t0, T);
    if (!(fabs(y_mean) <= GENBO__GD_SCALE_MAX) || !(y_sd > 0) || !(y_sd <= GENBO__GD_SCALE_MAX))
        return genbo__fail(GENBO_EFORMAT, "diffusion model: reward scale y_mean = %g, y_sd = %g "
                           "(need finite, |y_mean| <= %g, 0 < y_sd <= %g)", y_mean, y_sd, GENBO__GD_SCALE_MAX,
                           GENBO__GD_SCALE_MAX);
    genbo__net_layout l;
    genbo__net_layout_init(&c, &l);
    size_t D = (size_t)c.D;
    size_t expect = GD_HEADER_BYTES + 16 * D + 8 + 4 * l.total + 4;
    if (len != expect)
        return genbo__fail(GENBO_EFORMAT, "diffusion model size %zu does not match its shapes "
                                          "(%zu expected)", len, expect);
    genbo__bin_reader shapes = r; /* the parameter count follows x_mean, x_sd */
    shapes.pos += 16 * D;
    uint64_t np = genbo__bin_get_u64(&shapes);
    if (np != l.total)
        return genbo__fail(GENBO_EFORMAT, "diffusion model parameter count %llu, shapes say %zu",
                           (unsigned long long)np, l.total);
    genbo_diffusion *m;
    rc = genbo__gd_model_alloc(&c, &m);
    if (rc) return rc;
    m->schedule = (genbo_schedule)schedule;
    m->conditional = (int)conditional;
    m->t0 = t0;
    m->T = T;
    m->y_mean = y_mean;
    m->y_sd = y_sd;
    genbo__bin_get_f64s(&r, m->x_mean, D);
    genbo__bin_get_f64s(&r, m->x_sd, D);
    for (size_t j = 0; j < D; j++)
        if (!(m->x_sd[j] > 0) || !(m->x_sd[j] <= GENBO__GD_SCALE_MAX) ||
            !(fabs(m->x_mean[j]) <= GENBO__GD_SCALE_MAX)) {
            genbo__fail(GENBO_EFORMAT, "diffusion model: feature %zu scale mean %g, sd %g (need finite, "
                        "|mean| <= %g, 0 < sd <= %g)", j, m->x_mean[j], m->x_sd[j], GENBO__GD_SCALE_MAX,
                        GENBO__GD_SCALE_MAX);
            genbo_diffusion_free(m);
            return GENBO_EFORMAT;
        }
    (void)genbo__bin_get_u64(&r); /* n_params, checked above */
    genbo__bin_get_f32s(&r, m->params, l.total);
    for (size_t i = 0; i < l.total; i++)
        if (!(fabsf(m->params[i]) <= GENBO__GD_WEIGHT_MAX)) {
            genbo__fail(GENBO_EFORMAT, "diffusion model: parameter %zu is %g (need finite, |w| <= %g)", i,
                        (double)m->params[i], (double)GENBO__GD_WEIGHT_MAX);
            genbo_diffusion_free(m);
            return GENBO_EFORMAT;
        }
    *out = m;
    return GENBO_OK;
}

int genbo_diffusion_save(const genbo_diffusion *m, const char *path) {
    if (!path) return genbo__fail(GENBO_EINVAL, "diffusion_save: path is NULL");
    void *buf = NULL;
    size_t len = 0;
    int rc = genbo_diffusion_save_buffer(m, &buf, &len); /* before buf and len are read */
    return genbo__file_save(path, rc, buf, len);
}

int genbo_diffusion_load(const char *path, genbo_diffusion **out) {
    if (!path || !out) return genbo__fail(GENBO_EINVAL, "diffusion_load: NULL argument");
    *out = NULL;
    void *buf;
    size_t len;
    int rc = genbo__file_read(path, "diffusion model", 0, &buf, &len);
    return rc ? rc : genbo__file_decoded(path, genbo_diffusion_load_buffer(buf, len, out), buf);
}
