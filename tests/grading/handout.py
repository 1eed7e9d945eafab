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

The leak check then reads every file of the tarball, the handouts
included, and fails when a LAB region of the solutions survives in it, two
ways:
  - text: any distinctive line (40 or more characters without blanks) or any
    two consecutive region lines of 20 or more characters, compared with
    blanks stripped; lines that the fixed code under phases/ or the starter
    files in labs/ also contain do not count;
  - token shape (shapes.py): any run of shapes.WINDOW tokens of a region,
    identifiers (but the names of called functions), numbers and strings
    abstracted, so that a copy with its variables renamed still matches. Only the starter files' own shapes are
    given; code under phases/ is not excused: a body that is a lesson in
    one phase and given in another gives the answer away.
known_leaks.tsv lists the shape leaks that the tree still holds (file and
region; each is work to do: move the shared body to phases/common, or
rewrite the given copy so that it teaches nothing of the answer). A leak
not in it fails the check, and so does a line of it that no longer leaks,
so the list only shrinks.
"""
import argparse
import io
import json
import os
import re
import subprocess
import sys
import tarfile

import shapes

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


def region_shapes():
    """{shape: "phaseN/FILE.c:function"} of every region, less the shapes of
    the starter files (their fixed text is given by definition)."""
    out = subprocess.run([sys.executable, os.path.join(HERE, "labgen.py"), "--regions", "--root", ROOT],
                         capture_output=True, text=True)
    found = {}
    for region in json.loads(out.stdout):
        for w in shapes.windows(shapes.tokens("".join(region["body"]))):
            found.setdefault(w, f"{region['file']}:{region['func']}")
    for f in tracked_files():
        if f.startswith("labs/") and f.endswith((".c", ".h")):
            with open(os.path.join(ROOT, f), encoding="utf-8", errors="replace") as fh:
                for w in shapes.windows(shapes.tokens(fh.read())):
                    found.pop(w, None)
    return found


def known_leaks():
    """{(file, region)} of known_leaks.tsv."""
    known = set()
    with open(os.path.join(HERE, "known_leaks.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                path, region = line.rstrip("\n").split("\t")[:2]
                known.add((path, region))
    return known


def shape_leaks(members, secret):
    """{(file, region): windows} of every file whose tokens hold a region's shape."""
    hits = {}
    for name, text in members:
        for w in shapes.windows(shapes.tokens(text)) & secret.keys():
            key = (name.split("/", 1)[1], secret[w])
            hits[key] = hits.get(key, 0) + 1
    return hits


def leaks_in(name, text, singles, pairs):
    lines = [squash(l) for l in text.splitlines()]
    lines = [l for l in lines if len(l) >= 20]
    found = [l for l in lines if l in singles]
    found += [f"{a} / {b}" for a, b in zip(lines, lines[1:]) if (a, b) in pairs]
    return [f"{name}: {f[:100]}" for f in found]


def verify(tarball, label=None):
    singles, pairs = region_fingerprints()
    leaks, members = [], []
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
            text = data.decode("utf-8", "replace")
            members.append((member.name, text))
            leaks += leaks_in(member.name, text, singles, pairs)
    secret = region_shapes()
    hits = shape_leaks(members, secret)
    known = known_leaks()
    for (path, region), n in sorted(hits.items()):
        if (path, region) not in known:
            leaks.append(f"{TOP}/{path}: {n} token shape(s) of {region} (variables renamed or not)")
    for path, region in sorted(known - hits.keys()):
        leaks.append(f"known_leaks.tsv: {path} no longer holds {region}: remove that line")
    for leak in leaks:
        print(f"handout: solution text in {leak}", file=sys.stderr)
    if leaks:
        return 1
    print(f"handout: {label or tarball}: no solution text ({len(singles)} lines, {len(pairs)} line pairs and "
          f"{len(secret)} token shapes checked; {len(known)} known leaks in known_leaks.tsv)")
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
