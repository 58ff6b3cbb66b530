/* train.c - denoising score matching with eps-prediction (step 3).
 *
 * Each step draws a minibatch (rows with replacement, times t, noise eps)
 * with the core RNG, forms x_t = alpha_t x_0 + sigma_t eps in standardised
 * coordinates, and minimises mean ||eps_hat(x_t, y, t) - eps||^2 with
 * AdamW, global-norm clipping and an EMA of the weights (used for
 * sampling). Rows lose their reward with probability p_uncond (they see
 * the learned null embedding) so one network gives both the conditional
 * and the unconditional score.
 *
 * A seeded val_fraction of the rows is held out. Every eval_every steps
 * the EMA weights are scored on a FIXED set of (x0, t, eps, null) draws
 * from those rows (validate.c), so two evaluations differ only by the
 * weights. With steps = GENBO_STEPS_AUTO the run keeps the best weights
 * and stops when the validation loss has not improved by a relative tol
 * for `patience` evaluations, or at max_steps / max_seconds. Because the
 * length is unknown, the learning rate cannot follow a cosine to a known
 * end: it warms up over the first evaluation interval, stays constant
 * while the loss improves, and halves on each plateau (patience/3
 * evaluations without improvement), which anneals the SGD noise exactly
 * when progress stalls. A fixed integer `steps` keeps the old schedule
 * (warm-up, cosine to 0) and returns the last EMA weights.
 *
 * The whole state can be checkpointed (checkpoint.c) and resumed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diffusion/kernels.h"
#include "diffusion/mm.h"
#include "diffusion/prof.h"
#include "diffusion/train_internal.h"

void genbo__gd_trainer_free(genbo__gd_trainer *t) {
    free(t->mem);
    free(t->xb);
    free(t->nul);
    free(t->sel);
    free(t->tt);
    free(t->val_rows); /* the base of both index arrays */
    genbo__gd_alias_free(&t->weighted);
    genbo__net_acts_free(&t->acts);
    genbo__gd_valset_free(&t->val);
}

static int trainer_init(genbo__gd_trainer *t, const genbo__net_config *c, size_t P, int B, int bf16) {
    memset(t, 0, sizeof *t);
    t->c = c;
    t->P = P;
    size_t D = (size_t)c->D;
    /* the weight gradients are written by the bf16 products: cache-line
     * aligned arrays (genbo__net_alloc64), each a whole number of lines */
    const size_t Pa = (P + 15) / 16 * 16;
    t->mem = genbo__net_alloc64(6 * Pa * sizeof(float));
    t->xb = genbo__malloc((3 * (size_t)B * D + 2 * (size_t)B) * sizeof(float));
    t->nul = genbo__calloc((size_t)B, 1);
    t->sel = genbo__malloc((size_t)B * sizeof *t->sel);
    t->tt = genbo__malloc((size_t)B * sizeof *t->tt);
    if (!t->mem || !t->xb || !t->nul || !t->sel || !t->tt || genbo__net_acts_alloc(c, B, 1, &t->acts)) {
        genbo__gd_trainer_free(t);
        return GENBO_ENOMEM;
    }
    /* bf16 products (net_bf16.c): every plan is built here, for B rows */
    int rc = bf16 ? genbo__net_acts_use_bf16(c, &t->acts) : GENBO_OK;
    if (rc) {
        genbo__gd_trainer_free(t);
        return rc;
    }
    /* bf16: the gradient norm from the backward pass's sums of squares,
     * the optimiser reading the weight gradients in bf16 (net.h) */
    if (bf16) t->acts.wsq = t->wsq, t->acts.wgrad16 = 1;
    t->w = t->mem;
    t->g = t->w + Pa;
    t->m1 = t->g + Pa;
    t->m2 = t->m1 + Pa;
    t->ema = t->m2 + Pa;
    t->best = t->ema + Pa;
    memset(t->m1, 0, P * sizeof(float));
    memset(t->m2, 0, P * sizeof(float));
    t->eps = t->xb + (size_t)B * D;
    t->dout = t->eps + (size_t)B * D;
    t->lt = t->dout + (size_t)B * D;
    t->yb = t->lt + B;
    t->best_val = INFINITY;
    t->ref_val = INFINITY;
    t->last_val = NAN;
    t->lr_scale = 1.0;
    return GENBO_OK;
}

