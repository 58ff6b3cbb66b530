/* fuzz_csv.c - the CSV reader on arbitrary bytes: it returns a status
 * (never crashes), and a dataset it accepts has finite numbers of the
 * shape it says and writes back to a CSV that reads back equal. */
#include <math.h>

#include "fuzz.h"
#include "genbo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_file("csv", data, size);
    genbo_dataset *ds = NULL;
    if (genbo_dataset_read_csv(path, NULL, &ds) == GENBO_OK) {
        size_t n = genbo_dataset_rows(ds), d = genbo_dataset_dim(ds);
        const double *X = genbo_dataset_x(ds);
        for (size_t i = 0; i < n * d; i++) FUZZ_CHECK(isfinite(X[i]), "non-finite cell %zu accepted", i);
        char back[160];
        snprintf(back, sizeof back, "%s.back.csv", path);
        if (genbo_dataset_write_csv(ds, back) == GENBO_OK) {
            genbo_dataset *again = NULL;
            FUZZ_CHECK(genbo_dataset_read_csv(back, NULL, &again) == GENBO_OK, "written CSV does not read back: %s",
                       genbo_errmsg());
            FUZZ_CHECK(genbo_dataset_rows(again) == n && genbo_dataset_dim(again) == d, "shape changed");
            FUZZ_CHECK(memcmp(genbo_dataset_x(again), X, n * d * sizeof *X) == 0, "values changed");
            genbo_dataset_free(again);
        }
        remove(back);
        genbo_dataset_free(ds);
    }
    remove(path);
    return 0;
}
