/* fuzz_reward.c - the reward-model loader on arbitrary bytes (the CRC
 * re-sealed, so mutations reach the field checks): a status, never a
 * crash; a model it accepts predicts and differentiates finite designs
 * without a memory error, and saves to bytes that load back equal. */
#include "fuzz.h"
#include "genbo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) return 0;
    uint8_t *b = fuzz_reseal(data, size);
    genbo_reward *m = NULL;
    if (genbo_reward_load_buffer(b, size, &m) == GENBO_OK) {
        size_t d = genbo_reward_dim(m);
        double *X = calloc(2 * d, sizeof *X), *g = calloc(2 * d, sizeof *g), mean[2], var[2];
        for (size_t j = 0; j < d; j++) X[d + j] = 1.0 + (double)j;
        genbo_reward_predict(m, 2, X, mean, var);
        genbo_reward_gradient(m, 2, X, g);
        void *buf;
        size_t len;
        FUZZ_CHECK(genbo_reward_save_buffer(m, &buf, &len) == GENBO_OK, "save failed");
        genbo_reward *again = NULL;
        FUZZ_CHECK(genbo_reward_load_buffer(buf, len, &again) == GENBO_OK, "saved model does not load: %s",
                   genbo_errmsg());
        void *buf2;
        size_t len2;
        FUZZ_CHECK(genbo_reward_save_buffer(again, &buf2, &len2) == GENBO_OK && len2 == len &&
                       !memcmp(buf, buf2, len),
                   "save/load/save is not the identity");
        free(buf);
        free(buf2);
        genbo_reward_free(again);
        free(X);
        free(g);
        genbo_reward_free(m);
    }
    free(b);
    return 0;
}
