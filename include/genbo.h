/*
 * genbo.h - the one public header of genbo, a generative black-box
 * optimisation engine (reward learning -> pseudo-labelling ->
 * reward-conditioned diffusion -> guided generation).
 *
 * Conventions (the same everywhere in this header):
 *   - Every function that can fail returns an int status: GENBO_OK (0) or a
 *     positive GENBO_E* code. After a failure genbo_errmsg() returns a
 *     readable message naming the file, line, column or field at fault.
 *     The message is thread-local and lives until the next failing call on
 *     the same thread.
 *   - Handles are opaque. Whatever genbo_*_create/_open/_fit/_train/_load
 *     returns through an out-pointer is owned by the caller and released
 *     with the matching genbo_*_free/_close (which accept NULL).
 *   - Matrices are row-major, n rows by d columns, as flat double arrays.
 *     Input buffers are only read during the call (never kept); output
 *     buffers are allocated by the caller unless a function says otherwise.
 *   - The library never prints and never calls exit(). Long work reports
 *     progress through an optional genbo_progress_fn callback.
 *   - On failure nothing is returned through out-pointers (they are set to
 *     NULL / left untouched) and nothing partially built leaks.
 */
#ifndef GENBO_H
#define GENBO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GENBO_VERSION_MAJOR 0
#define GENBO_VERSION_MINOR 1
#define GENBO_VERSION_PATCH 0
#define GENBO_VERSION_STRING "0.1.0"

/* GENBO_API marks every function of this header as exported. The library
 * is compiled with -fvisibility=hidden, so its internal functions stay out
 * of libgenbo.so's symbol table and only what is declared here is the ABI
 * (tests/test_symbols.py checks both ways). New declarations need it too. */
#ifndef GENBO_API
#if defined(__GNUC__) && __GNUC__ >= 4
#define GENBO_API __attribute__((visibility("default")))
#else
#define GENBO_API
#endif
#endif

/* ------------------------------------------------------------------ */
/* Status codes and errors                                             */
/* ------------------------------------------------------------------ */

enum genbo_status {
    GENBO_OK = 0,
    GENBO_EINVAL = 1,    /* bad argument or bad value in a config / input */
    GENBO_EIO = 2,       /* file could not be opened, read or written */
    GENBO_ENOMEM = 3,    /* allocation failed */
    GENBO_EFORMAT = 4,   /* malformed file: CSV, model file, study file */
    GENBO_ENUMERIC = 5,  /* numerical failure (matrix not positive definite, NaN) */
    GENBO_ENOTFOUND = 6, /* unknown study, trial, column, ... */
    GENBO_ESTATE = 7,    /* call not valid in this state (e.g. trial already told) */
    GENBO_EDB = 8,       /* SQLite error */
    GENBO_EVERSION = 9,  /* file or database written by another format version */
    GENBO_ETIMEOUT = 10, /* external evaluator timed out */
    GENBO_EEXTERNAL = 11 /* external evaluator failed (crash, bad output) */
};

/* Readable message for the last failure on this thread ("" if none). */
GENBO_API const char *genbo_errmsg(void);
/* Short name of a status code, e.g. "GENBO_EINVAL". */
GENBO_API const char *genbo_strstatus(int status);
/* Library version string, e.g. "0.1.0". */
GENBO_API const char *genbo_version(void);

/* Progress callback: stage is a short static name ("reward", "train",
 * "sample", ...), done/total count units of work (total may be 0 when
 * unknown), msg is a short human-readable detail (may be NULL). Return
 * non-zero to ask the library to stop early (the call then fails with
 * GENBO_ESTATE and "interrupted"). */
typedef int (*genbo_progress_fn)(void *ctx, const char *stage, long done, long total,
                                 const char *msg);

/* ------------------------------------------------------------------ */
/* Linear-algebra back end                                             */
/* ------------------------------------------------------------------ */

typedef struct genbo_blas_info {
    char corename[64]; /* OpenBLAS kernel in use, e.g. "Haswell", "Prescott" */
    char config[256];  /* openblas_get_config() */
    int threads;       /* OpenBLAS threads */
    int cpu_has_avx2;  /* the CPU supports AVX2 and FMA */
    int slow_kernel;   /* 1 if the kernel is a generic one while the CPU could
                          run a much faster one (set OPENBLAS_CORETYPE=Haswell
                          or newer before the process starts) */
    /* the bf16 back end of the diffusion network (oneDNN) */
    char dnnl_isa[32]; /* instruction set oneDNN runs, "none" without oneDNN */
    int bf16;          /* 1: native bf16 matrix products, precision auto = bf16 */
} genbo_blas_info;

GENBO_API void genbo_get_blas_info(genbo_blas_info *info);
/* Number of threads OpenBLAS and oneDNN's OpenMP use (<= 0 leaves the
 * default); the two always run with the same count. */
GENBO_API void genbo_set_threads(int threads);

/* ------------------------------------------------------------------ */
/* Datasets (datasets/)                                                */
/* ------------------------------------------------------------------ */

typedef struct genbo_dataset genbo_dataset;

typedef struct genbo_csv_options {
    /* Name of the reward column; NULL means: a column named "reward" if
     * there is one, else the data are unlabelled. "" forces unlabelled
     * (a column named "reward" is then ignored, not read as a feature). */
    const char *reward_column;
    /* Name of an id column (kept as text, not a feature); NULL = "id" if
     * present, "" = none. */
    const char *id_column;
    /* Column names to ignore entirely (NULL-terminated list, may be NULL). */
    const char *const *skip_columns;
} genbo_csv_options;

/* Read a CSV file with a header row. opts may be NULL (defaults). */
GENBO_API int genbo_dataset_read_csv(const char *path, const genbo_csv_options *opts,
                                     genbo_dataset **out);
/* Write a dataset as CSV (features, then "reward" if labelled). */
GENBO_API int genbo_dataset_write_csv(const genbo_dataset *ds, const char *path);
/* Build a dataset from arrays (copied). y may be NULL (unlabelled);
 * names may be NULL (x0, x1, ...). */
GENBO_API int genbo_dataset_create(size_t n, size_t d, const double *X, const double *y,
                                   const char *const *names, genbo_dataset **out);
GENBO_API void genbo_dataset_free(genbo_dataset *ds);