/* Fixed steps: peak lr * linear warm-up, then cosine decay to 0. */
static double lr_fixed(const genbo_diffusion_params *p, long step) {
    long warm = (long)ceil(p->warmup * (double)p->steps);
    if (step < warm) return p->lr * (double)(step + 1) / (double)warm;
    double prog = p->steps > warm ? (double)(step - warm) / (double)(p->steps - warm) : 1.0;
    return p->lr * 0.5 * (1.0 + cos(M_PI * prog));
}

/* Auto: warm-up over the first evaluation interval, then the peak lr
 * times the plateau factor (halved on each plateau, see genbo__gd_after_eval). */
static double lr_auto(const genbo_diffusion_params *p, const genbo__gd_trainer *t, long step) {
    long warm = p->eval_every;
    double s = step < warm ? (double)(step + 1) / (double)warm : 1.0;
    return p->lr * s * t->lr_scale;
}

static double lr_at(const genbo_diffusion_params *p, const genbo__gd_trainer *t, long step) {
    return p->steps == GENBO_STEPS_AUTO ? lr_auto(p, t, step) : lr_fixed(p, step);
}

enum { DRAW_ROWS = 64 }; /* minibatch rows per noise stream */

/* The one place a training row is chosen (with replacement): uniform over
 * the training rows, or by p->row_weights (an alias table over them). */
static size_t draw_row(const genbo__gd_trainer *t, genbo__rng *rng) {
    if (t->weighted.n) return t->rows[genbo__gd_alias_draw(&t->weighted, rng)];
    return t->rows[genbo__rng_below(rng, t->n_rows)];
}

/* The alias table of p->row_weights restricted to the training rows (the
 * validation rows keep the uniform draw: the stopping rule judges the
 * model on the data as they are). */
static int build_weighted(genbo__gd_trainer *t, const genbo_diffusion_params *p) {
    if (!p->row_weights) return GENBO_OK;
    double *w = genbo__malloc(t->n_rows * sizeof *w);
    if (!w) return GENBO_ENOMEM;
    for (size_t k = 0; k < t->n_rows; k++) w[k] = p->row_weights[t->rows[k]];
    int rc = genbo__gd_alias_build(&t->weighted, t->n_rows, w);
    free(w);
    return rc ? genbo__fail_prefix(rc, "diffusion: row_weights") : GENBO_OK;
}

/* genbo__gd_adamw_update_rows' hook: a chunk of rows of the weight matrix
 * at params + off into the bf16 copies. */
typedef struct pack_rows_ctx {
    const genbo__net_config *c;
    genbo__net_acts *acts;
    const float *params;
    size_t off;
} pack_rows_ctx;

static int pack_rows(void *ctx, int r0, int r1) {
    const pack_rows_ctx *pc = ctx;
    return genbo__net_acts_load_weight_rows(pc->c, pc->acts, pc->params, pc->off, r0, r1);
}

/* ... for a copy that converts whole only (packed after the update) */
static int pack_none(void *ctx, int r0, int r1) {
    (void)ctx, (void)r0, (void)r1;
    return 0;
}

/* bf16: the gradient's norm from the weight matrices' sums of squares,
 * which the backward pass took while each was in cache (acts.wsq), and
 * the biases and null embedding (a few KB) read here; a fixed order. */
static double grad_norm_bf16(const genbo__gd_trainer *t) {
    size_t bounds[2 * GENBO__NET_MAX_DEPTH + 3];
    const int ns = genbo__net_weight_segments(t->c, bounds);
    double s = 0;
    for (int k = 0; k < ns; k++) {
        int R, C;
        genbo__net_segment_matrix(t->c, k, &R, &C);
        const size_t nm = (size_t)R * C;
        s += t->wsq[k] + genbo__k_sumsq(t->g + bounds[k] + nm, bounds[k + 1] - bounds[k] - nm);
    }
    return sqrt(s);
}

