"""report.py - index.html, the page a reader opens first in a results
folder: the machine, the summary table the terminal shows, every graph
with the question it answers, the notes and warnings, and a link to each
data file. One self-contained file: inline CSS, no script, nothing fetched
from the network; graphs and data are relative links, so the folder can be
moved, zipped or handed in as it is."""

import html
import json
import os

from .summary import HEADER, LEGEND, summary

# name, title, the question the graph answers, how to read it.
GRAPHS = (
    ("scaling", "Experiment 1: scaling",
     "Does a phase get faster with more worker processes, and where does that stop?",
     "Messages per second against --workers, one panel per --work-ns (the per-message work). Phases with "
     "workers are lines with min-max bars over the repetitions; phases 1 and 2 (one process) are dashed "
     "horizontal lines; the dotted vertical line is the machine's CPU count."),
    ("rss", "Memory per worker and per machine",
     "What does one more worker cost in memory, and one more machine?",
     "Peak resident set (VmHWM) of one worker process and the sum over worker processes, against the "
     "worker count, from experiment 1's runs at --work-ns 0 (the Python peer's forked workers share pages, "
     "so its sum over-counts); and bytes per machine against --ids: the slope of peak RSS between two sizes "
     "of the memory sweep (3 messages per id, 2 workers), for the main process and for the workers."),
    ("ipc", "Experiment 2: IPC cost against payload size",
     "What does moving one message between processes cost, and how does it grow with its size?",
     "Nanoseconds per message, log-log. Solid: the transports alone (in-process call, pipe, phase-4 ring, "
     "multiprocessing.Queue); dashed: each program end to end with one worker (1e9 / its msgs/s)."),
    ("serial", "Experiment 3: serialization",
     "How long does encoding and decoding a message take, and what share of a message's cost is it?",
     "Pack and unpack time per message for each codec and message type (log scale), and each worker "
     "program's (de)serialization share of its CPU time per message (estimated unless phase 3 offers "
     "--codec raw; exp3_share.csv says which)."),
    ("balance", "Experiment 4: load balance",
     "Does hashing worker ids spread skewed keys evenly over the workers?",
     "The busiest worker's messages and busy time over the mean (1 = even), uniform keys against Zipf "
     "s = 0.8, 1.0, 1.2."),
    ("latency", "Experiment 5: query latency against load",
     "How long does a query wait as the load on a phase rises?",
     "Query latency p50, p99 and p99.9 at 0-100 % of each program's own measured maximum, timed from each "
     "query's intended send time; horizontal lines are the floors, measured in the same run: a bare pipe "
     "ping-pong back to back (hot), the same with both sides blocked between rounds (idle), the timer "
     "wake alone (the floor of a query to an idle one-process loop), and an idle query's whole floor "
     "(timer wake, then the idle round trip)."),
    ("network", "Experiment 6: phase 5 over ZeroMQ",
     "What do the credit window and the batch size do to phase 5's throughput, what does CURVE cost, and how "
     "far is a query above a bare network round trip?",
     "Phase 5's messages per second (2 workers, 10000 uniform ids, 0-byte payloads) against --window and "
     "against --batch, log x, with min-max bars; dashed lines are phases 3 and 4 at 2 workers, dotted ones "
     "phase 5 at its defaults without and with CURVE keys, all from the same run. Right: phase 5's query "
     "p50 and p99 at light load (--rate 10 % of its default rate; exp6_query.csv has the load) beside a bare ZeroMQ DEALER-ROUTER round trip and a bare TCP one over 127.0.0.1, back "
     "to back."),
)

CSS = """
body { font: 15px/1.45 system-ui, sans-serif; color: #222; margin: 0; background: #fafafa; }
main { max-width: 1180px; margin: 0 auto; padding: 1em 1.5em 3em; background: #fff; }
h1 { font-size: 1.5em; margin: .3em 0; } h2 { font-size: 1.2em; margin: 1.6em 0 .4em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: .9em; margin: .4em 0; }
th, td { padding: .2em .6em; border-bottom: 1px solid #eee; text-align: right; white-space: nowrap; }
th:first-child, td:first-child, table.kv th, table.kv td { text-align: left; }
table.kv th { color: #555; font-weight: normal; padding-right: 1.5em; }
.scroll { overflow-x: auto; }
figure { margin: 1em 0 2em; } figure img { display: block; max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .92em; color: #444; max-width: 60em; } .q { font-weight: 600; color: #222; }
pre { font-size: .85em; background: #f4f4f4; padding: .6em; overflow-x: auto; }
.warn { background: #fff4e0; border-left: 4px solid #e69500; padding: .3em .8em; }
.note { background: #eef4fb; border-left: 4px solid #5b8fd0; padding: .3em .8em; }
ul.files { columns: 2 24em; padding-left: 1.2em; } ul.files small { color: #666; } code { font-size: .95em; }
"""


def esc(x):
    return html.escape(str(x), quote=True)


def write_index(out_dir):
    """Writes out_dir/index.html from machine.json, the CSVs and the graphs
    present; returns its path."""
    try:
        with open(os.path.join(out_dir, "machine.json")) as f:
            attrs = json.load(f)
    except (OSError, ValueError):
        attrs = {}
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             "<title>msgroute results %s %s</title>" % (esc(attrs.get("date", "")[:16]), esc(attrs.get("commit", ""))),
             "<style>%s</style></head><body><main>" % CSS]
    parts += header(attrs) + machine_table(attrs) + messages(attrs) + summary_section(out_dir)
    parts += graphs_section(out_dir) + files_section(out_dir)
    parts.append("</main></body></html>\n")
    path = os.path.join(out_dir, "index.html")
    with open(path, "w") as f:
        f.write("\n".join(parts))
    return path