GENBO_API size_t genbo_dataset_rows(const genbo_dataset *ds);
GENBO_API size_t genbo_dataset_dim(const genbo_dataset *ds);
/* Borrowed pointers, valid while ds lives. y is NULL if unlabelled. */
GENBO_API const double *genbo_dataset_x(const genbo_dataset *ds);
GENBO_API const double *genbo_dataset_y(const genbo_dataset *ds);
GENBO_API const char *genbo_dataset_column_name(const genbo_dataset *ds, size_t j);
GENBO_API const char *genbo_dataset_id(const genbo_dataset *ds, size_t i); /* NULL if no ids */

/* ------------------------------------------------------------------ */
/* Synthetic tasks with a true reward (datasets/)                      */
/* ------------------------------------------------------------------ */

typedef struct genbo_task genbo_task;

typedef enum genbo_task_kind {
    /* x = A z, A (D x d) orthonormal columns, z ~ N(0, I_d);
     * f*(x) = theta^T x, theta = A beta (+ off-subspace part). */
    GENBO_TASK_SUBSPACE_LINEAR = 0,
    /* same data, f*(x) = c - 1/2 ||z - z*||^2 with z = A^T x (optimum
     * inside the data). */
    GENBO_TASK_SUBSPACE_QUADRATIC = 1,
    /* sequences of seq_len points in R^seq_dim, covariance
     * Gamma (x) Lambda with a stationary kernel over time; flattened. */
    GENBO_TASK_GP_SEQUENCE = 2,
    /* x = A phi(u), u ~ N(0, I_k), k = manifold_dim: a curved k-dim
     * manifold inside the d-dim subspace; f*(x) = c - 1/2 ||A^T x - z*||^2
     * - 10 dist(x)^2 (designs off the manifold are invalid and score low;
     * best valid design 2.0); support distance = Euclidean distance to the
     * manifold (docs/datasets.md). */
    GENBO_TASK_CURVED_MANIFOLD = 3
} genbo_task_kind;

typedef struct genbo_task_params {
    genbo_task_kind kind;
    int D;             /* ambient dimension (subspace tasks) */
    int d;             /* subspace dimension (subspace tasks) */
    double off_ratio;  /* ||theta_perp|| / ||theta_par||; 0 = on the subspace */
    double noise_sd;   /* observation noise of labels */
    int seq_len;       /* GP sequences: time points N */
    int seq_dim;       /* GP sequences: dimension per time point */
    double lengthscale;/* GP sequences: kernel lengthscale over time */
    uint64_t seed;     /* seeds A, theta, ... (the task itself) */
    int manifold_dim;  /* curved manifold: intrinsic dimension k, 1 <= k < d */
} genbo_task_params;

/* Fill defaults: subspace linear, D = 64, d = 16, noise 0.1, seed 1,
 * manifold_dim 3. */
GENBO_API void genbo_task_params_default(genbo_task_params *p);
GENBO_API int genbo_task_create(const genbo_task_params *p, genbo_task **out);
GENBO_API void genbo_task_free(genbo_task *t);
GENBO_API size_t genbo_task_dim(const genbo_task *t);
/* Draw n designs from the data distribution. X: n x dim. */
GENBO_API int genbo_task_sample(const genbo_task *t, size_t n, uint64_t seed, double *X);
/* Noiseless true reward f*(x). */
GENBO_API int genbo_task_oracle(const genbo_task *t, size_t n, const double *X, double *y);
/* Support distance per design (0 on the data's support). */
GENBO_API int genbo_task_support_distance(const genbo_task *t, size_t n, const double *X,
                                          double *dist);
/* Labelled set (n_label designs with noisy rewards) and unlabelled pool
 * (n_unlabel designs, no rewards), drawn independently with seed. */
GENBO_API int genbo_task_split(const genbo_task *t, size_t n_label, size_t n_unlabel, uint64_t seed,
                               genbo_dataset **labelled, genbo_dataset **pool);

/* ------------------------------------------------------------------ */
/* Reward models: steps 1 and 2 (reward/)                              */
/* ------------------------------------------------------------------ */

typedef struct genbo_reward genbo_reward;

typedef enum genbo_reward_kind {
    GENBO_REWARD_RIDGE = 0,
    GENBO_REWARD_GP = 1 /* kernel ridge / Gaussian-process regression */
} genbo_reward_kind;

typedef enum genbo_kernel { GENBO_KERNEL_RBF = 0, GENBO_KERNEL_MATERN52 = 1 } genbo_kernel;

typedef enum genbo_lambda_select {
    GENBO_LAMBDA_GCV = 0,   /* generalised cross-validation over a grid */
    GENBO_LAMBDA_KFOLD = 1, /* k-fold CV over a grid */
    GENBO_LAMBDA_FIXED = 2  /* use lambda as given */
} genbo_lambda_select;

typedef struct genbo_reward_params {
    genbo_reward_kind kind;
    /* ridge */
    genbo_lambda_select lambda_select;
    double lambda; /* used when FIXED */
    int kfold;     /* folds for KFOLD (default 5) */
    /* GP */
    genbo_kernel kernel;
    int ard;             /* one lengthscale per feature */
    int max_evals;       /* NLopt evaluations per restart (default 200) */
    int restarts;        /* random restarts of the likelihood maximisation */
    uint64_t seed;
} genbo_reward_params;

GENBO_API void genbo_reward_params_default(genbo_reward_params *p); /* ridge, GCV */
GENBO_API int genbo_reward_fit(const genbo_reward_params *p, size_t n, size_t d, const double *X,
                               const double *y, genbo_reward **out);
GENBO_API void genbo_reward_free(genbo_reward *m);
GENBO_API size_t genbo_reward_dim(const genbo_reward *m);
GENBO_API genbo_reward_kind genbo_reward_get_kind(const genbo_reward *m);

/* Predictive mean of n designs; var (may be NULL) receives the predictive
 * uncertainty: for ridge x^T (X^T X + lambda I)^{-1} x in standardised
 * features, for the GP the posterior variance of f. Batched through BLAS:
 * pseudo-labelling a pool is one call. */
GENBO_API int genbo_reward_predict(const genbo_reward *m, size_t n, const double *X, double *mean,
                                   double *var);
/* Joint predictive covariance of n designs (cov: n x n, row-major), the
 * off-diagonal companion of genbo_reward_predict's var (its diagonal is
 * that var, in the same units): for the GP the posterior covariance of f,
 * for ridge z_i^T (Z^T Z + lambda I)^{-1} z_j in standardised features.
 * O(n^2) memory: meant for candidate sets (posterior draws), not pools. */
