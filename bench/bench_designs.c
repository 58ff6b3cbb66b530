/* bench_designs.c - does genbo find better designs than the alternatives
 * off the linear toy? (issue 14, part 4)
 *
 * Every case is run as a new user would run a study: the documented
 * defaults (genbo_config_default, i.e. the study file's defaults) with
 * `[reward] model = gp`, through the same parameter helpers the study
 * pipeline uses, so a change of a default on main shows up here. Cases:
 *   quad48     GENBO_TASK_SUBSPACE_QUADRATIC, D = 48, d = 6: quadratic
 *              reward whose optimum (c = 3.5) lies inside the data
 *   curved48   GENBO_TASK_CURVED_MANIFOLD, D = 48, d = 6, k = 3: designs on
 *              a curved 3-dim manifold; off-manifold designs are invalid
 *              and penalised (best valid design 2.0)
 *   <olympus>  every Olympus set in SHARED/olympus, offline protocol of
 *              datasets/olympus.h (100 labels below the 80th percentile,
 *              pool = every row, nearest-row oracle, normalised score)
 * Per case and seed: fit the reward model, pseudo-label the pool, train
 * the diffusion model (timed), then every method of optimizer/methods.h at
 * every configured target with the same number of designs (`[generate] n`).
 * Methods that ignore the target make one batch.
 *
 * The methods are the study's `[generate] methods` plus `edit`, and with
 * --reweighted also `reweighted` (it trains a second, DDOM-reweighted
 * model, as the pipeline does when something uses it).
 *
 * usage: bench_designs [--cases a,b,...] [--seeds K] [--out PREFIX]
 *                      [--first-seed S] [--shared DIR] [--threads N] [--quick]
 *                      [--reweighted] [--models DIR]
 *                      [--set section.key=value]...
 *                      [--variant LABEL:section.key=value,...]... [--label TEXT]
 * --set changes a study key for every case (e.g. --set diffusion.steps=4000
 * for the fixed-budget training); --variant runs the genbo method again
 * with other [generate] keys on the same trained models (ablations of
 * guidance and selection; `+` in a value stands for `,`, e.g.
 * sources=guided+pool). Cases run seed-major (every case gets seed 1
 * before any gets seed 2); PREFIX.md and PREFIX.json are rewritten after
 * every (case, seed).
 * --models DIR keeps every trained diffusion model (and its training
 * report and curve) in DIR, keyed by case, seed and a hash of the study
 * keys that shape training ([study], [data], [reward], [diffusion]); a
 * rerun with the same key loads it instead of training again, so method
 * changes can be measured on the same models (the table's training time
 * and steps are those of the run that trained it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_util.h"
#include "tests/support/methods.h"
#include "tests/support/olympus.h"
#include "tests/support/support.h"

#define MAX_SETS 32

static bu_table T;
/* cases run so far, for the tables written after every seed */
static const char *case_names[64];
static int case_olympus_flag[64], n_cases;
static double case_secs[64];
static const char *out_prefix = "bench_designs", *run_label = "";
static int n_seeds = 3;
static char *config_ini;
static void write_outputs(void);
static const char *SETS[MAX_SETS][2]; /* --set: "section.key", "value" */
static int n_sets;
static int quick;
static int with_reweighted; /* --reweighted: also the DDOM method (a second training) */
static const char *models_dir; /* --models DIR: cache of trained diffusion models */

/* FNV-1a of the lines of the resolved configuration outside [generate],
 * [constraints], [evaluate] and [loop] (keys that do not shape training). */
static uint64_t training_key(const genbo_config *c) {
    char *ini = genbo_config_to_ini(c);
    uint64_t h = 1469598103934665603ULL;
    int keep = 1;
    for (char *line = strtok(ini, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '[')
            keep = strncmp(line, "[generate]", 10) && strncmp(line, "[constraints]", 13) &&
                   strncmp(line, "[evaluate]", 10) && strncmp(line, "[loop]", 6);
        if (!keep) continue;
        for (const char *q = line; *q; q++) h = (h ^ (unsigned char)*q) * 1099511628211ULL;
        h = (h ^ '\n') * 1099511628211ULL;
    }
    free(ini);
    return h;
}

/* The training curve (every validation), for the cache's sidecar. */
typedef struct curve {
    long step[4096];
    double val[4096], lr[4096];
    int n;
} curve;
static int on_eval(void *ctx, const genbo_train_point *pt) {
    curve *c = ctx;
    if (c->n < 4096) {
        c->step[c->n] = pt->step, c->val[c->n] = pt->val_loss, c->lr[c->n] = pt->lr;
        c->n++;
    }
    return 0;
}

/* Train (or load from --models) one diffusion model; *secs and *rep are
 * the training's (from the sidecar when loaded). */
