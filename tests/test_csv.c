/* test_csv.c - CSV reading (real Olympus files, every error case with its
 * file/line/column message), exact write/read round trips, dataset_create. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "datasets/dataset.h"
#include "genbo.h"

#define OLYMPUS_DIR GENBO_SHARED_DIR "/datasets/olympus"

/* A per-process temp file, so parallel test runs never collide. */
static void temp_path(char *buf, size_t n, const char *tag) {
    snprintf(buf, n, "/tmp/genbo_test_csv_%ld_%s.csv", (long)getpid(), tag);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot create %s", path);
    fputs(text, f);
    fclose(f);
}

/* Reads `text` as a CSV and returns the status; *ds gets the dataset. */
static int read_text(const char *text, const genbo_csv_options *opts, genbo_dataset **ds,
                     char *path, size_t pathlen) {
    temp_path(path, pathlen, "case");
    write_file(path, text);
    int rc = genbo_dataset_read_csv(path, opts, ds);
    remove(path);
    return rc;
}

/* Asserts that reading text fails with `status` and a message holding the
 * path and each of the given substrings. */
static void expect_error(const char *text, const genbo_csv_options *opts, int status,
                         const char *s1, const char *s2, const char *s3) {
    char path[256];
    genbo_dataset *ds = (genbo_dataset *)0x1;
    int rc = read_text(text, opts, &ds, path, sizeof path);
    cr_assert_eq(rc, status, "status %s, want %s (%s)", genbo_strstatus(rc),
                 genbo_strstatus(status), genbo_errmsg());
    cr_assert_null(ds, "nothing may be returned on failure");
    const char *msg = genbo_errmsg();
    cr_assert(strstr(msg, path), "message '%s' does not name the file", msg);
    const char *subs[] = {s1, s2, s3};
    for (int i = 0; i < 3; i++)
        if (subs[i]) cr_assert(strstr(msg, subs[i]), "message '%s' lacks '%s'", msg, subs[i]);
}

/* Header columns of a file, counted from its first line. */
static size_t header_columns(const char *path) {
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    size_t cols = 1;
    int c;
    while ((c = fgetc(f)) != EOF && c != '\n') cols += (c == ',');
    fclose(f);
    return cols;
}

static size_t data_lines(const char *path) {
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    size_t lines = 0;
    int c, last = '\n';
    while ((c = fgetc(f)) != EOF) {
        lines += (c == '\n');
        last = c;
    }
    fclose(f);
    return lines + (last != '\n') - 1; /* minus the header */
}

Test(csv, olympus_files_read_with_right_shape) {
    static const struct {
        const char *file, *objective;
        size_t rows;
    } files[] = {{"oer_plate_3496.csv", "overpotential", 2121},
                 {"oer_plate_3851.csv", "overpotential", 2119},
                 {"photo_pce10.csv", "degradation", 1040},
                 {"hplc.csv", "peak_area", 1386},
                 {"crossed_barrel.csv", "toughness", 600}};
    char path[512];
    snprintf(path, sizeof path, "%s/%s", OLYMPUS_DIR, files[0].file);
    if (access(path, R_OK) != 0) cr_skip_test("shared data missing: %s", path);
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        snprintf(path, sizeof path, "%s/%s", OLYMPUS_DIR, files[k].file);
        size_t cols = header_columns(path);
        cr_assert_eq(data_lines(path), files[k].rows, "%s: README row count", path);

        genbo_dataset *all = NULL, *lab = NULL, *pool = NULL;
        cr_assert_eq(genbo_dataset_read_csv(path, NULL, &all), GENBO_OK, "%s", genbo_errmsg());
        cr_assert_eq(genbo_dataset_rows(all), files[k].rows);
        cr_assert_eq(genbo_dataset_dim(all), cols, "no 'reward' column: all are features");
        cr_assert_null(genbo_dataset_y(all));
        cr_assert_null(genbo_dataset_id(all, 0));

        genbo_csv_options o = {files[k].objective, NULL, NULL};
        cr_assert_eq(genbo_dataset_read_csv(path, &o, &lab), GENBO_OK, "%s", genbo_errmsg());
        cr_assert_eq(genbo_dataset_rows(lab), files[k].rows);
        cr_assert_eq(genbo_dataset_dim(lab), cols - 1);
        cr_assert_not_null(genbo_dataset_y(lab));
        /* the objective is the last column of the unlabelled read */
        for (size_t i = 0; i < files[k].rows; i++)
            cr_assert_eq(genbo_dataset_y(lab)[i], genbo_dataset_x(all)[i * cols + cols - 1]);

        const char *skip[] = {files[k].objective, NULL};
        genbo_csv_options s = {"", NULL, skip};
        cr_assert_eq(genbo_dataset_read_csv(path, &s, &pool), GENBO_OK, "%s", genbo_errmsg());
        cr_assert_eq(genbo_dataset_dim(pool), cols - 1);
        cr_assert_null(genbo_dataset_y(pool));
        cr_assert_eq(memcmp(genbo_dataset_x(pool), genbo_dataset_x(lab),
                            files[k].rows * (cols - 1) * sizeof(double)),
                     0);
        genbo_dataset_free(all);
        genbo_dataset_free(lab);
        genbo_dataset_free(pool);
    }
}

