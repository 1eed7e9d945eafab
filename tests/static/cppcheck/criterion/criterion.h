/* criterion.h - what cppcheck is told about Criterion: tests/static/check.sh
 * makes cppcheck include it first in every file (--include); the compilers
 * never see it.
 *
 * cppcheck does not read system headers, so without this every test file
 * stops at the first Test(...) as an "unknown macro" and is not analysed. A
 * test body becomes a function, the cr_assert family aborts (so cppcheck
 * knows that a pointer checked by cr_assert_not_null is not NULL after it),
 * and the cr_expect family evaluates its operands. */
#ifndef MSGROUTE_CPPCHECK_CRITERION_H
#define MSGROUTE_CPPCHECK_CRITERION_H

#include <stdlib.h>

#define TestSuite(...)
#define Test(suite, name, ...) void suite##_##name(void)

#define cr_assert(c, ...)                                                                                              \
    do {                                                                                                               \
        if (!(c))                                                                                                      \
            abort();                                                                                                   \
    } while (0)
#define cr_assert_not(c, ...) cr_assert(!(c))
#define cr_assert_eq(a, b, ...) cr_assert((a) == (b))
#define cr_assert_neq(a, b, ...) cr_assert((a) != (b))
#define cr_assert_lt(a, b, ...) cr_assert((a) < (b))
#define cr_assert_gt(a, b, ...) cr_assert((a) > (b))
#define cr_assert_leq(a, b, ...) cr_assert((a) <= (b))
#define cr_assert_geq(a, b, ...) cr_assert((a) >= (b))
#define cr_assert_null(p, ...) cr_assert((p) == NULL)
#define cr_assert_not_null(p, ...) cr_assert((p) != NULL)
#define cr_assert_str_eq(a, b, ...) cr_assert(strcmp((a), (b)) == 0)
#define cr_assert_float_eq(a, b, e, ...) cr_assert((a) - (b) <= (e) && (b) - (a) <= (e))
#define cr_assert_fail(...) abort()
#define cr_skip_test(...) abort()

#define cr_expect(c, ...) ((void)(c))
#define cr_expect_not(c, ...) ((void)(c))
#define cr_expect_eq(a, b, ...) ((void)((a) == (b)))
#define cr_expect_neq(a, b, ...) ((void)((a) != (b)))
#define cr_expect_lt(a, b, ...) ((void)((a) < (b)))
#define cr_expect_gt(a, b, ...) ((void)((a) > (b)))
#define cr_expect_leq(a, b, ...) ((void)((a) <= (b)))
#define cr_expect_geq(a, b, ...) ((void)((a) >= (b)))
#define cr_expect_str_eq(a, b, ...) ((void)strcmp((a), (b)))
#define cr_expect_str_empty(s, ...) ((void)(s))

#define cr_log_info(...) ((void)0)
#define cr_log_warn(...) ((void)0)

void cr_redirect_stdout(void);
void cr_redirect_stderr(void);

#endif
