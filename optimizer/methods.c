/* methods.c - method names and the sampler settings of each diffusion
 * method. No model code here: callers that only parse names link nothing
 * else. */
#include <stddef.h>
#include <string.h>

#include "core/core.h"
#include "core/fields.h"
#include "optimizer/methods.h"

/* The one list of method names, in genbo__method order: the study file's
 * words, the error message and the docs all come from here. */
#define METHOD_LIST(X)                                                                   \
    X(genbo) X(conditional) X(unguided) X(gradient) X(surrogate_ascent) X(best_labelled) \
    X(random) X(edit) X(reweighted)
#define AS_NAME(m) #m,
#define AS_WORD(m) "|" #m
static const char *const method_names[] = {METHOD_LIST(AS_NAME)};
_Static_assert(sizeof method_names / sizeof method_names[0] == GENBO__METHOD_COUNT,
               "one name per genbo__method");
/* "|genbo|conditional|...": the words start after the first bar */
static const char method_bars[] = METHOD_LIST(AS_WORD);
static const char *const method_words = method_bars + 1;

const char *genbo__method_words(void) { return method_words; }

/* The methods a study compares unless it lists its own (every method but
 * reweighted, which trains a second model), in the order of its tables. */
const char *genbo__method_default_list(void) {
    return "genbo, conditional, unguided, gradient, surrogate_ascent, edit, best_labelled, random";
}

int genbo__method_from_name(const char *name, genbo__method *out) {
    for (int m = 0; name && m < GENBO__METHOD_COUNT; m++)
        if (strcmp(name, method_names[m]) == 0) {
            *out = (genbo__method)m;
            return GENBO_OK;
        }
    return genbo__fail(GENBO_EINVAL, "unknown method '%s' (known: %s)", name ? name : "(null)",
                       method_words);
}

const char *genbo_method_name(int i) { return genbo__method_name((genbo__method)i); }

const char *genbo__method_name(genbo__method m) {
    return (int)m >= 0 && m < GENBO__METHOD_COUNT ? method_names[m] : NULL;
}

int genbo__method_uses_diffusion(genbo__method m) {
    return m == GENBO__METHOD_GENBO || m == GENBO__METHOD_CONDITIONAL ||
           m == GENBO__METHOD_UNGUIDED || m == GENBO__METHOD_GRADIENT ||
           m == GENBO__METHOD_EDIT || m == GENBO__METHOD_REWEIGHTED;
}

int genbo__method_uses_reward(genbo__method m) {
    return m == GENBO__METHOD_GENBO || m == GENBO__METHOD_GRADIENT ||
           m == GENBO__METHOD_SURROGATE_ASCENT || m == GENBO__METHOD_EDIT;
}

int genbo__method_sample_params(genbo__method m, const genbo_sample_params *base,
                                const genbo_reward *reward, uint64_t seed,
                                genbo_sample_params *out) {
    if (!genbo__method_uses_diffusion(m))
        return genbo__fail(GENBO_EINVAL, "method '%s' does not sample from the diffusion model",
                           genbo__method_name(m) ? genbo__method_name(m) : "?");
    genbo_sample_params p = *base;
    p.seed = seed;
    genbo_gradient_guidance grad = base->grad_mode != GENBO_GRAD_NONE ? base->grad_mode
                                                                     : GENBO_GRAD_TARGET;
    switch (m) {
    case GENBO__METHOD_GENBO: /* conditional + CFG + gradient guidance */
        p.conditional = 1;
        p.grad_mode = grad;
        break;
    case GENBO__METHOD_CONDITIONAL: /* conditioning alone */
    case GENBO__METHOD_EDIT:        /* (from given designs: edit.c) */
    case GENBO__METHOD_REWEIGHTED:  /* (on the reweighted model) */
        p.conditional = 1;
        p.grad_mode = GENBO_GRAD_NONE;
        p.grad_eta = 0;
        break;
    case GENBO__METHOD_UNGUIDED: /* the learned data distribution */
        p.conditional = 0;
        p.cfg_weight = 0;
        p.grad_mode = GENBO_GRAD_NONE;
        p.grad_eta = 0;
        break;
    default: /* GRADIENT: gradient guidance without conditioning */
        p.conditional = 0;
        p.cfg_weight = 0;
        p.grad_mode = grad;
        break;
    }
    p.grad = NULL, p.value = NULL, p.grad_ctx = NULL, p.grad_scale = 0;
    if (p.grad_mode != GENBO_GRAD_NONE) {
        if (!reward)
            return genbo__fail(GENBO_EINVAL,
                               "method '%s' needs a reward model for gradient guidance",
                               genbo__method_name(m));
        int rc = genbo_reward_guidance(reward, &p);
        if (rc) return rc;
    }
    *out = p;
    return GENBO_OK;
}

void genbo__generate_sample_default(genbo_sample_params *p) {
    genbo_sample_params_default(p);
    /* The sampler alone has no guiding function, so its default is no
     * gradient guidance; the methods that guide (genbo, gradient) have one
     * (the reward model) and default to Guo et al.'s target-seeking
     * look-ahead at unit strength (eta is unitless: docs/diffusion.md). */
    p->grad_mode = GENBO_GRAD_TARGET;
    p->grad_eta = 1.0;
}

void genbo__select_settings_default(genbo__select_settings *s) {
    memset(s, 0, sizeof *s);
    s->oversample = 4;
    s->kappa = 1.0;
    s->min_distance = 0.5;
    s->sources = GENBO__SOURCE_GUIDED | GENBO__SOURCE_ASCENT | GENBO__SOURCE_POOL |
                 GENBO__SOURCE_LOCAL;
    s->edit_noise = GENBO__EDIT_NOISE;
    s->explore = 0.5;
    s->diversity = GENBO__DIVERSITY_ADAPTIVE;
    s->explore_rule = GENBO__EXPLORE_THOMPSON;
}

/* The range of every selection setting (the study file's [generate] keys
 * read it). edit_noise becomes the sampler's init_noise, whose range is
 * the same open (0, 1) (diffusion/sample.c). The source words are in
 * GENBO__SOURCE_* bit order. */
#define SELF(name, type, lo, hi, flags, words) \
    {#name, GENBO__FIELD_##type, offsetof(genbo__select_settings, name), lo, hi, flags, words}
static const genbo__field select_rows[] = {
    SELF(oversample, INT, 1, 1000, 0, NULL),
    SELF(kappa, DOUBLE, 0, GENBO__FIELD_NOMAX, 0, NULL),
    SELF(min_distance, DOUBLE, 0, GENBO__FIELD_NOMAX, 0, NULL),
    SELF(sources, FLAGS, 0, 0, GENBO__FIELD_NONEMPTY, "guided|edit|reweighted|ascent|pool|local"),
    SELF(edit_noise, DOUBLE, 0, 1, GENBO__FIELD_MIN_OPEN | GENBO__FIELD_MAX_OPEN, NULL),
    SELF(explore, DOUBLE, 0, 1, 0, NULL),
    SELF(diversity, ENUM, 0, 0, 0, "adaptive|fixed"),
    SELF(explore_rule, ENUM, 0, 0, 0, "thompson|ucb"),
};
#undef SELF
const genbo__fields genbo__select_fields = GENBO__FIELDS("select", select_rows);
