/* checkpoint.c - the training state as one buffer, to resume a training
 * that was interrupted (killed, Ctrl-C) from where it was, not from step 0.
 *
 * Little-endian on every host (core/bin.h), in order:
 *   "GNBC" u32 version
 *   u32 D, width, depth, t_embed, y_embed, batch, conditional, auto
 *   u64 n, n_val, seed            rows, held-out rows, training seed
 *   u32 data_crc                  CRC-32 of the standardised data (floats)
 *   i64 step, best_step, bad, train_cnt
 *   f64 lr_scale, best_val, ref_val, last_val, last_train, train_acc, elapsed
 *   u64 rng[4]; u32 has_spare; f64 spare      the minibatch RNG
 *   u64 P; f32 w[P], m1[P], m2[P], ema[P], best[P]
 *   u32 crc32                     of every byte before it
 * The split and the validation draws are not stored: they are rebuilt
 * from the seed, and the data CRC makes sure they are the same ones. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/bin.h"
#include "diffusion/train_internal.h"

#define CK_MAGIC "GNBC"
#define CK_VERSION 1u
#define CK_HEAD (4 + 4 * 9 + 8 * 3 + 4 + 8 * 4 + 8 * 7 + 8 * 4 + 4 + 8 + 8)

static uint32_t data_crc(size_t n, size_t D, const float *Xz, const float *yz) {
    uint32_t crc = genbo__bin_crc_f32s(0, Xz, n * D);
    if (yz) crc = genbo__bin_crc_f32s(crc, yz, n);
    return crc;
}

int genbo__gd_checkpoint_write(const genbo__gd_trainer *t, double elapsed, void **buf, size_t *len) {
    const genbo__net_config *c = t->c;
    genbo__bin_writer b;
    if (genbo__bin_begin(&b, CK_MAGIC, CK_VERSION, CK_HEAD - 8 + 5 * 4 * t->P)) return GENBO_ENOMEM;
    genbo__bin_put_u32(&b, (uint32_t)c->D);
    genbo__bin_put_u32(&b, (uint32_t)c->width);
    genbo__bin_put_u32(&b, (uint32_t)c->depth);
    genbo__bin_put_u32(&b, (uint32_t)c->t_embed);
    genbo__bin_put_u32(&b, (uint32_t)c->y_embed);
    genbo__bin_put_u32(&b, (uint32_t)t->ck_batch);
    genbo__bin_put_u32(&b, (uint32_t)t->val.conditional);
    genbo__bin_put_u32(&b, (uint32_t)t->ck_auto);
    genbo__bin_put_u64(&b, (uint64_t)(t->n_rows + t->n_val));
    genbo__bin_put_u64(&b, (uint64_t)t->n_val);
    genbo__bin_put_u64(&b, t->ck_seed);
    genbo__bin_put_u32(&b, t->ck_data_crc);
    genbo__bin_put_u64(&b, (uint64_t)t->step);
    genbo__bin_put_u64(&b, (uint64_t)t->best_step);
    genbo__bin_put_u64(&b, (uint64_t)t->bad);
    genbo__bin_put_u64(&b, (uint64_t)t->train_cnt);
    genbo__bin_put_f64(&b, t->lr_scale);
    genbo__bin_put_f64(&b, t->best_val);
    genbo__bin_put_f64(&b, t->ref_val);
    genbo__bin_put_f64(&b, t->last_val);
    genbo__bin_put_f64(&b, t->last_train);
    genbo__bin_put_f64(&b, t->train_acc);
    genbo__bin_put_f64(&b, elapsed);
    for (int i = 0; i < 4; i++) genbo__bin_put_u64(&b, t->rng.s[i]);
    genbo__bin_put_u32(&b, (uint32_t)t->rng.has_spare);
    genbo__bin_put_f64(&b, t->rng.spare);
    genbo__bin_put_u64(&b, (uint64_t)t->P);
    genbo__bin_put_f32s(&b, t->w, t->P);
    genbo__bin_put_f32s(&b, t->m1, t->P);
    genbo__bin_put_f32s(&b, t->m2, t->P);
    genbo__bin_put_f32s(&b, t->ema, t->P);
    genbo__bin_put_f32s(&b, t->best, t->P);
    return genbo__bin_end(&b, buf, len);
}

#define CK_FAIL(...) genbo__fail(GENBO_EFORMAT, "diffusion checkpoint: " __VA_ARGS__)

int genbo__gd_checkpoint_read(genbo__gd_trainer *t, const genbo_diffusion_params *p, size_t n, const float *Xz,
                       const float *yz, const void *buf, size_t len, double *elapsed) {
    const genbo__net_config *c = t->c;
    if (len < CK_HEAD + 4 || memcmp(buf, CK_MAGIC, 4)) return CK_FAIL("not a checkpoint (%zu bytes)", len);
    if (!genbo__bin_crc_ok(buf, len)) return CK_FAIL("checksum mismatch (corrupt)");
    genbo__bin_reader r;
    uint32_t ver;
    int rc = genbo__bin_open(buf, len, CK_MAGIC, CK_VERSION, CK_VERSION, "diffusion checkpoint", &ver, &r);
    if (rc) return rc;
    uint32_t h[8];
    for (int i = 0; i < 8; i++) h[i] = genbo__bin_get_u32(&r);
    uint32_t want[8] = {(uint32_t)c->D, (uint32_t)c->width, (uint32_t)c->depth, (uint32_t)c->t_embed,
                        (uint32_t)c->y_embed, (uint32_t)p->batch, (uint32_t)(yz != NULL),
                        (uint32_t)(p->steps == GENBO_STEPS_AUTO)};
    static const char *const names[8] = {"D", "width", "depth", "t_embed", "y_embed", "batch", "conditional", "auto"};
    for (int i = 0; i < 8; i++)
        if (h[i] != want[i])
            return genbo__fail(GENBO_ESTATE, "diffusion checkpoint: %s = %u, this training has %u", names[i], h[i], want[i]);
    uint64_t cn = genbo__bin_get_u64(&r), cnv = genbo__bin_get_u64(&r), cseed = genbo__bin_get_u64(&r);
    uint32_t ccrc = genbo__bin_get_u32(&r);
    if (cn != n || cnv != t->n_val || cseed != p->seed || ccrc != t->ck_data_crc)
        return genbo__fail(GENBO_ESTATE, "diffusion checkpoint: made on other data or seed (%llu rows, seed %llu)",
                           (unsigned long long)cn, (unsigned long long)cseed);
    (void)Xz;
    t->step = (long)genbo__bin_get_u64(&r);
    t->best_step = (long)genbo__bin_get_u64(&r);
    t->bad = (int)genbo__bin_get_u64(&r);
    t->train_cnt = (long)genbo__bin_get_u64(&r);
    t->lr_scale = genbo__bin_get_f64(&r);
    t->best_val = genbo__bin_get_f64(&r);
    t->ref_val = genbo__bin_get_f64(&r);
    t->last_val = genbo__bin_get_f64(&r);
    t->last_train = genbo__bin_get_f64(&r);
    t->train_acc = genbo__bin_get_f64(&r);
    *elapsed = genbo__bin_get_f64(&r);
    for (int i = 0; i < 4; i++) t->rng.s[i] = genbo__bin_get_u64(&r);
    t->rng.has_spare = (int)genbo__bin_get_u32(&r);
    t->rng.spare = genbo__bin_get_f64(&r);
    uint64_t P = genbo__bin_get_u64(&r);
    if (P != t->P || len != CK_HEAD + 5 * 4 * t->P + 4)
        return CK_FAIL("%llu parameters, this network has %zu", (unsigned long long)P, t->P);
    float *dst[5] = {t->w, t->m1, t->m2, t->ema, t->best};
    for (int i = 0; i < 5; i++) genbo__bin_get_f32s(&r, dst[i], t->P);
    return GENBO_OK;
}

uint32_t genbo__gd_checkpoint_data_crc(size_t n, size_t D, const float *Xz, const float *yz) {
    return data_crc(n, D, Xz, yz);
}
