/* config.c - study files: one table of every key drives parsing,
 * validation, defaults, the resolved INI text and the documentation.
 *
 * A key that sets a field of a library parameter struct (genbo_reward_params,
 * genbo_diffusion_params, genbo_sample_params, genbo_task_params, the genbo
 * method's selection) is bound to that field by offset: its type, range and
 * words are the owner's row (core/fields.h; the same row the owner's check
 * reads) and its default is what the owner's *_default function sets. Only
 * study-level keys (name, data files, targets, methods, loop, evaluator,
 * constraints) carry their own type, range and default here.
 *
 * Adding a key: for a library field, add the field to its struct in genbo.h,
 * its default to the owner's *_default, its row to the owner's field table,
 * then one LIB(...) row below and its README row (tests/test_docs.c prints
 * the row it wants). For a study-level setting: a field in config.h and an
 * OWN(...) row below, and the README row. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bin.h"
#include "core/core.h"
#include "core/fields.h"
#include "optimizer/methods.h"
#include "studies/config.h"

typedef enum {
    K_LIB,     /* a library field: type, range, words from its owner's row */
    K_INT,     /* int in [min, max] */
    K_LONG,    /* long in [min, max] */
    K_U64,     /* unsigned 64-bit seed */
    K_DOUBLE,  /* finite double in [min, max] */
    K_ENUM,    /* one word of `words` ("a|b|c"), stored as its index */
    K_TASK,    /* [data] task: a task kind's name (datasets/tasks.c) or csv */
    K_METHOD,  /* one method name, kept as text */
    K_STR,     /* free text */
    K_PATH,    /* a file that must exist ("" = none), resolved from the study file */
    K_LAMBDA,  /* gcv | kfold | a number in reward.lambda's range (sets lambda_select) */
    K_TARGETS, /* comma-separated target specs */
    K_TARGET,  /* one target spec */
    K_METHODS, /* comma-separated method names */
    K_BOUNDS   /* data | LO:HI | a list of LO:HI or data, one per feature */
} key_type;

typedef struct key_def {
    const char *section, *name;
    key_type type;
    size_t offset, size;      /* the field in struct genbo_config and its size */
    const genbo__fields *lib; /* K_LIB, K_LAMBDA: the owner's table */
    size_t base;              /* ... and where its struct sits in genbo_config */
    double min, max;          /* study-level keys: range */
    const char *words;        /* K_ENUM */
    const char *dflt;         /* study-level keys: default */
    const char *doc;
} key_def;

#define MEMBER(field) offsetof(struct genbo_config, field), sizeof(((struct genbo_config *)0)->field)
/* A key bound to field `field` of the library struct member `member`
 * (whose rows are genbo__<table>_fields). */
#define LIB(table, member, field) \
    K_LIB, MEMBER(member.field), &genbo__##table##_fields, offsetof(struct genbo_config, member), 0, 0, NULL, NULL
/* A study-level key: its own type, range, words and default. */
#define OWN(type, field, lo, hi, words, dflt) type, MEMBER(field), NULL, 0, lo, hi, words, dflt
#define BIG 1e300

/* The method names live in optimizer/methods.c (one list). */
#define METHOD_WORDS genbo__method_words()

