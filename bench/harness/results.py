"""results.py - writing a run down: one CSV per table and bench.h5 (the
layout is documented in bench/README.md), and what the machine was."""

import csv
import os
import subprocess

from .config import ROOT

def git(*args):
    try:
        return subprocess.run(["git", "-C", ROOT] + list(args), capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def write_csvs(out_dir, tables):
    for name, (cols, rows) in tables.items():
        with open(os.path.join(out_dir, name + ".csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(cols)
            for r in rows:
                w.writerow([("%.6g" % v) if isinstance(v, float) else v for v in r])


def write_h5(path, tables, samples, attrs):
    import h5py
    import numpy as np
    # group -> {dataset name: CSV table}; each group also gets "samples",
    # every kept repetition of its experiment.
    groups = {"exp1_scaling": {"summary": "exp1_scaling", "reference": "exp1_scaling_ref", "rss": "rss",
                               "core": "exp1_core", "pairs": "exp1_pairs"},
              "exp2_ipc": {"summary": "exp2_ipc"},
              "exp3_serial": {"summary": "exp3_serial", "share": "exp3_share"},
              "exp4_balance": {"summary": "exp4_balance", "per_worker": "exp4_per_worker"},
              "exp5_latency": {"summary": "exp5_latency", "floor": "exp5_floor"},
              "exp6_network": {"summary": "exp6_network", "floor": "exp6_floor", "query": "exp6_query"}}
    sample_of = {"exp1_scaling": "scaling", "exp2_ipc": "ipc", "exp3_serial": "serial",
                 "exp4_balance": "balance", "exp5_latency": "latency", "exp6_network": "network"}
    str_t = h5py.string_dtype()

    def compound(cols, rows):
        dt = []
        for i, c in enumerate(cols):
            vals = [r[i] for r in rows]
            if all(isinstance(v, int) and not isinstance(v, bool) for v in vals) and vals:
                dt.append((c, np.int64))
            elif all(isinstance(v, (int, float)) for v in vals) and vals:
                dt.append((c, np.float64))
            else:
                dt.append((c, str_t))
        arr = np.empty(len(rows), dtype=dt)
        for j, r in enumerate(rows):
            arr[j] = tuple(str(v) if dt[i][1] is str_t else v for i, v in enumerate(r))
        return arr

    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        for g, datasets in groups.items():
            grp = f.create_group(g)
            for ds_name, n in datasets.items():
                if n not in tables:
                    continue
                cols, rows = tables[n]
                ds = grp.create_dataset(ds_name, data=compound(cols, rows))
                ds.attrs["columns"] = ",".join(cols)
            smp = samples.get(sample_of[g], [])
            if smp:
                cols = sorted({k for r in smp for k in r})
                rows = [[r.get(c, float("nan")) for c in cols] for r in smp]
                grp.create_dataset("samples", data=compound(cols, rows))
    os.replace(tmp, path)
