/* tl_loop.c - libuv loop turns as timeline spans (tl_loop.h). */
#include "tl_loop.h"

#include "timeline.h"

/* Before the poll: the turn that began after the last check ends here. */
static void on_prepare(uv_prepare_t *h)
{
    struct tl_loop *t = h->data;
    uint64_t now = now_ns();
    if (t->t_check) {
        uint64_t n = t->messages ? *t->messages : 0;
        tl_span_at(TL_LOOP_TURN, t->t_check, now, n - t->last, 0);
        t->last = n;
    }
    t->t_prepare = now;
}

/* After the poll and its I/O callbacks. */
static void on_check(uv_check_t *h)
{
    struct tl_loop *t = h->data;
    uint64_t now = now_ns();
    if (t->t_prepare)
        tl_span_at(TL_LOOP_POLL, t->t_prepare, now, 0, 0);
    t->t_check = now;
}

int tl_loop_watch(struct tl_loop *t, uv_loop_t *loop, const uint64_t *messages)
{
    *t = (struct tl_loop){.messages = messages, .last = messages ? *messages : 0};
    if (!tl_on)
        return 0;
    int rc;
    if ((rc = uv_prepare_init(loop, &t->prepare)) < 0)
        return rc;
    if ((rc = uv_check_init(loop, &t->check)) < 0)
        return rc;
    t->prepare.data = t->check.data = t;
    if ((rc = uv_prepare_start(&t->prepare, on_prepare)) < 0 || (rc = uv_check_start(&t->check, on_check)) < 0)
        return rc;
    uv_unref((uv_handle_t *)&t->prepare);
    uv_unref((uv_handle_t *)&t->check);
    return 0;
}