/* One optimiser step on a fresh minibatch; returns its loss. */
static double train_step(genbo__gd_trainer *t, const genbo_diffusion *m, const genbo_diffusion_params *p,
                         const float *Xz, const float *yz) {
    const genbo__net_config *c = t->c;
    const int B = p->batch, D = c->D;
    const double t0 = m->t0, T = m->T, lt0 = log(t0), lT = log(T);
    genbo__rng *rng = &t->rng;
    /* the optimiser and the gradient norm run on OpenMP's threads in both
     * precisions (fp32 too, although OpenBLAS's own threads may still spin
     * after its last product: measured, W1 fp32 at 2 threads, AdamW 3.6 ->
     * 1.5 ms and the norm 3.4 -> 0.5 ms, the step 4-7% faster); the
     * minibatch's noise in bf16 only (the draw is 0.5 ms of a W1 fp32 step of 64) */
    const int par = t->acts.bf != NULL;
    GENBO__PROF_START();
    /* the minibatch: each row's data row, time and condition in order from
     * the trainer's stream; then its noise and noised row in blocks of
     * DRAW_ROWS rows, each block from its own stream seeded by one draw of
     * the trainer's per step, so that the blocks can run in parallel and
     * the values do not depend on the thread count (measured, W1 at two
     * threads: 0.69-0.97 ms a step in one stream, 0.34-0.35 in blocks) */
    for (int i = 0; i < B; i++) {
        t->sel[i] = draw_row(t, rng);
        double u = genbo__rng_uniform(rng);
        t->tt[i] = p->time_sampling == GENBO_TIME_UNIFORM ? t0 + u * (T - t0) : exp(lt0 + u * (lT - lt0));
        if (yz) {
            t->yb[i] = yz[t->sel[i]];
            t->nul[i] = genbo__rng_uniform(rng) < p->p_uncond;
        }
    }
    const uint64_t noise_seed = genbo__rng_u64(rng);
    const int nblocks = (B + DRAW_ROWS - 1) / DRAW_ROWS;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (par && nblocks > 1)
#endif
    for (int b = 0; b < nblocks; b++) {
        genbo__rng rb;
        genbo__rng_seed(&rb, noise_seed, (uint64_t)b);
        const int i1 = (b + 1) * DRAW_ROWS < B ? (b + 1) * DRAW_ROWS : B;
        for (int i = b * DRAW_ROWS; i < i1; i++) {
            genbo__sched_coef k = genbo__sched_schedule(m->schedule, m->T, t->tt[i]);
            t->lt[i] = (float)log(t->tt[i]);
            const float *x0 = Xz + t->sel[i] * D;
            float *xr = t->xb + (size_t)i * D, *er = t->eps + (size_t)i * D;
            genbo__rng_normal_f(&rb, er, (size_t)D); /* the ziggurat: 5 against 18 ns a draw */
            for (int j = 0; j < D; j++) xr[j] = (float)(k.alpha * x0[j] + k.sigma * er[j]);
        }
    }
    /* bf16: the products read a bf16 copy of this step's weights. Neither
     * call can fail here: the plans for B rows exist since trainer_init. */
    GENBO__PROF(GENBO__PROF_DRAW);
    if (!t->w_packed) (void)genbo__net_acts_load_weights(c, &t->acts, t->w);
    GENBO__PROF(GENBO__PROF_WLOAD);
    (void)genbo__net_forward(c, t->w, &t->acts, B, t->xb, t->lt, yz ? t->yb : NULL, t->nul);
    GENBO__PROF_SKIP(); /* the pass times its own phases */
    double loss = 0;
    const float scale = 2.0f / (float)((size_t)B * D);
    for (size_t k = 0; k < (size_t)B * D; k++) {
        float d = t->acts.out[k] - t->eps[k];
        loss += (double)d * d;
        t->dout[k] = scale * d;
    }
    loss /= (double)B * D;
    if (!isfinite(loss)) return loss;
    GENBO__PROF(GENBO__PROF_LOSS);
    (void)genbo__net_backward(c, t->w, t->g, &t->acts, B, t->dout, yz ? t->yb : NULL, t->nul, NULL);
    GENBO__PROF_SKIP();
    double gn = par ? grad_norm_bf16(t) : genbo__gd_grad_norm(t->g, t->P);
    double gscale = p->clip > 0 && gn > p->clip ? p->clip / gn : 1.0;
    GENBO__PROF(GENBO__PROF_NORM);
    /* EMA warm-up: early on, average over the steps so far only, so a
     * short run's EMA is not dominated by the random initialisation */
    long step = t->step;
    double ed = fmin(p->ema, (1.0 + step) / (10.0 + step));
    const double lr = lr_at(p, t, step);
    if (par) {
        /* a weight matrix at a time, in chunks of rows, each chunk packed
         * into its bf16 copies for the next step right after its update,
         * from cache (each element's update does not depend on the split).
         * Packed after the pass over all parameters, each matrix was read
         * back from memory; a matrix at a time, from L3: measured (8 of
         * W1's 512 x 512, one thread, interleaved), 2.1 ms of packing after
         * the updates against 0.9 ms for the same packing from cache. */
        size_t bounds[2 * GENBO__NET_MAX_DEPTH + 3];
        const int ns = genbo__net_weight_segments(c, bounds);
        for (int k = 0; k < ns; k++) {
            const size_t lo = bounds[k], n = bounds[k + 1] - lo;
            int R, C;
            genbo__net_segment_matrix(c, k, &R, &C);
            const size_t nm = (size_t)R * C; /* the matrix; its biases follow */
            pack_rows_ctx pc = {c, &t->acts, t->w, lo};
            const uint16_t *g16 = genbo__net_acts_weight_grad16(c, &t->acts, k);
            int packed = !genbo__gd_adamw_update_rows(t->w + lo, t->g + lo, g16, t->m1 + lo, t->m2 + lo,
                                                      t->ema + lo, R, C, GENBO__MM_ROW_CHUNK, lr,
                                                      p->weight_decay, gscale, step, ed,
                                                      t->rows_unpackable ? pack_none : pack_rows, &pc);
            packed = packed && !t->rows_unpackable;
            t->rows_unpackable = !packed; /* a copy that converts whole only */
            genbo__gd_adamw_update_par(t->w + lo + nm, t->g + lo + nm, t->m1 + lo + nm, t->m2 + lo + nm,
                                       t->ema + lo + nm, n - nm, lr, p->weight_decay, gscale, step, ed);
            if (!packed) (void)genbo__net_acts_load_weights_range(c, &t->acts, t->w, lo, lo + n);
        }
        t->w_packed = 1;
    } else {
        genbo__gd_adamw_update_par(t->w, t->g, t->m1, t->m2, t->ema, t->P, lr, p->weight_decay, gscale,
                                   step, ed);
    }
    GENBO__PROF(GENBO__PROF_ADAM);
    GENBO__PROF_STEP_END();
    t->step++;
    return loss;
}

