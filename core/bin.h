/* bin.h - the one binary format of genbo's stored objects (reward and
 * diffusion models, training checkpoints) and the one file loader.
 *
 * A buffer is framed as
 *   4-byte magic | u32 format version | payload | u32 CRC-32 (IEEE) of every byte before it
 * and every number in it is little-endian whatever the host (the byte order
 * is written out explicitly, so a big-endian machine reads and writes the
 * same bytes; on a little-endian one the arrays are plain copies).
 * Internal. */
#ifndef GENBO_CORE_BIN_H
#define GENBO_CORE_BIN_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of the frame around a payload: magic + version before, CRC after. */
#define GENBO__BIN_FRAME (4 + 4 + 4)

/* A writer over one allocation of exactly the encoded size. */
typedef struct genbo__bin_writer {
    unsigned char *p;
    size_t len, cap;
} genbo__bin_writer;

/* Allocate magic + version + `payload` bytes + the CRC and write the
 * header; GENBO_ENOMEM on failure. */
int genbo__bin_begin(genbo__bin_writer *w, const char magic[4], uint32_t version, size_t payload);
void genbo__bin_put_u32(genbo__bin_writer *w, uint32_t v);
void genbo__bin_put_u64(genbo__bin_writer *w, uint64_t v);
void genbo__bin_put_f64(genbo__bin_writer *w, double v);
void genbo__bin_put_f32s(genbo__bin_writer *w, const float *x, size_t n);
void genbo__bin_put_f64s(genbo__bin_writer *w, const double *x, size_t n);
/* Append the CRC and hand the buffer over (*buf to free()). Every byte
 * announced to begin must have been written: a mismatch is a bug in the
 * caller's size formula and fails (GENBO_EINVAL) instead of writing a
 * buffer that would not load. */
int genbo__bin_end(genbo__bin_writer *w, void **buf, size_t *len);

/* A reader positioned after the header. Reading past the end yields zeros
 * and sets `overrun` (callers check the size first; this is the backstop). */
typedef struct genbo__bin_reader {
    const unsigned char *p;
    size_t len, pos;
    int overrun;
} genbo__bin_reader;

/* Check the frame's magic and version (vmin..vmax) and set up r. `what`
 * names the object in messages ("reward model"): GENBO_EFORMAT when the
 * magic is missing, GENBO_EVERSION for another version. The CRC is checked
 * apart (genbo__bin_crc_ok), so a caller can first say "truncated" when it
 * knows the size to expect. */
int genbo__bin_open(const void *buf, size_t len, const char magic[4], uint32_t vmin, uint32_t vmax,
                    const char *what, uint32_t *version, genbo__bin_reader *r);
/* 1 when the last 4 bytes are the CRC-32 of the ones before (len >= 4). */
int genbo__bin_crc_ok(const void *buf, size_t len);
uint32_t genbo__bin_get_u32(genbo__bin_reader *r);
uint64_t genbo__bin_get_u64(genbo__bin_reader *r);
double genbo__bin_get_f64(genbo__bin_reader *r);
void genbo__bin_get_f32s(genbo__bin_reader *r, float *x, size_t n);
void genbo__bin_get_f64s(genbo__bin_reader *r, double *x, size_t n);

/* CRC-32 of n floats as their little-endian bytes (the same value on every
 * host). */
uint32_t genbo__bin_crc_f32s(uint32_t crc, const float *x, size_t n);

/* The whole file at path, malloc'ed with a NUL after the last byte (*len
 * excludes it). `what` names the file in messages ("study file"); max > 0
 * refuses larger files (GENBO_EFORMAT). A read error - a directory gives
 * EISDIR at the first read, not at fopen - is an error, never an early end
 * of file. */
int genbo__file_read(const char *path, const char *what, size_t max, void **buf, size_t *len);
/* Write len bytes to path (created or truncated). */
int genbo__file_write(const char *path, const void *buf, size_t len);
/* The two ends of a model file, for every kind: save writes the buffer an
 * encoder returned with status rc (nothing when rc failed) and frees it;
 * decoded frees a buffer genbo__file_read returned once the decoder ran
 * with status rc. Either way a failure names the path. */
int genbo__file_save(const char *path, int rc, void *buf, size_t len);
int genbo__file_decoded(const char *path, int rc, void *buf);

#endif
