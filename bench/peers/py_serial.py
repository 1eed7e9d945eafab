#!/usr/bin/python3
"""py_serial.py - pickle (and msgpack, when python3-msgpack is installed)
pack/unpack ns per message for the message types of serial_bench.c:
experiment 3's Python lines.

    py_serial.py [--seconds T] [--reps R] [--array N]

"primitives" is phase 3's frame header as a tuple, "nested" a dict holding
a dict, a list of strings and a list of ints, "f64xN" a list of N floats
(the natural Python form; an array.array would pickle as raw bytes). One
warm-up repetition is discarded; one JSON line per repetition."""

import argparse
import json
import pickle
import sys
import time

try:
    import msgpack
except ImportError:  # the pickle lines still run
    msgpack = None


def timed(fn, arg, seconds):
    n = 0
    t0 = time.perf_counter_ns()
    end = t0 + int(seconds * 1e9)
    while True:
        for _ in range(32):
            fn(arg)
        n += 32
        t = time.perf_counter_ns()
        if t >= end:
            return (t - t0) / n, n


def main(argv):
    ap = argparse.ArgumentParser(prog="py_serial.py")
    ap.add_argument("--seconds", type=float, default=0.2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--array", type=int, default=1000)
    a = ap.parse_args(argv)
    types = {
        "primitives": (123456789, "id-12345", 7, 1024),
        "nested": {"head": (123456789, "id-12345", 7, 1024),
                   "meta": {"host": "node-7", "ts": 1732550400.123, "tags": ["eu", "rack9", "hot"]},
                   "samples": [1, -2, 300, 40000, -5000000, 6, 70000000000, 8]},
        "f64x%d" % a.array: [i * 1.5 + 0.25 for i in range(a.array)],
    }
    codecs = [("pickle", lambda o: pickle.dumps(o, protocol=pickle.HIGHEST_PROTOCOL), pickle.loads)]
    if msgpack is not None:
        codecs.append(("msgpack", msgpack.packb, lambda b: msgpack.unpackb(b, use_list=True)))
    else:
        print("py_serial.py: python3-msgpack not installed; pickle only", file=sys.stderr)
    for tname, obj in types.items():
        for cname, pack, unpack in codecs:
            blob = pack(obj)
            for rep in range(a.reps + 1):
                for op, fn, arg in (("pack", pack, obj), ("unpack", unpack, blob)):
                    ns, n = timed(fn, arg, a.seconds)
                    if rep > 0:
                        print(json.dumps({"bench": "serial", "lang": "python", "codec": cname, "type": tname,
                                          "op": op, "rep": rep, "bytes": len(blob), "messages": n,
                                          "ns_per_msg": round(ns, 2)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
