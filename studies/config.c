/* config.c - study files: one table of every key drives parsing,
 * validation, defaults, the resolved INI text and the documentation
 * (config_parse.c reads values and files by it, config_text.c writes the
 * INI text and the README table; config_table.h is their shared view).
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
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "core/fields.h"
#include "optimizer/methods.h"
#include "studies/config.h"
#include "studies/config_table.h"

#define MEMBER(field) offsetof(struct genbo_config, field), sizeof(((struct genbo_config *)0)->field)
/* A key bound to field `field` of the library struct member `member`
 * (whose rows are genbo__<table>_fields). */
#define LIB(table, member, field) \
    K_LIB, MEMBER(member.field), &genbo__##table##_fields, offsetof(struct genbo_config, member), 0, 0, NULL, NULL
/* A study-level key: its own type, range, words and default. */
#define OWN(type, field, lo, hi, words, dflt) type, MEMBER(field), NULL, 0, lo, hi, words, dflt

const key_def genbo__config_keys[] = {
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
     "candidate sources of `genbo`: the guided sampler, `edit` designs, the guided sampler on the reweighted model (trains a second model), split over oversample x n; plus the surrogate-ascent designs (`ascent`), the pool designs rated best (`pool`) and points between the best ascent design and its nearest pool rows (`local`, with `ascent`, only when the model is sure of its batch)"},
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
const int genbo__config_n_keys = (int)(sizeof genbo__config_keys / sizeof genbo__config_keys[0]);
_Static_assert(sizeof genbo__config_keys / sizeof genbo__config_keys[0] <= GENBO__CFG_MAX_KEYS,
               "raise GENBO__CFG_MAX_KEYS (config.h)");

const genbo__field *genbo__config_lib_row(const key_def *k) {
    return k->lib ? genbo__field_at(k->lib, k->offset - k->base) : NULL;
}

const char *genbo__config_key_words(const key_def *k, char *buf, size_t size) {
    const genbo__field *f = genbo__config_lib_row(k);
    if (f) return f->words ? f->words : "";
    if (k->type == K_TASK) {
        snprintf(buf, size, "%s|csv", genbo__field_named(&genbo__task_fields, "kind")->words);
        return buf;
    }
    if (k->type == K_METHOD || k->type == K_METHODS) return METHOD_WORDS;
    return k->words ? k->words : "";
}

int genbo__config_find_key(const char *section, const char *name) {
    for (int i = 0; i < genbo__config_n_keys; i++)
        if (!strcmp(genbo__config_keys[i].section, section) && !strcmp(genbo__config_keys[i].name, name)) return i;
    return -1;
}

/* ---- the table for tests (tests/test_docs.c) ----------------------------- */

int genbo__config_key_count(void) { return genbo__config_n_keys; }

int genbo__config_key_at(int i, genbo__config_key *out) {
    if (i < 0 || i >= genbo__config_n_keys) return GENBO_ENOTFOUND;
    const key_def *k = &genbo__config_keys[i];
    out->section = k->section;
    out->name = k->name;
    out->lib = k->lib;
    out->field = genbo__config_lib_row(k);
    out->base = k->base;
    return GENBO_OK;
}

/* ---- parameter structs for the library -----------------------------------
 * The structs are members, set key by key through the table: handing one
 * out is a copy plus the settings that come from elsewhere ([study] seed,
 * [data] task, [diffusion] precision). */

void genbo__config_task_params(const genbo_config *c, genbo_task_params *p) {
    *p = c->task_params;
    p->kind = c->task == GENBO__CFG_TASK_CSV ? GENBO_TASK_SUBSPACE_LINEAR : (genbo_task_kind)c->task;
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
