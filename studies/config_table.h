/* config_table.h - the key table of study files, shared by the files
 * that read it (config.c: the table; config_parse.c: reading values and
 * files; config_text.c: the resolved INI text and the README table).
 * Internal to studies/config*.c. */
#ifndef GENBO_STUDIES_CONFIG_TABLE_H
#define GENBO_STUDIES_CONFIG_TABLE_H

#include <stddef.h>

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

#define BIG 1e300  /* "no upper bound" of a study-level range */

/* The method names live in optimizer/methods.c (one list). */
#define METHOD_WORDS genbo__method_words()

/* Every key, in the order of the resolved INI text (config.c). */
extern const key_def genbo__config_keys[];
extern const int genbo__config_n_keys;

/* The library row a key is bound to (NULL for a study-level key). */
const genbo__field *genbo__config_lib_row(const key_def *k);
/* The words of an enum-like key into buf: the owner's row, the key's own,
 * the task kinds plus csv, or the method names. */
const char *genbo__config_key_words(const key_def *k, char *buf, size_t size);
/* The index of [section] name, or -1. */
int genbo__config_find_key(const char *section, const char *name);

#endif
