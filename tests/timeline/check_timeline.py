#!/usr/bin/python3
"""check_timeline.py - --timeline FILE, for every phase (phase 5's ZeroMQ
sends, waits and batches included): the file parses as Chrome trace-event
JSON, every event has the fields its type needs, every
process of the run (a real pid) has a named track with events, spans on one
thread nest, every query's flow starts in the main process, steps through
the worker that answers and ends back in the main process, a run with
--workers 3 shows four processes, and a worker killed with SIGKILL under
--recover keeps its track up to its death while its restart gets a new one,
a first SIGINT and the drain are marked, and a full buffer drops its oldest
events and says how many. Also: --timeline changes no dump, and a timeline
that cannot be written fails the run with exit 1.

Run by CTest with /usr/bin/python3; every program runs in a session of its
own, killed at the end whatever happens, in a temporary folder removed at
the end."""

import argparse
import decimal
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

failures = 0
BIN = None
started = []


def check(name, ok, why=""):
    global failures
    print("ok %s" % name if ok else "FAIL %s: %s" % (name, why), flush=True)
    if not ok:
        failures += 1
    return ok


def run(phase, args, cwd, timeout=60):
    p = subprocess.Popen([os.path.join(BIN, "phase%d" % phase)] + args, cwd=cwd, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True, text=True)
    started.append(p)
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out, err


def load(path):
    # Decimal: ts + dur compared exactly, as the file writes them (us, 3 decimals).
    with open(path) as f:
        return json.load(f, parse_float=decimal.Decimal)


NEEDS = {"X": ("name", "cat", "pid", "tid", "ts", "dur"), "i": ("name", "pid", "tid", "ts", "s"),
         "C": ("name", "pid", "ts", "args"), "s": ("name", "pid", "tid", "ts", "id"),
         "t": ("name", "pid", "tid", "ts", "id"), "f": ("name", "pid", "tid", "ts", "id", "bp"),
         "M": ("name", "pid", "args")}


def fields_ok(ev):
    for e in ev:
        need = NEEDS.get(e.get("ph"))
        if need is None or any(k not in e for k in need):
            return False, e
        if e["ph"] == "C" and not all(isinstance(v, int) for v in e["args"].values()):
            return False, e
    return True, None


def nest_ok(ev):
    """Complete spans of one (pid, tid), sorted by start (longest first),
    must each lie inside the one still open or start after it ends."""
    by = {}
    for e in ev:
        if e["ph"] == "X":
            by.setdefault((e["pid"], e["tid"]), []).append((e["ts"], e["ts"] + e["dur"], e["name"]))
    for key, spans in by.items():
        spans.sort(key=lambda s: (s[0], -s[1]))
        stack = []
        for s in spans:
            while stack and stack[-1][1] <= s[0]:
                stack.pop()
            if stack and s[1] > stack[-1][1]:
                return False, (key, stack[-1], s)
            stack.append(s)
    return True, None


def tracks(ev):
    """{pid: name} from process_name metadata, and the pids with events."""
    names = {e["pid"]: e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "process_name"}
    busy = {e["pid"] for e in ev if e["ph"] != "M"}
    return names, busy


def common_checks(tag, path, nprocs):
    d = load(path)
    ev = d["traceEvents"]
    ok, bad = fields_ok(ev)
    check("%s: every event has the fields of its type" % tag, ok, repr(bad))
    ok, bad = nest_ok(ev)
    check("%s: spans on one thread nest" % tag, ok, repr(bad))
    names, busy = tracks(ev)
    check("%s: %d processes, each named and with events" % (tag, nprocs),
          len(names) == nprocs and set(names) <= busy, "names %r, pids with events %r" % (names, busy))
    check("%s: the main process is named main" % tag, "main" in names.values(), repr(names))
    check("%s: one clock, CLOCK_MONOTONIC" % tag, d["otherData"]["clock"] == "CLOCK_MONOTONIC", repr(d["otherData"]))
    return d, ev, names


def has(ev, ph, name, pid=None):
    return any(e["ph"] == ph and e["name"] == name and (pid is None or e["pid"] == pid) for e in ev)


