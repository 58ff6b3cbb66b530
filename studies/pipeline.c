/* pipeline.c - the first four steps of a run, shared by `genbo run` and by
 * an ask on a study without models: data -> reward fit -> pseudo-labels ->
 * diffusion training. Each step commits its results together with its
 * completed-step mark, so after a crash a rerun skips what is done. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/fields.h"
#include "optimizer/metrics.h"
#include "optimizer/reweight.h"
#include "studies/store.h"
#include "studies/study.h"

/* Pool designs whose pseudo-labels are kept for the dashboard. */
#define REWARD_SAMPLE_MAX 2000

static int insert_samples(genbo_study *s, int64_t run_id, const char *kind, size_t n,
                          const double *v) {
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db, "INSERT INTO reward_samples (run_id, kind, value) VALUES (?, ?, ?)", &st);
    for (size_t i = 0; !rc && i < n; i++) {
        if (!isfinite(v[i])) continue;
        genbo__db_bind_int64(st, 1, run_id);
        genbo__db_bind_text(st, 2, kind, -1, GENBO__DB_STATIC);
        genbo__db_bind_double(st, 3, v[i]);
        if (genbo__db_step(st) != GENBO__DB_DONE) rc = genbo__store_fail(s->db, "storing reward samples");
        genbo__db_reset(st);
    }
    genbo__db_finalize(st);
    return rc;
}

static int insert_dataset(genbo_study *s, int64_t run_id, const char *role, const char *source,
                          const genbo_dataset *ds) {
    char hash[9];
    genbo__dataset_hash(ds, hash);
    cJSON *names = cJSON_CreateArray();
    for (size_t j = 0; names && j < genbo_dataset_dim(ds); j++) {
        const char *name = genbo_dataset_column_name(ds, j);
        char fallback[32];
        snprintf(fallback, sizeof fallback, "x%zu", j);
        cJSON_AddItemToArray(names, cJSON_CreateString(name ? name : fallback));
    }
    char *names_json = names ? cJSON_PrintUnformatted(names) : NULL;
    cJSON_Delete(names);
    if (!names_json) return genbo__fail(GENBO_ENOMEM, "out of memory writing column names");
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db,
                                  "INSERT INTO datasets (run_id, role, source, hash, rows, cols, columns) "
                                  "VALUES (?, ?, ?, ?, ?, ?, ?)", &st);
    if (rc) {
        cJSON_free(names_json);
        return rc;
    }
    genbo__db_bind_text(st, 7, names_json, -1, GENBO__DB_TRANSIENT);
    cJSON_free(names_json);
    genbo__db_bind_int64(st, 1, run_id);
    genbo__db_bind_text(st, 2, role, -1, GENBO__DB_STATIC);
    genbo__db_bind_text(st, 3, source, -1, GENBO__DB_STATIC);
    genbo__db_bind_text(st, 4, hash, -1, GENBO__DB_TRANSIENT);
    genbo__db_bind_int64(st, 5, (int64_t)genbo_dataset_rows(ds));
    genbo__db_bind_int64(st, 6, (int64_t)genbo_dataset_dim(ds));
    if (genbo__db_step(st) != GENBO__DB_DONE) rc = genbo__store_fail(s->db, "storing a dataset");
    genbo__db_finalize(st);
    return rc;
}

/* A resumed run must see the data it started with. */
static int check_hash(genbo_study *s, int64_t run_id, const char *role, const genbo_dataset *ds) {
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db, "SELECT hash, source FROM datasets WHERE run_id = ? AND role = ?", &st);
    if (rc) return rc;
    genbo__db_bind_int64(st, 1, run_id);
    genbo__db_bind_text(st, 2, role, -1, GENBO__DB_STATIC);
    if (genbo__db_step(st) == GENBO__DB_ROW) {
        char hash[9];
        genbo__dataset_hash(ds, hash);
        const char *stored = (const char *)genbo__db_column_text(st, 0);
        if (strcmp(stored, hash))
            rc = genbo__fail(GENBO_ESTATE,
                             "the %s data (%s) changed since run %lld started (hash %s, now %s): "
                             "start a new run", role, (const char *)genbo__db_column_text(st, 1),
                             (long long)run_id, stored, hash);
    }
    genbo__db_finalize(st);
    return rc;
}

