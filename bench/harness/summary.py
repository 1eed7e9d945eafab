"""summary.py - the table bench/run prints at the end, read back from the
CSVs. summary() gives its cells, which the terminal (summary_table) and
index.html (report.py) both lay out, so the two always agree."""

import csv
import os

def fmt_rate(x):
    return "-" if x is None else ("%.2f M" % (x / 1e6) if x >= 1e6 else "%.0f k" % (x / 1e3))


HEADER = ("series", "msgs/s w=0", "best w=0", "scale@10us", "ns/msg 1KiB", "codec %", "zipf1.2",
          "q p99 50%", "q p99 idle", "RSS/worker")
WIDTHS = (-8, 11, 11, 9, 12, 9, 9, 10, 9, 10)
LEGEND = ("columns: msgs/s w=0 = one worker, no per-message work; best w=0 = best over worker counts; "
          "scale@10us = best / one worker at --work-ns 10000;",
          "  ns/msg 1KiB = end to end with 1 KiB payloads, one worker; codec % = (de)serialization share; "
          "zipf1.2 = busiest worker's messages / mean;",
          "  q p99 = query p99 at 50 % of max load and idle; RSS/worker = peak RSS of one worker process "
          "(the whole process for phases 1, 2)")


def row_text(cells):
    return " ".join("%*s" % (w, c) for w, c in zip(WIDTHS, cells))


def summary_table(out_dir):
    """The table `make bench` prints, read back from the CSVs."""
    rows, extra = summary(out_dir)
    hdr = row_text(HEADER)
    return "\n".join([hdr, "-" * len(hdr)] + [row_text(r) for r in rows] + extra + list(LEGEND))


def summary(out_dir):
    """(rows, extra): one row of HEADER's cells per series, and the lines
    on transports, codecs, the ping-pong floors (hot and idle) and phase 5
    over ZeroMQ (experiment 6)."""
    def load(name):
        p = os.path.join(out_dir, name + ".csv")
        if not os.path.exists(p):
            return []
        with open(p) as f:
            return list(csv.DictReader(f))

    scal, ipc, ser, share = load("exp1_scaling"), load("exp2_ipc"), load("exp3_serial"), load("exp3_share")
    bal, lat, rss, floor = load("exp4_balance"), load("exp5_latency"), load("rss"), load("exp5_floor")
    names = []
    for r in scal + lat + bal:
        if r["series"] not in names:
            names.append(r["series"])
    rows, lines = [], []
    for n in names:
        rs = [r for r in scal if r["series"] == n]
        w0 = [r for r in rs if r["work_ns"] == "0"]
        one = next((float(r["msgs_per_s_median"]) for r in w0 if r["workers"] == "1"), None)
        best = max((float(r["msgs_per_s_median"]) for r in w0), default=None)
        w10 = [r for r in rs if r["work_ns"] == "10000"]
        b10 = max((float(r["msgs_per_s_median"]) for r in w10), default=None)
        o10 = next((float(r["msgs_per_s_median"]) for r in w10 if r["workers"] == "1"), None)
        multi = any(r["workers"] != "1" for r in rs)
        scale = "%.2fx" % (b10 / o10) if b10 and o10 and multi else "-"
        e2e = next((float(r["ns_per_msg_median"]) for r in ipc
                    if r["transport"] == n + "/e2e" and r["size_bytes"] == "1024"), None)
        sh = next((float(r["share"]) for r in share if r["series"] == n), None)
        zb = next((float(r["msgs_max_over_mean"]) for r in bal if r["series"] == n and r["dist"] == "zipf:1.2"), None)
        l50 = next((float(r["p99_us"]) for r in lat if r["series"] == n and r["load_pct"] == "50"), None)
        l0 = next((float(r["p99_us"]) for r in lat if r["series"] == n and r["load_pct"] == "0"), None)
        rw = [r for r in rss if r["series"] == n and r.get("kind", "workers") == "workers"]
        rkb = next((float(r["rss_kb_per_worker"]) for r in rw if r["workers"] == "2"), None)
        if rkb is None and rw:
            rkb = float(rw[0]["rss_kb_per_worker"])
        rows.append((
            n, fmt_rate(one), fmt_rate(best), scale, "%.0f" % e2e if e2e else "-",
            "%.0f" % (100 * sh) if sh is not None else "-", "%.2f" % zb if zb else "-",
            "%.0f us" % l50 if l50 is not None else "-", "%.0f us" % l0 if l0 is not None else "-",
            "%.1f MiB" % (rkb / 1024) if rkb else "-"))
    for r in largest_sweep_rows(rss):
        lines.append("memory %-7s per machine, %s ids: main process %.0f B, workers %.0f B (RSS slope)" % (
            r["series"], r["ids"], float(r["bytes_per_machine_main"]), float(r["bytes_per_machine_workers"])))
    for r in ipc:
        if r["transport"] in ("call", "pipe", "ring", "mp.Queue") and r["size_bytes"] in ("100", "1048576"):
            lines.append("ipc %-9s %8s B: %12.0f ns/msg" % (r["transport"], r["size_bytes"],
                                                          float(r["ns_per_msg_median"])))
    for r in ser:
        if r["type"] == "primitives":
            lines.append("serial %-6s %-8s primitives %-6s: %8.1f ns/msg" % (r["lang"], r["codec"], r["op"],
                                                                          float(r["ns_per_msg_median"])))
    for r in floor:
        if r.get("gap_us", "0") == "0":
            lines.append("pipe ping-pong round trip, pin %-6s: p50 %.1f us, p99 %.1f us" % (
                r["pin"], float(r["rtt_p50_us"]), float(r["rtt_p99_us"])))
        else:  # the idle floor: both sides blocked gap_us between rounds
            lines.append("idle floor, %s us apart, pin %s: timer wake p50 %.1f / p99 %.1f us, pipe round trip "
                         "p50 %.1f / p99 %.1f us, due -> reply p50 %.1f / p99 %.1f us" % (
                             r["gap_us"], r["pin"], float(r["wake_p50_us"]), float(r["wake_p99_us"]),
                             float(r["rtt_p50_us"]), float(r["rtt_p99_us"]), float(r["due_p50_us"]),
                             float(r["due_p99_us"])))
    lines += network_lines(load("exp6_network"), load("exp6_query"), load("exp6_floor"))
    lines += target_lines(load("exp1_core"), load("exp1_pairs"), scal, lat, floor, rss)
    return rows, lines


