/* test_docs.c - the README tells the truth about the study-file keys and the
 * database schema: both are compared with the code that defines them. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "studies/config.h"
#include "studies/store.h"

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

Test(docs, readme_key_table_matches_the_config_code) {
    char *readme = read_file(GENBO_SOURCE_DIR "/README.md");
    char *table = genbo__config_doc_table();
    cr_assert_not_null(table);
    /* Row by row, so a failure names the row that drifted. */
    char *save = NULL;
    for (char *row = strtok_r(table, "\n", &save); row; row = strtok_r(NULL, "\n", &save))
        cr_expect_not_null(strstr(readme, row), "README.md lacks this key row:\n%s", row);
    free(table);
    free(readme);
}

/* The SQL block under "### Schema" in the README. */
static char *readme_schema_sql(void) {
    char *readme = read_file(GENBO_SOURCE_DIR "/README.md");
    char *h = strstr(readme, "### Schema");
    cr_assert_not_null(h, "README.md has no '### Schema' section");
    char *start = strstr(h, "```sql\n");
    cr_assert_not_null(start);
    start += 7;
    char *end = strstr(start, "```");
    cr_assert_not_null(end);
    size_t n = (size_t)(end - start);
    char *sql = malloc(n + 1);
    memcpy(sql, start, n);
    sql[n] = '\0';
    free(readme);
    return sql;
}

/* "table.column type notnull pk;" for every column of every table, and
 * every index name, sorted by SQLite's own catalogue order by name. */
static char *describe(sqlite3 *db) {
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(cap, 1);
    sqlite3_stmt *t;
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT type, name FROM sqlite_master WHERE name NOT LIKE "
                                    "'sqlite_%' ORDER BY type, name",
                                    -1, &t, NULL),
                 SQLITE_OK);
    while (sqlite3_step(t) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(t, 0);
        const char *name = (const char *)sqlite3_column_text(t, 1);
        len += (size_t)snprintf(out + len, cap - len, "%s %s\n", type, name);
        if (strcmp(type, "table") != 0) continue;
        char q[256];
        snprintf(q, sizeof q, "PRAGMA table_info(%s)", name);
        sqlite3_stmt *c;
        cr_assert_eq(sqlite3_prepare_v2(db, q, -1, &c, NULL), SQLITE_OK);
        while (sqlite3_step(c) == SQLITE_ROW)
            len += (size_t)snprintf(out + len, cap - len, "  %s.%s %s notnull=%d pk=%d\n", name,
                                    (const char *)sqlite3_column_text(c, 1),
                                    (const char *)sqlite3_column_text(c, 2),
                                    sqlite3_column_int(c, 3), sqlite3_column_int(c, 5));
        sqlite3_finalize(c);
    }
    sqlite3_finalize(t);
    return out;
}

Test(docs, readme_schema_matches_the_migrations) {
    sqlite3 *code, *doc;
    cr_assert_eq(sqlite3_open(":memory:", &code), SQLITE_OK);
    cr_assert_eq(sqlite3_open(":memory:", &doc), SQLITE_OK);
    for (int i = 0; i < genbo__n_migrations; i++)
        cr_assert_eq(sqlite3_exec(code, genbo__migrations[i], NULL, NULL, NULL), SQLITE_OK,
                     "migration %d: %s", i + 1, sqlite3_errmsg(code));
    char *sql = readme_schema_sql();
    cr_assert_eq(sqlite3_exec(doc, sql, NULL, NULL, NULL), SQLITE_OK,
                 "README schema does not run: %s", sqlite3_errmsg(doc));
    char *a = describe(code), *b = describe(doc);
    cr_assert(strlen(a) > 500, "the schema description is suspiciously short:\n%s", a);
    cr_assert_str_eq(b, a, "README schema differs from studies/schema.c");
    free(a), free(b), free(sql);
    sqlite3_close(code);
    sqlite3_close(doc);
}

Test(docs, readme_names_the_current_schema_version) {
    char *readme = read_file(GENBO_SOURCE_DIR "/README.md");
    char want[64];
    snprintf(want, sizeof want, "### Schema (version %d)", genbo__n_migrations);
    cr_assert_not_null(strstr(readme, want), "README.md should say '%s'", want);
    free(readme);
}