static int step_data(genbo_study *s, int64_t run_id) {
    double t = genbo__now();
    int rc = genbo__study_load_data(s);
    if (rc) return rc;
    const genbo__study_data *d = &s->data;
    const genbo_config *c = s->cfg;
    if (genbo__step_done(s, run_id, "data")) {
        rc = check_hash(s, run_id, "labelled", d->labelled);
        if (!rc && d->pool) rc = check_hash(s, run_id, "pool", d->pool);
        return rc;
    }
    char source[GENBO__CFG_STR + 16];
    rc = genbo__store_begin(s->db);
    if (rc) return rc;
    if (c->task == GENBO__CFG_TASK_CSV) snprintf(source, sizeof source, "%s", c->labelled);
    else {
        char task[64]; /* the task's name from its one list (datasets/tasks.c) */
        genbo__word_at(genbo__field_named(&genbo__task_fields, "kind")->words, c->task, task, sizeof task);
        snprintf(source, sizeof source, "task:%s", task);
    }
    rc = insert_dataset(s, run_id, "labelled", source, d->labelled);
    if (!rc && d->pool) {
        if (c->task == GENBO__CFG_TASK_CSV) snprintf(source, sizeof source, "%s", c->pool);
        rc = insert_dataset(s, run_id, "pool", source, d->pool);
    }
    if (!rc) rc = insert_samples(s, run_id, "labelled", d->n_label, d->label_y);
    if (!rc) {
        genbo__db_stmt *st;
        rc = genbo__store_prepare(s->db, "UPDATE studies SET dim = ? WHERE id = ?", &st);
        if (!rc) {
            genbo__db_bind_int64(st, 1, (int64_t)d->dim);
            genbo__db_bind_int64(st, 2, s->id);
            if (genbo__db_step(st) != GENBO__DB_DONE) rc = genbo__store_fail(s->db, "storing the dimension");
            genbo__db_finalize(st);
        }
    }
    char detail[96];
    snprintf(detail, sizeof detail, "%zu labelled, %zu pool, dim %zu", d->n_label, d->n_pool, d->dim);
    if (!rc) rc = genbo__step_mark(s, run_id, "data", genbo__now() - t, detail);
    if (rc) {
        genbo__store_rollback(s->db);
        return rc;
    }
    return genbo__store_commit(s->db);
}

/* Fit the reward model on the run's labels (labelled set + told trials). */
int genbo__refit_reward(genbo_study *s, int64_t run_id, genbo_reward **out, int64_t *n_labels) {
    double *X, *y;
    size_t n;
    int rc = genbo__run_labels(s, run_id, &X, &y, &n);
    if (rc) return rc;
    genbo_reward_params rp;
    genbo__config_reward_params(s->cfg, &rp);
    rc = genbo_reward_fit(&rp, n, s->data.dim, X, y, out);
    free(X);
    free(y);
    if (rc) return genbo__fail_prefix(rc, "fitting the reward model on %zu labels", n);
    *n_labels = (int64_t)n;
    return GENBO_OK;
}

static int step_reward(genbo_study *s, int64_t run_id) {
    genbo__study_models *m = &s->models;
    if (genbo__step_done(s, run_id, "reward"))
        return genbo__load_reward(s, run_id, &m->reward, &m->reward_labels);
    if (s->progress) s->progress(s->progress_ctx, "reward", 0, 1, "fitting the reward model");
    double t = genbo__now();
    int rc = genbo__refit_reward(s, run_id, &m->reward, &m->reward_labels);
    if (!rc) rc = genbo__store_reward_step(s, run_id, 0, m->reward_labels, m->reward, "reward",
                                           genbo__now() - t);
    if (!rc && s->progress) s->progress(s->progress_ctx, "reward", 1, 1, genbo_reward_describe(m->reward));
    return rc;
}

double genbo__resolve_target(const genbo__target *t, const double *pseudo, size_t n) {
    switch (t->kind) {
    case GENBO__TARGET_PERCENTILE: return genbo__percentile(pseudo, n, t->value);
    case GENBO__TARGET_MAX: {
        double mx = -INFINITY;
        for (size_t i = 0; i < n; i++)
            if (pseudo[i] > mx) mx = pseudo[i];
        return mx;
    }
    default: return t->value;
    }
}