def largest_sweep_rows(rss):
    """Per series, the memory sweep's row at its largest --ids (the first
    size has no slope yet), in the order the series first appear."""
    best = {}
    for r in rss:
        if r.get("kind") == "ids" and r["bytes_per_machine_main"] != "nan":
            if r["series"] not in best or int(r["ids"]) > int(best[r["series"]]["ids"]):
                best[r["series"]] = r
    return list(best.values())


def judged(what, value, want, met, fmt="%.2fx"):
    """One line of the targets block: the figure, what it should be, and
    whether this run met it."""
    if value is None:
        return "target %-52s %10s   want %-10s not measured" % (what, "-", want)
    return "target %-52s %10s   want %-10s %s" % (what, fmt % value, want, "met" if met(value) else "MISSED")


def target_lines(core, pairs, scal, lat, floor, rss):
    """The performance targets of the suite, each a ratio of two figures of
    this run (the machine's load moves rates, not ratios)."""
    def rate(series, workers, work=0):
        return next((float(r["msgs_per_s_median"]) for r in scal if r["series"] == series
                     and r["workers"] == str(workers) and r["work_ns"] == str(work)), None)

    def ratio(a, b):
        return a / b if a is not None and b else None

    def pair(a, workers, work):
        """The interleaved pairs' row of A against phase 1, or None."""
        return next((r for r in pairs if r["a"] == a and r["a_workers"] == str(workers)
                     and r["work_ns"] == str(work)), None)

    def pipeline(a, workers, work):
        """A over phase 1: the median of the interleaved pairs when they
        ran, else experiment 1's medians."""
        p = pair(a, workers, work)
        return float(p["ratio_median"]) if p else ratio(rate(a, workers, work), rate("phase1", 1, work))

    def best(series):
        return max((float(r["msgs_per_s_median"]) for r in scal if r["series"] == series and r["work_ns"] == "0"),
                   default=None)

    def p(series, load, q):
        return next((float(r[q]) for r in lat if r["series"] == series and r["load_pct"] == str(load)), None)

    idle = next((float(r["rtt_p50_us"]) for r in floor if r.get("gap_us", "0") != "0"), None)
    bare = float(core[-1]["phase1_over_bare"]) if core else None
    p2 = [v for v in (p("phase2", load, "p99_us") for load in (25, 50, 75)) if v is not None]
    lines = [
        judged("phase 1 / bare generate-and-route loop", bare, ">= 0.80x", lambda v: v >= 0.8),
    ]
    if core and "machine_over_bare" in core[-1]:
        lines.append("       of which the state machine alone (machine loop / bare loop) %.2fx, phase 1's bookkeeping "
                     "(phase 1 / machine loop) %.2fx" % (float(core[-1]["machine_over_bare"]),
                                                         float(core[-1]["phase1_over_machine"])))
    lines += [
        judged("phase 4, 1 worker / phase 1", pipeline("phase4", 1, 0), ">= 1.00x", lambda v: v >= 1.0),
    ]
    p4 = pair("phase4", 1, 0)
    if p4 and p4.get("a_busy_median", "nan") != "nan":
        lines.append("       its worker applied messages for %.2f of each run (median; near 1 the worker is the limit, "
                     "lower the main process)" % float(p4["a_busy_median"]))
    lines += [
        judged("phase 3, 2 workers / phase 1, --work-ns 1000", pipeline("phase3", 2, 1000), ">= 1.60x",
               lambda v: v >= 1.6),
        judged("phase 3 idle query p50 / idle pipe round trip p50", ratio(p("phase3", 0, "p50_us"), idle),
               "<= 1.50x", lambda v: v <= 1.5),
        judged("phase 2 query p99, worst of 25-75 % load", max(p2) if p2 else None, "<= 200 us",
               lambda v: v <= 200, "%.0f us"),
    ]
    for n in ("phase3", "phase4"):
        for w in (8, 16):
            lines.append(judged("phase %s, %d workers / its best worker count" % (n[-1], w), ratio(rate(n, w), best(n)),
                                ">= 0.50x", lambda v: v >= 0.5))
    for r in largest_sweep_rows(rss):
        owner = "bytes_per_machine_main" if r["series"] in ("phase1", "phase2") else "bytes_per_machine_workers"
        lines.append(judged("phase %s bytes per machine in the process that owns it" % r["series"][-1], float(r[owner]),
                            "<= 160 B", lambda v: v <= 160, "%.0f B"))
        if owner != "bytes_per_machine_main":
            lines.append(judged("phase %s bytes per machine in the main process" % r["series"][-1],
                                float(r["bytes_per_machine_main"]), "<= 16 B", lambda v: v <= 16, "%.0f B"))
    return lines


