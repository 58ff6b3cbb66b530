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

int genbo__support_bf16_available(void) { return genbo__mm_bf16_available(); }
void *genbo__support_mm_stream_new(void) { return genbo__mm_stream_new(); }
void genbo__support_mm_stream_free(void *stream) { genbo__mm_stream_free(stream); }

genbo__support_mm *genbo__support_mm_new(int M, int N, int K, int a_trans, int b_any, void *stream) {
    genbo__mm_spec sp = {M, N, K, a_trans, 0, b_any, NULL, 0, 0, GENBO__MM_POST_NONE, 0};
    return (genbo__support_mm *)genbo__mm_plan_new(&sp, stream);
}
void genbo__support_mm_free(genbo__support_mm *p) { genbo__mm_plan_free((genbo__mm_plan *)p); }
void genbo__support_mm_run(genbo__support_mm *p, const void *A, const void *B, float *C) {
    genbo__mm_plan_run((genbo__mm_plan *)p, A, B, NULL, C, NULL);
}

genbo__support_wbuf *genbo__support_wbuf_new(const genbo__support_mm *p, int src_trans) {
    return (genbo__support_wbuf *)genbo__mm_wbuf_new((const genbo__mm_plan *)p, src_trans);
}
void genbo__support_wbuf_free(genbo__support_wbuf *w) { genbo__mm_wbuf_free((genbo__mm_wbuf *)w); }
void genbo__support_wbuf_load(genbo__support_wbuf *w, const float *src) { genbo__mm_wbuf_load((genbo__mm_wbuf *)w, src); }
const void *genbo__support_wbuf_data(const genbo__support_wbuf *w) { return genbo__mm_wbuf_data((const genbo__mm_wbuf *)w); }

int genbo__support_prof_enabled(void) { return genbo__prof_enabled(); }
void genbo__support_prof_reset(void) { genbo__prof_reset(); }
const char *genbo__support_prof_name(int phase) { return genbo__prof_name(phase); }
double genbo__support_prof_get(int phase) { return genbo__prof_get(phase); }
double genbo__support_prof_min(int phase) { return genbo__prof_min(phase); }
