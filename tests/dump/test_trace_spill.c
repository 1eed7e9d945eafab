/* test_trace_spill.c - a trace file's messages wait in a spill file beside
 * it, not in the main process (source_trace.c): 2 * 10^6 messages of 1 000
 * ids take 48 MB as records, and the main process of phases 1, 3 and 4
 * stays far below that, gives phase 1's dump, and leaves no file in the
 * trace's directory. */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "conformance.h"
#include "proc.h"

#define MSGS 2000000ull

TestSuite(trace_spill, .timeout = 120, .init = conf_suite_init, .fini = conf_suite_fini);

/* 16 MiB: the ids, one block of messages and what a main process holds
 * anyway (phase 4's main maps its rings); a third of what the messages
 * alone would take. ASan's shadow memory and quarantine would blow any
 * bound worth setting, so a sanitized build checks the dump only. */
#define MAIN_BOUND_KB (16 * 1024)

static const char *trace_path(void)
{
    static char path[CONF_PATH_MAX];
    if (!path[0]) {
        char *gen[] = {"--ids", "1000", "--messages", "2000000", "--seed", "11", NULL};
        conf_msgen(conf_path(path, "big.trace"), gen);
    }
    return path;
}

static void main_holds_no_message(const char *bin, const char *workers)
{
    char ref[CONF_PATH_MAX], dump[CONF_PATH_MAX];
    const char *trace = trace_path();
    char *args[] = {"--trace", (char *)trace, NULL};
    conf_phase1_dump(args, conf_path(ref, "ref.csv"));
    int before = conf_dir_entries();
    char *argv[] = {(char *)bin,
                    "--trace",
                    (char *)trace,
                    "--workers",
                    (char *)workers,
                    "--json",
                    "--dump",
                    conf_path(dump, "out.csv"),
                    NULL};
    struct proc_result r;
    conf_run(argv, NULL, 0, &r);
    const char *j = strstr(r.out, "{\"phase\":");
    cr_assert_not_null(j, "no --json line: %s", proc_tail(r.err));
    cr_expect_eq(conf_json_u64(j, "messages"), MSGS);
#if !defined(__SANITIZE_ADDRESS__)
    long main_kb = (long)conf_json_u64(j, "rss_kb_main");
    cr_expect_lt(main_kb, MAIN_BOUND_KB, "%s's main process peaked at %ld KiB", bin, main_kb);
#endif
    proc_result_free(&r);
    cr_expect(files_equal(dump, ref), "%s's dump differs from phase 1's", bin);
    cr_expect_eq(conf_dir_entries(), before + 1, "a file besides the dump was left in the trace's directory");
    unlink(dump);
}

Test(trace_spill, phase1_holds_one_block_of_a_trace_file)
{
    main_holds_no_message(BIN_DIR "/phase1", "1");
}

Test(trace_spill, phase3s_main_process_holds_one_block_of_a_trace_file)
{
    main_holds_no_message(BIN_DIR "/phase3", "2");
}

Test(trace_spill, phase4s_main_process_holds_one_block_of_a_trace_file)
{
    main_holds_no_message(BIN_DIR "/phase4", "1");
}