def test_phase1_and_2(tmp):
    for ph in (1, 2):
        rc, out, err = run(ph, ["--messages", "100000", "--timeline", "t.json"], tmp)
        if not check("phase%d --timeline exits 0" % ph, rc == 0, err):
            continue
        d, ev, names = common_checks("phase%d" % ph, os.path.join(tmp, "t.json"), 1)
        check("phase%d: router batches as spans" % ph, has(ev, "X", "route batch"))
        if ph == 2:
            check("phase2: source batches, loop turns and a queue depth counter",
                  has(ev, "X", "source batch") and has(ev, "X", "turn: timers and idle callbacks")
                  and has(ev, "C", "queue depth, worker 0"))
        os.unlink(os.path.join(tmp, "t.json"))


def test_full_buffer(tmp):
    # --batch 1: four records per message, far more than a process keeps.
    rc, out, err = run(2, ["--messages", "300000", "--batch", "1", "--timeline", "t.json"], tmp)
    if not check("phase2 --batch 1 --timeline exits 0", rc == 0, err):
        return
    d, ev, names = common_checks("phase2 --batch 1", os.path.join(tmp, "t.json"), 1)
    dropped = d["otherData"]["events_dropped"]
    labels = [e for e in ev if e["ph"] == "M" and e["name"] == "process_labels"]
    check("a full buffer drops the oldest events and the file says how many",
          dropped > 0 and labels and str(dropped) in labels[0]["args"]["labels"]
          and has(ev, "i", "drain"), "dropped %r, labels %r" % (dropped, labels))
    os.unlink(os.path.join(tmp, "t.json"))


def test_phase3(tmp):
    args = ["--workers", "3", "--messages", "200000", "--work-ns", "300", "--pipe-size", "4096",
            "--queries", "300", "--timeline", "t.json"]
    rc, out, err = run(3, args, tmp)
    if not check("phase3 --workers 3 --timeline exits 0", rc == 0, err):
        return
    d, ev, names = common_checks("phase3", os.path.join(tmp, "t.json"), 4)
    main = [p for p, n in names.items() if n == "main"][0]
    workers = {p for p, n in names.items() if n.startswith("worker ")}
    check("phase3: tracks named worker 0, 1, 2",
          sorted(names[p] for p in workers) == ["worker 0", "worker 1", "worker 2"], repr(names))
    check("phase3: pipe writes and full-pipe waits in the main process",
          has(ev, "X", "pipe write", main) and has(ev, "X", "pipe full: router waits for it to drain", main))
    check("phase3: every worker reads and applies batches",
          all(has(ev, "X", "read and apply messages", p) for p in workers))
    check("phase3: queue depth per worker", all(has(ev, "C", "queue depth, worker %d" % i) for i in range(3)))
    check_query_flows("phase3", ev, main, workers)


def check_query_flows(tag, ev, main, workers):
    flows = {}
    for e in ev:
        if e["ph"] in "stf" and e["name"] == "query":
            flows.setdefault(e["id"], []).append(e)
    paired = bool(flows)
    for fid, pts in flows.items():
        pts.sort(key=lambda e: e["ts"])
        kinds = "".join(e["ph"] for e in pts)
        if kinds != "stf" or pts[0]["pid"] != main or pts[2]["pid"] != main or pts[1]["pid"] not in workers:
            paired = False
            print("  flow %r: %r" % (fid, [(e["ph"], e["pid"]) for e in pts]))
    check("%s: every query is a flow main -> worker -> main (%d flows)" % (tag, len(flows)), paired)


def test_phase5(tmp):
    args = ["--workers", "3", "--messages", "200000", "--work-ns", "300", "--queries", "300", "--timeline", "t.json"]
    rc, out, err = run(5, args, tmp)
    if not check("phase5 --workers 3 --timeline exits 0", rc == 0, err):
        return
    d, ev, names = common_checks("phase5", os.path.join(tmp, "t.json"), 4)
    main = [p for p, n in names.items() if n == "main"][0]
    workers = {p for p, n in names.items() if n.startswith("worker ")}
    check("phase5: tracks named worker 0, 1, 2",
          sorted(names[p] for p in workers) == ["worker 0", "worker 1", "worker 2"], repr(names))
    check("phase5: route batches, loop turns, the sends to the workers and the drain in the main process",
          has(ev, "X", "route batch", main) and has(ev, "X", "turn: timers and idle callbacks", main)
          and has(ev, "X", "zmq send", main) and has(ev, "i", "drain", main))
    check("phase5: every worker waits for messages, applies batches and sends replies",
          all(has(ev, "X", "wait for a message", p) and has(ev, "X", "apply batch", p) and has(ev, "X", "zmq send", p)
              for p in workers))
    check_query_flows("phase5", ev, main, workers)


