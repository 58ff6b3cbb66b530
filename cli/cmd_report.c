/* cmd_report.c - `genbo report`: one self-contained HTML file (the
 * dashboard template with the study documents inlined) that opens from
 * disk, needs no network and can be mailed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/dashboard_data.h"
#include "cli/dashboard_page.h"

/* The help table (help.c): everything on --help, the synopsis on errors. */
static void report_usage(FILE *f) {
    if (f == stdout) cli_help_print(f, "report");
    else cli_usage_error("report");
}

/* Write all of buf to path through a temporary file, so a reader never
 * sees half a report. */
static int write_file_atomic(const char *path, const char *buf, size_t len) {
    size_t n = strlen(path);
    char *tmp = malloc(n + 5);
    if (!tmp) return cli_error(GENBO_ENOMEM, "out of memory");
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", 5);
    FILE *f = fopen(tmp, "wb");
    int status = GENBO_OK;
    if (!f) {
        status = cli_error(GENBO_EIO, "%s: cannot write", tmp);
    } else {
        int bad = fwrite(buf, 1, len, f) != len;
        bad |= fclose(f) != 0;
        if (bad || rename(tmp, path) != 0) {
            status = cli_error(GENBO_EIO, "%s: cannot write", path);
            remove(tmp);
        }
    }
    free(tmp);
    return status;
}

int cmd_report(int argc, char **argv) {
    const char *db_path = NULL, *study = NULL, *out = "report.html";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            report_usage(stdout);
            return 0;
        }
        const char **dst = !strcmp(a, "--db")      ? &db_path
                           : !strcmp(a, "--study") ? &study
                           : !strcmp(a, "--out")   ? &out
                                                   : NULL;
        if (!dst || i + 1 >= argc) {
            fprintf(stderr, dst ? "genbo report: %s needs a value\n"
                                : "genbo report: unknown option '%s'\n", a);
            report_usage(stderr);
            return 2;
        }
        *dst = argv[++i];
    }
    if (!db_path) {
        fprintf(stderr, "genbo report: --db is required\n");
        report_usage(stderr);
        return 2;
    }
    genbo_db *db = NULL;
    if (dashboard_db_open(db_path, &db) != GENBO_OK) return cli_fail("report");
    cJSON *doc = NULL;
    int status = dashboard_report_json(db, db_path, study, &doc);
    genbo_db_close(db);
    if (status != GENBO_OK) return cli_fail("report");
    char *json = dashboard_json_print(doc);
    cJSON_Delete(doc);
    if (!json) {
        cli_error(GENBO_ENOMEM, "out of memory printing the report");
        return cli_fail("report");
    }
    size_t len = 0;
    char *page = dashboard_page_render(json, &len);
    free(json);
    if (!page) return cli_fail("report");
    status = write_file_atomic(out, page, len);
    free(page);
    if (status != GENBO_OK) return cli_fail("report");
    printf("wrote %s (%zu bytes)\n", out, len);
    return 0;
}
