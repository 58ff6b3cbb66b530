/* bench_throughput.c - ask/tell throughput of W worker processes through the
 * C API on one study database (issue 10): each worker opens the study and
 * loops ask(1) -> tell(-||x||^2) for `pairs` pairs; the parent times the
 * whole fleet and reports pairs/s, the database size after the run (main
 * file + WAL), and checks 0 duplicate ids and 0 lost tells. Run twice: with
 * the default threading (short asks on one BLAS thread, diffusion/blas.c) and
 * with every worker forced to 2 BLAS threads (genbo_set_threads), so the
 * ratio is measured in one run.
 *
 *   bench_throughput [--workers 8] [--pairs 150] [--steps 5] [--method M] [--dir DIR]
 *
 * --method sets [loop] method, which ask uses (default: the study default,
 * genbo, with its candidate oversampling and selection).
 *
 * The models are trained once by the parent's first ask (not timed). */
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"

static const char *const STUDY =
    "[study]\nname = tp\nseed = 4\n"
    "[data]\nD = 16\nd = 4\nn_label = 100\nn_unlabel = 2000\n"
    "[diffusion]\nwidth = 64\ndepth = 2\nt_embed = 16\ny_embed = 16\nsteps = 300\nbatch = 128\n"
    "[generate]\ntargets = p90\nn = 8\nsteps = 20\nmethods = genbo\n";

/* Told trials of the database's studies (-1 on failure). */
static long long told_count(const char *db) {
    genbo_study_summary *v;
    size_t n;
    if (genbo_db_studies(db, &v, &n)) return -1;
    long long told = 0;
    for (size_t i = 0; i < n; i++) told += v[i].told;
    free(v);
    return told;
}

/* Trials of study `name` listed twice (a trial id handed out twice). */
static long long duplicate_trials(const char *db, const char *name) {
    genbo_study *s;
    genbo_trial_list *l;
    if (genbo_study_open(db, name, NULL, GENBO_OPEN_READONLY, &s)) return -1;
    long long dups = -1;
    if (!genbo_study_trials(s, GENBO_PHASE_ALL, &l)) {
        dups = 0;
        for (size_t i = 1; i < genbo_trial_list_size(l); i++)
            dups += genbo_trial_list_get(l, i)->id == genbo_trial_list_get(l, i - 1)->id;
        genbo_trial_list_free(l);
    }
    genbo_study_close(s);
    return dups;
}

static long long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

static int worker(const char *db, int pairs, int threads) {
    if (threads > 0) genbo_set_threads(threads);
    genbo_study *s;
    if (genbo_study_open(db, "tp", NULL, 0, &s)) {
        fprintf(stderr, "worker: %s\n", genbo_errmsg());
        return 1;
    }
    size_t dim = genbo_study_dim(s);
    double *x = malloc(dim * sizeof *x);
    for (int i = 0; i < pairs; i++) {
        int64_t id;
        if (genbo_study_ask(s, 1.0, 1, &id, x)) {
            fprintf(stderr, "worker ask: %s\n", genbo_errmsg());
            return 1;
        }
        double y = 0;
        for (size_t j = 0; j < dim; j++) y -= x[j] * x[j];
        if (genbo_study_tell(s, id, isfinite(y) ? y : -1e6)) {
            fprintf(stderr, "worker tell: %s\n", genbo_errmsg());
            return 1;
        }
    }
    free(x);
    genbo_study_close(s);
    return 0;
}