Test(csv, header_roles_quotes_ids_and_whitespace) {
    const char *text = "\xEF\xBB\xBF" "\"name\", \"a,b\" ,c,reward,junk\r\n"
                       "\r\n"
                       "\"x, y\", 1.5 ,-2e-3, 7 ,zzz\r\n"
                       "  plain  ,0x10,3,  8,\"q\"\"q\"\r\n"
                       "\n";
    const char *skip[] = {"junk", NULL};
    genbo_csv_options o = {NULL, "name", skip};
    genbo_dataset *ds = NULL;
    char path[256];
    cr_assert_eq(read_text(text, &o, &ds, path, sizeof path), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_dataset_rows(ds), 2);
    cr_assert_eq(genbo_dataset_dim(ds), 2);
    cr_assert_str_eq(genbo_dataset_column_name(ds, 0), "a,b");
    cr_assert_str_eq(genbo_dataset_column_name(ds, 1), "c");
    const double *X = genbo_dataset_x(ds), *y = genbo_dataset_y(ds);
    cr_assert_eq(X[0], 1.5);
    cr_assert_eq(X[1], -2e-3);
    cr_assert_eq(X[2], 16.0);
    cr_assert_eq(X[3], 3.0);
    cr_assert_eq(y[0], 7.0);
    cr_assert_eq(y[1], 8.0);
    cr_assert_str_eq(genbo_dataset_id(ds, 0), "x, y");
    cr_assert_str_eq(genbo_dataset_id(ds, 1), "plain");
    cr_assert_null(genbo_dataset_id(ds, 2));
    genbo_dataset_free(ds);

    /* reward "" forces unlabelled and ignores a "reward" column; id "" makes
     * an "id" column a plain feature */
    genbo_csv_options u = {"", "", NULL};
    cr_assert_eq(read_text("id,reward\n1,2\n", &u, &ds, path, sizeof path), GENBO_OK);
    cr_assert_eq(genbo_dataset_dim(ds), 1);
    cr_assert_str_eq(genbo_dataset_column_name(ds, 0), "id");
    cr_assert_eq(genbo_dataset_x(ds)[0], 1.0);
    cr_assert_null(genbo_dataset_y(ds));
    cr_assert_null(genbo_dataset_id(ds, 0));
    genbo_dataset_free(ds);
}

Test(csv, ragged_rows_name_line_and_column) {
    expect_error("a,b,c\n1,2,3\n4,5\n", NULL, GENBO_EFORMAT, ":3:", "column 3 ('c')",
                 "too few");
    expect_error("a,b\n1,2\n\n3,4,5\n", NULL, GENBO_EFORMAT, ":4:", "extra column 3",
                 "too many");
    expect_error("a,b\n1,2,\n", NULL, GENBO_EFORMAT, ":2:", "too many", NULL);
}

Test(csv, bad_cells_name_line_and_column) {
    expect_error("a,b\n1,2\n3,abc\n", NULL, GENBO_EFORMAT, ":3:", "column 2 ('b')",
                 "not a number: 'abc'");
    expect_error("a,b\n1,2x\n", NULL, GENBO_EFORMAT, ":2:", "column 2 ('b')", "not a number");
    expect_error("a,b\nnan,1\n", NULL, GENBO_EFORMAT, ":2:", "column 1 ('a')", "non-finite");
    expect_error("a,b\n1,-inf\n", NULL, GENBO_EFORMAT, ":2:", "column 2 ('b')", "non-finite");
    expect_error("a,b\n1,1e999\n", NULL, GENBO_EFORMAT, ":2:", "column 2 ('b')", "non-finite");
    expect_error("a,b\n1, \n", NULL, GENBO_EFORMAT, ":2:", "column 2 ('b')", "empty cell");
    expect_error("a,reward\n1,oops\n", NULL, GENBO_EFORMAT, ":2:", "column 2 ('reward')",
                 "not a number");
    expect_error("a,b\n1,\"2\n", NULL, GENBO_EFORMAT, ":2:", "column 2 ('b')", "unterminated");
    expect_error("a,b\n\"1\"x,2\n", NULL, GENBO_EFORMAT, ":2:", "column 1 ('a')",
                 "after the closing quote");
}

