/* fuzz.h - shared by the libFuzzer targets (tests/fuzz/fuzz_*.c): each
 * defines LLVMFuzzerTestOneInput; `make fuzz` links them with libFuzzer
 * (clang), and `make check` links them with replay_main.c under
 * ASan/UBSan (any compiler) to replay the seed corpora and every past crash
 * input (tests/fuzz/corpus/<target>, tests/fuzz/crashes/<target>). A target
 * calls abort() when a property fails (not only on memory errors). */
#ifndef GENBO_FUZZ_H
#define GENBO_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property failed: say which and abort (libFuzzer saves the input). */
#define FUZZ_CHECK(cond, ...)                                  \
    do {                                                       \
        if (!(cond)) {                                         \
            fprintf(stderr, "fuzz property failed: " __VA_ARGS__); \
            fprintf(stderr, "\n");                             \
            abort();                                           \
        }                                                      \
    } while (0)

/* A per-process scratch file holding the input (for APIs that read paths). */
static inline const char *fuzz_file(const char *tag, const uint8_t *data, size_t size) {
    static char path[128];
    snprintf(path, sizeof path, "/tmp/genbo_fuzz_%s_%d", tag, (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    return path;
}

/* A copy with the trailing CRC-32 recomputed, so mutations reach the value
 * checks behind the checksum (the loaders' CRC covers all but the last 4
 * bytes, little-endian). */
uint32_t genbo__crc32(uint32_t crc, const void *data, size_t len);
static inline uint8_t *fuzz_reseal(const uint8_t *data, size_t size) {
    uint8_t *b = malloc(size ? size : 1);
    if (!b) abort();
    memcpy(b, data, size);
    if (size >= 8) {
        uint32_t c = genbo__crc32(0, b, size - 4);
        for (int i = 0; i < 4; i++) b[size - 4 + i] = (uint8_t)(c >> (8 * i));
    }
    return b;
}

#endif
