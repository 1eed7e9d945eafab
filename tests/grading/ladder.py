#!/usr/bin/env python3
"""ladder - the start path of a lab, checked: builds the trees a student
has part-way through the handout's TODO list (labgen.py --fill: the
solution's regions filled up to step k, the rest the starter's stubs) and
runs the phase's tests on each. Python 3 standard library only.

    ladder.py --phase N --record [--work DIR] [--build DIR]   run every step, write ladder/phaseN.tsv
    ladder.py --phase N --check  [--work DIR] [--build DIR]   check the recorded promises (the CTest test)
    ladder.py --phase N --steps                 print the steps read from the handout

The steps are the rows of the TODO table of labs/phaseN/README.md (`| k |
file: function(...) | ...`), in its order: the handout is the one source
of the order. ladder/phaseN.tsv records, for every test of the phase, the
first step after which it passes (0: the starter passes it), and the
starter's count (and how many tests it skips); `make check` reads it to
name the next TODO, and the handout's figures ("2 of 29 tests pass", "3 are
skipped") are checked against it. --check runs the
starter (its count must match the record and the handout), then each step
with a promise in ladder/phaseN.promises: `make phaseN` runs, a golden
trace gives its dump, and the tests the record says pass by then pass.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PY = sys.executable
LADDER = os.path.join(HERE, "ladder")
BUILD = {}  # "dir": the build folder every step reuses (only lesson files change)


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def handout(phase):
    with open(os.path.join(ROOT, "labs", f"phase{phase}", "README.md"), encoding="utf-8") as f:
        return f.read()


def steps(phase):
    """[(k, [function, ...])] from the handout's TODO table, in order."""
    out = []
    for line in handout(phase).splitlines():
        m = re.match(r"^\|\s*(\d+)\s*\|([^|]*)\|", line)
        if not m:
            continue
        names = []
        for tick in re.findall(r"`([^`]*)`", m.group(2)):
            tick = tick.split(":", 1)[-1].strip()
            fn = re.match(r"[A-Za-z_]\w*", tick)
            if fn:
                names.append(fn.group(0))
        out.append((int(m.group(1)), names))
    return out


def todo_functions(phase):
    """Every function of phase N holding a LAB region (labgen.py --list)."""
    r = subprocess.run([PY, os.path.join(HERE, "labgen.py"), "--list"], capture_output=True, text=True, timeout=60)
    return {l.split(": ")[1] for l in r.stdout.splitlines() if l.startswith(f"labs/phase{phase}/")}


