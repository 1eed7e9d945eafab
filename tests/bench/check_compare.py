#!/usr/bin/python3
"""check_compare.py - bench/compare on two runs built here with known
repetitions (no measuring), and the Mann-Whitney U test it relies on:
a clear change over 5 + 5 repetitions is significant, noise is `~` with
its p, 3 + 3 repetitions say they are too few; a configuration only one
run measured is left out; each metric ends with a geomean row and the
output ends with the geometric mean per program; runs of different
machines or modes get a warning first; --graph draws a PNG. The folders
are removed at the end."""

import itertools
import math
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.dont_write_bytecode = True
from harness import mannwhitney  # noqa: E402
from harness.results import write_h5  # noqa: E402

COMPARE = os.path.join(ROOT, "bench", "compare")
MACHINE = dict(cpu_model="Test CPU", cpu_count=2, kernel="6.1.0", arch="x86_64", mode="quick", commit="aaaaaaa",
               date="2026-01-02T03:04:05+00:00")
failures = 0


def check(name, ok, why=""):
    global failures
    print("ok %s" % name if ok else "FAIL %s: %s" % (name, why), flush=True)
    if not ok:
        failures += 1


def check_mann_whitney():
    p = mannwhitney.p_value
    check("mwu_3_vs_3_fully_separated_is_p_0.1", abs(p([1, 2, 3], [4, 5, 6]) - 0.1) < 1e-12, p([1, 2, 3], [4, 5, 6]))
    check("mwu_5_vs_5_fully_separated_is_p_2_over_252", abs(p(range(5), range(5, 10)) - 2 / 252) < 1e-12)
    check("mwu_identical_samples_is_p_1", p([3, 3, 3], [3, 3, 3]) == 1.0, p([3, 3, 3], [3, 3, 3]))
    check("mwu_min_p_of_3_plus_3_is_0.1", abs(mannwhitney.min_p(3, 3) - 0.1) < 1e-12)
    check("mwu_min_p_of_1_plus_1_is_1", mannwhitney.min_p(1, 1) == 1.0)
    # Beyond EXACT_MAX the normal approximation answers; it must stay close
    # to the exact permutation p, counted here by brute force.
    a = [1, 3, 4, 6, 8, 9, 12, 13, 15, 18]
    b = [2, 5, 7, 10, 11, 14, 16, 17, 19, 20]
    r = mannwhitney.ranks(a + b)
    u = sum(r[:10]) - 55
    exact = sum(1 for idx in itertools.combinations(range(20), 10)
                if abs(sum(r[i] for i in idx) - 55 - 50) >= abs(u - 50) - 1e-9) / math.comb(20, 10)
    check("mwu_normal_approximation_within_0.01_of_exact_at_10_plus_10", abs(p(a, b) - exact) < 0.01,
          "normal %.4f exact %.4f" % (p(a, b), exact))


def scaling(series, workers, values):
    return [dict(series=series, work_ns=0, workers=workers, rep=i + 1, msgs_per_s=float(v)) for i, v in enumerate(values)]


def latency(series, load, values):
    return [dict(series=series, load_pct=load, rep=i + 1, p50_us=float(v), p99_us=float(v) * 3, p999_us=float(v) * 9)
            for i, v in enumerate(values)]


def make_run(folder, scaling_rows, latency_rows, **attrs):
    os.makedirs(folder)
    write_h5(os.path.join(folder, "bench.h5"), {}, dict(scaling=scaling_rows, latency=latency_rows),
             dict(MACHINE, **attrs))


def run(*args):
    return subprocess.run(["/usr/bin/python3", COMPARE] + list(args), capture_output=True, text=True, timeout=60)


def line_of(out, start, after=""):
    """The first line after the line `after` whose words begin with start's."""
    lines = out.splitlines()
    if after:
        lines = lines[next((i for i, x in enumerate(lines) if x.startswith(after)), len(lines)):]
    want = start.split()
    return next((x for x in lines if x.split()[:len(want)] == want), "")


