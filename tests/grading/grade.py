#!/usr/bin/env python3
"""grade - scores a tree's lab code with the graded tests, or shows a
student which tests pass. Python 3 standard library only; the Makefile
drives it (`make grade`, `make check`), see tests/grading/README.md.

    grade.py --build DIR [--ref-build DIR] [--impl labs|solutions]
             [--impl-dir DIR] [--phase N] [--json FILE] [--out DIR]
             [--repeat N] [--check]

1. Builds the code under test into --build (the phase programs, msgen and
   the test binaries points.tsv names), configuring it for --impl (or the
   lesson files in --impl-dir) when its CMake cache says otherwise. A phase
   whose program does not compile scores 0 and the grade goes on.
2. Builds the reference (solutions/) into --ref-build, when given, for the
   performance tests: they time the student's program against the
   reference's in the same run (MSGROUTE_REF_BIN) and score the ratio.
3. Runs every test binary once under Criterion, one test at a time (so the
   performance tests do not compete with each other), with --json for this
   script and --xml (JUnit, for autograders) into DIR/grade/junit/. Each
   test has its own timeout inside Criterion; a crash or hang fails that
   test only; a binary that overruns a global bound scores 0 for its tests.
4. Scores each row of points.tsv: the row's points times the share of the
   tests its pattern matches that passed. Prints the table (each failed
   row followed by the first line of its failure), whose last line is
   "total: X / Y"; writes grade.json (--json), and with --out DIR the
   autograder formats (grade_out.py): DIR/results.json (Gradescope),
   DIR/junit.xml (classnames, points, ungraded tests marked) and
   DIR/grade.json.

With --repeat N every test binary runs N times; a test whose result is not
the same in every run is marked UNSTABLE in the table and the reports, and
its row scores the mean of its runs: a graded test must give one result
whatever the machine's load.

With --check (the student's `make check`) it prints every test of the
phase with PASSED / FAILED / ... and the first failure message, then a
summary, and exits 1 unless every test passed or was skipped.
Exit status otherwise: 0 when a grade was produced, whatever the score;
2 when grading itself could not run (bad table, test binaries that do not
build).
"""
import argparse
import datetime
import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

import grade_out

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
POINTS = os.path.join(HERE, "points.tsv")
CATEGORIES = ["correctness", "conformance", "lifecycle", "performance"]
BINARY_DEADLINE = 900  # seconds for one test binary, every test included


def die(msg):
    print(f"grade: {msg}", file=sys.stderr)
    sys.exit(2)


def load_points(path):
    """Rows of the points table: phase, binary, pattern, category, points."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != 5:
                die(f"{path}:{n}: expected 5 tab-separated columns, got {len(cols)}")
            phase, binary, pattern, category, points = (c.strip() for c in cols)
            if not phase.isdigit():
                die(f"{path}:{n}: bad phase '{phase}'")
            if category not in CATEGORIES:
                die(f"{path}:{n}: category '{category}' is not one of {', '.join(CATEGORIES)}")
            try:
                pts = float(points)
            except ValueError:
                die(f"{path}:{n}: bad points '{points}'")
            rows.append(dict(phase=int(phase), binary=binary, pattern=pattern, category=category, points=pts))
    return rows


def cache_value(build, key):
    try:
        with open(os.path.join(build, "CMakeCache.txt"), encoding="utf-8") as f:
            for line in f:
                m = re.match(rf"^{re.escape(key)}:[A-Z]+=(.*)$", line.rstrip("\n"))
                if m:
                    return m.group(1)
    except FileNotFoundError:
        pass
    return None


def run_logged(cmd, log):
    """Runs cmd, its output appended to log; True when it succeeded."""
    with open(log, "a", encoding="utf-8") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        return subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode == 0


def tail(path, n=25):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except FileNotFoundError:
        return ""


def configure(build, impl, impl_dir, log, cmake_flags, force=False):
    """Configures build for impl unless its cache already says so (or force)."""
    if (not force and cache_value(build, "MSGROUTE_IMPL") == impl
            and (cache_value(build, "MSGROUTE_IMPL_DIR") or "") == (impl_dir or "")):
        return True
    os.makedirs(build, exist_ok=True)
    cmd = ["cmake", "-S", ROOT, "-B", build, f"-DMSGROUTE_IMPL={impl}", f"-DMSGROUTE_IMPL_DIR={impl_dir or ''}"]
    if not os.path.exists(os.path.join(build, "CMakeCache.txt")):
        cmd.append("-DCMAKE_BUILD_TYPE=RelWithDebInfo")
    return run_logged(cmd + cmake_flags, log)


def build_targets(build, targets, jobs, log):
    return run_logged(["cmake", "--build", build, "-j", str(jobs), "--target"] + targets, log)


def kill_session(sid):
    """SIGKILLs every process of session sid. A test starts each program it
    runs in a process group of its own (tests/support/proc.h), so killing
    the test binary's group would leave a hanging program of the student's
    running: the session holds them all."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid:  # state, ppid, pgrp, session
                os.kill(int(entry), signal.SIGKILL)
        except (OSError, IndexError, ValueError):
            pass  # gone meanwhile


