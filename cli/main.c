/* main.c - dispatch `genbo <command> ...` and make sure OpenBLAS runs a
 * fast kernel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int cmd_help(int argc, char **argv);

/* In the order `genbo --help` lists them; summaries come from help.c. */
static const struct {
    const char *name;
    cli_command_fn fn;
} commands[] = {
    {"create", cmd_create}, {"ask", cmd_ask},         {"tell", cmd_tell},
    {"best", cmd_best},     {"studies", cmd_studies}, {"delete", cmd_delete},
    {"run", cmd_run},       {"status", cmd_status},   {"export", cmd_export},
    {"report", cmd_report}, {"serve", cmd_serve},     {"fit", cmd_fit},
    {"copy", cmd_copy},     {"fail-stale", cmd_fail_stale}, {"heartbeat", cmd_heartbeat},
    {"info", cmd_info},     {"help", cmd_help},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
    fprintf(f, "usage: genbo <command> [options]\n"
               "       genbo help [COMMAND]   every flag of a command, with examples\n"
               "       genbo --version        the version\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const cli_help *h = cli_help_find(commands[i].name);
        fprintf(f, "  %-8s %s\n", commands[i].name, h ? h->summary : "");
    }
    fprintf(f, "\na loop without a run:\n"
               "  genbo create study.ini --db my.db\n"
               "  genbo ask  --db my.db --study default --target p90 --n 8 --json\n"
               "  genbo tell --db my.db --study default --trial ID --value Y\n"
               "  genbo best --db my.db --study default\n");
}

static int cmd_help(int argc, char **argv) {
    if (argc == 1) {
        usage(stdout);
        return 0;
    }
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        cli_help_print(stdout, "help");
        return 0;
    }
    if (argc == 2 && cli_help_find(argv[1])) {
        cli_help_print(stdout, argv[1]);
        return 0;
    }
    fprintf(stderr, "genbo: help: unknown command '%s'\n\n", argc > 1 ? argv[1] : "");
    usage(stderr);
    return 2;
}

/* OPENBLAS_CORETYPE is read only when libopenblas loads, so the only way to
 * fix a generic kernel chosen on a virtual CPU is to set it and exec
 * ourselves again. GENBO_NO_REEXEC=1 turns this off; either way the user is
 * told. */
static void ensure_fast_blas(char **argv) {
    genbo_blas_info info;
    genbo_get_blas_info(&info);
    if (!info.slow_kernel) return;
    if (!getenv("OPENBLAS_CORETYPE") && !getenv("GENBO_NO_REEXEC")) {
        fprintf(stderr,
                "genbo: OpenBLAS picked the generic '%s' kernel on a CPU with AVX2; "
                "restarting with OPENBLAS_CORETYPE=Haswell (set GENBO_NO_REEXEC=1 to keep it)\n",
                info.corename);
        setenv("OPENBLAS_CORETYPE", "Haswell", 1);
        execv("/proc/self/exe", argv);
        /* exec failed: carry on slowly, but say so below */
    }
    fprintf(stderr,
            "genbo: warning: OpenBLAS runs the generic '%s' kernel; matrix work may be ~5x "
            "slower. Set OPENBLAS_CORETYPE=Haswell (or SkylakeX) before starting genbo.\n",
            info.corename);
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("genbo %s\n", genbo_version());
        return 0;
    }
    ensure_fast_blas(argv);
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "genbo: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