static const key_def KEYS[] = {
    {"study", "name", OWN(K_STR, name, 0, 0, NULL, "default"), "study name, unique within a database"},
    {"study", "seed", OWN(K_U64, seed, 0, 0, NULL, "1"),
     "seed of everything random (task, splits, training, sampling)"},
    {"study", "db", OWN(K_STR, db, 0, 0, NULL, ""),
     "database file (relative to the current directory); \"\" = `<name>.db`; `--db` overrides"},

    {"data", "task", OWN(K_TASK, task, 0, 0, NULL, "subspace_linear"),
     "synthetic task with a true reward, or `csv` for your own files"},
    {"data", "D", LIB(task, task_params, D), "ambient dimension (subspace tasks)"},
    {"data", "d", LIB(task, task_params, d), "subspace dimension, <= D (subspace tasks)"},
    {"data", "off_ratio", LIB(task, task_params, off_ratio),
     "norm of theta_perp over norm of theta_par: how much of the reward direction is off the subspace (0 = none)"},
    {"data", "noise_sd", LIB(task, task_params, noise_sd),
     "standard deviation of the label noise (synthetic tasks)"},
    {"data", "seq_len", LIB(task, task_params, seq_len), "time points (gp_sequence)"},
    {"data", "seq_dim", LIB(task, task_params, seq_dim), "dimension per time point (gp_sequence)"},
    {"data", "lengthscale", LIB(task, task_params, lengthscale), "kernel lengthscale over time (gp_sequence)"},
    {"data", "manifold_dim", LIB(task, task_params, manifold_dim),
     "intrinsic dimension of the curved manifold, < d (curved_manifold)"},
    {"data", "n_label", OWN(K_LONG, n_label, 2, 1e8, NULL, "200"), "labelled designs drawn from the task"},
    {"data", "n_unlabel", OWN(K_LONG, n_unlabel, 1, 1e8, NULL, "10000"),
     "unlabelled pool size drawn from the task"},
    {"data", "labelled", OWN(K_PATH, labelled, 0, 0, NULL, ""),
     "CSV of labelled designs (task = csv; relative to the study file)"},
    {"data", "pool", OWN(K_PATH, pool, 0, 0, NULL, ""),
     "CSV of unlabelled designs (task = csv; \"\" = use the labelled designs)"},
    {"data", "reward_column", OWN(K_STR, reward_column, 0, 0, NULL, "reward"),
     "name of the reward column in `labelled`"},

    {"reward", "model", LIB(reward, reward, kind), "reward model: ridge regression or a Gaussian process"},
    {"reward", "lambda", K_LAMBDA, MEMBER(reward.lambda), &genbo__reward_fields,
     offsetof(struct genbo_config, reward), 0, 0, NULL, NULL,
     "ridge penalty: `gcv`, `kfold` or a fixed number"},
    {"reward", "kfold", LIB(reward, reward, kfold), "folds when lambda = kfold"},
    {"reward", "kernel", LIB(reward, reward, kernel), "GP kernel"},
    {"reward", "ard", LIB(reward, reward, ard), "GP: one lengthscale per feature"},
    {"reward", "max_evals", LIB(reward, reward, max_evals), "GP: likelihood evaluations per restart"},
    {"reward", "restarts", LIB(reward, reward, restarts),
     "GP: random restarts of the likelihood maximisation after the first start"},

    {"diffusion", "width", LIB(diffusion, diffusion, width),
     "hidden width of the score network; `auto` = next power of two >= 4 D in [64, 512]"},
    {"diffusion", "depth", LIB(diffusion, diffusion, depth), "residual blocks"},
    {"diffusion", "t_embed", LIB(diffusion, diffusion, t_embed), "time-embedding size"},
    {"diffusion", "y_embed", LIB(diffusion, diffusion, y_embed), "reward-embedding size"},
    {"diffusion", "steps", LIB(diffusion, diffusion, steps),
     "training steps; `auto` = until the validation loss stops improving (patience, tol), at most max_steps / max_seconds"},
    {"diffusion", "batch", LIB(diffusion, diffusion, batch),
     "batch size; `auto` = largest power of two <= training rows / 16 in [32, 256]"},
    {"diffusion", "max_steps", LIB(diffusion, diffusion, max_steps), "steps = auto: step budget"},
    {"diffusion", "max_seconds", LIB(diffusion, diffusion, max_seconds),
     "steps = auto: wall-clock budget of the training in seconds (0 = none)"},
    {"diffusion", "val_fraction", LIB(diffusion, diffusion, val_fraction),
     "fraction of the pool held out (seeded) for the validation loss, at most 2000 rows"},
    {"diffusion", "eval_every", LIB(diffusion, diffusion, eval_every),
     "steps between validations (EMA weights on fixed draws)"},
    {"diffusion", "patience", LIB(diffusion, diffusion, patience),
     "steps = auto: stop after this many validations without improvement; lr halves every patience/3"},
    {"diffusion", "tol", LIB(diffusion, diffusion, tol), "relative improvement of the validation loss that counts"},
    {"diffusion", "checkpoint_seconds", LIB(diffusion, diffusion, checkpoint_seconds),
     "seconds between training checkpoints stored for resuming (0 = at every validation)"},
    {"diffusion", "lr", LIB(diffusion, diffusion, lr), "peak learning rate (AdamW)"},
    {"diffusion", "weight_decay", LIB(diffusion, diffusion, weight_decay), "AdamW decoupled weight decay"},
    {"diffusion", "clip", LIB(diffusion, diffusion, clip), "gradient-norm clip (0 = none)"},
    {"diffusion", "warmup", LIB(diffusion, diffusion, warmup),
     "fixed steps: fraction of steps of linear warm-up (auto: the first eval_every steps)"},
    {"diffusion", "ema", LIB(diffusion, diffusion, ema), "EMA decay of the sampling weights"},
    {"diffusion", "p_uncond", LIB(diffusion, diffusion, p_uncond), "condition dropout probability"},
    {"diffusion", "t0", LIB(diffusion, diffusion, t0), "smallest diffusion time"},
    {"diffusion", "T", LIB(diffusion, diffusion, T), "largest diffusion time, > t0"},
    {"diffusion", "schedule", LIB(diffusion, diffusion, schedule),
     "forward process: OU dX = -X/2 dt + dW, or a linear-beta VP SDE"},
    {"diffusion", "reweight_percentile", OWN(K_DOUBLE, reweight_percentile, 0, 99.9, NULL, "90"),
     "`reweighted` model (DDOM): temperature = max pseudo-reward minus this percentile of them"},
    {"diffusion", "time_sampling", LIB(diffusion, diffusion, time_sampling),
     "distribution of training times on [t0, T]"},
    {"diffusion", "precision", LIB(diffusion, diffusion, precision),
     "matrix arithmetic of the network: bf16 (oneDNN, AMX/AVX512-BF16; fp32 master weights) or fp32 (OpenBLAS); auto = bf16 where the CPU has it; bf16 on a CPU without it is an error"},

    {"generate", "targets", OWN(K_TARGETS, targets_text, 0, 0, NULL, "p50, p90, max"),
     "target rewards: `pQ` = Q-th percentile of the pool's pseudo-rewards, `max` = the pool's "
     "largest, a number = absolute"},
    {"generate", "n", OWN(K_LONG, n, 1, 1e7, NULL, "64"), "designs per target and method"},
    {"generate", "methods", OWN(K_METHODS, methods_text, 0, 0, NULL, NULL), "methods compared (see the methods table)"},
    {"generate", "sampler", LIB(sample, sample, sampler), "reverse-time sampler"},
    {"generate", "steps", LIB(sample, sample, steps), "sampler steps"},
    {"generate", "cfg_weight", LIB(sample, sample, cfg_weight),
     "classifier-free guidance weight w of `genbo` (0 = plain conditioning)"},
    {"generate", "grad_mode", LIB(sample, sample, grad_mode),
     "gradient guidance of `genbo` and `gradient`: `target` = Guo et al.'s target-seeking "
     "look-ahead, or a linear tilt at x0_hat (`lookahead`) or x_t (`naive`) (docs/diffusion.md)"},
    {"generate", "grad_eta", LIB(sample, sample, grad_eta),
     "gradient-guidance strength eta, unitless: guidance acts on f_hat / (sd of its labels)"},
    {"generate", "oversample", LIB(select, select, oversample),
     "`genbo` draws oversample x n candidates and returns the n best (1 = no selection; docs/optimizer.md)"},
    {"generate", "kappa", LIB(select, select, kappa),
     "`genbo` acquisition: predicted reward minus kappa x its predictive sd (0 = the mean alone)"},
    {"generate", "min_distance", LIB(select, select, min_distance),
     "`genbo` diversity: least pairwise distance of the batch, in pool nearest-neighbour distances (standardised features; 0 = none); with `diversity = adaptive` the most it can be"},
    {"generate", "diversity", LIB(select, select, diversity),
     "`genbo`: `adaptive` = each design keeps the others at (the candidates' largest mean minus its own mean - kappa sd) / (the largest gradient norm of the mean), at most min_distance (local penalisation: a confident model packs the batch near its optimum); `fixed` = min_distance for every design"},
    {"generate", "sources", LIB(select, select, sources),
     "candidate sources of `genbo`: the guided sampler, `edit` designs, the guided sampler on the reweighted model (trains a second model), split over oversample x n; plus the surrogate-ascent designs (`ascent`), the pool designs rated best (`pool`) and points between the best ascent design and its nearest pool rows (`local`, with `ascent`)"},
    {"generate", "explore", LIB(select, select, explore),
     "`genbo`: at most this share of the batch is chosen by `explore_rule` (the share used is the model's median sd over the labels' sd; 0 = none)"},
    {"generate", "explore_rule", LIB(select, select, explore_rule),
     "`genbo`: the exploring share by `thompson` sampling (each design the best under one draw of the reward model's posterior) or by `ucb` (predicted reward plus kappa x sd)"},
    {"generate", "edit_noise", LIB(select, select, edit_noise),
     "`edit`: share of each ascent design's variance replaced by noise before denoising (sigma_t^2 of the start time)"},

    {"evaluate", "evaluator", OWN(K_ENUM, evaluator, 0, 0, "auto|oracle|command|none", "auto"),
     "true rewards of generated designs: the task's oracle, an external command, or none; "
     "`auto` = oracle for synthetic tasks, none for csv"},
    {"evaluate", "command", OWN(K_STR, command, 0, 0, NULL, ""),
     "shell command: reads designs as CSV on stdin, prints one reward per line"},
    {"evaluate", "timeout", OWN(K_DOUBLE, timeout, 1e-3, 1e9, NULL, "60"),
     "seconds per batch before the command is killed"},

    {"loop", "rounds", OWN(K_INT, rounds, 0, 100000, NULL, "0"), "design-loop rounds after the generation phase"},
    {"loop", "batch", OWN(K_INT, loop_batch, 1, 1000000, NULL, "16"), "designs asked per round"},
    {"loop", "target", OWN(K_TARGET, loop_target_text, 0, 0, NULL, "p90"),
     "target of every round (spec as in [generate] targets, resolved once)"},
    {"loop", "method", OWN(K_METHOD, loop_method, 0, 0, NULL, "genbo"), "method of the rounds (any of the methods)"},
    {"loop", "finetune_steps", OWN(K_LONG, finetune_steps, 0, 1e9, NULL, "0"),
     "diffusion fine-tuning steps after each round (0 = none)"},

    {"ask", "steps", OWN(K_INT, ask_steps, 0, 100000, NULL, "0"), "sampler steps used by ask (0 = [generate] steps)"},
    {"ask", "heartbeat", OWN(K_DOUBLE, ask_heartbeat, 0, 1e9, NULL, "0"),
     "seconds between a live worker's heartbeats (`genbo heartbeat`); without a timeout an asked trial is stale "
     "after twice this (0 = none)"},
    {"ask", "timeout", OWN(K_DOUBLE, ask_timeout, 0, 1e9, NULL, "0"),
     "seconds after which an asked trial with no tell and no heartbeat is failed as stale, by every ask and "
     "`genbo fail-stale` (0 = never)"},

    {"constraints", "bounds", OWN(K_BOUNDS, bounds, 0, 0, NULL, "data"),
     "per-feature bounds of every design: `data` = the data's range widened by `margin`, one "
     "`LO:HI` for every feature, or a list with one `LO:HI` or `data` per feature"},
    {"constraints", "margin", OWN(K_DOUBLE, trust_margin, 0, BIG, NULL, "0.5"),
     "widening of the data's range per side, in data standard deviations"},
    {"constraints", "simplex", OWN(K_STR, simplex, 0, 0, NULL, "none"),
     "features that must sum to one (each in [0, 1]): `none`, `all` or a list of column names"},
};
#define N_KEYS ((int)(sizeof KEYS / sizeof KEYS[0]))
_Static_assert(sizeof KEYS / sizeof KEYS[0] <= CFG_MAX_KEYS, "raise CFG_MAX_KEYS (config.h)");