/* Book-keeping after an evaluation: best weights, plateaus, stop. Returns
 * 1 when an auto run has converged. */
static int after_eval(genbo__gd_trainer *t, const genbo_diffusion_params *p, double val) {
    t->last_val = val;
    if (!(val >= t->best_val)) { /* the best weights so far (any improvement) */
        t->best_val = val;
        t->best_step = t->step;
        memcpy(t->best, t->ema, t->P * sizeof(float));
    }
    /* progress counts against the loss of the last counted improvement, so
     * a slow but steady fall adds up to tol and is not taken for a plateau */
    if (!(val >= t->ref_val * (1.0 - p->tol))) {
        t->ref_val = val;
        t->bad = 0;
        return 0;
    }
    t->bad++;
    if (p->steps != GENBO_STEPS_AUTO) return 0;
    int drop_every = p->patience >= 3 ? p->patience / 3 : 1;
    if (t->bad >= p->patience) return 1;
    if (t->bad % drop_every == 0) t->lr_scale *= 0.5;
    return 0;
}

static void fill_report(const genbo__gd_trainer *t, const genbo_diffusion_params *p, genbo_train_stop stop,
                        double seconds) {
    genbo_train_report *r = p->report;
    if (!r) return;
    memset(r, 0, sizeof *r);
    r->stop = stop;
    r->steps = t->step;
    r->best_step = t->have_val ? t->best_step : t->step;
    r->best_val_loss = t->have_val ? t->best_val : NAN;
    r->val_loss = t->have_val ? t->last_val : NAN;
    r->train_loss = t->last_train;
    r->seconds = seconds;
    r->resumed_from = t->resumed_from;
    r->n_train = t->n_rows;
    r->n_val = t->n_val;
    r->val_seed = p->seed;
    r->width = t->c->width;
    r->depth = t->c->depth;
    r->batch = p->batch;
}

