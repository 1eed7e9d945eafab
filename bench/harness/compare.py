"""compare.py - two results folders side by side (`make bench-compare`):
for every configuration both runs measured, the two medians, the change in
percent and whether the repetitions make it significant (a two-sided
Mann-Whitney U test, mannwhitney.py), in tables like benchstat's, ending
with the geometric mean of the changes per program. It reads every kept
repetition from each run's bench.h5 (the `samples` datasets): medians
alone cannot tell a change from noise."""

import math
import os
import statistics

from . import mannwhitney

ALPHA = 0.05

def ipc_value(r):
    """Experiment 2 keeps two kinds of sample: a transport's ns_per_msg, and
    a program's end-to-end run, whose cost per message is 1e9 / msgs/s (the
    CSV's phaseN/e2e lines)."""
    if finite(r.get("ns_per_msg")):
        return r["series"], r["ns_per_msg"]
    if finite(r.get("msgs_per_s")) and r["msgs_per_s"] > 0:
        return r["series"] + "/e2e", 1e9 / r["msgs_per_s"]
    return None


# One table per metric: its name, the bench.h5 group, what makes a
# configuration (besides the series), whether higher is better, and how to
# read (series, value) from one sample row (None: not this metric's row).
METRICS = (
    ("scaling msgs/s", "exp1_scaling", ("work_ns", "workers"), True, lambda r: (r["series"], r.get("msgs_per_s"))),
    ("ipc ns/msg", "exp2_ipc", ("size",), False, ipc_value),
    ("serial ns/msg", "exp3_serial", ("type", "op"), False, lambda r: (r["series"], r.get("ns_per_msg"))),
    ("balance msgs/s", "exp4_balance", ("dist", "workers"), True, lambda r: (r["series"], r.get("msgs_per_s"))),
    ("query p50 us", "exp5_latency", ("load_pct",), False, lambda r: (r["series"], r.get("p50_us"))),
    ("query p99 us", "exp5_latency", ("load_pct",), False, lambda r: (r["series"], r.get("p99_us"))),
    ("network msgs/s", "exp6_network", ("knob", "value"), True, lambda r: (r["series"], r.get("msgs_per_s"))),
)
# What must be equal for two runs to be compared without a warning.
SAME = ("cpu_model", "cpu_count", "arch", "kernel", "mode")


def finite(x):
    return isinstance(x, (int, float)) and not math.isnan(x) and not math.isinf(x)


def load_run(folder):
    """(attrs, {group: [row dicts]}) from folder/bench.h5. Raises OSError."""
    import h5py
    with h5py.File(os.path.join(folder, "bench.h5"), "r") as f:
        attrs = {k: plain(v) for k, v in f.attrs.items()}
        groups = {}
        for g in f:
            if "samples" in f[g]:
                data = f[g]["samples"][:]
                names = data.dtype.names
                groups[g] = [{n: plain(row[n]) for n in names} for row in data]
    return attrs, groups


def plain(v):
    """An HDF5 value as a Python str, int or float."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if hasattr(v, "item"):
        v = v.item()
        return v.decode("utf-8", "replace") if isinstance(v, bytes) else v
    return v


def config_label(row, keys):
    parts = []
    for k in keys:
        v = row.get(k)
        if v is None or v == "" or (isinstance(v, float) and math.isnan(v)):
            continue
        parts.append("%s=%s" % (k, int(v) if isinstance(v, float) and v.is_integer() else v))
    return " ".join(parts) or "-"


def measurements(groups):
    """{metric: {(series, config): [values]}}, configurations in the order
    the run measured them."""
    out = {}
    for name, group, keys, _, read in METRICS:
        table = out.setdefault(name, {})
        for row in groups.get(group, []):
            got = read(row)
            if not got or not finite(got[1]):
                continue
            if any(k not in row for k in keys):
                continue  # a helper run of this experiment, not one of its configurations
            table.setdefault((got[0], config_label(row, keys)), []).append(float(got[1]))
    return out


def verdict(a, b, alpha=ALPHA):
    """(p or None, significant, text) for two lists of repetitions."""
    n = "n=%d+%d" % (len(a), len(b))
    if mannwhitney.min_p(len(a), len(b)) > alpha:
        return None, False, "~ (%s: too few repetitions for p < %g)" % (n, alpha)
    p = mannwhitney.p_value(a, b)
    if p < alpha:
        return p, True, "p=%.3f %s" % (p, n)
    return p, False, "~ (p=%.3f %s)" % (p, n)


def compare(runs_a, runs_b, alpha=ALPHA):
    """One dict per configuration both runs measured, per metric."""
    rows = []
    ma, mb = measurements(runs_a), measurements(runs_b)
    for name, _, _, higher, _ in METRICS:
        for key, a in ma.get(name, {}).items():
            b = mb.get(name, {}).get(key)
            if not b:
                continue
            med_a, med_b = statistics.median(a), statistics.median(b)
            change = (med_b - med_a) / med_a if med_a else float("nan")
            p, sig, text = verdict(a, b, alpha)
            rows.append(dict(metric=name, series=key[0], config=key[1], a=a, b=b, med_a=med_a, med_b=med_b,
                             change=change, p=p, significant=sig, verdict=text, higher_better=higher,
                             better=(change > 0) == higher if finite(change) and change else None))
    # Grouped by program, each in the order it was measured: a phase's rows read together.
    first = {}
    for i, r in enumerate(rows):
        first.setdefault((r["metric"], r["series"]), i)
    return sorted(rows, key=lambda r: first[(r["metric"], r["series"])])


def geomean_change(rows):
    """Geometric mean of the ratios B/A of the medians, minus 1; None when
    no row has two positive medians."""
    logs = [math.log(r["med_b"] / r["med_a"]) for r in rows if r["med_a"] > 0 and r["med_b"] > 0]
    return (math.exp(sum(logs) / len(logs)) - 1, len(logs)) if logs else (None, 0)


def machine_warnings(attrs_a, attrs_b):
    return ["warning: the runs differ in %s: A has %s, B has %s; their differences are not only the code's" % (
                k, attrs_a.get(k, "?"), attrs_b.get(k, "?"))
            for k in SAME if str(attrs_a.get(k)) != str(attrs_b.get(k))]