def run_binary(path, outdir, env, deadline):
    """Runs one Criterion binary; {test id: (status, message)} or None."""
    name = os.path.basename(path)
    jpath = os.path.join(outdir, name + ".json")
    xpath = os.path.join(outdir, name + ".xml")
    for p in (jpath, xpath):
        if os.path.exists(p):
            os.remove(p)
    cmd = [path, "--jobs", "1", "--ascii", f"--json={jpath}", f"--xml={xpath}"]
    # The binary's temporary files go to a folder of its own, removed when it
    # is done: a test that Criterion kills at its timeout runs no cleanup, and
    # grading a student's hanging code must not litter /tmp.
    tmp = tempfile.mkdtemp(prefix=f"tmp-{name}-", dir=outdir)
    # A session of its own, so that on overrun (and after the binary) every
    # process it started, test processes and the programs they run, can be
    # found and killed.
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(env, TMPDIR=tmp), start_new_session=True, cwd=outdir)
    try:
        proc.wait(timeout=deadline)
    except subprocess.TimeoutExpired:
        kill_session(proc.pid)
        proc.wait()
        return None
    finally:
        # Whatever of the student's programs outlived its test goes too.
        kill_session(proc.pid)
        shutil.rmtree(tmp, ignore_errors=True)
    try:
        with open(jpath, encoding="utf-8") as f:
            report = json.load(f)
    except OSError:
        return None
    except ValueError:
        # Criterion 2.4 writes assertion messages into its JSON unescaped: a
        # message that quotes a JSON summary makes the whole report invalid.
        # Its JUnit XML is escaped properly, and says the same.
        return read_junit(xpath)
    results = {}
    for suite in report.get("test_suites", []):
        for t in suite.get("tests", []):
            # Criterion gives a message of several lines (one that quotes a
            # program's stderr) as several entries: they are one message.
            msgs = [m for m in t.get("messages", []) if m.strip()]
            results[f"{suite['name']}/{t['name']}"] = (t.get("status", "ERRORED"), "\n".join(msgs))
    return results


def read_junit(xpath):
    """{test id: (status, message)} from Criterion's JUnit XML, or None."""
    try:
        root = ET.parse(xpath).getroot()
    except (OSError, ET.ParseError):
        return None
    results = {}
    for suite in root.iter("testsuite"):
        for t in suite.iter("testcase"):
            msgs = [(c.text or "").strip() or c.get("message", "") for c in t]
            msgs = [m for m in msgs if m.strip()]
            results[f"{suite.get('name')}/{t.get('name')}"] = (t.get("status", "ERRORED"), msgs[0] if msgs else "")
    return results


def show(path):
    """path relative to the current folder when inside it, else absolute."""
    rel = os.path.relpath(path, os.getcwd())
    return path if rel.startswith("..") else rel


def fmt(x):
    return f"{x:g}" if x == int(x) else f"{x:.2f}"


