"""faultlib: starting a phase, watching its processes, and judging its dump
for faults.py. Linux only (/proc); standard library only."""
import csv
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time


class Result:
    def __init__(self, status, out, err, ended_at, no_leftovers):
        self.status = status  # exit status, or -signal when killed by one
        self.out = out
        self.err = err
        self.ended_at = ended_at  # time.monotonic() when it was seen to end
        self.no_leftovers = no_leftovers  # nothing of its process group left 1 s later

    # What a library or a sanitizer prints before it kills the process: the
    # cause of a death by signal, often followed by the workers' own lines.
    DYING_WORDS = ("Assertion", "Sanitizer", "runtime error", "double free", "corrupted")

    def err_tail(self, lines=3):
        said = self.err.strip().splitlines()
        tail = said[-lines:]
        if 0 > self.status > -64:  # killed by a signal: name why, if it was said earlier
            tail = [s for s in said[:-lines] if any(w in s for w in self.DYING_WORDS)][-2:] + tail
        return " | ".join(tail)

    def json(self):
        for line in reversed(self.out.splitlines()):
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except ValueError:
                    return None
        return None


class Run:
    """One phase process in its own session (so its workers can be counted
    as its process group), stdout and stderr to files."""

    def __init__(self, argv, dump, workdir, stdin_file=None, stdin_pipe_from=None):
        self.dump = dump
        self.out_path = os.path.join(workdir, "out")
        self.err_path = os.path.join(workdir, "err")
        self.feeder = None
        stdin = subprocess.DEVNULL
        if stdin_pipe_from:
            # A real pipe, which cannot be read twice: what --recover must cope with.
            self.feeder = subprocess.Popen(["cat", stdin_pipe_from], stdout=subprocess.PIPE)
            stdin = self.feeder.stdout
        elif stdin_file:
            stdin = open(stdin_file, "rb")
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(argv, stdin=stdin, stdout=out, stderr=err, start_new_session=True)
        if self.feeder:
            self.feeder.stdout.close()
        self.pid = self.proc.pid
        self.ended_at = None

    def poll(self):
        rc = self.proc.poll()
        if rc is not None and self.ended_at is None:
            self.ended_at = time.monotonic()
        return rc

    def finish(self, timeout):
        deadline = time.monotonic() + timeout
        while self.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        if self.poll() is None:
            os.killpg(self.pid, signal.SIGKILL)
            self.proc.wait()
            self.ended_at = time.monotonic()
            status = "timeout"
        else:
            status = self.proc.returncode
        if self.feeder:
            self.feeder.kill()
            self.feeder.wait()
        clean = group_gone(self.pid, 1.0)
        with open(self.out_path, errors="replace") as f:
            out = f.read()
        with open(self.err_path, errors="replace") as f:
            err = f.read()
        if status == "timeout":
            err += f"\n(still running after {timeout} s: killed)"
            status = -999
        return Result(status, out, err, self.ended_at, clean)


