/* config.c - study files: a table of every key (section, name, type, range,
 * default, meaning) drives parsing, validation, defaults, the resolved INI
 * text and the documentation, so the four can never disagree. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "optimizer/methods.h"
#include "studies/config.h"

typedef enum {
    K_INT,     /* int in [min, max] */
    K_LONG,    /* long in [min, max] */
    K_INT_AUTO,  /* `auto` (stored as 0) or an int in [min, max], min >= 1 */
    K_LONG_AUTO, /* `auto` (stored as 0) or a long in [min, max], min >= 1 */
    K_U64,     /* unsigned 64-bit seed */
    K_DOUBLE,  /* finite double in [min, max] */
    K_BOOL,    /* true/false/yes/no/1/0/on/off */
    K_ENUM,    /* one word of `words` ("a|b|c"), stored as its index */
    K_STR,     /* free text */
    K_PATH,    /* a file that must exist ("" = none), resolved from the study file */
    K_LAMBDA,  /* gcv | kfold | a positive number */
    K_TARGETS, /* comma-separated target specs */
    K_TARGET,  /* one target spec */
    K_METHODS, /* comma-separated method names */
    K_BOUNDS,  /* data | LO:HI | a list of LO:HI or data, one per feature */
    K_WORDSET  /* comma-separated subset of `words`, stored as text; its bit
                  mask (bit i = word i) goes to the int field named by max */
} key_type;

typedef struct key_def {
    const char *section, *name;
    key_type type;
    size_t offset, size; /* field and, for text, its capacity */
    double min, max;
    const char *words; /* K_ENUM */
    const char *dflt;
    const char *doc;
} key_def;

#define F(field) offsetof(struct genbo_config, field), sizeof(((struct genbo_config *)0)->field)
#define BIG 1e300

/* The method names live in optimizer/methods.c (one list). */
#define METHOD_WORDS genbo__method_words()

