#!/usr/bin/env python3
"""test_outputs - the autograder side of grading (CTest runs one case per
test; tests/grading/CMakeLists.txt). Python 3 standard library only.

    test_outputs.py CASE --work DIR --ref-build DIR [--werror]

  two_students  `make grade STUDENT=A` and `STUDENT=B` build in folders of
                their own, and two gradings at once (a complete phase 1 and
                one with run_queries stubbed) each get their own correct
                results.json, junit.xml and grade.json
  gradescope    tests/grading/gradescope/run_autograder, run against a fake
                /autograder root in a temporary folder with loose lesson
                files as the submission, writes a results.json that follows
                Gradescope's specification and agrees with the grade

Every temporary folder is removed on the way out.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PY = sys.executable
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def labgen_tree(dest, func):
    """A labs-like folder of phaseN/ lesson files: the solutions, with func's
    regions stubbed unless func is None."""
    if not func:
        shutil.copytree(os.path.join(ROOT, "solutions"), dest, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.md"))
        return dest
    cmd = [PY, os.path.join(HERE, "labgen.py"), "--partial", func, dest]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        fail(f"labgen.py --partial {func}: {r.stderr}")
    return dest


def grade_cmd(args, impl_dir, build, out, phase):
    cmd = [PY, os.path.join(HERE, "grade.py"), "--impl", "labs", "--impl-dir", impl_dir, "--build", build,
           "--ref-build", args.ref_build, "--jobs", "1", "--phase", str(phase), "--out", out]
    return cmd + (["--cmake-flag=-DMSGROUTE_WERROR=ON"] if args.werror else [])


def check_results(path, want_between=None):
    """Checks path against Gradescope's results.json format; the document."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if not isinstance(doc.get("score"), (int, float)) or not isinstance(doc.get("execution_time"), int):
        fail(f"{path}: score must be a number and execution_time whole seconds: {doc.get('score')!r}, "
             f"{doc.get('execution_time')!r}")
    tests = doc.get("tests")
    if not isinstance(tests, list) or not tests:
        fail(f"{path}: no tests[]")
    for t in tests:
        for key, kind in (("name", str), ("score", (int, float)), ("max_score", (int, float)), ("output", str),
                          ("visibility", str)):
            if not isinstance(t.get(key), kind):
                fail(f"{path}: test {t.get('name')!r} lacks {key} of the right type")
        if t["visibility"] not in VISIBILITY or not 0 <= t["score"] <= t["max_score"]:
            fail(f"{path}: test {t['name']!r}: bad visibility or score")
    if abs(sum(t["score"] for t in tests) - doc["score"]) > 0.01:
        fail(f"{path}: score {doc['score']} is not the sum of the tests' scores")
    return doc


def lost(doc):
    return [t["name"] for t in doc["tests"] if t["score"] < t["max_score"] and "performance" not in t["name"]]


def case_two_students(args):
    tmp = tempfile.mkdtemp(prefix="msgroute-students-", dir=args.work)
    try:
        # The Makefile gives each student a build folder of their own.
        folders = []
        for name in ("alice", "bob"):
            student = os.path.join(tmp, name)
            os.makedirs(os.path.join(student, "labs"))
            r = subprocess.run(["make", "-s", "-n", "-C", ROOT, "grade", f"STUDENT={student}", "PHASE=1"],
                               capture_output=True, text=True, timeout=60)
            words = r.stdout.split()
            folders += [words[i + 1] for i, w in enumerate(words[:-1]) if w == "--build"]
        if len(folders) != 2 or folders[0] == folders[1] or not all("build/student/" in f for f in folders):
            fail(f"make grade STUDENT=... does not give each student a build folder: {folders}")

        done = labgen_tree(os.path.join(tmp, "alice", "labs"), None)
        part = labgen_tree(os.path.join(tmp, "bob", "labs"), "run_queries")
        procs = []
        for name, impl in (("alice", done), ("bob", part)):
            out = os.path.join(tmp, name, "out")
            log = open(os.path.join(tmp, name + ".log"), "w")
            cmd = grade_cmd(args, impl, os.path.join(tmp, name, "build"), out, 1)
            procs.append((name, out, log, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)))
        for name, out, log, p in procs:
            p.wait(timeout=400)
            log.close()
            if p.returncode != 0:
                fail(f"grading {name} exited {p.returncode}:\n" + open(log.name).read()[-3000:])
        alice = check_results(os.path.join(tmp, "alice", "out", "results.json"))
        bob = check_results(os.path.join(tmp, "bob", "out", "results.json"))
        if lost(alice):
            fail(f"the complete phase 1, graded beside another, lost {lost(alice)}")
        if not any("quer" in n for n in lost(bob)):
            fail(f"the phase 1 without run_queries lost no query test: {lost(bob)}")
        for name in ("alice", "bob"):
            for f in ("junit.xml", "grade.json"):
                if not os.path.exists(os.path.join(tmp, name, "out", f)):
                    fail(f"{name}'s {f} is missing")
        print(f"alice {alice['score']}, bob {bob['score']}: graded at once, apart")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def case_gradescope(args):
    tmp = tempfile.mkdtemp(prefix="msgroute-gradescope-", dir=args.work)
    try:
        fake = os.path.join(tmp, "autograder")
        os.makedirs(os.path.join(fake, "source"))
        os.makedirs(os.path.join(fake, "submission"))
        with open(os.path.join(fake, "source", "PHASE"), "w") as f:
            f.write("1\n")
        # A submission as Gradescope stores an upload of loose files.
        part = labgen_tree(os.path.join(tmp, "partial"), "run_queries")
        shutil.copy(os.path.join(part, "phase1", "phase1.c"), os.path.join(fake, "submission", "phase1.c"))
        env = dict(os.environ, AUTOGRADER_ROOT=fake, MSGROUTE_TREE=ROOT, MSGROUTE_REF_BUILD=args.ref_build)
        script = os.path.join(HERE, "gradescope", "run_autograder")
        r = subprocess.run([script], cwd=fake, env=env, capture_output=True, text=True, timeout=400)
        print(r.stdout[-3000:], r.stderr[-2000:])
        if r.returncode != 0:
            fail(f"run_autograder exited {r.returncode}")
        doc = check_results(os.path.join(fake, "results", "results.json"))
        maxi = sum(t["max_score"] for t in doc["tests"])
        if not 0 < doc["score"] < maxi or not any("quer" in n for n in lost(doc)):
            fail(f"phase 1 without run_queries scored {doc['score']} / {maxi}, lost {lost(doc)}")
        # An empty submission still gets a results.json, saying why.
        os.remove(os.path.join(fake, "submission", "phase1.c"))
        r = subprocess.run([script], cwd=fake, env=env, capture_output=True, text=True, timeout=60)
        with open(os.path.join(fake, "results", "results.json"), encoding="utf-8") as f:
            empty = json.load(f)
        if r.returncode != 0 or empty["score"] != 0 or "No lesson file" not in empty.get("output", ""):
            fail(f"an empty submission gave {empty}")
        print(f"results.json: {doc['score']} / {maxi}, {len(doc['tests'])} tests")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=["two_students", "gradescope"])
    ap.add_argument("--work", default=tempfile.gettempdir())
    ap.add_argument("--ref-build", required=True)
    ap.add_argument("--werror", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    globals()[f"case_{args.case}"](args)
    print(f"PASS: {args.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
