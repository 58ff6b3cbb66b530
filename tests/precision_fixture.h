/* precision_fixture.h - run a test body at fp32 and at bf16; the bf16 run
 * is skipped, with the reason in the test log, where the CPU has no
 * native bf16 matrix products. */
#ifndef GENBO_TEST_PRECISION_FIXTURE_H
#define GENBO_TEST_PRECISION_FIXTURE_H

#include <criterion/criterion.h>

#include "genbo.h"

static inline void need_precision(genbo_precision p) {
    if (genbo_precision_resolve(p) < 0) cr_skip_test("%s", genbo_errmsg());
}

/* Test(suite, name_fp32) and Test(suite, name_bf16) calling fn(precision) */
#define TEST_BOTH_PRECISIONS(suite, name, fn, ...)                 \
    Test(suite, name##_fp32, __VA_ARGS__) { fn(GENBO_PRECISION_FP32); } \
    Test(suite, name##_bf16, __VA_ARGS__) {                           \
        need_precision(GENBO_PRECISION_BF16);                         \
        fn(GENBO_PRECISION_BF16);                                     \
    }

#endif
