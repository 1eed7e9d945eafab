#!/usr/bin/python3
"""check_peer.py - the Python peer (bench/peers/mp_router.py) implements
SPEC §3-§6 exactly: its dumps equal the golden CSVs and phase 1's.

Each check prints one line, "ok NAME" or "FAIL NAME: why"; the exit status
is the number of failures (0 = all passed). Temporary files live in one
temporary folder, removed at the end."""

import argparse
import filecmp
import glob
import os
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PEER = os.path.join(ROOT, "bench", "peers", "mp_router.py")
PY = "/usr/bin/python3"
failures = 0


def check(name, ok, why=""):
    global failures
    print("ok %s" % name if ok else "FAIL %s: %s" % (name, why), flush=True)
    if not ok:
        failures += 1


def run(argv, timeout=30, stdout=None):
    return subprocess.run(argv, stdout=stdout or subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)


def same(a, b):
    return os.path.exists(a) and os.path.exists(b) and filecmp.cmp(a, b, shallow=False)


def alive(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            return "State:\tZ" not in f.read()
    except OSError:
        return False


def check_signals(tmp):
    """SPEC §8 for the peer: a first SIGINT drains and dumps (exit 0); a
    second one ends the run at once with 130, no worker left behind."""
    for nsig, want_rc, want_dump in ((1, 0, True), (2, 130, False)):
        dump = os.path.join(tmp, "sig%d.csv" % nsig)
        p = subprocess.Popen([PY, PEER, "--messages", "100000000", "--workers", "2", "--work-ns", "20000",
                              "--dump", dump], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             start_new_session=True)
        try:
            time.sleep(1.5)
            kids = [int(x) for x in run(["pgrep", "-P", str(p.pid)]).stdout.split()]
            for _ in range(nsig):
                p.send_signal(signal.SIGINT)
                time.sleep(0.2)
            try:
                rc = p.wait(timeout=40)
            except subprocess.TimeoutExpired:
                rc = "no exit within 40 s"
            time.sleep(0.3)
            left = [k for k in kids if alive(k)]
            name = ("peer_first_sigint_drains_and_dumps" if nsig == 1 else
                    "peer_second_sigint_exits_130_without_workers")
            check(name, rc == want_rc and os.path.exists(dump) == want_dump and len(kids) == 2 and not left,
                  "exit %s, dump %s, workers %s, left %s" % (rc, os.path.exists(dump), kids, left))
        finally:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--golden", required=True)
    a = ap.parse_args()
    phase1, msgen = os.path.join(a.bin, "phase1"), os.path.join(a.bin, "msgen")
    with tempfile.TemporaryDirectory(prefix="msgroute-bench-") as tmp:
        dump = os.path.join(tmp, "dump.csv")
        traces = sorted(glob.glob(os.path.join(a.golden, "*.trace")))
        check("golden traces exist", len(traces) > 0, "none in " + a.golden)
        for t in traces:
            want = t[:-len(".trace")] + ".csv"
            for workers in (1, 3):
                name = "peer_dump_equals_golden[%s, %d workers]" % (os.path.basename(t), workers)
                if os.path.exists(dump):
                    os.unlink(dump)
                r = run([PY, PEER, "--trace", t, "--workers", str(workers), "--dump", dump])
                check(name, r.returncode == 0 and same(dump, want),
                      "exit %d, %s" % (r.returncode, r.stderr.strip() or "dump differs from " + want))
        for t in sorted(glob.glob(os.path.join(a.golden, "bad", "*.trace"))):
            if os.path.exists(dump):
                os.unlink(dump)
            r = run([PY, PEER, "--trace", t, "--dump", dump])
            line = r.stderr.strip().splitlines()
            check("peer_rejects_bad_trace[%s]" % os.path.basename(t),
                  r.returncode == 2 and not os.path.exists(dump) and len(line) == 1 and line[0].startswith(t + ":"),
                  "exit %d, stderr %r, dump %s" % (r.returncode, r.stderr, os.path.exists(dump)))

        # Against phase 1, on traces written by msgen and on the generator itself.
        workloads = [["--messages", "3000", "--ids", "200", "--seed", "11"],
                     ["--messages", "3000", "--ids", "50", "--dist", "zipf:1.2", "--payload", "0-600", "--seed", "5"],
                     ["--messages", "2000", "--ids", "1000", "--dist", "zipf:0.8", "--payload", "300", "--seed", "9"]]
        have_c = os.access(phase1, os.X_OK) and os.access(msgen, os.X_OK)
        check("phase1 and msgen are built", have_c, "not in " + a.bin)
        for i, flags in enumerate(workloads if have_c else []):
            trace = os.path.join(tmp, "w%d.trace" % i)
            with open(trace, "w") as f:
                r = run([msgen] + flags, stdout=f)
            c_dump, py_dump = os.path.join(tmp, "c%d.csv" % i), os.path.join(tmp, "p%d.csv" % i)
            r1 = run([phase1, "--trace", trace, "--dump", c_dump])
            r2 = run([PY, PEER, "--trace", trace, "--workers", "2", "--dump", py_dump])
            check("peer_equals_phase1_on_msgen_trace[%s]" % " ".join(flags),
                  r.returncode == 0 and r1.returncode == 0 and r2.returncode == 0 and same(c_dump, py_dump),
                  "exits %d %d %d: %s" % (r.returncode, r1.returncode, r2.returncode, r2.stderr.strip()))
            g_dump = os.path.join(tmp, "g%d.csv" % i)
            r3 = run([PY, PEER] + flags + ["--workers", "3", "--dump", g_dump])
            check("peer_generator_equals_c_generator[%s]" % " ".join(flags),
                  r3.returncode == 0 and same(c_dump, g_dump), "exit %d: %s" % (r3.returncode, r3.stderr.strip()))
        check_signals(tmp)
    print("%d failure%s" % (failures, "" if failures == 1 else "s"))
    return min(failures, 100)


if __name__ == "__main__":
    sys.exit(main())