static int insert_target(genbo_study *s, int64_t run_id, const genbo__target *t, const double *pseudo,
                         size_t n) {
    genbo__db_stmt *st;
    int rc = genbo__store_prepare(s->db, "INSERT OR IGNORE INTO targets (run_id, label, value) VALUES (?, ?, ?)", &st);
    if (rc) return rc;
    double v = genbo__resolve_target(t, pseudo, n);
    if (!isfinite(v)) {
        genbo__db_finalize(st);
        return genbo__fail(GENBO_ENUMERIC, "target %s is not a finite number", t->label);
    }
    genbo__db_bind_int64(st, 1, run_id);
    genbo__db_bind_text(st, 2, t->label, -1, GENBO__DB_STATIC);
    genbo__db_bind_double(st, 3, v);
    if (genbo__db_step(st) != GENBO__DB_DONE) rc = genbo__store_fail(s->db, "storing a target");
    genbo__db_finalize(st);
    return rc;
}

static int needs_reweighted(const genbo_config *c);

/* Pseudo-label the pool (one batched predict) and, the first time, store
 * the resolved targets and the dashboard's samples. Once the diffusion
 * model is trained nothing needs them (the design loop recomputes them
 * after its refits), so a resumed run or an ask skips the predict. */
static int step_pseudo(genbo_study *s, int64_t run_id) {
    const genbo__study_data *d = &s->data;
    genbo__study_models *m = &s->models;
    if (genbo__step_done(s, run_id, "pseudo") && genbo__step_done(s, run_id, "diffusion") &&
        (!needs_reweighted(s->cfg) || genbo__step_done(s, run_id, "reweighted")))
        return GENBO_OK;
    free(m->pseudo);
    m->pseudo = genbo__malloc(d->n_pool * sizeof *m->pseudo);
    if (!m->pseudo) return GENBO_ENOMEM;
    double t = genbo__now();
    int rc = genbo_reward_predict(m->reward, d->n_pool, d->pool_X, m->pseudo, NULL);
    if (rc) return genbo__fail_prefix(rc, "pseudo-labelling the pool");
    if (genbo__step_done(s, run_id, "pseudo")) return GENBO_OK;
    /* A seeded subsample of the pool for the reward distributions. */
    size_t k = d->n_pool < REWARD_SAMPLE_MAX ? d->n_pool : REWARD_SAMPLE_MAX;
    double *sub = genbo__malloc(k * sizeof *sub), *subX = genbo__malloc(k * d->dim * sizeof *subX);
    double *tru = genbo__malloc(k * sizeof *tru);
    if (!sub || !subX || !tru) rc = GENBO_ENOMEM;
    genbo__rng rng;
    genbo__rng_seed(&rng, genbo__seed_mix(s->cfg->seed, 3, 0), 0);
    for (size_t i = 0; !rc && i < k; i++) {
        size_t j = k == d->n_pool ? i : (size_t)genbo__rng_below(&rng, d->n_pool);
        sub[i] = m->pseudo[j];
        memcpy(subX + i * d->dim, d->pool_X + j * d->dim, d->dim * sizeof *subX);
    }
    if (!rc && d->task) rc = genbo_task_oracle(d->task, k, subX, tru);
    if (!rc) rc = genbo__store_begin(s->db);
    if (!rc) {
        rc = insert_samples(s, run_id, "pool", k, sub);
        if (!rc && d->task) rc = insert_samples(s, run_id, "pool_true", k, tru);
        for (int i = 0; !rc && i < s->cfg->n_targets; i++)
            rc = insert_target(s, run_id, &s->cfg->targets[i], m->pseudo, d->n_pool);
        if (!rc) rc = insert_target(s, run_id, &s->cfg->loop_target, m->pseudo, d->n_pool);
        if (!rc) rc = genbo__step_mark(s, run_id, "pseudo", genbo__now() - t, NULL);
        if (rc) genbo__store_rollback(s->db);
        else rc = genbo__store_commit(s->db);
    }
    free(sub);
    free(subX);
    free(tru);
    return rc;
}

static int step_diffusion(genbo_study *s, int64_t run_id) {
    genbo__study_models *m = &s->models;
    if (genbo__step_done(s, run_id, "diffusion")) return genbo__load_diffusion(s, run_id, &m->diffusion);
    genbo_diffusion_params dp;
    genbo__config_diffusion_params(s->cfg, &dp);
    dp.progress = s->progress;
    dp.progress_ctx = s->progress_ctx;
    double t = genbo__now();
    /* curve, checkpoints (resumed from if one is stored) and summary */
    genbo__study_training tr;
    int rc = genbo__training_attach(s, run_id, 0, &dp, &tr);
    if (!rc) rc = genbo__training_finish(&tr, genbo_diffusion_train(&dp, s->data.n_pool, s->data.dim,
                                                                   s->data.pool_X, m->pseudo, &m->diffusion));
    else free(tr.resume);
    if (rc) return genbo__fail_prefix(rc, "training the diffusion model");
    rc = genbo__store_diffusion_step(s, run_id, 0, m->diffusion, "diffusion", genbo__now() - t);
    return rc ? rc : genbo__training_done(&tr);
}