/* One fleet on a copy of the trained database; returns pairs/s. */
static double fleet(const char *trained, const char *db, int workers, int pairs, int threads, long long *size,
                    long long *dups, long long *lost) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -f %s %s-wal %s-shm && cp %s %s", db, db, db, trained, db);
    if (system(cmd) != 0) exit(1);
    long long told0 = told_count(db);
    double t0 = genbo__support_now();
    for (int w = 0; w < workers; w++) {
        pid_t pid = fork();
        if (pid == 0) _exit(worker(db, pairs, threads));
    }
    int bad = 0, st;
    while (wait(&st) > 0) bad |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
    double dt = genbo__support_now() - t0;
    if (bad) {
        fprintf(stderr, "bench_throughput: a worker failed\n");
        exit(1);
    }
    char wal[600];
    snprintf(wal, sizeof wal, "%s-wal", db);
    *size = file_size(db) + file_size(wal);
    *dups = duplicate_trials(db, "tp");
    *lost = (long long)workers * pairs - (told_count(db) - told0);
    return (double)workers * pairs / dt;
}

int main(int argc, char **argv) {
    int workers = 8, pairs = 150, steps = 5;
    const char *dir = "/tmp", *method = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--workers") && i + 1 < argc) workers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--pairs") && i + 1 < argc) pairs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--method") && i + 1 < argc) method = argv[++i];
        else {
            fprintf(stderr, "usage: bench_throughput [--workers N] [--pairs N] [--steps N] [--method M] [--dir DIR]\n");
            return 2;
        }
    }
    char ini[512], trained[512], db[512], text[1024];
    snprintf(ini, sizeof ini, "%s/bench_tp_%d.ini", dir, (int)getpid());
    snprintf(trained, sizeof trained, "%s/bench_tp_%d_trained.db", dir, (int)getpid());
    snprintf(db, sizeof db, "%s/bench_tp_%d.db", dir, (int)getpid());
    snprintf(text, sizeof text, "%s[ask]\nsteps = %d\n%s%s%s", STUDY, steps, method ? "[loop]\nmethod = " : "",
             method ? method : "", method ? "\n" : "");
    FILE *f = fopen(ini, "w");
    if (!f) return 1;
    fputs(text, f);
    fclose(f);
    genbo_config *c;
    genbo_study *s;
    if (genbo_config_load(ini, &c) || genbo_study_open(trained, "tp", c, GENBO_OPEN_CREATE, &s)) {
        fprintf(stderr, "bench_throughput: %s\n", genbo_errmsg());
        return 1;
    }
    int64_t id;
    double x[16];
    fprintf(stderr, "[throughput] training the study's models (once)\n");
    if (genbo_study_ask(s, 1.0, 1, &id, x) || genbo_study_tell(s, id, 0.0)) {
        fprintf(stderr, "bench_throughput: %s\n", genbo_errmsg());
        return 1;
    }
    genbo_study_close(s);
    genbo_config_free(c);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    double load = 0;
    FILE *la = fopen("/proc/loadavg", "r");
    if (la) {
        if (fscanf(la, "%lf", &load) != 1) load = 0;
        fclose(la);
    }
    printf("### Ask/tell throughput (bench_throughput: %d workers x %d pairs, C API, method %s, [ask] steps = %d, "
           "D = 16, %ld cores, load %.2f)\n\n",
           workers, pairs, method ? method : "genbo (default)", steps, cores, load);
    printf("| BLAS threads per worker | pairs/s | database after (bytes) | duplicate ids | lost tells |\n");
    printf("|---|---|---|---|---|\n");
    struct {
        const char *name;
        int threads;
    } runs[] = {{"default (short asks: 1)", 0}, {"2 (forced)", 2}};
    double rate[2];
    for (int r = 0; r < 2; r++) {
        long long size, dups, lost;
        fprintf(stderr, "[throughput] %d workers, BLAS threads %s\n", workers, runs[r].name);
        rate[r] = fleet(trained, db, workers, pairs, runs[r].threads, &size, &dups, &lost);
        printf("| %s | %.1f | %lld | %lld | %lld |\n", runs[r].name, rate[r], size, dups, lost);
        fflush(stdout);
    }
    printf("\ndefault / forced-2 throughput: %.2f\n", rate[0] / rate[1]);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "rm -f %s %s %s-wal %s-shm %s %s-wal %s-shm %s.tp.runlock", ini, trained, trained,
             trained, db, db, db, trained);
    return system(cmd) == 0 ? 0 : 1;
}