GENBO_API int genbo_reward_covariance(const genbo_reward *m, size_t n, const double *X,
                                      double *cov);
/* Gradient of the predictive mean, grad: n x d. */
GENBO_API int genbo_reward_gradient(const genbo_reward *m, size_t n, const double *X, double *grad);

/* Fitted hyper-parameters as readable text, e.g. "lambda=0.01 (GCV)". */
GENBO_API const char *genbo_reward_describe(const genbo_reward *m);
/* k-fold cross-validated RMSE of the settings p on (X, y) (what `genbo fit`
 * reports): the rows shuffled with p->seed, fold f = every k-th row of
 * that order from f, predicted by a model of the same settings fitted on
 * the other folds. 2 <= k <= n. */
GENBO_API int genbo_reward_cv_rmse(const genbo_reward_params *p, size_t n, size_t d, const double *X,
                                   const double *y, int k, double *rmse);

/* Versioned binary format with a checksum. A file of another version or a
 * corrupt one fails with GENBO_EVERSION / GENBO_EFORMAT. */
GENBO_API int genbo_reward_save(const genbo_reward *m, const char *path);
GENBO_API int genbo_reward_load(const char *path, genbo_reward **out);
/* The same format in memory (for SQLite BLOBs): *buf is malloc'ed, the
 * caller frees it with free(). */
GENBO_API int genbo_reward_save_buffer(const genbo_reward *m, void **buf, size_t *len);
GENBO_API int genbo_reward_load_buffer(const void *buf, size_t len, genbo_reward **out);

/* ------------------------------------------------------------------ */
/* Reward-conditioned diffusion: steps 3 and 4 (diffusion/)            */
/* ------------------------------------------------------------------ */

typedef struct genbo_diffusion genbo_diffusion;

typedef enum genbo_schedule {
    GENBO_SCHEDULE_OU = 0,         /* dX = -1/2 X dt + dW: alpha_t = e^{-t/2} */
    GENBO_SCHEDULE_LINEAR_VP = 1   /* linear beta(t) VP SDE */
} genbo_schedule;

typedef enum genbo_time_sampling {
    GENBO_TIME_LOG_UNIFORM = 0, /* log t uniform on [log t0, log T] (default) */
    GENBO_TIME_UNIFORM = 1
} genbo_time_sampling;

/* Why a training stopped (genbo_train_report.stop). */
typedef enum genbo_train_stop {
    GENBO_STOP_STEPS = 0,       /* ran the requested fixed number of steps */
    GENBO_STOP_CONVERGED = 1,   /* steps = auto: validation loss stopped improving */
    GENBO_STOP_MAX_STEPS = 2,   /* steps = auto: step budget hit before converging */
    GENBO_STOP_MAX_SECONDS = 3, /* steps = auto: wall-clock budget hit before converging */
    GENBO_STOP_INTERRUPTED = 4  /* the progress callback asked to stop (call failed) */
} genbo_train_stop;

/* steps = GENBO_STEPS_AUTO: train until the validation loss stops
 * improving (patience / tol), at most max_steps steps and max_seconds. */
#define GENBO_STEPS_AUTO 0L

/* What one training did (filled when genbo_diffusion_params.report != NULL,
 * also when it fails by interruption). */
typedef struct genbo_train_report {
    genbo_train_stop stop;
    long steps;           /* optimiser steps in total (a resumed training counts
                             the steps before the checkpoint) */
    long best_step;       /* step of the best validation loss (auto: the returned
                             weights are those of this step) */
    double best_val_loss; /* best validation loss (NaN without a validation split) */
    double val_loss;      /* validation loss at the last evaluation (NaN if none) */
    double train_loss;    /* mean training loss over the last evaluation interval */
    double seconds;       /* wall-clock of the training (a resumed one adds the
                             time before its checkpoint) */
    long resumed_from;    /* step of the checkpoint it resumed from (0 = none) */
    size_t n_train, n_val;/* rows used for training and held out */
    uint64_t val_seed;    /* seed of the validation split */
    int width, depth, batch; /* the resolved network and batch size */
} genbo_train_report;

/* One evaluation of the training (every eval_every steps and at the end). */
typedef struct genbo_train_point {
    long step;            /* steps done */
    double train_loss;    /* mean training loss since the previous point */
    double val_loss;      /* EMA weights on the fixed validation draws (NaN: none) */
    double lr;            /* learning rate at this step */
    double seconds;       /* since the training (first, if resumed) started */
} genbo_train_point;
/* Return non-zero to stop (as the progress callback would). */
typedef int (*genbo_train_eval_fn)(void *ctx, const genbo_train_point *pt);
/* A checkpoint of the whole training state (weights, Adam moments, EMA,
 * best weights, RNG, step, schedule, best-so-far): buf is only valid
 * during the call. Pass it back as resume / resume_len to continue.
 * Return non-zero to fail the training. */
typedef int (*genbo_checkpoint_fn)(void *ctx, long step, const void *buf, size_t len);
/* Arithmetic of the score network's matrix products. bf16: bf16 inputs,
 * fp32 accumulation (oneDNN, AMX or AVX512-BF16), with fp32 master
 * weights, optimiser state and loss; fp32: OpenBLAS sgemm. auto = bf16
 * where the CPU has native bf16, else fp32. Asking for bf16 on a CPU
 * without it fails with GENBO_EINVAL (no silent fallback). Results are
 * bit-reproducible for a given precision and thread count. */
typedef enum genbo_precision {
    GENBO_PRECISION_AUTO = 0,
    GENBO_PRECISION_FP32 = 1,
    GENBO_PRECISION_BF16 = 2
} genbo_precision;

/* The precision `p` runs at on this machine (auto resolved), or -1 with
 * the error message set if it cannot run here. */
GENBO_API int genbo_precision_resolve(genbo_precision p);
/* "auto", "fp32", "bf16" */
GENBO_API const char *genbo_precision_name(genbo_precision p);