/* Checkpoint through the caller's callback. */
static int save_checkpoint(genbo__gd_trainer *t, const genbo_diffusion_params *p, double elapsed) {
    if (!p->checkpoint) return GENBO_OK;
    void *buf;
    size_t len;
    int rc = genbo__gd_checkpoint_write(t, elapsed, &buf, &len);
    if (rc) return rc;
    rc = p->checkpoint(p->checkpoint_ctx, t->step, buf, len);
    free(buf);
    if (rc) return genbo__fail(GENBO_ESTATE, "diffusion: storing the training checkpoint failed");
    return GENBO_OK;
}

/* The loop shared by train and finetune. Xz (n x D) and yz (n, or NULL)
 * are standardised; p is resolved (no auto width / batch). On success the
 * returned weights (best for auto, last EMA for fixed steps) are copied
 * to m->params; on failure m is untouched. */
static int train_loop(genbo_diffusion *m, const genbo_diffusion_params *p, size_t n,
                      const float *Xz, const float *yz, const float *init) {
    const genbo__net_config *c = &m->cfg;
    const int B = p->batch;
    const int is_auto = p->steps == GENBO_STEPS_AUTO;
    const long limit = is_auto ? p->max_steps : p->steps;
    genbo__gd_trainer t;
    const int prec = genbo_precision_resolve(p->precision);
    if (prec < 0) return GENBO_EINVAL;
    int rc = trainer_init(&t, c, m->n_params, B, prec == GENBO_PRECISION_BF16);
    if (!rc) rc = genbo__gd_split_rows(&t, p, n);
    if (!rc) rc = build_weighted(&t, p);
    if (!rc) rc = genbo__gd_valset_build(&t.val, m, p, Xz, yz, t.n_val ? t.val_rows : t.rows,
                                  t.n_val ? t.n_val : t.n_rows);
    if (rc) {
        genbo__gd_trainer_free(&t);
        return rc;
    }
    t.have_val = 1;
    t.ck_batch = B;
    t.ck_auto = is_auto;
    t.ck_seed = p->seed;
    t.ck_data_crc = genbo__gd_checkpoint_data_crc(n, (size_t)c->D, Xz, yz);
    memcpy(t.w, init, t.P * sizeof(float));
    memcpy(t.ema, init, t.P * sizeof(float));
    memcpy(t.best, init, t.P * sizeof(float));
    genbo__rng_seed(&t.rng, p->seed, 0x7472u /* "tr" */);
    double before = 0; /* seconds spent before a resumed checkpoint */
    if (p->resume && (rc = genbo__gd_checkpoint_read(&t, p, n, Xz, yz, p->resume, p->resume_len, &before))) {
        genbo__gd_trainer_free(&t);
        return rc;
    }
    t.resumed_from = p->resume ? t.step : 0;

    const long report_every = limit >= 100 ? limit / 100 : 1;
    double t_start = genbo__now(), t_last = t_start, t_ckpt = t_start;
    genbo_train_stop stop = is_auto ? GENBO_STOP_MAX_STEPS : GENBO_STOP_STEPS;
    int stop_now = t.step >= limit;
    while (!stop_now) {
        double loss = train_step(&t, m, p, Xz, yz);
        if (!isfinite(loss)) {
            genbo__gd_trainer_free(&t);
            return genbo__fail(GENBO_ENUMERIC,
                               "diffusion: training diverged at step %ld (loss %g); "
                               "lower lr or raise clip",
                               t.step, loss);
        }
        t.train_acc += loss;
        t.train_cnt++;
        double now = genbo__now(), elapsed = before + (now - t_start);
        int over_time = is_auto && p->max_seconds > 0 && elapsed >= p->max_seconds;
        int at_end = t.step >= limit || over_time;
        int interrupted = 0;
        if (t.step % p->eval_every == 0 || at_end) {
            GENBO__PROF_START();
            double val = genbo__gd_valset_loss(&t.val, m, p, t.ema);
            GENBO__PROF(GENBO__PROF_VAL);
            t.last_train = t.train_acc / (double)t.train_cnt;
            t.train_acc = 0;
            t.train_cnt = 0;
            int converged = after_eval(&t, p, val);
            if (p->on_eval) {
                genbo_train_point pt = {t.step, t.last_train, val, lr_at(p, &t, t.step - 1), elapsed};
                interrupted |= p->on_eval(p->eval_ctx, &pt) != 0;
            }
            if (converged) {
                stop = GENBO_STOP_CONVERGED;
                stop_now = 1;
            } else if (over_time) {
                stop = GENBO_STOP_MAX_SECONDS;
                stop_now = 1;
            } else if (at_end) {
                stop_now = 1;
            }
            if (!stop_now && !interrupted && now - t_ckpt >= p->checkpoint_seconds) {
                if ((rc = save_checkpoint(&t, p, elapsed))) break;
                t_ckpt = genbo__now();
            }
        }
        /* progress about every 1% of the budget or once a second */
        if (!interrupted && p->progress && (stop_now || t.step % report_every == 0 || now - t_last >= 1.0)) {
            char msg[160];
            double rate = (double)(t.step - t.resumed_from) * B / fmax(now - t_start, 1e-9);
            if (t.best_step > 0)
                snprintf(msg, sizeof msg, "%sloss %.4f, val %.4f (best %.4f at %ld), %.0f samples/s",
                         is_auto ? "auto: " : "", t.last_train, t.last_val, t.best_val, t.best_step, rate);
            else
                snprintf(msg, sizeof msg, "%sloss %.4f, %.0f samples/s", is_auto ? "auto: " : "", loss, rate);
            t_last = now;
            interrupted = p->progress(p->progress_ctx, "train", t.step, limit, msg) != 0;
        }
        if (interrupted) {
            fill_report(&t, p, GENBO_STOP_INTERRUPTED, before + genbo__now() - t_start);
            rc = save_checkpoint(&t, p, elapsed);
            genbo__gd_trainer_free(&t);
            if (rc) return rc;
            return genbo__fail(GENBO_ESTATE, "diffusion: training interrupted at step %ld%s", t.step,
                               p->checkpoint ? " (checkpoint stored)" : "");
        }
    }
    if (!rc) {
        fill_report(&t, p, stop, before + genbo__now() - t_start);
        memcpy(m->params, is_auto ? t.best : t.ema, t.P * sizeof(float));
        m->precision = (genbo_precision)prec;
    }
    genbo__gd_trainer_free(&t);
    return rc;
}

