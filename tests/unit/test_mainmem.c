/* test_mainmem.c - main-process memory (mainmem.h): kept across a resize,
 * and really left out of a fork, for the source's ids above all, which is
 * what keeps a forked worker's memory to its own machines. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mainmem.h"
#include "source.h"

TestSuite(mainmem, .timeout = 20);

/* True when a forked child reads at p the byte the parent has there. A
 * child that cannot read it dies of SIGSEGV, or, under AddressSanitizer,
 * exits with its report's status. */
static bool child_reads(const volatile char *p)
{
    char want = *p;
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0)
        _exit(*p == want ? 0 : 1);
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

Test(mainmem, is_zeroed_and_keeps_its_bytes_through_a_resize)
{
    size_t small = 10000, big = 4u << 20;
    char *p = mainmem_alloc(small, false);
    cr_assert_not_null(p);
    for (size_t i = 0; i < small; i++)
        cr_assert_eq(p[i], 0);
    memset(p, 7, small);
    p = mainmem_resize(p, small, big);
    cr_assert_not_null(p);
    for (size_t i = 0; i < small; i++)
        cr_assert_eq(p[i], 7, "byte %zu lost in the resize", i);
    cr_assert_eq(p[big - 1], 0, "grown bytes are zero");
    mainmem_free(p, big);
}

Test(mainmem, a_fork_does_not_inherit_it_even_after_a_resize)
{
    char *p = mainmem_alloc(100, true);
    cr_assert_not_null(p);
    p[0] = 42;
    cr_expect(!child_reads(p), "a child read the parent's main-only memory");
    p = mainmem_resize(p, 100, 8u << 20);
    cr_assert_not_null(p);
    cr_expect(!child_reads(p), "a resized mapping was inherited");
    mainmem_free(p, 8u << 20);

    char ordinary = 42; /* the control: the test's own memory is inherited */
    cr_expect(child_reads(&ordinary));
}

/* A worker gets each id in its message: the source's id table is the main
 * process's, and a forked worker's RSS must not carry a copy of it. */
Test(mainmem, a_forked_worker_does_not_inherit_the_sources_ids)
{
    struct gen_config g = {.messages = 10, .ids = 100000, .dist = DIST_UNIFORM, .seed = 1};
    struct source s;
    cr_assert_eq(source_init_generator(&s, &g), 0);
    struct idkey k = source_id(&s, 99999);
    cr_assert_str_eq(k.s, "id-99999");
    cr_expect(!child_reads(k.s), "a child could read the source's ids");
    source_free(&s);
}