static genbo_diffusion *train_cached(const char *name, uint64_t seed, const char *tag,
                                     const genbo_config *cfg, genbo_diffusion_params *dp,
                                     size_t np, size_t D, const double *PX, const double *yhat,
                                     double *secs, genbo_train_report *rep) {
    char base[1400], path[1500];
    /* the key covers the pseudo-labels too: a reward-model change (they
     * condition the network) must not reuse a model trained on others */
    uint64_t key = training_key(cfg);
    for (size_t i = 0; i < np; i++) {
        double v = yhat[i];
        unsigned char by[sizeof v];
        memcpy(by, &v, sizeof v);
        for (size_t q = 0; q < sizeof v; q++) key = (key ^ by[q]) * 1099511628211ULL;
    }
    snprintf(base, sizeof base, "%s/%s-s%llu-%s-%016llx", models_dir ? models_dir : ".", name,
             (unsigned long long)seed, tag, (unsigned long long)key);
    genbo_diffusion *dm = NULL;
    memset(rep, 0, sizeof *rep);
    if (models_dir) {
        FILE *f;
        snprintf(path, sizeof path, "%s.txt", base);
        if ((f = fopen(path, "r"))) {
            int stop = 0;
            int ok = fscanf(f, "train_s %lf steps %ld best_step %ld val %lf stop %d width %d batch %d",
                            secs, &rep->steps, &rep->best_step, &rep->best_val_loss, &stop,
                            &rep->width, &rep->batch) == 7;
            fclose(f);
            rep->stop = (genbo_train_stop)stop;
            snprintf(path, sizeof path, "%s.gd", base);
            if (ok && genbo_diffusion_load(path, &dm) == GENBO_OK) {
                bu_progress("  %s: loaded %s", tag, path);
                return dm;
            }
        }
    }
    static curve cv;
    cv.n = 0;
    dp->report = rep;
    dp->on_eval = on_eval;
    dp->eval_ctx = &cv;
    double t0 = genbo__support_now();
    bu_check(genbo_diffusion_train(dp, np, D, PX, yhat, &dm), "diffusion train");
    *secs = genbo__support_now() - t0;
    if (models_dir) {
        snprintf(path, sizeof path, "%s.gd", base);
        bu_check(genbo_diffusion_save(dm, path), "save model");
        snprintf(path, sizeof path, "%s.txt", base);
        FILE *f = fopen(path, "w");
        if (f) {
            fprintf(f, "train_s %.3f steps %ld best_step %ld val %.6g stop %d width %d batch %d\n",
                    *secs, rep->steps, rep->best_step, rep->best_val_loss, (int)rep->stop,
                    rep->width, rep->batch);
            fprintf(f, "# step val_loss lr\n");
            for (int i = 0; i < cv.n; i++) fprintf(f, "%ld %.6g %.6g\n", cv.step[i], cv.val[i], cv.lr[i]);
            fclose(f);
        }
    }
    return dm;
}

/* The study defaults with a GP reward, the seed, the quick sizes and the
 * --set overrides. */
static genbo_config *case_config(uint64_t seed) {
    genbo_config *c = NULL;
    bu_check(genbo_config_default(&c), "genbo_config_default");
    char sb[32];
    snprintf(sb, sizeof sb, "%llu", (unsigned long long)seed);
    bu_check(genbo_config_set(c, "study", "seed", sb), "seed");
    bu_check(genbo_config_set(c, "reward", "model", "gp"), "reward model");
    if (quick) {
        bu_check(genbo_config_set(c, "diffusion", "steps", "100"), "quick steps");
        bu_check(genbo_config_set(c, "diffusion", "batch", "128"), "quick batch");
        bu_check(genbo_config_set(c, "generate", "steps", "20"), "quick sampler steps");
        bu_check(genbo_config_set(c, "generate", "n", "16"), "quick n");
        bu_check(genbo_config_set(c, "data", "n_unlabel", "1000"), "quick pool");
    }
    for (int i = 0; i < n_sets; i++) {
        char sec[64];
        const char *dot = strchr(SETS[i][0], '.');
        snprintf(sec, sizeof sec, "%.*s", (int)(dot - SETS[i][0]), SETS[i][0]);
        bu_check(genbo_config_set(c, sec, dot + 1, SETS[i][1]), SETS[i][0]);
    }
    return c;
}

/* The configuration's values (public getters; a missing key is a bug here). */
static double cfg_num(const genbo_config *c, const char *sec, const char *key) {
    double v = NAN;
    bu_check(genbo_config_get_double(c, sec, key, &v), key);
    return v;
}
static size_t cfg_list_size(const genbo_config *c, const char *sec, const char *key) {
    size_t n = 0;
    bu_check(genbo_config_list_size(c, sec, key, &n), key);
    return n;
}
static const char *cfg_item(const genbo_config *c, const char *sec, const char *key, size_t i,
                            char *buf, size_t cap) {
    bu_check(genbo_config_list_item(c, sec, key, i, buf, cap), key);
    return buf;
}
/* The optimizer's name of a method (a static string), or exit. */
static const char *method_named(const char *name) {
    for (int i = 0; genbo_method_name(i); i++)
        if (!strcmp(genbo_method_name(i), name)) return genbo_method_name(i);
    bu_check(GENBO_EINVAL, name);
    return NULL;
}

