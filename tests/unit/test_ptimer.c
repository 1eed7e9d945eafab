/* test_ptimer.c - the nanosecond timer of ptimer.h, with and without a spin
 * lead: it fires once, never before its due time, and a stop, a re-arm or
 * a close that lands inside the spin window is obeyed like one outside it.
 * Timings are checked one way only (never early; the loop ends), since a
 * shared machine can make any wake-up late. */
#include <criterion/criterion.h>

#include "clock.h"
#include "ptimer.h"

TestSuite(ptimer, .timeout = 10);

#define MS 1000000ull

struct scene {
    uv_loop_t loop;
    struct ptimer t;
    uv_timer_t poke; /* acts on t at a millisecond inside the spin window */
    uint64_t due_ns, fired_ns;
    int fired;
    bool spinning_when_poked;
    enum { POKE_STOP, POKE_REARM, POKE_CLOSE } poke_does;
};

static void on_fire(struct ptimer *t)
{
    struct scene *s = t->data;
    s->fired++;
    s->fired_ns = now_ns();
}

static void open_scene(struct scene *s, uint64_t lead_ns)
{
    memset(s, 0, sizeof *s);
    cr_assert_eq(uv_loop_init(&s->loop), 0);
    cr_assert_eq(ptimer_init(&s->loop, &s->t), 0);
    s->t.data = s;
    ptimer_spin_before(&s->t, lead_ns);
}

static void close_scene(struct scene *s)
{
    if (s->t.fd >= 0)
        ptimer_close(&s->t);
    if (s->poke.loop && !uv_is_closing((uv_handle_t *)&s->poke))
        uv_close((uv_handle_t *)&s->poke, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&s->loop), 0, "a handle was left open");
}

static void fires_once_at_or_after(uint64_t lead_ns)
{
    struct scene s;
    open_scene(&s, lead_ns);
    s.due_ns = now_ns() + 5 * MS;
    cr_assert_eq(ptimer_start(&s.t, s.due_ns, on_fire), 0);
    uv_run(&s.loop, UV_RUN_DEFAULT); /* returns once the armed ptimer has fired */
    cr_assert_eq(s.fired, 1);
    cr_assert_geq(s.fired_ns, s.due_ns, "fired %llu ns early", (unsigned long long)(s.due_ns - s.fired_ns));
    cr_assert_not(uv_is_active((uv_handle_t *)&s.t.spin), "still spinning after firing");
    close_scene(&s);
}

Test(ptimer, without_a_lead_it_fires_once_never_early)
{
    fires_once_at_or_after(0);
}

Test(ptimer, with_a_spin_lead_it_fires_once_never_early)
{
    fires_once_at_or_after(4 * MS);
}

Test(ptimer, a_lead_longer_than_the_wait_spins_from_the_start)
{
    fires_once_at_or_after(60 * 1000 * MS);
}

static void on_poke(uv_timer_t *h)
{
    struct scene *s = h->data;
    s->spinning_when_poked = uv_is_active((uv_handle_t *)&s->t.spin);
    switch (s->poke_does) {
    case POKE_STOP: ptimer_stop(&s->t); break;
    case POKE_REARM:
        s->due_ns = now_ns() + 30 * MS;
        cr_assert_eq(ptimer_start(&s->t, s->due_ns, on_fire), 0);
        break;
    case POKE_CLOSE: ptimer_close(&s->t); break;
    }
}

/* Due in 200 ms with a lead of 190: the poke at 50 ms lands in the spin. */
static void poke_during_the_spin(struct scene *s, int what)
{
    open_scene(s, 190 * MS);
    s->poke_does = what;
    s->due_ns = now_ns() + 200 * MS;
    cr_assert_eq(ptimer_start(&s->t, s->due_ns, on_fire), 0);
    uv_timer_init(&s->loop, &s->poke);
    s->poke.data = s;
    uv_timer_start(&s->poke, on_poke, 50, 0);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    cr_assert(s->spinning_when_poked, "the poke did not land in the spin window");
}

Test(ptimer, a_stop_during_the_spin_means_no_callback)
{
    struct scene s;
    poke_during_the_spin(&s, POKE_STOP);
    cr_assert_eq(s.fired, 0);
    cr_assert_not(uv_is_active((uv_handle_t *)&s.t.spin), "still spinning after the stop");
    close_scene(&s);
}

Test(ptimer, a_rearm_during_the_spin_fires_once_at_the_new_due_time)
{
    struct scene s;
    poke_during_the_spin(&s, POKE_REARM);
    cr_assert_eq(s.fired, 1);
    cr_assert_geq(s.fired_ns, s.due_ns, "fired before the new due time");
    close_scene(&s);
}

Test(ptimer, a_close_during_the_spin_leaves_nothing_open)
{
    struct scene s;
    poke_during_the_spin(&s, POKE_CLOSE);
    cr_assert_eq(s.fired, 0);
    cr_assert_eq(s.t.fd, -1);
    close_scene(&s);
}