def test_phase3_recover(tmp):
    rc, out, err = run(3, ["--recover", "--messages", "10"], tmp)
    if rc != 0:
        print("skip phase3 --recover: %s" % err.strip().splitlines()[-1:], flush=True)
        return
    kill_and_recover(3, tmp, [])


def test_phase4(tmp):
    args = ["--workers", "3", "--messages", "300000", "--work-ns", "300", "--ring-kib", "16", "--timeline", "t.json"]
    rc, out, err = run(4, args, tmp)
    if not check("phase4 --workers 3 --timeline exits 0", rc == 0, err):
        return
    d, ev, names = common_checks("phase4", os.path.join(tmp, "t.json"), 4)
    main = [p for p, n in names.items() if n == "main"][0]
    workers = {p for p, n in names.items() if n.startswith("worker ")}
    check("phase4: every worker applies batches", all(has(ev, "X", "apply batch", p) for p in workers))
    check("phase4: ring-full waits and futex sleeps in the main process",
          has(ev, "X", "ring full: wait for room", main) and has(ev, "X", "futex sleep", main))
    # Whether a worker ever finds its ring empty depends on the scheduler;
    # that someone sleeps and someone wakes the other side does not.
    check("phase4: futex wake-ups, and every worker's sleeps on its own track",
          has(ev, "i", "futex wake") and all(e["pid"] in workers and e["args"]["producer"] == 0
                                            for e in ev if e["name"] == "futex sleep" and e["pid"] != main))
    check("phase4: ring fill counters and the drain",
          has(ev, "C", "queue depth, worker 0") and has(ev, "i", "drain", main))


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def has_worked(pid, deadline):
    """Waits (until deadline) for a worker to have slept twice: it ran, went
    to sleep for more, woke with it and slept again, so its track has events
    by now. On a loaded machine a worker can be 0.3 s old and not have run
    yet, and a worker killed then has nothing on its track."""
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:") and int(line.split()[1]) >= 2:
                        return
        except OSError:
            return
        time.sleep(0.01)


def kill_and_recover(phase, tmp, extra):
    args = ["--workers", "3", "--messages", "400000", "--rate", "200000", "--recover", "--timeline", "k.json"] + extra
    p = subprocess.Popen([os.path.join(BIN, "phase%d" % phase)] + args, cwd=tmp, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True, text=True)
    started.append(p)
    kids = []
    deadline = time.monotonic() + 10
    while len(kids) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
        kids = children(p.pid)
    time.sleep(0.3)
    victim = kids[1] if len(kids) == 3 else None
    if victim:
        has_worked(victim, time.monotonic() + 1.0)
        os.kill(victim, signal.SIGKILL)
    out, err = p.communicate(timeout=60)
    tag = "phase%d --recover" % phase
    if not check("%s: a worker killed mid-run, the run still exits 0" % tag, victim and p.returncode == 0,
                 "children %r, exit %r: %s" % (kids, p.returncode, err)):
        return
    d, ev, names = common_checks(tag, os.path.join(tmp, "k.json"), 5)
    died = [e for e in ev if e["ph"] == "i" and e["name"].endswith(" died")]
    check("%s: the death is an instant naming the pid and SIGKILL" % tag,
          len(died) == 1 and died[0]["args"]["pid"] == victim and died[0]["args"]["how"] == "killed by SIGKILL",
          repr(died))
    restarted = [e for e in ev if e["ph"] == "i" and e["name"].endswith(" restarted")]
    check("%s: the restart is an instant" % tag, len(restarted) == 1, repr(restarted))
    if not died or not restarted:
        return
    t_death = died[0]["ts"]
    last = max((e["ts"] + e.get("dur", 0) for e in ev if e["pid"] == victim and e["ph"] != "M"), default=None)
    check("%s: the killed worker's track has events and ends by its death" % tag,
          last is not None and last <= t_death, "last %r, death %r" % (last, t_death))
    newpid = restarted[0]["args"]["pid"]
    first = min((e["ts"] for e in ev if e["pid"] == newpid and e["ph"] != "M"), default=None)
    check("%s: the restarted worker is a new track, named as a restart, starting after the death" % tag,
          newpid != victim and names.get(newpid, "").endswith("restart 1") and first is not None
          and first >= t_death, "%r %r %r" % (newpid, names, first))


