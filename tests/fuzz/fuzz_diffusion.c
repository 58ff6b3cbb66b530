/* fuzz_diffusion.c - the diffusion-model loader on arbitrary bytes (the
 * CRC re-sealed): a status, never a crash; a model it accepts samples two
 * designs in a few steps without a memory error or undefined behaviour
 * (finite, or a clear GENBO_ENUMERIC), and saves to the same bytes. */
#include <math.h>

#include "fuzz.h"
#include "genbo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) return 0;
    uint8_t *b = fuzz_reseal(data, size);
    genbo_diffusion *m = NULL;
    if (genbo_diffusion_load_buffer(b, size, &m) == GENBO_OK) {
        void *buf;
        size_t len;
        FUZZ_CHECK(genbo_diffusion_save_buffer(m, &buf, &len) == GENBO_OK, "save failed");
        FUZZ_CHECK(len == size && !memcmp(buf, b, size), "load/save is not the identity");
        free(buf);
        size_t D = genbo_diffusion_dim(m);
        if (D <= 64) {
            genbo_sample_params sp;
            genbo_sample_params_default(&sp);
            sp.steps = 2;
            sp.grad_mode = GENBO_GRAD_NONE;
            double *X = calloc(2 * D, sizeof *X);
            int rc = genbo_diffusion_sample(m, &sp, 0.5, 2, X);
            if (rc == GENBO_ESTATE) { /* trained without rewards */
                sp.conditional = 0;
                rc = genbo_diffusion_sample(m, &sp, 0.5, 2, X);
            }
            if (rc == GENBO_OK)
                for (size_t i = 0; i < 2 * D; i++) FUZZ_CHECK(isfinite(X[i]), "non-finite design returned as OK");
            free(X);
        }
        genbo_diffusion_free(m);
    }
    free(b);
    return 0;
}
