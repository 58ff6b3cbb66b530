/* main.c - dispatch `genbo <command> ...` and make sure OpenBLAS runs a
 * fast kernel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const struct {
    const char *name;
    cli_command_fn fn;
    const char *help;
} commands[] = {
    {"info", cmd_info, "show version, OpenBLAS kernel and threads"},
    {"report", cmd_report, "write a study dashboard as one self-contained HTML file"},
    {"serve", cmd_serve, "serve a live study dashboard on http://127.0.0.1"},
    {"fit", cmd_fit, "fit a reward model (ridge or GP) to a labelled CSV"},
    {"run", cmd_run, "run (or resume) a study file: genbo run STUDY.ini [--db FILE]"},
    {"ask", cmd_ask, "propose designs at a target reward (JSON lines with --json)"},
    {"tell", cmd_tell, "record the observed reward (or failure) of a trial"},
    {"status", cmd_status, "studies, runs and trial counts of a database"},
    {"export", cmd_export, "a study's trials as CSV or JSON"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: genbo <command> [options]   (genbo <command> --help for its options)\n\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
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
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "genbo: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
