/* fuzz_config.c - the study-file parser on arbitrary bytes: a status,
 * never a crash; a file it accepts writes back (genbo_config_to_ini) to
 * text that parses to the same configuration (the same text again). */
#include "fuzz.h"
#include "genbo.h"
#include "studies/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 16)) return 0;
    const char *path = fuzz_file("ini", data, size);
    genbo_config *c = NULL;
    if (genbo_config_load(path, &c) == GENBO_OK) {
        char *ini = genbo_config_to_ini(c);
        FUZZ_CHECK(ini, "to_ini failed");
        genbo_config *back = NULL;
        FUZZ_CHECK(genbo__config_parse_text(ini, "written", &back) == GENBO_OK,
                   "written configuration does not reload: %s\n---\n%s", genbo_errmsg(), ini);
        char *ini2 = genbo_config_to_ini(back);
        FUZZ_CHECK(ini2 && !strcmp(ini, ini2), "reloaded configuration differs:\n%s\n---\n%s", ini, ini2);
        free(ini);
        free(ini2);
        genbo_config_free(back);
        genbo_config_free(c);
    }
    remove(path);
    return 0;
}