static const key_def KEYS[] = {
    {"study", "name", K_STR, F(name), 0, 0, NULL, "default",
     "study name, unique within a database"},
    {"study", "seed", K_U64, F(seed), 0, 0, NULL, "1",
     "seed of everything random (task, splits, training, sampling)"},
    {"study", "db", K_STR, F(db), 0, 0, NULL, "",
     "database file (relative to the current directory); \"\" = `<name>.db`; `--db` overrides"},

    {"data", "task", K_ENUM, F(task), 0, 0, "subspace_linear|subspace_quadratic|gp_sequence|curved_manifold|csv",
     "subspace_linear", "synthetic task with a true reward, or `csv` for your own files"},
    {"data", "D", K_INT, F(D), 1, 4096, NULL, "64", "ambient dimension (subspace tasks)"},
    {"data", "d", K_INT, F(d), 1, 4096, NULL, "16", "subspace dimension, <= D (subspace tasks)"},
    {"data", "off_ratio", K_DOUBLE, F(off_ratio), 0, BIG, NULL, "0",
     "norm of theta_perp over norm of theta_par: how much of the reward direction is off the subspace (0 = none)"},
    {"data", "noise_sd", K_DOUBLE, F(noise_sd), 0, BIG, NULL, "0.1",
     "standard deviation of the label noise (synthetic tasks)"},
    {"data", "seq_len", K_INT, F(seq_len), 1, 4096, NULL, "16", "time points (gp_sequence)"},
    {"data", "seq_dim", K_INT, F(seq_dim), 1, 1024, NULL, "4", "dimension per time point (gp_sequence)"},
    {"data", "lengthscale", K_DOUBLE, F(lengthscale), 1e-9, BIG, NULL, "3",
     "kernel lengthscale over time (gp_sequence)"},
    {"data", "manifold_dim", K_INT, F(manifold_dim), 1, 4095, NULL, "3",
     "intrinsic dimension of the curved manifold, < d (curved_manifold)"},
    {"data", "n_label", K_LONG, F(n_label), 2, 1e8, NULL, "200",
     "labelled designs drawn from the task"},
    {"data", "n_unlabel", K_LONG, F(n_unlabel), 1, 1e8, NULL, "10000",
     "unlabelled pool size drawn from the task"},
    {"data", "labelled", K_PATH, F(labelled), 0, 0, NULL, "",
     "CSV of labelled designs (task = csv; relative to the study file)"},
    {"data", "pool", K_PATH, F(pool), 0, 0, NULL, "",
     "CSV of unlabelled designs (task = csv; \"\" = use the labelled designs)"},
    {"data", "reward_column", K_STR, F(reward_column), 0, 0, NULL, "reward",
     "name of the reward column in `labelled`"},

    {"reward", "model", K_ENUM, F(reward_model), 0, 0, "ridge|gp", "ridge",
     "reward model: ridge regression or a Gaussian process"},
    {"reward", "lambda", K_LAMBDA, F(lambda), 0, 0, NULL, "gcv",
     "ridge penalty: `gcv`, `kfold` or a fixed positive number"},
    {"reward", "kfold", K_INT, F(kfold), 2, 1000, NULL, "5", "folds when lambda = kfold"},
    {"reward", "kernel", K_ENUM, F(kernel), 0, 0, "rbf|matern52", "rbf", "GP kernel"},
    {"reward", "ard", K_BOOL, F(ard), 0, 1, NULL, "false", "GP: one lengthscale per feature"},
    {"reward", "max_evals", K_INT, F(max_evals), 1, 1000000, NULL, "200",
     "GP: likelihood evaluations per restart"},
    {"reward", "restarts", K_INT, F(restarts), 1, 1000, NULL, "3",
     "GP: random restarts of the likelihood maximisation"},

    {"diffusion", "width", K_INT_AUTO, F(width), 1, 65536, NULL, "auto",
     "hidden width of the score network; `auto` = next power of two >= 4 D in [64, 512]"},
    {"diffusion", "depth", K_INT, F(depth), 1, 64, NULL, "3", "residual blocks"},
    {"diffusion", "t_embed", K_INT, F(t_embed), 2, 4096, NULL, "64", "time-embedding size"},
    {"diffusion", "y_embed", K_INT, F(y_embed), 2, 4096, NULL, "64", "reward-embedding size"},
    {"diffusion", "steps", K_LONG_AUTO, F(steps), 1, 1e9, NULL, "auto",
     "training steps; `auto` = until the validation loss stops improving (patience, tol), at most max_steps / max_seconds"},
    {"diffusion", "batch", K_INT_AUTO, F(batch), 1, 1000000, NULL, "auto",
     "batch size; `auto` = largest power of two <= training rows / 16 in [32, 256]"},
    {"diffusion", "max_steps", K_LONG, F(max_steps), 1, 1e9, NULL, "50000",
     "steps = auto: step budget"},
    {"diffusion", "max_seconds", K_DOUBLE, F(max_seconds), 0, BIG, NULL, "0",
     "steps = auto: wall-clock budget of the training in seconds (0 = none)"},
    {"diffusion", "val_fraction", K_DOUBLE, F(val_fraction), 0, 0.9, NULL, "0.1",
     "fraction of the pool held out (seeded) for the validation loss, at most 2000 rows"},
    {"diffusion", "eval_every", K_LONG, F(eval_every), 1, 1e9, NULL, "250",
     "steps between validations (EMA weights on fixed draws)"},
    {"diffusion", "patience", K_INT, F(patience), 1, 100000, NULL, "6",
     "steps = auto: stop after this many validations without improvement; lr halves every patience/3"},
    {"diffusion", "tol", K_DOUBLE, F(tol), 0, 0.5, NULL, "0.005",
     "relative improvement of the validation loss that counts"},
    {"diffusion", "checkpoint_seconds", K_DOUBLE, F(checkpoint_seconds), 0, BIG, NULL, "30",
     "seconds between training checkpoints stored for resuming (0 = at every validation)"},
    {"diffusion", "lr", K_DOUBLE, F(lr), 1e-12, 10, NULL, "0.002", "peak learning rate (AdamW)"},
    {"diffusion", "weight_decay", K_DOUBLE, F(weight_decay), 0, 10, NULL, "0",
     "AdamW decoupled weight decay"},
    {"diffusion", "clip", K_DOUBLE, F(clip), 0, BIG, NULL, "1", "gradient-norm clip (0 = none)"},
    {"diffusion", "warmup", K_DOUBLE, F(warmup), 0, 1, NULL, "0.02",
     "fixed steps: fraction of steps of linear warm-up (auto: the first eval_every steps)"},
    {"diffusion", "ema", K_DOUBLE, F(ema), 0, 1, NULL, "0.999", "EMA decay of the sampling weights"},
    {"diffusion", "p_uncond", K_DOUBLE, F(p_uncond), 0, 1, NULL, "0.1", "condition dropout probability"},
    {"diffusion", "t0", K_DOUBLE, F(t0), 1e-9, BIG, NULL, "0.001", "smallest diffusion time"},
    {"diffusion", "T", K_DOUBLE, F(T), 1e-9, BIG, NULL, "10", "largest diffusion time, > t0"},
    {"diffusion", "schedule", K_ENUM, F(schedule), 0, 0, "ou|linear_vp", "ou",
     "forward process: OU dX = -X/2 dt + dW, or a linear-beta VP SDE"},
    {"diffusion", "reweight_percentile", K_DOUBLE, F(reweight_percentile), 0, 99.9, NULL, "90",
     "`reweighted` model (DDOM): temperature = max pseudo-reward minus this percentile of them"},
    {"diffusion", "time_sampling", K_ENUM, F(time_sampling), 0, 0, "log_uniform|uniform",
     "log_uniform", "distribution of training times on [t0, T]"},
    {"diffusion", "precision", K_ENUM, F(precision), 0, 0, "auto|fp32|bf16", "auto",
     "matrix arithmetic of the network: bf16 (oneDNN, AMX/AVX512-BF16; fp32 master weights) or fp32 (OpenBLAS); auto = bf16 where the CPU has it; bf16 on a CPU without it is an error"},

    {"generate", "targets", K_TARGETS, F(targets_text), 0, 0, NULL, "p50, p90, max",
     "target rewards: `pQ` = Q-th percentile of the pool's pseudo-rewards, `max` = the pool's "
     "largest, a number = absolute"},
    {"generate", "n", K_LONG, F(n), 1, 1e7, NULL, "64", "designs per target and method"},
    {"generate", "methods", K_METHODS, F(methods_text), 0, 0, NULL,
     "genbo, conditional, unguided, gradient, surrogate_ascent, edit, best_labelled, random",
     "methods compared (see the methods table)"},
    {"generate", "sampler", K_ENUM, F(sampler), 0, 0, "euler_maruyama|ancestral|heun_ode",
     "ancestral", "reverse-time sampler"},
    {"generate", "steps", K_INT, F(sample_steps), 1, 100000, NULL, "200", "sampler steps"},
    {"generate", "cfg_weight", K_DOUBLE, F(cfg_weight), 0, 100, NULL, "0",
     "classifier-free guidance weight w of `genbo` (0 = plain conditioning)"},
    {"generate", "grad_mode", K_ENUM, F(grad_mode), 0, 0, "none|lookahead|naive|target",
     "target",
     "gradient guidance of `genbo` and `gradient`: `target` = Guo et al.'s target-seeking "
     "look-ahead, or a linear tilt at x0_hat (`lookahead`) or x_t (`naive`) (docs/diffusion.md)"},
    {"generate", "grad_eta", K_DOUBLE, F(grad_eta), 0, BIG, NULL, "1",
     "gradient-guidance strength eta, unitless: guidance acts on f_hat / (sd of its labels)"},
    {"generate", "oversample", K_INT, F(oversample), 1, 1000, NULL, "4",
     "`genbo` draws oversample x n candidates and returns the n best (1 = no selection; docs/optimizer.md)"},
    {"generate", "kappa", K_DOUBLE, F(kappa), 0, BIG, NULL, "1",
     "`genbo` acquisition: predicted reward minus kappa x its predictive sd (0 = the mean alone)"},
    {"generate", "min_distance", K_DOUBLE, F(min_distance), 0, BIG, NULL, "0.5",
     "`genbo` diversity: least pairwise distance of the batch, in pool nearest-neighbour distances (standardised features; 0 = none)"},
    {"generate", "sources", K_WORDSET, F(sources_text), 0, offsetof(struct genbo_config, sources),
     "guided|edit|reweighted|ascent|pool", "guided, ascent, pool",
     "candidate sources of `genbo`: the guided sampler, `edit` designs, the guided sampler on the reweighted model (trains a second model), split over oversample x n; plus the surrogate-ascent designs (`ascent`) and the pool designs rated best (`pool`)"},
    {"generate", "explore", K_DOUBLE, F(explore), 0, 1, NULL, "0.5",
     "`genbo`: at most this share of the batch is chosen by predicted reward plus kappa x sd (the share used is the model's median sd over the labels' sd; 0 = none)"},
    {"generate", "edit_noise", K_DOUBLE, F(edit_noise), 0.001, 0.999, NULL, "0.3",
     "`edit`: share of each ascent design's variance replaced by noise before denoising (sigma_t^2 of the start time)"},

    {"evaluate", "evaluator", K_ENUM, F(evaluator), 0, 0, "auto|oracle|command|none", "auto",
     "true rewards of generated designs: the task's oracle, an external command, or none; "
     "`auto` = oracle for synthetic tasks, none for csv"},
    {"evaluate", "command", K_STR, F(command), 0, 0, NULL, "",
     "shell command: reads designs as CSV on stdin, prints one reward per line"},
    {"evaluate", "timeout", K_DOUBLE, F(timeout), 1e-3, 1e9, NULL, "60",
     "seconds per batch before the command is killed"},

    {"loop", "rounds", K_INT, F(rounds), 0, 100000, NULL, "0",
     "design-loop rounds after the generation phase"},
    {"loop", "batch", K_INT, F(loop_batch), 1, 1000000, NULL, "16", "designs asked per round"},
    {"loop", "target", K_TARGET, F(loop_target_text), 0, 0, NULL, "p90",
     "target of every round (spec as in [generate] targets, resolved once)"},
    {"loop", "method", K_ENUM, F(loop_method), 0, 0, NULL, "genbo",
     "method of the rounds (any of the methods)"},
    {"loop", "finetune_steps", K_LONG, F(finetune_steps), 0, 1e9, NULL, "0",
     "diffusion fine-tuning steps after each round (0 = none)"},

    {"ask", "steps", K_INT, F(ask_steps), 0, 100000, NULL, "0",
     "sampler steps used by ask (0 = [generate] steps)"},

    {"constraints", "bounds", K_BOUNDS, F(bounds), 0, 0, NULL, "data",
     "per-feature bounds of every design: `data` = the data's range widened by `margin`, one "
     "`LO:HI` for every feature, or a list with one `LO:HI` or `data` per feature"},
    {"constraints", "margin", K_DOUBLE, F(trust_margin), 0, BIG, NULL, "0.5",
     "widening of the data's range per side, in data standard deviations"},
    {"constraints", "simplex", K_STR, F(simplex), 0, 0, NULL, "none",
     "features that must sum to one (each in [0, 1]): `none`, `all` or a list of column names"},
};
#define N_KEYS ((int)(sizeof KEYS / sizeof KEYS[0]))

