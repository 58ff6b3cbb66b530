/* bench_storage.c - ask/tell on the two storage back ends in one run
 * (issue 13): pairs per second with 1, 2, 4 and 8 worker processes on one
 * study in an SQLite file and on a PostgreSQL server on this machine, and
 * what one tell and one ask cost on each (single process, median and p90).
 *
 *   bench_storage [--pairs 60] [--tells 200] [--workers 1,2,4,8] [--dir /tmp]
 *
 * The PostgreSQL server is a throw-away one (tests/pg_server.sh start
 * --durable: fsync and synchronous_commit on, so a commit waits for the
 * disk as SQLite's synchronous = FULL does), on 127.0.0.1 TCP. Each back
 * end's study is trained once by a first ask (not timed). For every worker
 * count the two back ends run one after the other (SQLite, then
 * PostgreSQL) so a change of machine load hits both. Each worker opens the
 * study, waits until the whole fleet is open, then makes `pairs` ask(1) ->
 * tell pairs; the clock runs from the start signal to the last exit. The
 * CPU per pair (user + system of the workers, and of the PostgreSQL
 * server's processes) is reported beside the rate: on a shared machine the
 * rate follows the share of the cores the fleet gets, the CPU does not. Every
 * fleet is checked: no trial id handed out twice (the workers record their
 * ids in shared memory), no tell lost (told counts from genbo_db_studies).
 * The method is `conditional` with [ask] steps = 5, so an ask is cheap and
 * the storage is a visible part of a pair. */
#include <dirent.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"

static const char *const STUDY =
    "[study]\nname = st\nseed = 4\n"
    "[data]\nD = 16\nd = 4\nn_label = 100\nn_unlabel = 2000\n"
    "[diffusion]\nwidth = 64\ndepth = 2\nt_embed = 16\ny_embed = 16\nsteps = 300\nbatch = 128\n"
    "[generate]\ntargets = p90\nn = 8\nsteps = 20\nmethods = genbo\n"
    "[loop]\nmethod = conditional\n[ask]\nsteps = 5\n";

#define MAX_W 64

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t told_count(const char *db) {
    genbo_study_summary *v;
    size_t n;
    if (genbo_db_studies(db, &v, &n) || n < 1) {
        fprintf(stderr, "bench_storage: %s: %s\n", db, genbo_errmsg());
        exit(1);
    }
    int64_t t = v[0].told;
    free(v);
    return t;
}

static double value_of(const double *x) {
    double y = 0;
    for (int j = 0; j < 16; j++) y -= x[j] * x[j];
    return isfinite(y) ? y : -1e6;
}

/* One worker: open, report ready, wait for go, `pairs` pairs; ids[] in
 * shared memory. */
static int worker(const char *db, int pairs, int ready, int go, int64_t *ids) {
    genbo_study *s;
    if (genbo_study_open(db, "st", NULL, 0, &s)) {
        fprintf(stderr, "worker open: %s\n", genbo_errmsg());
        return 1;
    }
    char c = 'r';
    if (write(ready, &c, 1) != 1 || read(go, &c, 1) != 1) return 1;
    double x[16];
    for (int i = 0; i < pairs; i++) {
        if (genbo_study_ask(s, 1.0, 1, &ids[i], x)) {
            fprintf(stderr, "worker ask: %s\n", genbo_errmsg());
            return 1;
        }
        if (genbo_study_tell(s, ids[i], value_of(x))) {
            fprintf(stderr, "worker tell: %s\n", genbo_errmsg());
            return 1;
        }
    }
    genbo_study_close(s);
    return 0;
}

typedef struct {
    double rate, cpu_ms, server_ms; /* pairs/s wall; worker and server CPU (user + system) per pair */
    long long dups, lost;
} fleet_result;

/* CPU seconds of the PostgreSQL server: the postmaster, its reaped
 * backends (cutime + cstime) and its live children (/proc/PID/stat). 0
 * for SQLite (pm = 0). */
static double server_cpu(int pm) {
    if (pm <= 0) return 0;
    double tick = (double)sysconf(_SC_CLK_TCK), total = 0;
    char path[64], buf[1024];
    DIR *d = opendir("/proc");
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        int pid = atoi(e->d_name);
        if (pid <= 0) continue;
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        char *p = strrchr(buf, ')'); /* after the command name */
        if (!p) continue;
        int ppid;
        unsigned long long ut, st;
        long long cut, cst;
        /* fields 3.. : state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime */
        if (sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld", &ppid, &ut, &st, &cut,
                   &cst) != 5)
            continue;
        if (pid == pm) total += (double)(ut + st) + (double)(cut + cst);
        else if (ppid == pm) total += (double)(ut + st);
    }
    closedir(d);
    return total / tick;
}

static double children_cpu(void) {
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}

