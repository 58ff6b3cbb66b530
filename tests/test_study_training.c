/* test_study_training.c - a study's diffusion training in the database:
 * the validation split, the curve and the summary are stored, and a run
 * interrupted in training resumes from its stored checkpoint (not step 0)
 * to the same model as an uninterrupted run, leaving no checkpoint row. */
#include <criterion/criterion.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>

#include "studies/config.h"
#include "study_fixture.h"

/* D = 8 on a 2-dimensional subspace; steps = auto with a short patience. */
static const char *const STUDY =
    "[study]\nname = tr\nseed = 3\n"
    "[data]\nD = 8\nd = 2\nn_label = 100\nn_unlabel = 2000\n"
    "[diffusion]\nwidth = 32\ndepth = 1\nt_embed = 16\ny_embed = 16\nsteps = auto\nbatch = 64\n"
    "eval_every = 100\npatience = 3\ntol = 0.01\nmax_steps = 2500\ncheckpoint_seconds = 1e9\n"
    "[generate]\ntargets = p90\nn = 8\nsteps = 10\nmethods = random\n";

/* The stored diffusion model's bytes. */
static void *model_blob(const char *db_path, int *len) {
    sqlite3 *db;
    cr_assert_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT data FROM models WHERE kind = 'diffusion' ORDER BY id LIMIT 1", -1,
                                    &st, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
    *len = sqlite3_column_bytes(st, 0);
    void *b = malloc((size_t)*len);
    memcpy(b, sqlite3_column_blob(st, 0), (size_t)*len);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return b;
}

static int stop_in_training(void *ctx, const char *stage, long done, long total, const char *msg) {
    (void)ctx, (void)total, (void)msg;
    return !strcmp(stage, "train") && done >= 600;
}

