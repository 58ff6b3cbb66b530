/* train_internal.h - the training state shared by train.c, validate.c and
 * checkpoint.c (internal; tests include it). */
#ifndef GENBO_DIFFUSION_TRAIN_INTERNAL_H
#define GENBO_DIFFUSION_TRAIN_INTERNAL_H

#include "diffusion/diffusion_internal.h"

/* Fixed validation draws: x_t, eps, log t, y and the null flag of every
 * draw, made once from a seeded stream (validate.c). */
typedef struct genbo__gd_valset {
    size_t n;          /* draws */
    float *xt, *eps;   /* n x D */
    float *lt, *y;     /* n */
    uint8_t *nul;      /* n */
    int conditional;
    genbo__net_acts acts;      /* inference activations, GENBO__GD_VAL_CHUNK rows */
} genbo__gd_valset;

/* Draws per validation: enough that the loss of one set of weights is
 * estimated to ~1% (the loss of a draw has a relative sd of about 0.5). */
#define GENBO__GD_VAL_DRAWS 2048
#define GENBO__GD_VAL_CHUNK 512

typedef struct genbo__gd_trainer {
    const genbo__net_config *c;
    size_t P;
    float *mem;                       /* one allocation: w, g, m1, m2, ema, best */
    float *w, *g, *m1, *m2, *ema, *best;
    float *xb, *eps, *dout, *lt, *yb; /* batch buffers (one allocation) */
    uint8_t *nul;
    size_t *sel;                      /* the minibatch's data rows */
    double *tt;                       /* ... and diffusion times */
    genbo__net_acts acts;
    size_t *rows, n_rows;             /* training rows (indices into the data) */
    size_t *val_rows, n_val;          /* held-out rows (the tail of the same array) */
    genbo__gd_alias weighted;                /* row_weights over rows[0..n_rows) (n = 0: uniform) */
    genbo__gd_valset val;
    int have_val;
    genbo__rng rng;                    /* the minibatch stream */
    long step;                        /* optimiser steps done */
    int w_packed;                     /* bf16: the bf16 weights are w's (packed after the update) */
    int rows_unpackable;              /* bf16: a weight copy converts whole matrices only */
    double wsq[2 * GENBO__NET_MAX_DEPTH + 2]; /* bf16: each weight gradient's sum of squares (acts.wsq) */
    /* schedule and best-so-far */
    double lr_scale;                  /* plateau factor of the auto schedule */
    double best_val, last_val, last_train;
    double ref_val;                   /* loss at the last improvement by > tol */
    long best_step;
    int bad;                          /* evaluations since the last improvement > tol */
    double train_acc;                 /* training loss since the last evaluation */
    long train_cnt;
    long resumed_from;
    /* what a checkpoint must match */
    int ck_batch, ck_auto;
    uint64_t ck_seed;
    uint32_t ck_data_crc;
} genbo__gd_trainer;

void genbo__gd_trainer_free(genbo__gd_trainer *t);

/* validate.c: the seeded split of n rows into training and validation
 * rows (n_val = floor(val_fraction n), at most GENBO_VAL_MAX_ROWS, 0 when
 * fewer than 2 training rows would remain). */
int genbo__gd_split_rows(genbo__gd_trainer *t, const genbo_diffusion_params *p, size_t n);
int genbo__gd_valset_build(genbo__gd_valset *v, const genbo_diffusion *m, const genbo_diffusion_params *p,
                    const float *Xz, const float *yz, const size_t *rows, size_t n_rows);
/* Mean ||eps_hat - eps||^2 / D over the draws with weights w. */
double genbo__gd_valset_loss(genbo__gd_valset *v, const genbo_diffusion *m, const genbo_diffusion_params *p,
                      const float *w);
void genbo__gd_valset_free(genbo__gd_valset *v);

/* checkpoint.c: the whole trainer state as a versioned, checksummed
 * buffer, and back (checked against this training's shape and data). */
int genbo__gd_checkpoint_write(const genbo__gd_trainer *t, double elapsed, void **buf, size_t *len);
uint32_t genbo__gd_checkpoint_data_crc(size_t n, size_t D, const float *Xz, const float *yz);
int genbo__gd_checkpoint_read(genbo__gd_trainer *t, const genbo_diffusion_params *p, size_t n, const float *Xz,
                       const float *yz, const void *buf, size_t len, double *elapsed);

#endif
