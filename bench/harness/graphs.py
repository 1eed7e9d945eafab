"""graphs.py - renders every plots/*.gp script from a results folder's CSVs."""

import csv
import os
import shutil
import subprocess

from .config import PLOTS, log

def render(out_dir, log_fn=log):
    """Every plots/*.gp script, given the results folder and the series each
    CSV holds; each script writes a PNG and an SVG. Returns the PNG paths."""
    if not shutil.which("gnuplot"):
        log_fn("gnuplot not found: no graphs (install gnuplot-nox)")
        return []

    def col_values(name, col):
        path = os.path.join(out_dir, name + ".csv")
        if not os.path.exists(path):
            return []
        seen = []
        with open(path) as f:
            for r in csv.DictReader(f):
                if r[col] not in seen:
                    seen.append(r[col])
        return seen

    cpu = "1"
    rows = col_values("exp1_scaling", "cpu_count")
    if rows:
        cpu = rows[0]
    vars_ = {
        "scaling": dict(series=" ".join(s for s in col_values("exp1_scaling", "series")
                                        if s not in col_values("exp1_scaling_ref", "series")),
                        refs=" ".join(col_values("exp1_scaling_ref", "series")),
                        works=" ".join(col_values("exp1_scaling", "work_ns")), cpu=cpu),
        "ipc": dict(series=" ".join(col_values("exp2_ipc", "transport"))),
        "serial": dict(),
        "balance": dict(series=" ".join(col_values("exp4_balance", "series")),
                        workers=(col_values("exp4_balance", "workers") or ["?"])[0]),
        "latency": dict(series=" ".join(col_values("exp5_latency", "series"))),
        "rss": dict(series=" ".join(col_values("rss", "series"))),
        "network": dict(refs=" ".join(s for s in col_values("exp6_network", "series") if s != "phase5")),
    }
    pngs = []
    for name, v in vars_.items():
        gp = os.path.join(PLOTS, name + ".gp")
        needed = {"scaling": "exp1_scaling", "ipc": "exp2_ipc", "serial": "exp3_serial", "balance": "exp4_balance",
                  "latency": "exp5_latency", "rss": "rss", "network": "exp6_network"}[name]
        if not os.path.exists(os.path.join(out_dir, needed + ".csv")):
            continue
        if not os.path.exists(gp):
            log_fn("no %s: graph %s skipped" % (gp, name))
            continue
        defs = ["plots='%s'" % PLOTS, "dir='%s'" % out_dir] + ["%s='%s'" % (k, val) for k, val in v.items()]
        try:
            r = subprocess.run(["gnuplot", "-e", "; ".join(defs), gp], capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            log_fn("gnuplot %s timed out" % gp)
            continue
        if r.returncode != 0:
            log_fn("gnuplot %s failed: %s" % (gp, r.stderr.strip()[-500:]))
        png = os.path.join(out_dir, name + ".png")
        if os.path.exists(png):
            pngs.append(png)
    return pngs


# Bar colours of the comparison: green better, red worse; pale when the
# repetitions do not make the change significant.
BAR_COLOURS = {(True, True): 0x2ca02c, (True, False): 0xb8e0b8, (False, True): 0xd62728, (False, False): 0xf2b8b8}


def render_compare(rows, out_dir, title, log_fn=log):
    """compare.csv (one bar per configuration) and compare.png/.svg drawn
    from it by plots/compare.gp. Returns the PNG path or None."""
    os.makedirs(out_dir, exist_ok=True)
    data = os.path.join(out_dir, "compare.csv")
    with open(data, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["label", "change_pct", "significant", "better", "colour"])
        for r in rows:
            if r["change"] != r["change"]:
                continue  # NaN: A's median was 0
            w.writerow(["%s | %s %s" % (r["metric"], r["series"], r["config"]), "%.4f" % (100 * r["change"]),
                        int(r["significant"]), int(bool(r["better"])),
                        BAR_COLOURS[(bool(r["better"]) or r["change"] == 0, r["significant"])]])
    if not shutil.which("gnuplot"):
        log_fn("gnuplot not found: no graph (install gnuplot-nox); the bars are in %s" % data)
        return None
    defs = ["plots='%s'" % PLOTS, "dir='%s'" % out_dir, "n=%d" % len(rows),
            "heading='%s'" % title.replace("'", "")]
    r = subprocess.run(["gnuplot", "-e", "; ".join(defs), os.path.join(PLOTS, "compare.gp")], capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        log_fn("gnuplot compare.gp failed: %s" % r.stderr.strip()[-500:])
    png = os.path.join(out_dir, "compare.png")
    return png if os.path.exists(png) else None
