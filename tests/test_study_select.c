/* test_study_select.c - the study pipeline with this methods: edit,
 * reweighted (its model trained once, stored with role 'reweighted' and
 * reloaded by a resumed run or an ask) and genbo with all three candidate
 * sources; the design loop on the reweighted method. */
#include <criterion/criterion.h>
#include <sqlite3.h>

#include "study_fixture.h"

Test(study_select, edit_reweighted_and_all_sources_run_and_resume, .init = fixture_make_dir, .timeout = 180) {
    fixture_write("tiny.ini", TINY_STUDY);
    genbo_config *c;
    cr_assert_eq(genbo_config_load(fixture_path("tiny.ini"), &c), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_config_set(c, "generate", "methods", "genbo, edit, reweighted, conditional"), GENBO_OK);
    cr_assert_eq(genbo_config_set(c, "generate", "sources", "guided, edit, reweighted"), GENBO_OK);
    cr_assert_eq(genbo_config_set(c, "loop", "method", "reweighted"), GENBO_OK);
    cr_assert_eq(genbo_config_set(c, "loop", "rounds", "1"), GENBO_OK);
    cr_assert_eq(genbo_config_set(c, "generate", "sources", "guided, guided"), GENBO_EINVAL);
    cr_assert_eq(genbo_config_set(c, "generate", "sources", "guided, tabu"), GENBO_EINVAL);
    FIXTURE_PATH(db, "sel.db");
    genbo_study *s;
    cr_assert_eq(genbo_study_open(db, "tiny", c, GENBO_OPEN_CREATE, &s), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(genbo_study_run(s, NULL, NULL), GENBO_OK, "%s", genbo_errmsg());
    /* one reweighted model next to the main one, its step marked */
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM models WHERE kind = 'diffusion' AND role = 'reweighted'"), 1);
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM models WHERE kind = 'diffusion' AND role IS NULL"), 1);
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM steps WHERE step = 'reweighted'"), 1);
    /* every batch has exactly n designs, the loop round its batch */
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM metrics WHERE round = 0"), 2 * 4);
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM metrics WHERE round = 0 AND n <> 16"), 0);
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM trials WHERE round = 1 AND method = 'reweighted'"), 4);
    /* an ask with the loop's method (reweighted) loads the stored model, trains nothing */
    int64_t ids[3];
    double x[3 * 8];
    cr_assert_eq(genbo_study_ask(s, 0.5, 3, ids, x), GENBO_OK, "%s", genbo_errmsg());
    cr_assert_eq(fixture_db_int(db, "SELECT COUNT(*) FROM models WHERE role = 'reweighted'"), 1);
    genbo_study_close(s);
    genbo_config_free(c);
}