/* One case's data and true-reward functions. */
typedef struct bcase {
    const char *name;
    size_t dim, n_label, n_pool;
    const double *LX, *LY, *PX;
    genbo_task *task;          /* synthetic */
    genbo__olympus *oly;       /* measured */
    genbo_dataset *lab, *pool;
} bcase;

/* True reward (synthetic: f*; Olympus: normalised score) and support
 * distance of n designs. */
static void truth(const bcase *b, size_t n, const double *X, double *y, double *sup) {
    if (b->task) {
        bu_check(genbo_task_oracle(b->task, n, X, y), "oracle");
        bu_check(genbo_task_support_distance(b->task, n, X, sup), "support distance");
        return;
    }
    double *r = bu_alloc(n * sizeof *r), *dist = bu_alloc(n * sizeof *dist);
    bu_check(genbo__olympus_oracle(b->oly, n, X, r, dist, y), "olympus oracle");
    bu_check(genbo__olympus_support_distance(b->oly, n, X, sup), "olympus support");
    free(r);
    free(dist);
}

/* flags: the GENBO_DESIGN_* of each design (from the trusted generation);
 * tr: the trust region. "unmarked" counts designs outside it or
 * non-finite without a flag (must be 0). */
static void record(bu_cell *c, const bcase *b, size_t n, const double *X, double a,
                   const unsigned *flags, const genbo__support_trust *tr) {
    size_t D = b->dim;
    double *y = bu_alloc(n * sizeof *y), *sup = bu_alloc(n * sizeof *sup);
    size_t bad = 0, marked = 0, unmarked = 0;
    for (size_t i = 0; i < n; i++) {
        int fin = 1;
        for (size_t k = 0; k < D; k++) fin &= isfinite(X[i * D + k]) != 0;
        bad += !fin;
        marked += flags[i] != 0;
        unmarked += flags[i] == 0 && (!fin || genbo__support_trust_check(tr, X + i * D) != 0);
    }
    bu_add(c, "flagged", (double)marked / (double)n);
    bu_add(c, "unmarked", (double)unmarked);
    truth(b, n, X, y, sup);
    genbo__support_batch mt;
    bu_check(genbo__support_batch_metrics(n, D, X, a, y, sup, &mt), "metrics");
    bu_add(c, "a", a);
    bu_add(c, "reward", mt.true_mean);
    bu_add(c, "best", mt.true_best);
    bu_add(c, "support", mt.support);
    bu_add(c, "diversity", mt.diversity);
    bu_add(c, "nonfinite", (double)bad);
    free(y);
    free(sup);
}

/* Methods that take the target a (the others make one batch). */
static int uses_target(const char *m) {
    return !strcmp(m, "genbo") || !strcmp(m, "conditional") || !strcmp(m, "edit") ||
           !strcmp(m, "reweighted");
}

/* --variant: the genbo method again with other [generate] settings, on the
 * same trained models (ablation of guidance and selection). */
#define MAX_VARIANTS 8
static struct {
    char label[32];
    const char *sets[MAX_SETS][2];
    int n;
} VARIANTS[MAX_VARIANTS];
static int n_variants;

static void apply_sets(genbo_config *c, const char *const (*sets)[2], int n) {
    for (int i = 0; i < n; i++) {
        char sec[64];
        const char *dot = strchr(sets[i][0], '.');
        snprintf(sec, sizeof sec, "%.*s", (int)(dot - sets[i][0]), sets[i][0]);
        bu_check(genbo_config_set(c, sec, dot + 1, sets[i][1]), sets[i][0]);
    }
}

/* The models a method needs, from the configuration (as the pipeline's
 * genbo__study_method_models does). */
static void method_models(genbo__support_models *md, const genbo_config *cfg) {
    genbo__support_config_params(cfg, NULL, NULL, &md->sample);
    md->settings = cfg;
}

/* The methods of a case: the study's `[generate] methods`, plus `edit`
 * (cheap) and, with --reweighted, `reweighted`, if they are not listed. */
static int case_methods(const genbo_config *cfg, const char **ms) {
    int n = 0, has_edit = 0, has_rw = 0;
    char buf[64];
    for (size_t i = 0; i < cfg_list_size(cfg, "generate", "methods"); i++) {
        ms[n] = method_named(cfg_item(cfg, "generate", "methods", i, buf, sizeof buf));
        has_edit |= !strcmp(ms[n], "edit");
        has_rw |= !strcmp(ms[n], "reweighted");
        n++;
    }
    if (!has_edit) ms[n++] = method_named("edit");
    if (!has_rw && with_reweighted) ms[n++] = method_named("reweighted");
    return n;
}

