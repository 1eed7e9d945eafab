"""network.py - experiment 6: phase 5 over ZeroMQ. Its throughput against
the credit window and the batch size, with phases 3 and 4 (2 workers) as
the reference lines; what CURVE encryption costs at its defaults; and its
query round trip at light load against two floors measured in the same
run, a bare ZeroMQ round trip and a bare TCP one (bench/netfloor.c).

A module of its own, not more methods of Bench: Bench.exp_network calls
run(bench), which uses only Bench's measuring and bookkeeping (measure,
table, samples, notes, warn_spread, note_failure)."""

import os
import shutil
import statistics
import tempfile

from .config import log
from .experiments import stats
from .proc import RunFailed, json_lines, run_cmd

EXP = "network"
BASE = ["--ids", "10000", "--workers", "2", "--payload", "0", "--dist", "uniform"]
COLUMNS = ["series", "knob", "value", "msgs_per_s_median", "msgs_per_s_min", "msgs_per_s_max", "spread", "wide",
           "reps"]


def run(b):
    """Fills exp6_network (msgs/s per knob setting), exp6_floor (the round
    trip floors) and exp6_query (phase 5's queries at light load)."""
    by_name = {s.name: s for s in b.series}
    p5 = by_name.get("phase5")
    if p5 is None:
        b.notes.append("network: phase5 not built, experiment 6 skipped")
        return
    rows = b.table("exp6_network", COLUMNS)
    for ref in ("phase3", "phase4"):
        if ref in by_name:
            throughput(b, rows, by_name[ref], "reference", 0, [])
    defaults = curve_cost(b, rows, p5)
    for w in b.cfg["net_windows"]:
        throughput(b, rows, p5, "window", w, ["--window", str(w)])
    for n in b.cfg["net_batches"]:
        throughput(b, rows, p5, "batch", n, ["--batch", str(n)])
    floors(b)
    if defaults:
        queries(b, p5, defaults)


def throughput(b, rows, s, knob, value, flags):
    """One row: s's msgs/s at one setting, medians over the mode's
    repetitions. Returns the median, or None when every run failed."""
    log_fn(b, "%s, %s %s" % (s.name, knob, value))
    runs = b.measure(s, BASE + flags, 2e6, b.cfg["target_s"], b.cfg["reps"], EXP, dict(knob=knob, value=value))
    if not runs:
        return None
    st = stats([r["msgs_per_s"] for r in runs])
    b.warn_spread("network %s %s=%s msgs/s" % (s.name, knob, value), st)
    rows.append([s.name, knob, value, st["median"], st["min"], st["max"], st["spread"], st["wide"], st["n"]])
    return st["median"]


def curve_cost(b, rows, p5):
    """Phase 5 at its defaults without and with --keys (knob curve, value
    0 and 1), keys made once by `phase5 --keygen` into a temporary folder.
    Returns the median msgs/s without keys (the defaults' rate)."""
    plain = throughput(b, rows, p5, "curve", 0, [])
    tmp = tempfile.mkdtemp(prefix="msgroute-exp6-")
    try:
        keys = os.path.join(tmp, "keys")
        try:
            run_cmd(p5.argv + ["--keygen", keys], b.cfg["timeout"])
        except RunFailed as e:
            b.note_failure(EXP, "phase5 --keygen", {}, e)
            return plain
        throughput(b, rows, p5, "curve", 1, ["--keys", keys])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return plain


def floors(b):
    """exp6_floor: netfloor's ZeroMQ and TCP round trips, back to back,
    medians over the mode's repetitions."""
    c = b.cfg
    rows = b.table("exp6_floor", ["transport", "rounds", "rtt_p50_us", "rtt_p99_us", "rtt_p999_us",
                                  "rtt_p99_us_min", "rtt_p99_us_max", "reps"])
    nf = os.path.join(b.args.bin, "netfloor")
    if not os.access(nf, os.X_OK):
        b.notes.append("netfloor: not built, no ZeroMQ or TCP floor")
        return
    log_fn(b, "netfloor: ZeroMQ and TCP round trips")
    try:
        out = run_cmd([nf, "--rounds", str(c["net_rounds"]), "--reps", str(c["reps"])], c["timeout"] * 3)
    except RunFailed as e:
        b.note_failure(EXP, "netfloor", {}, e)
        return
    got = {}
    for r in json_lines(out):
        got.setdefault(r["transport"], []).append(r)
        b.samples.setdefault(EXP, []).append(dict(series="%s round trip" % r["transport"], rep=r["rep"],
                                                  p50_us=r["rtt_p50_ns"] / 1e3, p99_us=r["rtt_p99_ns"] / 1e3,
                                                  p999_us=r["rtt_p999_ns"] / 1e3))
    idle = idle_floor(b, nf)
    if idle:
        got[IDLE] = idle
    for t, rs in got.items():
        med = [statistics.median([r[k] / 1e3 for r in rs]) for k in ("rtt_p50_ns", "rtt_p99_ns", "rtt_p999_ns")]
        p99 = stats([r["rtt_p99_ns"] / 1e3 for r in rs])
        rows.append([t, rs[0]["rounds"]] + med + [p99["min"], p99["max"], len(rs)])


