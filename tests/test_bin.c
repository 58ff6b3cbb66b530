/* test_bin.c - the one binary format (core/bin.h): numbers are written as
 * explicit little-endian bytes (checked byte by byte against hand-written
 * expectations, so a big-endian host would be caught), framed with magic,
 * version and CRC; the models stored by earlier builds (the fuzz seed
 * corpus, written before the format helper existed, and reward formats 1
 * and 2 derived from it) still load and save to the same bytes; the file
 * loader's errors name the file. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bin.h"
#include "core/core.h"
#include "genbo.h"

Test(bin, numbers_are_little_endian_bytes_and_read_back) {
    genbo__bin_writer w;
    const float f[2] = {1.0f, -2.0f};
    const double d[1] = {0.5};
    cr_assert_eq(genbo__bin_begin(&w, "TEST", 7, 4 + 8 + 8 + 8 + 8), GENBO_OK);
    genbo__bin_put_u32(&w, 0x01020304u);
    genbo__bin_put_u64(&w, 0x0102030405060708ull);
    genbo__bin_put_f64(&w, 1.0);
    genbo__bin_put_f32s(&w, f, 2);
    genbo__bin_put_f64s(&w, d, 1);
    void *buf;
    size_t len;
    cr_assert_eq(genbo__bin_end(&w, &buf, &len), GENBO_OK, "%s", genbo_errmsg());
    static const unsigned char want[] = {
        'T', 'E', 'S', 'T', 7, 0, 0, 0,                    /* magic, version */
        4, 3, 2, 1,                                        /* u32 */
        8, 7, 6, 5, 4, 3, 2, 1,                            /* u64 */
        0, 0, 0, 0, 0, 0, 0xf0, 0x3f,                      /* f64 1.0 */
        0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0,                   /* f32 1, -2 */
        0, 0, 0, 0, 0, 0, 0xe0, 0x3f,                      /* f64 0.5 */
    };
    cr_assert_eq(len, sizeof want + 4);
    cr_assert_eq(memcmp(buf, want, sizeof want), 0, "the bytes are not little-endian");
    uint32_t crc = genbo__crc32(0, want, sizeof want);
    const unsigned char *tail = (const unsigned char *)buf + sizeof want;
    cr_assert_eq(tail[0] | tail[1] << 8 | tail[2] << 16 | (uint32_t)tail[3] << 24, crc);
    cr_assert(genbo__bin_crc_ok(buf, len));

    genbo__bin_reader r;
    uint32_t version;
    cr_assert_eq(genbo__bin_open(buf, len, "TEST", 1, 7, "test object", &version, &r), GENBO_OK);
    cr_assert_eq(version, 7);
    cr_assert_eq(genbo__bin_get_u32(&r), 0x01020304u);
    cr_assert_eq(genbo__bin_get_u64(&r), 0x0102030405060708ull);
    cr_assert_eq(genbo__bin_get_f64(&r), 1.0);
    float g[2];
    double e[1];
    genbo__bin_get_f32s(&r, g, 2);
    genbo__bin_get_f64s(&r, e, 1);
    cr_assert(g[0] == 1.0f && g[1] == -2.0f && e[0] == 0.5);
    cr_assert_not(r.overrun);
    /* past the end: zeros and the overrun flag, never a read out of bounds */
    genbo__bin_get_u32(&r); /* the CRC */
    cr_assert_eq(genbo__bin_get_u64(&r), 0);
    genbo__bin_get_f32s(&r, g, 2);
    cr_assert(r.overrun && g[0] == 0.0f && g[1] == 0.0f);
    cr_assert_eq(genbo__bin_crc_f32s(0, f, 2), genbo__crc32(0, want + 28, 8));

    cr_assert_eq(genbo__bin_open(buf, len, "TEST", 1, 6, "test object", &version, &r), GENBO_EVERSION);
    cr_assert(strstr(genbo_errmsg(), "test object format version 7, this genbo reads versions 1-6"), "%s",
              genbo_errmsg());
    cr_assert_eq(genbo__bin_open(buf, len, "TSET", 7, 7, "test object", &version, &r), GENBO_EFORMAT);
    cr_assert(strstr(genbo_errmsg(), "not a genbo test object (no \"TSET\" magic)"), "%s", genbo_errmsg());
    cr_assert_eq(genbo__bin_open(buf, 7, "TEST", 7, 7, "test object", &version, &r), GENBO_EFORMAT);
    ((unsigned char *)buf)[9] ^= 1;
    cr_assert_not(genbo__bin_crc_ok(buf, len));
    free(buf);
}