/* The library row a key is bound to (NULL for a study-level key). */
static const genbo__field *lib_row(const key_def *k) {
    return k->lib ? genbo__field_at(k->lib, k->offset - k->base) : NULL;
}

/* The words of an enum-like key into buf: the owner's row, the key's own,
 * the task kinds plus csv, or the method names. */
static const char *key_words(const key_def *k, char *buf, size_t size) {
    const genbo__field *f = lib_row(k);
    if (f) return f->words ? f->words : "";
    if (k->type == K_TASK) {
        snprintf(buf, size, "%s|csv", genbo__field_named(&genbo__task_fields, "kind")->words);
        return buf;
    }
    if (k->type == K_METHOD || k->type == K_METHODS) return METHOD_WORDS;
    return k->words ? k->words : "";
}

/* ---- value parsing ------------------------------------------------------ */

#define word_index genbo__word_index

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

/* "out of range" with the range as the message says it: integers
 * "(between 1 and 1000000000)", numbers "(must be >= 0)", otherwise the
 * range text of fields.h. */
static int range_fail(const genbo_config *c, int line, const key_def *k, const char *v, int integer,
                      double lo, double hi, unsigned flags) {
    char r[160];
    if (flags & (GENBO__FIELD_MIN_OPEN | GENBO__FIELD_MAX_OPEN | GENBO__FIELD_EVEN)) {
        genbo__field f = {k->name, integer ? GENBO__FIELD_LONG : GENBO__FIELD_DOUBLE, 0, lo, hi, flags, NULL};
        genbo__field_range_text(&f, "|", r, sizeof r);
    } else if (integer) {
        snprintf(r, sizeof r, "between %.0f and %.0f", lo, hi);
    } else if (hi >= BIG) {
        snprintf(r, sizeof r, "must be >= %g", lo);
    } else {
        snprintf(r, sizeof r, "must be between %g and %g", lo, hi);
    }
    return key_fail(c, line, k, GENBO_EINVAL, "%s is out of range (%s)", v, r);
}

