/* consumer.c - a program built against an installed genbo (pkg-config or
 * find_package). It fits ridge regression to y = 2 x0 - 3 x1 + 0.5 without
 * noise and checks that a prediction matches the closed form, so the
 * library it linked does real work, not only links. Exit 0 on success. */
#include <genbo.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    if (strcmp(genbo_version(), GENBO_VERSION_STRING)) {
        fprintf(stderr, "header %s but library %s\n", GENBO_VERSION_STRING, genbo_version());
        return 1;
    }
    enum { N = 40 };
    double X[N * 2], y[N];
    for (int i = 0; i < N; i++) {
        X[2 * i] = (double)(i % 7) - 3.0;
        X[2 * i + 1] = (double)(i % 5) * 0.5;
        y[i] = 2.0 * X[2 * i] - 3.0 * X[2 * i + 1] + 0.5;
    }
    genbo_reward_params p;
    genbo_reward_params_default(&p);
    p.lambda_select = GENBO_LAMBDA_FIXED;
    p.lambda = 1e-9;
    genbo_reward *m;
    if (genbo_reward_fit(&p, N, 2, X, y, &m)) {
        fprintf(stderr, "fit: %s\n", genbo_errmsg());
        return 1;
    }
    double x[2] = {1.5, -2.0}, mean;
    int rc = genbo_reward_predict(m, 1, x, &mean, NULL);
    genbo_reward_free(m);
    double want = 2.0 * 1.5 - 3.0 * -2.0 + 0.5;
    if (rc || fabs(mean - want) > 1e-6) {
        fprintf(stderr, "predict %.9g, want %.9g (%s)\n", mean, want, rc ? genbo_errmsg() : "");
        return 1;
    }
    printf("genbo %s: prediction %.6f ok\n", genbo_version(), mean);
    return 0;
}
