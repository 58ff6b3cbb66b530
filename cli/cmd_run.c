/* cmd_run.c - `genbo run STUDY.ini [--db D] [--quiet]`: run (or resume) a
 * study and print SubOpt(a) per target and method. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/core.h"
#include "studies/config.h"
#include "studies/store.h"

static volatile sig_atomic_t interrupted = 0;
static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

/* The terminal display, plus Ctrl-C: the library stops at the next
 * progress report, marks the run failed ("interrupted") and a rerun
 * resumes it. */
static int run_progress(void *ctx, const char *stage, long done, long total, const char *msg) {
    if (interrupted) return 1;
    if (ctx) return 0; /* --quiet */
    return cli_progress(NULL, stage, done, total, msg);
}

/* Tables fit 100 columns: a 12-column target, then the methods, each
 * max(10, its name) wide; methods that do not fit go to a further block
 * of rows below. The last character of a cell is the "*" mark. */
#define TARGET_W 12
#define TABLE_W 100

static int col_width(const char *method) {
    int w = (int)strlen(method);
    return w < 10 ? 10 : w;
}

static void print_head(const char *name) { printf(" %*s", col_width(name), name); }

static void print_cell(int w, double v, int predicted) {
    if (isnan(v)) printf(" %*s", w, "- ");
    else printf(" %*.4f%s", w - 1, v, predicted ? "*" : " ");
}

/* One table per metric: targets down, methods across. */
static int print_table(sqlite3 *db, int64_t run_id, const genbo_config *c, const char *title,
                       const char *column) {
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT %s, subopt_kind, target FROM metrics WHERE run_id = ? AND round = 0 AND "
             "target_label = ? AND method = ?", column);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return 1;
    printf("\n%s\n", title);
    int any_pred = 0;
    for (int j0 = 0, j1; j0 < c->n_methods; j0 = j1) {
        int used = TARGET_W;
        for (j1 = j0; j1 < c->n_methods && (j1 == j0 || used + 1 + col_width(c->methods[j1]) <= TABLE_W); j1++)
            used += 1 + col_width(c->methods[j1]);
        printf("%-*s", TARGET_W, "target");
        for (int j = j0; j < j1; j++) print_head(c->methods[j]);
        printf("\n");
        for (int i = 0; i < c->n_targets; i++) {
            char head[48];
            double tv = NAN;
            int printed_head = 0;
            for (int j = j0; j < j1; j++) {
                sqlite3_reset(st);
                sqlite3_bind_int64(st, 1, run_id);
                sqlite3_bind_text(st, 2, c->targets[i].label, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 3, c->methods[j], -1, SQLITE_STATIC);
                double v = NAN;
                int pred = 0;
                if (sqlite3_step(st) == SQLITE_ROW) {
                    if (sqlite3_column_type(st, 0) != SQLITE_NULL) v = sqlite3_column_double(st, 0);
                    const char *k = (const char *)sqlite3_column_text(st, 1);
                    pred = !strcmp(column, "subopt") && k && !strcmp(k, "predicted");
                    tv = sqlite3_column_double(st, 2);
                }
                if (!printed_head) {
                    snprintf(head, sizeof head, "%s (%.3g)", c->targets[i].label, tv);
                    printf("%-*.*s", TARGET_W, TARGET_W, head);
                    printed_head = 1;
                }
                any_pred |= pred;
                print_cell(col_width(c->methods[j]), v, pred);
            }
            printf("\n");
        }
    }
    sqlite3_finalize(st);
    if (any_pred) printf("* from predicted rewards (no true reward: evaluator = none)\n");
    return 0;
}

static void print_rounds(sqlite3 *db, int64_t run_id) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT round, target_label, target, subopt, subopt_kind, mean_true, best_true, "
                           "support_distance, n, n_failed FROM metrics WHERE run_id = ? AND round > 0 "
                           "ORDER BY round", -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, run_id);
    int first = 1;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (first) printf("\nDesign loop\n%-6s %-10s %10s %10s %10s %10s %6s\n", "round", "target", "SubOpt",
                          "mean", "best", "support", "failed");
        first = 0;
        printf("%-6d %-10s", sqlite3_column_int(st, 0), (const char *)sqlite3_column_text(st, 1));
        const int cols[4] = {3, 5, 6, 7};
        for (int k = 0; k < 4; k++) {
            if (sqlite3_column_type(st, cols[k]) == SQLITE_NULL) printf(" %10s", "-");
            else printf(" %10.4f", sqlite3_column_double(st, cols[k]));
        }
        const char *kind = (const char *)sqlite3_column_text(st, 4);
        printf(" %6d%s\n", sqlite3_column_int(st, 9), kind && !strcmp(kind, "predicted") ? "  (SubOpt predicted)" : "");
    }
    sqlite3_finalize(st);
}