typedef struct genbo_diffusion_params {
    /* network (0 = auto from the data: docs/diffusion.md "Automatic sizes") */
    int width;       /* hidden width (default 0 = auto) */
    int depth;       /* residual blocks (default 3) */
    int t_embed;     /* sinusoidal time-embedding size (default 64) */
    int y_embed;     /* sinusoidal reward-embedding size (default 64) */
    /* process */
    genbo_schedule schedule;
    double t0, T;    /* time interval (defaults 1e-3, 10) */
    genbo_time_sampling time_sampling;
    /* training */
    long steps;      /* optimiser steps, or GENBO_STEPS_AUTO (default) */
    int batch;       /* batch size (default 0 = auto) */
    double lr;       /* peak learning rate (default 2e-3) */
    double weight_decay; /* AdamW decoupled weight decay (default 0) */
    double clip;     /* global gradient-norm clip, 0 = none (default 1) */
    double warmup;   /* fixed steps: fraction of steps of linear warm-up (0.02);
                        auto: warm-up over the first eval_every steps */
    double ema;      /* EMA decay of the weights used for sampling (0.999) */
    double p_uncond; /* condition dropout probability (default 0.1) */
    uint64_t seed;
    genbo_progress_fn progress; /* may be NULL */
    void *progress_ctx;
    /* validation and stopping */
    double val_fraction; /* rows held out for validation (default 0.1, at most
                            GENBO_VAL_MAX_ROWS; 0 = none: auto then runs to max_steps) */
    long eval_every;     /* steps between validations (default 250) */
    int patience;        /* auto: stop after this many evaluations without a
                            relative improvement > tol (default 6); the lr halves
                            every patience/3 of them */
    double tol;          /* relative improvement that counts (default 0.005) */
    long max_steps;      /* auto: step budget (default 50000) */
    double max_seconds;  /* auto: wall-clock budget, 0 = none (default 0) */
    /* reporting, checkpoints, resume (all optional) */
    genbo_train_report *report;     /* caller-owned; filled before the call returns */
    genbo_train_eval_fn on_eval;    /* called at each evaluation (may be NULL) */
    void *eval_ctx;                 /* passed to on_eval */
    genbo_checkpoint_fn checkpoint; /* receives checkpoints (may be NULL) */
    void *checkpoint_ctx;           /* passed to checkpoint */
    double checkpoint_seconds; /* at an evaluation at least this long after the
                                  last checkpoint (default 30; 0 = every one);
                                  also on interruption */
    const void *resume;  /* a checkpoint buffer to continue from (NULL = fresh);
                            read during the call only. One made on other data,
                            seed or network fails with GENBO_ESTATE. */
    size_t resume_len;
    /* Weighted training (DDOM-style reweighting): n finite non-negative
     * weights, one per row of X (those of the held-out validation rows are
     * unused), read during the call only; minibatch rows are drawn with
     * probability proportional to them (an alias table: O(1) a draw).
     * NULL = uniform. */
    const double *row_weights;
    genbo_precision precision;  /* default auto */
} genbo_diffusion_params;

/* Validation rows are capped at this many (the fixed draws: docs/diffusion.md). */
#define GENBO_VAL_MAX_ROWS 2000

GENBO_API void genbo_diffusion_params_default(genbo_diffusion_params *p);
/* Replace the auto fields (width = 0, batch = 0) by the sizes a training
 * on n rows of dimension D would use (docs/diffusion.md "Automatic
 * sizes"); other fields are left as they are. */
GENBO_API void genbo_diffusion_params_resolve(genbo_diffusion_params *p, size_t n, size_t D);

/* Train on n designs X (n x D) with rewards y (pseudo-labels; NULL trains
 * an unconditional model). Data are standardised per feature internally
 * and samples are mapped back. A seeded val_fraction of the rows is held
 * out; with steps = GENBO_STEPS_AUTO the best weights by validation loss
 * are returned (docs/diffusion.md "Training to convergence"). */
GENBO_API int genbo_diffusion_train(const genbo_diffusion_params *p, size_t n, size_t D,
                                    const double *X, const double *y, genbo_diffusion **out);
/* Continue training an existing model (fine-tuning on new data); uses
 * p's optimiser settings, keeps the network shape and standardisation. */
GENBO_API int genbo_diffusion_finetune(genbo_diffusion *m, const genbo_diffusion_params *p,
                                       size_t n, const double *X, const double *y);
GENBO_API void genbo_diffusion_free(genbo_diffusion *m);
GENBO_API size_t genbo_diffusion_dim(const genbo_diffusion *m);
/* The precision the model was trained at (fp32 or bf16; a loaded model:
 * auto resolved on this machine). Sampling and the score use it unless
 * genbo_sample_params.precision says otherwise. */
GENBO_API genbo_precision genbo_diffusion_precision(const genbo_diffusion *m);
/* The network and the arithmetic it runs as readable text, e.g. "D 64,
 * width 256, depth 3, bf16 (oneDNN avx512_core_amx)" (valid until the
 * next call in the same thread). */
GENBO_API const char *genbo_diffusion_describe(const genbo_diffusion *m);

typedef enum genbo_sampler {
    GENBO_SAMPLER_EULER_MARUYAMA = 0, /* backward SDE */
    GENBO_SAMPLER_ANCESTRAL = 1,      /* DDPM-style / exponential integrator */
    GENBO_SAMPLER_HEUN_ODE = 2        /* probability-flow ODE, Heun */
} genbo_sampler;

typedef enum genbo_gradient_guidance {
    GENBO_GRAD_NONE = 0,
    GENBO_GRAD_LOOKAHEAD = 1, /* linear tilt, gradient at the Tweedie estimate x0_hat */
    GENBO_GRAD_NAIVE = 2,     /* linear tilt, gradient at x_t */
    GENBO_GRAD_TARGET = 3     /* Guo et al.'s look-ahead: seek f = target, normalised step */
} genbo_gradient_guidance;

/* Gradient guidance callbacks (NLopt style: a function plus its context).
 * Both get n designs X (n x D, row-major, original units). grad fills
 * grad_out (n x D) with the gradient of the guiding function f; value fills
 * f_out (n) with f itself (needed by GENBO_GRAD_TARGET only). Return
 * GENBO_OK or a genbo status (the sampler stops with it). */
typedef int (*genbo_grad_fn)(void *ctx, size_t n, const double *X, double *grad_out);
typedef int (*genbo_value_fn)(void *ctx, size_t n, const double *X, double *f_out);