def git_commit():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def main():
    ap = argparse.ArgumentParser(description="Score lab code with the graded tests (tests/grading/README.md).")
    ap.add_argument("--build", required=True, help="build folder of the code under test")
    ap.add_argument("--impl", default="labs", choices=["labs", "solutions"])
    ap.add_argument("--impl-dir", default="", help="lesson files from this folder instead (phaseN/ inside)")
    ap.add_argument("--ref-build", default="", help="build folder of the reference (solutions)")
    ap.add_argument("--phase", type=int, default=0, help="grade this phase only (default: every graded phase)")
    ap.add_argument("--json", default="", help="write the grade here (grade.json)")
    ap.add_argument("--out", default="", help="write results.json (Gradescope), junit.xml and grade.json here")
    ap.add_argument("--repeat", type=int, default=1, help="run every test N times and mark unstable results")
    ap.add_argument("--check", action="store_true", help="the student's view: what passes, what fails")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--cmake-flag", action="append", default=[], help="extra flag for a fresh configure")
    ap.add_argument("--points", default=POINTS)
    args = ap.parse_args()

    started = time.monotonic()
    build = os.path.abspath(args.build)
    impl_dir = os.path.abspath(args.impl_dir) if args.impl_dir else ""
    rows = load_points(args.points)
    have = sorted({r["phase"] for r in rows if os.path.exists(os.path.join(ROOT, "phases", f"phase{r['phase']}",
                                                                           "CMakeLists.txt"))})
    if args.phase:
        if args.phase not in {r["phase"] for r in rows}:
            die(f"phase {args.phase} has no graded tests yet (none in {os.path.relpath(args.points, ROOT)})")
        phases = [args.phase]
    else:
        phases = have
    if not phases:
        die("no phase has graded tests")
    rows = [r for r in rows if r["phase"] in phases]
    binaries = sorted({r["binary"] for r in rows})

    os.makedirs(build, exist_ok=True)
    outdir = os.path.join(build, "grade")
    junit = os.path.join(outdir, "junit")
    os.makedirs(junit, exist_ok=True)
    log = os.path.join(outdir, "build.log")
    open(log, "w").close()
    what = impl_dir or f"{args.impl}/"
    print(f"grade: building {what} into {show(build)} (log: {show(log)})",
          flush=True)
    if not configure(build, args.impl, impl_dir, log, args.cmake_flag):
        print(tail(log), file=sys.stderr)
        die("cmake could not configure the tree (see above)")

    broken = set()
    for p in phases:
        if not build_targets(build, [f"phase{p}"], args.jobs, log):
            broken.add(p)
            print(f"grade: phase {p} does not build: its tests score 0. The compiler said:", file=sys.stderr)
            print(tail(log), file=sys.stderr)
    if not build_targets(build, ["msgen"] + binaries, args.jobs, log):
        # A build folder configured before a phase's graded_phaseN.c existed
        # has no target for it (CMake looks for those files when it
        # configures): configure once more and retry before giving up.
        if not (configure(build, args.impl, impl_dir, log, args.cmake_flag, force=True)
                and build_targets(build, ["msgen"] + binaries, args.jobs, log)):
            print(tail(log), file=sys.stderr)
            die("the test binaries do not build (see above): that is not the student's code")

    env = dict(os.environ)
    env.pop("MSGROUTE_REF_BIN", None)
    ref = os.path.abspath(args.ref_build) if args.ref_build else ""
    if ref and not args.check:
        if ref != build or args.impl != "solutions" or impl_dir:
            rlog = os.path.join(outdir, "reference-build.log")
            open(rlog, "w").close()
            print(f"grade: building the reference into {show(ref)}", flush=True)
            if not build_reference(ref, phases, rlog, args):
                print(tail(rlog), file=sys.stderr)
                die("the reference does not build")
        env["MSGROUTE_REF_BIN"] = os.path.join(ref, "bin")

    runs = []
    for k in range(max(1, args.repeat)):
        runs.append(run_all(binaries, build, junit, env, k, args.repeat))
    results = runs[0]

    if args.check:
        return check_report(phases, binaries, results, broken, started)
    return grade_report(args, phases, rows, runs, broken, junit, started)