static void run_methods(const bcase *b, genbo__support_models *md, const genbo_config *cfg,
                        const double *yhat, uint64_t seed, const char *variant) {
    size_t D = b->dim, np = b->n_pool, n = (size_t)cfg_num(cfg, "generate", "n");
    double *G = bu_alloc(n * D * sizeof *G);
    unsigned *flags = bu_alloc(n * sizeof *flags);
    method_models(md, cfg);
    /* the trust region as the study builds it from [constraints] and the
     * data (bounds = data, margin; simplex: only `all` or `none` here) */
    genbo__support_trust *tr = NULL;
    unsigned char *simplex = NULL;
    char sx[16];
    bu_check(genbo_config_get(cfg, "constraints", "simplex", sx, sizeof sx), "simplex");
    if (!strcmp(sx, "all")) {
        simplex = bu_alloc(D);
        memset(simplex, 1, D);
    }
    int rc = genbo__support_trust_new(D, b->LX, b->n_label, b->PX, np,
                                      cfg_num(cfg, "constraints", "margin"), simplex, &tr);
    free(simplex);
    if (rc && variant) { /* e.g. simplex = all on a box data set: no such variant here */
        bu_progress("  variant %s skipped on %s: %s", variant, b->name, genbo_errmsg());
        free(flags);
        free(G);
        return;
    }
    bu_check(rc, "trust region");
    const char *ms[64];
    int nm = case_methods(cfg, ms);
    for (int k = 0; k < nm; k++) {
        const char *name = ms[k];
        int is_genbo = !strcmp(name, "genbo");
        if (variant && !is_genbo) continue;
        if (!strcmp(name, "reweighted") && !md->reweighted) continue;
        int ua = uses_target(name);
        size_t nt = ua ? cfg_list_size(cfg, "generate", "targets") : 1;
        for (size_t j = 0; j < nt; j++) {
            char label[64];
            double a;
            cfg_item(cfg, "generate", "targets", j, label, sizeof label);
            bu_check(genbo__support_resolve_target(label, yhat, np, &a), label);
            genbo__support_report brep;
            memset(&brep, 0, sizeof brep);
            bu_check(genbo__support_generate_trusted(name, md, tr, a, n, 7000 + 31 * seed + (uint64_t)j,
                                                     G, flags, is_genbo ? &brep : NULL),
                     name);
            char cf[64], mn[48];
            snprintf(cf, sizeof cf, "a=%.32s", ua ? label : "-");
            snprintf(mn, sizeof mn, "%.20s%s%.24s%s", name, variant ? " [" : "",
                     variant ? variant : "", variant ? "]" : "");
            bu_cell *cell = bu_cell_get(&T, b->name, cf, mn, NAN);
            record(cell, b, n, G, a, flags, tr);
            if (is_genbo) { /* the batch's composition */
                static const char *from[6] = {"from_guided", "from_edit", "from_reweighted",
                                              "from_ascent", "from_pool", "from_local"};
                for (int q = 0; q < 6; q++) bu_add(cell, from[q], (double)brep.from[q] / (double)n);
                bu_add(cell, "explore", (double)brep.n_explore / (double)n);
                bu_add(cell, "explore_q", brep.explore_q);
            }
        }
    }
    genbo__support_trust_free(tr);
    free(flags);
    free(G);
}