/* A number for a key of type `type` (int/long/double/u64/bool/enum) with
 * range lo..hi and flags into *x; words for enum. GENBO_OK or a message. */
static int parse_number(const genbo_config *c, int line, const key_def *k, const char *v,
                        genbo__field_type type, double lo, double hi, unsigned flags,
                        const char *words, double *x) {
    long l;
    switch (type) {
    case GENBO__FIELD_INT:
    case GENBO__FIELD_LONG: {
        int is_auto = (flags & GENBO__FIELD_AUTO) != 0;
        if (is_auto && !strcmp(v, "auto")) {
            *x = 0;
            return GENBO_OK;
        }
        if (!parse_long(v, &l))
            return key_fail(c, line, k, GENBO_EINVAL,
                            is_auto ? "'%s' is not an integer or auto" : "'%s' is not an integer", v, 0);
        genbo__field f = {k->name, type, 0, lo, hi, flags, NULL}; /* with AUTO, 0 means auto too */
        if (!genbo__field_in_range(&f, (double)l) || (type == GENBO__FIELD_INT && (l < INT_MIN || l > INT_MAX)))
            return range_fail(c, line, k, v, 1, lo, hi, flags);
        *x = (double)l;
        return GENBO_OK;
    }
    case GENBO__FIELD_U64: {
        char *end;
        errno = 0;
        unsigned long long u = strtoull(v, &end, 10);
        if (end == v || *end || errno || v[0] == '-')
            return key_fail(c, line, k, GENBO_EINVAL, "'%s' is not a non-negative integer", v, 0);
        *x = (double)u; /* not for seeds: set_value stores those exactly */
        return GENBO_OK;
    }
    case GENBO__FIELD_DOUBLE: {
        if (!parse_double(v, x)) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is not a number", v, 0);
        genbo__field f = {k->name, type, 0, lo, hi, flags, NULL};
        if (!genbo__field_in_range(&f, *x)) return range_fail(c, line, k, v, 0, lo, hi, flags);
        return GENBO_OK;
    }
    case GENBO__FIELD_BOOL: {
        int b = word_index("false|true|no|yes|0|1|off|on", v);
        if (b < 0) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is not true or false", v, 0);
        *x = b % 2;
        return GENBO_OK;
    }
    case GENBO__FIELD_ENUM: {
        int i = word_index(words, v);
        if (i < 0) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is not one of %s", v, words);
        *x = i;
        return GENBO_OK;
    }
    case GENBO__FIELD_FLAGS: {
        unsigned mask = 0;
        char item[64];
        const char *p = v;
        while (next_item(&p, item, sizeof item)) {
            int i = word_index(words, item);
            if (i < 0) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is not one of %s", item, words);
            if (mask & (1u << i)) return key_fail(c, line, k, GENBO_EINVAL, "'%s' is listed twice", item, 0);
            mask |= 1u << i;
        }
        if (!mask && (flags & GENBO__FIELD_NONEMPTY))
            return key_fail(c, line, k, GENBO_EINVAL, "'%s' lists none of %s", v, words);
        *x = mask;
        return GENBO_OK;
    }
    }
    return GENBO_EINVAL;
}

