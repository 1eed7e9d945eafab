"""config.py - where things are and what each mode of bench/run does."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PEER = os.path.join(ROOT, "bench", "peers", "mp_router.py")
PY_IPC = os.path.join(ROOT, "bench", "peers", "py_ipc.py")
PY_SERIAL = os.path.join(ROOT, "bench", "peers", "py_serial.py")
PLOTS = os.path.join(ROOT, "plots")
PYTHON = "/usr/bin/python3"
SPREAD_WARN = 0.20  # (max - min) / median above this is flagged as wide

EXPERIMENTS = ("scaling", "ipc", "serial", "balance", "latency", "network")

# What each mode does. quick: `make bench` (minutes; README.md gives its time);
# full: FULL=1; smoke: the CI test (under 60 s, tiny workloads, every graph).
# min_msgs: the fewest messages a kept run routes (a quarter of it for the
# warm-up), however slow the program; smoke's is small so that the Python
# peer's runs with 1 MiB payloads stay short. mem_ids: the --ids of the
# memory sweep (bytes per machine, rss.csv). net_*: experiment 6 (phase 5's
# --window and --batch settings, the light load of its queries in percent
# of its default rate, netfloor's round trips per repetition).
MODES = {
    "quick": dict(reps=3, target_s=0.25, warm_s=0.08, workers=[1, 2, 4, 8, 16], work=[0, 1000, 10000],
                  sizes=[100, 1024, 10240, 102400, 1048576], ipc_bytes=16 << 20, serial_s=0.04,
                  dists=["uniform", "zipf:0.8", "zipf:1.0", "zipf:1.2"], balance_workers=4, balance_reps=2,
                  loads=[0, 25, 50, 75, 100], latency_s=1.0, latency_reps=1, queries=1000, peer_queries=200,
                  pingpong_rounds=5000, pingpong_gap_rounds=1000, timeout=20, min_msgs=200, mem_ids=[10000, 100000, 1000000],
                  net_windows=[16, 64, 256, 1024, 4096], net_batches=[1, 16, 256, 1024], net_load_pct=10,
                  net_rounds=5000),
    "full": dict(reps=5, target_s=1.5, warm_s=0.3, workers=[1, 2, 4, 8, 16], work=[0, 1000, 10000],
                 sizes=[100, 1024, 10240, 102400, 1048576], ipc_bytes=256 << 20, serial_s=0.2,
                 dists=["uniform", "zipf:0.8", "zipf:1.0", "zipf:1.2"], balance_workers=4, balance_reps=5,
                 loads=[0, 25, 50, 75, 100], latency_s=4.0, latency_reps=3, queries=1000, peer_queries=200,
                 pingpong_rounds=50000, pingpong_gap_rounds=5000, timeout=90, min_msgs=200, mem_ids=[10000, 100000, 1000000],
                 net_windows=[16, 64, 256, 1024, 4096], net_batches=[1, 16, 256, 1024], net_load_pct=10,
                 net_rounds=20000),
    "smoke": dict(reps=1, target_s=0.05, warm_s=0.02, workers=[1, 2], work=[0, 1000],
                  sizes=[100, 10240, 1048576], ipc_bytes=1 << 20, serial_s=0.01,
                  dists=["uniform", "zipf:1.2"], balance_workers=2, balance_reps=1,
                  loads=[0, 50, 100], latency_s=0.25, latency_reps=1, queries=500, peer_queries=100,
                  pingpong_rounds=500, pingpong_gap_rounds=100, timeout=8, min_msgs=20, mem_ids=[1000, 10000],
                  net_windows=[64, 4096], net_batches=[1, 1024], net_load_pct=10, net_rounds=500),
}


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)
