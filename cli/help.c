/* help.c - the help of every command in one table: `genbo help [COMMAND]`,
 * `genbo COMMAND --help` and the usage line after a usage error all print
 * from it, and tests/test_cli_help.py checks it against the commands' own
 * option tables and the README. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_help HELP[] = {
    {"create", "create a study from a study file and check its data (no run needed)",
     "genbo create STUDY.ini [--db FILE]",
     {{"--db FILE", "database file (default: [study] db, else <name>.db); e.g. --db my.db"},
      {"--help", "this help"}},
     "genbo create studies/default.ini --db my.db\n"
     "genbo ask --db my.db --study default --target p90 --n 8 --json   # trains on first use"},
    {"delete", "delete a study and all its runs, models and trials",
     "genbo delete --db FILE --study NAME",
     {{"--db FILE", "study database; e.g. --db my.db"},
      {"--study NAME", "the study to delete; e.g. --study default"},
      {"--help", "this help"}},
     "genbo delete --db my.db --study old_study"},
    {"studies", "list the studies of a database with their trial counts and best value",
     "genbo studies --db FILE [--json]",
     {{"--db FILE", "study database (opened read-only); e.g. --db my.db"},
      {"--json", "one JSON array with every field, full precision"},
      {"--help", "this help"}},
     "genbo studies --db my.db\ngenbo studies --db my.db --json | jq '.[].name'"},
    {"run", "run (or resume) a study file: every method at every target, then the loop rounds",
     "genbo run STUDY.ini [--db FILE] [--quiet]",
     {{"--db FILE", "database file (default: [study] db, else <name>.db); e.g. --db my.db"},
      {"--quiet", "no progress on stderr"},
      {"--help", "this help"}},
     "genbo run studies/default.ini --db my.db\n"
     "genbo run studies/default.ini --db my.db --quiet > table.txt"},
    {"ask", "propose designs at a target reward (trains the models on a study's first ask)",
     "genbo ask --db FILE --study NAME [--target SPEC] [--method M] [--n N] [--json] [--quiet]",
     {{"--db FILE", "study database; e.g. --db my.db"},
      {"--study NAME", "study name; e.g. --study default"},
      {"--target SPEC", "pQ (Q-th percentile of the pool's pseudo-rewards), max or a number, "
                        "as in the study file (default: [loop] target); e.g. --target p90"},
      {"--method M", "one of {methods} (default: [loop] method); e.g. --method conditional"},
      {"--n N", "number of designs (default 1); e.g. --n 8"},
      {"--json", "one JSON object per design: trial, target, target_label, method, x, params (by "
                 "feature name), flags (\"resampled\" / \"projected\" when the trust region "
                 "changed it), warning (when the target lies beyond the data)"},
      {"--quiet", "nothing on stderr but errors and warnings (no training progress, no echo of the target)"},
      {"--help", "this help"}},
     "genbo ask --db my.db --study default --target p90 --n 4 --json\n"
     "genbo ask --db my.db --study default --target 1.5 --method conditional"},
    {"tell", "record the observed reward (or the failure) of a trial",
     "genbo tell --db FILE --study NAME --trial ID (--value Y | --failed REASON)",
     {{"--db FILE", "study database; e.g. --db my.db"},
      {"--study NAME", "study name; e.g. --study default"},
      {"--trial ID", "trial id printed by ask; e.g. --trial 42"},
      {"--value Y", "the observed reward, a finite number; e.g. --value 1.37"},
      {"--failed REASON", "the evaluation failed, and why; e.g. --failed \"solver diverged\""},
      {"--help", "this help"}},
     "genbo tell --db my.db --study default --trial 42 --value 1.37\n"
     "genbo tell --db my.db --study default --trial 43 --failed \"sample broke\""},
    {"best", "the best told trial of the design loop and, apart, of the run phase",
     "genbo best --db FILE --study NAME [--json]",
     {{"--db FILE", "study database (opened read-only); e.g. --db my.db"},
      {"--study NAME", "study name; e.g. --study default"},
      {"--json", "{\"loop\": trial or null, \"run\": trial or null} with the design by name"},
      {"--help", "this help"}},
     "genbo best --db my.db --study default\n"
     "genbo best --db my.db --study default --json | jq .loop.params"},
    {"status", "studies, trial counts, runs with status, last step, duration and error",
     "genbo status --db FILE [--study NAME] [--json]",
     {{"--db FILE", "study database (opened read-only); e.g. --db my.db"},
      {"--study NAME", "only this study; e.g. --study default"},
      {"--json", "one JSON array, every field"},
      {"--help", "this help"}},
     "genbo status --db my.db --study default"},
    {"export", "every trial of a study as CSV or JSON",
     "genbo export --db FILE --study NAME [--format csv|json]",
     {{"--db FILE", "study database (opened read-only); e.g. --db my.db"},
      {"--study NAME", "study name; e.g. --study default"},
      {"--format F", "csv (default, with a header) or json (an array of objects); e.g. --format json"},
      {"--help", "this help"}},
     "genbo export --db my.db --study default > trials.csv"},
    {"report", "write a study dashboard as one self-contained HTML file",
     "genbo report --db FILE [--study NAME] [--out FILE]",
     {{"--db FILE", "study database (opened read-only); e.g. --db my.db"},
      {"--study NAME", "only this study (default: every study); e.g. --study default"},
      {"--out FILE", "the HTML file to write (default report.html); e.g. --out loop.html"},
      {"--help", "this help"}},
     "genbo report --db my.db --out report.html"},
    {"serve", "serve the live study dashboard",
     "genbo serve --db FILE [--port N] [--host ADDR] [--max-connections N] [--timeout S]",
     {{"--db FILE", "study database (read-only, never written); e.g. --db my.db"},
      {"--port N", "TCP port (default 8080; 0 = any free port); e.g. --port 8123"},
      {"--host ADDR", "address to listen on (default 127.0.0.1: this machine only); e.g. --host ::1"},
      {"--max-connections N", "connections kept at once (default 64; a new one evicts the one longest "
                              "without a completed request); e.g. --max-connections 16"},
      {"--timeout S", "seconds a connection may take to complete a request, not reset by trickled "
                      "bytes (default 10); e.g. --timeout 5"},
      {"--help", "this help"}},
     "genbo serve --db my.db --port 8080   # then open http://127.0.0.1:8080/"},
    {"fit", "fit a reward model (ridge or GP) to a labelled CSV and print the fit",
     "genbo fit --data FILE.csv [--reward-col NAME] [--model ridge|gp] [--kernel rbf|matern52]\n"
     "          [--ard] [--lambda gcv|kfold|VALUE] [--seed N] [--save FILE] [--json]",
     {{"--data FILE", "labelled CSV with a header row; e.g. --data labelled.csv"},
      {"--reward-col NAME", "reward column (default reward); e.g. --reward-col yield"},
      {"--model M", "ridge (default) or gp; e.g. --model gp"},
      {"--kernel K", "GP kernel: rbf (default) or matern52; e.g. --kernel matern52"},
      {"--ard", "GP: one lengthscale per feature"},
      {"--lambda L", "ridge: gcv (default), kfold (5-fold CV) or a value >= 0; e.g. --lambda 0.1"},
      {"--seed N", "seed of folds and GP restarts (default 1); e.g. --seed 7"},
      {"--save FILE", "write the fitted model (genbo's binary format); e.g. --save model.bin"},
      {"--json", "the report as one JSON object"},
      {"--help", "this help"}},
     "genbo fit --data labelled.csv --model gp --ard --json"},
    {"info", "version, OpenBLAS kernel and threads, oneDNN ISA and what precision auto picks",
     "genbo info [--json]",
     {{"--json", "one JSON object"}, {"--help", "this help"}},
     "genbo info"},
    {"help", "help on genbo or on one command",
     "genbo help [COMMAND]",
     {{"--help", "this help"}},
     "genbo help ask"},
};
#define N_HELP (sizeof HELP / sizeof HELP[0])

const cli_help *cli_help_find(const char *name) {
    for (size_t i = 0; i < N_HELP; i++)
        if (!strcmp(HELP[i].name, name)) return &HELP[i];
    return NULL;
}

const cli_help *cli_help_at(size_t i) { return i < N_HELP ? &HELP[i] : NULL; }

void cli_help_print(FILE *f, const char *name) {
    const cli_help *h = cli_help_find(name);
    if (!h) return;
    fprintf(f, "genbo %s - %s\n\nusage: %s\n\n", h->name, h->summary, h->synopsis);
    int w = 0;
    for (int i = 0; i < CLI_HELP_FLAGS && h->flags[i].flag; i++) {
        int l = (int)strlen(h->flags[i].flag);
        if (l > w) w = l;
    }
    for (int i = 0; i < CLI_HELP_FLAGS && h->flags[i].flag; i++) {
        /* "{methods}" stands for the method names, from the library's one
         * list, so the help cannot fall behind it. */
        char text[1024];
        const char *m = h->flags[i].meaning, *mark = strstr(m, "{methods}");
        if (mark) {
            size_t len = (size_t)snprintf(text, sizeof text, "%.*s", (int)(mark - m), m);
            for (int j = 0; genbo_method_name(j) && len < sizeof text; j++)
                len += (size_t)snprintf(text + len, sizeof text - len, "%s%s", j ? ", " : "", genbo_method_name(j));
            if (len < sizeof text) snprintf(text + len, sizeof text - len, "%s", mark + strlen("{methods}"));
            m = text;
        }
        /* Wrap the meaning at 100 columns under its own column. */
        int col = 2 + w + 2, width = 100 - col;
        fprintf(f, "  %-*s  ", w, h->flags[i].flag);
        while ((int)strlen(m) > width) {
            int cut = width;
            while (cut > 0 && m[cut] != ' ') cut--;
            if (cut == 0) cut = width;
            fprintf(f, "%.*s\n%*s", cut, m, col, "");
            m += cut + (m[cut] == ' ');
        }
        fprintf(f, "%s\n", m);
    }
    fprintf(f, "\nexamples:\n");
    for (const char *e = h->examples; *e;) {
        const char *nl = strchr(e, '\n');
        int len = nl ? (int)(nl - e) : (int)strlen(e);
        fprintf(f, "  %.*s\n", len, e);
        e += len + (nl != NULL);
    }
}

int cli_usage_error(const char *name) {
    const cli_help *h = cli_help_find(name);
    if (h) fprintf(stderr, "usage: %s\n(genbo help %s lists every flag)\n", h->synopsis, name);
    return 2;
}

int cli_help_or_usage(const char *name, int is_help) {
    if (is_help) {
        cli_help_print(stdout, name);
        return 0;
    }
    return cli_usage_error(name);
}
