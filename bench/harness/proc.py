"""proc.py - running one program under a deadline in a process group of its
own, and the programs a run measures (the phases found in the bin folder and
the Python peer)."""

import json
import os
import resource
import signal
import subprocess

from .config import PEER, PYTHON

class RunFailed(Exception):
    pass


def run_cmd(argv, timeout, cpu=None):
    """Runs argv in a process group of its own, so that a timeout or a
    Ctrl-C takes down its workers too; returns stdout. Raises RunFailed.
    With cpu (a dict), cpu["s"] is the CPU time (user + system) of the
    program and of every descendant it waited for: RUSAGE_CHILDREN counts a
    phase's workers once the phase has reaped them."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    except OSError as e:
        raise RunFailed("%s: %s" % (argv[0], e))
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(p.pid)
        p.communicate()
        raise RunFailed("%s timed out after %d s" % (" ".join(argv), timeout))
    except BaseException:  # Ctrl-C or SIGTERM: the run's processes go too
        kill_group(p.pid)
        p.wait()
        raise
    kill_group(p.pid)  # nothing may outlive a run; normally there is nothing left
    if cpu is not None:
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu["s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if p.returncode != 0:
        raise RunFailed("%s: exit %d: %s" % (" ".join(argv), p.returncode, err.strip()[-300:]))
    return out


def kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def json_lines(out):
    rows = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("{"):
            rows.append(json.loads(line))
    return rows


class Series:
    """One line on the graphs: a phase program or the Python peer."""

    def __init__(self, name, argv, has_workers, is_peer=False):
        self.name, self.argv, self.has_workers, self.is_peer = name, argv, has_workers, is_peer

    def run(self, flags, timeout):
        """The program's JSON summary, plus cpu_s: the CPU seconds of all
        its processes, measured by the harness."""
        cpu = {}
        out = run_cmd(self.argv + flags + ["--json"], timeout, cpu)
        rows = json_lines(out)
        if not rows:
            raise RunFailed("%s printed no JSON summary" % self.name)
        rows[-1]["cpu_s"] = cpu.get("s", 0.0)
        return rows[-1]


def discover(bin_dir):
    found, notes = [], []
    for n in range(1, 6):
        path = os.path.join(bin_dir, "phase%d" % n)
        if os.access(path, os.X_OK):
            found.append(Series("phase%d" % n, [path], has_workers=n >= 3))
        else:
            notes.append("phase%d: not built (no %s), skipped" % (n, path))
    found.append(Series("python", [PYTHON, PEER], has_workers=True, is_peer=True))
    return found, notes