static void run_case(bcase *b, uint64_t seed) {
    genbo_config *cfg = case_config(seed);
    size_t D = b->dim, np = b->n_pool;
    /* reward model (steps 1-2) and pseudo-labels */
    genbo_reward_params rp;
    genbo_diffusion_params dp;
    genbo__support_config_params(cfg, &rp, &dp, NULL);
    genbo_reward *rm = NULL;
    double t0 = genbo__support_now();
    bu_check(genbo_reward_fit(&rp, b->n_label, D, b->LX, b->LY, &rm), "reward fit");
    double t_fit = genbo__support_now() - t0;
    double *yhat = bu_alloc(np * sizeof *yhat);
    bu_check(genbo_reward_predict(rm, np, b->PX, yhat, NULL), "pseudo-labels");
    /* diffusion (step 3), timed */
    genbo_train_report rep;
    double t_train = 0;
    genbo_diffusion *dm = train_cached(b->name, seed, "main", cfg, &dp, np, D, b->PX, yhat,
                                       &t_train, &rep);
    bu_cell *mc = bu_cell_get(&T, b->name, "models", "-", NAN);
    bu_add(mc, "fit_s", t_fit);
    bu_add(mc, "train_s", t_train);
    bu_add(mc, "train_steps", (double)rep.steps);
    bu_add(mc, "best_step", (double)rep.best_step);
    bu_add(mc, "val_loss", rep.best_val_loss);
    bu_add(mc, "converged", rep.stop == GENBO_STOP_CONVERGED || rep.stop == GENBO_STOP_STEPS);
    bu_add(mc, "width", (double)rep.width);
    bu_add(mc, "batch", (double)rep.batch);
    bu_progress("  %s seed %llu: GP %.1f s (%s), diffusion %.1f s, %ld steps (best %ld, val %.4f, "
                "stop %d, width %d, batch %d)",
                b->name, (unsigned long long)seed, t_fit, genbo_reward_describe(rm), t_train,
                rep.steps, rep.best_step, rep.best_val_loss, (int)rep.stop, rep.width, rep.batch);
    {   /* what the data offer: the pool's best and mean true reward */
        double *y = bu_alloc(np * sizeof *y), *sup = bu_alloc(np * sizeof *sup);
        truth(b, np, b->PX, y, sup);
        bu_add(mc, "pool_best", bu_max(y, np));
        bu_add(mc, "pool_mean", bu_mean(y, np));
        free(y);
        free(sup);
    }
    /* the DDOM model, as the pipeline's step_reweighted trains it, when a
     * method or genbo's sources use it */
    genbo_diffusion *rw = NULL;
    int rw_source = 0;
    for (size_t i = 0; i < cfg_list_size(cfg, "generate", "sources"); i++) {
        char src[32];
        rw_source |= !strcmp(cfg_item(cfg, "generate", "sources", i, src, sizeof src), "reweighted");
    }
    if (with_reweighted || rw_source) {
        double *w = bu_alloc(np * sizeof *w);
        bu_check(genbo__support_ddom_weights(np, yhat, cfg_num(cfg, "diffusion", "reweight_percentile"), w),
                 "ddom weights");
        genbo_diffusion_params rdp;
        genbo__support_config_params(cfg, NULL, &rdp, NULL);
        char seed_text[32];
        bu_check(genbo_config_get(cfg, "study", "seed", seed_text, sizeof seed_text), "seed");
        rdp.seed = genbo__support_seed_mix(strtoull(seed_text, NULL, 10), 13, 0);
        rdp.row_weights = w;
        genbo_train_report rrep;
        double t_rw = 0;
        rw = train_cached(b->name, seed, "ddom", cfg, &rdp, np, D, b->PX, yhat, &t_rw, &rrep);
        bu_add(mc, "rw_train_s", t_rw);
        bu_add(mc, "rw_train_steps", (double)rrep.steps);
        bu_progress("  reweighted model %.1f s, %ld steps", t_rw, rrep.steps);
        free(w);
    }
    /* step 4: every method, every target, the same n; then the variants */
    genbo__support_models md = {0};
    md.dim = D;
    md.label_X = b->LX, md.label_y = b->LY, md.n_label = b->n_label;
    md.pool_X = b->PX, md.n_pool = np;
    md.reward = rm, md.diffusion = dm, md.reweighted = rw;
    t0 = genbo__support_now();
    run_methods(b, &md, cfg, yhat, seed, NULL);
    /* the table may have grown (realloc): look the cell up again */
    bu_add(bu_cell_get(&T, b->name, "models", "-", NAN), "gen_s", genbo__support_now() - t0);
    for (int v = 0; v < n_variants; v++) {
        genbo_config *vc = case_config(seed);
        apply_sets(vc, (const char *const (*)[2])VARIANTS[v].sets, VARIANTS[v].n);
        run_methods(b, &md, vc, yhat, seed, VARIANTS[v].label);
        genbo_config_free(vc);
    }
    genbo_diffusion_free(dm);
    genbo_diffusion_free(rw);
    genbo_reward_free(rm);
    free(yhat);
    genbo_config_free(cfg);
}

/* One (case, seed): build the data and run. */
static void run_task_seed(const char *name, genbo_task_kind kind, int s) {
    genbo_config *cfg = case_config((uint64_t)s);
    genbo_task_params tp;
    genbo_task_params_default(&tp);
    tp.kind = kind;
    tp.D = 48;
    tp.d = 6;
    tp.manifold_dim = 3;
    tp.noise_sd = cfg_num(cfg, "data", "noise_sd");
    tp.seed = (uint64_t)s;
    bcase b = {0};
    b.name = name;
    bu_check(genbo_task_create(&tp, &b.task), "task");
    b.n_label = (size_t)cfg_num(cfg, "data", "n_label"), b.n_pool = (size_t)cfg_num(cfg, "data", "n_unlabel");
    bu_check(genbo_task_split(b.task, b.n_label, b.n_pool, (uint64_t)s, &b.lab, &b.pool), "split");
    b.dim = 48;
    b.LX = genbo_dataset_x(b.lab), b.LY = genbo_dataset_y(b.lab), b.PX = genbo_dataset_x(b.pool);
    genbo_config_free(cfg);
    bu_progress("%s: seed %d (%zu labels, pool %zu)", name, s, b.n_label, b.n_pool);
    run_case(&b, (uint64_t)s);
    genbo_dataset_free(b.lab);
    genbo_dataset_free(b.pool);
    genbo_task_free(b.task);
}