/* The reweighted model is trained only when something uses it: the method
 * `reweighted`, or `genbo` with the `reweighted` source (in [generate]
 * methods or as the loop's method, which ask uses too). */
static int needs_reweighted(const genbo_config *c) {
    int rw = !strcmp(c->loop_method, "reweighted"), gb = !strcmp(c->loop_method, "genbo");
    for (int i = 0; i < c->n_methods; i++) {
        rw |= !strcmp(c->methods[i], "reweighted");
        gb |= !strcmp(c->methods[i], "genbo");
    }
    return rw || (gb && (c->select.sources & GENBO__SOURCE_REWEIGHTED));
}

/* DDOM: the same network and settings as the main model, trained from
 * scratch with rows drawn by the histogram weights of their pseudo-labels
 * (optimizer/reweight.h). Not fine-tuned by the design loop. */
static int step_reweighted(genbo_study *s, int64_t run_id) {
    genbo__study_models *m = &s->models;
    if (!needs_reweighted(s->cfg)) return GENBO_OK;
    if (genbo__step_done(s, run_id, "reweighted"))
        return genbo__load_diffusion_role(s, run_id, "reweighted", &m->reweighted);
    double *w = genbo__malloc(s->data.n_pool * sizeof *w);
    if (!w) return GENBO_ENOMEM;
    int rc = genbo__ddom_weights(s->data.n_pool, m->pseudo, s->cfg->reweight_percentile, w);
    genbo_diffusion_params dp;
    genbo__config_diffusion_params(s->cfg, &dp);
    dp.seed = genbo__seed_mix(s->cfg->seed, 13, 0);
    dp.row_weights = w;
    dp.progress = s->progress;
    dp.progress_ctx = s->progress_ctx;
    double t = genbo__now();
    /* curve, checkpoints and summary as round -1 of the trainings tables */
    genbo__study_training tr;
    memset(&tr, 0, sizeof tr);
    if (!rc && (rc = genbo__training_attach(s, run_id, -1, &dp, &tr))) free(tr.resume);
    else if (!rc) rc = genbo__training_finish(&tr, genbo_diffusion_train(&dp, s->data.n_pool, s->data.dim,
                                                                         s->data.pool_X, m->pseudo,
                                                                         &m->reweighted));
    free(w);
    if (rc) return genbo__fail_prefix(rc, "training the reweighted diffusion model");
    rc = genbo__store_diffusion_role_step(s, run_id, "reweighted", 0, m->reweighted, "reweighted",
                                          genbo__now() - t);
    return rc ? rc : genbo__training_done(&tr);
}

int genbo__pipeline_models(genbo_study *s, int64_t run_id) {
    if (s->models.run_id == run_id && s->models.diffusion) return GENBO_OK;
    genbo__study_models_free(&s->models);
    s->models.run_id = run_id;
    int rc = step_data(s, run_id);
    if (!rc) rc = step_reward(s, run_id);
    if (!rc) rc = step_pseudo(s, run_id);
    if (!rc) rc = step_diffusion(s, run_id);
    if (!rc) rc = step_reweighted(s, run_id);
    if (rc) genbo__study_models_free(&s->models);
    return rc;
}

void genbo__study_method_models(genbo_study *s, genbo__models *mm) {
    memset(mm, 0, sizeof *mm);
    const genbo__study_data *d = &s->data;
    mm->dim = d->dim;
    mm->label_X = d->label_X;
    mm->label_y = d->label_y;
    mm->n_label = d->n_label;
    mm->pool_X = d->pool_X;
    mm->n_pool = d->n_pool;
    mm->reward = s->models.reward;
    mm->diffusion = s->models.diffusion;
    mm->trust = d->trust.dim ? &d->trust : NULL;
    genbo__config_sample_params(s->cfg, &mm->sample);
    genbo__config_select_settings(s->cfg, &mm->select);
    mm->reweighted = s->models.reweighted;
}
