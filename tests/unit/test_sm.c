/* test_sm.c - the state machine of SPEC §3, cell by cell, and its counters. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "fnv.h"
#include "sm.h"

TestSuite(sm, .timeout = 10);

/* SPEC §3 transcribed as text, independently of sm.c's table: "-" is invalid,
 * otherwise the next state and the effect (+job, +fail, +bytes). */
static const char *const spec[ST_COUNT][EV_COUNT] = {
    /*           START      PAUSE     RESUME     COMPLETE     FAIL           RESET   STOP       DATA HEARTBEAT */
    [ST_IDLE] = {"RUNNING", "-", "-", "-", "-", "-", "STOPPED", "-", "IDLE"},
    [ST_RUNNING] = {"-", "PAUSED", "-", "IDLE +job", "FAILED +fail", "-", "STOPPED", "RUNNING +bytes", "RUNNING"},
    [ST_PAUSED] = {"-", "-", "RUNNING", "-", "FAILED +fail", "-", "STOPPED", "-", "PAUSED"},
    [ST_FAILED] = {"-", "-", "-", "-", "-", "IDLE", "STOPPED", "-", "FAILED"},
    [ST_STOPPED] = {"-", "-", "-", "-", "-", "IDLE", "-", "-", "STOPPED"},
};

Test(sm, every_cell_of_the_transition_table_matches_the_spec)
{
    for (int s = 0; s < ST_COUNT; s++) {
        for (int e = 0; e < EV_COUNT; e++) {
            struct sm_step step = sm_transition((enum state)s, (enum event)e);
            const char *want = spec[s][e];
            if (strcmp(want, "-") == 0) {
                cr_expect_eq(step.valid, 0, "%s on %s should be invalid", event_name(e), state_name(s));
                cr_expect_eq(step.next, s, "an invalid %s must leave %s unchanged", event_name(e), state_name(s));
                cr_expect_eq(step.effect, SM_NONE, "an invalid %s in %s must count nothing but invalid", event_name(e),
                             state_name(s));
                continue;
            }
            char got[40];
            const char *effect = step.effect == SM_JOB       ? " +job"
                                 : step.effect == SM_FAILURE ? " +fail"
                                 : step.effect == SM_BYTES   ? " +bytes"
                                                             : "";
            snprintf(got, sizeof got, "%s%s", state_name(step.next), effect);
            cr_expect(step.valid, "%s on %s should be valid", event_name(e), state_name(s));
            cr_expect_str_eq(got, want, "%s on %s", event_name(e), state_name(s));
        }
    }
}

static struct machine fresh(void)
{
    struct machine m;
    sm_init(&m, "m", 1, fnv1a64("m", 1));
    return m;
}

Test(sm, a_new_machine_is_idle_with_the_checksum_seed)
{
    struct machine m = fresh();
    cr_assert_eq(m.state, ST_IDLE);
    cr_assert_eq(m.msgs, 0);
    cr_assert_eq(m.checksum, 14695981039346656037ull);
}

Test(sm, counters_follow_a_full_lifecycle)
{
    struct machine m = fresh();
    sm_apply(&m, 1, EV_START, 0, true);
    sm_apply(&m, 2, EV_DATA, 5, true);
    sm_apply(&m, 3, EV_DATA, 7, true);
    sm_apply(&m, 4, EV_COMPLETE, 0, true);
    sm_apply(&m, 5, EV_START, 0, true);
    sm_apply(&m, 6, EV_FAIL, 0, true);
    sm_apply(&m, 7, EV_PAUSE, 0, true); /* invalid in FAILED */
    cr_assert_eq(m.state, ST_FAILED);
    cr_assert_eq(m.msgs, 7);
    cr_assert_eq(m.bytes, 12);
    cr_assert_eq(m.jobs, 1);
    cr_assert_eq(m.failures, 1);
    cr_assert_eq(m.invalid, 1);
    cr_assert_eq(m.transitions, 4); /* IDLE>RUNNING>IDLE>RUNNING>FAILED; DATA keeps RUNNING */
    cr_assert_eq(m.last_seq, 7);
}

Test(sm, data_bytes_count_only_when_valid)
{
    struct machine m = fresh();
    sm_apply(&m, 1, EV_DATA, 100, true); /* IDLE: invalid */
    cr_assert_eq(m.bytes, 0);
    cr_assert_eq(m.invalid, 1);
}

Test(sm, a_seq_not_above_the_last_is_out_of_order_and_keeps_last_seq)
{
    struct machine m = fresh();
    sm_apply(&m, 10, EV_HEARTBEAT, 0, true);
    sm_apply(&m, 10, EV_HEARTBEAT, 0, true);
    sm_apply(&m, 3, EV_HEARTBEAT, 0, true);
    sm_apply(&m, 11, EV_HEARTBEAT, 0, true);
    cr_assert_eq(m.ooo, 2);
    cr_assert_eq(m.last_seq, 11);
}

Test(sm, a_corrupt_payload_is_counted_and_the_event_still_applies)
{
    struct machine m = fresh();
    sm_apply(&m, 1, EV_START, 4, false);
    cr_assert_eq(m.corrupt, 1);
    cr_assert_eq(m.state, ST_RUNNING);
}

Test(sm, checksum_matches_the_spec_formula_and_a_golden_row)
{
    /* golden/edges.csv: edge.b saw (3, HEARTBEAT) then (7, STOP). */
    struct machine m;
    sm_init(&m, "edge.b", 6, fnv1a64("edge.b", 6));
    sm_apply(&m, 3, EV_HEARTBEAT, 0, true);
    sm_apply(&m, 7, EV_STOP, 0, true);
    cr_assert_eq(m.checksum, 0x325afe881b355977ull);

    uint64_t h = 14695981039346656037ull;
    h = (h ^ 3) * 1099511628211ull;
    h = (h ^ 8) * 1099511628211ull;
    h = (h ^ 7) * 1099511628211ull;
    h = (h ^ 6) * 1099511628211ull;
    cr_assert_eq(m.checksum, h);
}

Test(sm, checksum_depends_on_order)
{
    struct machine a = fresh(), b = fresh();
    sm_apply(&a, 1, EV_START, 0, true);
    sm_apply(&a, 2, EV_STOP, 0, true);
    sm_apply(&b, 2, EV_STOP, 0, true);
    sm_apply(&b, 1, EV_START, 0, true);
    cr_assert_neq(a.checksum, b.checksum);
}
