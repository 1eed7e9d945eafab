#!/usr/bin/python3
"""check_smoke.py - runs the benchmark harness in smoke mode (tiny
workloads, under a minute: see check_duration) into --out and checks what
it leaves: bench.h5 opens with h5py and holds every experiment's group
with the machine and commit attributes, every CSV has a header row, every
graph exists as a non-empty PNG and SVG, index.html exists and its path is
the last line printed, and manifest.json lists every other file and passes
bench/verify.

The folder stays for the tests that read it (the CTest fixture
bench_smoke_run: the page in a browser, a comparison of two smoke runs);
the fixture's cleanup test removes it."""

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN = os.path.join(ROOT, "bench", "run")
VERIFY = os.path.join(ROOT, "bench", "verify")
GRAPHS = ("scaling", "ipc", "serial", "balance", "latency", "rss", "network")
CSVS = {"exp1_scaling": "msgs_per_s_median", "exp2_ipc": "ns_per_msg_median", "exp3_serial": "ns_per_msg_median",
        "exp4_balance": "msgs_max_over_mean", "exp5_latency": "p99_us", "exp5_floor": "rtt_p50_us",
        "rss": "rss_kb_per_worker", "exp6_network": "msgs_per_s_median", "exp6_floor": "rtt_p50_us",
        "exp6_query": "p50_us", "exp1_core": "machine_over_bare", "exp1_pairs": "ratio_median"}
GROUPS = ("exp1_scaling", "exp2_ipc", "exp3_serial", "exp4_balance", "exp5_latency", "exp6_network")
ATTRS = ("cpu_model", "cpu_count", "kernel", "loadavg_start", "commit", "date", "mode", "config")
failures = 0


def check(name, ok, why=""):
    global failures
    print("ok %s" % name if ok else "FAIL %s: %s" % (name, why), flush=True)
    if not ok:
        failures += 1


def cpu_seconds():
    """User + system time of every process this test has waited for."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def check_duration(took, cpu, load):
    """Under a minute of wall time, which only means something when the
    machine is not oversubscribed: with a load average above the CPU count
    at the start (parallel builds of other trees, say), the wall time
    measures the others' work too, and only the run's own CPU time is
    held to the minute."""
    ncpu = os.cpu_count() or 1
    check("smoke_run_uses_under_60_s_of_cpu", cpu < 60, "%.1f s of CPU" % cpu)
    if load <= ncpu:
        check("smoke_run_under_60_s", took < 60, "%.1f s (load %.1f on %d CPUs)" % (took, load, ncpu))
    else:
        print("skip smoke_run_under_60_s: load average %.1f on %d CPUs at the start; %.1f s wall, %.1f s CPU"
              % (load, ncpu, took, cpu), flush=True)


def check_report_and_manifest(out, stdout):
    lines = stdout.strip().splitlines()
    page = os.path.join(out, "index.html")
    check("smoke_run_ends_with_the_path_of_index_html", lines and lines[-1].split()[-1] == page,
          repr(lines[-1:]))
    check("index_html_exists", os.path.exists(page) and os.path.getsize(page) > 1000, "missing or tiny")
    try:
        with open(os.path.join(out, "manifest.json")) as f:
            m = json.load(f)
    except (OSError, ValueError) as e:
        check("manifest_json_is_json", False, str(e))
        return
    machine = m.get("machine", {})
    check("manifest_has_commit_date_command_mode", all(m.get(k) for k in ("commit", "date", "command", "mode")), m)
    check("manifest_has_the_machine", all(k in machine for k in ("cpu_model", "cores", "kernel", "load_at_start")),
          machine)
    listed = sorted(e["path"] for e in m.get("files", []))
    present = sorted(n for n in os.listdir(out) if n != "manifest.json")
    check("manifest_lists_every_other_file", listed == present, "listed %s, present %s" % (listed, present))
    r = subprocess.run(["/usr/bin/python3", VERIFY, out], capture_output=True, text=True, timeout=60)
    check("fresh_results_pass_bench_verify", r.returncode == 0, "exit %d: %s" % (r.returncode, r.stdout[-500:]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", required=True, help="the results folder (emptied first)")
    a = ap.parse_args()
    out = os.path.abspath(a.out)
    shutil.rmtree(out, ignore_errors=True)
    load = os.getloadavg()[0]
    cpu0 = cpu_seconds()
    t0 = time.monotonic()
    r = subprocess.run(["/usr/bin/python3", RUN, "--mode", "smoke", "--bin", a.bin, "--out", out],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=170)
    took, cpu = time.monotonic() - t0, cpu_seconds() - cpu0
    sys.stdout.write(r.stdout)
    check("smoke_run_exits_0", r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr[-2000:]))
    check_duration(took, cpu, load)
    check("smoke_run_prints_graphs_path", "graphs:" in r.stdout, "no 'graphs:' line")
    check("summary_judges_the_targets", "target phase 1 / bare generate-and-route loop" in r.stdout and
          "target phase 4, 1 worker / phase 1" in r.stdout, "no targets block")
    check("summary_splits_phase_1s_floor", "of which the state machine alone" in r.stdout,
          "no machine-loop line under the phase 1 target")

    for name, col in CSVS.items():
        path = os.path.join(out, name + ".csv")
        ok, why = False, "missing"
        if os.path.exists(path):
            with open(path) as f:
                rows = list(csv.reader(f))
            ok = len(rows) >= 2 and col in rows[0] and all(len(x) == len(rows[0]) for x in rows)
            why = "header %r, %d rows" % (rows[0] if rows else None, len(rows))
        check("csv_has_header_and_rows[%s]" % name, ok, why)

    for g in GRAPHS:
        for ext in ("png", "svg"):
            p = os.path.join(out, "%s.%s" % (g, ext))
            check("graph_exists_nonempty[%s.%s]" % (g, ext), os.path.exists(p) and os.path.getsize(p) > 1000,
                  "missing or tiny")
        p = os.path.join(out, g + ".png")
        if os.path.exists(p):
            with open(p, "rb") as f:
                check("graph_is_png[%s]" % g, f.read(8) == b"\x89PNG\r\n\x1a\n", "bad signature")

    try:
        import h5py
        with h5py.File(os.path.join(out, "bench.h5"), "r") as f:
            for k in ATTRS:
                check("h5_has_attribute[%s]" % k, k in f.attrs, "missing")
            for g in GROUPS:
                ok = g in f and "summary" in f[g] and f[g]["summary"].shape[0] > 0
                check("h5_has_summary[%s]" % g, ok, "missing or empty")
                check("h5_has_samples[%s]" % g, g in f and "samples" in f[g], "missing")
    except (ImportError, OSError) as e:
        check("h5_opens_with_h5py", False, str(e))
    check_report_and_manifest(out, r.stdout)
    leftovers = [n for n in os.listdir("/dev/shm") if n.startswith("msgroute")] if os.path.isdir("/dev/shm") else []
    check("no_shm_objects_left", not leftovers, " ".join(leftovers))
    print("%d failure%s" % (failures, "" if failures == 1 else "s"))
    return min(failures, 100)


if __name__ == "__main__":
    sys.exit(main())