/* ---- value parsing ------------------------------------------------------ */

static int word_index(const char *words, const char *w) {
    size_t n = strlen(w);
    int i = 0;
    for (const char *p = words; *p; i++) {
        const char *bar = strchr(p, '|');
        size_t k = bar ? (size_t)(bar - p) : strlen(p);
        if (k == n && !strncmp(p, w, n)) return i;
        if (!bar) break;
        p = bar + 1;
    }
    return -1;
}

static int parse_long(const char *v, long *out) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno) return 0;
    *out = x;
    return 1;
}

static int parse_double(const char *v, double *out) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end || errno == ERANGE || !isfinite(x)) return 0;
    *out = x;
    return 1;
}

int genbo__parse_target(const char *text, cfg_target *t, const char **why) {
    memset(t, 0, sizeof *t);
    if (strlen(text) >= sizeof t->label) {
        *why = "is too long for a target";
        return GENBO_EINVAL;
    }
    memcpy(t->label, text, strlen(text) + 1);
    if (!strcmp(text, "max")) {
        t->kind = TARGET_MAX;
        return GENBO_OK;
    }
    if (text[0] == 'p' || text[0] == 'P') {
        if (!parse_double(text + 1, &t->value) || t->value < 0 || t->value > 100) {
            *why = "is not a target (pQ needs 0 <= Q <= 100)";
            return GENBO_EINVAL;
        }
        t->kind = TARGET_PERCENTILE;
        return GENBO_OK;
    }
    if (!parse_double(text, &t->value)) {
        *why = "is not a target (expected pQ, max or a number)";
        return GENBO_EINVAL;
    }
    t->kind = TARGET_ABSOLUTE;
    return GENBO_OK;
}