/* The diffusion training of the run: why it stopped, steps, best
 * validation loss, time. A budget stop before convergence is a warning on
 * stderr (also with --quiet): the model may be undertrained. */
static void print_training(sqlite3 *db, int64_t run_id, const genbo_config *c) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT stop, steps, best_step, best_val_loss, seconds, n_train, n_val, width, depth, "
                           "batch, resumed_from FROM trainings WHERE run_id = ? AND round = 0", -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, run_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *stop = (const char *)sqlite3_column_text(st, 0);
        printf("\nDiffusion training: %s after %lld steps", stop, (long long)sqlite3_column_int64(st, 1));
        if (sqlite3_column_type(st, 3) != SQLITE_NULL)
            printf(", best validation loss %.4f at step %lld", sqlite3_column_double(st, 3),
                   (long long)sqlite3_column_int64(st, 2));
        printf(", %.1f s (%lld training / %lld validation rows, %d x %d network, batch %d%s)\n",
               sqlite3_column_double(st, 4), (long long)sqlite3_column_int64(st, 5),
               (long long)sqlite3_column_int64(st, 6), sqlite3_column_int(st, 8), sqlite3_column_int(st, 7),
               sqlite3_column_int(st, 9), sqlite3_column_int64(st, 10) > 0 ? ", resumed from a checkpoint" : "");
        if (!strcmp(stop, "max_steps"))
            fprintf(stderr, "genbo: warning: diffusion training stopped on its step budget (max_steps = %ld) "
                            "before the validation loss converged; raise [diffusion] max_steps\n", c->diffusion.max_steps);
        else if (!strcmp(stop, "max_seconds"))
            fprintf(stderr, "genbo: warning: diffusion training stopped on its time budget (max_seconds = %g) "
                            "before the validation loss converged; raise [diffusion] max_seconds\n", c->diffusion.max_seconds);
    }
    sqlite3_finalize(st);
}

static int print_summary(const char *db_path, const char *name, const genbo_config *c) {
    sqlite3 *db;
    if (genbo__store_open(db_path, 1, &db)) return cli_fail("reading the results");
    int64_t run_id = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT MAX(r.id) FROM runs r JOIN studies s ON s.id = r.study_id WHERE "
                           "s.name = ? AND r.kind = 'run'", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) run_id = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    printf("study '%s', run %lld, database %s\n", name, (long long)run_id, db_path);
    print_table(db, run_id, c,
                "SubOpt(a) = a - mean true reward: > 0 short of the target a, < 0 above it (overshoot;\n"
                "check the support distance: off-support designs can overshoot a model); * = predicted",
                "subopt");
    print_table(db, run_id, c, "Mean true reward", "mean_true");
    print_table(db, run_id, c, "Support distance (task: 0 = on the data's support; knn: ~1)",
                "support_distance");
    print_rounds(db, run_id);
    print_training(db, run_id, c);
    genbo__store_close(db);
    return 0;
}

int cmd_run(int argc, char **argv) {
    static const struct option opts[] = {
        {"db", required_argument, 0, 'd'}, {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *db = NULL;
    int quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:qh", opts, NULL)) != -1) {
        if (c == 'd') db = optarg;
        else if (c == 'q') quiet = 1;
        else return cli_help_or_usage("run", c == 'h');
    }
    if (optind != argc - 1) return cli_usage_error("run");
    genbo_config *cfg;
    if (genbo_config_load(argv[optind], &cfg)) return cli_fail("study file");
    char dbbuf[600];
    if (!db) {
        if (cfg->db[0]) db = cfg->db;
        else {
            snprintf(dbbuf, sizeof dbbuf, "%s.db", cfg->name);
            db = dbbuf;
        }
    }
    genbo_study *s;
    if (genbo_study_open(db, cfg->name, cfg, GENBO_OPEN_CREATE, &s)) {
        genbo_config_free(cfg);
        return cli_fail("opening the study");
    }
    signal(SIGINT, on_sigint);
    double t = genbo__now();
    int rc = genbo_study_run(s, run_progress, quiet ? (void *)1 : NULL);
    signal(SIGINT, SIG_DFL);
    genbo_study_close(s);
    if (rc) {
        genbo_config_free(cfg);
        if (interrupted) fprintf(stderr, "genbo: interrupted; run the same command again to resume\n");
        return cli_fail("run");
    }
    if (!quiet) fprintf(stderr, "finished in %.1f s\n", genbo__now() - t);
    int out = print_summary(db, cfg->name, cfg);
    genbo_config_free(cfg);
    return out;
}
