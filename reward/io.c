/* io.c - the reward model's versioned binary format (file and buffer).
 *
 * Layout, all little-endian:
 *   "GNBR" | u32 format version | u32 kind | u64 d | u64 n (GP training rows;
 *   ridge: 0, or from version 3 on the rank r of the low-rank form)
 *   | payload | u32 CRC-32 of every byte before it.
 * ridge payload: u32 select, u32 kfold, f64 lambda, score, y_mean, y_sd (version 2 on),
 *                x_mean[d], x_sd[d], theta[d], then ainv[d*d] (n = 0)
 *                or Vt[r*d], shrink[r] (n = r > 0: wide data, n < d, version 3 on)
 * gp payload:    u32 kernel, u32 ard, u64 n_tune, f64 sf2, sn2, lml, y_mean, y_sd,
 *                x_mean[d], x_sd[d], ell[d], xs[n*d], alpha[n], L lower triangle by rows
 *                (n(n+1)/2).
 * Version 1 (no ridge y_sd) is still read; its y_sd reads as 0 (unknown). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bin.h"
#include "core/core.h"
#include "reward/reward.h"

#define REWARD_MAGIC "GNBR"
#define REWARD_FORMAT_VERSION 3u
/* Every stored number must be finite and at most this in magnitude: a model
 * outside it is corrupt (it would overflow in predict). */
#define REWARD_VALUE_MAX 1e150
#define HEADER_BYTES (4 + 4 + 4 + 8 + 8)
#define MAX_D ((uint64_t)1 << 20)
#define MAX_N ((uint64_t)1 << 24)

/* ---- writer --------------------------------------------------------------- */

/* Exact encoded size, so one allocation holds it. */
static size_t encoded_size(uint32_t version, genbo_reward_kind kind, uint64_t d, uint64_t n) {
    size_t body = kind == GENBO_REWARD_RIDGE
                      ? 4 + 4 + 8 * ((version >= 2 ? 4 : 3) + 3 * d + (n ? n * d + n : d * d))
                      : 4 + 4 + 8 + 8 * (5 + 3 * d + n * d + n + n * (n + 1) / 2);
    return HEADER_BYTES + body + 4;
}

int genbo_reward_save_buffer(const genbo_reward *m, void **buf, size_t *len) {
    if (!m || !buf || !len) return genbo__fail(GENBO_EINVAL, "genbo_reward_save_buffer: NULL argument");
    size_t d = m->d, n = m->kind == GENBO_REWARD_GP ? m->gp.n : m->ridge.rank;
    genbo__bin_writer w;
    if (genbo__bin_begin(&w, REWARD_MAGIC, REWARD_FORMAT_VERSION,
                         encoded_size(REWARD_FORMAT_VERSION, m->kind, d, n) - GENBO__BIN_FRAME))
        return GENBO_ENOMEM;
    genbo__bin_put_u32(&w, (uint32_t)m->kind);
    genbo__bin_put_u64(&w, d);
    genbo__bin_put_u64(&w, n);
    if (m->kind == GENBO_REWARD_RIDGE) {
        const genbo__ridge_model *r = &m->ridge;
        genbo__bin_put_u32(&w, (uint32_t)r->select);
        genbo__bin_put_u32(&w, (uint32_t)r->kfold);
        genbo__bin_put_f64(&w, r->lambda);
        genbo__bin_put_f64(&w, r->score);
        genbo__bin_put_f64(&w, r->y_mean);
        genbo__bin_put_f64(&w, r->y_sd);
        genbo__bin_put_f64s(&w, m->x_mean, d);
        genbo__bin_put_f64s(&w, m->x_sd, d);
        genbo__bin_put_f64s(&w, r->theta, d);
        if (n) {
            genbo__bin_put_f64s(&w, r->vt, n * d);
            genbo__bin_put_f64s(&w, r->shrink, n);
        } else {
            genbo__bin_put_f64s(&w, r->ainv, d * d);
        }
    } else {
        const genbo__gp_model *g = &m->gp;
        genbo__bin_put_u32(&w, (uint32_t)g->kernel);
        genbo__bin_put_u32(&w, (uint32_t)g->ard);
        genbo__bin_put_u64(&w, g->n_tune);
        genbo__bin_put_f64(&w, g->sf2);
        genbo__bin_put_f64(&w, g->sn2);
        genbo__bin_put_f64(&w, g->lml);
        genbo__bin_put_f64(&w, g->y_mean);
        genbo__bin_put_f64(&w, g->y_sd);
        genbo__bin_put_f64s(&w, m->x_mean, d);
        genbo__bin_put_f64s(&w, m->x_sd, d);
        genbo__bin_put_f64s(&w, g->ell, d);
        genbo__bin_put_f64s(&w, g->xs, n * d);
        genbo__bin_put_f64s(&w, g->alpha, n);
        for (size_t i = 0; i < n; i++) genbo__bin_put_f64s(&w, g->chol + i * n, i + 1);
    }
    return genbo__bin_end(&w, buf, len);
}

