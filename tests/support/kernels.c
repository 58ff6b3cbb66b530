/* kernels.c - see kernels.h. */
#include "tests/support/kernels.h"

#include "diffusion/mm.h"
#include "diffusion/net.h"
#include "diffusion/prof.h"

_Static_assert((int)GENBO__SUPPORT_PROF_N == (int)GENBO__PROF_N, "kernels.h: the phase count of prof.h");

double genbo__support_net_flops_per_row(const genbo__support_net *c) {
    genbo__net_config n = {c->D, c->width, c->depth, c->t_embed, c->y_embed};
    return genbo__net_forward_flops_per_row(&n);
}

void *genbo__support_alloc64(size_t bytes) { return genbo__net_alloc64(bytes); }

int genbo__support_bf16_available(void) { return dm_bf16_available(); }
void *genbo__support_mm_stream_new(void) { return dm_stream_new(); }
void genbo__support_mm_stream_free(void *stream) { dm_stream_free(stream); }

genbo__support_mm *genbo__support_mm_new(int M, int N, int K, int a_trans, int b_any, void *stream) {
    dm_spec sp = {M, N, K, a_trans, 0, b_any, NULL, 0, 0, DM_POST_NONE, 0};
    return (genbo__support_mm *)dm_plan_new(&sp, stream);
}
void genbo__support_mm_free(genbo__support_mm *p) { dm_plan_free((dm_plan *)p); }
void genbo__support_mm_run(genbo__support_mm *p, const void *A, const void *B, float *C) {
    dm_plan_run((dm_plan *)p, A, B, NULL, C, NULL);
}

genbo__support_wbuf *genbo__support_wbuf_new(const genbo__support_mm *p, int src_trans) {
    return (genbo__support_wbuf *)dm_wbuf_new((const dm_plan *)p, src_trans);
}
void genbo__support_wbuf_free(genbo__support_wbuf *w) { dm_wbuf_free((dm_wbuf *)w); }
void genbo__support_wbuf_load(genbo__support_wbuf *w, const float *src) { dm_wbuf_load((dm_wbuf *)w, src); }
const void *genbo__support_wbuf_data(const genbo__support_wbuf *w) { return dm_wbuf_data((const dm_wbuf *)w); }

int genbo__support_prof_enabled(void) { return genbo__prof_enabled(); }
void genbo__support_prof_reset(void) { genbo__prof_reset(); }
const char *genbo__support_prof_name(int phase) { return genbo__prof_name(phase); }
double genbo__support_prof_get(int phase) { return genbo__prof_get(phase); }
double genbo__support_prof_min(int phase) { return genbo__prof_min(phase); }
