/* test_query.c - phase 2's query server on its own, without a run: what
 * query_server_close() promises (query.h) for the queries still pending
 * when the run ends. A whole run leaves a query pending at its very end
 * only when the timing happens to, so the end of a run is tested here,
 * where it is certain. */
#include <criterion/criterion.h>
#include <errno.h>
#include <uv.h>

#include "fnv.h"
#include "query.h"
#include "table.h"

TestSuite(query_server, .timeout = 10);

/* A query and what its callback saw; its callback submits `then` once. */
struct probe {
    struct query q;
    struct query_server *s;
    struct probe *then;
    int calls, status;
};

static void on_answer(struct query *q)
{
    struct probe *p = q->data;
    p->calls++;
    p->status = q->status;
    if (p->then) {
        struct probe *next = p->then;
        p->then = NULL;
        query_submit(p->s, &next->q, q->key, on_answer);
    }
}

Test(query_server, close_answers_what_is_pending_and_cancels_what_its_answers_submit)
{
    uv_loop_t loop;
    struct table t;
    struct query_server s;
    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(table_init(&t, 16), 0);
    cr_assert_eq(query_server_init(&s, &loop, &t), 0);
    struct idkey k = {.s = "nosuch", .len = 6};
    k.hash = fnv1a64(k.s, k.len);
    struct probe late = {.q.data = &late, .s = &s};
    struct probe first = {.q.data = &first, .s = &s, .then = &late};

    /* Submitted, never served: the loop does not run before the end. */
    query_submit(&s, &first.q, &k, on_answer);
    query_server_close(&s);
    cr_assert_eq(first.calls, 1, "the pending query was completed %d times, not once", first.calls);
    cr_assert_eq(first.status, -ENOENT, "the pending query did not get its real answer (-ENOENT): %d", first.status);
    cr_assert_eq(late.calls, 1, "the query its callback submitted was completed %d times, not once", late.calls);
    cr_assert_eq(late.status, -ECANCELED, "the query submitted while closing is not cancelled: %d", late.status);
    /* The server's handle is closed: the loop has nothing left. */
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    cr_assert_eq(uv_loop_close(&loop), 0, "a handle of the query server is still open");
    table_free(&t);
}