class Context:
    def __init__(self, bin_dir, seed, quick):
        self.bin_dir = bin_dir
        self.seed = seed
        self.quick = quick
        self.tmp = tempfile.mkdtemp(prefix="msgroute-faults-")
        self.count = 0
        self.traces = {}

    def bin(self, phase):
        return os.path.join(self.bin_dir, f"phase{phase}")

    def scale(self, n):
        return n // 4 if self.quick else n

    def workdir(self):
        self.count += 1
        d = os.path.join(self.tmp, f"run{self.count}")
        os.mkdir(d)
        return d

    def start(self, phase, args, trace=None, from_stdin=False):
        d = self.workdir()
        dump = os.path.join(d, "dump.csv")
        argv = [self.bin(phase)] + args
        if "--dump" not in args:
            argv += ["--dump", dump]
        else:
            dump = args[args.index("--dump") + 1]
        if trace:
            argv += ["--trace", "-" if from_stdin else trace]
        return Run(argv, dump, d, stdin_pipe_from=trace if from_stdin else None)

    def run(self, phase, args, timeout=60):
        return self.start(phase, args).finish(timeout)

    def trace_and_oracle(self, messages, payload):
        """A trace of msgen's and phase 1's dump of it: the oracle."""
        key = (messages, payload)
        if key not in self.traces:
            d = self.workdir()
            trace = os.path.join(d, "t.trace")
            oracle = os.path.join(d, "oracle.csv")
            with open(trace, "wb") as f:
                subprocess.run([os.path.join(self.bin_dir, "msgen"), "--messages", str(messages), "--ids", "5000",
                                "--payload", payload, "--seed", str(self.seed)], stdout=f, check=True)
            subprocess.run([self.bin(1), "--trace", trace, "--dump", oracle], stdout=subprocess.DEVNULL,
                           check=True)
            self.traces[key] = (trace, oracle)
        return self.traces[key]

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def wait_started(pid, program, within_s=30):
    """Waits until pid runs program (or the program it executes in its
    place) and catches SIGUSR1: its start-up has
    installed its handlers. A signal sent earlier meets the default action
    of a process that is not the program yet (the fork before exec, the
    dynamic loader), which no program can prevent."""
    real = os.path.realpath(program)
    # phase 5's launcher executes the real program in its place
    # (phases/phase5/launch.c): ../libexec/NAME beside it.
    launched = os.path.realpath(os.path.join(os.path.dirname(real), "..", "libexec", os.path.basename(real)))
    usr1 = 1 << (signal.SIGUSR1 - 1)
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
            with open(f"/proc/{pid}/status") as f:
                caught = next(int(line.split()[1], 16) for line in f if line.startswith("SigCgt:"))
            if exe in (real, launched) and caught & usr1:
                return True
        except (OSError, StopIteration):
            if not os.path.exists(f"/proc/{pid}"):
                return False
        time.sleep(0.001)
    return False


def children_of(pid):
    """The live children of pid (its workers)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(x) for x in f.read().split()]
    except OSError:
        return []
    return [k for k in kids if not is_zombie(k)]


def wait_children(pid, n, timeout):
    """The live children of pid once there are n of them, or those there
    are at the deadline: a loaded machine can take longer than any fixed
    sleep to fork a run's workers (phase 5's connect too)."""
    deadline = time.monotonic() + timeout
    kids = children_of(pid)
    while len(kids) < n and time.monotonic() < deadline:
        time.sleep(0.02)
        kids = children_of(pid)
    return kids


def is_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def group_gone(pgid, within_s):
    deadline = time.monotonic() + within_s
    while group_alive(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def wait_gone(pids, within_s):
    deadline = time.monotonic() + within_s
    while any(os.path.exists(f"/proc/{p}") and not is_zombie(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def shm_names():
    """What is in /dev/shm, less Criterion's own objects (bxfi_PID,
    bxf_arena_PID): a make test running beside this suite makes and removes
    them all the time, and they are never a run's."""
    try:
        return {n for n in os.listdir("/dev/shm") if not n.startswith("bxf")}
    except OSError:
        return set()


def read_msgs(path):
    with open(path, newline="") as f:
        return {row["worker_id"]: (int(row["msgs"]), row) for row in csv.DictReader(f)}


def dump_diff(oracle_csv, got_csv):
    """(messages lost, messages applied twice) of got against the oracle,
    counted per machine; a machine whose counts agree but whose row differs
    (state, checksum) counts one of each, since it was fed out of order."""
    if not os.path.exists(got_csv):
        return (-1, -1)
    want, got = read_msgs(oracle_csv), read_msgs(got_csv)
    lost = twice = 0
    for wid, (n, row) in want.items():
        m, grow = got.get(wid, (0, None))
        if m < n:
            lost += n - m
        elif m > n:
            twice += m - n
        elif grow != row:
            lost += 1
            twice += 1
    for wid, (m, _) in got.items():
        if wid not in want:
            twice += m
    return (lost, twice)


def write_trace(path, lines):
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