static int check_data(size_t n, size_t D, const double *X, const double *y) {
    if (n == 0) return genbo__fail(GENBO_EINVAL, "diffusion: no training rows (n = 0)");
    if (!X) return genbo__fail(GENBO_EINVAL, "diffusion: X is NULL");
    for (size_t i = 0; i < n * D; i++)
        if (!isfinite(X[i]))
            return genbo__fail(GENBO_EINVAL, "diffusion: X[%zu][%zu] is not finite", i / D,
                               i % D);
    if (y)
        for (size_t i = 0; i < n; i++)
            if (!isfinite(y[i]))
                return genbo__fail(GENBO_EINVAL, "diffusion: y[%zu] is not finite", i);
    return GENBO_OK;
}

/* Standardise with the model's stored mean/sd into float arrays. */
static int standardise(const genbo_diffusion *m, size_t n, const double *X, const double *y,
                       float **Xz, float **yz) {
    size_t D = (size_t)m->cfg.D, nd;
    *Xz = NULL;
    *yz = NULL;
    if (!genbo__mul_ok(n, D, &nd) || !(*Xz = genbo__malloc(nd * sizeof(float))))
        return GENBO_ENOMEM;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < D; j++)
            (*Xz)[i * D + j] = (float)((X[i * D + j] - m->x_mean[j]) / m->x_sd[j]);
    if (y) {
        if (!(*yz = genbo__malloc(n * sizeof(float)))) {
            free(*Xz);
            *Xz = NULL;
            return GENBO_ENOMEM;
        }
        for (size_t i = 0; i < n; i++) (*yz)[i] = (float)((y[i] - m->y_mean) / m->y_sd);
    }
    return GENBO_OK;
}