/* ---- the study file, the library and the README agree ------------------ */

#include <math.h>

#include "core/fields.h"
#include "diffusion/diffusion_internal.h"
#include "optimizer/methods.h"

/* The owner's defaults for a table, into buf (a union big enough for any). */
typedef union owner_struct {
    genbo_reward_params reward;
    genbo_diffusion_params diffusion;
    genbo_sample_params sample;
    genbo_task_params task;
    genbo__select_settings select;
} owner_struct;

static void owner_default(const genbo__fields *t, owner_struct *u) {
    memset(u, 0, sizeof *u);
    if (t == &genbo__reward_fields) genbo_reward_params_default(&u->reward);
    else if (t == &genbo__diffusion_fields) genbo_diffusion_params_default(&u->diffusion);
    else if (t == &genbo__sample_fields) genbo__generate_sample_default(&u->sample);
    else if (t == &genbo__task_fields) genbo_task_params_default(&u->task);
    else if (t == &genbo__select_fields) genbo__select_settings_default(&u->select);
    else cr_assert_fail("a key is bound to an unknown table %s", t->what);
}

/* Study-file settings that keep the rules between keys satisfied while
 * one key is probed (d <= D, manifold_dim < d, t0 < T, ...), and make the
 * owner check the probed field (it checks kfold only for lambda = kfold,
 * the GP fields only for a GP). */
static const char *const *companions(const genbo__config_key *k) {
    static const char *const none[] = {NULL};
    static const struct {
        const char *key;
        const char *set[10];
    } table[] = {
        {"D", {"data", "task", "subspace_linear", "data", "d", "1", NULL}},
        {"d", {"data", "D", "1048576", NULL}},
        {"manifold_dim", {"data", "task", "curved_manifold", "data", "D", "1048576", "data", "d", "1048576"}},
        {"seq_len", {"data", "task", "gp_sequence", "data", "seq_dim", "1", NULL}},
        {"seq_dim", {"data", "task", "gp_sequence", "data", "seq_len", "1", NULL}},
        {"lengthscale", {"data", "task", "gp_sequence", NULL}},
        {"t0", {"diffusion", "T", "1e300", NULL}},
        {"kfold", {"reward", "lambda", "kfold", NULL}},
        {"kernel", {"reward", "model", "gp", NULL}},
        {"max_evals", {"reward", "model", "gp", NULL}},
        {"restarts", {"reward", "model", "gp", NULL}},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(table[i].key, k->name)) return table[i].set;
    return none;
}

/* The owner's own check of the struct the study file built, with the
 * probed value stored in it (-1: the owner has no check; the table is its
 * only user). */
static int owner_check(const genbo__config_key *k, const genbo_config *cfg, double v) {
    owner_struct u;
    memset(&u, 0, sizeof u);
    if (k->lib == &genbo__reward_fields) genbo__config_reward_params(cfg, &u.reward);
    else if (k->lib == &genbo__diffusion_fields) genbo__config_diffusion_params(cfg, &u.diffusion);
    else if (k->lib == &genbo__sample_fields) genbo__config_sample_params(cfg, &u.sample);
    else if (k->lib == &genbo__task_fields) genbo__config_task_params(cfg, &u.task);
    else return -1;
    genbo__field_store(k->field, &u, v);
    if (!strcmp(k->name, "lambda")) u.reward.lambda_select = GENBO_LAMBDA_FIXED; /* a number: fixed */
    if (k->lib == &genbo__reward_fields) return genbo__reward_check_params(&u.reward, 100000);
    if (k->lib == &genbo__diffusion_fields) return genbo__gd_check_params(&u.diffusion);
    if (k->lib == &genbo__sample_fields) return genbo__sample_check_params(&u.sample);
    return genbo__task_check_params(&u.task);
}