/* Split a comma-separated list into trimmed items; calls fn per item.
 * Returns the first failure. */
static const char *next_item(const char **p, char *buf, size_t size) {
    const char *s = *p;
    while (*s == ' ' || *s == '\t' || *s == ',') s++;
    if (!*s) return NULL;
    const char *e = strchr(s, ',');
    if (!e) e = s + strlen(s);
    const char *t = e;
    while (t > s && (t[-1] == ' ' || t[-1] == '\t')) t--;
    size_t k = (size_t)(t - s);
    if (k >= size) k = size - 1;
    memcpy(buf, s, k);
    buf[k] = '\0';
    *p = e;
    return buf;
}

int genbo__parse_bounds(const char *text, size_t dim, double *lo, double *hi, size_t *count,
                        const char **why) {
    size_t n = 0;
    char item[128];
    const char *p = text;
    while (next_item(&p, item, sizeof item)) {
        double a = NAN, b = NAN;
        if (strcmp(item, "data")) {
            char *colon = strchr(item, ':');
            if (!colon) {
                *why = "is not LO:HI or data";
                return GENBO_EINVAL;
            }
            *colon = '\0';
            if (!parse_double(item, &a) || !parse_double(colon + 1, &b)) {
                *why = "needs two numbers LO:HI";
                return GENBO_EINVAL;
            }
            if (!(a <= b)) {
                *why = "has LO above HI";
                return GENBO_EINVAL;
            }
        }
        if (dim && n < dim) lo[n] = a, hi[n] = b;
        n++;
    }
    if (n == 0) {
        *why = "lists no bounds";
        return GENBO_EINVAL;
    }
    if (dim && n == 1) /* one range for every feature */
        for (size_t j = 1; j < dim; j++) lo[j] = lo[0], hi[j] = hi[0];
    else if (dim && n != dim) {
        *why = "does not give one range per feature (or one for all)";
        *count = n;
        return GENBO_EINVAL;
    }
    *count = n;
    return GENBO_OK;
}

/* Where a message comes from: "file:line: [section] key" or "[section] key". */
static int key_fail(const genbo_config *c, int line, const key_def *k, int status,
                    const char *fmt, const char *value, const char *why) {
    char where[CFG_STR + 64];
    if (c->source[0] && line > 0)
        snprintf(where, sizeof where, "%s:%d: ", c->source, line);
    else if (c->source[0])
        snprintf(where, sizeof where, "%s: ", c->source);
    else
        where[0] = '\0';
    char what[256];
    snprintf(what, sizeof what, fmt, value, why ? why : "");
    return genbo__fail(status, "%s[%s] %s: %s", where, k->section, k->name, what);
}

