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