/* Values at and just past a numeric field's bounds. */
static int probe_values(const genbo__field *f, double *v) {
    int n = 0;
    int integer = f->type != GENBO__FIELD_DOUBLE;
    double step = integer ? 1 : fmax(1e-9, 1e-9 * fabs(f->min));
    v[n++] = f->min;
    v[n++] = f->min - step;
    v[n++] = f->min + step;
    if (f->max < GENBO__FIELD_NOMAX) {
        v[n++] = f->max;
        v[n++] = f->max + (integer ? 1 : fmax(1e-9, 1e-9 * fabs(f->max)));
        v[n++] = f->max - (integer ? 1 : fmax(1e-9, 1e-9 * fabs(f->max)));
    }
    if (f->flags & GENBO__FIELD_AUTO) v[n++] = 0;
    if (f->flags & GENBO__FIELD_EVEN) v[n++] = f->min + 1;
    return n;
}

/* Every study-file key bound to a library field: the library's default,
 * and for numbers, the same verdict from the study file and the library's
 * own check on each value at and around the bounds. */
Test(docs, study_file_defaults_and_ranges_are_the_librarys) {
    genbo_config *dflt;
    cr_assert_eq(genbo_config_default(&dflt), GENBO_OK, "%s", genbo_errmsg());
    int bound = 0, probed = 0;
    for (int i = 0; i < genbo__config_key_count(); i++) {
        genbo__config_key k;
        cr_assert_eq(genbo__config_key_at(i, &k), GENBO_OK);
        if (!k.lib) continue;
        cr_assert_not_null(k.field, "[%s] %s is bound to no row of %s", k.section, k.name, k.lib->what);
        bound++;
        /* the default is the owner's */
        owner_struct u;
        owner_default(k.lib, &u);
        const char *in_cfg = (const char *)dflt + k.base;
        if (!strcmp(k.name, "lambda")) { /* gcv: the owner's lambda_select */
            cr_expect_eq(((const genbo_reward_params *)in_cfg)->lambda_select, u.reward.lambda_select);
        } else if (k.field->type == GENBO__FIELD_U64) {
            cr_expect(!memcmp(in_cfg + k.field->offset, (char *)&u + k.field->offset, sizeof(uint64_t)));
        } else {
            cr_expect_eq(genbo__field_value(k.field, in_cfg), genbo__field_value(k.field, &u),
                         "[%s] %s: default %g in the study file, %g in the library", k.section, k.name,
                         genbo__field_value(k.field, in_cfg), genbo__field_value(k.field, &u));
        }
        /* the owner's default is inside the owner's range */
        cr_expect(genbo__field_in_range(k.field, genbo__field_value(k.field, &u)),
                  "[%s] %s: the library's default is outside its own range", k.section, k.name);
        if (k.field->type != GENBO__FIELD_INT && k.field->type != GENBO__FIELD_LONG &&
            k.field->type != GENBO__FIELD_DOUBLE)
            continue;
        double v[8];
        int nv = probe_values(k.field, v);
        for (int j = 0; j < nv; j++) {
            char text[64];
            if (k.field->type == GENBO__FIELD_DOUBLE) snprintf(text, sizeof text, "%.17g", v[j]);
            else snprintf(text, sizeof text, "%.0f", v[j]);
            genbo_config *c;
            cr_assert_eq(genbo_config_default(&c), GENBO_OK);
            const char *const *set = companions(&k);
            for (int m = 0; set[m]; m += 3)
                cr_assert_eq(genbo_config_set(c, set[m], set[m + 1], set[m + 2]), GENBO_OK, "%s", genbo_errmsg());
            /* the library's verdict on the struct the study file built, with this value */
            int lib_rc = owner_check(&k, c, v[j]);
            char libmsg[512];
            snprintf(libmsg, sizeof libmsg, "%s", genbo_errmsg());
            if (lib_rc < 0) lib_rc = genbo__field_in_range(k.field, v[j]) ? GENBO_OK : GENBO_EINVAL;
            /* the study file's: a value it takes lands in the bound field */
            int study_ok = genbo_config_set(c, k.section, k.name, text) == GENBO_OK;
            if (study_ok && strcmp(k.name, "lambda"))
                cr_expect_eq(genbo__field_value(k.field, (const char *)c + k.base), v[j],
                             "[%s] %s = %s stored as %g", k.section, k.name, text,
                             genbo__field_value(k.field, (const char *)c + k.base));
            cr_expect_eq(study_ok, lib_rc == GENBO_OK,
                         "[%s] %s = %s: the study file %s it (%s), the library %s it (%s)", k.section,
                         k.name, text, study_ok ? "takes" : "refuses", study_ok ? "" : genbo_errmsg(),
                         lib_rc ? "refuses" : "takes", lib_rc ? libmsg : "");
            genbo_config_free(c);
            probed++;
        }
    }
    genbo_config_free(dflt);
    cr_assert_gt(bound, 40, "only %d keys are bound to library fields", bound);
    cr_assert_gt(probed, 150, "only %d values probed", probed);
}

