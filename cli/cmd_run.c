/* cmd_run.c - `genbo run STUDY.ini [--db D] [--quiet]`: run (or resume) a
 * study and print SubOpt(a) per target and method. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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

/* The study file's list key (section, key) as a NULL-terminated array of
 * malloc'ed strings (free with free_list); NULL on failure. */
static char **config_list(const genbo_config *c, const char *section, const char *key, size_t *n) {
    if (genbo_config_list_size(c, section, key, n)) return NULL;
    char **v = calloc(*n + 1, sizeof *v);
    for (size_t i = 0; v && i < *n; i++) {
        char buf[128];
        if (genbo_config_list_item(c, section, key, i, buf, sizeof buf) || !(v[i] = strdup(buf))) {
            for (size_t j = 0; j < i; j++) free(v[j]);
            free(v);
            return NULL;
        }
    }
    return v;
}

static void free_list(char **v) {
    for (size_t i = 0; v && v[i]; i++) free(v[i]);
    free(v);
}

/* The generation-phase row of (target label, method), or NULL. */
static const genbo_metric *find_metric(const genbo_metric *m, size_t n, const char *label,
                                       const char *method) {
    for (size_t i = 0; i < n; i++)
        if (m[i].round == 0 && !strcmp(m[i].target_label, label) && !strcmp(m[i].method, method))
            return &m[i];
    return NULL;
}

/* What a table shows of a metrics row. */
typedef double (*metric_value_fn)(const genbo_metric *m);
static double subopt_of(const genbo_metric *m) { return m->subopt; }
static double mean_true_of(const genbo_metric *m) { return m->mean_true; }
static double support_of(const genbo_metric *m) { return m->support_distance; }

/* One table per metric: targets down, methods across. mark_predicted:
 * the SubOpt table marks values computed from predicted rewards. */
static void print_table(const genbo_metric *rows, size_t n_rows, char **targets, size_t n_targets,
                        char **methods, size_t n_methods, const char *title, metric_value_fn value,
                        int mark_predicted) {
    printf("\n%s\n", title);
    int any_pred = 0;
    for (size_t j0 = 0, j1; j0 < n_methods; j0 = j1) {
        int used = TARGET_W;
        for (j1 = j0; j1 < n_methods && (j1 == j0 || used + 1 + col_width(methods[j1]) <= TABLE_W); j1++)
            used += 1 + col_width(methods[j1]);
        printf("%-*s", TARGET_W, "target");
        for (size_t j = j0; j < j1; j++) print_head(methods[j]);
        printf("\n");
        for (size_t i = 0; i < n_targets; i++) {
            char head[48];
            double tv = NAN;
            int printed_head = 0;
            for (size_t j = j0; j < j1; j++) {
                const genbo_metric *m = find_metric(rows, n_rows, targets[i], methods[j]);
                double v = NAN;
                int pred = 0;
                if (m) {
                    v = value(m);
                    pred = mark_predicted && !strcmp(m->subopt_kind, "predicted");
                    tv = m->target;
                }
                if (!printed_head) {
                    snprintf(head, sizeof head, "%s (%.3g)", targets[i], tv);
                    printf("%-*.*s", TARGET_W, TARGET_W, head);
                    printed_head = 1;
                }
                any_pred |= pred;
                print_cell(col_width(methods[j]), v, pred);
            }
            printf("\n");
        }
    }
    if (any_pred) printf("* from predicted rewards (no true reward: evaluator = none)\n");
}

static int by_round(const void *a, const void *b) {
    const genbo_metric *x = *(const genbo_metric *const *)a, *y = *(const genbo_metric *const *)b;
    if (x->round != y->round) return (x->round > y->round) - (x->round < y->round);
    return (x > y) - (x < y); /* stable: the read's order within a round */
}

static void print_rounds(const genbo_metric *rows, size_t n_rows) {
    const genbo_metric **loop = malloc((n_rows ? n_rows : 1) * sizeof *loop);
    size_t k = 0;
    for (size_t i = 0; loop && i < n_rows; i++)
        if (rows[i].round > 0) loop[k++] = &rows[i];
    if (loop) qsort(loop, k, sizeof *loop, by_round);
    for (size_t i = 0; i < k; i++) {
        const genbo_metric *m = loop[i];
        if (i == 0) printf("\nDesign loop\n%-6s %-10s %10s %10s %10s %10s %6s\n", "round", "target", "SubOpt",
                           "mean", "best", "support", "failed");
        printf("%-6d %-10s", m->round, m->target_label);
        const double cols[4] = {m->subopt, m->mean_true, m->best_true, m->support_distance};
        for (int c = 0; c < 4; c++) {
            if (isnan(cols[c])) printf(" %10s", "-");
            else printf(" %10.4f", cols[c]);
        }
        printf(" %6lld%s\n", (long long)m->n_failed, !strcmp(m->subopt_kind, "predicted") ? "  (SubOpt predicted)" : "");
    }
    free(loop);
}

/* The diffusion training of the run: why it stopped, steps, best
 * validation loss, time. A budget stop before convergence is a warning on
 * stderr (also with --quiet): the model may be undertrained. */
