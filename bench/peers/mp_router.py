#!/usr/bin/python3
"""mp_router.py - msgroute in Python with multiprocessing: the design the labs
started from, kept as the benchmarks' reference point (SPEC §9).

A main process reads or generates messages, routes each one by FNV-1a-64 of
its worker_id (SPEC §4) to a bounded per-worker multiprocessing.Queue, and
asks the workers about machine states over a request/response pair of
queues with correlation ids. Each worker holds its machines in a dict and
applies SPEC §3 exactly, so the final dump (SPEC §6) is byte-identical to
every C phase's for the same trace.

What it deliberately is not: fast. Every message is pickled, pushed through
a pipe by a feeder thread and unpickled; that cost is what the benchmarks
show. Messages travel in batches of --batch (default 64) per Queue.put, as
any sensible Python version would do; --batch 1 is the naive design.

The built-in generator reproduces the C generator (xoshiro256** seeded by
splitmix64, the same event mix, Lemire's bounded draw and the same Zipf alias
table), so `mp_router.py --messages M ...` routes the same stream as
`phase1 --messages M ...`; tests/bench checks this. Only the "random known
id" picked by each query differs, which no dump depends on.

Standard library only. Run it with /usr/bin/python3 (any Python >= 3.8).
Flags are those of the phases (SPEC §7) plus --batch; --recover and
--status-every are not implemented here and are refused with exit 2.
"""

import argparse
import json
import os
import queue
import random
import signal
import sys
import time
import multiprocessing as mp

# ---------------------------------------------------------------- SPEC §2-§4

EVENTS = ("START", "PAUSE", "RESUME", "COMPLETE", "FAIL", "RESET", "STOP", "DATA", "HEARTBEAT")
EVENT_CODE = {name: code for code, name in enumerate(EVENTS)}
STATES = ("IDLE", "RUNNING", "PAUSED", "FAILED", "STOPPED")
IDLE, RUNNING, PAUSED, FAILED, STOPPED = range(5)
START, PAUSE, RESUME, COMPLETE, FAIL, RESET, STOP, DATA, HEARTBEAT = range(9)

M64 = (1 << 64) - 1
FNV_OFFSET = 14695981039346656037
FNV_PRIME = 1099511628211
ID_MAX = 63
PAYLOAD_MAX = 16 * 1024 * 1024
LINE_MAX = 4096
ID_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-")

# Effects of a valid transition.
NONE, JOB, FAILURE, BYTES = range(4)


def _build_table():
    """SPEC §3 cell by cell: TABLE[state][event] = (next, effect) or None
    for an invalid transition."""
    t = [[None] * 9 for _ in range(5)]
    t[IDLE][START] = (RUNNING, NONE)
    t[IDLE][STOP] = (STOPPED, NONE)
    t[IDLE][HEARTBEAT] = (IDLE, NONE)
    t[RUNNING][PAUSE] = (PAUSED, NONE)
    t[RUNNING][COMPLETE] = (IDLE, JOB)
    t[RUNNING][FAIL] = (FAILED, FAILURE)
    t[RUNNING][STOP] = (STOPPED, NONE)
    t[RUNNING][DATA] = (RUNNING, BYTES)
    t[RUNNING][HEARTBEAT] = (RUNNING, NONE)
    t[PAUSED][RESUME] = (RUNNING, NONE)
    t[PAUSED][FAIL] = (FAILED, FAILURE)
    t[PAUSED][STOP] = (STOPPED, NONE)
    t[PAUSED][HEARTBEAT] = (PAUSED, NONE)
    t[FAILED][RESET] = (IDLE, NONE)
    t[FAILED][STOP] = (STOPPED, NONE)
    t[FAILED][HEARTBEAT] = (FAILED, NONE)
    t[STOPPED][RESET] = (IDLE, NONE)
    t[STOPPED][HEARTBEAT] = (STOPPED, NONE)
    return tuple(tuple(row) for row in t)


TABLE = _build_table()


def fnv1a64(data):
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & M64
    return h


# The payload of message seq is byte i = (seq + i) mod 256: it repeats every
# 256 bytes, so one 256-byte block per seq mod 256 builds any payload.
BLOCKS = tuple(bytes((s + i) & 0xFF for i in range(256)) for s in range(256))