static int set_value(genbo_config *c, int ki, const char *v, int line) {
    const key_def *k = &KEYS[ki];
    char *field = (char *)c + k->offset;
    long l;
    double x;
    const char *why = NULL;
    switch (k->type) {
    case K_INT_AUTO:
    case K_LONG_AUTO:
    case K_INT:
    case K_LONG: {
        int is_auto = k->type == K_INT_AUTO || k->type == K_LONG_AUTO;
        if (is_auto && !strcmp(v, "auto")) {
            if (k->type == K_INT_AUTO) *(int *)field = 0;
            else *(long *)field = 0;
            break;
        }
        if (!parse_long(v, &l))
            return key_fail(c, line, k, GENBO_EINVAL,
                            is_auto ? "'%s' is not an integer or auto" : "'%s' is not an integer", v, 0);
        if (l < k->min || l > k->max) {
            char r[96];
            snprintf(r, sizeof r, "%.0f and %.0f", k->min, k->max);
            return key_fail(c, line, k, GENBO_EINVAL, "%s is out of range (between %s)", v, r);
        }
        if (k->type == K_INT || k->type == K_INT_AUTO) *(int *)field = (int)l;
        else *(long *)field = l;
        break;
    }
    case K_U64: {
        char *end;
        errno = 0;
        unsigned long long u = strtoull(v, &end, 10);
        if (end == v || *end || errno || v[0] == '-')
            return key_fail(c, line, k, GENBO_EINVAL, "'%s' is not a non-negative integer", v, 0);
        *(uint64_t *)field = (uint64_t)u;
        break;
    }
    case K_DOUBLE:
        if (!parse_double(v, &x)) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is not a number", v, 0);
        if (x < k->min || x > k->max) {
            char r[96];
            if (k->max >= BIG) snprintf(r, sizeof r, "must be >= %g", k->min);
            else snprintf(r, sizeof r, "must be between %g and %g", k->min, k->max);
            return key_fail(c, line, k, GENBO_EINVAL, "%s is out of range (%s)", v, r);
        }
        *(double *)field = x;
        break;
    case K_BOOL: {
        int b = word_index("false|true|no|yes|0|1|off|on", v);
        if (b < 0) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is not true or false", v, 0);
        *(int *)field = b % 2;
        break;
    }
    case K_ENUM: {
        const char *words = k->words ? k->words : METHOD_WORDS;
        int i = word_index(words, v);
        if (i < 0) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is not one of %s", v, words);
        if (k->words) *(int *)field = i;
        else snprintf(field, k->size, "%s", v); /* a method name kept as text */
        break;
    }
    case K_STR:
        if (strlen(v) >= k->size) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is too long", v, 0);
        memcpy(field, v, strlen(v) + 1);
        break;
    case K_PATH: {
        char full[2 * CFG_STR + 2];
        if (v[0] && v[0] != '/' && c->base_dir[0])
            snprintf(full, sizeof full, "%s/%s", c->base_dir, v);
        else
            snprintf(full, sizeof full, "%s", v);
        if (strlen(full) >= k->size) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is too long", v, 0);
        if (full[0] && access(full, R_OK) != 0)
            return key_fail(c, line, k, GENBO_EIO, "file '%s' cannot be read%s", full,
                            errno == ENOENT ? " (no such file)" : "");
        /* Store the absolute path: the stored configuration is reused by
         * `genbo ask` and resumed runs started from other directories. */
        char abs[PATH_MAX];
        if (full[0] && realpath(full, abs)) {
            if (strlen(abs) >= k->size) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is too long", abs, 0);
            memcpy(full, abs, strlen(abs) + 1); /* fits: checked against k->size above */
        }
        memcpy(field, full, strlen(full) + 1);
        break;
    }
    case K_LAMBDA:
        if (strcmp(v, "gcv") && strcmp(v, "kfold") && (!parse_double(v, &x) || x <= 0))
            return key_fail(c, line, k, GENBO_EINVAL, "'%s' is not gcv, kfold or a positive number", v, 0);
        if (strlen(v) >= k->size) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is too long", v, 0);
        memcpy(field, v, strlen(v) + 1);
        break;
    case K_BOUNDS: {
        size_t cnt;
        if (genbo__parse_bounds(v, 0, NULL, NULL, &cnt, &why))
            return key_fail(c, line, k, GENBO_EINVAL, "'%s' %s", v, why);
        if (strlen(v) >= k->size) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is too long", v, 0);
        memcpy(field, v, strlen(v) + 1);
        break;
    }
    case K_TARGET: {
        cfg_target t;
        if (genbo__parse_target(v, &t, &why))
            return key_fail(c, line, k, GENBO_EINVAL, "'%s' %s", v, why);
        c->loop_target = t;
        memcpy(field, v, strlen(v) + 1);
        break;
    }
    case K_TARGETS: {
        cfg_target ts[CFG_MAX_TARGETS];
        int n = 0;
        char item[64];
        const char *p = v;
        while (next_item(&p, item, sizeof item)) {
            if (n == CFG_MAX_TARGETS)
                return key_fail(c, line, k, GENBO_EINVAL, "'%s' lists more than 16 targets", v, 0);
            if (genbo__parse_target(item, &ts[n], &why))
                return key_fail(c, line, k, GENBO_EINVAL, "'%s' %s", item, why);
            for (int j = 0; j < n; j++)
                if (!strcmp(ts[j].label, ts[n].label))
                    return key_fail(c, line, k, GENBO_EINVAL, "'%s' is listed twice", item, 0);
            n++;
        }
        if (n == 0) return key_fail(c, line, k, GENBO_EINVAL, "'%s' lists no target", v, 0);
        if (strlen(v) >= k->size) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is too long", v, 0);
        memcpy(c->targets, ts, sizeof ts[0] * (size_t)n);
        c->n_targets = n;
        memcpy(field, v, strlen(v) + 1);
        break;
    }
    case K_WORDSET: {
        int mask = 0;
        char item[64];
        const char *p = v;
        while (next_item(&p, item, sizeof item)) {
            int i = word_index(k->words, item);
            if (i < 0) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is not one of %s", item, k->words);
            if (mask & (1 << i)) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is listed twice", item, 0);
            mask |= 1 << i;
        }
        if (!mask) return key_fail(c, line, k, GENBO_EINVAL, "'%s' lists none of %s", v, k->words);
        if (strlen(v) >= k->size) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is too long", v, 0);
        *(int *)((char *)c + (size_t)k->max) = mask;
        memcpy(field, v, strlen(v) + 1);
        break;
    }
    case K_METHODS: {
        char ms[CFG_MAX_METHODS][32];
        int n = 0;
        char item[64];
        const char *p = v;
        while (next_item(&p, item, sizeof item)) {
            if (word_index(METHOD_WORDS, item) < 0)
                return key_fail(c, line, k, GENBO_EINVAL, "'%s' is not one of %s", item, METHOD_WORDS);
            for (int j = 0; j < n; j++)
                if (!strcmp(ms[j], item))
                    return key_fail(c, line, k, GENBO_EINVAL, "'%s' is listed twice", item, 0);
            if (n == CFG_MAX_METHODS) break;
            memcpy(ms[n++], item, strlen(item) + 1); /* a known method name: short */
        }
        if (n == 0) return key_fail(c, line, k, GENBO_EINVAL, "'%s' lists no method", v, 0);
        if (strlen(v) >= k->size) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is too long", v, 0);
        memcpy(c->methods, ms, sizeof ms[0] * (size_t)n);
        c->n_methods = n;
        memcpy(field, v, strlen(v) + 1);
        break;
    }
    }
    c->line[ki] = line;
    return GENBO_OK;
}

static int find_key(const char *section, const char *name) {
    for (int i = 0; i < N_KEYS; i++)
        if (!strcmp(KEYS[i].section, section) && !strcmp(KEYS[i].name, name)) return i;
    return -1;
}

static int known_section(const char *section) {
    for (int i = 0; i < N_KEYS; i++)
        if (!strcmp(KEYS[i].section, section)) return 1;
    return 0;
}

static int config_set_at(genbo_config *c, const char *section, const char *name,
                         const char *value, int line) {
    char where[CFG_STR + 32] = "";
    if (c->source[0] && line > 0) snprintf(where, sizeof where, "%s:%d: ", c->source, line);
    if (!known_section(section))
        return genbo__fail(GENBO_EINVAL, "%sunknown section [%s] (known: study, data, reward, "
                           "diffusion, generate, evaluate, loop, ask, constraints)", where, section);
    int ki = find_key(section, name);
    if (ki < 0) return genbo__fail(GENBO_EINVAL, "%s[%s] %s: unknown key", where, section, name);
    return set_value(c, ki, value, line);
}