typedef struct genbo_sample_params {
    genbo_sampler sampler;
    int steps;            /* default 200 */
    int conditional;      /* 1: condition on the target; 0: unconditional */
    double cfg_weight;    /* classifier-free guidance w (default 0) */
    genbo_gradient_guidance grad_mode;
    double grad_eta;      /* gradient-guidance strength, unitless (see grad_scale;
                             default 0) */
    genbo_grad_fn grad;   /* gradient of f (required by every grad_mode but NONE) */
    genbo_value_fn value; /* f itself (required by GENBO_GRAD_TARGET) */
    void *grad_ctx;       /* passed to grad and value; must outlive the sampling */
    /* The spread of f's values (e.g. the sd of the labels f was fitted on):
     * guidance works on f / grad_scale, so one grad_eta suits every reward
     * unit. 0 = the pseudo-label sd the model was trained with. */
    double grad_scale;
    uint64_t seed;
    genbo_progress_fn progress;
    void *progress_ctx;
    /* Editing given designs (SDEdit): when init is not NULL, sampling does
     * not start from noise at T but from the n designs init (n x D,
     * original units) noised to the time t_s where sigma_{t_s}^2 =
     * init_noise (0 < init_noise < 1: the share of each design's variance
     * replaced by noise; t_s is clamped to [t0, T]), and runs the reverse
     * process from t_s on the same geometric grid density as from T (about
     * steps x log(t_s/t0) / log(T/t0) steps). NULL (the default) = from noise.
     * init is read during the call only. */
    const double *init;
    double init_noise;
    genbo_precision precision; /* auto (default) = the model's precision, but fp32
                                  for passes of at most 2 rows (1-2 designs) */
} genbo_sample_params;

GENBO_API void genbo_sample_params_default(genbo_sample_params *p);
/* Make a reward model's predictive mean the guiding function (reward/):
 * fills p->grad, p->value, p->grad_ctx (= m, which must outlive the
 * sampling) and p->grad_scale (the sd of the labels m was fitted on; 0 for
 * a ridge model read from a version-1 file). */
GENBO_API int genbo_reward_guidance(const genbo_reward *m, genbo_sample_params *p);

/* Generate n designs at target reward `target` into X (n x D). Same seed
 * and thread count give bit-identical samples. */
GENBO_API int genbo_diffusion_sample(const genbo_diffusion *m, const genbo_sample_params *p,
                                     double target, size_t n, double *X);

/* The learned score s(x, y, t) in the original (unstandardised) data
 * coordinates, for n designs at time t. y == NULL asks for the
 * unconditional score. score: n x D. */
GENBO_API int genbo_diffusion_score(const genbo_diffusion *m, size_t n, const double *X,
                                    const double *y, double t, double *score);

/* Versioned binary with a checksum. */
GENBO_API int genbo_diffusion_save(const genbo_diffusion *m, const char *path);
GENBO_API int genbo_diffusion_load(const char *path, genbo_diffusion **out);
GENBO_API int genbo_diffusion_save_buffer(const genbo_diffusion *m, void **buf, size_t *len);
GENBO_API int genbo_diffusion_load_buffer(const void *buf, size_t len, genbo_diffusion **out);

/* ------------------------------------------------------------------ */
/* Studies: the optimizer pipeline, ask/tell, SQLite (optimizer/, studies/) */
/* ------------------------------------------------------------------ */

/* A resolved study configuration (the study file's sections and keys;
 * every key, its default and range: docs/studies.md). */
typedef struct genbo_config genbo_config;

/* Parse an INI study file. Unknown sections/keys, bad values and data files
 * that cannot be read fail with a message naming file, line and key
 * ("study.ini:12: [diffusion] steps: 'abc' is not an integer"). Relative
 * data paths are resolved from the study file's directory. */
GENBO_API int genbo_config_load(const char *path, genbo_config **out);
/* A configuration with every key at its default. */
GENBO_API int genbo_config_default(genbo_config **out);
/* Set one key as the study file would ("diffusion", "steps", "2000"). A
 * rejected value leaves the configuration unchanged. */
GENBO_API int genbo_config_set(genbo_config *cfg, const char *section, const char *key,
                               const char *value);
/* Resolved configuration as INI text (malloc'ed, caller frees): every key
 * in a fixed order, so equal texts mean equal configurations. */
GENBO_API char *genbo_config_to_ini(const genbo_config *cfg);
GENBO_API void genbo_config_free(genbo_config *cfg);

typedef struct genbo_study genbo_study;

enum { GENBO_OPEN_READONLY = 1, GENBO_OPEN_CREATE = 2 };

/* Open study `name` in database `db_path` (an SQLite file, created and
 * migrated as needed unless READONLY). With GENBO_OPEN_CREATE and a config,
 * the study is created if missing; a config given for an existing study
 * replaces its stored one. Without a config the stored one is used. Without
 * GENBO_OPEN_CREATE the database file must exist. Missing database or
 * study: GENBO_ENOTFOUND. Any number of processes may open the same study. */
GENBO_API int genbo_study_open(const char *db_path, const char *name, const genbo_config *cfg,
                               int flags, genbo_study **out);
GENBO_API void genbo_study_close(genbo_study *s);
/* Design dimension (loads the study's data if no run recorded it yet);
 * 0 on failure. */
GENBO_API size_t genbo_study_dim(const genbo_study *s);

/* Run the whole pipeline (reward learning, pseudo-labelling, diffusion
 * training, guided generation at every target, baselines, metrics, design
 * rounds), persisting each step. Resumes the newest unfinished run with the
 * same configuration from its last completed step; otherwise starts a new
 * run. A non-zero return from `progress` stops it (GENBO_ESTATE). */
GENBO_API int genbo_study_run(genbo_study *s, genbo_progress_fn progress, void *ctx);

/* Ask for n designs at target a. trial_ids (n) and designs (n x dim) are
 * caller-allocated. Trials are durable when this returns. Uses the newest
 * run's models (training them first if the study has none: slow); refits
 * the reward model first when tells arrived since it was fitted. */
GENBO_API int genbo_study_ask(genbo_study *s, double target, size_t n, int64_t *trial_ids,
                              double *designs);
/* What the trust region did to a design (trials.flags in the database):
 * every design genbo returns is finite and inside the trust region
 * ([constraints]: bounds per feature, by default the data's range widened
 * by `margin` data sd, and an optional simplex); one that was not is
 * marked. */