static void run_olympus_seed(const char *name, genbo__olympus *o, int s) {
    bcase b = {0};
    b.name = name;
    b.oly = o;
    b.n_label = 100;
    bu_check(genbo__olympus_split(o, b.n_label, (uint64_t)s, &b.lab, &b.pool), "olympus split");
    b.dim = o->d;
    b.n_pool = genbo_dataset_rows(b.pool);
    b.LX = genbo_dataset_x(b.lab), b.LY = genbo_dataset_y(b.lab), b.PX = genbo_dataset_x(b.pool);
    bu_progress("%s: seed %d (%zu rows x %zu)", name, s, o->n, o->d);
    run_case(&b, (uint64_t)s);
    genbo_dataset_free(b.lab);
    genbo_dataset_free(b.pool);
}

/* ---- output ------------------------------------------------------------ */

static double cell_mean(const bu_cell *c, const char *m) {
    double mean, sd;
    bu_stat(c, m, &mean, &sd);
    return mean;
}

/* The cell of `method` in case `name` with the highest mean reward over
 * seeds (its best target). */
static const bu_cell *best_cell(const char *name, const char *method) {
    const bu_cell *best = NULL;
    for (size_t i = 0; i < T.n; i++) {
        const bu_cell *c = &T.cells[i];
        if (strcmp(c->section, name) || strcmp(c->method, method)) continue;
        if (!best || cell_mean(c, "reward") > cell_mean(best, "reward")) best = c;
    }
    return best;
}

static void write_case(FILE *f, const char *name, int olympus) {
    const bu_cell *mc = NULL;
    for (size_t i = 0; i < T.n; i++)
        if (!strcmp(T.cells[i].section, name) && !strcmp(T.cells[i].config, "models"))
            mc = &T.cells[i];
    if (!mc) return;
    char b1[64], b2[64], b3[64], b4[64], b5[64], b6[64];
    fprintf(f, "#### %s\n\n", name);
    char b7[64], b8[64], b9[64], b10[64], b11[64];
    fprintf(f, "%s: pool best %s, pool mean %s; GP fit %s s; diffusion training %s s, %s steps "
               "(best step %s, best validation loss %s, converged in %s of the seeds; width %s, "
               "batch %s); generation, all methods: %s s.\n\n",
            olympus ? "normalised score" : "true reward",
            bu_fmt(mc, "pool_best", 3, b1, sizeof b1), bu_fmt(mc, "pool_mean", 3, b2, sizeof b2),
            bu_fmt(mc, "fit_s", 1, b3, sizeof b3), bu_fmt(mc, "train_s", 0, b4, sizeof b4),
            bu_fmt(mc, "train_steps", 0, b5, sizeof b5), bu_fmt(mc, "best_step", 0, b7, sizeof b7),
            bu_fmt(mc, "val_loss", 4, b8, sizeof b8), bu_fmt(mc, "converged", 2, b9, sizeof b9),
            bu_fmt(mc, "width", 0, b10, sizeof b10), bu_fmt(mc, "batch", 0, b11, sizeof b11),
            bu_fmt(mc, "gen_s", 1, b6, sizeof b6));
    fprintf(f, "| method | best target | mean %s | best design | support dist | diversity | "
               "non-finite | projected/resampled | outside unmarked |\n"
               "|---|---|---|---|---|---|---|---|---|\n",
            olympus ? "score" : "f*");
    double g_mean = NAN, g_best = NAN, other = -INFINITY, rnd_best = NAN;
    const char *other_name = "-";
    for (int m = 0; genbo_method_name(m); m++) {
        const char *meth = genbo_method_name(m);
        const bu_cell *c = best_cell(name, meth); /* NULL: not run */
        if (!c) continue;
        fprintf(f, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", meth, c->config + 2,
                bu_fmt(c, "reward", 3, b1, sizeof b1), bu_fmt(c, "best", 3, b2, sizeof b2),
                bu_fmt(c, "support", 3, b3, sizeof b3), bu_fmt(c, "diversity", 2, b4, sizeof b4),
                bu_fmt(c, "nonfinite", 0, b5, sizeof b5), bu_fmt(c, "flagged", 2, b7, sizeof b7),
                bu_fmt(c, "unmarked", 0, b8, sizeof b8));
        double r = cell_mean(c, "reward");
        if (!strcmp(meth, "genbo")) {
            g_mean = r;
            g_best = cell_mean(c, "best");
        } else if (r > other) {
            other = r;
            other_name = meth;
        }
        if (!strcmp(meth, "random")) rnd_best = cell_mean(c, "best");
    }
    for (int v = 0; v < n_variants; v++) {
        char mn[48];
        snprintf(mn, sizeof mn, "genbo [%.24s]", VARIANTS[v].label);
        const bu_cell *c = best_cell(name, mn);
        if (!c) continue;
        fprintf(f, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", mn, c->config + 2,
                bu_fmt(c, "reward", 3, b1, sizeof b1), bu_fmt(c, "best", 3, b2, sizeof b2),
                bu_fmt(c, "support", 3, b3, sizeof b3), bu_fmt(c, "diversity", 2, b4, sizeof b4),
                bu_fmt(c, "nonfinite", 0, b5, sizeof b5), bu_fmt(c, "flagged", 2, b7, sizeof b7),
                bu_fmt(c, "unmarked", 0, b8, sizeof b8));
    }
    fprintf(f, "\nVerdict: genbo mean %.3f vs best other (%s) %.3f: %s by %.3f; genbo's best "
               "design %.3f vs random search's best of the same number %.3f: %s by %.3f.\n\n",
            g_mean, other_name, other, g_mean >= other ? "WINS" : "LOSES", fabs(g_mean - other),
            g_best, rnd_best, g_best >= rnd_best ? "WINS" : "LOSES", fabs(g_best - rnd_best));
    /* every target of the target-seeking methods */
    fprintf(f, "<details><summary>every target</summary>\n\n| method | target | a | mean | best | "
               "support | diversity |\n|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < T.n; i++) {
        const bu_cell *c = &T.cells[i];
        if (strcmp(c->section, name) || !strcmp(c->config, "models")) continue;
        fprintf(f, "| %s | %s | %s | %s | %s | %s | %s |\n", c->method, c->config + 2,
                bu_fmt(c, "a", 2, b5, sizeof b5), bu_fmt(c, "reward", 3, b1, sizeof b1),
                bu_fmt(c, "best", 3, b2, sizeof b2), bu_fmt(c, "support", 3, b3, sizeof b3),
                bu_fmt(c, "diversity", 2, b4, sizeof b4));
    }
    fprintf(f, "\n</details>\n\n");
}

