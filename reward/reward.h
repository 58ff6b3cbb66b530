/* reward.h - internal layout of a fitted reward model (steps 1 and 2) and
 * the entry points shared by the reward/ sources. Not installed; tests may include
 * it to read fitted hyper-parameters.
 *
 * Both models work in standardised coordinates: z = (x - x_mean) / x_sd per
 * feature (a constant feature gets x_sd = 1, so it maps to 0 and cannot
 * divide by zero). */
#ifndef GENBO_REWARD_H
#define GENBO_REWARD_H

#include <stddef.h>

#include "genbo.h"

/* Ridge: lambda grid searched by GCV and k-fold CV (log-spaced). */
#define GENBO_RIDGE_GRID_N 40
#define GENBO_RIDGE_GRID_MIN 1e-8
#define GENBO_RIDGE_GRID_MAX 1e4

/* GP: hyper-parameters are tuned on a random subset of at most this many
 * points (O(n^3) per likelihood evaluation), then the model is fitted
 * exactly on all points with the tuned hyper-parameters. */
#define GENBO_GP_TUNE_MAX 1000

/* Rows of a prediction block: keeps the n_block x n_train cross-kernel at
 * about 32 MB whatever the pool size. */
#define GENBO_REWARD_BLOCK_ELEMS ((size_t)1 << 22)
#define GENBO_REWARD_BLOCK_MAX_ROWS 4096

typedef struct genbo__ridge_model {
    genbo_lambda_select select; /* how lambda was chosen */
    int kfold;                  /* folds when select == KFOLD */
    double lambda;
    double score;  /* GCV value or k-fold CV mean squared error at lambda (NaN if FIXED) */
    double y_mean; /* intercept in standardised features */
    double y_sd;   /* sd of the training labels (0: unknown, read from a v1 file) */
    double *theta; /* d: coefficients in standardised features */
    double *ainv;  /* d x d: (Z^T Z + lambda I)^{-1}, when rank == 0 */
    /* Wide data (n < d): A^{-1} = (I - V diag(shrink) V^T) / lambda from the
     * thin SVD Z = U S V^T, stored as Vt (rank x d) and shrink_j =
     * s_j^2 / (s_j^2 + lambda): O(n d) memory instead of O(d^2). */
    size_t rank;
    double *vt;
    double *shrink;
} genbo__ridge_model;

typedef struct genbo__gp_model {
    genbo_kernel kernel;
    int ard;
    size_t n;       /* training points */
    size_t n_tune;  /* points the hyper-parameters were tuned on */
    double *ell;    /* d lengthscales (all equal without ARD) */
    double sf2;     /* signal variance (standardised y) */
    double sn2;     /* noise variance (standardised y) */
    double lml;     /* log marginal likelihood on all n points (standardised y) */
    double y_mean, y_sd;
    double *xs;     /* n x d: standardised training inputs divided by ell */
    double *xs_sq;  /* n: squared row norms of xs */
    double *alpha;  /* n: K^{-1} (y - y_mean) / y_sd */
    double *chol;   /* n x n row-major, lower triangle: K = L L^T (upper unused) */
} genbo__gp_model;

struct genbo_reward {
    genbo_reward_kind kind;
    size_t d;
    double *x_mean; /* d */
    double *x_sd;   /* d */
    genbo__ridge_model ridge;
    genbo__gp_model gp;
    char desc[1024];
};

/* Allocate a model of `kind` with the d-sized arrays (zeroed). */
genbo_reward *genbo__reward_alloc(genbo_reward_kind kind, size_t d);
/* Fill x_mean / x_sd from the data (sd = 1 for a constant feature). */
void genbo__reward_standardise_fit(genbo_reward *m, size_t n, const double *X);
/* Rows [0, n) of X standardised into Z (n x d). */
void genbo__reward_standardise(const genbo_reward *m, size_t n, const double *X, double *Z);
/* Rows of a prediction block for a model with n_train training points. */
size_t genbo__reward_block_rows(size_t n_train);
/* Recompute m->desc from the fitted values. */
void genbo__reward_describe_update(genbo_reward *m);

/* Ridge (ridge.c): m has x_mean / x_sd set. */
int genbo__ridge_fit(genbo_reward *m, const genbo_reward_params *p, size_t n, const double *X,
                     const double *y);
void genbo__ridge_grid(double *lambdas); /* GENBO_RIDGE_GRID_N values */
int genbo__ridge_predict(const genbo_reward *m, size_t n, const double *X, double *mean,
                         double *var);
int genbo__ridge_gradient(const genbo_reward *m, size_t n, double *grad);
int genbo__ridge_covariance(const genbo_reward *m, size_t n, const double *X, double *cov);

/* GP (gp.c) */
int genbo__gp_fit(genbo_reward *m, const genbo_reward_params *p, size_t n, const double *X,
                  const double *y);
int genbo__gp_predict(const genbo_reward *m, size_t n, const double *X, double *mean,
                      double *var);
int genbo__gp_gradient(const genbo_reward *m, size_t n, const double *X, double *grad);
int genbo__gp_covariance(const genbo_reward *m, size_t n, const double *X, double *cov);
/* Rebuild xs_sq after loading. */
void genbo__gp_finish_load(genbo_reward *m);

/* Log marginal likelihood of a GP on (already standardised) data, with its
 * analytic gradient in the log-parameters theta = [log ell (1 or d),
 * log sf2, log sn2]. Exposed for the tests' finite-difference checks. */
typedef struct genbo__gp_lml genbo__gp_lml;
int genbo__gp_lml_create(size_t n, size_t d, const double *Z, const double *y,
                         genbo_kernel kernel, int ard, genbo__gp_lml **out);
/* Returns GENBO_OK and *lml, or GENBO_ENUMERIC if K is not positive definite.
 * grad (may be NULL) has 1 + 2 (or d + 2 with ARD) entries. */
int genbo__gp_lml_eval(genbo__gp_lml *w, const double *theta, double *lml, double *grad);
void genbo__gp_lml_free(genbo__gp_lml *w);

/* Kernel values from squared scaled distances r2 (kernel.c), in place:
 * k = sf2 * g(r2). */
void genbo__kernel_apply(genbo_kernel kernel, double sf2, size_t count, double *r2_to_k);
/* dk/d(r2) for one squared distance. */
double genbo__kernel_dr2(genbo_kernel kernel, double sf2, double r2);
/* Squared distances between the rows of A (m x d) and B (n x d) with
 * precomputed squared norms: out (m x n) = |a|^2 + |b|^2 - 2 A B^T,
 * clamped at 0. */
void genbo__sqdist(size_t m, size_t n, size_t d, const double *A, const double *a_sq,
                   const double *B, const double *b_sq, double *out);
void genbo__row_sqnorms(size_t n, size_t d, const double *A, double *out);

#endif