enum {
    GENBO_DESIGN_PROJECTED = 1, /* was outside the region: projected onto it */
    GENBO_DESIGN_RESAMPLED = 2  /* the sampler diverged: drawn again with another seed */
};
/* The GENBO_DESIGN_* flags of a trial (0 = untouched); GENBO_ENOTFOUND for
 * an unknown trial. */
GENBO_API int genbo_study_trial_flags(genbo_study *s, int64_t trial_id, unsigned *flags);

/* Trials of workers that died (studies/stale.c, Optuna's heartbeat rule):
 * fail every asked trial of s with no tell and no heartbeat for `timeout`
 * seconds (<= 0: [ask] timeout, else twice [ask] heartbeat; GENBO_EINVAL
 * when neither is set), with the reason "stale: ...". Every ask does this
 * first when the study file sets a timeout or heartbeat. n_failed may be
 * NULL. */
GENBO_API int genbo_study_fail_stale(genbo_study *s, double timeout, size_t *n_failed);
/* A sign of life of the worker evaluating an asked trial (trials.heartbeat
 * = now): call it at least every [ask] heartbeat seconds during a long
 * evaluation. GENBO_ENOTFOUND / GENBO_ESTATE (already told or failed). */
GENBO_API int genbo_study_heartbeat(genbo_study *s, int64_t trial_id);

/* Tell the observed reward of a trial (durable when it returns). Unknown
 * trials fail with GENBO_ENOTFOUND, already told/failed ones with
 * GENBO_ESTATE, non-finite values with GENBO_EINVAL. */
GENBO_API int genbo_study_tell(genbo_study *s, int64_t trial_id, double value);
GENBO_API int genbo_study_tell_failed(genbo_study *s, int64_t trial_id, const char *reason);

/* ------------------------------------------------------------------ */
/* Studies without a run, the catalogue of a database, reads          */
/* (studies/catalog.c, studies/read.c, studies/ask.c)                  */
/* ------------------------------------------------------------------ */

/* The generation methods a study can compare ([generate] methods, [loop]
 * method, ask's method), from the one list in optimizer/methods.c:
 * method i's name ("genbo", "conditional", ...), NULL past the last. */
GENBO_API const char *genbo_method_name(int i);

/* Set one field of a library parameter struct by its study-file key, with
 * the study file's words, ranges and messages (the same table: README,
 * "Every key"): genbo_reward_params_set(&p, "lambda", "0.5") as [reward]
 * lambda = 0.5, "model" = ridge|gp, "kernel", "kfold", ...; the diffusion
 * struct takes the [diffusion] keys that are its fields, the sample struct
 * the [generate] sampler keys (sampler, steps, cfg_weight, grad_mode,
 * grad_eta). Unknown key: GENBO_ENOTFOUND; a bad value: GENBO_EINVAL
 * ("[reward] lambda: '-1' is not gcv, kfold or a number >= 0") and *p is
 * unchanged. */
GENBO_API int genbo_reward_params_set(genbo_reward_params *p, const char *key, const char *value);
GENBO_API int genbo_diffusion_params_set(genbo_diffusion_params *p, const char *key,
                                         const char *value);
GENBO_API int genbo_sample_params_set(genbo_sample_params *p, const char *key, const char *value);

/* One key's resolved value as genbo_config_to_ini writes it ("ridge",
 * "p50, p90, max", "4000") into buf (size bytes, truncated to fit).
 * Unknown section or key: GENBO_ENOTFOUND. */
GENBO_API int genbo_config_get(const genbo_config *cfg, const char *section, const char *key,
                               char *buf, size_t size);

/* A database (db_path everywhere) is an SQLite file path or a PostgreSQL
 * URL, postgresql://USER@HOST:PORT/DBNAME or postgres://... (libpq's
 * connection URI: PGPASSWORD, ~/.pgpass and the PG* variables apply; a
 * password is masked as *** in every message and never stored). 1 when
 * this genbo was built with PostgreSQL support (libpq). */
GENBO_API int genbo_postgresql_available(void);
/* db as it may be shown: any password replaced by *** (out: size bytes). */
GENBO_API void genbo_db_label(const char *db, char *out, size_t size);
/* Copy study `name` (NULL = every study) from database `from` to `to`
 * (either kind, either way; `to` is created or migrated as needed), every
 * row of every table, in one transaction. Ids are kept when `to` has none
 * of them, else renumbered consistently. GENBO_ESTATE when `to` has a
 * study of that name; *n_rows (may be NULL) = rows copied. */
GENBO_API int genbo_db_copy(const char *from, const char *to, const char *name, size_t *n_rows);

/* Create the study cfg describes ([study] name) in db_path (the database is
 * created if missing) and check its data now: the CSV files are read (or
 * the synthetic task drawn), so a bad file fails here, naming it, not at
 * the first ask. An existing study of that name with the same resolved
 * configuration is opened as it is; one with a different configuration
 * fails with GENBO_ESTATE (delete it first). out may be NULL. */
GENBO_API int genbo_study_create(const char *db_path, const genbo_config *cfg, genbo_study **out);
/* Delete a study and everything it owns (runs, models, trials, metrics).
 * Fails with GENBO_ESTATE while a `genbo run` of it holds its run lock,
 * GENBO_ENOTFOUND for a missing database or study. */
GENBO_API int genbo_study_delete(const char *db_path, const char *name);

/* Train what ask needs when the study has no models yet (data, reward
 * model, pseudo-labels, diffusion model: the long step, minutes), with
 * progress through `progress` (may be NULL). A non-zero return from it
 * cancels: GENBO_ESTATE "interrupted"; what was completed is kept and the
 * next prepare or ask goes on from there. A no-op when models exist.
 * genbo_study_ask prepares without progress. */
GENBO_API int genbo_study_prepare(genbo_study *s, genbo_progress_fn progress, void *ctx);

typedef struct genbo_ask_options {
    const char *target; /* "p90", "max" or a number, resolved as in the study
                           file (pQ: Q-th percentile of the pool's
                           pseudo-rewards under the run's first reward
                           model); NULL = the [loop] target */
    const char *method; /* "genbo", "conditional", ...; NULL = [loop] method */
    genbo_progress_fn progress; /* training on a first ask; may be NULL */
    void *progress_ctx;
} genbo_ask_options;

typedef struct genbo_ask_info {
    double target;         /* the resolved target reward */
    char target_label[32]; /* its spec: "p90", "max", "1.5" */
    char method[32];
    int64_t run_id;        /* the run whose models produced the designs */
    double data_max;       /* largest reward the data show: labels, told
                              values and the pool's pseudo-rewards */
    int beyond_data;       /* 1 when target > data_max */
    char warning[256];     /* "" or a sentence saying why the target is odd */
} genbo_ask_info;