def payload_make(seq, n):
    if n == 0:
        return b""
    block = BLOCKS[seq & 0xFF]
    return (block * (n // 256 + 1))[:n]


# ------------------------------------------------------------- the machines

# A machine is a list, indexed by these (the dump's columns after worker_id).
M_STATE, M_MSGS, M_TRANS, M_INVALID, M_JOBS, M_FAILS, M_BYTES, M_LAST, M_OOO, M_CORRUPT, M_SUM = range(11)


def new_machine():
    return [IDLE, 0, 0, 0, 0, 0, 0, 0, 0, 0, FNV_OFFSET]


def apply(m, seq, ev, plen, payload_ok):
    """SPEC §3: the counters in the order the contract lists them."""
    m[M_MSGS] += 1
    if seq <= m[M_LAST]:
        m[M_OOO] += 1
    else:
        m[M_LAST] = seq
    h = ((m[M_SUM] ^ seq) * FNV_PRIME) & M64
    m[M_SUM] = ((h ^ ev) * FNV_PRIME) & M64
    step = TABLE[m[M_STATE]][ev]
    if step is None:
        m[M_INVALID] += 1
    else:
        nxt, effect = step
        if effect == JOB:
            m[M_JOBS] += 1
        elif effect == FAILURE:
            m[M_FAILS] += 1
        elif effect == BYTES:
            m[M_BYTES] += plen
        if nxt != m[M_STATE]:
            m[M_TRANS] += 1
        m[M_STATE] = nxt
    if not payload_ok:
        m[M_CORRUPT] += 1


def dump_rows(machines):
    """SPEC §6: rows sorted by worker_id bytewise (ids are ASCII)."""
    out = ["worker_id,state,msgs,transitions,invalid,jobs,failures,bytes,last_seq,ooo,corrupt,checksum\n"]
    for wid in sorted(machines, key=lambda s: s.encode()):
        m = machines[wid]
        out.append("%s,%s,%d,%d,%d,%d,%d,%d,%d,%d,%d,%016x\n" % (
            wid, STATES[m[M_STATE]], m[M_MSGS], m[M_TRANS], m[M_INVALID], m[M_JOBS], m[M_FAILS],
            m[M_BYTES], m[M_LAST], m[M_OOO], m[M_CORRUPT], m[M_SUM]))
    return "".join(out)


def write_dump(path, text):
    """Atomic, as the C phases do: a temporary file beside the target, then rename."""
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    tmp = "%s.tmp%d" % (path, os.getpid())
    try:
        with open(tmp, "w", encoding="ascii") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ------------------------------------------------------------ the trace (§5)

class TraceError(Exception):
    pass


def parse_u64(field, what):
    if not field.isdigit() or not field.isascii():
        raise TraceError("bad %s '%s': want a decimal number" % (what, field[:32].decode("ascii", "replace")))
    v = int(field)
    if v > M64:
        raise TraceError("bad %s '%s': want a decimal number below 2^64" % (what, field[:32].decode()))
    return v


def load_trace(path):
    """Validates the whole trace before anything is routed (SPEC §5).
    Returns a list of (seq, worker_id, event code, payload_len)."""
    name = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as f:
                data = f.read()
    except OSError as e:
        raise TraceError("%s: cannot open: %s" % (name, e.strerror))
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the LF of the last line, not an empty line after it
    msgs = []
    for lineno, raw in enumerate(lines, 1):
        try:
            if len(raw) > LINE_MAX:
                raise TraceError("line longer than %d bytes" % LINE_MAX)
            if b"\0" in raw:
                raise TraceError("NUL byte in line")
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            # Only spaces and tabs separate fields (bytes.split() would also split on \v, \f, \r).
            fields = [f for f in raw.replace(b"\t", b" ").split(b" ") if f]
            if not fields or fields[0].startswith(b"#"):
                continue
            if len(fields) not in (3, 4):
                raise TraceError("expected 3 or 4 fields (seq worker_id EVENT [payload_len]), found %d" % len(fields))
            seq = parse_u64(fields[0], "seq")
            if seq == 0:
                raise TraceError("seq 0: sequence numbers start at 1")
            wid = fields[1]
            if len(wid) > ID_MAX:
                raise TraceError("worker_id is %d bytes, over the limit of %d" % (len(wid), ID_MAX))
            if not all(c in ID_CHARS for c in wid):
                raise TraceError("bad worker_id: allowed characters are A-Z a-z 0-9 _ . : -")
            ev = EVENT_CODE.get(fields[2].decode("ascii", "replace"))
            if ev is None:
                raise TraceError("unknown event '%s'" % fields[2][:32].decode("ascii", "replace"))
            plen = parse_u64(fields[3], "payload_len") if len(fields) == 4 else 0
            if plen > PAYLOAD_MAX:
                raise TraceError("payload_len %d over the limit of %d (16 MiB)" % (plen, PAYLOAD_MAX))
        except TraceError as e:
            raise TraceError("%s:%d: %s" % (name, lineno, e))
        msgs.append((seq, wid.decode("ascii"), ev, plen))
    return msgs


# ------------------------------------------ the generator (as source.c does)

EVENT_MIX = ((DATA, 96), (HEARTBEAT, 40), (START, 28), (COMPLETE, 24), (PAUSE, 14),
             (RESUME, 14), (RESET, 18), (FAIL, 8), (STOP, 14))
EVENT_OF_BYTE = tuple(e for e, w in EVENT_MIX for _ in range(w))


class Rng:
    """xoshiro256** seeded by splitmix64, bit for bit as phases/common/rng.h."""

    def __init__(self, seed):
        x = seed & M64
        s = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & M64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            s.append(z ^ (z >> 31))
        self.s = s

    def next(self):
        s0, s1, s2, s3 = self.s
        r = (((s1 * 5) & M64) << 7 | ((s1 * 5) & M64) >> 57) & M64
        result = (r * 9) & M64
        t = (s1 << 17) & M64
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = ((s3 << 45) | (s3 >> 19)) & M64
        self.s = [s0, s1, s2, s3]
        return result

    def below(self, n):
        return (self.next() * n) >> 64


class Zipf:
    """Vose's alias table, built in the same order and arithmetic as zipf.c."""

    def __init__(self, n, s):
        h = 0.0
        for k in range(n, 0, -1):
            h += float(k) ** -s
        prob = [(float(k) + 1) ** -s / h * n for k in range(n)]
        alias = list(range(n))
        small = [k for k in range(n) if prob[k] < 1.0]
        large = [k for k in range(n) if prob[k] >= 1.0]
        while small and large:
            lo, hi = small.pop(), large[-1]
            alias[lo] = hi
            prob[hi] -= 1.0 - prob[lo]
            if prob[hi] < 1.0:
                large.pop()
                small.append(hi)
        for k in large:
            prob[k] = 1.0
        for k in small:
            prob[k] = 1.0
        self.n, self.prob, self.alias = n, prob, alias

    def sample(self, rng):
        # The column is the integer part of x * n / 2^64, the coin its
        # fractional part (top 53 bits), as zipf_sample() does.
        p = rng.next() * self.n
        col = p >> 64
        u = ((p & M64) >> 11) * (2.0 ** -53)
        return col if u < self.prob[col] else self.alias[col]


def generate(cfg):
    """Yields (seq, worker_id, event code, payload_len) like source_next()."""
    rng = Rng(cfg.seed)
    zipf = Zipf(cfg.ids, cfg.zipf_s) if cfg.zipf_s else None
    names = ["id-%d" % i for i in range(cfg.ids)]
    lo, hi = cfg.payload
    span = hi - lo + 1
    for seq in range(1, cfg.messages + 1):
        i = zipf.sample(rng) if zipf else rng.below(cfg.ids)
        x = rng.next()
        yield seq, names[i], EVENT_OF_BYTE[x & 0xFF], lo + (((x >> 32) * span) >> 32)


# ----------------------------------------------------------------- workers

def rss_peak_kb():
    """VmHWM of this process: its peak resident set, as the C programs report it."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def work_iterations(ns):
    """Calibrates the --work-ns loop once: iterations of a bare Python loop
    per ns, the fastest of several short trials, so that being preempted
    during one trial (likely on a busy machine) cannot shrink the work."""
    if ns == 0:
        return 0
    n = 20000
    best = None
    for _ in range(7):
        t = time.perf_counter()
        for _ in range(n):
            pass
        per_iter_ns = (time.perf_counter() - t) * 1e9 / n
        best = per_iter_ns if best is None else min(best, per_iter_ns)
    return max(1, int(ns / max(best, 0.1)))


def pin_to(cpu):
    try:
        os.sched_setaffinity(0, {cpu % (os.cpu_count() or 1)})
    except OSError:
        pass


def worker_main(index, inbox, replies, results, work_ns, pin_cpu):
    """One worker: a dict of machines, fed by its inbox. Items are a list
    (a batch of messages), ('q', qid, worker_id) (a query, answered on
    replies) or None (drain done: report and exit)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides (SPEC §8)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if pin_cpu is not None:
        pin_to(pin_cpu)
    iters = work_iterations(work_ns)
    machines = {}
    handled = 0
    busy = 0.0
    blocks = BLOCKS
    table = TABLE
    while True:
        item = inbox.get()
        if item is None:
            break
        if isinstance(item, tuple):
            _, qid, wid = item
            m = machines.get(wid)
            replies.put((qid, STATES[m[M_STATE]] if m else None))
            continue
        t0 = time.perf_counter()
        for seq, wid, ev, plen, payload in item:
            m = machines.get(wid)
            if m is None:
                m = machines[wid] = new_machine()
            ok = plen == 0 or payload == (blocks[seq & 0xFF] * (plen // 256 + 1))[:plen]
            for _ in range(iters):
                pass
            # apply() inlined: this loop is the worker's whole job.
            m[M_MSGS] += 1
            if seq <= m[M_LAST]:
                m[M_OOO] += 1
            else:
                m[M_LAST] = seq
            m[M_SUM] = ((((((m[M_SUM] ^ seq) * FNV_PRIME) & M64) ^ ev) * FNV_PRIME) & M64)
            step = table[m[M_STATE]][ev]
            if step is None:
                m[M_INVALID] += 1
            else:
                nxt, effect = step
                if effect:
                    if effect == BYTES:
                        m[M_BYTES] += plen
                    elif effect == JOB:
                        m[M_JOBS] += 1
                    else:
                        m[M_FAILS] += 1
                if nxt != m[M_STATE]:
                    m[M_TRANS] += 1
                    m[M_STATE] = nxt
            if not ok:
                m[M_CORRUPT] += 1
        handled += len(item)
        busy += time.perf_counter() - t0
    results.put((index, os.getpid(), machines, handled, busy, rss_peak_kb()))


# -------------------------------------------------------------- the router

class WorkerLost(Exception):
    pass


class Router:
    def __init__(self, opts):
        self.o = opts
        self.n = opts.workers
        ctx = mp.get_context("fork")
        self.inboxes = [ctx.Queue(maxsize=opts.queue_batches) for _ in range(self.n)]
        self.replies = ctx.Queue()
        self.results = ctx.Queue()
        self.procs = []
        for i in range(self.n):
            cpu = None
            if opts.pin == "spread":
                cpu = i + 1
            elif opts.pin == "same":
                cpu = 0
            p = ctx.Process(target=worker_main, name="worker-%d" % i,
                            args=(i, self.inboxes[i], self.replies, self.results, opts.work_ns, cpu))
            p.start()
            self.procs.append(p)
        if opts.pin == "spread" or opts.pin == "same":
            pin_to(0)
        self.pending = [[] for _ in range(self.n)]
        self.route_of = {}  # worker_id -> worker index (hashing once per id)
        self.seen = []
        self.queries_out = {}  # qid -> intended time (ns)
        self.latencies = []
        self.query_failed = 0
        self.query_not_found = 0
        self.next_qid = 1

    def put(self, i, item):
        """Blocks while worker i's queue is full (backpressure), but notices
        a dead worker instead of waiting for it for ever."""
        while True:
            try:
                self.inboxes[i].put(item, timeout=0.1)
                return
            except queue.Full:
                if not self.procs[i].is_alive():
                    raise WorkerLost(i)

    def send(self, seq, wid, ev, plen):
        i = self.route_of.get(wid)
        if i is None:
            i = self.route_of[wid] = fnv1a64(wid.encode()) % self.n
            self.seen.append(wid)
        batch = self.pending[i]
        batch.append((seq, wid, ev, plen, payload_make(seq, plen) if plen else None))
        if len(batch) >= self.o.batch:
            self.put(i, batch)
            self.pending[i] = []

    def flush(self):
        for i in range(self.n):
            if self.pending[i]:
                self.put(i, self.pending[i])
                self.pending[i] = []

    def query(self, intended_ns, rnd):
        if not self.seen:
            return
        wid = self.seen[rnd.randrange(len(self.seen))]
        qid = self.next_qid
        self.next_qid += 1
        self.queries_out[qid] = intended_ns
        self.put(self.route_of[wid], ("q", qid, wid))

    def collect_replies(self, deadline_ns=None):
        timeout_ns = self.o.query_timeout * 1_000_000
        while self.queries_out:
            try:
                if deadline_ns is None:
                    qid, state = self.replies.get_nowait()
                else:
                    qid, state = self.replies.get(timeout=0.01)
            except queue.Empty:
                if deadline_ns is None or time.monotonic_ns() >= deadline_ns:
                    break
                continue
            self.take_reply(qid, state)
        now = time.monotonic_ns()
        for qid, intended in list(self.queries_out.items()):
            if now - intended > timeout_ns:
                del self.queries_out[qid]
                self.query_failed += 1

    def wait_until(self, due_ns):
        """Sleeps until due_ns (the --rate pacing) while still taking query
        replies as they come, so an idle router answers at once instead of
        after its nap."""
        while True:
            left = due_ns - time.monotonic_ns()
            if left <= 0:
                return
            if not self.queries_out:
                time.sleep(left / 1e9)
                return
            try:
                qid, state = self.replies.get(timeout=left / 1e9)
            except queue.Empty:
                return
            self.take_reply(qid, state)

    def take_reply(self, qid, state):
        intended = self.queries_out.pop(qid, None)
        if intended is None:
            return
        lat = time.monotonic_ns() - intended
        if lat > self.o.query_timeout * 1_000_000:
            self.query_failed += 1
            return
        self.latencies.append(lat)
        if state is None:
            self.query_not_found += 1

    def finish(self):
        """Drain: every queue gets its end marker, then each worker reports."""
        self.flush()
        for i in range(self.n):
            self.put(i, None)
        got = {}
        while len(got) < self.n:
            try:
                r = self.results.get(timeout=0.1)
                got[r[0]] = r
            except queue.Empty:
                for i, p in enumerate(self.procs):
                    if i not in got and not p.is_alive():
                        raise WorkerLost(i)
        for p in self.procs:
            p.join()
        return [got[i] for i in range(self.n)]

    def kill(self):
        for p in self.procs:
            if p.is_alive():
                p.kill()
        for p in self.procs:
            p.join()


# ------------------------------------------------------------ command line

class Usage(Exception):
    pass


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="mp_router.py",
        description="Routes messages to state machines in Python worker processes over "
                    "multiprocessing.Queue (the msgroute benchmarks' Python peer).",
        epilog="exit status: 0 success, 2 bad usage or input, 3 a worker was lost, 130 interrupted twice")
    ap.add_argument("--trace", metavar="FILE", help="read messages from a trace file ('-' for stdin)")
    ap.add_argument("--messages", metavar="M", help="generate M messages (default 1000000)")
    ap.add_argument("--ids", metavar="K", help="over K distinct worker_ids (default 10000)")
    ap.add_argument("--dist", metavar="D", help="id distribution: uniform or zipf:S (default uniform)")
    ap.add_argument("--payload", metavar="B|MIN-MAX", help="payload bytes, fixed or a range (default 0)")
    ap.add_argument("--seed", metavar="X", help="generator seed (default 1)")
    ap.add_argument("--workers", metavar="N", default="2", help="worker processes (default 2)")
    ap.add_argument("--rate", metavar="R", default="0", help="messages per second, 0 = as fast as possible")
    ap.add_argument("--work-ns", metavar="W", default="0", help="simulated work per message, in ns")
    ap.add_argument("--pin", metavar="MODE", default="none", choices=("none", "spread", "same"),
                    help="CPU placement: none, spread or same")
    ap.add_argument("--queries", metavar="Q", default="0", help="queries per second at random known ids")
    ap.add_argument("--query-timeout", metavar="MS", default="1000", help="deadline of one query in ms")
    ap.add_argument("--recover", action="store_true", help="not implemented by the Python peer")
    ap.add_argument("--status-every", metavar="S", help="not implemented by the Python peer")
    ap.add_argument("--dump", metavar="FILE", help="write the final state as CSV ('-' for stdout)")
    ap.add_argument("--json", action="store_true", help="print a JSON summary as the last line of stdout")
    ap.add_argument("--batch", metavar="B", default="64", help="messages per Queue.put (default 64)")
    a = ap.parse_args(argv)

    def num(flag, s, lo, hi, kind=int):
        try:
            v = kind(s)
            if kind is int and not s.isdigit():
                raise ValueError
        except (TypeError, ValueError):
            raise Usage("bad value for --%s: want a number from %s to %s" % (flag, lo, hi))
        if not lo <= v <= hi:
            raise Usage("bad value for --%s: want a number from %s to %s" % (flag, lo, hi))
        return v

    if a.recover or a.status_every is not None:
        raise Usage("--recover and --status-every are not implemented by the Python peer")
    gen_given = any(v is not None for v in (a.messages, a.ids, a.dist, a.payload, a.seed))
    if a.trace is not None and gen_given:
        raise Usage("--trace and the generator flags (--messages, --ids, --dist, --payload, --seed) exclude each other")
    a.messages = num("messages", a.messages or "1000000", 0, M64 // 2)
    a.ids = num("ids", a.ids or "10000", 1, 16777216)
    a.seed = num("seed", a.seed or "1", 0, M64)
    a.zipf_s = 0.0
    dist = a.dist or "uniform"
    if dist.startswith("zipf:"):
        a.zipf_s = num("dist", dist[5:], 0.01, 10.0, float)
    elif dist != "uniform":
        raise Usage("bad value for --dist: want uniform or zipf:S with 0.01 <= S <= 10")
    p = a.payload or "0"
    lo, _, hi = p.partition("-")
    a.payload = (num("payload", lo, 0, PAYLOAD_MAX), num("payload", hi or lo, 0, PAYLOAD_MAX))
    if a.payload[0] > a.payload[1]:
        raise Usage("bad value for --payload: MIN above MAX")
    a.workers = num("workers", a.workers, 1, 256)
    a.rate = num("rate", a.rate, 0, 1e12, float)
    a.work_ns = num("work-ns", a.work_ns, 0, 1000000000)
    a.queries = num("queries", a.queries, 0, 1e9, float)
    a.query_timeout = num("query-timeout", a.query_timeout, 1, 3600000)
    a.batch = num("batch", a.batch, 1, 65536)
    # Bound each queue to about 64 Ki messages whatever the batch size.
    a.queue_batches = max(4, 65536 // a.batch)
    return a


# ------------------------------------------------------------------- main

stop_requested = False
worker_pids = []  # filled once the workers exist, for the second Ctrl-C


def on_stop(sig, frame):
    """First SIGINT/SIGTERM: stop the source, drain, dump (SPEC §8). Second:
    kill the workers and leave at once with 130. Done here, in the handler,
    with os._exit: raising an exception into whatever the main thread was
    doing (a Queue.put, a join) could leave a worker running, and exit()
    would wait for the queues' feeder threads to flush into full pipes."""
    global stop_requested
    if stop_requested:
        for pid in worker_pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        os._exit(130)
    stop_requested = True


def percentile(sorted_vals, p):
    if not sorted_vals:
        return 0
    rank = min(len(sorted_vals), max(1, int(p / 100.0 * len(sorted_vals) + 0.5)))
    return sorted_vals[rank - 1]


def run(o):
    if o.trace is not None:
        stream = iter(load_trace(o.trace))  # raises TraceError before anything starts
    else:
        stream = generate(o)
    r = Router(o)
    worker_pids.extend(p.pid for p in r.procs)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGTERM, on_stop)
    rnd = random.Random(o.seed ^ 0x71755E57)
    try:
        start = time.monotonic_ns()
        period = 1e9 / o.rate if o.rate > 0 else 0.0
        qperiod = 1e9 / o.queries if o.queries > 0 else 0.0
        qissued = 0
        sent = 0
        check = 64
        for seq, wid, ev, plen in stream:
            if stop_requested:
                break
            r.send(seq, wid, ev, plen)
            sent += 1
            if sent % check == 0 or period:
                now = time.monotonic_ns()
                due = start + sent * period if period else now
                # Queries due by now, each timed from its intended time; when
                # --rate makes the router wait, it wakes for queries as well.
                while True:
                    if qperiod:
                        while start + qissued * qperiod <= now:
                            r.flush()
                            r.query(int(start + qissued * qperiod), rnd)
                            qissued += 1
                        r.collect_replies()
                    if due <= now:
                        break
                    r.flush()
                    r.wait_until(int(min(due, start + qissued * qperiod) if qperiod else due))
                    now = time.monotonic_ns()
        results = r.finish()
        end = time.monotonic_ns()
        r.collect_replies(deadline_ns=time.monotonic_ns() + o.query_timeout * 1_000_000)
    except WorkerLost as e:
        i = e.args[0]
        p = r.procs[i]
        print("mp_router.py: worker %d (pid %d) died with exit code %s; no dump written"
              % (i, p.pid, p.exitcode), file=sys.stderr)
        r.kill()
        return 3
    if stop_requested:
        print("mp_router.py: interrupted: stopped the source after %d messages" % sent, file=sys.stderr)

    machines = {}
    for _, _, ms, _, _, _ in results:
        machines.update(ms)
    if o.dump:
        write_dump(o.dump, dump_rows(machines))
    handled = sum(x[3] for x in results)
    seconds = (end - start) / 1e9
    lat = sorted(r.latencies)
    totals = [sum(m[k] for m in machines.values()) for k in (M_INVALID, M_CORRUPT, M_OOO)]
    rss_main = rss_peak_kb()
    summary = {
        "phase": "python", "workers": o.workers, "messages": handled, "seconds": round(seconds, 6),
        "msgs_per_s": round(handled / seconds, 1) if seconds > 0 else 0.0,
        "query_count": len(lat), "query_failed": r.query_failed, "query_not_found": r.query_not_found,
        "query_p50_us": percentile(lat, 50) / 1e3, "query_p99_us": percentile(lat, 99) / 1e3,
        "query_p999_us": percentile(lat, 99.9) / 1e3,
        "query_mean_us": (sum(lat) / len(lat) / 1e3) if lat else 0.0,
        "rss_kb_max": max([rss_main] + [x[5] for x in results]), "rss_kb_main": rss_main,
        "cpu_count": os.cpu_count() or 1, "machines": len(machines),
        "invalid": totals[0], "corrupt": totals[1], "ooo": totals[2],
        "per_worker": [{"index": i, "pid": pid, "messages": h, "busy_s": round(b, 6), "rss_kb": rss}
                       for i, pid, _, h, b, rss in results],
    }
    if o.json:
        print(json.dumps(summary, separators=(",", ":")))
    elif not o.dump or o.dump != "-":
        print("mp_router.py: %d messages in %.3f s = %.3f M msgs/s, %d worker%s, %d machines" % (
            handled, seconds, summary["msgs_per_s"] / 1e6, o.workers, "" if o.workers == 1 else "s",
            len(machines)), file=sys.stderr)
    return 0


def main(argv):
    try:
        o = parse_args(argv)
    except Usage as e:
        print("mp_router.py: %s\nTry 'mp_router.py --help' for the options." % e, file=sys.stderr)
        return 2
    try:
        return run(o)
    except TraceError as e:
        print(e, file=sys.stderr)
        return 2
    except OSError as e:
        print("mp_router.py: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
