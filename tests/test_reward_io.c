/* test_reward_io.c - the reward model's binary format: round trips give
 * identical predictions; corrupt, truncated and wrong-version inputs fail
 * with the right code and a message naming the file. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "genbo.h"

static void make_data(size_t n, size_t d, double *X, double *y) {
    genbo__rng r;
    genbo__rng_seed(&r, 99, 0);
    for (size_t i = 0; i < n; i++) {
        y[i] = 0;
        for (size_t k = 0; k < d; k++) {
            X[i * d + k] = genbo__rng_normal(&r);
            y[i] += (k + 1.0) * X[i * d + k] * (k % 2 ? X[i * d + k] : 1.0);
        }
        y[i] += 0.1 * genbo__rng_normal(&r);
    }
}

static genbo_reward *fit(genbo_reward_kind kind) {
    double X[60 * 3], y[60];
    make_data(60, 3, X, y);
    genbo_reward_params p;
    genbo_reward_params_default(&p);
    p.kind = kind;
    p.ard = 1;
    p.kernel = GENBO_KERNEL_MATERN52;
    p.max_evals = 40;
    genbo_reward *m = NULL;
    cr_assert_eq(genbo_reward_fit(&p, 60, 3, X, y, &m), GENBO_OK, "%s", genbo_errmsg());
    return m;
}

static void assert_same_predictions(const genbo_reward *a, const genbo_reward *b) {
    double Q[40 * 3], yq[40];
    make_data(40, 3, Q, yq);
    double ma[40], va[40], mb[40], vb[40], ga[120], gb[120];
    cr_assert_eq(genbo_reward_predict(a, 40, Q, ma, va), GENBO_OK);
    cr_assert_eq(genbo_reward_predict(b, 40, Q, mb, vb), GENBO_OK);
    cr_assert_eq(genbo_reward_gradient(a, 40, Q, ga), GENBO_OK);
    cr_assert_eq(genbo_reward_gradient(b, 40, Q, gb), GENBO_OK);
    cr_assert_eq(memcmp(ma, mb, sizeof ma), 0);
    cr_assert_eq(memcmp(va, vb, sizeof va), 0);
    cr_assert_eq(memcmp(ga, gb, sizeof ga), 0);
    cr_assert_str_eq(genbo_reward_describe(a), genbo_reward_describe(b));
    cr_assert_eq(genbo_reward_get_kind(a), genbo_reward_get_kind(b));
    cr_assert_eq(genbo_reward_dim(a), genbo_reward_dim(b));
}

static void round_trip(genbo_reward_kind kind) {
    genbo_reward *m = fit(kind), *b = NULL, *f = NULL;
    void *buf;
    size_t len;
    cr_assert_eq(genbo_reward_save_buffer(m, &buf, &len), GENBO_OK);
    cr_assert_eq(memcmp(buf, "GNBR", 4), 0);
    cr_assert_eq(genbo_reward_load_buffer(buf, len, &b), GENBO_OK, "%s", genbo_errmsg());
    assert_same_predictions(m, b);
    char path[] = "/tmp/genbo_reward_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(genbo_reward_save(m, path), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_reward_load(path, &f), GENBO_OK, "%s", genbo_errmsg());
    assert_same_predictions(m, f);
    remove(path);
    free(buf);
    genbo_reward_free(m);
    genbo_reward_free(b);
    genbo_reward_free(f);
}

Test(reward_io, ridge_round_trip_is_identical) { round_trip(GENBO_REWARD_RIDGE); }
Test(reward_io, gp_round_trip_is_identical) { round_trip(GENBO_REWARD_GP); }

static void put_le32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

Test(reward_io, damaged_buffers_fail_with_the_right_code) {
    genbo_reward_kind kinds[2] = {GENBO_REWARD_RIDGE, GENBO_REWARD_GP};
    for (int k = 0; k < 2; k++) {
        genbo_reward *m = fit(kinds[k]), *out = (genbo_reward *)0x1;
        unsigned char *buf;
        size_t len;
        cr_assert_eq(genbo_reward_save_buffer(m, (void **)&buf, &len), GENBO_OK);
        /* every single flipped byte past the magic/version is caught */
        for (size_t pos = 8; pos < len; pos += 1 + len / 97) {
            buf[pos] ^= 0x20;
            int rc = genbo_reward_load_buffer(buf, len, &out);
            cr_assert_eq(rc, GENBO_EFORMAT, "byte %zu: %s", pos, genbo_strstatus(rc));
            cr_assert_null(out);
            buf[pos] ^= 0x20;
        }
        cr_assert_eq(genbo_reward_load_buffer(buf, len - 1, &out), GENBO_EFORMAT);
        cr_assert(strstr(genbo_errmsg(), "truncated") != NULL, "%s", genbo_errmsg());
        cr_assert_eq(genbo_reward_load_buffer(buf, 10, &out), GENBO_EFORMAT);
        cr_assert_eq(genbo_reward_load_buffer(buf, 3, &out), GENBO_EFORMAT);
        buf[0] = 'X';
        cr_assert_eq(genbo_reward_load_buffer(buf, len, &out), GENBO_EFORMAT);
        cr_assert(strstr(genbo_errmsg(), "GNBR") != NULL, "%s", genbo_errmsg());
        buf[0] = 'G';
        /* another format version, with a valid checksum */
        put_le32(buf + 4, 99); /* a future format version */
        put_le32(buf + len - 4, genbo__crc32(0, buf, len - 4));
        cr_assert_eq(genbo_reward_load_buffer(buf, len, &out), GENBO_EVERSION);
        cr_assert(strstr(genbo_errmsg(), "version 99") != NULL, "%s", genbo_errmsg());
        cr_assert_null(out);
        free(buf);
        genbo_reward_free(m);
    }
}

Test(reward_io, damaged_files_name_the_file) {
    genbo_reward *m = fit(GENBO_REWARD_GP), *out = NULL;
    char path[] = "/tmp/genbo_reward_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    cr_assert_eq(genbo_reward_save(m, path), GENBO_OK);
    FILE *f = fopen(path, "r+b");
    fseek(f, 100, SEEK_SET);
    int c = fgetc(f);
    fseek(f, 100, SEEK_SET);
    fputc(c ^ 1, f);
    fclose(f);
    cr_assert_eq(genbo_reward_load(path, &out), GENBO_EFORMAT);
    cr_assert(strstr(genbo_errmsg(), path) && strstr(genbo_errmsg(), "checksum"), "%s", genbo_errmsg());
    cr_assert_null(out);
    cr_assert_eq(truncate(path, 200), 0);
    cr_assert_eq(genbo_reward_load(path, &out), GENBO_EFORMAT);
    cr_assert(strstr(genbo_errmsg(), path) && strstr(genbo_errmsg(), "truncated"), "%s", genbo_errmsg());
    remove(path);
    cr_assert_eq(genbo_reward_load(path, &out), GENBO_EIO);
    cr_assert(strstr(genbo_errmsg(), path) != NULL, "%s", genbo_errmsg());
    cr_assert_eq(genbo_reward_save(m, "/nonexistent-dir/x.bin"), GENBO_EIO);
    cr_assert(strstr(genbo_errmsg(), "/nonexistent-dir/x.bin") != NULL, "%s", genbo_errmsg());
    genbo_reward_free(m);
}