def main():
    check_mann_whitney()
    with tempfile.TemporaryDirectory(prefix="msgroute-bench-compare-") as tmp:
        a, b, c = (os.path.join(tmp, x) for x in "abc")
        make_run(a, scaling("phase3", 1, [100, 101, 102, 103, 104]) + scaling("phase3", 2, [100, 110, 90, 105, 95]) +
                 scaling("phase1", 1, [50, 51, 52]) + scaling("phase4", 1, [7, 7, 7]),
                 latency("phase3", 50, [10, 11, 12, 13, 14]))
        make_run(b, scaling("phase3", 1, [120, 121, 122, 123, 124]) + scaling("phase3", 2, [101, 109, 91, 104, 96]) +
                 scaling("phase1", 1, [55, 56, 57]),
                 latency("phase3", 50, [5, 5.5, 6, 6.5, 7]), commit="bbbbbbb")
        r = run(a, b)
        out = r.stdout
        check("compare_exits_0", r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr))
        row = line_of(out, "phase3   work_ns=0 workers=1")
        check("a_clear_change_over_5_plus_5_reps_is_significant",
              "+19.61%" in row and "p=0.008 n=5+5" in row and "~" not in row, repr(row))
        row = line_of(out, "phase3   work_ns=0 workers=2")
        check("noise_is_marked_not_significant_with_its_p", "~ (p=" in row and "n=5+5" in row, repr(row))
        row = line_of(out, "phase1   work_ns=0 workers=1")
        check("three_reps_a_side_say_they_are_too_few", "+9.80%" in row and "~ (n=3+3: too few repetitions" in row,
              repr(row))
        check("a_configuration_one_run_lacks_is_left_out", "phase4" not in out, out)
        row = line_of(out, "phase3 load_pct=50", after="query p50 us")
        check("lower_is_better_metrics_show_their_change", "-50.00%" in row and "p=0.008" in row, repr(row))
        # (1.1961 * 1.0100 * 1.0980) ** (1/3): the three medians' ratios
        check("each_metric_ends_with_a_geomean_row", line_of(out, "geomean (3)").endswith("+9.88%"),
              repr(line_of(out, "geomean (3)")))
        tail = out[out.find("geometric mean of the changes per program"):]
        check("the_output_ends_with_the_geomean_per_program",
              tail and line_of(tail, "phase3").split()[1:] == ["+9.91%", "(2)", "-50.00%", "(1)", "-50.00%", "(1)"],
              repr(tail[:600]))
        check("same_machine_and_mode_give_no_warning", "warning" not in out, out[:300])

        make_run(c, scaling("phase3", 1, [100, 101, 102, 103, 104]), [], cpu_model="Other CPU", mode="full")
        r = run(a, c, "--graph", os.path.join(tmp, "graph"))
        lines = r.stdout.splitlines()
        check("different_machines_and_modes_are_warned_about_first",
              len(lines) > 2 and lines[0].startswith("warning:") and "cpu_model" in lines[0] and
              lines[1].startswith("warning:") and "mode" in lines[1], repr(lines[:3]))
        png = os.path.join(tmp, "graph", "compare.png")
        ok = os.path.exists(png) and os.path.getsize(png) > 1000
        if ok:
            with open(png, "rb") as f:
                ok = f.read(8) == b"\x89PNG\r\n\x1a\n"
        check("graph_draws_a_png_bar_chart", ok and os.path.exists(os.path.join(tmp, "graph", "compare.svg")),
              r.stdout[-300:] + r.stderr[-300:])

        r = run(a, os.path.join(tmp, "nothing"))
        check("a_folder_without_bench_h5_is_refused_with_exit_2", r.returncode == 2, "exit %d" % r.returncode)
    print("%d failure%s" % (failures, "" if failures == 1 else "s"))
    return min(failures, 100)


if __name__ == "__main__":
    sys.exit(main())
