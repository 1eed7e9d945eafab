/* test_recover_policy.c - the restart policy of --recover
 * (recover_on_death(), recover.h) on its own: which deaths restart a
 * worker and which end the run. The worker is simulated by the positions it
 * publishes in its area; the phases' tests (test_recover.c) kill real ones. */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>

#include "fnv.h"
#include "recover.h"

#define EXITED(code) ((code) << 8) /* a wait status, as waitpid() gives it */
#define SIGNALLED(sig) (sig)

static struct source src;
static struct recover rec;
static char why[512];

/* Two workers; the first 40 messages routed and logged. */
static void setup(void)
{
    struct gen_config g = {.messages = 1000, .ids = 20, .dist = DIST_UNIFORM, .seed = 5};
    cr_assert_eq(source_init_generator(&src, &g), 0);
    cr_assert_eq(recover_init(&rec, 2, &src), 0);
    struct msg m;
    for (int k = 0; k < 40 && source_next(&src, &m); k++)
        recover_push(&rec, route_worker(m.id_hash, 2), &m);
    cr_assert_gt(rec.log[0].head, 3, "worker 0 has a few messages logged");
}

static void teardown(void)
{
    recover_free(&rec);
    source_free(&src);
}

TestSuite(recover_policy, .init = setup, .fini = teardown, .timeout = 10);

/* Worker 0 as it would be seen at its death: applied messages, and the one
 * it was applying (0: between messages). */
static enum recover_verdict dies(uint64_t applied, uint64_t applying, int wstatus)
{
    atomic_store(&rec.area[0]->applied, applied);
    atomic_store(&rec.area[0]->applying, applying ? applying : applied);
    return recover_on_death(&rec, 0, wstatus, "t.trace", why, sizeof why);
}

/* A successor that only starts: it restores its checkpoint (none here, so
 * position 0) and dies before reading anything. */
static enum recover_verdict dies_at_start(int wstatus)
{
    return recover_on_death(&rec, 0, wstatus, "t.trace", why, sizeof why);
}

Test(recover_policy, a_worker_that_exits_at_once_every_time_is_given_up_on_its_third_run)
{
    cr_expect_eq(dies_at_start(EXITED(6)), RECOVER_RESTART, "%s", why);
    cr_expect_eq(dies_at_start(EXITED(6)), RECOVER_RESTART, "%s", why);
    cr_assert_eq(dies_at_start(EXITED(6)), RECOVER_GIVE_UP, "%s", why);
    cr_expect(strstr(why, "3 runs in a row died by themselves before applying a message"), "%s", why);
}

Test(recover_policy, sigkills_between_messages_never_end_the_run)
{
    for (int k = 0; k < 20; k++)
        cr_assert_eq(dies_at_start(SIGNALLED(SIGKILL)), RECOVER_RESTART, "kill %d: %s", k + 1, why);
}

Test(recover_policy, a_run_that_applied_a_message_starts_the_count_of_failed_starts_again)
{
    cr_expect_eq(dies_at_start(SIGNALLED(SIGSEGV)), RECOVER_RESTART);
    cr_expect_eq(dies_at_start(SIGNALLED(SIGSEGV)), RECOVER_RESTART);
    cr_expect_eq(dies(1, 0, SIGNALLED(SIGSEGV)), RECOVER_RESTART, "it applied one: %s", why);
    cr_expect_eq(dies_at_start(SIGNALLED(SIGSEGV)), RECOVER_RESTART, "%s", why);
    cr_expect_eq(dies_at_start(SIGNALLED(SIGSEGV)), RECOVER_RESTART, "%s", why);
    cr_expect_eq(dies_at_start(SIGNALLED(SIGSEGV)), RECOVER_GIVE_UP, "%s", why);
}

Test(recover_policy, a_crash_twice_on_one_message_names_it_as_a_poison_message)
{
    cr_expect_eq(dies(2, 3, SIGNALLED(SIGSEGV)), RECOVER_RESTART, "%s", why);
    cr_expect(strstr(why, "restarting it from its checkpoint at message 0"), "%s", why);
    cr_assert_eq(dies(2, 3, SIGNALLED(SIGSEGV)), RECOVER_GIVE_UP, "%s", why);
    cr_expect(strstr(why, "is a poison message"), "%s", why);
    cr_expect(strstr(why, "seq "), "the message is named: %s", why);
}

Test(recover_policy, three_sigkills_on_one_message_are_needed_to_call_it_poison)
{
    cr_expect_eq(dies(2, 3, SIGNALLED(SIGKILL)), RECOVER_RESTART, "%s", why);
    cr_expect_eq(dies(2, 3, SIGNALLED(SIGKILL)), RECOVER_RESTART, "%s", why);
    cr_expect_eq(dies(2, 3, SIGNALLED(SIGKILL)), RECOVER_GIVE_UP, "%s", why);
}

/* The area still holds the dead run's positions until its successor
 * restores: a successor killed before that is not dying on the message its
 * predecessor was applying. */
Test(recover_policy, successors_killed_before_they_start_are_not_dying_on_their_predecessors_message)
{
    cr_expect_eq(dies(2, 3, SIGNALLED(SIGKILL)), RECOVER_RESTART, "%s", why);
    for (int k = 0; k < 5; k++)
        cr_expect_eq(dies_at_start(SIGNALLED(SIGKILL)), RECOVER_RESTART, "kill %d: %s", k + 2, why);
}