def header(attrs):
    dirty = " (with uncommitted changes)" if attrs.get("commit_dirty") else ""
    return ["<h1>msgroute benchmark results</h1>",
            "<p>Commit <code>%s</code>%s, started %s, mode <b>%s</b>, %s s of measurements. "
            "How the runs were made and what each file holds: <code>bench/README.md</code>; "
            "<code>make bench-verify RESULTS=this-folder</code> checks that no file changed since.</p>" % (
                esc(attrs.get("commit", "?")), dirty, esc(attrs.get("date", "?")), esc(attrs.get("mode", "?")),
                esc(attrs.get("elapsed_s", "?")))]


def machine_table(attrs):
    rows = (("CPU", attrs.get("cpu_model")), ("cores", attrs.get("cpu_count")), ("kernel", attrs.get("kernel")),
            ("architecture", attrs.get("arch")), ("host", attrs.get("hostname")),
            ("load average at start (1, 5, 15 min)", attrs.get("loadavg_start")),
            ("load average at end", attrs.get("loadavg_end")), ("Python", attrs.get("python")),
            ("programs measured", attrs.get("series")))
    return ["<h2>Machine</h2>", '<table class="kv">'] + [
        "<tr><th>%s</th><td>%s</td></tr>" % (esc(k), esc(v if v is not None else "?")) for k, v in rows] + ["</table>"]


def messages(attrs):
    """Warnings first (load, wide spreads, failed runs: what limits trust
    in the numbers), then notes (what was skipped)."""
    out = ["<h2>Warnings and notes</h2>"]
    warns = [w for w in attrs.get("warnings", "").split("\n") if w]
    notes = [n for n in attrs.get("notes", "").split("\n") if n]
    if not warns and not notes:
        out.append("<p>None: the load was low at the start and every spread was within 20 % of its median.</p>")
    if warns:
        out.append('<div class="warn"><p>%d warning%s. A spread is (max - min) / median over the repetitions; '
                   'above 20 %% the configuration is flagged (column <code>wide</code> in the CSVs).</p><ul>%s</ul>'
                   '</div>' % (len(warns), "" if len(warns) == 1 else "s",
                               "".join("<li>%s</li>" % esc(w) for w in warns)))
    if notes:
        out.append('<div class="note"><ul>%s</ul></div>' % "".join("<li>%s</li>" % esc(n) for n in notes))
    return out


def summary_section(out_dir):
    rows, extra = summary(out_dir)
    out = ["<h2>Summary</h2>", "<p>The table <code>make bench</code> printed, from the CSVs.</p>",
           '<div class="scroll"><table><tr>%s</tr>' % "".join("<th>%s</th>" % esc(h) for h in HEADER)]
    out += ["<tr>%s</tr>" % "".join("<td>%s</td>" % esc(c) for c in r) for r in rows]
    out.append("</table></div>")
    out.append("<pre>%s</pre>" % esc("\n".join(extra + [x.strip() for x in LEGEND])))
    return out


def graphs_section(out_dir):
    out = ["<h2>Graphs</h2>"]
    for name, title, question, caption in GRAPHS:
        png = name + ".png"
        if not os.path.exists(os.path.join(out_dir, png)):
            continue
        svg = name + ".svg"
        link = svg if os.path.exists(os.path.join(out_dir, svg)) else png
        out.append('<figure id="%s"><h3>%s</h3><a href="%s"><img src="%s" alt="%s"></a>'
                   '<figcaption><span class="q">%s</span> %s</figcaption></figure>' % (
                       esc(name), esc(title), esc(link), esc(png), esc(title), esc(question), esc(caption)))
    return out


# What each data file holds, in a few words (bench/README.md has the columns).
FILES = {"exp1_scaling.csv": "experiment 1: msgs/s per program, --work-ns and worker count",
         "exp1_scaling_ref.csv": "experiment 1: phases 1 and 2 as horizontal lines",
         "rss.csv": "peak RSS per worker and summed; bytes per machine over --ids", "exp2_ipc.csv": "experiment 2: ns per message by payload size",
         "exp3_serial.csv": "experiment 3: pack/unpack ns per message",
         "exp3_share.csv": "experiment 3: (de)serialization share of a message's CPU time",
         "exp4_balance.csv": "experiment 4: busiest worker / mean", "exp4_per_worker.csv": "experiment 4: each worker",
         "exp5_latency.csv": "experiment 5: query latency by load", "exp5_floor.csv": "experiment 5: the floors: pipe ping-pong hot and idle, timer wake",
         "exp6_network.csv": "experiment 6: phase 5 msgs/s by --window, --batch and CURVE; phases 3, 4 as references",
         "exp6_floor.csv": "experiment 6: bare ZeroMQ and TCP round trips, back to back and (zmq idle) one per query gap", "exp6_query.csv": "experiment 6: phase 5's queries at light load",
         "bench.h5": "every table and every repetition, with the run's attributes",
         "machine.json": "the run's attributes", "manifest.json": "every file's bytes and sha256"}


def files_section(out_dir):
    data = sorted(n for n in os.listdir(out_dir) if n.endswith(".csv"))
    data += [n for n in ("bench.h5", "machine.json") if os.path.exists(os.path.join(out_dir, n))]
    data.append("manifest.json")  # written after this page, always present in a finished folder
    return ["<h2>Data</h2>",
            "<p>Each CSV has one header line; <code>bench.h5</code> holds them all with every repetition "
            "(<code>samples</code>) and the run's attributes; <code>manifest.json</code> lists every file with "
            "its sha256.</p>",
            '<ul class="files">%s</ul>' % "".join('<li><a href="%s">%s</a> <small>%s</small></li>' % (
                esc(n), esc(n), esc(FILES.get(n, ""))) for n in data)]
