#!/usr/bin/env python3
"""handout - writes the student's tree as a tarball: this repository's
tracked files without solutions/ and without anything that reveals them.
Python 3 standard library only; `make handout` runs it.

    handout.py [--out FILE]          write the tarball (default build/msgroute-handout.tar.gz)
    handout.py --verify FILE         only run the leak check on an existing tarball

What is left out:
  - solutions/ (the reference lesson files and ANSWERS.md) and .git;
  - every phase that has no lab yet (no labs/phaseN/): its code in
    phases/phaseN/ and its tests in tests/phaseN/ are the reference of a lab
    still to come.

The leak check then reads every file of the tarball and fails when text of a
LAB region of the solutions survives in it: any distinctive line (40 or more
characters without blanks) or any two consecutive region lines of 20 or more
characters, compared with blanks stripped. A test file or a document that
quoted reference code would be caught the same way. Lines that the fixed
code under phases/ (the shared core, each phase's main.c) or the starter
files in labs/ also contain are idioms the student already has, e.g. the setup of a struct sigaction, and
do not count.
"""
import argparse
import io
import json
import os
import re
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOP = "msgroute"  # the folder the tarball unpacks into


def tracked_files():
    """Paths of the tracked files that exist in the working tree."""
    try:
        out = subprocess.run(["git", "-C", ROOT, "ls-files", "-z"], capture_output=True, check=True).stdout
        files = [f for f in out.decode().split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for dirpath, dirs, names in os.walk(ROOT):
            dirs[:] = [d for d in dirs if not (d.startswith(("build", ".git", "results")))]
            files += [os.path.relpath(os.path.join(dirpath, n), ROOT) for n in names]
    return sorted(f for f in files if os.path.isfile(os.path.join(ROOT, f)))


def left_out(path):
    parts = path.split("/")
    if parts[0] in ("solutions", ".git") or path in ("grade.json",):
        return True
    m = re.match(r"^(phases|tests)/phase(\d+)(/|$)", path)
    if m and not os.path.isdir(os.path.join(ROOT, "labs", f"phase{m.group(2)}")):
        return True
    return False


def squash(line):
    return re.sub(r"\s+", "", line)


def region_fingerprints():
    """(single lines, pairs of lines) that only the solutions contain."""
    out = subprocess.run([sys.executable, os.path.join(HERE, "labgen.py"), "--regions", "--root", ROOT],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"handout: labgen.py --regions failed: {out.stderr.strip()}")
    singles, pairs = set(), set()
    for region in json.loads(out.stdout):
        lines = [squash(l) for l in region["body"]]
        lines = [l for l in lines if len(l) >= 20]
        singles.update(l for l in lines if len(l) >= 40)
        pairs.update(zip(lines, lines[1:]))
    public = set()
    for f in tracked_files():
        # The starter files' own fixed text (outside the regions) is given
        # to the student by definition; a region line that repeats it, e.g.
        # the same error report in two functions, reveals nothing.
        if f.startswith(("phases/", "labs/")) and f.endswith((".c", ".h")):
            with open(os.path.join(ROOT, f), encoding="utf-8", errors="replace") as fh:
                public.update(squash(l) for l in fh)
    singles -= public
    pairs = {(a, b) for a, b in pairs if not (a in public and b in public)}
    return singles, pairs


def leaks_in(name, text, singles, pairs):
    lines = [squash(l) for l in text.splitlines()]
    lines = [l for l in lines if len(l) >= 20]
    found = [l for l in lines if l in singles]
    found += [f"{a} / {b}" for a, b in zip(lines, lines[1:]) if (a, b) in pairs]
    return [f"{name}: {f[:100]}" for f in found]


def verify(tarball, label=None):
    singles, pairs = region_fingerprints()
    leaks = []
    with tarfile.open(tarball) as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            if member.name.split("/")[1:2] == ["solutions"]:
                leaks.append(f"{member.name}: solutions/ is in the handout")
                continue
            data = tar.extractfile(member).read()
            if b"\0" in data:
                continue
            leaks += leaks_in(member.name, data.decode("utf-8", "replace"), singles, pairs)
    for leak in leaks:
        print(f"handout: solution text in {leak}", file=sys.stderr)
    if leaks:
        return 1
    print(f"handout: {label or tarball}: no solution text ({len(singles)} lines and {len(pairs)} line pairs checked)")
    return 0


def main():
    ap = argparse.ArgumentParser(description="Write the student's tree (no solutions/) as a tarball.")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "msgroute-handout.tar.gz"))
    ap.add_argument("--verify", metavar="FILE", help="only check FILE for solution text")
    args = ap.parse_args()
    if args.verify:
        return verify(args.verify)
    if not os.path.isdir(os.path.join(ROOT, "solutions")):
        print("handout: no solutions/ here: this already is a student's tree", file=sys.stderr)
        return 2
    check = subprocess.run([sys.executable, os.path.join(HERE, "labgen.py"), "--check", "--root", ROOT])
    if check.returncode != 0:
        print("handout: labs/ is stale: run 'make labs' first", file=sys.stderr)
        return 1
    files = [f for f in tracked_files() if not left_out(f)]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with tarfile.open(tmp, "w:gz") as tar:
        for f in files:
            info = tar.gettarinfo(os.path.join(ROOT, f), arcname=f"{TOP}/{f}")
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with open(os.path.join(ROOT, f), "rb") as fh:
                tar.addfile(info, io.BytesIO(fh.read()) if info.isfile() else None)
    if verify(tmp, label=args.out) != 0:
        os.remove(tmp)
        print("handout: not written: remove the solution text above first", file=sys.stderr)
        return 1
    os.replace(tmp, args.out)
    withheld = sorted({m.group(0) for f in tracked_files() if (m := re.match(r"^phases/phase\d+", f))
                       and left_out(f)})
    print(f"handout: wrote {args.out} ({len(files)} files; unpacks into {TOP}/)")
    if withheld:
        print("handout: withheld until their lab exists: " + ", ".join(withheld))
    return 0


if __name__ == "__main__":
    sys.exit(main())