static fleet_result fleet(const char *db, int workers, int pairs, int pm) {
    size_t n = (size_t)workers * pairs;
    int64_t *ids = mmap(NULL, n * sizeof *ids, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (ids == MAP_FAILED) exit(1);
    int ready[2], go[2];
    if (pipe(ready) || pipe(go)) exit(1);
    int64_t told0 = told_count(db);
    double cpu0 = children_cpu(), srv0 = server_cpu(pm);
    fflush(NULL);
    for (int w = 0; w < workers; w++) {
        pid_t pid = fork();
        if (pid < 0) exit(1);
        if (pid == 0) _exit(worker(db, pairs, ready[1], go[0], ids + (size_t)w * pairs));
    }
    char c;
    for (int w = 0; w < workers; w++)
        if (read(ready[0], &c, 1) != 1) exit(1);
    double t0 = genbo__support_now();
    for (int w = 0; w < workers; w++)
        if (write(go[1], "g", 1) != 1) exit(1);
    int bad = 0, st;
    while (wait(&st) > 0) bad |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
    double dt = genbo__support_now() - t0;
    if (bad) {
        fprintf(stderr, "bench_storage: a worker failed on %s\n", db);
        exit(1);
    }
    close(ready[0]), close(ready[1]), close(go[0]), close(go[1]);
    usleep(200 * 1000); /* the workers' backends exit and are reaped */
    fleet_result r = {(double)n / dt, 1e3 * (children_cpu() - cpu0) / (double)n,
                      1e3 * (server_cpu(pm) - srv0) / (double)n, 0, 0};
    qsort(ids, n, sizeof *ids, cmp_i64);
    for (size_t i = 1; i < n; i++) r.dups += ids[i] == ids[i - 1];
    r.lost = (long long)n - (long long)(told_count(db) - told0);
    munmap(ids, n * sizeof *ids);
    return r;
}

/* Single process: median and p90 of one ask(1) and of one tell, ms wall. */
static void latency(const char *db, int tells, double *ask_med, double *ask_p90, double *tell_med,
                    double *tell_p90) {
    genbo_study *s;
    if (genbo_study_open(db, "st", NULL, 0, &s)) {
        fprintf(stderr, "bench_storage: %s\n", genbo_errmsg());
        exit(1);
    }
    double *ta = malloc(tells * sizeof *ta), *tt = malloc(tells * sizeof *tt), x[16];
    for (int i = 0; i < tells; i++) {
        int64_t id;
        double t = genbo__support_now();
        if (genbo_study_ask(s, 1.0, 1, &id, x)) exit(1);
        double u = genbo__support_now();
        if (genbo_study_tell(s, id, value_of(x))) exit(1);
        tt[i] = 1e3 * (genbo__support_now() - u);
        ta[i] = 1e3 * (u - t);
    }
    genbo_study_close(s);
    qsort(ta, tells, sizeof *ta, cmp_double);
    qsort(tt, tells, sizeof *tt, cmp_double);
    *ask_med = ta[tells / 2], *ask_p90 = ta[(int)(0.9 * tells)];
    *tell_med = tt[tells / 2], *tell_p90 = tt[(int)(0.9 * tells)];
    free(ta);
    free(tt);
}

static void train(const char *ini, const char *db) {
    genbo_config *c;
    genbo_study *s;
    if (genbo_config_load(ini, &c) || genbo_study_open(db, "st", c, GENBO_OPEN_CREATE, &s)) {
        fprintf(stderr, "bench_storage: %s: %s\n", db, genbo_errmsg());
        exit(1);
    }
    int64_t id;
    double x[16];
    if (genbo_study_ask(s, 1.0, 1, &id, x) || genbo_study_tell(s, id, value_of(x))) {
        fprintf(stderr, "bench_storage: %s: %s\n", db, genbo_errmsg());
        exit(1);
    }
    genbo_study_close(s);
    genbo_config_free(c);
}

static double loadavg(void) {
    double load = 0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &load) != 1) load = 0;
        fclose(f);
    }
    return load;
}

static void cpu_name(char *out, size_t cap) {
    snprintf(out, cap, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            char *p = strchr(line, ':');
            if (p) {
                p += 1 + (p[1] == ' ');
                p[strcspn(p, "\n")] = 0;
                snprintf(out, cap, "%s", p);
            }
            break;
        }
    fclose(f);
}

static char pg_dir[512];

static void stop_server(void) {
    if (!pg_dir[0]) return;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sh %s/tests/pg_server.sh stop %s", GENBO_SOURCE_DIR, pg_dir);
    if (system(cmd) != 0) fprintf(stderr, "bench_storage: could not stop %s\n", pg_dir);
    pg_dir[0] = 0;
}