/* PREFIX.md and PREFIX.json with every seed run so far (rewritten after
 * each seed, so a stopped run still leaves honest partial tables). */
static void write_outputs(void) {
    FILE *f = bu_open_out(out_prefix, "md");
    if (!f) return;
    fprintf(f, "### Designs off the linear toy (bench_designs%s%s)\n\n", run_label[0] ? ": " : "",
            run_label);
    fprintf(f, "Up to %d seed(s) per case (the `train_s` and table cells say how many ran); "
               "study defaults with `[reward] model = gp`%s", n_seeds,
            quick ? " (QUICK sizes: numbers meaningless)" : "");
    for (int i = 0; i < n_sets; i++)
        fprintf(f, "%s`%s = %s`", i ? ", " : "; overrides: ", SETS[i][0], SETS[i][1]);
    fprintf(f, ". Each method's row is its best target (highest mean over seeds); methods that "
               "ignore the target make one batch. Every batch has the same number of designs "
               "(`[generate] n`).");
    if (n_variants) fprintf(f, " Variants (the genbo method again on the same models):");
    for (int v = 0; v < n_variants; v++) {
        fprintf(f, " `genbo [%s]` =", VARIANTS[v].label);
        for (int i = 0; i < VARIANTS[v].n; i++)
            fprintf(f, "%s `%s = %s`", i ? "," : "", VARIANTS[v].sets[i][0], VARIANTS[v].sets[i][1]);
        fprintf(f, "%s", v + 1 < n_variants ? ";" : ".");
    }
    if (n_cases) fprintf(f, " Wall time per case so far:");
    for (int i = 0; i < n_cases; i++)
        fprintf(f, " %s %.0f s%s", case_names[i], case_secs[i], i + 1 < n_cases ? "," : ".");
    fprintf(f, "\n\n");
    for (int i = 0; i < n_cases; i++) write_case(f, case_names[i], case_olympus_flag[i]);
    fprintf(f, "<details><summary>resolved configuration (seed 1)</summary>\n\n```ini\n%s```\n\n"
               "</details>\n\n", config_ini ? config_ini : "");
    fclose(f);
    f = bu_open_out(out_prefix, "json");
    if (!f) return;
    fprintf(f, "{\"seeds\": %d, \"quick\": %s, \"label\": \"%s\", \"cells\": ", n_seeds,
            quick ? "true" : "false", run_label);
    bu_write_json(f, &T);
    fprintf(f, "}\n");
    fclose(f);
}

