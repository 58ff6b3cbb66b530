/* csv.c - read and write datasets as CSV.
 *
 * The reader streams the file line by line (getline) and appends each row
 * to one contiguous row-major block of doubles that grows geometrically
 * (glibc grows large blocks with mremap, so growth does not copy and the
 * peak stays close to the data size). There is no allocation per cell:
 * each line is split in place and numbers go through strtod.
 *
 * Format accepted: a header row of column names, then one row per record.
 * Cells are separated by commas; whitespace around a cell is trimmed; a
 * cell may be double-quoted ("" inside quotes is a quote). Quoted cells
 * cannot span lines. Blank lines are skipped. A UTF-8 byte-order mark
 * before the header is ignored. Line numbers in messages are physical
 * lines of the file, 1-based (the header is line 1 unless blank lines
 * precede it). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "datasets/dataset.h"

enum col_role { COL_FEATURE, COL_REWARD, COL_ID, COL_SKIP };

/* Splits one line in place into at most cap cells (NUL-terminated,
 * unquoted, trimmed). Returns the number of cells on the line (which may
 * exceed cap; the extra ones are counted, not stored), or -1 on a quoting
 * error, with *bad_cell set to the 0-based cell at fault and *why set. */
static long split_line(char *s, char **cells, size_t cap, size_t *bad_cell, const char **why) {
    size_t k = 0;
    char *p = s;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        char *cell = p;
        if (*p == '"') {
            char *w = p; /* unquote in place: the cell starts at the quote */
            cell = w;
            p++;
            for (;;) {
                if (*p == '\0') {
                    *bad_cell = k;
                    *why = "unterminated quoted cell";
                    return -1;
                }
                if (*p == '"') {
                    if (p[1] == '"') {
                        *w++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *w++ = *p++;
            }
            while (*p == ' ' || *p == '\t') p++;
            if (*p != ',' && *p != '\0') {
                *bad_cell = k;
                *why = "text after the closing quote";
                return -1;
            }
            char sep = *p;
            *w = '\0';
            if (k < cap) cells[k] = cell;
            k++;
            if (sep == '\0') break;
            p++;
        } else {
            while (*p != ',' && *p != '\0') p++;
            char sep = *p;
            char *e = p;
            while (e > cell && (e[-1] == ' ' || e[-1] == '\t')) e--;
            *e = '\0';
            if (k < cap) cells[k] = cell;
            k++;
            if (sep == '\0') break;
            p++;
        }
    }
    return (long)k;
}

/* Strips the line terminator (\n, \r\n) and reports whether anything but
 * whitespace is left. */
static int chomp_is_blank(char *line, ssize_t *len) {
    while (*len > 0 && (line[*len - 1] == '\n' || line[*len - 1] == '\r')) line[--*len] = '\0';
    for (ssize_t i = 0; i < *len; i++)
        if (line[i] != ' ' && line[i] != '\t') return 0;
    return 1;
}

static int name_in(const char *name, const char *const *list) {
    if (!list) return 0;
    for (size_t i = 0; list[i]; i++)
        if (strcmp(name, list[i]) == 0) return 1;
    return 0;
}

/* Everything the reader owns while it runs; freed in one place. */
typedef struct csv_reader {
    const char *path;
    FILE *f;
    char *line;
    size_t line_cap;
    long lineno;
    /* header */
    char *header;       /* copy of the header line (cells point into it) */
    char **cols;        /* ncols names */
    size_t ncols;
    enum col_role *role;
    size_t nfeat;
    char **cells;       /* ncols cell pointers for data rows */
    /* data */
    size_t n, cap;
    double *X, *y;
    int labelled, has_ids;
    char *id_text;
    size_t id_len, id_cap;
    size_t *id_off;
} csv_reader;

static void reader_release(csv_reader *r) {
    if (r->f) fclose(r->f);
    free(r->line);
    free(r->header);
    free(r->cols);
    free(r->role);
    free(r->cells);
    free(r->X);
    free(r->y);
    free(r->id_text);
    free(r->id_off);
}

/* Reads the next non-blank line into r->line; returns 1 if there is one,
 * 0 at end of file, -1 on a read error. */
static int next_line(csv_reader *r, ssize_t *len) {
    for (;;) {
        errno = 0;
        *len = getline(&r->line, &r->line_cap, r->f);
        if (*len < 0) {
            if (ferror(r->f)) return -1;
            return 0;
        }
        r->lineno++;
        if (!chomp_is_blank(r->line, len)) return 1;
    }
}

/* Empty and duplicate header names, in O(columns): an open-addressing set
 * of column indices keyed by the name's hash (a quadratic scan took minutes
 * on a 10^6-column header). */
static int check_header_names(const csv_reader *r) {
    size_t cap = 16;
    while (cap < 2 * r->ncols) cap *= 2;
    size_t *slot = genbo__malloc(cap * sizeof *slot);
    if (!slot) return GENBO_ENOMEM;
    for (size_t i = 0; i < cap; i++) slot[i] = SIZE_MAX;
    int rc = GENBO_OK;
    for (size_t j = 0; j < r->ncols && !rc; j++) {
        const char *name = r->cols[j];
        if (name[0] == '\0') {
            rc = genbo__fail(GENBO_EFORMAT, "%s:%ld: header column %zu has an empty name", r->path,
                             r->lineno, j + 1);
            break;
        }
        size_t h = genbo__crc32(0, name, strlen(name)) & (cap - 1);
        while (slot[h] != SIZE_MAX && strcmp(r->cols[slot[h]], name) != 0) h = (h + 1) & (cap - 1);
        if (slot[h] != SIZE_MAX)
            rc = genbo__fail(GENBO_EFORMAT, "%s:%ld: header column %zu ('%s') duplicates column %zu",
                             r->path, r->lineno, j + 1, name, slot[h] + 1);
        slot[h] = j;
    }
    free(slot);
    return rc;
}

static int parse_header(csv_reader *r, const genbo_csv_options *opts) {
    ssize_t len;
    int got = next_line(r, &len);
    if (got < 0) return genbo__fail(GENBO_EIO, "%s: read error: %s", r->path, strerror(errno));
    if (got == 0) return genbo__fail(GENBO_EFORMAT, "%s: empty file (no header row)", r->path);
    char *text = r->line;
    if ((unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB &&
        (unsigned char)text[2] == 0xBF)
        text += 3; /* UTF-8 byte-order mark */
    r->header = strdup(text);
    if (!r->header) return genbo__fail(GENBO_ENOMEM, "%s: out of memory", r->path);
    size_t upper = 1;
    for (const char *p = r->header; *p; p++) upper += (*p == ',');
    r->cols = genbo__calloc(upper, sizeof *r->cols);
    if (!r->cols) return GENBO_ENOMEM;
    size_t bad;
    const char *why;
    long k = split_line(r->header, r->cols, upper, &bad, &why);
    if (k < 0)
        return genbo__fail(GENBO_EFORMAT, "%s:%ld: header column %zu: %s", r->path, r->lineno,
                           bad + 1, why);
    r->ncols = (size_t)k;
    int rc = check_header_names(r);
    if (rc) return rc;

    /* Roles: skip first, then the reward and id columns, the rest are features. */
    const char *reward = opts ? opts->reward_column : NULL;
    const char *id = opts ? opts->id_column : NULL;
    const char *const *skip = opts ? opts->skip_columns : NULL;
    for (size_t i = 0; skip && skip[i]; i++) {
        int found = 0;
        for (size_t j = 0; j < r->ncols; j++) found |= strcmp(r->cols[j], skip[i]) == 0;
        if (!found)
            return genbo__fail(GENBO_ENOTFOUND, "%s:%ld: skip column '%s' is not in the header",
                               r->path, r->lineno, skip[i]);
        if ((reward && strcmp(reward, skip[i]) == 0) || (id && strcmp(id, skip[i]) == 0))
            return genbo__fail(GENBO_EINVAL, "%s: column '%s' is both skipped and used", r->path,
                               skip[i]);
    }
    if (reward && id && reward[0] && strcmp(reward, id) == 0)
        return genbo__fail(GENBO_EINVAL, "%s: column '%s' cannot be both reward and id", r->path,
                           reward);
    const char *want_reward = reward ? reward : "reward";
    const char *want_id = id ? id : "id";
    r->role = genbo__calloc(r->ncols ? r->ncols : 1, sizeof *r->role);
    r->cells = genbo__calloc(r->ncols ? r->ncols : 1, sizeof *r->cells);
    if (!r->role || !r->cells) return GENBO_ENOMEM;
    int found_reward = 0, found_id = 0;
    for (size_t j = 0; j < r->ncols; j++) {
        const char *c = r->cols[j];
        if (name_in(c, skip) || (reward && !reward[0] && strcmp(c, "reward") == 0)) {
            /* reward_column "" reads a file as unlabelled: a pool file that
             * carries rewards still has the labelled file's features */
            r->role[j] = COL_SKIP;
        } else if (want_reward[0] && strcmp(c, want_reward) == 0) {
            r->role[j] = COL_REWARD;
            found_reward = 1;
        } else if (want_id[0] && strcmp(c, want_id) == 0) {
            r->role[j] = COL_ID;
            found_id = 1;
        } else {
            r->role[j] = COL_FEATURE;
            r->nfeat++;
        }
    }
    if (reward && reward[0] && !found_reward)
        return genbo__fail(GENBO_ENOTFOUND, "%s:%ld: reward column '%s' is not in the header",
                           r->path, r->lineno, reward);
    if (id && id[0] && !found_id)
        return genbo__fail(GENBO_ENOTFOUND, "%s:%ld: id column '%s' is not in the header",
                           r->path, r->lineno, id);
    if (r->nfeat == 0)
        return genbo__fail(GENBO_EFORMAT, "%s:%ld: no feature columns in the header", r->path,
                           r->lineno);
    r->labelled = found_reward;
    r->has_ids = found_id;
    return GENBO_OK;
}

/* Makes room for one more row (geometric growth). */
static int grow_rows(csv_reader *r) {
    if (r->n < r->cap) return GENBO_OK;
    size_t cap = r->cap ? r->cap * 2 : 1024, bytes;
    if (!genbo__mul_ok(cap, r->nfeat * sizeof(double), &bytes))
        return genbo__fail(GENBO_ENOMEM, "%s: too many rows", r->path);
    double *X = realloc(r->X, bytes);
    if (!X) return genbo__fail(GENBO_ENOMEM, "%s: out of memory at line %ld", r->path, r->lineno);
    r->X = X;
    if (r->labelled) {
        double *y = realloc(r->y, cap * sizeof(double));
        if (!y) return genbo__fail(GENBO_ENOMEM, "%s: out of memory", r->path);
        r->y = y;
    }
    if (r->has_ids) {
        size_t *off = realloc(r->id_off, cap * sizeof(size_t));
        if (!off) return genbo__fail(GENBO_ENOMEM, "%s: out of memory", r->path);
        r->id_off = off;
    }
    r->cap = cap;
    return GENBO_OK;
}

static int append_id(csv_reader *r, const char *id) {
    size_t k = strlen(id) + 1;
    if (genbo__grow(&r->id_text, &r->id_cap, r->id_len + k, 1, "row ids"))
        return genbo__fail_prefix(GENBO_ENOMEM, "%s", r->path);
    memcpy(r->id_text + r->id_len, id, k);
    r->id_off[r->n] = r->id_len;
    r->id_len += k;
    return GENBO_OK;
}

static int parse_number(const csv_reader *r, size_t j, const char *cell, double *out) {
    if (cell[0] == '\0')
        return genbo__fail(GENBO_EFORMAT, "%s:%ld: column %zu ('%s'): empty cell", r->path,
                           r->lineno, j + 1, r->cols[j]);
    char *end;
    double v = strtod(cell, &end);
    if (end == cell || *end != '\0')
        return genbo__fail(GENBO_EFORMAT, "%s:%ld: column %zu ('%s'): not a number: '%.40s'",
                           r->path, r->lineno, j + 1, r->cols[j], cell);
    if (!isfinite(v))
        return genbo__fail(GENBO_EFORMAT, "%s:%ld: column %zu ('%s'): non-finite value '%.40s'",
                           r->path, r->lineno, j + 1, r->cols[j], cell);
    *out = v;
    return GENBO_OK;
}

static int parse_rows(csv_reader *r) {
    ssize_t len;
    int got;
    while ((got = next_line(r, &len)) > 0) {
        size_t bad;
        const char *why;
        long k = split_line(r->line, r->cells, r->ncols, &bad, &why);
        if (k < 0) {
            const char *name = bad < r->ncols ? r->cols[bad] : "(extra)";
            return genbo__fail(GENBO_EFORMAT, "%s:%ld: column %zu ('%s'): %s", r->path,
                               r->lineno, bad + 1, name, why);
        }
        if ((size_t)k < r->ncols)
            return genbo__fail(GENBO_EFORMAT,
                               "%s:%ld: too few cells: %ld of %zu (missing column %ld ('%s'))",
                               r->path, r->lineno, k, r->ncols, k + 1, r->cols[k]);
        if ((size_t)k > r->ncols)
            return genbo__fail(GENBO_EFORMAT,
                               "%s:%ld: too many cells: %ld, the header has %zu (extra column "
                               "%zu)",
                               r->path, r->lineno, k, r->ncols, r->ncols + 1);
        int rc = grow_rows(r);
        if (rc) return rc;
        double *row = r->X + r->n * r->nfeat;
        size_t f = 0;
        for (size_t j = 0; j < r->ncols; j++) {
            switch (r->role[j]) {
            case COL_FEATURE: rc = parse_number(r, j, r->cells[j], &row[f++]); break;
            case COL_REWARD: rc = parse_number(r, j, r->cells[j], &r->y[r->n]); break;
            case COL_ID: rc = append_id(r, r->cells[j]); break;
            case COL_SKIP: break;
            }
            if (rc) return rc;
        }
        r->n++;
    }
    if (got < 0) return genbo__fail(GENBO_EIO, "%s: read error after line %ld", r->path, r->lineno);
    if (r->n == 0)
        return genbo__fail(GENBO_EFORMAT, "%s:%ld: header only, no data rows", r->path, r->lineno);
    return GENBO_OK;
}

int genbo_dataset_read_csv(const char *path, const genbo_csv_options *opts,
                           genbo_dataset **out) {
    if (!path || !out) return genbo__fail(GENBO_EINVAL, "genbo_dataset_read_csv: NULL argument");
    *out = NULL;
    csv_reader r;
    memset(&r, 0, sizeof r);
    r.path = path;
    r.f = fopen(path, "r");
    if (!r.f) return genbo__fail(GENBO_EIO, "%s: cannot open: %s", path, strerror(errno));
    int rc = parse_header(&r, opts);
    if (!rc) rc = parse_rows(&r);
    if (rc) {
        reader_release(&r);
        return rc;
    }
    /* Give back the unused tail of the geometric growth. */
    double *X = realloc(r.X, r.n * r.nfeat * sizeof(double));
    if (X) r.X = X;
    if (r.y) {
        double *y = realloc(r.y, r.n * sizeof(double));
        if (y) r.y = y;
    }
    const char **names = genbo__calloc(r.nfeat, sizeof *names);
    if (!names) {
        reader_release(&r);
        return GENBO_ENOMEM;
    }
    for (size_t j = 0, f = 0; j < r.ncols; j++)
        if (r.role[j] == COL_FEATURE) names[f++] = r.cols[j];
    genbo_dataset *ds = NULL;
    rc = genbo__dataset_take(r.n, r.nfeat, r.X, r.y, names, &ds);
    free(names);
    r.X = r.y = NULL; /* owned (or freed) by genbo__dataset_take now */
    if (rc) {
        reader_release(&r);
        return rc;
    }
    if (r.has_ids) {
        ds->id_text = r.id_text;
        ds->id_off = r.id_off;
        r.id_text = NULL;
        r.id_off = NULL;
    }
    reader_release(&r);
    *out = ds;
    return GENBO_OK;
}

/* ---- writer ------------------------------------------------------------- */

/* Writes a text cell, quoting it when a reader would otherwise change it. */
static void write_text(FILE *f, const char *s) {
    int quote = s[0] == '\0' || s[0] == ' ' || s[0] == '\t' || s[0] == '"';
    size_t k = strlen(s);
    if (k && (s[k - 1] == ' ' || s[k - 1] == '\t')) quote = 1;
    if (strpbrk(s, ",\"\r\n")) quote = 1;
    if (!quote) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int genbo_dataset_write_csv(const genbo_dataset *ds, const char *path) {
    if (!ds || !path) return genbo__fail(GENBO_EINVAL, "genbo_dataset_write_csv: NULL argument");
    for (size_t j = 0; j < ds->d; j++) {
        if (ds->y && strcmp(ds->names[j], "reward") == 0)
            return genbo__fail(GENBO_EINVAL,
                               "%s: feature column %zu is named 'reward', which the reward "
                               "column needs",
                               path, j + 1);
        if (ds->id_off && strcmp(ds->names[j], "id") == 0)
            return genbo__fail(GENBO_EINVAL,
                               "%s: feature column %zu is named 'id', which the id column needs",
                               path, j + 1);
        if (strpbrk(ds->names[j], "\r\n"))
            return genbo__fail(GENBO_EINVAL, "%s: column name %zu contains a line break", path,
                               j + 1);
    }
    FILE *f = fopen(path, "w");
    if (!f) return genbo__fail(GENBO_EIO, "%s: cannot open for writing: %s", path, strerror(errno));
    for (size_t j = 0; j < ds->d; j++) {
        if (j) fputc(',', f);
        write_text(f, ds->names[j]);
    }
    if (ds->y) fputs(",reward", f);
    if (ds->id_off) fputs(",id", f);
    fputc('\n', f);
    for (size_t i = 0; i < ds->n; i++) {
        const double *row = ds->X + i * ds->d;
        for (size_t j = 0; j < ds->d; j++) fprintf(f, j ? ",%.17g" : "%.17g", row[j]);
        if (ds->y) fprintf(f, ",%.17g", ds->y[i]);
        if (ds->id_off) {
            fputc(',', f);
            write_text(f, ds->id_text + ds->id_off[i]);
        }
        fputc('\n', f);
    }
    int failed = ferror(f);
    int err = errno;
    if (fclose(f) != 0 && !failed) {
        failed = 1;
        err = errno;
    }
    if (failed) {
        remove(path); /* no half-written file is left behind */
        return genbo__fail(GENBO_EIO, "%s: write failed: %s", path, strerror(err));
    }
    return GENBO_OK;
}