def test_stop_is_marked(tmp, phases):
    """A first SIGINT: the signal (or, in phase 4, which polls for it, the
    stop request) and the drain are instants of the main process."""
    marks = {2: "SIGINT", 3: "SIGINT", 4: "stop requested", 5: "SIGINT"}
    for ph, mark in ((ph, marks[ph]) for ph in phases):
        p = subprocess.Popen([os.path.join(BIN, "phase%d" % ph), "--messages", "100000000", "--rate", "100000",
                              "--timeline", "s.json"], cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True, text=True)
        started.append(p)
        time.sleep(1.0)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        if not check("phase%d: a first SIGINT drains, exit 0" % ph, p.returncode == 0, err):
            continue
        ev = load(os.path.join(tmp, "s.json"))["traceEvents"]
        check("phase%d: the stop (%s) and the drain are instants" % (ph, mark),
              has(ev, "i", mark) and has(ev, "i", "drain"),
              repr([e["name"] for e in ev if e["ph"] == "i" and "wake" not in e["name"]]))
        os.unlink(os.path.join(tmp, "s.json"))


def test_dump_unchanged(tmp, phases):
    base = ["--workers", "2", "--messages", "50000", "--ids", "500"]
    for ph in phases:
        rc1, _, e1 = run(ph, base + ["--dump", "a.csv"], tmp)
        rc2, _, e2 = run(ph, base + ["--dump", "b.csv", "--timeline", "t.json"], tmp)
        same = rc1 == 0 and rc2 == 0 and open(os.path.join(tmp, "a.csv")).read() == open(
            os.path.join(tmp, "b.csv")).read()
        check("phase%d: --timeline changes no byte of the dump" % ph, same, e1 + e2)
        for f in ("a.csv", "b.csv", "t.json"):
            if os.path.exists(os.path.join(tmp, f)):
                os.unlink(os.path.join(tmp, f))


def test_unwritable(tmp):
    rc, out, err = run(4, ["--messages", "1000", "--timeline", os.path.join(tmp, "no", "such", "dir", "t.json")],
                       tmp)
    check("a timeline that cannot be written: exit 1 and the reason", rc == 1 and "timeline" in err,
          "exit %r: %s" % (rc, err))


def main():
    global BIN
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--no-phase5", action="store_true",
                    help="leave phase 5 out (the sanitized build: the Makefile's sanitize target says why)")
    args = ap.parse_args()
    BIN = os.path.abspath(args.bin)
    with tempfile.TemporaryDirectory(prefix="msgroute-timeline-") as tmp:
        try:
            test_phase1_and_2(tmp)
            test_full_buffer(tmp)
            test_phase3(tmp)
            test_phase4(tmp)
            if args.no_phase5:
                print("skip phase5: --no-phase5", flush=True)
            else:
                test_phase5(tmp)
            kill_and_recover(4, tmp, [])
            test_phase3_recover(tmp)
            test_stop_is_marked(tmp, (2, 3, 4) if args.no_phase5 else (2, 3, 4, 5))
            test_dump_unchanged(tmp, (3, 4) if args.no_phase5 else (3, 4, 5))
            test_unwritable(tmp)
            left = [f for f in os.listdir(tmp) if f not in ("t.json", "k.json")]
            check("no temporary file left beside the timelines", not left, repr(left))
        finally:
            for p in started:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                if p.returncode is None:
                    p.wait()
    print("%d failures" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