static int set_value(genbo_config *c, int ki, const char *v, int line) {
    const key_def *k = &KEYS[ki];
    char *field = (char *)c + k->offset;
    double x = 0;
    const char *why = NULL;
    char wbuf[256];
    int rc;
    switch (k->type) {
    case K_LIB: {
        const genbo__field *f = lib_row(k);
        if (f->type == GENBO__FIELD_U64) {
            rc = parse_number(c, line, k, v, f->type, 0, 0, 0, NULL, &x);
            if (rc) return rc;
            *(uint64_t *)field = strtoull(v, NULL, 10);
            break;
        }
        rc = parse_number(c, line, k, v, f->type, f->min, f->max, f->flags, f->words, &x);
        if (rc) return rc;
        genbo__field_store(f, (char *)c + k->base, x);
        break;
    }
    case K_INT:
    case K_LONG:
    case K_DOUBLE:
        rc = parse_number(c, line, k, v,
                          k->type == K_INT    ? GENBO__FIELD_INT
                          : k->type == K_LONG ? GENBO__FIELD_LONG
                                              : GENBO__FIELD_DOUBLE,
                          k->min, k->max, 0, NULL, &x);
        if (rc) return rc;
        if (k->type == K_INT) *(int *)field = (int)x;
        else if (k->type == K_LONG) *(long *)field = (long)x;
        else *(double *)field = x;
        break;
    case K_U64:
        rc = parse_number(c, line, k, v, GENBO__FIELD_U64, 0, 0, 0, NULL, &x);
        if (rc) return rc;
        *(uint64_t *)field = strtoull(v, NULL, 10);
        break;
    case K_ENUM:
    case K_TASK:
        rc = parse_number(c, line, k, v, GENBO__FIELD_ENUM, 0, 0, 0, key_words(k, wbuf, sizeof wbuf), &x);
        if (rc) return rc;
        *(int *)field = (int)x;
        break;
    case K_METHOD:
        rc = parse_number(c, line, k, v, GENBO__FIELD_ENUM, 0, 0, 0, METHOD_WORDS, &x);
        if (rc) return rc;
        snprintf(field, k->size, "%s", v); /* a method name kept as text */
        break;
    case K_LAMBDA: {
        const genbo__field *f = lib_row(k);
        genbo_lambda_select sel = GENBO_LAMBDA_FIXED;
        if (!strcmp(v, "gcv")) sel = GENBO_LAMBDA_GCV;
        else if (!strcmp(v, "kfold")) sel = GENBO_LAMBDA_KFOLD;
        else if (!parse_double(v, &x) || !genbo__field_in_range(f, x)) {
            char r[96];
            genbo__field_range_text(f, "|", r, sizeof r);
            return key_fail(c, line, k, GENBO_EINVAL, "'%s' is not gcv, kfold or a %s", v, r);
        }
        c->reward.lambda_select = sel;
        if (sel == GENBO_LAMBDA_FIXED) c->reward.lambda = x;
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
    if (!known_section(section)) {
        char known[256] = "";
        size_t len = 0;
        for (int i = 0; i < N_KEYS && len < sizeof known; i++)
            if (i == 0 || strcmp(KEYS[i].section, KEYS[i - 1].section))
                len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "",
                                        KEYS[i].section);
        return genbo__fail(GENBO_EINVAL, "%sunknown section [%s] (known: %s)", where, section, known);
    }
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
    const genbo_task_params *tp = &c->task_params;
    RULE(!subspace || tp->d <= tp->D, "data", "d", "d = %d must not exceed D = %d", tp->d, tp->D);
    RULE(c->task != GENBO_TASK_CURVED_MANIFOLD || tp->manifold_dim < tp->d, "data", "manifold_dim",
         "manifold_dim = %d must be smaller than d = %d", tp->manifold_dim, tp->d);
    RULE(c->task != GENBO_TASK_GP_SEQUENCE || (long)tp->seq_len * tp->seq_dim <= (1L << 20), "data",
         "seq_dim", "seq_len x seq_dim = %ld must not exceed 2^20", (long)tp->seq_len * tp->seq_dim);
    RULE(c->task != CFG_TASK_CSV || c->labelled[0], "data", "labelled",
         "task = csv needs a labelled file");
    RULE(c->task == CFG_TASK_CSV || (!c->labelled[0] && !c->pool[0]), "data", "labelled",
         "labelled/pool files need task = csv");
    RULE(c->diffusion.t0 < c->diffusion.T, "diffusion", "T", "T = %g must be larger than t0 = %g",
         c->diffusion.T, c->diffusion.t0);
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
    /* The library's defaults, from its owners' own functions ... */
    genbo_task_params_default(&c->task_params);
    genbo_reward_params_default(&c->reward);
    genbo_diffusion_params_default(&c->diffusion);
    genbo__generate_sample_default(&c->sample);
    genbo__select_settings_default(&c->select);
    /* ... and the study-level ones from the table. */
    for (int i = 0; i < N_KEYS; i++) {
        if (KEYS[i].type == K_LIB || KEYS[i].type == K_LAMBDA) continue;
        const char *dflt = KEYS[i].type == K_METHODS ? genbo__method_default_list() : KEYS[i].dflt;
        int rc = set_value(c, i, dflt, 0);
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
    void *buf;
    size_t len;
    int rc = genbo__file_read(path, "study file", STUDY_FILE_MAX, &buf, &len);
    if (rc) return rc;
    char *text = buf;
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

/* A library field's value as the study file writes it. */
static void field_text(const genbo__field *f, const void *base, char *buf, size_t size) {
    double x = genbo__field_value(f, base);
    switch (f->type) {
    case GENBO__FIELD_INT:
    case GENBO__FIELD_LONG:
        if ((f->flags & GENBO__FIELD_AUTO) && x == 0) snprintf(buf, size, "auto");
        else snprintf(buf, size, "%.0f", x);
        break;
    case GENBO__FIELD_DOUBLE: fmt_double(buf, size, x); break;
    case GENBO__FIELD_BOOL: snprintf(buf, size, "%s", x != 0 ? "true" : "false"); break;
    case GENBO__FIELD_ENUM: genbo__word_at(f->words, (int)x, buf, size); break;
    case GENBO__FIELD_FLAGS: { /* the words of the set bits, in bit order */
        size_t len = 0;
        buf[0] = '\0';
        char w[64];
        for (int i = 0; i < 31 && len < size; i++)
            if (((unsigned)x >> i) & 1u) {
                genbo__word_at(f->words, i, w, sizeof w);
                len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "", w);
            }
        break;
    }
    case GENBO__FIELD_U64:
        snprintf(buf, size, "%llu",
                 (unsigned long long)*(const uint64_t *)((const char *)base + f->offset));
        break;
    }
}

static void value_text(const genbo_config *c, const key_def *k, char *buf, size_t size) {
    const char *field = (const char *)c + k->offset;
    char wbuf[256];
    switch (k->type) {
    case K_LIB: field_text(lib_row(k), (const char *)c + k->base, buf, size); break;
    case K_LAMBDA:
        if (c->reward.lambda_select == GENBO_LAMBDA_GCV) snprintf(buf, size, "gcv");
        else if (c->reward.lambda_select == GENBO_LAMBDA_KFOLD) snprintf(buf, size, "kfold");
        else fmt_double(buf, size, c->reward.lambda);
        break;
    case K_INT: snprintf(buf, size, "%d", *(const int *)field); break;
    case K_LONG: snprintf(buf, size, "%ld", *(const long *)field); break;
    case K_U64: snprintf(buf, size, "%llu", (unsigned long long)*(const uint64_t *)field); break;
    case K_DOUBLE: fmt_double(buf, size, *(const double *)field); break;
    case K_ENUM:
    case K_TASK: genbo__word_at(key_words(k, wbuf, sizeof wbuf), *(const int *)field, buf, size); break;
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

/* The README's "values" column of a key (bars escaped for Markdown). */
static void values_text(const key_def *k, char *values, size_t size) {
    static const char *const bar = " \\| ";
    const genbo__field *f = lib_row(k);
    char ws[256], r[160];
    switch (k->type) {
    case K_LIB: genbo__field_range_text(f, bar, values, size); break;
    case K_LAMBDA:
        genbo__field_range_text(f, bar, r, sizeof r);
        snprintf(values, size, "gcv%skfold%s%s", bar, bar, r);
        break;
    case K_INT: case K_LONG: snprintf(values, size, "integer %.0f..%.0f", k->min, k->max); break;
    case K_U64: snprintf(values, size, "integer >= 0"); break;
    case K_DOUBLE:
        if (k->max >= BIG) snprintf(values, size, "number >= %g", k->min);
        else snprintf(values, size, "number %g..%g", k->min, k->max);
        break;
    case K_ENUM: case K_TASK: case K_METHOD: {
        genbo__field e = {k->name, GENBO__FIELD_ENUM, 0, 0, 0, 0, key_words(k, ws, sizeof ws)};
        genbo__field_range_text(&e, bar, values, size);
        break;
    }
    case K_STR: snprintf(values, size, "text"); break;
    case K_PATH: snprintf(values, size, "file path"); break;
    case K_TARGETS: snprintf(values, size, "list of pQ%smax%snumber", bar, bar); break;
    case K_TARGET: snprintf(values, size, "pQ%smax%snumber", bar, bar); break;
    case K_METHODS: snprintf(values, size, "list of methods"); break;
    case K_BOUNDS: snprintf(values, size, "data%sLO:HI%slist of LO:HI or data", bar, bar); break;
    }
}

char *genbo__config_doc_table(void) {
    genbo_config *dflt;
    if (genbo_config_default(&dflt)) return NULL;
    size_t cap = 32768, len = 0;
    char *out = genbo__malloc(cap);
    if (!out) {
        genbo_config_free(dflt);
        return NULL;
    }
    len += (size_t)snprintf(out, cap, "| section | key | default | values | meaning |\n|---|---|---|---|---|\n");
    for (int i = 0; i < N_KEYS && len < cap; i++) {
        const key_def *k = &KEYS[i];
        char values[320], d[2 * CFG_STR];
        values_text(k, values, sizeof values);
        value_text(dflt, k, d, sizeof d); /* the default is what a default configuration holds */
        len += (size_t)snprintf(out + len, cap - len, "| [%s] | `%s` | `%s` | %s | %s |\n", k->section,
                                k->name, d, values, k->doc);
    }
    genbo_config_free(dflt);
    return out;
}

/* ---- one library struct set key by key (genbo fit, the Python module) ---- */

/* Key `key` of `section` bound to table t, parsed as the study file parses
 * it into a scratch configuration whose member at `base` is *p. */
static int struct_set(const char *what, const genbo__fields *t, const char *section, size_t base,
                      size_t size, void *p, const char *key, const char *value) {
    if (!p || !key || !value) return genbo__fail(GENBO_EINVAL, "%s: NULL argument", what);
    int ki = find_key(section, key);
    if (ki < 0 || KEYS[ki].lib != t) {
        char known[512] = "";
        size_t len = 0;
        for (int i = 0; i < N_KEYS && len < sizeof known; i++)
            if (KEYS[i].lib == t && !strcmp(KEYS[i].section, section))
                len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", len ? ", " : "", KEYS[i].name);
        return genbo__fail(GENBO_ENOTFOUND, "%s: unknown key '%s' (known: %s)", what, key, known);
    }
    genbo_config *c = genbo__calloc(1, sizeof *c);
    if (!c) return GENBO_ENOMEM;
    memcpy((char *)c + base, p, size);
    int rc = set_value(c, ki, value, 0);
    if (!rc) memcpy(p, (char *)c + base, size);
    free(c);
    return rc;
}

int genbo_reward_params_set(genbo_reward_params *p, const char *key, const char *value) {
    return struct_set("genbo_reward_params_set", &genbo__reward_fields, "reward",
                      offsetof(struct genbo_config, reward), sizeof *p, p, key, value);
}

int genbo_diffusion_params_set(genbo_diffusion_params *p, const char *key, const char *value) {
    return struct_set("genbo_diffusion_params_set", &genbo__diffusion_fields, "diffusion",
                      offsetof(struct genbo_config, diffusion), sizeof *p, p, key, value);
}

int genbo_sample_params_set(genbo_sample_params *p, const char *key, const char *value) {
    return struct_set("genbo_sample_params_set", &genbo__sample_fields, "generate",
                      offsetof(struct genbo_config, sample), sizeof *p, p, key, value);
}

/* ---- the table for tests (tests/test_docs.c) ----------------------------- */

int genbo__config_key_count(void) { return N_KEYS; }

int genbo__config_key_at(int i, genbo__config_key *out) {
    if (i < 0 || i >= N_KEYS) return GENBO_ENOTFOUND;
    const key_def *k = &KEYS[i];
    out->section = k->section;
    out->name = k->name;
    out->lib = k->lib;
    out->field = lib_row(k);
    out->base = k->base;
    return GENBO_OK;
}

/* ---- parameter structs for the library -----------------------------------
 * The structs are members, set key by key through the table: handing one
 * out is a copy plus the settings that come from elsewhere ([study] seed,
 * [data] task, [diffusion] precision). */

void genbo__config_task_params(const genbo_config *c, genbo_task_params *p) {
    *p = c->task_params;
    p->kind = c->task == CFG_TASK_CSV ? GENBO_TASK_SUBSPACE_LINEAR : (genbo_task_kind)c->task;
    p->seed = c->seed;
}

void genbo__config_reward_params(const genbo_config *c, genbo_reward_params *p) {
    *p = c->reward;
    p->seed = c->seed;
}

void genbo__config_diffusion_params(const genbo_config *c, genbo_diffusion_params *p) {
    *p = c->diffusion;
    p->seed = c->seed;
}

void genbo__config_select_settings(const genbo_config *c, genbo__select_settings *s) { *s = c->select; }

void genbo__config_sample_params(const genbo_config *c, genbo_sample_params *p) {
    *p = c->sample;
    p->seed = c->seed;
    p->precision = c->diffusion.precision;
}