/* ---- reader --------------------------------------------------------------- */

/* Every value finite and within REWARD_VALUE_MAX. */
static int check_values(const char *what, const double *x, size_t k) {
    for (size_t i = 0; i < k; i++)
        if (!(fabs(x[i]) <= REWARD_VALUE_MAX))
            return genbo__fail(GENBO_EFORMAT, "bad reward model: %s[%zu] = %g (need finite, |v| <= %g)", what, i,
                               x[i], REWARD_VALUE_MAX);
    return GENBO_OK;
}

int genbo_reward_load_buffer(const void *buf, size_t len, genbo_reward **out) {
    if (!out) return genbo__fail(GENBO_EINVAL, "genbo_reward_load_buffer: out is NULL");
    *out = NULL;
    if (!buf) return genbo__fail(GENBO_EINVAL, "genbo_reward_load_buffer: buffer is NULL");
    genbo__bin_reader r;
    uint32_t version;
    int rc = genbo__bin_open(buf, len, REWARD_MAGIC, 1, REWARD_FORMAT_VERSION, "reward model", &version, &r);
    if (rc) return rc;
    if (len < HEADER_BYTES + 4)
        return genbo__fail(GENBO_EFORMAT, "truncated reward model: %zu bytes", len);
    uint32_t kind = genbo__bin_get_u32(&r);
    uint64_t d = genbo__bin_get_u64(&r), n = genbo__bin_get_u64(&r);
    int header_ok = (kind == GENBO_REWARD_RIDGE && (n == 0 || (version >= 3 && n < d)) && d >= 1 && d <= MAX_D) ||
                    (kind == GENBO_REWARD_GP && n >= 2 && n <= MAX_N && d >= 1 && d <= MAX_D);
    size_t expect = header_ok ? encoded_size(version, (genbo_reward_kind)kind, d, n) : 0;
    if (!genbo__bin_crc_ok(buf, len)) {
        if (header_ok && len < expect)
            return genbo__fail(GENBO_EFORMAT, "truncated reward model: %zu bytes, expected %zu",
                               len, expect);
        return genbo__fail(GENBO_EFORMAT, "corrupt reward model: checksum mismatch");
    }
    if (!header_ok)
        return genbo__fail(GENBO_EFORMAT, "bad reward model header: kind %u, d %llu, n %llu",
                           kind, (unsigned long long)d, (unsigned long long)n);
    if (len != expect)
        return genbo__fail(GENBO_EFORMAT, "reward model size %zu does not match its dims (%zu)",
                           len, expect);

    genbo_reward *m = genbo__reward_alloc((genbo_reward_kind)kind, (size_t)d);
    if (!m) return GENBO_ENOMEM;
    if (kind == GENBO_REWARD_RIDGE) {
        genbo__ridge_model *rf = &m->ridge;
        uint32_t select = genbo__bin_get_u32(&r);
        rf->kfold = (int)genbo__bin_get_u32(&r);
        rf->select = (genbo_lambda_select)select;
        rf->lambda = genbo__bin_get_f64(&r);
        rf->score = genbo__bin_get_f64(&r);
        rf->y_mean = genbo__bin_get_f64(&r);
        rf->y_sd = version >= 2 ? genbo__bin_get_f64(&r) : 0.0;
        rf->rank = (size_t)n;
        rf->theta = genbo__malloc(d * sizeof(double));
        if (n) {
            rf->vt = genbo__malloc(n * d * sizeof(double));
            rf->shrink = genbo__malloc(n * sizeof(double));
        } else {
            rf->ainv = genbo__malloc(d * d * sizeof(double));
        }
        if (!rf->theta || (n ? !rf->vt || !rf->shrink : !rf->ainv)) {
            rc = GENBO_ENOMEM;
            goto done;
        }
        genbo__bin_get_f64s(&r, m->x_mean, d);
        genbo__bin_get_f64s(&r, m->x_sd, d);
        genbo__bin_get_f64s(&r, rf->theta, d);
        if (n) {
            genbo__bin_get_f64s(&r, rf->vt, n * d);
            genbo__bin_get_f64s(&r, rf->shrink, n);
        } else {
            genbo__bin_get_f64s(&r, rf->ainv, d * d);
        }
        if (select > GENBO_LAMBDA_FIXED) {
            rc = genbo__fail(GENBO_EFORMAT, "bad reward model: lambda selection %u", select);
            goto done;
        }
        if ((select == GENBO_LAMBDA_KFOLD) != (rf->kfold != 0) || rf->kfold < 0 || rf->kfold > 1000) {
            rc = genbo__fail(GENBO_EFORMAT, "bad reward model: kfold %d with lambda selection %u", rf->kfold, select);
            goto done;
        }
        if (!(rf->lambda >= 0) || (n && !(rf->lambda > 0)) || !(rf->lambda <= REWARD_VALUE_MAX) ||
            (select != GENBO_LAMBDA_FIXED && !(fabs(rf->score) <= REWARD_VALUE_MAX))) {
            rc = genbo__fail(GENBO_EFORMAT, "bad reward model: lambda %g, score %g", rf->lambda, rf->score);
            goto done;
        }
        if (!(rf->y_sd >= 0 && rf->y_sd <= REWARD_VALUE_MAX)) {
            rc = genbo__fail(GENBO_EFORMAT, "bad reward model: label sd %g", rf->y_sd);
            goto done;
        }
        if ((rc = check_values("y_mean", &rf->y_mean, 1)) || (rc = check_values("theta", rf->theta, d)) ||
            (n ? (rc = check_values("Vt", rf->vt, n * d)) || (rc = check_values("shrink", rf->shrink, n))
               : (rc = check_values("ainv", rf->ainv, d * d))))
            goto done;
        for (size_t j = 0; j < n; j++)
            if (!(rf->shrink[j] >= 0 && rf->shrink[j] <= 1)) {
                rc = genbo__fail(GENBO_EFORMAT, "bad reward model: shrink[%zu] = %g is not in [0, 1]", j, rf->shrink[j]);
                goto done;
            }
        for (size_t j = 0; !n && j < d; j++)
            if (!(rf->ainv[j * d + j] >= 0)) {
                rc = genbo__fail(GENBO_EFORMAT, "bad reward model: ainv[%zu][%zu] = %g < 0", j, j, rf->ainv[j * d + j]);
                goto done;
            }
    } else {
        genbo__gp_model *g = &m->gp;
        uint32_t kernel = genbo__bin_get_u32(&r);
        g->kernel = (genbo_kernel)kernel;
        g->ard = (int)genbo__bin_get_u32(&r);
        g->n = (size_t)n;
        g->n_tune = (size_t)genbo__bin_get_u64(&r);
        g->sf2 = genbo__bin_get_f64(&r);
        g->sn2 = genbo__bin_get_f64(&r);
        g->lml = genbo__bin_get_f64(&r);
        g->y_mean = genbo__bin_get_f64(&r);
        g->y_sd = genbo__bin_get_f64(&r);
        g->ell = genbo__malloc(d * sizeof(double));
        g->xs = genbo__malloc(n * d * sizeof(double));
        g->xs_sq = genbo__malloc(n * sizeof(double));
        g->alpha = genbo__malloc(n * sizeof(double));
        g->chol = genbo__calloc(n * n, sizeof(double));
        if (!g->ell || !g->xs || !g->xs_sq || !g->alpha || !g->chol) {
            rc = GENBO_ENOMEM;
            goto done;
        }
        genbo__bin_get_f64s(&r, m->x_mean, d);
        genbo__bin_get_f64s(&r, m->x_sd, d);
        genbo__bin_get_f64s(&r, g->ell, d);
        genbo__bin_get_f64s(&r, g->xs, n * d);
        genbo__bin_get_f64s(&r, g->alpha, n);
        for (size_t i = 0; i < n; i++) genbo__bin_get_f64s(&r, g->chol + i * n, i + 1);
        if (kernel > GENBO_KERNEL_MATERN52 || g->ard < 0 || g->ard > 1 || g->n_tune > g->n) {
            rc = genbo__fail(GENBO_EFORMAT, "bad reward model: kernel %u, ard %d, n_tune %zu of %zu", kernel,
                             g->ard, g->n_tune, g->n);
            goto done;
        }
        if (!(g->sf2 > 0) || !(g->sn2 > 0) || !(g->y_sd > 0) || !(g->sf2 <= REWARD_VALUE_MAX) ||
            !(g->sn2 <= REWARD_VALUE_MAX) || !(g->y_sd <= REWARD_VALUE_MAX)) {
            rc = genbo__fail(GENBO_EFORMAT, "bad reward model: sf2 %g, sn2 %g, y_sd %g (need > 0, finite)",
                             g->sf2, g->sn2, g->y_sd);
            goto done;
        }
        if ((rc = check_values("lml", &g->lml, 1)) || (rc = check_values("y_mean", &g->y_mean, 1)) ||
            (rc = check_values("ell", g->ell, d)) || (rc = check_values("xs", g->xs, n * d)) ||
            (rc = check_values("alpha", g->alpha, n)))
            goto done;
        for (size_t j = 0; j < d; j++)
            if (!(g->ell[j] > 0)) {
                rc = genbo__fail(GENBO_EFORMAT, "bad reward model: lengthscale %zu is %g", j, g->ell[j]);
                goto done;
            }
        for (size_t i = 0; i < n; i++) {
            if ((rc = check_values("cholesky factor", g->chol + i * n, i + 1))) goto done;
            if (!(g->chol[i * n + i] > 0)) {
                rc = genbo__fail(GENBO_EFORMAT, "bad reward model: cholesky diagonal %zu is %g", i, g->chol[i * n + i]);
                goto done;
            }
        }
        genbo__gp_finish_load(m);
    }
    for (size_t j = 0; j < d; j++)
        if (!(m->x_sd[j] > 0.0) || !(m->x_sd[j] <= REWARD_VALUE_MAX) || !(fabs(m->x_mean[j]) <= REWARD_VALUE_MAX)) {
            rc = genbo__fail(GENBO_EFORMAT, "bad reward model: feature %zu scale", j);
            goto done;
        }
    genbo__reward_describe_update(m);
done:
    if (rc) {
        genbo_reward_free(m);
        return rc;
    }
    *out = m;
    return GENBO_OK;
}

/* ---- files ---------------------------------------------------------------- */

int genbo_reward_save(const genbo_reward *m, const char *path) {
    if (!path) return genbo__fail(GENBO_EINVAL, "genbo_reward_save: path is NULL");
    void *buf = NULL;
    size_t len = 0;
    int rc = genbo_reward_save_buffer(m, &buf, &len); /* before buf and len are read */
    return genbo__file_save(path, rc, buf, len);
}

int genbo_reward_load(const char *path, genbo_reward **out) {
    if (!out) return genbo__fail(GENBO_EINVAL, "genbo_reward_load: out is NULL");
    *out = NULL;
    if (!path) return genbo__fail(GENBO_EINVAL, "genbo_reward_load: path is NULL");
    void *buf;
    size_t len;
    int rc = genbo__file_read(path, "reward model", 0, &buf, &len);
    return rc ? rc : genbo__file_decoded(path, genbo_reward_load_buffer(buf, len, out), buf);
}
