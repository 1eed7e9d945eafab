"""experiments.py - the experiments of SPEC §9 (the sixth, phase 5 over
ZeroMQ, lives in network.py): each runs its programs (warm-up discarded,
then repetitions), keeps median, min, max and spread, and fills the tables
that become the CSVs and the HDF5 datasets."""

import json
import os
import platform
import statistics

from .config import MODES, PY_IPC, PY_SERIAL, PYTHON, SPREAD_WARN, log
from .proc import RunFailed, discover, json_lines, run_cmd

NAN = float("nan")

# rss.csv: kind "workers" rows come from experiment 1 (--ids 10000, each
# worker count); kind "ids" rows from the memory sweep (2 workers, each
# --ids), whose bytes_per_machine_* are the slopes from the sweep's previous
# size: the main process (for phases 1 and 2, the one process) and the
# workers together. rss_kb_workers_sum is the one process for phases 1, 2.
RSS_COLUMNS = ["kind", "series", "workers", "processes", "rss_kb_per_worker", "rss_kb_max", "rss_kb_workers_sum",
               "ids", "machines", "rss_kb_main", "bytes_per_machine_main", "bytes_per_machine_workers"]


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return dict(median=float("nan"), min=float("nan"), max=float("nan"), spread=float("nan"), n=0, wide=0)
    med = statistics.median(values)
    lo, hi = min(values), max(values)
    spread = (hi - lo) / med if med else 0.0
    return dict(median=med, min=lo, max=hi, spread=spread, n=len(values), wide=int(spread > SPREAD_WARN))


def busy_share(summary):
    """The share of a run its workers spent applying messages, their mean
    (`busy_s` of each worker in the --json summary over the run's seconds);
    None for a run without per-worker figures. Near 1, the workers were the
    limit; well below it, the main process was."""
    pw = [w["busy_s"] for w in summary.get("per_worker", []) if "busy_s" in w]
    secs = summary.get("seconds", 0)
    return sum(pw) / len(pw) / secs if pw and secs > 0 else None


