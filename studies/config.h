/* config.h - the resolved study configuration (what genbo_config points
 * to). The library's own parameter structs are members: every study-file
 * key is bound to the field it sets (studies/config.c lists the keys; the
 * ranges are the owners' tables, core/fields.h; the defaults are the
 * owners' *_default functions). Study-level settings are plain fields. */
#ifndef GENBO_STUDIES_CONFIG_H
#define GENBO_STUDIES_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "genbo.h"
#include "optimizer/methods.h"

#define GENBO__CFG_STR 512
#define GENBO__CFG_MAX_TARGETS 16
#define GENBO__CFG_MAX_METHODS 16
#define GENBO__CFG_MAX_KEYS 160 /* study-file keys (a static assertion in config.c) */

/* [data] task: the three synthetic tasks of genbo_task_kind, or CSV files. */
enum { GENBO__CFG_TASK_CSV = 4 }; /* after the genbo_task_kind values */
/* [evaluate] evaluator */
enum {
    GENBO__CFG_EVAL_AUTO = 0,
    GENBO__CFG_EVAL_ORACLE = 1,
    GENBO__CFG_EVAL_COMMAND = 2,
    GENBO__CFG_EVAL_NONE = 3
};

/* A target spec: "p90" (90th percentile of the pool's pseudo-rewards),
 * "max" (the largest pseudo-reward in the pool) or an absolute "2.5". */
typedef enum { GENBO__TARGET_PERCENTILE, GENBO__TARGET_MAX, GENBO__TARGET_ABSOLUTE } genbo__target_kind;
typedef struct genbo__target {
    genbo__target_kind kind;
    double value; /* percentile in [0, 100] or the absolute reward */
    char label[32];
} genbo__target;

struct genbo_config {
    /* Directory of the study file: relative CSV paths are resolved from it
     * when parsed (labelled and pool hold the resolved paths). */
    char base_dir[GENBO__CFG_STR];
    char source[GENBO__CFG_STR]; /* the file's name for messages ("" if none) */

    /* [study] */
    char name[128];
    uint64_t seed;
    char db[GENBO__CFG_STR];

    /* [data] */
    int task; /* genbo_task_kind or GENBO__CFG_TASK_CSV */
    genbo_task_params task_params; /* D, d, ...; kind and seed come from task, seed */
    long n_label, n_unlabel;
    char labelled[GENBO__CFG_STR], pool[GENBO__CFG_STR], reward_column[128];

    /* [reward] (seed comes from [study] seed) */
    genbo_reward_params reward;

    /* [diffusion] (seed from [study]; precision also sets sample.precision) */
    genbo_diffusion_params diffusion;
    double reweight_percentile;

    /* [generate] */
    char targets_text[GENBO__CFG_STR];
    genbo__target targets[GENBO__CFG_MAX_TARGETS];
    int n_targets;
    long n;
    char methods_text[GENBO__CFG_STR];
    char methods[GENBO__CFG_MAX_METHODS][32];
    int n_methods;
    genbo_sample_params sample;   /* sampler, steps, cfg_weight, grad_mode, grad_eta */
    genbo__select_settings select; /* the genbo method: oversample, kappa, min_distance,
                                      sources, edit_noise */

    /* [evaluate] */
    int evaluator;
    char command[GENBO__CFG_STR];
    double timeout;

    /* [loop] */
    int rounds, loop_batch;
    char loop_target_text[32];
    genbo__target loop_target;
    char loop_method[32];
    long finetune_steps;

    /* [ask] */
    int ask_steps; /* sampler steps for ask (0 = [generate] steps) */
    double ask_heartbeat; /* seconds between a worker's heartbeats (0 = none; stale.c) */
    double ask_timeout;   /* seconds without a sign of life before an asked trial is stale (0 = never) */

    /* [constraints] (resolved against the data in studies/data.c) */
    char bounds[GENBO__CFG_STR];  /* "data", "LO:HI" or a list (validated syntax) */
    double trust_margin;   /* data sd per side */
    char simplex[GENBO__CFG_STR]; /* "none", "all" or column names */

    /* Source line of every key (0 = default or set by code), by key index. */
    int line[GENBO__CFG_MAX_KEYS];
};

/* Parse a target spec ("p90", "max", "2.5"): 0 or GENBO_EINVAL with the
 * reason in *why (static text). */
int genbo__parse_target(const char *text, genbo__target *t, const char **why);

/* Parse a [constraints] bounds value: with dim = 0 only its syntax; with
 * dim > 0 also fill lo / hi (dim each; NaN = from the data; one range
 * means every feature). *count = ranges listed. GENBO_EINVAL with *why. */
int genbo__parse_bounds(const char *text, size_t dim, double *lo, double *hi, size_t *count,
                        const char **why);

/* Parse a configuration from INI text (as stored in a database); source
 * names it in messages. */
int genbo__config_parse_text(const char *text, const char *source, genbo_config **out);

/* The study-file line reader (ini.c) over text[0..len) (text[len] == '\0';
 * modified in place). The handler gets each key = value with its line and
 * returns 0 to stop. Returns 0 (done or stopped by the handler), the line
 * of a malformed line (> 0), or -line of a NUL byte (< 0). */
typedef int (*genbo__ini_handler)(void *user, int line, const char *section, const char *name,
                                  const char *value);
int genbo__ini_parse(char *text, size_t len, genbo__ini_handler handler, void *user);

/* Fill the library's parameter structs from a configuration. */
void genbo__config_reward_params(const genbo_config *c, genbo_reward_params *p);
void genbo__config_diffusion_params(const genbo_config *c, genbo_diffusion_params *p);
void genbo__config_sample_params(const genbo_config *c, genbo_sample_params *p);
void genbo__config_task_params(const genbo_config *c, genbo_task_params *p);
/* The genbo method's oversampling and selection ([generate] oversample,
 * kappa, min_distance, sources, edit_noise). */
void genbo__config_select_settings(const genbo_config *c, genbo__select_settings *s);

/* The key table, for tests: key i's section and name and, for a key bound
 * to a library field, the owner's table, the field's row and the offset of
 * the owner's struct in struct genbo_config (lib = field = NULL for a
 * study-level key). GENBO_ENOTFOUND past the end. */
typedef struct genbo__config_key {
    const char *section, *name;
    const struct genbo__fields *lib;
    const struct genbo__field *field;
    size_t base;
} genbo__config_key;
int genbo__config_key_count(void);
int genbo__config_key_at(int i, genbo__config_key *out);

/* Documentation of every key as a Markdown table (for docs/studies.md;
 * malloc'ed). */
char *genbo__config_doc_table(void);

#endif
