/* test_json_top.c - json_top.h reads a --json summary's own keys, never
 * those of its per_worker objects, whatever their order. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "json_top.h"

TestSuite(json_top, .timeout = 10);

static double num(const char *json, const char *key)
{
    const char *p = json_top_value(json, key);
    cr_assert_not_null(p, "no top-level %s in %s", key, json);
    return strtod(p, NULL);
}

Test(json_top, a_key_repeated_in_per_worker_objects_is_read_at_the_top_level)
{
    /* "messages" after per_worker: a pattern would find a worker's count. */
    const char *j = "{\"phase\":3,\"per_worker\":[{\"index\":0,\"messages\":1000561},"
                    "{\"index\":1,\"messages\":999439}],\"messages\":2000000}";
    cr_expect_eq(num(j, "messages"), 2000000);
    cr_expect_eq(num(j, "phase"), 3);
}

Test(json_top, a_key_only_nested_is_not_found)
{
    cr_expect_null(json_top_value("{\"per_worker\":[{\"busy_s\":0.5}],\"phase\":4}", "busy_s"));
    cr_expect_null(json_top_value("{\"a\":{\"busy_s\":1}}", "busy_s"));
}

Test(json_top, strings_with_braces_commas_and_quotes_are_skipped_whole)
{
    const char *j = "{\"name\":\"a},\\\"messages\\\":7,{\",\"list\":[\"]\",{\"x\":\"}\"}], \"messages\" : 42 }";
    cr_expect_eq(num(j, "messages"), 42);
}

Test(json_top, malformed_or_absent_input_gives_null)
{
    cr_expect_null(json_top_value(NULL, "messages"));
    cr_expect_null(json_top_value("not json", "messages"));
    cr_expect_null(json_top_value("{\"a\":\"unterminated", "b"));
    cr_expect_null(json_top_value("{\"a\" 1,\"messages\":2}", "messages"));
}

Test(json_top, the_summary_is_the_last_line_that_starts_an_object)
{
    const char *out = "{\"phase\":1,\"messages\":5}\nnot json\n{\"phase\":1,\"messages\":9}\n";
    cr_expect_eq(num(json_top_last_object(out), "messages"), 9);
    cr_expect_null(json_top_last_object("no summary\n"));
}