def run_all(binaries, build, junit, env, k, repeat):
    """{binary: {test id: (status, message)}} of one run of every binary."""
    results = {}
    for b in binaries:
        print(f"grade: running {b}" + (f" (run {k + 1} of {repeat})" if repeat > 1 else ""), flush=True)
        path = os.path.join(build, "tests", b)
        got = run_binary(path, junit, env, BINARY_DEADLINE) if os.path.exists(path) else None
        results[b] = got if got is not None else {}
        if got is None:
            print(f"grade: {b} gave no report (crashed or overran {BINARY_DEADLINE} s): its tests score 0",
                  file=sys.stderr)
    return results


def build_reference(ref, phases, log, args):
    """Configures and builds the reference under an exclusive lock: two
    students graded at once share it, and two CMake builds of one folder
    at once would trip over each other."""
    import fcntl
    os.makedirs(ref, exist_ok=True)
    with open(os.path.join(ref, ".grade-lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return (configure(ref, "solutions", "", log, args.cmake_flag)
                and build_targets(ref, [f"phase{p}" for p in phases], args.jobs, log))


def check_report(phases, binaries, results, broken, started):
    counts = {}
    print()
    for b in binaries:
        for test, (status, msg) in sorted(results[b].items()):
            counts[status] = counts.get(status, 0) + 1
            line = f"  {status:<8} {b}: {test}"
            if status != "PASSED" and msg:
                line += f"\n           {msg.strip()[:300]}"
            print(line)
    for p in sorted(broken):
        print(f"  phase {p} does not compile: fix the errors above first")
    total = sum(counts.values())
    passed = counts.get("PASSED", 0)
    skipped = counts.get("SKIPPED", 0)
    print(f"\n{passed} of {total} tests pass" + (f", {skipped} skipped" if skipped else "")
          + f" ({time.monotonic() - started:.0f} s).")
    if passed + skipped < total or broken:
        for p in phases:
            print(next_todo(p, results))
        return 1
    print("Every test passes. Now run the handout's experiments and answer its questions.")
    return 0


def score_row(r, runs, broken):
    """One row of points.tsv scored over every run: its share of points (the
    mean over the runs), status and failure message (of the first run), and
    the tests it matches whose result was not the same in every run."""
    if r["phase"] in broken:
        return 0.0, "NO BUILD", "the phase does not compile", []
    matches = [{t: v for t, v in got.get(r["binary"], {}).items() if fnmatch.fnmatchcase(t, r["pattern"])}
               for got in runs]
    shares = [sum(1 for s, _ in m.values() if s == "PASSED") / len(m) if m else 0.0 for m in matches]
    ids = set().union(*matches)
    changed = sorted(t for t in ids if len({m.get(t, ("MISSING", ""))[0] for m in matches}) > 1)
    first = matches[0]
    if not first:
        status, msg = "MISSING", "no test result (crash of the whole binary, or no such test)"
    else:
        bad = [(t, s, m) for t, (s, m) in sorted(first.items()) if s != "PASSED"]
        npass = len(first) - len(bad)
        status = "PASSED" if not bad else (bad[0][1] if len(first) == 1 else f"{npass}/{len(first)}")
        msg = bad[0][2] if bad else ""
    if changed:
        msg = f"changed result across {len(runs)} runs: {', '.join(changed)}" + (f"; first failure: {msg}" if msg
                                                                                 else "")
        status = "UNSTABLE"
    return sum(shares) / len(shares), status, msg, changed


def print_table(scored, cats, total, maxi):
    width = max(len(s["test"]) for s in scored)
    print()
    print(f"{'phase':<6}{'category':<13}{'test':<{width + 2}}{'result':<10}points")
    for s in scored:
        print(f"{s['phase']:<6}{s['category']:<13}{s['test']:<{width + 2}}{s['status']:<10}"
              f"{fmt(s['points'])} / {fmt(s['max'])}")
        if s["status"] != "PASSED" and s["message"]:
            print(f"{'':<19}{grade_out.first_line(s['message'])[:160]}")
    print()
    for (p, c), (got, mx) in sorted(cats.items(), key=lambda kv: (kv[0][0], CATEGORIES.index(kv[0][1]))):
        print(f"phase {p} {c:<13} {fmt(round(got, 2))} / {fmt(mx)}")
    print(f"total: {fmt(total)} / {fmt(maxi)}")


def next_todo(phase, results):
    """Where the student goes next, in the handout's order. The ladder's
    record (tests/grading/ladder.py) says after which TODO each test first
    passes: the student has reached the last step whose tests all pass, the
    next TODO follows it, and the failing tests of the next step that has
    any are what it (with the TODOs up to that step) makes pass."""
    handout = f"labs/phase{phase}/README.md"
    failing = {t for got in results.values() for t, (s, _) in got.items() if s not in ("PASSED", "SKIPPED")}
    try:
        import ladder
        first, _ = ladder.load_record(phase)
        names = dict(ladder.steps(phase))
    except (OSError, ValueError):
        first, names = {}, {}
    marks = sorted(set(first.values()))
    reached = max([m for m in marks if not any(first[t] <= m for t in failing if t in first)], default=0)
    later = [m for m in marks if m > reached]
    if not failing & first.keys() or not later or reached + 1 not in names:
        return ("Start with the first failing test: its name says what it checks, and "
                f"{handout} says what to write.")
    k, target = reached + 1, later[0]
    tests = sorted(t for t in failing if first.get(t) == target)
    head = f"Next: TODO {k} of {handout}, " + ", ".join(f"{n}()" for n in names[k])
    head += (f"; TODOs {k} to {target} together make these pass" if target > k else "; it makes these pass")
    return head + f" ({len(tests)}):\n" + "\n".join(f"  {t}" for t in tests)


def grade_report(args, phases, rows, runs, broken, junit, started):
    scored = []
    for r in rows:
        share, status, msg, changed = score_row(r, runs, broken)
        scored.append(dict(phase=r["phase"], binary=r["binary"], test=r["pattern"], category=r["category"],
                           points=round(r["points"] * share, 2), max=r["points"], status=status, message=msg,
                           unstable=", ".join(changed), runs=len(runs)))

    total = round(sum(s["points"] for s in scored), 2)
    maxi = round(sum(s["max"] for s in scored), 2)
    cats = {}
    for s in scored:
        key = (s["phase"], s["category"])
        got, mx = cats.get(key, (0.0, 0.0))
        cats[key] = (got + s["points"], mx + s["max"])
    print_table(scored, cats, total, maxi)
    unstable = [s["test"] for s in scored if s["unstable"]]
    if unstable:
        print(f"grade: {len(unstable)} row(s) UNSTABLE across {len(runs)} runs: " + ", ".join(unstable),
              file=sys.stderr)

    seconds = time.monotonic() - started
    doc = {
        "total": total, "max": maxi,
        "impl": args.impl_dir or args.impl, "phases": phases,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": git_commit(), "seconds": round(seconds, 1), "runs": len(runs),
        "reference": bool(args.ref_build),
        "categories": [{"phase": p, "category": c, "points": round(g, 2), "max": m}
                       for (p, c), (g, m) in sorted(cats.items())],
        "tests": scored,
        "junit": sorted(os.path.join(junit, f) for f in os.listdir(junit) if f.endswith(".xml")),
    }
    if args.json:
        grade_out.write_json(args.json, doc)
    if args.out:
        write_outputs(args.out, doc, scored, runs[0], rows, seconds)
    return 0


def write_outputs(out, doc, scored, results, rows, seconds):
    """OUT/grade.json, OUT/results.json (Gradescope), OUT/junit.xml."""
    os.makedirs(out, exist_ok=True)
    grade_out.write_json(os.path.join(out, "grade.json"), doc)
    grade_out.write_json(os.path.join(out, "results.json"), grade_out.gradescope(scored, seconds))
    phase_of = {r["binary"]: r["phase"] for r in rows}
    graded = {(r["binary"], t) for r in rows for t in results.get(r["binary"], {})
              if fnmatch.fnmatchcase(t, r["pattern"])}
    grade_out.write_xml(os.path.join(out, "junit.xml"), grade_out.junit(scored, results, phase_of, graded))
    print(f"grade: wrote {show(os.path.join(out, 'results.json'))} (Gradescope), junit.xml and grade.json")


if __name__ == "__main__":
    sys.exit(main())
