/* prof.c - the per-phase timers of prof.h. */
#include <string.h>

#include "diffusion/prof.h"

#ifdef GENBO_PROFILE
double genbo__prof_sec[GENBO__PROF_N];
long genbo__prof_calls[GENBO__PROF_N];
static double step_start[GENBO__PROF_N], step_min[GENBO__PROF_N];
static int have_min;
int genbo__prof_enabled(void) { return 1; }
void genbo__prof_reset(void) {
    memset(genbo__prof_sec, 0, sizeof genbo__prof_sec);
    memset(genbo__prof_calls, 0, sizeof genbo__prof_calls);
    memset(step_start, 0, sizeof step_start);
    have_min = 0;
}
void genbo__prof_step_end(void) {
    for (int k = 0; k < GENBO__PROF_N; k++) {
        double d = genbo__prof_sec[k] - step_start[k];
        if (!have_min || d < step_min[k]) step_min[k] = d;
        step_start[k] = genbo__prof_sec[k];
    }
    have_min = 1;
}
double genbo__prof_min(int phase) {
    return have_min && phase >= 0 && phase < GENBO__PROF_N ? step_min[phase] : 0;
}
double genbo__prof_get(int phase) { return phase >= 0 && phase < GENBO__PROF_N ? genbo__prof_sec[phase] : 0; }
#else
int genbo__prof_enabled(void) { return 0; }
void genbo__prof_reset(void) {}
double genbo__prof_get(int phase) {
    (void)phase;
    return 0;
}
double genbo__prof_min(int phase) {
    (void)phase;
    return 0;
}
#endif

const char *genbo__prof_name(int phase) {
    static const char *const names[GENBO__PROF_N] = {
        "minibatch draw", "weights to bf16", "input rows",       "forward products",
        "forward SiLU",   "loss",            "input-grad products", "weight-grad products",
        "backward SiLU'", "gradient norm",   "AdamW + EMA",      "validation"};
    return phase >= 0 && phase < GENBO__PROF_N ? names[phase] : "?";
}