/* Cross-key rules, checked once the whole file is read; the message names
 * the line of the key that breaks the rule. */
static int validate(genbo_config *c) {
#define RULE(cond, key_section, key_name, ...)                                          \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            int ki_ = find_key(key_section, key_name);                                 \
            char msg_[256];                                                            \
            snprintf(msg_, sizeof msg_, __VA_ARGS__);                                  \
            return key_fail(c, c->line[ki_], &KEYS[ki_], GENBO_EINVAL, "%s%s", msg_, ""); \
        }                                                                              \
    } while (0)
    int subspace = c->task == GENBO_TASK_SUBSPACE_LINEAR || c->task == GENBO_TASK_SUBSPACE_QUADRATIC ||
                   c->task == GENBO_TASK_CURVED_MANIFOLD;
    RULE(!subspace || c->d <= c->D, "data", "d", "d = %d must not exceed D = %d", c->d, c->D);
    RULE(c->task != GENBO_TASK_CURVED_MANIFOLD || c->manifold_dim < c->d, "data", "manifold_dim",
         "manifold_dim = %d must be smaller than d = %d", c->manifold_dim, c->d);
    RULE(c->task != CFG_TASK_CSV || c->labelled[0], "data", "labelled",
         "task = csv needs a labelled file");
    RULE(c->task == CFG_TASK_CSV || (!c->labelled[0] && !c->pool[0]), "data", "labelled",
         "labelled/pool files need task = csv");
    RULE(c->t0 < c->T, "diffusion", "T", "T = %g must be larger than t0 = %g", c->T, c->t0);
    RULE(!(c->evaluator == CFG_EVAL_ORACLE && c->task == CFG_TASK_CSV), "evaluate", "evaluator",
         "oracle needs a synthetic task (task = csv has no true reward)");
    RULE(c->evaluator != CFG_EVAL_COMMAND || c->command[0], "evaluate", "command",
         "evaluator = command needs a command");
#undef RULE
    return GENBO_OK;
}

int genbo_config_default(genbo_config **out) {
    if (!out) return genbo__fail(GENBO_EINVAL, "genbo_config_default: NULL out");
    *out = NULL;
    genbo_config *c = genbo__calloc(1, sizeof *c);
    if (!c) return GENBO_ENOMEM;
    for (int i = 0; i < N_KEYS; i++) {
        int rc = set_value(c, i, KEYS[i].dflt, 0);
        if (rc) { /* a broken default is a bug in the table above */
            free(c);
            return genbo__fail_prefix(rc, "default configuration");
        }
    }
    *out = c;
    return GENBO_OK;
}

int genbo_config_set(genbo_config *cfg, const char *section, const char *key, const char *value) {
    if (!cfg || !section || !key || !value) return genbo__fail(GENBO_EINVAL, "genbo_config_set: NULL argument");
    genbo_config saved = *cfg;
    int rc = config_set_at(cfg, section, key, value, 0);
    if (!rc) rc = validate(cfg);
    if (rc) *cfg = saved; /* a rejected value leaves the configuration as it was */
    return rc;
}

/* ---- loading a file ------------------------------------------------------ */

typedef struct parse_state {
    genbo_config *c;
    int rc;
} parse_state;

static int ini_handler_fn(void *user, int line, const char *section, const char *name,
                          const char *value) {
    parse_state *st = user;
    st->rc = config_set_at(st->c, section, name, value, line);
    return st->rc == GENBO_OK;
}

/* text: len bytes plus a terminating NUL, modified in place. */
static int parse(char *text, size_t len, const char *source, const char *base_dir,
                 genbo_config **out) {
    genbo_config *c;
    int rc = genbo_config_default(&c);
    if (rc) return rc;
    snprintf(c->source, sizeof c->source, "%s", source);
    snprintf(c->base_dir, sizeof c->base_dir, "%s", base_dir);
    parse_state st = {c, GENBO_OK};
    int e = genbo__ini_parse(text, len, ini_handler_fn, &st);
    if (st.rc) rc = st.rc;
    else if (e > 0) rc = genbo__fail(GENBO_EFORMAT, "%s:%d: not a section header or key = value line", source, e);
    else if (e < 0) rc = genbo__fail(GENBO_EFORMAT, "%s:%d: a NUL byte (not a text file)", source, -e);
    else rc = validate(c);
    if (rc) {
        free(c);
        return rc;
    }
    *out = c;
    return GENBO_OK;
}

/* Study files larger than this are refused (they are a few KB). */
#define STUDY_FILE_MAX ((size_t)16 << 20)