Test(bin, a_size_formula_bug_fails_instead_of_writing_a_bad_buffer) {
    genbo__bin_writer w;
    void *buf = NULL;
    size_t len = 0;
    cr_assert_eq(genbo__bin_begin(&w, "TEST", 1, 8), GENBO_OK);
    genbo__bin_put_u32(&w, 1); /* 4 of 8 */
    cr_assert_eq(genbo__bin_end(&w, &buf, &len), GENBO_EINVAL);
    cr_assert_eq(genbo__bin_begin(&w, "TEST", 1, 4), GENBO_OK);
    genbo__bin_put_u64(&w, 1); /* 8 of 4 */
    cr_assert_eq(genbo__bin_end(&w, &buf, &len), GENBO_EINVAL);
    cr_assert_null(buf);
}

static unsigned char *corpus(const char *kind, const char *name, size_t *len) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fuzz/corpus/%s/%s", GENBO_SOURCE_DIR, kind, name);
    void *buf;
    cr_assert_eq(genbo__file_read(path, "model", 0, &buf, len), GENBO_OK, "%s", genbo_errmsg());
    return buf;
}

static void reseal(unsigned char *p, size_t len) {
    uint32_t crc = genbo__crc32(0, p, len - 4);
    for (int i = 0; i < 4; i++) p[len - 4 + i] = (unsigned char)(crc >> (8 * i));
}

/* A malloc'ed copy of a stored file claiming format version v, resealed. */
static unsigned char *as_version(const unsigned char *p, size_t len, unsigned char v) {
    unsigned char *q = malloc(len);
    memcpy(q, p, len);
    q[4] = v;
    reseal(q, len);
    return q;
}

static void reward_resaves_to(const unsigned char *in, size_t len, const unsigned char *want, size_t want_len) {
    genbo_reward *m = NULL;
    cr_assert_eq(genbo_reward_load_buffer(in, len, &m), GENBO_OK, "%s", genbo_errmsg());
    void *out;
    size_t out_len;
    cr_assert_eq(genbo_reward_save_buffer(m, &out, &out_len), GENBO_OK);
    cr_assert_eq(out_len, want_len);
    cr_assert_eq(memcmp(out, want, want_len), 0, "re-saved bytes differ");
    free(out);
    genbo_reward_free(m);
}

/* The seed corpus was written by the byte-by-byte reward writer and the
 * raw-memory diffusion writer of earlier builds. */
Test(bin, models_stored_by_earlier_builds_load_and_save_to_the_same_bytes) {
    const char *rewards[] = {"gp.bin", "gp_ard_matern.bin", "ridge_dense.bin", "ridge_wide.bin"};
    for (int i = 0; i < 4; i++) {
        size_t len;
        unsigned char *b = corpus("reward", rewards[i], &len);
        reward_resaves_to(b, len, b, len);
        free(b);
    }
    const char *diffusions[] = {"cond.bin", "uncond_vp.bin"};
    for (int i = 0; i < 2; i++) {
        size_t len;
        unsigned char *b = corpus("diffusion", diffusions[i], &len);
        genbo_diffusion *m = NULL;
        cr_assert_eq(genbo_diffusion_load_buffer(b, len, &m), GENBO_OK, "%s: %s", diffusions[i], genbo_errmsg());
        void *out;
        size_t out_len;
        cr_assert_eq(genbo_diffusion_save_buffer(m, &out, &out_len), GENBO_OK);
        cr_assert(out_len == len && !memcmp(out, b, len), "%s re-saved to other bytes", diffusions[i]);
        free(out);
        genbo_diffusion_free(m);
        free(b);
    }
}