/* The README's default and values columns, read back: each default parses
 * to the library's default value, each range is the library row's text. */
Test(docs, readme_defaults_and_ranges_are_the_librarys) {
    char *readme = read_file(GENBO_SOURCE_DIR "/README.md");
    for (int i = 0; i < genbo__config_key_count(); i++) {
        genbo__config_key k;
        cr_assert_eq(genbo__config_key_at(i, &k), GENBO_OK);
        if (!k.lib || !strcmp(k.name, "lambda")) continue;
        char head[128];
        snprintf(head, sizeof head, "| [%s] | `%s` | `", k.section, k.name);
        const char *row = strstr(readme, head);
        cr_assert_not_null(row, "README.md has no row for [%s] %s", k.section, k.name);
        row += strlen(head);
        const char *end = strchr(row, '`');
        cr_assert_not_null(end);
        char dtext[128];
        snprintf(dtext, sizeof dtext, "%.*s", (int)(end - row), row);
        genbo_config *c;
        cr_assert_eq(genbo_config_default(&c), GENBO_OK);
        genbo_config_set(c, k.section, k.name, "0"); /* away from the default if it can */
        cr_assert_eq(genbo_config_set(c, k.section, k.name, dtext), GENBO_OK,
                     "README default of [%s] %s: '%s': %s", k.section, k.name, dtext, genbo_errmsg());
        owner_struct u;
        owner_default(k.lib, &u);
        cr_expect_eq(genbo__field_value(k.field, (const char *)c + k.base), genbo__field_value(k.field, &u),
                     "README default of [%s] %s is '%s', not the library's", k.section, k.name, dtext);
        genbo_config_free(c);
        char want[400], range[320];
        genbo__field_range_text(k.field, " \\| ", range, sizeof range);
        snprintf(want, sizeof want, "` | %s | ", range);
        cr_expect(!strncmp(end, want, strlen(want)), "README range of [%s] %s: want '%s', have '%.60s'",
                  k.section, k.name, range, end + 4);
    }
    free(readme);
}

/* The [generate] sampler defaults are the library's sampler defaults but
 * for the guidance the methods add (genbo__generate_sample_default). */
Test(docs, generate_defaults_differ_from_the_samplers_only_in_guidance) {
    genbo_sample_params a, b;
    genbo_sample_params_default(&a);
    genbo__generate_sample_default(&b);
    cr_assert_eq(b.grad_mode, GENBO_GRAD_TARGET);
    cr_assert_eq(b.grad_eta, 1.0);
    b.grad_mode = a.grad_mode, b.grad_eta = a.grad_eta;
    cr_assert(!memcmp(&a, &b, sizeof a), "genbo__generate_sample_default changed more than guidance");
}

/* The README's methods table (under "| method | designs |") names exactly
 * the methods of the one list in optimizer/methods.c, in its order. */
Test(docs, readme_methods_table_is_the_method_list) {
    char *readme = read_file(GENBO_SOURCE_DIR "/README.md");
    char *t = strstr(readme, "| method | designs |\n");
    cr_assert_not_null(t, "README.md has no '| method | designs |' table");
    t = strchr(t, '\n') + 1;
    t = strchr(t, '\n') + 1; /* the |---| line */
    int i = 0;
    while (!strncmp(t, "| `", 3)) {
        char name[64];
        cr_assert_eq(sscanf(t + 3, "%63[^`]", name), 1);
        cr_expect_not_null(genbo_method_name(i), "README lists '%s' beyond the code's methods", name);
        if (genbo_method_name(i))
            cr_expect_str_eq(name, genbo_method_name(i), "README methods row %d", i);
        i++;
        t = strchr(t, '\n');
        if (!t) break;
        t++;
    }
    cr_expect_null(genbo_method_name(i), "README lacks method '%s'", genbo_method_name(i));
    free(readme);
}