int genbo_config_load(const char *path, genbo_config **out) {
    if (!out) return genbo__fail(GENBO_EINVAL, "genbo_config_load: NULL out");
    *out = NULL;
    if (!path) return genbo__fail(GENBO_EINVAL, "genbo_config_load: NULL path");
    FILE *f = fopen(path, "r");
    if (!f) return genbo__fail(GENBO_EIO, "%s: cannot open study file: %s", path, strerror(errno));
    /* The whole file: a read error (a directory gives EISDIR here, not at
     * fopen) is an error, never an early end of file. */
    size_t len = 0, cap = 4096;
    char *text = genbo__malloc(cap + 1);
    int rc = text ? GENBO_OK : GENBO_ENOMEM;
    while (!rc) {
        if (len == cap) {
            char *bigger = cap >= STUDY_FILE_MAX ? NULL : realloc(text, 2 * cap + 1);
            if (!bigger) {
                rc = genbo__fail(GENBO_EFORMAT, "%s: study file larger than %zu bytes", path, STUDY_FILE_MAX);
                break;
            }
            text = bigger;
            cap *= 2;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) rc = genbo__fail(GENBO_EIO, "%s: cannot read study file: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (rc) {
        free(text);
        return rc;
    }
    text[len] = '\0';
    char base[CFG_STR] = "";
    const char *slash = strrchr(path, '/');
    if (slash) {
        size_t k = (size_t)(slash - path);
        if (k == 0) k = 1; /* "/x.ini" */
        if (k >= sizeof base) k = sizeof base - 1;
        memcpy(base, path, k);
        base[k] = '\0';
    }
    rc = parse(text, len, path, base, out);
    free(text);
    return rc;
}

int genbo__config_parse_text(const char *text, const char *source, genbo_config **out) {
    if (!out) return genbo__fail(GENBO_EINVAL, "genbo__config_parse_text: NULL out");
    *out = NULL;
    if (!text) return genbo__fail(GENBO_EINVAL, "genbo__config_parse_text: NULL text");
    size_t len = strlen(text);
    char *copy = genbo__malloc(len + 1);
    if (!copy) return GENBO_ENOMEM;
    memcpy(copy, text, len + 1);
    int rc = parse(copy, len, source ? source : "", "", out);
    free(copy);
    return rc;
}

void genbo_config_free(genbo_config *cfg) { free(cfg); }

/* ---- output: resolved INI text and the documentation table -------------- */

/* Shortest text that reads back as the same double. */
static void fmt_double(char *buf, size_t size, double x) {
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) return;
    }
}

static void word_at(const char *words, int idx, char *buf, size_t size) {
    const char *p = words;
    for (int i = 0; i < idx && p; i++) {
        p = strchr(p, '|');
        if (p) p++;
    }
    if (!p) p = "?";
    size_t k = strcspn(p, "|");
    if (k >= size) k = size - 1;
    memcpy(buf, p, k);
    buf[k] = '\0';
}

static void value_text(const genbo_config *c, const key_def *k, char *buf, size_t size) {
    const char *field = (const char *)c + k->offset;
    switch (k->type) {
    case K_INT: snprintf(buf, size, "%d", *(const int *)field); break;
    case K_LONG: snprintf(buf, size, "%ld", *(const long *)field); break;
    case K_INT_AUTO:
        if (*(const int *)field) snprintf(buf, size, "%d", *(const int *)field);
        else snprintf(buf, size, "auto");
        break;
    case K_LONG_AUTO:
        if (*(const long *)field) snprintf(buf, size, "%ld", *(const long *)field);
        else snprintf(buf, size, "auto");
        break;
    case K_U64: snprintf(buf, size, "%llu", (unsigned long long)*(const uint64_t *)field); break;
    case K_DOUBLE: fmt_double(buf, size, *(const double *)field); break;
    case K_BOOL: snprintf(buf, size, "%s", *(const int *)field ? "true" : "false"); break;
    case K_ENUM:
        if (k->words) word_at(k->words, *(const int *)field, buf, size);
        else snprintf(buf, size, "%s", field);
        break;
    default: snprintf(buf, size, "%s", field); break;
    }
}

int genbo_config_get(const genbo_config *cfg, const char *section, const char *key, char *buf,
                     size_t size) {
    if (!cfg || !section || !key || !buf || size == 0)
        return genbo__fail(GENBO_EINVAL, "genbo_config_get: NULL argument");
    int ki = find_key(section, key);
    if (ki < 0) return genbo__fail(GENBO_ENOTFOUND, "[%s] %s: unknown key", section, key);
    value_text(cfg, &KEYS[ki], buf, size);
    return GENBO_OK;
}

char *genbo_config_to_ini(const genbo_config *cfg) {
    if (!cfg) return NULL;
    size_t cap = 8192, len = 0;
    char *out = genbo__malloc(cap);
    if (!out) return NULL;
    const char *section = "";
    for (int i = 0; i < N_KEYS; i++) {
        char val[2 * CFG_STR];
        value_text(cfg, &KEYS[i], val, sizeof val);
        char line[3 * CFG_STR];
        int k = 0;
        if (strcmp(section, KEYS[i].section)) {
            section = KEYS[i].section;
            k = snprintf(line, sizeof line, "%s[%s]\n", i ? "\n" : "", section);
        }
        k += snprintf(line + k, sizeof line - (size_t)k, "%s = %s\n", KEYS[i].name, val);
        if (len + (size_t)k + 1 > cap) {
            cap = 2 * (len + (size_t)k + 1);
            char *grown = realloc(out, cap);
            if (!grown) {
                free(out);
                genbo__fail(GENBO_ENOMEM, "out of memory writing the configuration");
                return NULL;
            }
            out = grown;
        }
        memcpy(out + len, line, (size_t)k + 1);
        len += (size_t)k;
    }
    return out;
}