/* genbo_study_ask with a target spec and a method. info may be NULL. */
GENBO_API int genbo_study_ask_with(genbo_study *s, const genbo_ask_options *opts, size_t n,
                                   int64_t *trial_ids, double *designs, genbo_ask_info *info);

/* Name of feature j (the CSV header, x0..x{D-1} for synthetic tasks);
 * NULL when j is out of range. Valid while s lives. */
GENBO_API const char *genbo_study_feature_name(genbo_study *s, size_t j);

typedef struct genbo_study_summary {
    int64_t id;
    char name[128];
    size_t dim;              /* 0 until the study's data were loaded */
    double created;          /* Unix seconds */
    double last_activity;    /* newest ask or tell, else created */
    int64_t runs, running;   /* runs (pipeline and ask), of which running */
    int64_t asked, told, failed; /* trials by state */
    double best_value;       /* largest told value, NaN when none */
    double best_loop;        /* the same over the design loop (asks, loop rounds) */
    double best_run;         /* the same over the run phase (round 0) */
} genbo_study_summary;

/* Every study of a database (opened read-only), in creation order.
 * *out is malloc'ed (free() it), *n its length (0 and NULL: none). */
GENBO_API int genbo_db_studies(const char *db_path, genbo_study_summary **out, size_t *n);

enum genbo_trial_state { GENBO_TRIAL_ASKED = 0, GENBO_TRIAL_TOLD = 1, GENBO_TRIAL_FAILED = 2 };
/* Which trials: the generation phase of runs (round 0: every method at
 * every target), the design loop (rounds >= 1 of a run, and every ask),
 * or all. */
enum genbo_phase { GENBO_PHASE_ALL = 0, GENBO_PHASE_RUN = 1, GENBO_PHASE_LOOP = 2 };

typedef struct genbo_trial {
    int64_t id;
    int64_t run_id;          /* 0: none */
    int round;               /* 0 generation phase, r >= 1 loop round, -1 ask */
    int state;               /* enum genbo_trial_state */
    double target;           /* resolved target reward */
    double value;            /* told value; NaN unless told */
    double predicted;        /* reward model's prediction when asked; NaN if none */
    double support_distance; /* NaN if not computed */
    double asked, finished;  /* Unix seconds; finished NaN while asked */
    char method[32];
    char target_label[32];
    char reason[256];        /* why it failed; "" unless failed */
    size_t dim;
    const double *x;         /* dim numbers owned by the list; NULL if the
                                ask that reserved it never stored a design */
} genbo_trial;

typedef struct genbo_run_info {
    int64_t id;
    char kind[8];          /* "run" (genbo run) or "ask" (trained by a first ask) */
    char status[12];       /* "running", "done" or "failed" */
    char last_step[64];    /* last completed step; "" before the first */
    double started, ended; /* Unix seconds; ended NaN while running */
    uint64_t seed;
    char version[32];      /* the genbo version that ran it */
    char error[1024];      /* why it failed; "" unless failed */
} genbo_run_info;
/* A study's runs in id order: *out malloc'ed (free() it), *n its length. */
GENBO_API int genbo_study_runs(genbo_study *s, genbo_run_info **out, size_t *n);

typedef struct genbo_trial_list genbo_trial_list;
/* A study's trials of a phase (enum genbo_phase) in id order. *out is
 * the caller's: free it with genbo_trial_list_free. */
GENBO_API int genbo_study_trials(genbo_study *s, int phase, genbo_trial_list **out);
/* The told trial of a phase with the largest value (ties: the earliest): a
 * list of one trial, or of none when nothing of that phase was told; free
 * it with genbo_trial_list_free. */
GENBO_API int genbo_study_best_trial(genbo_study *s, int phase, genbo_trial_list **out);
GENBO_API size_t genbo_trial_list_size(const genbo_trial_list *l);
/* Borrowed, valid until the list is freed; NULL when i is out of range. */
GENBO_API const genbo_trial *genbo_trial_list_get(const genbo_trial_list *l, size_t i);
GENBO_API void genbo_trial_list_free(genbo_trial_list *l);
/* Trials of a phase with id > after_id, in id order, at most `limit` of
 * them (0 = no limit): page through a long study with after_id = the last
 * id of the previous page, until a page comes back shorter than limit.
 * Free the list with genbo_trial_list_free. */
GENBO_API int genbo_study_trials_page(genbo_study *s, int phase, int64_t after_id, size_t limit,
                                      genbo_trial_list **out);

/* ------------------------------------------------------------------ */
/* Reading results: the stored configuration, targets, metrics,        */
/* trainings (studies/config_get.c, studies/read_results.c)            */
/* ------------------------------------------------------------------ */

/* A number key's value ("diffusion", "max_steps" -> 50000). A key whose
 * value is a word ("auto", "gcv") or text: GENBO_EINVAL; unknown key:
 * GENBO_ENOTFOUND. */
GENBO_API int genbo_config_get_double(const genbo_config *cfg, const char *section,
                                      const char *key, double *out);
/* List keys ([generate] targets, methods, sources; [constraints] bounds):
 * the number of items, and item i (trimmed, as the study file gave it)
 * into buf (size bytes, truncated to fit; i out of range:
 * GENBO_ENOTFOUND). */
GENBO_API int genbo_config_list_size(const genbo_config *cfg, const char *section,
                                     const char *key, size_t *n);
GENBO_API int genbo_config_list_item(const genbo_config *cfg, const char *section,
                                     const char *key, size_t i, char *buf, size_t size);

/* The study's stored configuration, borrowed (valid while s lives). NULL
 * only for a study opened through genbo_db_study whose stored text this
 * genbo cannot parse (e.g. a CSV file it names was moved); its text is
 * still there: */
GENBO_API const genbo_config *genbo_study_config(const genbo_study *s);
/* The stored configuration as INI text, borrowed (valid while s lives). */
GENBO_API const char *genbo_study_config_text(const genbo_study *s);
/* The configuration a run ran with, as INI text (malloc'ed: free() it).
 * GENBO_ENOTFOUND for a run of another study or none. */