static void print_training(genbo_study *s, int64_t run_id, const genbo_config *c) {
    genbo_training_info *tr = NULL;
    size_t n = 0;
    if (genbo_study_trainings(s, run_id, &tr, &n)) return;
    for (size_t i = 0; i < n; i++) {
        const genbo_training_info *t = &tr[i];
        if (t->round != 0) continue;
        printf("\nDiffusion training: %s after %lld steps", t->stop, (long long)t->steps);
        if (!isnan(t->best_val_loss))
            printf(", best validation loss %.4f at step %lld", t->best_val_loss,
                   (long long)(t->best_step < 0 ? 0 : t->best_step));
        printf(", %.1f s (%lld training / %lld validation rows, %d x %d network, batch %d%s)\n", t->seconds,
               (long long)t->n_train, (long long)t->n_val, t->depth, t->width, t->batch,
               t->resumed_from > 0 ? ", resumed from a checkpoint" : "");
        double budget = 0;
        if (!strcmp(t->stop, "max_steps") && !genbo_config_get_double(c, "diffusion", "max_steps", &budget))
            fprintf(stderr, "genbo: warning: diffusion training stopped on its step budget (max_steps = %ld) "
                            "before the validation loss converged; raise [diffusion] max_steps\n", (long)budget);
        else if (!strcmp(t->stop, "max_seconds") &&
                 !genbo_config_get_double(c, "diffusion", "max_seconds", &budget))
            fprintf(stderr, "genbo: warning: diffusion training stopped on its time budget (max_seconds = %g) "
                            "before the validation loss converged; raise [diffusion] max_seconds\n", budget);
        break;
    }
    free(tr);
}

static int print_summary(const char *db_path, const char *name, const genbo_config *c) {
    genbo_db *db = NULL;
    genbo_study *s = NULL;
    if (genbo_db_open(db_path, &db) || genbo_db_study(db, name, &s)) {
        genbo_db_close(db);
        return cli_fail("reading the results");
    }
    /* the newest pipeline run (asks make runs of kind "ask") */
    genbo_run_info *runs = NULL;
    size_t n_runs = 0;
    int64_t run_id = 0;
    if (!genbo_study_runs(s, &runs, &n_runs))
        for (size_t i = 0; i < n_runs; i++)
            if (!strcmp(runs[i].kind, "run") && runs[i].id > run_id) run_id = runs[i].id;
    free(runs);
    genbo_metric *rows = NULL;
    size_t n_rows = 0, n_targets = 0, n_methods = 0;
    char **targets = config_list(c, "generate", "targets", &n_targets);
    char **methods = config_list(c, "generate", "methods", &n_methods);
    int rc = !targets || !methods || (run_id && genbo_study_metrics(s, run_id, &rows, &n_rows));
    if (!rc) {
        printf("study '%s', run %lld, database %s\n", name, (long long)run_id, db_path);
        print_table(rows, n_rows, targets, n_targets, methods, n_methods,
                    "SubOpt(a) = a - mean true reward: > 0 short of the target a, < 0 above it (overshoot;\n"
                    "check the support distance: off-support designs can overshoot a model); * = predicted",
                    subopt_of, 1);
        print_table(rows, n_rows, targets, n_targets, methods, n_methods, "Mean true reward", mean_true_of, 0);
        print_table(rows, n_rows, targets, n_targets, methods, n_methods,
                    "Support distance (task: 0 = on the data's support; knn: ~1)", support_of, 0);
        print_rounds(rows, n_rows);
        if (run_id) print_training(s, run_id, c);
    }
    free(rows);
    free_list(targets);
    free_list(methods);
    genbo_study_close(s);
    genbo_db_close(db);
    return rc ? cli_fail("reading the results") : 0;
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
    /* [study] db, else <name>.db; --db overrides */
    char name[256], cfg_db[1100], dbbuf[600];
    genbo_config_get(cfg, "study", "name", name, sizeof name);
    genbo_config_get(cfg, "study", "db", cfg_db, sizeof cfg_db);
    if (!db) {
        if (cfg_db[0]) db = cfg_db;
        else {
            snprintf(dbbuf, sizeof dbbuf, "%s.db", name);
            db = dbbuf;
        }
    }
    genbo_study *s;
    if (genbo_study_open(db, name, cfg, GENBO_OPEN_CREATE, &s)) {
        genbo_config_free(cfg);
        return cli_fail("opening the study");
    }
    signal(SIGINT, on_sigint);
    double t = cli_now();
    int rc = genbo_study_run(s, run_progress, quiet ? (void *)1 : NULL);
    signal(SIGINT, SIG_DFL);
    genbo_study_close(s);
    if (rc) {
        genbo_config_free(cfg);
        if (interrupted) fprintf(stderr, "genbo: interrupted; run the same command again to resume\n");
        return cli_fail("run");
    }
    if (!quiet) fprintf(stderr, "finished in %.1f s\n", cli_now() - t);
    int out = print_summary(db, name, cfg);
    genbo_config_free(cfg);
    return out;
}
