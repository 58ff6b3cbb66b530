/* prof.h - per-phase timers of a training step and a network pass
 * (internal). Compiled in only with -DGENBO_PROFILE=ON (a bench build:
 * bench_diffusion then prints where a step's time goes); otherwise every
 * macro is empty and costs nothing. perf is not available everywhere this
 * runs, and wall-clock per phase is what the roofline question needs. */
#ifndef GENBO_DIFFUSION_PROF_H
#define GENBO_DIFFUSION_PROF_H

typedef enum genbo__prof_phase {
    GENBO__PROF_DRAW,     /* minibatch rows, times, noise */
    GENBO__PROF_WLOAD,    /* fp32 -> bf16 weight reorders */
    GENBO__PROF_INPUT,    /* input rows u (embeddings) and their bf16 copy */
    GENBO__PROF_FWD_MM,   /* forward matrix products */
    GENBO__PROF_FWD_ELT,  /* forward SiLU (+ rounding to bf16) */
    GENBO__PROF_LOSS,     /* loss and dout */
    GENBO__PROF_BWD_DG,   /* backward: input-gradient products */
    GENBO__PROF_BWD_WG,   /* backward: weight-gradient products */
    GENBO__PROF_BWD_ELT,  /* backward: SiLU', rounding, column sums */
    GENBO__PROF_NORM,     /* gradient norm */
    GENBO__PROF_ADAM,     /* AdamW + EMA */
    GENBO__PROF_VAL,      /* validation passes */
    GENBO__PROF_N
} genbo__prof_phase;

#ifdef GENBO_PROFILE
extern double genbo__prof_sec[GENBO__PROF_N];
extern long genbo__prof_calls[GENBO__PROF_N];
double genbo__now(void);
#define GENBO__PROF_START() double genbo__prof_t = genbo__now()
#define GENBO__PROF(phase)                                    \
    do {                                                      \
        double n_ = genbo__now();                             \
        genbo__prof_sec[phase] += n_ - genbo__prof_t;         \
        genbo__prof_calls[phase]++;                           \
        genbo__prof_t = n_;                                   \
    } while (0)
#define GENBO__PROF_SKIP() (genbo__prof_t = genbo__now())
void genbo__prof_step_end(void);
#define GENBO__PROF_STEP_END() genbo__prof_step_end()
#else
#define GENBO__PROF_STEP_END() ((void)0)
#define GENBO__PROF_START() ((void)0)
#define GENBO__PROF(phase) ((void)0)
#define GENBO__PROF_SKIP() ((void)0)
#endif

/* Names of the phases; reset and print (bench). Defined in both builds;
 * genbo__prof_enabled() says whether timers were compiled in. */
const char *genbo__prof_name(int phase);
int genbo__prof_enabled(void);
void genbo__prof_reset(void);
double genbo__prof_get(int phase);
/* The least time of a phase in one training step over the steps since the
 * reset: on a shared machine the sum includes other jobs' time slices,
 * the minimum is close to what the phase costs on a quiet one. */
double genbo__prof_min(int phase);

#endif