Test(csv, bad_headers_and_files) {
    expect_error("a,b,a\n1,2,3\n", NULL, GENBO_EFORMAT, ":1:", "column 3 ('a')",
                 "duplicates column 1");
    expect_error("a,,b\n1,2,3\n", NULL, GENBO_EFORMAT, ":1:", "column 2", "empty name");
    expect_error("", NULL, GENBO_EFORMAT, "empty file", NULL, NULL);
    expect_error("\n  \n", NULL, GENBO_EFORMAT, "empty file", NULL, NULL);
    expect_error("a,b\n", NULL, GENBO_EFORMAT, ":1:", "no data rows", NULL);
    expect_error("reward,id\n1,x\n", NULL, GENBO_EFORMAT, "no feature columns", NULL, NULL);
    genbo_csv_options r = {"score", NULL, NULL};
    expect_error("a,b\n1,2\n", &r, GENBO_ENOTFOUND, "reward column 'score'", NULL, NULL);
    genbo_csv_options i = {NULL, "key", NULL};
    expect_error("a,b\n1,2\n", &i, GENBO_ENOTFOUND, "id column 'key'", NULL, NULL);
    const char *skip[] = {"zz", NULL};
    genbo_csv_options s = {NULL, NULL, skip};
    expect_error("a,b\n1,2\n", &s, GENBO_ENOTFOUND, "skip column 'zz'", NULL, NULL);

    genbo_dataset *ds = (genbo_dataset *)0x1;
    cr_assert_eq(genbo_dataset_read_csv("/nonexistent/dir/x.csv", NULL, &ds), GENBO_EIO);
    cr_assert_null(ds);
    cr_assert(strstr(genbo_errmsg(), "/nonexistent/dir/x.csv"));
}

Test(csv, write_read_round_trip_is_exact) {
    const size_t n = 500, d = 7;
    double *X = malloc(n * d * sizeof(double)), *y = malloc(n * sizeof(double));
    genbo__rng r;
    genbo__rng_seed(&r, 11, 0);
    for (size_t i = 0; i < n * d; i++)
        X[i] = genbo__rng_normal(&r) * pow(10.0, (double)genbo__rng_below(&r, 40) - 20.0);
    X[0] = 0.1;
    X[1] = -0.0;
    X[2] = 4.9e-324; /* subnormal */
    X[3] = 1.7976931348623157e308;
    for (size_t i = 0; i < n; i++) y[i] = genbo__rng_normal(&r) / 3.0;
    const char *names[] = {"a", "b c", "with,comma", "with\"quote", " padded ", "f", "g"};
    genbo_dataset *ds = NULL, *back = NULL;
    cr_assert_eq(genbo_dataset_create(n, d, X, y, names, &ds), GENBO_OK);
    /* ids, including ones that need quoting, through the internal struct */
    ds->id_text = malloc(n * 16);
    ds->id_off = malloc(n * sizeof(size_t));
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        ds->id_off[i] = len;
        len += (size_t)sprintf(ds->id_text + len, i % 3 ? "id%zu" : "\"q,%zu\"", i) + 1;
    }
    char path[256];
    temp_path(path, sizeof path, "roundtrip");
    cr_assert_eq(genbo_dataset_write_csv(ds, path), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_dataset_read_csv(path, NULL, &back), GENBO_OK, "%s", genbo_errmsg());
    remove(path);
    cr_assert_eq(genbo_dataset_rows(back), n);
    cr_assert_eq(genbo_dataset_dim(back), d);
    cr_assert_eq(memcmp(genbo_dataset_x(back), X, n * d * sizeof(double)), 0);
    cr_assert_eq(memcmp(genbo_dataset_y(back), y, n * sizeof(double)), 0);
    for (size_t j = 0; j < d; j++)
        cr_assert_str_eq(genbo_dataset_column_name(back, j), names[j]);
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(genbo_dataset_id(back, i), genbo_dataset_id(ds, i));
    genbo_dataset_free(ds);
    genbo_dataset_free(back);
    free(X);
    free(y);
}

Test(csv, create_copies_and_names_default) {
    double X[6] = {1, 2, 3, 4, 5, 6};
    genbo_dataset *ds = NULL;
    cr_assert_eq(genbo_dataset_create(3, 2, X, NULL, NULL, &ds), GENBO_OK);
    X[0] = 99;
    cr_assert_eq(genbo_dataset_x(ds)[0], 1.0);
    cr_assert_null(genbo_dataset_y(ds));
    cr_assert_str_eq(genbo_dataset_column_name(ds, 0), "x0");
    cr_assert_str_eq(genbo_dataset_column_name(ds, 1), "x1");
    cr_assert_null(genbo_dataset_column_name(ds, 2));

    char path[256];
    cr_assert_eq(genbo_dataset_write_csv(ds, "/nonexistent/dir/out.csv"), GENBO_EIO);
    cr_assert(strstr(genbo_errmsg(), "/nonexistent/dir/out.csv"));
    genbo_dataset_free(ds);

    /* a feature named "reward" in a labelled dataset cannot be written */
    const char *names[] = {"reward", "b"};
    double y[3] = {0, 1, 2};
    cr_assert_eq(genbo_dataset_create(3, 2, X, y, names, &ds), GENBO_OK);
    temp_path(path, sizeof path, "conflict");
    cr_assert_eq(genbo_dataset_write_csv(ds, path), GENBO_EINVAL);
    cr_assert(access(path, F_OK) != 0, "no file is left behind");
    genbo_dataset_free(ds);

    ds = (genbo_dataset *)0x1;
    cr_assert_eq(genbo_dataset_create(3, 0, X, NULL, NULL, &ds), GENBO_EINVAL);
    cr_assert_null(ds);
}