/* Reward format 2 is format 3 without the wide (low-rank) ridge form, so a
 * dense ridge or a GP of version 3 is a version-2 file with the version
 * field changed; format 1 also lacks the ridge label sd (8 bytes after
 * y_mean). Both still load; they re-save as version 3. */
Test(bin, reward_formats_1_and_2_still_load) {
    size_t len;
    unsigned char *dense = corpus("reward", "ridge_dense.bin", &len);
    unsigned char *v2 = as_version(dense, len, 2);
    reward_resaves_to(v2, len, dense, len);

    /* version 1: header 28 + select, kfold 8 + lambda, score, y_mean 24 */
    const size_t y_sd_at = 28 + 8 + 24;
    unsigned char *v1 = malloc(len - 8);
    memcpy(v1, dense, y_sd_at);
    memcpy(v1 + y_sd_at, dense + y_sd_at + 8, len - y_sd_at - 8);
    v1[4] = 1;
    reseal(v1, len - 8);
    genbo_reward *a = NULL, *b = NULL;
    cr_assert_eq(genbo_reward_load_buffer(dense, len, &a), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_reward_load_buffer(v1, len - 8, &b), GENBO_OK, "%s", genbo_errmsg());
    size_t d = genbo_reward_dim(a);
    double *X = calloc(3 * d, sizeof *X), ma[3], mb[3];
    for (size_t j = 0; j < 3 * d; j++) X[j] = 0.1 * (double)j - 0.5;
    cr_assert_eq(genbo_reward_predict(a, 3, X, ma, NULL), GENBO_OK);
    cr_assert_eq(genbo_reward_predict(b, 3, X, mb, NULL), GENBO_OK);
    cr_assert_eq(memcmp(ma, mb, sizeof ma), 0, "a version-1 ridge predicts otherwise");
    free(X);
    genbo_reward_free(a);
    genbo_reward_free(b);

    size_t glen;
    unsigned char *gp = corpus("reward", "gp.bin", &glen);
    unsigned char *g1 = as_version(gp, glen, 1);
    reward_resaves_to(g1, glen, gp, glen);
    free(g1);
    free(gp);
    free(v1);
    free(v2);
    free(dense);
}

Test(bin, the_file_loader_names_the_file) {
    char dir[] = "/tmp/genbo_bin_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/f.txt", dir);
    void *buf;
    size_t len;
    cr_assert_eq(genbo__file_read(path, "thing", 0, &buf, &len), GENBO_EIO);
    cr_assert(strstr(genbo_errmsg(), path) && strstr(genbo_errmsg(), "cannot open thing"), "%s", genbo_errmsg());
    /* 200 kB: several growth steps of the read buffer */
    size_t n = 200000;
    char *text = malloc(n);
    for (size_t i = 0; i < n; i++) text[i] = (char)('a' + i % 26);
    cr_assert_eq(genbo__file_write(path, text, n), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo__file_read(path, "thing", 0, &buf, &len), GENBO_OK, "%s", genbo_errmsg());
    cr_assert(len == n && !memcmp(buf, text, n) && ((char *)buf)[n] == '\0');
    free(buf);
    cr_assert_eq(genbo__file_read(path, "thing", 1000, &buf, &len), GENBO_EFORMAT);
    cr_assert(strstr(genbo_errmsg(), "thing larger than 1000 bytes"), "%s", genbo_errmsg());
    cr_assert_eq(genbo__file_read(dir, "thing", 0, &buf, &len), GENBO_EIO);
    cr_assert(strstr(genbo_errmsg(), "cannot read thing: Is a directory"), "%s", genbo_errmsg());
    cr_assert_eq(genbo__file_write("/nonexistent-dir/x.bin", text, 1), GENBO_EIO);
    cr_assert(strstr(genbo_errmsg(), "/nonexistent-dir/x.bin"), "%s", genbo_errmsg());
    free(text);
    remove(path);
    rmdir(dir);
}
