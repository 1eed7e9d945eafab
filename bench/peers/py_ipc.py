#!/usr/bin/python3
"""py_ipc.py - what a multiprocessing.Queue costs per message, by payload
size: experiment 2's Python line, to set beside ipc_bench's call and pipe.

    py_ipc.py [--sizes 100,1024,...] [--bytes B] [--reps R]

A producer streams n = B / size bytes objects (clamped to 200..20000) to a
consumer process that takes each one off the queue; the time runs from the
first put to the consumer's acknowledgement of the last. One warm-up
repetition is discarded. One JSON line per repetition, as ipc_bench prints.
Standard library only."""

import argparse
import json
import multiprocessing as mp
import sys
import time


def consumer(q, ack):
    while True:
        n = q.get()
        if n is None:
            return
        for _ in range(n):
            q.get()
        ack.put(True)


def main(argv):
    ap = argparse.ArgumentParser(prog="py_ipc.py")
    ap.add_argument("--sizes", default="100,1024,10240,102400,1048576")
    ap.add_argument("--bytes", type=int, default=32 << 20)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args(argv)
    ctx = mp.get_context("fork")
    q, ack = ctx.Queue(maxsize=1024), ctx.Queue()
    p = ctx.Process(target=consumer, args=(q, ack))
    p.start()
    try:
        for size in (int(s) for s in a.sizes.split(",")):
            n = min(20000, max(200, a.bytes // size))
            payload = bytes(size)
            for rep in range(a.reps + 1):
                q.put(n)
                t0 = time.perf_counter_ns()
                for _ in range(n):
                    q.put(payload)
                ack.get()
                ns = time.perf_counter_ns() - t0
                if rep > 0:
                    print(json.dumps({"bench": "ipc", "transport": "mp.Queue", "size": size, "rep": rep,
                                      "messages": n, "seconds": ns / 1e9, "ns_per_msg": ns / n}), flush=True)
    finally:
        q.put(None)
        p.join(timeout=10)
        if p.is_alive():
            p.kill()
            p.join()
    return 0 if p.exitcode == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