char *genbo__config_doc_table(void) {
    size_t cap = 32768, len = 0;
    char *out = genbo__malloc(cap);
    if (!out) return NULL;
    len += (size_t)snprintf(out, cap, "| section | key | default | values | meaning |\n|---|---|---|---|---|\n");
    for (int i = 0; i < N_KEYS && len < cap; i++) {
        const key_def *k = &KEYS[i];
        char values[256];
        switch (k->type) {
        case K_INT: case K_LONG: snprintf(values, sizeof values, "integer %.0f..%.0f", k->min, k->max); break;
        case K_INT_AUTO: case K_LONG_AUTO:
            snprintf(values, sizeof values, "auto \\| integer %.0f..%.0f", k->min, k->max);
            break;
        case K_U64: snprintf(values, sizeof values, "integer >= 0"); break;
        case K_DOUBLE:
            if (k->max >= BIG) snprintf(values, sizeof values, "number >= %g", k->min);
            else snprintf(values, sizeof values, "number %g..%g", k->min, k->max);
            break;
        case K_BOOL: snprintf(values, sizeof values, "true/false"); break;
        case K_ENUM: {
            const char *w = k->words ? k->words : METHOD_WORDS;
            size_t j = 0;
            for (const char *p = w; *p && j + 4 < sizeof values; p++) {
                if (*p == '|') { memcpy(values + j, " \\| ", 4); j += 4; }
                else values[j++] = *p;
            }
            values[j] = '\0';
            break;
        }
        case K_STR: snprintf(values, sizeof values, "text"); break;
        case K_PATH: snprintf(values, sizeof values, "file path"); break;
        case K_LAMBDA: snprintf(values, sizeof values, "gcv \\| kfold \\| number > 0"); break;
        case K_TARGETS: snprintf(values, sizeof values, "list of pQ \\| max \\| number"); break;
        case K_TARGET: snprintf(values, sizeof values, "pQ \\| max \\| number"); break;
        case K_METHODS: snprintf(values, sizeof values, "list of methods"); break;
        case K_BOUNDS: snprintf(values, sizeof values, "data \\| LO:HI \\| list of LO:HI or data"); break;
        case K_WORDSET: {
            size_t j = (size_t)snprintf(values, sizeof values, "list of ");
            for (const char *p = k->words; *p && j + 4 < sizeof values; p++) {
                if (*p == '|') { memcpy(values + j, " \\| ", 4); j += 4; }
                else values[j++] = *p;
            }
            values[j] = '\0';
            break;
        }
        }
        len += (size_t)snprintf(out + len, cap - len, "| [%s] | `%s` | `%s` | %s | %s |\n", k->section,
                                k->name, k->dflt, values, k->doc);
    }
    return out;
}

/* ---- parameter structs for the library ----------------------------------- */

void genbo__config_task_params(const genbo_config *c, genbo_task_params *p) {
    memset(p, 0, sizeof *p);
    p->kind = c->task == CFG_TASK_CSV ? GENBO_TASK_SUBSPACE_LINEAR : (genbo_task_kind)c->task;
    p->D = c->D;
    p->d = c->d;
    p->off_ratio = c->off_ratio;
    p->noise_sd = c->noise_sd;
    p->seq_len = c->seq_len;
    p->seq_dim = c->seq_dim;
    p->lengthscale = c->lengthscale;
    p->seed = c->seed;
    p->manifold_dim = c->manifold_dim;
}

void genbo__config_reward_params(const genbo_config *c, genbo_reward_params *p) {
    memset(p, 0, sizeof *p);
    p->kind = (genbo_reward_kind)c->reward_model;
    if (!strcmp(c->lambda, "gcv")) {
        p->lambda_select = GENBO_LAMBDA_GCV;
    } else if (!strcmp(c->lambda, "kfold")) {
        p->lambda_select = GENBO_LAMBDA_KFOLD;
    } else {
        p->lambda_select = GENBO_LAMBDA_FIXED;
        p->lambda = strtod(c->lambda, NULL);
    }
    p->kfold = c->kfold;
    p->kernel = (genbo_kernel)c->kernel;
    p->ard = c->ard;
    p->max_evals = c->max_evals;
    p->restarts = c->restarts;
    p->seed = c->seed;
}

void genbo__config_diffusion_params(const genbo_config *c, genbo_diffusion_params *p) {
    memset(p, 0, sizeof *p);
    p->width = c->width;
    p->depth = c->depth;
    p->t_embed = c->t_embed;
    p->y_embed = c->y_embed;
    p->schedule = (genbo_schedule)c->schedule;
    p->t0 = c->t0;
    p->T = c->T;
    p->time_sampling = (genbo_time_sampling)c->time_sampling;
    p->steps = c->steps;
    p->batch = c->batch;
    p->lr = c->lr;
    p->weight_decay = c->weight_decay;
    p->clip = c->clip;
    p->warmup = c->warmup;
    p->ema = c->ema;
    p->p_uncond = c->p_uncond;
    p->seed = c->seed;
    p->max_steps = c->max_steps;
    p->max_seconds = c->max_seconds;
    p->val_fraction = c->val_fraction;
    p->eval_every = c->eval_every;
    p->patience = c->patience;
    p->tol = c->tol;
    p->checkpoint_seconds = c->checkpoint_seconds;
    p->precision = (genbo_precision)c->precision;
}

void genbo__config_select_settings(const genbo_config *c, genbo__select_settings *s) {
    memset(s, 0, sizeof *s);
    s->oversample = c->oversample;
    s->kappa = c->kappa;
    s->min_distance = c->min_distance;
    s->sources = (unsigned)c->sources; /* word i of guided|edit|reweighted|ascent|pool = bit i = GENBO__SOURCE_* */
    s->edit_noise = c->edit_noise;
    s->explore = c->explore;
}

void genbo__config_sample_params(const genbo_config *c, genbo_sample_params *p) {
    memset(p, 0, sizeof *p);
    p->sampler = (genbo_sampler)c->sampler;
    p->steps = c->sample_steps;
    p->conditional = 1;
    p->cfg_weight = c->cfg_weight;
    p->grad_mode = (genbo_gradient_guidance)c->grad_mode;
    p->grad_eta = c->grad_eta;
    p->seed = c->seed;
    p->precision = (genbo_precision)c->precision;
}