int main(int argc, char **argv) {
    const char *shared = NULL;
    const char *cases = "quad48,curved48,oer_plate_3496,oer_plate_3851,photo_pce10,hplc,crossed_barrel";
    int threads = 0, seeds = 3, first_seed = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--cases") && i + 1 < argc) cases = argv[++i];
        else if (!strcmp(argv[i], "--seeds") && i + 1 < argc) seeds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--first-seed") && i + 1 < argc) first_seed = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out_prefix = argv[++i];
        else if (!strcmp(argv[i], "--shared") && i + 1 < argc) shared = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--label") && i + 1 < argc) run_label = argv[++i];
        else if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--reweighted")) with_reweighted = 1;
        else if (!strcmp(argv[i], "--models") && i + 1 < argc) models_dir = argv[++i];
        else if (!strcmp(argv[i], "--variant") && i + 1 < argc && n_variants < MAX_VARIANTS) {
            /* LABEL:section.key=value,section.key=value */
            char *spec = argv[++i], *colon = strchr(spec, ':');
            if (!colon) {
                fprintf(stderr, "bench_designs: --variant wants LABEL:section.key=value,...\n");
                return 2;
            }
            *colon = '\0';
            snprintf(VARIANTS[n_variants].label, sizeof VARIANTS[n_variants].label, "%s", spec);
            for (char *kv = strtok(colon + 1, ","); kv && VARIANTS[n_variants].n < MAX_SETS;
                 kv = strtok(NULL, ",")) {
                char *eq = strchr(kv, '='), *dot = strchr(kv, '.');
                if (!eq || !dot || dot > eq) {
                    fprintf(stderr, "bench_designs: bad --variant setting '%s'\n", kv);
                    return 2;
                }
                *eq = '\0';
                for (char *q = eq + 1; *q; q++) if (*q == '+') *q = ','; /* word lists */
                VARIANTS[n_variants].sets[VARIANTS[n_variants].n][0] = kv;
                VARIANTS[n_variants].sets[VARIANTS[n_variants].n++][1] = eq + 1;
            }
            n_variants++;
        }
        else if (!strcmp(argv[i], "--set") && i + 1 < argc && n_sets < MAX_SETS) {
            char *kv = argv[++i], *eq = strchr(kv, '='), *dot = strchr(kv, '.');
            if (!eq || !dot || dot > eq) {
                fprintf(stderr, "bench_designs: --set wants section.key=value (got '%s')\n", kv);
                return 2;
            }
            *eq = '\0';
            SETS[n_sets][0] = kv;
            SETS[n_sets++][1] = eq + 1;
        } else {
            fprintf(stderr, "usage: %s [--cases quad48,curved48,<olympus set>,...] [--seeds K] [--first-seed S] "
                            "[--out PREFIX] [--shared DIR] [--threads N] [--quick] "
                            "[--set section.key=value]... [--variant LABEL:section.key=value,...]... "
                            "[--reweighted] [--models DIR] [--label TEXT]\n", argv[0]);
            return 2;
        }
    }
    if (seeds < 1) seeds = 1;
    if (seeds > BU_MAX_SEEDS) seeds = BU_MAX_SEEDS;
    if (quick && seeds > 1) seeds = 1;
    n_seeds = seeds;
    if (threads > 0) genbo_set_threads(threads);
    char sh[1024];
    if (!shared) { /* <repo>/build/bench_designs -> <repo>/../shared/datasets */
        const char *slash = strrchr(argv[0], '/');
        snprintf(sh, sizeof sh, "%.*s/../../shared/datasets", slash ? (int)(slash - argv[0]) : 1,
                 slash ? argv[0] : ".");
        shared = sh;
    }
    genbo_config *c0 = case_config(1);
    config_ini = genbo_config_to_ini(c0);
    genbo_config_free(c0);
    bu_progress("bench_designs: cases %s, %d seeds%s", cases, seeds, quick ? " (quick)" : "");
    char list[1024];
    snprintf(list, sizeof list, "%s", cases);
    genbo__olympus *oly[64] = {0};
    for (char *tok = strtok(list, ","); tok && n_cases < 64; tok = strtok(NULL, ",")) {
        int is_task = !strcmp(tok, "quad48") || !strcmp(tok, "curved48");
        if (!is_task) {
            char path[1200];
            snprintf(path, sizeof path, "%s/olympus/%s.csv", shared, tok);
            if (genbo__olympus_load(path, &oly[n_cases]) != GENBO_OK) {
                bu_progress("%s: SKIPPED: %s", tok, genbo_errmsg());
                continue;
            }
        }
        case_names[n_cases] = tok;
        case_olympus_flag[n_cases++] = !is_task;
    }
    /* seed-major: after the first pass every case has a row */
    if (first_seed < 1) first_seed = 1;
    for (int s = first_seed; s <= seeds; s++)
        for (int i = 0; i < n_cases; i++) {
            double t = genbo__support_now();
            if (!strcmp(case_names[i], "quad48"))
                run_task_seed(case_names[i], GENBO_TASK_SUBSPACE_QUADRATIC, s);
            else if (!strcmp(case_names[i], "curved48"))
                run_task_seed(case_names[i], GENBO_TASK_CURVED_MANIFOLD, s);
            else
                run_olympus_seed(case_names[i], oly[i], s);
            case_secs[i] += genbo__support_now() - t;
            write_outputs();
        }
    for (int i = 0; i < n_cases; i++) genbo__olympus_free(oly[i]);
    write_outputs();
    bu_progress("bench_designs: done, wrote %s.md / .json", out_prefix);
    free(config_ini);
    free(T.cells);
    return 0;
}
