#!/usr/bin/python3
"""check_smoke_compare.py - compares two smoke runs as CI does: the
fixture's full smoke run (--a) with a second, shorter one made here
(experiments serial and balance only). bench/compare must print a table
for each metric both runs measured and only those, mark every change `~`
(one repetition a side is too few for any significance), end with the
geometric mean per program, print no machine warning (same machine and
mode), and draw the bar chart with --graph. The second run is removed at
the end."""

import argparse
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN = os.path.join(ROOT, "bench", "run")
COMPARE = os.path.join(ROOT, "bench", "compare")
failures = 0


def check(name, ok, why=""):
    global failures
    print("ok %s" % name if ok else "FAIL %s: %s" % (name, why), flush=True)
    if not ok:
        failures += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--a", required=True, help="a full smoke run's folder")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="msgroute-bench-compare-") as tmp:
        b = os.path.join(tmp, "b")
        r = subprocess.run(["/usr/bin/python3", RUN, "--mode", "smoke", "--only", "serial,balance", "--bin", a.bin,
                            "--out", b], capture_output=True, text=True, timeout=120)
        check("second_smoke_run_exits_0", r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr[-1500:]))
        r = subprocess.run(["/usr/bin/python3", COMPARE, a.a, b, "--graph", os.path.join(tmp, "graph")],
                           capture_output=True, text=True, timeout=60)
        out = r.stdout
        sys.stdout.write(out)
        check("compare_exits_0", r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr[-1500:]))
        check("no_machine_warning_for_the_same_machine_and_mode", "warning" not in out, out[:500])
        heads = [x for x in out.splitlines() if x.endswith("is better)")]
        check("a_table_for_each_metric_both_runs_measured",
              heads == ["serial ns/msg (lower is better)", "balance msgs/s (higher is better)"], heads)
        rows = [x for x in out.splitlines() if "n=1+1" in x]
        check("one_repetition_a_side_is_too_few_and_shown_as_tilde",
              rows and all("~ (n=1+1: too few repetitions" in x for x in rows), rows[:3])
        tail = out[out.find("geometric mean of the changes per program"):]
        check("ends_with_the_geomean_per_program", tail and "phase3" in tail, tail[:300])
        png = os.path.join(tmp, "graph", "compare.png")
        check("graph_drawn", os.path.exists(png) and os.path.getsize(png) > 1000, r.stderr[-500:])
    print("%d failure%s" % (failures, "" if failures == 1 else "s"))
    return min(failures, 100)


if __name__ == "__main__":
    sys.exit(main())
