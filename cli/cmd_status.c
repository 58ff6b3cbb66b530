/* cmd_status.c - `genbo status`: a study database read read-only
 * (SQLITE_OPEN_READONLY; WAL: never blocks a running writer). */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "studies/store.h"

static const char *text_or(sqlite3_stmt *st, int col, const char *dflt) {
    const char *t = (const char *)sqlite3_column_text(st, col);
    return t ? t : dflt;
}

static void json_add_col(cJSON *o, const char *name, sqlite3_stmt *st, int col) {
    switch (sqlite3_column_type(st, col)) {
    case SQLITE_NULL: cJSON_AddNullToObject(o, name); break;
    case SQLITE_INTEGER: cJSON_AddNumberToObject(o, name, (double)sqlite3_column_int64(st, col)); break;
    case SQLITE_FLOAT: cJSON_AddItemToObject(o, name, cli_json_double(sqlite3_column_double(st, col))); break;
    default: cJSON_AddStringToObject(o, name, text_or(st, col, "")); break;
    }
}

/* ---- status ------------------------------------------------------------- */

static const char *const STUDY_SQL =
    "SELECT s.id, s.name, s.dim, "
    " (SELECT COUNT(*) FROM trials t WHERE t.study_id = s.id AND t.state = 'asked'),"
    " (SELECT COUNT(*) FROM trials t WHERE t.study_id = s.id AND t.state = 'told'),"
    " (SELECT COUNT(*) FROM trials t WHERE t.study_id = s.id AND t.state = 'failed'),"
    " (SELECT MAX(o.value) FROM observations o JOIN trials t ON t.id = o.trial_id WHERE t.study_id = s.id),"
    /* The loop (asks, loop rounds) and the run phase apart: a run phase's
     * best can be an off-support overshoot no loop would keep. */
    " (SELECT MAX(o.value) FROM observations o JOIN trials t ON t.id = o.trial_id WHERE t.study_id = s.id"
    "  AND (t.round IS NULL OR t.round >= 1)),"
    " (SELECT MAX(o.value) FROM observations o JOIN trials t ON t.id = o.trial_id WHERE t.study_id = s.id"
    "  AND t.round = 0)"
    " FROM studies s WHERE ?1 IS NULL OR s.name = ?1 ORDER BY s.id";
static const char *const RUN_SQL =
    "SELECT id, kind, status, last_step, started, ended, seed, version, error FROM runs "
    "WHERE study_id = ? ORDER BY id";

int cmd_status(int argc, char **argv) {
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"study", required_argument, 0, 's'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *db_path = NULL, *study = NULL;
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:s:jh", opts, NULL)) != -1) {
        if (c == 'd') db_path = optarg;
        else if (c == 's') study = optarg;
        else if (c == 'j') json = 1;
        else return cli_help_or_usage("status", c == 'h');
    }
    if (!db_path || optind != argc) return cli_usage_error("status");
    sqlite3 *db;
    if (genbo__store_open(db_path, 1, &db)) return cli_fail("status");
    sqlite3_stmt *st, *rt;
    if (sqlite3_prepare_v2(db, STUDY_SQL, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, RUN_SQL, -1, &rt, NULL) != SQLITE_OK) {
        genbo__store_fail(db, "status");
        genbo__store_close(db);
        return cli_fail("status");
    }
    if (study) sqlite3_bind_text(st, 1, study, -1, SQLITE_STATIC);
    cJSON *all = json ? cJSON_CreateArray() : NULL;
    int found = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        found++;
        cJSON *o = NULL, *runs = NULL;
        if (json) {
            o = cJSON_CreateObject();
            json_add_col(o, "name", st, 1);
            json_add_col(o, "dim", st, 2);
            json_add_col(o, "asked", st, 3);
            json_add_col(o, "told", st, 4);
            json_add_col(o, "failed", st, 5);
            json_add_col(o, "best_value", st, 6);
            json_add_col(o, "best_loop", st, 7);
            json_add_col(o, "best_run", st, 8);
            runs = cJSON_AddArrayToObject(o, "runs");
            cJSON_AddItemToArray(all, o);
        } else {
            printf("study %s  dim %lld  trials: %lld asked, %lld told, %lld failed", text_or(st, 1, "?"),
                   (long long)sqlite3_column_int64(st, 2), (long long)sqlite3_column_int64(st, 3),
                   (long long)sqlite3_column_int64(st, 4), (long long)sqlite3_column_int64(st, 5));
            printf("\n");
            if (sqlite3_column_type(st, 6) != SQLITE_NULL) {
                printf("  best told value: design loop ");
                if (sqlite3_column_type(st, 7) != SQLITE_NULL) printf("%.6g", sqlite3_column_double(st, 7));
                else printf("-");
                printf(", run phase ");
                if (sqlite3_column_type(st, 8) != SQLITE_NULL) printf("%.6g", sqlite3_column_double(st, 8));
                else printf("-");
                printf("  (genbo best shows the designs)\n");
            }
        }
        sqlite3_reset(rt);
        sqlite3_bind_int64(rt, 1, sqlite3_column_int64(st, 0));
        while (sqlite3_step(rt) == SQLITE_ROW) {
            if (json) {
                cJSON *r = cJSON_CreateObject();
                const char *names[] = {"id", "kind", "status", "last_step", "started", "ended", "seed", "version", "error"};
                for (int k = 0; k < 9; k++) json_add_col(r, names[k], rt, k);
                cJSON_AddItemToArray(runs, r);
            } else {
                double started = sqlite3_column_double(rt, 4);
                double ended = sqlite3_column_type(rt, 5) == SQLITE_NULL ? NAN : sqlite3_column_double(rt, 5);
                printf("  run %lld (%s): %s, last step '%s'", (long long)sqlite3_column_int64(rt, 0),
                       text_or(rt, 1, "?"), text_or(rt, 2, "?"), text_or(rt, 3, "-"));
                if (!isnan(ended)) printf(", %.1f s", ended - started);
                printf("\n");
                /* Errors can be long (a path, a library message): wrapped
                 * at 100 columns on lines of their own. */
                if (sqlite3_column_type(rt, 8) != SQLITE_NULL) cli_print_wrapped("    error: ", text_or(rt, 8, ""));
            }
        }
    }
    /* A read that ends on an error (busy, corrupt) must not look complete. */
    if (step != SQLITE_DONE) {
        fprintf(stderr, "genbo: status: %s: reading studies: %s\n", db_path, sqlite3_errmsg(db));
        sqlite3_finalize(st);
        sqlite3_finalize(rt);
        genbo__store_close(db);
        cJSON_Delete(all);
        return 1;
    }
    sqlite3_finalize(st);
    sqlite3_finalize(rt);
    genbo__store_close(db);
    if (json) {
        char *text = cJSON_Print(all);
        if (text) puts(text);
        cJSON_free(text);
        cJSON_Delete(all);
    }
    if (study && !found) {
        fprintf(stderr, "genbo: status: %s: no study named '%s'\n", db_path, study);
        return 1;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "genbo: status: writing the output failed\n");
        return 1;
    }
    return 0;
}