int main(int argc, char **argv) {
    int pairs = 60, tells = 200, nw = 0, ws[16];
    const char *dir = "/tmp", *wlist = "1,2,4,8";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--pairs") && i + 1 < argc) pairs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--tells") && i + 1 < argc) tells = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--workers") && i + 1 < argc) wlist = argv[++i];
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
        else {
            fprintf(stderr, "usage: bench_storage [--pairs N] [--tells N] [--workers 1,2,4,8] [--dir DIR]\n");
            return 2;
        }
    }
    for (const char *p = wlist; *p && nw < 16;) {
        ws[nw] = atoi(p);
        if (ws[nw] < 1 || ws[nw] > MAX_W) {
            fprintf(stderr, "bench_storage: --workers: '%s'\n", wlist);
            return 2;
        }
        nw++;
        p = strchr(p, ',');
        if (!p) break;
        p++;
    }
    if (pairs < 1 || tells < 10) return 2;

    /* the server: durable, on a free TCP port */
    char cmd[4096], line[512], url[512] = "";
    snprintf(cmd, sizeof cmd, "sh %s/tests/pg_server.sh start --durable --owner %d", GENBO_SOURCE_DIR, (int)getpid());
    FILE *f = popen(cmd, "r");
    if (!f) return 1;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!strncmp(line, "GENBO_PG_DIR=", 13)) snprintf(pg_dir, sizeof pg_dir, "%s", line + 13);
        if (!strncmp(line, "GENBO_PG_URL=", 13)) snprintf(url, sizeof url, "%s", line + 13);
    }
    int rc = pclose(f);
    if (rc != 0 || !url[0]) {
        fprintf(stderr, "bench_storage: no PostgreSQL server (tests/pg_server.sh start failed)\n");
        return 1;
    }
    atexit(stop_server);
    int pm = 0;
    snprintf(cmd, sizeof cmd, "%s/data/postmaster.pid", pg_dir);
    f = fopen(cmd, "r");
    if (f) {
        if (fscanf(f, "%d", &pm) != 1) pm = 0;
        fclose(f);
    }

    char ini[600], lite[600];
    snprintf(ini, sizeof ini, "%s/bench_storage_%d.ini", dir, (int)getpid());
    snprintf(lite, sizeof lite, "%s/bench_storage_%d.db", dir, (int)getpid());
    f = fopen(ini, "w");
    if (!f) return 1;
    fputs(STUDY, f);
    fclose(f);
    const char *db[2] = {lite, url}, *name[2] = {"SQLite", "PostgreSQL"};
    fprintf(stderr, "[storage] training the study's models on both back ends (once each)\n");
    for (int b = 0; b < 2; b++) train(ini, db[b]);

    char cpu[256];
    cpu_name(cpu, sizeof cpu);
    double load0 = loadavg();
    fleet_result r[16][2];
    for (int k = 0; k < nw; k++)
        for (int b = 0; b < 2; b++) {
            fprintf(stderr, "[storage] %d workers x %d pairs on %s\n", ws[k], pairs, name[b]);
            r[k][b] = fleet(db[b], ws[k], pairs, b == 1 ? pm : 0);
        }
    double lat[2][4];
    for (int b = 0; b < 2; b++) {
        fprintf(stderr, "[storage] %d single-process asks and tells on %s\n", tells, name[b]);
        latency(db[b], tells, &lat[b][0], &lat[b][1], &lat[b][2], &lat[b][3]);
    }
    double load1 = loadavg();

    printf("### Storage back ends: ask/tell pairs per second (bench_storage: %d pairs per worker, C API, method "
           "conditional, [ask] steps = 5, D = 16; %s, %ld cores, load %.2f before / %.2f after)\n\n",
           pairs, cpu, sysconf(_SC_NPROCESSORS_ONLN), load0, load1);
    printf("SQLite: a WAL file in %s, synchronous = FULL. PostgreSQL 15: a server on 127.0.0.1 TCP on the same "
           "machine, fsync and synchronous_commit on.\n\n",
           dir);
    printf("| workers | SQLite pairs/s | PostgreSQL pairs/s | PostgreSQL / SQLite | CPU ms per pair, SQLite | "
           "CPU ms per pair, PostgreSQL (workers + server) | duplicate ids (S / P) | lost tells (S / P) |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    for (int k = 0; k < nw; k++)
        printf("| %d | %.1f | %.1f | %.2f | %.2f | %.2f + %.2f | %lld / %lld | %lld / %lld |\n", ws[k], r[k][0].rate,
               r[k][1].rate, r[k][1].rate / r[k][0].rate, r[k][0].cpu_ms, r[k][1].cpu_ms, r[k][1].server_ms,
               r[k][0].dups, r[k][1].dups, r[k][0].lost, r[k][1].lost);
    printf("\n(CPU = user + system of the worker processes, and for PostgreSQL of the server's processes beside "
           "them (the postmaster's reaped backends and its live children): on a loaded machine the wall-clock rates "
           "follow the share of the 2 cores the fleet gets; the CPU per pair does not.)\n");
    printf("\n| back end | one tell, median ms | one tell, p90 ms | one ask(1), median ms | one ask(1), p90 ms |\n");
    printf("|---|---|---|---|---|\n");
    for (int b = 0; b < 2; b++)
        printf("| %s | %.2f | %.2f | %.2f | %.2f |\n", name[b], lat[b][2], lat[b][3], lat[b][0], lat[b][1]);
    printf("\n(%d single-process pairs per back end, wall clock.)\n", tells);
    snprintf(cmd, sizeof cmd, "rm -f %s %s %s-wal %s-shm %s.st.runlock", ini, lite, lite, lite, lite);
    int bad = 0;
    for (int k = 0; k < nw; k++)
        for (int b = 0; b < 2; b++) bad |= r[k][b].dups != 0 || r[k][b].lost != 0;
    return system(cmd) == 0 && !bad ? 0 : 1;
}