GENBO_API int genbo_study_run_config(genbo_study *s, int64_t run_id, char **ini);
/* This study's line of genbo_db_studies. */
GENBO_API int genbo_study_get_summary(genbo_study *s, genbo_study_summary *out);

/* Every list below is malloc'ed into *out (free() it) with its length in
 * *n (NULL and 0: none); run_id 0 = every run of the study. NaN stands for
 * a value the database does not have, "" for a missing text. */

typedef struct genbo_target_info {
    int64_t run_id;
    char label[32];        /* the spec: "p90", "max", "2.5" */
    double value;          /* what it resolved to in that run */
} genbo_target_info;
/* Resolved targets, by run and then by value. */
GENBO_API int genbo_study_targets(genbo_study *s, int64_t run_id, genbo_target_info **out,
                                  size_t *n);

/* One batch's metrics: a (run, round, target, method) of the generation
 * phase (round 0) or a design-loop round (r >= 1). subopt = target - mean
 * reward, from true rewards (subopt_kind "true") or, without them, the
 * predicted ones ("predicted"). support_kind: "task" (the task's own
 * distance, 0 on the support) or "knn" (~1 = as close as pool points are
 * to each other). */
typedef struct genbo_metric {
    int64_t run_id;
    int round;
    char target_label[32];
    double target;
    char method[32];
    double subopt;
    char subopt_kind[12];
    double mean_true, best_true, sd_true;
    double mean_pred, best_pred, sd_pred;
    double support_distance;
    char support_kind[8];
    double diversity, novelty;
    int64_t n, n_failed;
} genbo_metric;
/* Metrics rows by run, round, target value and method. */
GENBO_API int genbo_study_metrics(genbo_study *s, int64_t run_id, genbo_metric **out, size_t *n);

/* A value over the runs of a study: mean, min and max over the n runs that
 * have it (NaN and n = 0 when none has). */
typedef struct genbo_stat {
    double mean, min, max;
    int64_t n;
} genbo_stat;
/* The generation phase (round 0) of every run per (method, target label):
 * the spread between seeds. The mean is SQLite's avg() over the runs. */
typedef struct genbo_metric_summary {
    char method[32];
    char target_label[32];
    int64_t runs;            /* runs with this batch */
    genbo_stat target;       /* a label resolves differently per run (its pool) */
    genbo_stat subopt, mean_true, mean_pred, best_true, best_pred, support_distance, diversity;
    char subopt_kind[12];    /* "predicted" if any run's was, else "true", else "" */
    char support_kind[8];
    int64_t n, n_failed;     /* designs and failed designs over the runs */
} genbo_metric_summary;
/* Ordered by method, then mean target. */
GENBO_API int genbo_study_metric_summary(genbo_study *s, genbo_metric_summary **out, size_t *n);

/* One diffusion training of a run: round 0 = the pipeline's, r = the
 * fine-tune after design-loop round r, -1 = the reweighted model's. stop:
 * "steps", "converged", "max_steps", "max_seconds" or "interrupted".
 * best_step -1 when none was recorded. */
typedef struct genbo_training_info {
    int64_t run_id;
    int round;
    char stop[16];
    int64_t steps, best_step;
    double best_val_loss, val_loss, train_loss, seconds;
    int64_t resumed_from;    /* step resumed from a checkpoint (0 = none) */
    int64_t n_train, n_val, val_seed;
    int width, depth, batch;
} genbo_training_info;
/* Trainings by run and round. */
GENBO_API int genbo_study_trainings(genbo_study *s, int64_t run_id, genbo_training_info **out,
                                    size_t *n);
/* One point of a stored loss curve: the genbo_train_point the training
 * reported at that validation, and whose training it was. */
typedef struct genbo_curve_point {
    int64_t run_id;
    int round;
    genbo_train_point pt;
} genbo_curve_point;
/* Loss curves by run, round and step. */
GENBO_API int genbo_study_train_curve(genbo_study *s, int64_t run_id, genbo_curve_point **out,
                                      size_t *n);

/* Reward values the runs kept for the dashboard's distributions: the
 * observed labels, pseudo-labels of a seeded pool subsample (at most
 * 2000 per run), their true rewards when a task oracle exists; in run
 * order, then as stored. */
enum genbo_samples { GENBO_SAMPLES_LABELLED = 0, GENBO_SAMPLES_POOL = 1, GENBO_SAMPLES_POOL_TRUE = 2 };
GENBO_API int genbo_study_reward_samples(genbo_study *s, int kind, double **out, size_t *n);

/* ------------------------------------------------------------------ */
/* A database opened for reading (studies/db.c)                        */
/* ------------------------------------------------------------------ */

typedef struct genbo_db genbo_db;
/* Open an existing genbo database read-only: it is never created, written
 * or migrated (also in a directory the user cannot write). A missing file:
 * GENBO_ENOTFOUND; another program's SQLite file, an empty file or an older
 * schema: GENBO_EFORMAT ("not a genbo study database"); a newer schema:
 * GENBO_EVERSION. The handle and the studies opened on it are used by one
 * thread at a time. Close with genbo_db_close. */
GENBO_API int genbo_db_open(const char *path, genbo_db **out);
GENBO_API void genbo_db_close(genbo_db *db);
/* A read snapshot: every read between begin and end (on db and on the
 * studies opened on it) sees the same committed state, and never blocks a
 * writer. Not nested. */
GENBO_API int genbo_db_read_begin(genbo_db *db);
GENBO_API void genbo_db_read_end(genbo_db *db);
/* A number that changes whenever another connection commits to the
 * database (SQLite's PRAGMA data_version): an unchanged number means an
 * unchanged database, so a poller can skip rereading it. */
GENBO_API int genbo_db_data_version(genbo_db *db, int64_t *out);
/* genbo_db_studies on an open database. */
GENBO_API int genbo_db_list_studies(genbo_db *db, genbo_study_summary **out, size_t *n);
/* Study `name` on db's connection, read-only (ask, tell and run fail with
 * GENBO_ESTATE; its data are never loaded, so genbo_study_dim is the
 * stored one, 0 before any run or create recorded it, and feature names
 * are those a run recorded). Close it with genbo_study_close before
 * closing db. No such study: GENBO_ENOTFOUND ("unknown study 'NAME'"). */
GENBO_API int genbo_db_study(genbo_db *db, const char *name, genbo_study **out);

#ifdef __cplusplus
}
#endif
#endif /* GENBO_H */