IDLE = "zmq idle"


def idle_floor(b, nf):
    """The ZeroMQ round trip with a round due every query gap (1 s / the
    mode's --queries) instead of back to back: every thread sleeps between
    rounds, as at light load, and each round counts from its due time, as a
    query does from its intended time. Its rtt_* rows hold those due-time
    figures (transport IDLE). The mode's repetitions of as many rounds as
    the query run asks queries."""
    c = b.cfg
    gap_us = max(1, int(1e6 / c["queries"]))
    rounds = max(100, min(c["net_rounds"], int(c["queries"] * c["latency_s"])))
    log_fn(b, "netfloor: idle ZeroMQ round trips, one every %d us" % gap_us)
    try:
        out = run_cmd([nf, "--transport", "zmq", "--gap-us", str(gap_us), "--rounds", str(rounds),
                       "--reps", str(c["reps"])], c["timeout"] * 3)
    except RunFailed as e:
        b.note_failure(EXP, "netfloor --gap-us", {}, e)
        return []
    rs = []
    for r in json_lines(out):
        r = dict(r, rtt_p50_ns=r["due_p50_ns"], rtt_p99_ns=r["due_p99_ns"], rtt_p999_ns=r["due_p999_ns"])
        rs.append(r)
        b.samples.setdefault(EXP, []).append(dict(series="%s round trip" % IDLE, rep=r["rep"],
                                                  p50_us=r["rtt_p50_ns"] / 1e3, p99_us=r["rtt_p99_ns"] / 1e3,
                                                  p999_us=r["rtt_p999_ns"] / 1e3))
    return rs


def queries(b, p5, peak):
    """exp6_query: phase 5 at its defaults, --rate net_load_pct % of its
    measured default rate, with the mode's --queries per second for
    latency_s seconds; each query timed by phase 5 from its intended send
    time, as in experiment 5."""
    c = b.cfg
    rows = b.table("exp6_query", ["series", "load_pct", "offered_msgs_per_s", "msgs_per_s", "queries",
                                  "query_failed", "p50_us", "p99_us", "p999_us", "p99_us_min", "p99_us_max",
                                  "reps"])
    load = c["net_load_pct"]
    offered = peak * load / 100.0
    flags = BASE + ["--queries", str(c["queries"]), "--rate", "%.1f" % offered,
                    "--messages", str(max(10, int(offered * c["latency_s"])))]
    log_fn(b, "phase5 queries at %d %% (%.0f msgs/s)" % (load, offered))
    runs = []
    for rep in range(1, c["latency_reps"] + 1):
        try:
            r = p5.run(flags, 3 * c["latency_s"] + 5)
        except RunFailed as e:
            b.note_failure(EXP, p5.name, dict(load_pct=load), e)
            continue
        runs.append(r)
        b.samples.setdefault(EXP, []).append(dict(series=p5.name, load_pct=load, rep=rep, p50_us=r["query_p50_us"],
                                                  p99_us=r["query_p99_us"], p999_us=r["query_p999_us"]))
    if not runs:
        return
    p99 = stats([r["query_p99_us"] for r in runs])
    rows.append([p5.name, load, offered, statistics.median([r["msgs_per_s"] for r in runs]),
                 sum(r.get("query_count", 0) for r in runs), sum(r.get("query_failed", 0) for r in runs),
                 statistics.median([r["query_p50_us"] for r in runs]), p99["median"],
                 statistics.median([r["query_p999_us"] for r in runs]), p99["min"], p99["max"], len(runs)])


def log_fn(b, msg):
    log("network: " + msg)