def network_lines(net, query, floor):
    """Experiment 6 in three ratios, each of two figures from the same run:
    phase 5 at its defaults over phase 3 (what the network layer costs on
    one machine), CURVE on over off, and a query's p50 over the bare
    ZeroMQ round trip's."""
    def rate(series, knob, value="0"):
        return next((float(r["msgs_per_s_median"]) for r in net
                     if r["series"] == series and r["knob"] == knob and r["value"] == value), None)
    lines = []
    p5, p3, keys = rate("phase5", "curve"), rate("phase3", "reference"), rate("phase5", "curve", "1")
    if p5 and p3:
        lines.append("network: phase5 at its defaults %s msgs/s = %.2fx phase3's %s msgs/s (2 workers, 0-byte payloads)"
                     % (fmt_rate(p5), p5 / p3, fmt_rate(p3)))
    if p5 and keys:
        lines.append("network: phase5 with CURVE (--keys) %s msgs/s = %.2fx without" % (fmt_rate(keys), keys / p5))
    fl = {r["transport"]: r for r in floor}
    for q in query:
        z, t = fl.get("zmq"), fl.get("tcp")
        line = "network: phase5 query at %s %% load p50 %.0f us, p99 %.0f us" % (
            q["load_pct"], float(q["p50_us"]), float(q["p99_us"]))
        if z:
            line += "; bare ZeroMQ round trip p50 %.0f us, p99 %.0f us (query p50 = %.1fx ZeroMQ's)" % (
                float(z["rtt_p50_us"]), float(z["rtt_p99_us"]), float(q["p50_us"]) / float(z["rtt_p50_us"]))
        if t:
            line += "; bare TCP p50 %.0f us, p99 %.0f us" % (float(t["rtt_p50_us"]), float(t["rtt_p99_us"]))
        idle = fl.get("zmq idle")
        if idle:
            line += "; idle ZeroMQ from its due time p50 %.0f us (query p50 = %.1fx that)" % (
                float(idle["rtt_p50_us"]), float(q["p50_us"]) / float(idle["rtt_p50_us"]))
        lines.append(line)
    return lines
