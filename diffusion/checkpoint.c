/* checkpoint.c - the training state as one buffer, to resume a training
 * that was interrupted (killed, Ctrl-C) from where it was, not from step 0.
 *
 * Little-endian, in order:
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

#include "diffusion/train_internal.h"

#define CK_MAGIC "GNBC"
#define CK_VERSION 1u
#define CK_HEAD (4 + 4 * 9 + 8 * 3 + 4 + 8 * 4 + 8 * 7 + 8 * 4 + 4 + 8 + 8)

typedef struct cbuf {
    unsigned char *p;
    size_t len;
} cbuf;

static void put(cbuf *b, const void *src, size_t n) {
    memcpy(b->p + b->len, src, n);
    b->len += n;
}
static void put_u32(cbuf *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(cbuf *b, uint64_t v) { put(b, &v, 8); }
static void put_f64(cbuf *b, double v) { put(b, &v, 8); }

static uint32_t data_crc(size_t n, size_t D, const float *Xz, const float *yz) {
    uint32_t crc = genbo__crc32(0, Xz, n * D * sizeof(float));
    if (yz) crc = genbo__crc32(crc, yz, n * sizeof(float));
    return crc;
}

int genbo__gd_checkpoint_write(const genbo__gd_trainer *t, double elapsed, void **buf, size_t *len) {
    const genbo__net_config *c = t->c;
    size_t total = CK_HEAD + 5 * 4 * t->P + 4;
    cbuf b = {genbo__malloc(total), 0};
    if (!b.p) return GENBO_ENOMEM;
    put(&b, CK_MAGIC, 4);
    put_u32(&b, CK_VERSION);
    put_u32(&b, (uint32_t)c->D);
    put_u32(&b, (uint32_t)c->width);
    put_u32(&b, (uint32_t)c->depth);
    put_u32(&b, (uint32_t)c->t_embed);
    put_u32(&b, (uint32_t)c->y_embed);
    put_u32(&b, (uint32_t)t->ck_batch);
    put_u32(&b, (uint32_t)t->val.conditional);
    put_u32(&b, (uint32_t)t->ck_auto);
    put_u64(&b, (uint64_t)(t->n_rows + t->n_val));
    put_u64(&b, (uint64_t)t->n_val);
    put_u64(&b, t->ck_seed);
    put_u32(&b, t->ck_data_crc);
    put_u64(&b, (uint64_t)t->step);
    put_u64(&b, (uint64_t)t->best_step);
    put_u64(&b, (uint64_t)t->bad);
    put_u64(&b, (uint64_t)t->train_cnt);
    put_f64(&b, t->lr_scale);
    put_f64(&b, t->best_val);
    put_f64(&b, t->ref_val);
    put_f64(&b, t->last_val);
    put_f64(&b, t->last_train);
    put_f64(&b, t->train_acc);
    put_f64(&b, elapsed);
    for (int i = 0; i < 4; i++) put_u64(&b, t->rng.s[i]);
    put_u32(&b, (uint32_t)t->rng.has_spare);
    put_f64(&b, t->rng.spare);
    put_u64(&b, (uint64_t)t->P);
    put(&b, t->w, 4 * t->P);
    put(&b, t->m1, 4 * t->P);
    put(&b, t->m2, 4 * t->P);
    put(&b, t->ema, 4 * t->P);
    put(&b, t->best, 4 * t->P);
    put_u32(&b, genbo__crc32(0, b.p, b.len));
    *buf = b.p;
    *len = b.len;
    return GENBO_OK;
}

typedef struct rbuf {
    const unsigned char *p;
    size_t at;
} rbuf;

static uint32_t get_u32(rbuf *r) {
    uint32_t v;
    memcpy(&v, r->p + r->at, 4);
    r->at += 4;
    return v;
}
static uint64_t get_u64(rbuf *r) {
    uint64_t v;
    memcpy(&v, r->p + r->at, 8);
    r->at += 8;
    return v;
}
static double get_f64(rbuf *r) {
    double v;
    memcpy(&v, r->p + r->at, 8);
    r->at += 8;
    return v;
}

#define CK_FAIL(...) genbo__fail(GENBO_EFORMAT, "diffusion checkpoint: " __VA_ARGS__)

int genbo__gd_checkpoint_read(genbo__gd_trainer *t, const genbo_diffusion_params *p, size_t n, const float *Xz,
                       const float *yz, const void *buf, size_t len, double *elapsed) {
    const genbo__net_config *c = t->c;
    if (len < CK_HEAD + 4 || memcmp(buf, CK_MAGIC, 4)) return CK_FAIL("not a checkpoint (%zu bytes)", len);
    const unsigned char *bytes = buf;
    uint32_t stored;
    memcpy(&stored, bytes + len - 4, 4);
    if (genbo__crc32(0, bytes, len - 4) != stored) return CK_FAIL("checksum mismatch (corrupt)");
    rbuf r = {bytes, 4};
    uint32_t ver = get_u32(&r);
    if (ver != CK_VERSION) return genbo__fail(GENBO_EVERSION, "diffusion checkpoint: version %u, expected %u", ver, CK_VERSION);
    uint32_t h[8];
    for (int i = 0; i < 8; i++) h[i] = get_u32(&r);
    uint32_t want[8] = {(uint32_t)c->D, (uint32_t)c->width, (uint32_t)c->depth, (uint32_t)c->t_embed,
                        (uint32_t)c->y_embed, (uint32_t)p->batch, (uint32_t)(yz != NULL),
                        (uint32_t)(p->steps == GENBO_STEPS_AUTO)};
    static const char *const names[8] = {"D", "width", "depth", "t_embed", "y_embed", "batch", "conditional", "auto"};
    for (int i = 0; i < 8; i++)
        if (h[i] != want[i])
            return genbo__fail(GENBO_ESTATE, "diffusion checkpoint: %s = %u, this training has %u", names[i], h[i], want[i]);
    uint64_t cn = get_u64(&r), cnv = get_u64(&r), cseed = get_u64(&r);
    uint32_t ccrc = get_u32(&r);
    if (cn != n || cnv != t->n_val || cseed != p->seed || ccrc != t->ck_data_crc)
        return genbo__fail(GENBO_ESTATE, "diffusion checkpoint: made on other data or seed (%llu rows, seed %llu)",
                           (unsigned long long)cn, (unsigned long long)cseed);
    (void)Xz;
    t->step = (long)get_u64(&r);
    t->best_step = (long)get_u64(&r);
    t->bad = (int)get_u64(&r);
    t->train_cnt = (long)get_u64(&r);
    t->lr_scale = get_f64(&r);
    t->best_val = get_f64(&r);
    t->ref_val = get_f64(&r);
    t->last_val = get_f64(&r);
    t->last_train = get_f64(&r);
    t->train_acc = get_f64(&r);
    *elapsed = get_f64(&r);
    for (int i = 0; i < 4; i++) t->rng.s[i] = get_u64(&r);
    t->rng.has_spare = (int)get_u32(&r);
    t->rng.spare = get_f64(&r);
    uint64_t P = get_u64(&r);
    if (P != t->P || len != CK_HEAD + 5 * 4 * t->P + 4)
        return CK_FAIL("%llu parameters, this network has %zu", (unsigned long long)P, t->P);
    float *dst[5] = {t->w, t->m1, t->m2, t->ema, t->best};
    for (int i = 0; i < 5; i++) {
        memcpy(dst[i], bytes + r.at, 4 * t->P);
        r.at += 4 * t->P;
    }
    return GENBO_OK;
}

uint32_t genbo__gd_checkpoint_data_crc(size_t n, size_t D, const float *Xz, const float *yz) {
    return data_crc(n, D, Xz, yz);
}