class Bench:
    def __init__(self, args):
        self.args = args
        self.cfg = MODES[args.mode]
        self.series, self.notes = discover(args.bin)
        self.tables = {}    # csv name -> (columns, rows)
        self.samples = {}   # experiment -> list of dict (every repetition)
        self.warnings = []
        self.cpu_count = os.cpu_count() or 1
        self.peak_rate = {}  # (series, workers, work) -> median msgs/s
        self.failures = {}   # (experiment, series) -> failed runs
        self.cpu_per_msg = {}  # (series, workers, work) -> median CPU ns per message, all processes

    def table(self, name, columns):
        self.tables.setdefault(name, (columns, []))
        return self.tables[name][1]

    def warn_spread(self, what, st):
        if st["wide"]:
            msg = "wide spread: %s: median %.4g, min %.4g, max %.4g (%.0f %%)" % (
                what, st["median"], st["min"], st["max"], 100 * st["spread"])
            self.warnings.append(msg)
            log("WARNING " + msg)

    def measure(self, s, flags, rate_guess, target_s, reps, exp, key):
        """Warm-up (discarded, calibrates --messages to target_s), then reps
        runs. Returns the list of JSON summaries of the kept runs."""
        c = self.cfg
        if self.given_up(exp, s.name):
            return []
        warm_msgs = max(c["min_msgs"] // 4, int(rate_guess * c["warm_s"]))
        try:
            w = s.run(flags + ["--messages", str(warm_msgs)], c["timeout"])
        except RunFailed as e:
            self.note_failure(exp, s.name, key, e)
            return []
        rate = w["msgs_per_s"] if w.get("msgs_per_s") else rate_guess
        msgs = max(c["min_msgs"], int(rate * target_s))
        runs = []
        for rep in range(1, reps + 1):
            try:
                r = s.run(flags + ["--messages", str(msgs)], c["timeout"])
            except RunFailed as e:
                self.note_failure(exp, s.name, key, e)
                continue
            r["rep"] = rep
            runs.append(r)
            self.samples.setdefault(exp, []).append(dict(key, series=s.name, rep=rep, messages=r["messages"],
                                                         seconds=r["seconds"], msgs_per_s=r["msgs_per_s"],
                                                         cpu_s=r["cpu_s"], rss_kb_max=r.get("rss_kb_max", 0)))
        return runs

    # A program that fails twice in one experiment (a hang costs a whole
    # timeout each time) is given up for the rest of that experiment.
    MAX_FAILURES = 2

    def note_failure(self, exp, name, key, e):
        msg = "%s: %s %s failed: %s" % (exp, name, json.dumps(key), e)
        self.warnings.append(msg)
        log("WARNING " + msg)
        n = self.failures.get((exp, name), 0) + 1
        self.failures[(exp, name)] = n
        if n == self.MAX_FAILURES:
            self.notes.append("%s: %s failed %d times; skipped for the rest of this experiment" % (exp, name, n))
            log("note: " + self.notes[-1])

    def given_up(self, exp, name):
        return self.failures.get((exp, name), 0) >= self.MAX_FAILURES

    # -------------------------------------------------- experiment 1: scaling

    def worker_counts(self):
        """The mode's worker counts plus cpu_count (SPEC §9), outside smoke mode."""
        ws = set(self.cfg["workers"])
        if self.args.mode != "smoke":
            ws.add(self.cpu_count)
        return sorted(ws)

    def guess_rate(self, s, work, workers):
        per = 1e9 / (work + (4000 if s.is_peer else 60))
        return per * min(workers, self.cpu_count)

    @staticmethod
    def scaling_flags(s, workers, work):
        """Experiment 1's workload for s (the pairs below reuse it)."""
        return ["--ids", "10000", "--work-ns", str(work)] + (["--workers", str(workers)] if s.has_workers else [])

    def exp_scaling(self):
        c = self.cfg
        rows = self.table("exp1_scaling", ["series", "work_ns", "workers", "msgs_per_s_median", "msgs_per_s_min",
                                           "msgs_per_s_max", "spread", "wide", "reps", "cpu_ns_per_msg",
                                           "rss_kb_max", "rss_kb_per_worker", "cpu_count"])
        ref = self.table("exp1_scaling_ref", ["series", "work_ns", "workers", "msgs_per_s_median"])
        rss = self.table("rss", RSS_COLUMNS)
        for work in c["work"]:
            for s in self.series:
                for workers in (self.worker_counts() if s.has_workers else [1]):
                    key = dict(work_ns=work, workers=workers)
                    flags = self.scaling_flags(s, workers, work)
                    log("scaling: %s, %d worker%s, work %d ns" % (s.name, workers, "" if workers == 1 else "s", work))
                    runs = self.measure(s, flags, self.guess_rate(s, work, workers), c["target_s"], c["reps"],
                                        "scaling", key)
                    if not runs:
                        continue
                    st = stats([r["msgs_per_s"] for r in runs])
                    self.warn_spread("scaling %s workers=%d work=%d msgs/s" % (s.name, workers, work), st)
                    last = runs[-1]
                    pw = [w.get("rss_kb", 0) for w in last.get("per_worker", [])]
                    rss_pw = statistics.median(pw) if pw else last.get("rss_kb_max", 0)
                    cpu_ns = statistics.median([1e9 * r["cpu_s"] / r["messages"] for r in runs if r["messages"]] or [0])
                    rows.append([s.name, work, workers, st["median"], st["min"], st["max"], st["spread"], st["wide"],
                                 st["n"], cpu_ns, last.get("rss_kb_max", 0), rss_pw,
                                 last.get("cpu_count", self.cpu_count)])
                    self.peak_rate[(s.name, workers, work)] = st["median"]
                    self.cpu_per_msg[(s.name, workers, work)] = cpu_ns
                    if not s.has_workers:
                        for x in (min(self.worker_counts()), max(self.worker_counts())):
                            ref.append([s.name, work, x, st["median"]])
                    if work == 0:
                        # Worker processes only: the C phases do not report
                        # their router's RSS apart from rss_kb_max.
                        rss.append(["workers", s.name, workers, len(pw) + (1 if s.has_workers else 0), rss_pw,
                                    last.get("rss_kb_max", 0), sum(pw) if pw else last.get("rss_kb_max", 0),
                                    10000, last.get("machines", 0), last.get("rss_kb_main", 0), NAN, NAN])
        self.core_floor()
        self.pipeline_pairs()
        self.memory_sweep(rss)

    def core_floor(self):
        """Phase 1's floor, in the same run: core_bench alternates the source
        alone, the bare loop (generate, and find or create each message's
        machine, as phase 1 does, but no state machine and no dump), the
        machine loop (the bare loop plus sm_apply(), nothing else) and phase
        1's own loop, in one process, on experiment 1's workload."""
        c = self.cfg
        loops = ("source", "bare", "machine", "phase1")
        rows = self.table("exp1_core", ["messages", "ids", "reps"] + ["%s_msgs_per_s%s" % (n, q)
                                                                      for n in loops
                                                                      for q in ("", "_min", "_max")] +
                          ["phase1_over_bare", "machine_over_bare", "phase1_over_machine"])
        cb = os.path.join(self.args.bin, "core_bench")
        if not os.access(cb, os.X_OK):
            self.notes.append("core_bench: not built, no bare-loop floor")
            return
        rate = self.peak_rate.get(("phase1", 1, 0), 1e7)
        msgs = max(c["min_msgs"], int(rate * c["target_s"]))
        log("scaling: phase 1's floor (core_bench, %d messages)" % msgs)
        try:
            out = run_cmd([cb, "--messages", str(msgs), "--ids", "10000", "--reps", str(max(3, c["reps"])), "--json"],
                          c["timeout"] * 3)
        except RunFailed as e:
            self.note_failure("scaling", "core_bench", {}, e)
            return
        for r in json_lines(out):
            rows.append([r["messages"], r["ids"], r["reps"]] + [r["%s_msgs_per_s%s" % (n, q)]
                                                                for n in loops
                                                                for q in ("", "_min", "_max")] +
                        [r["phase1_msgs_per_s"] / r["bare_msgs_per_s"],
                         r["machine_msgs_per_s"] / r["bare_msgs_per_s"],
                         r["phase1_msgs_per_s"] / r["machine_msgs_per_s"]])

    # The targets that weigh a pipeline against phase 1 (summary.py): A, its
    # workers, B, --work-ns. Each is a ratio of rates that the machine's load
    # moves together only when the two runs are close in time.
    PAIRS = (("phase4", 1, "phase1", 0), ("phase3", 2, "phase1", 1000))

    def pipeline_pairs(self):
        """Each pipeline target measured as interleaved pairs: A then B, B
        then A, and so on, at least 5 rounds, each round's ratio of rates
        kept. Experiment 1's medians come from runs a minute apart, long
        enough for a neighbour on this shared machine to come or go; the
        median of per-round ratios is what load cannot move."""
        c = self.cfg
        rows = self.table("exp1_pairs", ["a", "a_workers", "b", "work_ns", "rounds", "a_msgs_per_s_median",
                                         "b_msgs_per_s_median", "ratio_median", "ratio_min", "ratio_max",
                                         "a_busy_median"])
        by_name = {s.name: s for s in self.series}
        for a_name, a_workers, b_name, work in self.PAIRS:
            a, b = by_name.get(a_name), by_name.get(b_name)
            if not a or not b:
                continue
            argv = {}
            for s, workers in ((a, a_workers), (b, 1)):
                rate = self.peak_rate.get((s.name, workers, work)) or self.guess_rate(s, work, workers)
                argv[s.name] = self.scaling_flags(s, workers, work) + [
                    "--messages", str(max(c["min_msgs"], int(rate * c["target_s"])))]
            log("scaling: %s (%d worker%s) against %s, work %d ns, interleaved" % (
                a_name, a_workers, "" if a_workers == 1 else "s", b_name, work))
            got, busy = {a_name: [], b_name: []}, []
            for rnd in range(max(5, c["reps"])):
                for s in ((a, b) if rnd % 2 == 0 else (b, a)):
                    try:
                        r = s.run(argv[s.name], c["timeout"])
                        got[s.name].append(r["msgs_per_s"])
                        if s is a:
                            busy.append(busy_share(r))
                    except RunFailed as e:
                        self.note_failure("scaling", s.name, dict(pair=a_name + "/" + b_name), e)
                        got[s.name].append(None)
            ratios = [x / y for x, y in zip(got[a_name], got[b_name]) if x and y]
            if not ratios:
                continue
            st = stats(ratios)
            self.warn_spread("scaling %s/%s work=%d ratio" % (a_name, b_name, work), st)
            rows.append([a_name, a_workers, b_name, work, st["n"], stats(got[a_name])["median"],
                         stats(got[b_name])["median"], st["median"], st["min"], st["max"], stats(busy)["median"]])

    def memory_sweep(self, rss):
        """Bytes per machine, per process: each C program at 2 workers (1 for
        phases 1 and 2) over the mode's --ids, with 3 messages per id (all
        but about 5 % of the ids get a machine). Peak RSS grows with the
        machines a process holds, so the slope between two sizes is what a
        machine costs there, start-up and buffers cancelled out."""
        prev = {}
        for s in self.series:
            if s.is_peer:
                continue  # the Python peer needs minutes for 3 million messages
            for ids in self.cfg["mem_ids"]:
                flags = ["--ids", str(ids), "--messages", str(3 * ids)]
                if s.has_workers:
                    flags += ["--workers", "2"]
                log("memory: %s, %d ids" % (s.name, ids))
                try:
                    r = s.run(flags, self.cfg["timeout"] * 3)
                except RunFailed as e:
                    self.note_failure("memory", s.name, dict(ids=ids), e)
                    continue
                pw = [w.get("rss_kb", 0) for w in r.get("per_worker", [])]
                main_kb = r.get("rss_kb_main", r.get("rss_kb_max", 0))
                workers_kb = sum(pw) if pw else main_kb
                machines = r.get("machines", 0)
                per_main = per_workers = NAN
                p = prev.get(s.name)
                if p and machines > p[0]:
                    per_main = 1024.0 * (main_kb - p[1]) / (machines - p[0])
                    per_workers = 1024.0 * (workers_kb - p[2]) / (machines - p[0])
                prev[s.name] = (machines, main_kb, workers_kb)
                rss.append(["ids", s.name, 2 if s.has_workers else 1, len(pw) + (1 if s.has_workers else 0),
                            statistics.median(pw) if pw else main_kb, r.get("rss_kb_max", 0), workers_kb, ids,
                            machines, main_kb, per_main, per_workers])

    # ------------------------------------------------------ experiment 2: IPC

    def exp_ipc(self):
        c = self.cfg
        rows = self.table("exp2_ipc", ["transport", "size_bytes", "ns_per_msg_median", "ns_per_msg_min",
                                       "ns_per_msg_max", "spread", "wide", "reps"])
        sizes = ",".join(str(x) for x in c["sizes"])
        got = {}
        ipc_bench = os.path.join(self.args.bin, "ipc_bench")
        cmds = []
        if os.access(ipc_bench, os.X_OK):
            cmds.append(("ipc_bench", [ipc_bench, "--sizes", sizes, "--bytes", str(c["ipc_bytes"]),
                                       "--reps", str(c["reps"])]))
        else:
            self.notes.append("ipc_bench: not built, call/pipe/ring lines skipped")
        cmds.append(("py_ipc", [PYTHON, PY_IPC, "--sizes", sizes, "--bytes", str(c["ipc_bytes"]),
                                "--reps", str(c["reps"])]))
        for name, argv in cmds:
            log("ipc: %s" % name)
            try:
                out = run_cmd(argv, c["timeout"] * 4)
            except RunFailed as e:
                self.note_failure("ipc", name, {}, e)
                continue
            for r in json_lines(out):
                got.setdefault((r["transport"], r["size"]), []).append(r["ns_per_msg"])
                self.samples.setdefault("ipc", []).append(dict(series=r["transport"], size=r["size"], rep=r["rep"],
                                                               ns_per_msg=r["ns_per_msg"]))
        if not any(t == "ring" for t, _ in got):
            self.notes.append("ipc: the phase-4 ring microbenchmark is not built (needs phases/phase4/ring.h); "
                              "the phase4 end-to-end line stands in when phase 4 exists")
        # End to end: each program with one worker moving messages of each size.
        for s in self.series:
            for size in c["sizes"]:
                flags = ["--ids", "1000", "--payload", str(size)]
                if s.has_workers:
                    flags += ["--workers", "1"]
                guess = 1e9 / ((4000 if s.is_peer else 100) + size * (2.0 if s.is_peer else 0.3))
                log("ipc: %s end to end, %d-byte payloads" % (s.name, size))
                runs = self.measure(s, flags, guess, c["target_s"], c["reps"], "ipc", dict(size=size))
                for r in runs:
                    got.setdefault((s.name + "/e2e", size), []).append(1e9 / r["msgs_per_s"])
        order = ["call", "pipe", "ring", "mp.Queue"] + [s.name + "/e2e" for s in self.series]
        for t in sorted(got, key=lambda k: (order.index(k[0]) if k[0] in order else 99, k[1])):
            st = stats(got[t])
            self.warn_spread("ipc %s %d B ns/msg" % t, st)
            rows.append([t[0], t[1], st["median"], st["min"], st["max"], st["spread"], st["wide"], st["n"]])

    # -------------------------------------------- experiment 3: serialization

    def exp_serial(self):
        c = self.cfg
        rows = self.table("exp3_serial", ["lang", "codec", "type", "op", "bytes", "ns_per_msg_median",
                                          "ns_per_msg_min", "ns_per_msg_max", "spread", "wide", "reps"])
        share = self.table("exp3_share", ["series", "method", "codec_ns_per_msg", "cpu_ns_per_msg", "share"])
        got, size = {}, {}
        cmds = []
        sb = os.path.join(self.args.bin, "serial_bench")
        if os.access(sb, os.X_OK):
            cmds.append(("serial_bench", [sb, "--seconds", str(c["serial_s"]), "--reps", str(c["reps"])]))
        else:
            self.notes.append("serial_bench: not built, C serialization lines skipped")
        cmds.append(("py_serial", [PYTHON, PY_SERIAL, "--seconds", str(c["serial_s"]), "--reps", str(c["reps"])]))
        for name, argv in cmds:
            log("serial: %s" % name)
            try:
                out = run_cmd(argv, c["timeout"] * 4)
            except RunFailed as e:
                self.note_failure("serial", name, {}, e)
                continue
            for r in json_lines(out):
                k = (r["lang"], r["codec"], r["type"], r["op"])
                got.setdefault(k, []).append(r["ns_per_msg"])
                size[k] = r["bytes"]
                self.samples.setdefault("serial", []).append(dict(series="%s %s" % (r["lang"], r["codec"]),
                                                                  type=r["type"], op=r["op"], rep=r["rep"],
                                                                  ns_per_msg=r["ns_per_msg"]))
        med = {}
        for k in sorted(got):
            st = stats(got[k])
            med[k] = st["median"]
            self.warn_spread("serial %s ns/msg" % " ".join(k), st)
            rows.append(list(k) + [size[k], st["median"], st["min"], st["max"], st["spread"], st["wide"], st["n"]])

        # The share of (de)serialization in a message's whole cost. Measured
        # directly when phase 3 offers a raw codec (--codec raw); otherwise
        # estimated as the primitives pack+unpack time (phase 3's frame
        # header) over the phase's measured ns per message at one worker.
        # The C codec of the estimate is phase 3's own frame codec when
        # serial_bench measured it (codec "frame"), else msgpack-c's object API.
        c_codec = "frame" if ("c", "frame", "primitives", "pack") in med else "msgpack"
        codec = {"c": med.get(("c", c_codec, "primitives", "pack"), 0) +
                 med.get(("c", c_codec, "primitives", "unpack"), 0),
                 "python": med.get(("python", "pickle", "primitives", "pack"), 0) +
                 med.get(("python", "pickle", "primitives", "unpack"), 0)}
        codec_name = {"c": "phase-3 frame codec" if c_codec == "frame" else "msgpack-c", "python": "pickle"}
        for s in self.series:
            if not s.has_workers:
                continue
            lang = "python" if s.is_peer else "c"
            total = self.per_msg_ns(s, 1)
            if total is None or not codec[lang]:
                continue
            direct = self.codec_share_direct(s) if not s.is_peer else None
            if direct is not None:
                share.append([s.name, "measured: --codec raw vs msgpack", direct[0], direct[1], direct[0] / direct[1]])
            elif s.name == "phase4":
                share.append([s.name, "no serialization (raw ring)", 0.0, total, 0.0])
            else:
                share.append([s.name, "estimated: %s pack+unpack of one message / CPU ns per msg of all processes, 1 worker" %
                              codec_name[lang], codec[lang], total, min(1.0, codec[lang] / total)])

    def per_msg_ns(self, s, workers):
        """CPU ns per message over all of s's processes (router and workers),
        at --work-ns 0: the cost a codec's time is a share of. Wall time per
        message would be wrong for a pipelined program: its router encodes
        while its worker decodes, so both together can exceed it."""
        cpu = self.cpu_per_msg.get((s.name, workers, 0))
        if cpu is None:
            flags = ["--ids", "10000"] + (["--workers", str(workers)] if s.has_workers else [])
            runs = self.measure(s, flags, self.guess_rate(s, 0, workers), self.cfg["target_s"],
                                self.cfg["reps"], "serial", dict(workers=workers))
            cpu = statistics.median([1e9 * r["cpu_s"] / r["messages"] for r in runs if r["messages"]] or [0])
        return cpu or None

    def codec_share_direct(self, s):
        try:
            help_text = run_cmd(s.argv + ["--help"], 10)
        except RunFailed:
            return None
        if "--codec" not in help_text:
            return None
        vals = {}
        for codec in ("msgpack", "raw"):
            flags = ["--ids", "10000", "--workers", "1", "--codec", codec]
            runs = self.measure(s, flags, self.guess_rate(s, 0, 1), self.cfg["target_s"], self.cfg["reps"],
                                "serial", dict(codec=codec))
            if not runs:
                return None
            vals[codec] = statistics.median([1e9 * r["cpu_s"] / r["messages"] for r in runs if r["messages"]] or [0])
            if not vals[codec]:
                return None
        return (max(0.0, vals["msgpack"] - vals["raw"]), vals["msgpack"])

    # ------------------------------------------- experiment 4: load balance

    def exp_balance(self):
        c = self.cfg
        rows = self.table("exp4_balance", ["series", "dist", "workers", "msgs_max_over_mean", "busy_max_over_mean",
                                           "busy_max_over_mean_min", "busy_max_over_mean_max", "query_p99_us",
                                           "msgs_per_s", "reps"])
        per = self.table("exp4_per_worker", ["series", "dist", "worker", "messages", "busy_s"])
        n = c["balance_workers"]
        for s in self.series:
            if not s.has_workers:
                continue
            for dist in c["dists"]:
                q = c["peer_queries"] if s.is_peer else c["queries"]
                flags = ["--ids", "10000", "--dist", dist, "--workers", str(n), "--work-ns", "1000",
                         "--queries", str(q)]
                log("balance: %s, %s, %d workers" % (s.name, dist, n))
                runs = self.measure(s, flags, self.guess_rate(s, 1000, n), c["target_s"], c["balance_reps"],
                                    "balance", dict(dist=dist, workers=n))
                if not runs:
                    continue
                mratio, bratio = [], []
                for r in runs:
                    pw = r.get("per_worker", [])
                    msgs = [w["messages"] for w in pw]
                    busy = [w["busy_s"] for w in pw]
                    if msgs and sum(msgs):
                        mratio.append(max(msgs) / (sum(msgs) / len(msgs)))
                    if busy and sum(busy):
                        bratio.append(max(busy) / (sum(busy) / len(busy)))
                st = stats(bratio)
                self.warn_spread("balance %s %s busy max/mean" % (s.name, dist), st)
                rows.append([s.name, dist, n, stats(mratio)["median"], st["median"], st["min"], st["max"],
                             statistics.median([r.get("query_p99_us", 0) for r in runs]),
                             statistics.median([r["msgs_per_s"] for r in runs]), len(runs)])
                for w in runs[-1].get("per_worker", []):
                    per.append([s.name, dist, w["index"], w["messages"], w["busy_s"]])

    # ------------------------------------------- experiment 5: query latency

    def exp_floor(self):
        """The floors of experiment 5, in the same run: the hot pipe
        ping-pong (rounds back to back) at each placement, and the idle one
        (--gap-us: both sides block between rounds, as an idle query's
        processes do), which also times the timer wake alone."""
        c = self.cfg
        cols = ["pin", "gap_us"] + ["%s_%s_us" % (m, q) for m in ("rtt", "wake", "due") for q in ("p50", "p99", "p999")]
        floor = self.table("exp5_floor", cols + ["rtt_p99_us_min", "rtt_p99_us_max", "reps"])
        pp = os.path.join(self.args.bin, "pingpong")
        if not os.access(pp, os.X_OK):
            self.notes.append("pingpong: not built, no floor line")
            return
        gap = 1000000 // c["queries"]  # the time between two queries of the phases' runs below
        for pin, g, rounds in [(p, 0, c["pingpong_rounds"]) for p in ("none", "same", "spread")] + \
                [("none", gap, c["pingpong_gap_rounds"])]:
            log("latency: pipe ping-pong floor, pin %s%s" % (pin, ", %d us between rounds" % g if g else ""))
            try:
                out = run_cmd([pp, "--rounds", str(rounds), "--reps", str(c["reps"]), "--pin", pin,
                               "--gap-us", str(g)], c["timeout"] + 2 * (c["reps"] + 1) * rounds * g // 1000000)
            except RunFailed as e:
                self.note_failure("latency", "pingpong", dict(pin=pin, gap_us=g), e)
                continue
            rs = json_lines(out)
            if not rs:
                continue
            name = "pingpong %s" % pin + (" gap %d us" % g if g else "")
            for r in rs:
                self.samples.setdefault("latency", []).append(dict(series=name, rep=r["rep"],
                                                                   p50_us=r["rtt_p50_ns"] / 1e3,
                                                                   p99_us=r["rtt_p99_ns"] / 1e3,
                                                                   p999_us=r["rtt_p999_ns"] / 1e3))
            # A hot round has no timer: its wake_* and due_* are NaN.
            med = [statistics.median([r[k[:-3] + "_ns"] / 1e3 for r in rs]) if k[:-3] + "_ns" in rs[0]
                   else float("nan") for k in cols[2:]]
            p99 = stats([r["rtt_p99_ns"] / 1e3 for r in rs])
            floor.append([pin, g] + med + [p99["min"], p99["max"], len(rs)])

    def exp_latency(self):
        c = self.cfg
        rows = self.table("exp5_latency", ["series", "load_pct", "offered_msgs_per_s", "msgs_per_s", "queries",
                                           "query_failed", "p50_us", "p99_us", "p999_us", "p99_us_min",
                                           "p99_us_max", "reps"])
        self.exp_floor()
        D = c["latency_s"]
        for s in self.series:
            q = c["peer_queries"] if s.is_peer else c["queries"]
            base = ["--ids", "10000", "--queries", str(q)] + (["--workers", "2"] if s.has_workers else [])
            # 100 %: as fast as possible; its median rate defines the others.
            log("latency: %s, measuring its max throughput" % s.name)
            full = self.measure(s, base, self.guess_rate(s, 0, 2), D, c["latency_reps"], "latency_peak",
                                dict(load_pct=100))
            if not full:
                continue
            peak = statistics.median([r["msgs_per_s"] for r in full])
            for load in c["loads"]:
                if load == 100:
                    runs = full
                    offered = peak
                else:
                    # 0 % is an idle system: a trickle (0.1 % of the peak) keeps
                    # the run alive for D seconds while queries are answered.
                    offered = peak * (load / 100.0 if load else 0.001)
                    msgs = max(10, int(offered * D))
                    runs = []
                    log("latency: %s at %d %% (%.0f msgs/s)" % (s.name, load, offered))
                    for rep in range(1, c["latency_reps"] + 1):
                        if self.given_up("latency", s.name):
                            break
                        try:
                            runs.append(s.run(base + ["--rate", "%.1f" % offered, "--messages", str(msgs)],
                                              3 * D + 5))
                        except RunFailed as e:
                            self.note_failure("latency", s.name, dict(load_pct=load), e)
                if not runs:
                    continue
                for i, r in enumerate(runs, 1):
                    self.samples.setdefault("latency", []).append(dict(series=s.name, load_pct=load, rep=i,
                                                                       p50_us=r["query_p50_us"],
                                                                       p99_us=r["query_p99_us"],
                                                                       p999_us=r["query_p999_us"]))
                p99 = stats([r["query_p99_us"] for r in runs])
                rows.append([s.name, load, offered, statistics.median([r["msgs_per_s"] for r in runs]),
                             sum(r.get("query_count", 0) for r in runs), sum(r.get("query_failed", 0) for r in runs),
                             statistics.median([r["query_p50_us"] for r in runs]), p99["median"],
                             statistics.median([r["query_p999_us"] for r in runs]), p99["min"], p99["max"],
                             len(runs)])

    # ------------------------------------------------- experiment 6: network

    def exp_network(self):
        # Imported here: network.py imports stats from this module.
        from . import network
        network.run(self)

    # -------------------------------------------------------------- output

    def machine(self):
        model = "unknown"
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        model = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        return dict(cpu_model=model, cpu_count=self.cpu_count, kernel=platform.release(),
                    machine=platform.machine(), hostname=platform.node(), python=platform.python_version())