static int run_study(const char *db, genbo_progress_fn fn) {
    genbo_config *c;
    fixture_write("tr.ini", STUDY);
    cr_assert_eq(genbo_config_load(fixture_path("tr.ini"), &c), GENBO_OK, "%s", genbo_errmsg());
    genbo_study *s;
    cr_assert_eq(genbo_study_open(db, "tr", c, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s", genbo_errmsg());
    int rc = genbo_study_run(s, fn, NULL);
    genbo_study_close(s);
    genbo_config_free(c);
    return rc;
}

TestSuite(genbo__study_training, .init = fixture_make_dir, .timeout = 120);

Test(genbo__study_training, curve_split_and_summary_are_stored_and_resume_continues) {
    genbo_set_threads(1);
    FIXTURE_PATH(a, "a.db");
    FIXTURE_PATH(b, "b.db");
    cr_assert_eq(run_study(a, NULL), GENBO_OK, "%s", genbo_errmsg());
    double steps = fixture_db_double(a, "SELECT steps FROM trainings WHERE round = 0");
    cr_assert_gt(steps, 300);
    cr_assert_eq(fixture_db_double(a, "SELECT n_val FROM trainings"), 200);   /* 10% of 2000 */
    cr_assert_eq(fixture_db_double(a, "SELECT n_train FROM trainings"), 1800);
    cr_assert_eq(fixture_db_double(a, "SELECT val_seed FROM trainings"), 3);  /* the study seed */
    cr_assert_eq(fixture_db_double(a, "SELECT count(*) FROM trainings WHERE stop IN ('converged', 'max_steps')"), 1);
    /* one curve row per validation, the last at the final step */
    cr_assert_eq(fixture_db_double(a, "SELECT max(step) FROM train_curve"), steps);
    cr_assert_eq(fixture_db_double(a, "SELECT count(*) FROM train_curve"), ceil(steps / 100));
    cr_assert_eq(fixture_db_double(a, "SELECT count(*) FROM train_curve WHERE val_loss IS NULL OR train_loss IS NULL"), 0);
    cr_assert_float_eq(fixture_db_double(a, "SELECT min(val_loss) FROM train_curve"),
                       fixture_db_double(a, "SELECT best_val_loss FROM trainings"), 1e-12);
    cr_assert_eq(fixture_db_double(a, "SELECT count(*) FROM train_checkpoints"), 0);

    /* interrupted at step 600: the run fails, the checkpoint is stored */
    cr_assert_eq(run_study(b, stop_in_training), GENBO_ESTATE);
    double ck = fixture_db_double(b, "SELECT step FROM train_checkpoints WHERE round = 0");
    cr_assert(ck >= 600 && ck < 650, "checkpoint at %g", ck);
    cr_assert_eq(fixture_db_double(b, "SELECT count(*) FROM trainings WHERE stop = 'interrupted'"), 1);
    cr_assert_eq(fixture_db_double(b, "SELECT count(*) FROM steps WHERE step = 'diffusion'"), 0);
    /* resumed: from the checkpoint, to the uninterrupted run's model */
    cr_assert_eq(run_study(b, NULL), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(fixture_db_double(b, "SELECT resumed_from FROM trainings"), ck);
    cr_assert_eq(fixture_db_double(b, "SELECT steps FROM trainings"), steps);
    cr_assert_eq(fixture_db_double(b, "SELECT count(*) FROM train_checkpoints"), 0);
    cr_assert_eq(fixture_db_double(b, "SELECT count(*) FROM train_curve"), ceil(steps / 100));
    int la, lb;
    void *ma = model_blob(a, &la), *mb = model_blob(b, &lb);
    cr_assert_eq(la, lb);
    cr_assert(memcmp(ma, mb, (size_t)la) == 0, "the resumed model differs from the uninterrupted one");
    free(ma);
    free(mb);
}

Test(genbo__study_training, design_loop_fine_tunes_are_recorded_per_round) {
    FIXTURE_PATH(db, "f.db");
    genbo_config *c;
    fixture_write("f.ini", STUDY);
    cr_assert_eq(genbo_config_load(fixture_path("f.ini"), &c), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_config_set(c, "diffusion", "max_steps", "300"), GENBO_OK);
    cr_assert_eq(genbo_config_set(c, "loop", "rounds", "1"), GENBO_OK);
    cr_assert_eq(genbo_config_set(c, "loop", "method", "random"), GENBO_OK);
    cr_assert_eq(genbo_config_set(c, "loop", "finetune_steps", "150"), GENBO_OK);
    genbo_study *s;
    cr_assert_eq(genbo_study_open(db, "tr", c, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_run(s, NULL, NULL), GENBO_OK, "%s", genbo_errmsg());
    genbo_study_close(s);
    genbo_config_free(c);
    cr_assert_eq(fixture_db_double(db, "SELECT count(*) FROM trainings WHERE round = 0 AND stop = 'max_steps' AND steps = 300"), 1);
    cr_assert_eq(fixture_db_double(db, "SELECT count(*) FROM trainings WHERE round = 1 AND stop = 'steps' AND steps = 150"), 1);
    cr_assert_eq(fixture_db_double(db, "SELECT count(*) FROM train_curve WHERE round = 1"), 2); /* at 100 and 150 */
    cr_assert_eq(fixture_db_double(db, "SELECT count(*) FROM train_checkpoints"), 0);
}

static char *slurp(const char *path) {
    static char buf[65536];
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

Test(genbo__study_training, genbo_run_warns_on_stderr_when_the_budget_stops_training) {
    char ini[4096];
    snprintf(ini, sizeof ini, "%s", STUDY);
    char *p = strstr(ini, "max_steps = 2500");
    cr_assert_not_null(p);
    memcpy(p, "max_steps = 0300", 16); /* a budget it cannot converge in */
    fixture_write("budget.ini", ini);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "OPENBLAS_NUM_THREADS=1 %s/genbo run %s --db %s --quiet > %s 2> %s", GENBO_BINARY_DIR,
             fixture_path("budget.ini"), fixture_path("budget.db"), fixture_path("out.txt"), fixture_path("err.txt"));
    cr_assert_eq(system(cmd), 0, "%s", slurp(fixture_path("err.txt")));
    const char *err = slurp(fixture_path("err.txt"));
    cr_assert_not_null(strstr(err, "warning: diffusion training stopped on its step budget (max_steps = 300) "
                                   "before the validation loss converged"), "%s", err);
    const char *out = slurp(fixture_path("out.txt"));
    cr_assert_not_null(strstr(out, "Diffusion training: max_steps after 300 steps, best validation loss"), "%s", out);
    FIXTURE_PATH(db, "budget.db");
    cr_assert_eq(fixture_db_double(db, "SELECT count(*) FROM trainings WHERE stop = 'max_steps' AND steps = 300"), 1);
}

Test(genbo__study_training, the_reweighted_model_is_recorded_as_round_minus_one) {
    FIXTURE_PATH(db, "w.db");
    genbo_config *c;
    fixture_write("w.ini", STUDY);
    cr_assert_eq(genbo_config_load(fixture_path("w.ini"), &c), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_config_set(c, "diffusion", "max_steps", "300"), GENBO_OK);
    cr_assert_eq(genbo_config_set(c, "generate", "methods", "reweighted"), GENBO_OK);
    genbo_study *s;
    cr_assert_eq(genbo_study_open(db, "tr", c, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_run(s, NULL, NULL), GENBO_OK, "%s", genbo_errmsg());
    genbo_study_close(s);
    genbo_config_free(c);
    cr_assert_eq(fixture_db_double(db, "SELECT count(*) FROM trainings WHERE round = 0 AND steps = 300"), 1);
    cr_assert_eq(fixture_db_double(db, "SELECT count(*) FROM trainings WHERE round = -1 AND steps = 300 AND n_val = 200"), 1);
    cr_assert_eq(fixture_db_double(db, "SELECT count(*) FROM train_curve WHERE round = -1"), 3);
    cr_assert_eq(fixture_db_double(db, "SELECT count(*) FROM train_checkpoints"), 0);
}