def build_step(phase, funcs, work, k):
    """The tree after step k, built into work/build; its impl folder."""
    impl = os.path.join(work, f"step{k}")
    shutil.rmtree(impl, ignore_errors=True)
    r = subprocess.run([PY, os.path.join(HERE, "labgen.py"), "--fill", ",".join(funcs), impl],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        fail(f"labgen.py --fill: {r.stderr}")
    return impl


def run_check(phase, impl, work):
    """{test: status} and the 'X of Y' line of grade.py --check on impl;
    run_check.binary maps each test to its test binary, run_check.skipped
    is how many were skipped."""
    cmd = [PY, os.path.join(HERE, "grade.py"), "--check", "--phase", str(phase), "--impl", "labs",
           "--impl-dir", impl, "--build", BUILD["dir"], "--jobs", "2"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    status, binary = {}, {}
    for line in r.stdout.splitlines():
        m = re.match(r"^  (PASSED|FAILED|ERRORED|SKIPPED|CRASHED|TIMEOUT)\s+(\S+): (\S+)$", line)
        if m:
            status[m.group(3)] = m.group(1)
            binary[m.group(3)] = m.group(2)
    count = re.search(r"^(\d+) of (\d+) tests pass(?:, (\d+) skipped)?", r.stdout, re.M)
    if not status or not count:
        fail(f"grade.py --check gave no results:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    run_check.stdout = r.stdout  # the last run's report, for the next-TODO check
    run_check.binary = binary
    run_check.skipped = int(count.group(3) or 0)
    return status, f"{count.group(1)} of {count.group(2)}"


def record_path(phase):
    return os.path.join(LADDER, f"phase{phase}.tsv")


def load_record(phase):
    """({test: first step}, starter count); load_record.skipped is how many
    tests the starter skips, None when the record does not say."""
    first, count = {}, ""
    load_record.skipped = None
    with open(record_path(phase), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                m = re.match(r"^# starter: (\d+ of \d+)(?: tests pass, (\d+) skipped)?", line)
                if m:
                    count = m.group(1)
                    load_record.skipped = int(m.group(2)) if m.group(2) else load_record.skipped
                continue
            test, step = line.rstrip("\n").split("\t")
            first[test] = int(step)
    return first, count


def cmd_record(phase, work):
    todo = steps(phase)
    first, filled, count, skipped = {}, [], "", 0
    for k, names in [(0, [])] + todo:
        filled += names
        status, c = run_check(phase, build_step(phase, filled, work, k), work)
        if not count:
            count, skipped = c, run_check.skipped
        print(f"step {k} ({', '.join(names) or 'the starter'}): {c}", flush=True)
        for t, s in status.items():
            if s in ("PASSED", "SKIPPED") and t not in first:
                first[t] = k
        never = sorted(t for t, s in status.items() if t not in first)
    if never:
        fail("with every TODO written these still fail: " + ", ".join(never))
    os.makedirs(LADDER, exist_ok=True)
    with open(record_path(phase), "w", encoding="utf-8") as f:
        f.write(f"# ladder of phase {phase} (tests/grading/ladder.py --record): the first step of\n"
                f"# labs/phase{phase}/README.md's TODO table after which each test passes.\n"
                f"# starter: {count} tests pass, {skipped} skipped\n")
        for t in sorted(first, key=lambda t: (first[t], t)):
            f.write(f"{t}\t{first[t]}\n")
    print(f"ladder: wrote {os.path.relpath(record_path(phase), ROOT)}")


def load_promises(phase):
    """{step: [(kind, args)]} from ladder/phaseN.promises."""
    out = {}
    with open(os.path.join(LADDER, f"phase{phase}.promises"), encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if line:
                out.setdefault(int(line[0]), []).append((line[1], line[2:]))
    return out


def build_targets(phase, impl, work, binaries):
    build = BUILD["dir"]
    cfg = ["cmake", "-S", ROOT, "-B", build, "-DMSGROUTE_IMPL=labs", f"-DMSGROUTE_IMPL_DIR={impl}"]
    if not os.path.exists(os.path.join(build, "CMakeCache.txt")):
        cfg.append("-DCMAKE_BUILD_TYPE=RelWithDebInfo")
    for cmd in (cfg, ["cmake", "--build", build, "-j", "2", "--target", f"phase{phase}", "msgen", "oracle"]
                + sorted(binaries)):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            fail(f"{' '.join(cmd)}:\n{r.stdout[-3000:]}{r.stderr[-3000:]}")
    return build


def run(cmd, timeout=120, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def promise(phase, k, kind, args, build, first, binary, since=0):
    """Checks one promise of step k; a reason when it does not hold. The
    tests promise covers the tests recorded for the steps after `since`
    (the step of the previous tests promise) up to k: each recorded test is
    run once, at the first promised step that has it."""
    prog = os.path.join(build, "bin", f"phase{phase}")
    if kind == "make":
        env = {v: os.environ[v] for v in os.environ if v not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
        r = run(["make", "-C", ROOT, f"phase{phase}", f"BUILD={build}", "IMPL=labs", "JOBS=2"], 300, env=env)
        return None if r.returncode == 0 else f"make phase{phase} exited {r.returncode}: {r.stderr[-800:]}"
    if kind == "golden":
        trace, workers = args
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "d.csv")
            r = run([prog, "--trace", os.path.join(ROOT, "tests", "golden", f"{trace}.trace"), "--workers", workers,
                     "--dump", out])
            want = open(os.path.join(ROOT, "tests", "golden", f"{trace}.csv"), "rb").read()
            if r.returncode != 0 or not os.path.exists(out) or open(out, "rb").read() != want:
                return f"{trace}.trace with {workers} workers: exit {r.returncode}, dump differs: {r.stderr[-500:]}"
        return None
    if kind == "query":
        r = run([prog, "--trace", os.path.join(ROOT, "tests", "golden", f"{args[0]}.trace"), "--query", args[1]])
        return None if r.returncode == 0 and args[1] in r.stdout + r.stderr else \
            f"--query {args[1]}: exit {r.returncode}: {r.stderr[-500:]}"
    if kind == "tests":
        bad = []
        for t in sorted(t for t, s in first.items() if since < s <= k):
            r = run([os.path.join(build, "tests", binary[t]), "--filter", t, "--jobs", "1"], 300)
            if r.returncode != 0 or "Tested: 1 " not in r.stderr:
                bad.append(t)
        return None if not bad else "promised by now, still failing: " + ", ".join(bad)
    return f"unknown promise '{kind}'"


def cmd_check(phase, work):
    todo = steps(phase)
    listed = {n for _, names in todo for n in names}
    missing = todo_functions(phase) - listed
    if missing:
        fail(f"labs/phase{phase}/README.md's TODO table lacks {', '.join(sorted(missing))}")
    first, count = load_record(phase)
    if f"{count} tests pass" not in handout(phase).replace("\n", " "):
        fail(f"labs/phase{phase}/README.md does not say the starter's '{count} tests pass' (ladder record)")
    skipped = load_record.skipped
    if skipped and f"{skipped} are skipped" not in handout(phase).replace("\n", " "):
        fail(f"labs/phase{phase}/README.md does not say that the starter's '{skipped} are skipped' (ladder record)")
    _, got = run_check(phase, build_step(phase, [], work, 0), work)
    if got != count or skipped is not None and run_check.skipped != skipped:
        fail(f"the starter: {got} tests pass, {run_check.skipped} skipped; the record says {count}, {skipped}: "
             f"run ladder.py --phase {phase} --record")
    binary = run_check.binary
    print(f"step 0 (the starter): {got} tests pass" + (f", {skipped} skipped" if skipped else "")
          + ", as the handout says", flush=True)
    first_names = ", ".join(f"{n}()" for n in todo[0][1])
    if f"Next: TODO {todo[0][0]} of labs/phase{phase}/README.md, {first_names}" not in run_check.stdout:
        fail(f"make check on the starter does not name TODO {todo[0][0]} ({first_names}) as the next:\n"
             + run_check.stdout[-1500:])
    print(f"step 0: make check names TODO {todo[0][0]}, {first_names}, as the next", flush=True)
    promises = load_promises(phase)
    filled, since = [], 0
    for k, names in todo:
        filled += names
        if k not in promises:
            continue
        build = build_targets(phase, build_step(phase, filled, work, k), work, set(binary.values()))
        for kind, args in promises[k]:
            why = promise(phase, k, kind, args, build, first, binary, since)
            if why:
                fail(f"step {k} (after {', '.join(names)}): {kind} {' '.join(args)}: {why}")
            print(f"step {k}: {kind} {' '.join(args)}: holds", flush=True)
            if kind == "tests":
                since = k


def main():
    ap = argparse.ArgumentParser(description="Build and check the handout's start path.")
    ap.add_argument("--phase", type=int, required=True)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--record", action="store_true")
    g.add_argument("--check", action="store_true")
    g.add_argument("--steps", action="store_true")
    ap.add_argument("--work", default="")
    ap.add_argument("--build", default="", help="build folder to reuse (default: one in the temporary folder)")
    args = ap.parse_args()
    if args.steps:
        for k, names in steps(args.phase):
            print(f"{k}\t{', '.join(names)}")
        return 0
    if args.work:
        os.makedirs(args.work, exist_ok=True)  # run alone (ctest -R), before the grader tests that share it
    work = tempfile.mkdtemp(prefix=f"msgroute-ladder{args.phase}-", dir=args.work or None)
    BUILD["dir"] = os.path.abspath(args.build) if args.build else os.path.join(work, "build")
    try:
        (cmd_record if args.record else cmd_check)(args.phase, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("PASS: ladder")
    return 0


if __name__ == "__main__":
    sys.exit(main())
