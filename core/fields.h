/* fields.h - the range of every field of a public parameter struct, in one
 * table per struct (internal).
 *
 * Each library part that owns a parameter struct (genbo_reward_params,
 * genbo_diffusion_params, genbo_sample_params, genbo_task_params, the
 * genbo method's selection) lists its settable fields once: name, type,
 * inclusive or open bounds, the words of an enum. Its own check calls
 * genbo__field_check on them, and the study file (studies/config.c) binds
 * its keys to the same rows, so the library, the study file, `genbo fit`
 * and the README's key table read one range and cannot disagree. Rules
 * between fields (t0 < T, kfold <= n) stay in the owner's check. */
#ifndef GENBO_CORE_FIELDS_H
#define GENBO_CORE_FIELDS_H

#include <stddef.h>

typedef enum genbo__field_type {
    GENBO__FIELD_INT,    /* int */
    GENBO__FIELD_LONG,   /* long */
    GENBO__FIELD_DOUBLE, /* finite double */
    GENBO__FIELD_BOOL,   /* int, 0 or 1 */
    GENBO__FIELD_ENUM,   /* an enum (int-sized) valued 0..k-1: word i of `words` */
    GENBO__FIELD_FLAGS,  /* unsigned bit mask: bit i = word i of `words` */
    GENBO__FIELD_U64     /* uint64_t, any value (seeds) */
} genbo__field_type;

enum {
    GENBO__FIELD_AUTO = 1,     /* 0 is also accepted, meaning "auto" */
    GENBO__FIELD_MIN_OPEN = 2, /* value > min (not >=) */
    GENBO__FIELD_MAX_OPEN = 4, /* value < max (not <=) */
    GENBO__FIELD_EVEN = 8,     /* an even integer */
    GENBO__FIELD_NONEMPTY = 16 /* FLAGS: at least one word */
};

/* No upper bound (HUGE_VAL would do, but a literal keeps the tables plain). */
#define GENBO__FIELD_NOMAX 1e300

typedef struct genbo__field {
    const char *name;  /* the field's name in genbo.h */
    genbo__field_type type;
    size_t offset;     /* offsetof in its struct */
    double min, max;   /* bounds (INT/LONG/DOUBLE), with `flags` */
    unsigned flags;
    const char *words; /* ENUM, FLAGS: "a|b|c" */
} genbo__field;

/* A table: the struct's name for messages ("diffusion") and its rows. */
typedef struct genbo__fields {
    const char *what;
    const genbo__field *rows;
    size_t n;
} genbo__fields;

#define GENBO__FIELDS(what, rows) {what, rows, sizeof rows / sizeof rows[0]}

/* The row of a field by name or by offset (NULL if absent). */
const genbo__field *genbo__field_named(const genbo__fields *t, const char *name);
const genbo__field *genbo__field_at(const genbo__fields *t, size_t offset);

/* 1 when x (the field's value as a double) is in the field's range. */
int genbo__field_in_range(const genbo__field *f, double x);
/* The field's value in the struct at p, as a double (FLAGS: the mask). */
double genbo__field_value(const genbo__field *f, const void *p);
/* Store x (already checked) into the struct at p. */
void genbo__field_store(const genbo__field *f, void *p, double x);

/* The range as text: "integer 0..256", "auto \\| integer 1..65536",
 * "number >= 0", "number > 0", "number 0..1 (1 excluded)", "a \\| b".
 * With bar = "|" it reads plainly ("a|b"); the README table passes " \\| ". */
void genbo__field_range_text(const genbo__field *f, const char *bar, char *buf, size_t size);

/* Check the field of the struct at p: GENBO_OK, or GENBO_EINVAL with
 * "<what>: <name> = <value> is out of range (<range>)". */
int genbo__field_check(const genbo__fields *t, const genbo__field *f, const void *p);
/* The same for the named field (a bug in the caller if it is absent). */
int genbo__field_check_named(const genbo__fields *t, const char *name, const void *p);

/* Index of word w in "a|b|c" (-1 if absent) and word i into buf. */
int genbo__word_index(const char *words, const char *w);
int genbo__word_at(const char *words, int i, char *buf, size_t size);

/* The tables, each defined beside its struct's default and check:
 * genbo_reward_params (reward/reward.c), genbo_diffusion_params
 * (diffusion/model.c), genbo_sample_params (diffusion/sample.c),
 * genbo_task_params (datasets/tasks.c), the genbo method's selection
 * genbo__select_settings (optimizer/methods.c). */
extern const genbo__fields genbo__reward_fields;
extern const genbo__fields genbo__diffusion_fields;
extern const genbo__fields genbo__sample_fields;
extern const genbo__fields genbo__task_fields;
extern const genbo__fields genbo__select_fields;
/* The owners' checks of their fields (the rows above plus the rules
 * between fields that do not need data); the public calls run them first.
 * genbo__gd_check_params (diffusion_internal.h) is the diffusion one. */
struct genbo_reward_params;
struct genbo_sample_params;
struct genbo_task_params;
int genbo__reward_check_params(const struct genbo_reward_params *p, size_t n); /* n: labelled rows */
int genbo__sample_check_params(const struct genbo_sample_params *p);
int genbo__task_check_params(const struct genbo_task_params *p);

#endif