int genbo_diffusion_train(const genbo_diffusion_params *p_in, size_t n, size_t D,
                          const double *X, const double *y, genbo_diffusion **out) {
    if (!out) return genbo__fail(GENBO_EINVAL, "diffusion_train: out is NULL");
    *out = NULL;
    int rc = genbo__gd_check_params(p_in);
    if (rc) return rc;
    if (D < 1 || D > 65536)
        return genbo__fail(GENBO_EINVAL, "diffusion_train: dimension D must be in [1, 65536]");
    if ((rc = check_data(n, D, X, y))) return rc;
    genbo_diffusion_params q = *p_in;
    genbo_diffusion_params_resolve(&q, n, D);
    const genbo_diffusion_params *p = &q;

    genbo__net_config c = {(int)D, p->width, p->depth, p->t_embed, p->y_embed};
    genbo_diffusion *m;
    if ((rc = genbo__gd_model_alloc(&c, &m))) return rc;
    m->schedule = p->schedule;
    m->t0 = p->t0;
    m->T = p->T;
    m->conditional = y != NULL;
    /* per-feature mean and sample sd (constant feature: sd 1) */
    genbo__column_stats(n, NULL, D, X, 1, m->x_mean, m->x_sd);
    m->y_mean = 0.0;
    m->y_sd = 1.0;
    if (y) {
        double s = 0, s2 = 0;
        for (size_t i = 0; i < n; i++) s += y[i];
        double mu = s / (double)n;
        for (size_t i = 0; i < n; i++) s2 += (y[i] - mu) * (y[i] - mu);
        double sd = n > 1 ? sqrt(s2 / (double)(n - 1)) : 0.0;
        m->y_mean = mu;
        m->y_sd = sd > 1e-12 * (1.0 + fabs(mu)) ? sd : 1.0;
    }

    float *Xz, *yz;
    if ((rc = standardise(m, n, X, y, &Xz, &yz))) {
        genbo_diffusion_free(m);
        return rc;
    }
    float *init = genbo__malloc(m->n_params * sizeof(float));
    if (!init) {
        rc = GENBO_ENOMEM;
    } else {
        genbo__rng rng;
        genbo__rng_seed(&rng, p->seed, 0x696eu /* "in" */);
        genbo__net_init_params(&c, init, &rng);
        rc = train_loop(m, p, n, Xz, yz, init);
    }
    free(init);
    free(Xz);
    free(yz);
    if (rc) {
        genbo_diffusion_free(m);
        return rc;
    }
    *out = m;
    return GENBO_OK;
}

int genbo_diffusion_finetune(genbo_diffusion *m, const genbo_diffusion_params *p_in, size_t n,
                             const double *X, const double *y) {
    if (!m) return genbo__fail(GENBO_EINVAL, "diffusion_finetune: model is NULL");
    int rc = genbo__gd_check_params(p_in);
    if (rc) return rc;
    if (y && !m->conditional)
        return genbo__fail(GENBO_EINVAL,
                           "diffusion_finetune: model was trained without rewards, y must be NULL");
    if ((rc = check_data(n, (size_t)m->cfg.D, X, y))) return rc;
    /* the model's shape wins over the params' network fields */
    genbo_diffusion_params q = *p_in;
    q.width = m->cfg.width;
    q.depth = m->cfg.depth;
    q.t_embed = m->cfg.t_embed;
    q.y_embed = m->cfg.y_embed;
    genbo_diffusion_params_resolve(&q, n, (size_t)m->cfg.D);
    float *Xz, *yz;
    if ((rc = standardise(m, n, X, y, &Xz, &yz))) return rc;
    /* a copy of the start weights: train_loop overwrites m->params only on success */
    float *init = genbo__malloc(m->n_params * sizeof(float));
    if (!init) {
        rc = GENBO_ENOMEM;
    } else {
        memcpy(init, m->params, m->n_params * sizeof(float));
        rc = train_loop(m, &q, n, Xz, yz, init);
    }
    free(init);
    free(Xz);
    free(yz);
    return rc;
}
