#!/usr/bin/env python3
"""labgen - makes the student's starter code (labs/) from the reference
solutions (solutions/) by cutting out the marked regions, so the two never
drift apart. Python 3 standard library only.

Marker syntax, in a C file under solutions/phaseN/ (each marker on lines of
its own; the markers are comments, so the solution compiles as it is):

    /* LAB: what the student must do, not how. The comment may go on
     * over several lines; it ends at the first close-comment. */
    ... reference code: removed from the starter ...
    /* LAB STUB: (void)arg; return -1; */    (zero or more, anywhere in the region)
    /* END LAB */

In the starter, the LAB comment stays as a "TODO:" comment at the same
indentation, followed by the text of every LAB STUB line (uncommented), and
nothing else of the region. A stub is whatever makes the starter compile
without warnings and fail cleanly at run time: (void) the unused parameters
and static functions, return an error.

    labgen.py                      regenerate labs/ from solutions/
    labgen.py --check              exit 1 if labs/ differs from what would be generated
    labgen.py --list               the TODO list: file, function, instruction
    labgen.py --partial FUNC DIR   write to DIR/phaseN/ the solutions with only
                                   the regions inside function FUNC stubbed
                                   (the grader's "partly done" test)
    labgen.py --fill FUNC,... DIR  write to DIR/phaseN/ the starter with only
                                   the regions inside the functions named
                                   filled in (a student part-way through the
                                   handout's order: the ladder test)
    labgen.py --regions            every region's reference lines, as JSON
                                   (the handout's leak check reads them)

Only .c and .h files are generated; other files in labs/phaseN/ (the
handout README.md) are written by hand and left alone. Errors name
FILE:LINE and exit 2.
"""
import argparse
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE_EXT = (".c", ".h")

LAB_OPEN = re.compile(r"^(\s*)/\*\s*LAB:\s?(.*)$")
STUB = re.compile(r"^\s*/\*\s*LAB STUB:\s?(.*?)\s*\*/\s*$")
END = re.compile(r"^\s*/\*\s*END LAB\s*\*/\s*$")
# A function definition in this code base's style starts at column 0 with
# its return type and name on one line: "static int route_all(struct loop *l)".
FUNC = re.compile(r"^[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*\(")


class LabError(Exception):
    pass


def parse(path, lines):
    """Splits a file into fixed text and regions. Returns a list of items:
    ("text", line) or ("region", dict(indent, todo, stubs, body, func, line))."""
    items = []
    i = 0
    func = None
    while i < len(lines):
        line = lines[i]
        m = LAB_OPEN.match(line)
        if not m:
            if STUB.match(line) or END.match(line):
                raise LabError(f"{path}:{i + 1}: marker outside a LAB region")
            fm = FUNC.match(line)
            if fm and not line.startswith(("#", " ", "\t")) and not line.rstrip().endswith(";"):
                func = fm.group(1)
            items.append(("text", line))
            i += 1
            continue
        start = i
        indent = m.group(1)
        todo = [line]
        # The LAB comment may span several lines up to its "*/".
        while "*/" not in todo[-1]:
            i += 1
            if i >= len(lines):
                raise LabError(f"{path}:{start + 1}: LAB comment never closed")
            todo.append(lines[i])
        i += 1
        stubs, body = [], []
        while True:
            if i >= len(lines):
                raise LabError(f"{path}:{start + 1}: LAB region without END LAB")
            line = lines[i]
            if LAB_OPEN.match(line):
                raise LabError(f"{path}:{i + 1}: LAB region inside another (regions do not nest)")
            if END.match(line):
                i += 1
                break
            sm = STUB.match(line)
            if sm:
                stubs.append(sm.group(1))
            else:
                body.append(line)
            i += 1
        if not any(b.strip() for b in body):
            raise LabError(f"{path}:{start + 1}: empty LAB region")
        items.append(("region", dict(indent=indent, todo=todo, stubs=stubs, body=body, func=func,
                                     line=start + 1)))
    return items


def render(items, strip):
    """The file with the regions strip(region) says yes to cut out."""
    out = []
    for kind, val in items:
        if kind == "text":
            out.append(val)
        elif not strip(val):
            # Kept as in the solution, markers and all.
            out.extend(val["todo"])
            out.extend(f"{val['indent']}/* LAB STUB: {s} */\n" for s in val["stubs"])
            out.extend(val["body"])
            out.append(f"{val['indent']}/* END LAB */\n")
        else:
            todo = list(val["todo"])
            todo[0] = LAB_OPEN.sub(lambda m: f"{m.group(1)}/* TODO: {m.group(2)}", todo[0], count=1)
            out.extend(todo)
            out.extend(f"{val['indent']}{s}\n" for s in val["stubs"])
    return "".join(out)


def lesson_files(root):
    """(phase, relative path, absolute path) of every solution source file."""
    sol = os.path.join(root, "solutions")
    found = []
    if not os.path.isdir(sol):
        return found
    for phase in sorted(os.listdir(sol)):
        pdir = os.path.join(sol, phase)
        if not (phase.startswith("phase") and os.path.isdir(pdir)):
            continue
        for dirpath, _, files in os.walk(pdir):
            for f in sorted(files):
                if f.endswith(SOURCE_EXT):
                    full = os.path.join(dirpath, f)
                    found.append((phase, os.path.relpath(full, sol), full))
    return found


def read_items(full, root):
    with open(full, encoding="utf-8") as f:
        lines = f.readlines()
    return parse(os.path.relpath(full, root), lines)


def generate(root):
    """{path under labs/: text} for every lesson file."""
    out = {}
    for _, rel, full in lesson_files(root):
        out[rel] = render(read_items(full, root), lambda r: True)
    return out


def write_tree(root, dest, funcs, strip):
    """Writes every lesson file into dest with the regions strip() says yes
    to cut out; 2 when a name of funcs holds no region."""
    seen = set()
    for _, rel, full in lesson_files(root):
        items = read_items(full, root)
        seen |= {r["func"] for k, r in items if k == "region"}
        path = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(render(items, strip))
    missing = sorted(funcs - seen)
    if missing:
        print(f"labgen: no LAB region inside a function named {', '.join(missing)}", file=sys.stderr)
        return 2
    return 0


def main():
    ap = argparse.ArgumentParser(description="Generate labs/ (starter code) from solutions/.")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--check", action="store_true", help="fail if labs/ is stale")
    g.add_argument("--list", action="store_true", help="print the TODO list")
    g.add_argument("--partial", nargs=2, metavar=("FUNC", "DIR"),
                   help="write the solutions with only FUNC's regions stubbed into DIR")
    g.add_argument("--fill", nargs=2, metavar=("FUNCS", "DIR"),
                   help="write the starter with only the regions of FUNCS (comma-separated) filled into DIR")
    g.add_argument("--regions", action="store_true", help="every region's reference lines as JSON")
    ap.add_argument("--root", default=ROOT, help="the repository (default: this script's)")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    if not os.path.isdir(os.path.join(root, "solutions")):
        print("labgen: no solutions/ here: this is a student's tree, the starter code is already in labs/",
              file=sys.stderr)
        return 2
    try:
        if args.list:
            for _, rel, full in lesson_files(root):
                for kind, r in read_items(full, root):
                    if kind == "region":
                        text = " ".join(l.strip() for l in r["todo"])
                        text = re.sub(r"^/\*\s*LAB:\s*|\s*\*/$", "", text).replace(" * ", " ")
                        print(f"labs/{rel}: {r['func'] or '(file scope)'}: {text}")
            return 0
        if args.regions:
            regions = []
            for _, rel, full in lesson_files(root):
                for kind, r in read_items(full, root):
                    if kind == "region":
                        regions.append({"file": rel, "line": r["line"], "func": r["func"], "body": r["body"]})
            json.dump(regions, sys.stdout, indent=1)
            return 0
        if args.partial:
            func, dest = args.partial
            return write_tree(root, dest, {func}, lambda r: r["func"] == func)
        if args.fill:
            funcs, dest = args.fill
            names = {f for f in funcs.split(",") if f}
            return write_tree(root, dest, names, lambda r: r["func"] not in names)
        wanted = generate(root)
    except LabError as e:
        print(f"labgen: {e}", file=sys.stderr)
        return 2

    labs = os.path.join(root, "labs")
    stale = []
    for rel, text in wanted.items():
        path = os.path.join(labs, rel)
        try:
            with open(path, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current != text:
            stale.append(rel)
            if not args.check:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
    # A starter source file whose solution is gone would be compiled by
    # nobody and mislead the student.
    orphans = []
    for dirpath, _, files in os.walk(labs):
        for f in files:
            rel = os.path.relpath(os.path.join(dirpath, f), labs)
            if f.endswith(SOURCE_EXT) and rel not in wanted:
                orphans.append(rel)
    if args.check:
        for rel in stale:
            print(f"labgen: labs/{rel} is stale: run 'make labs' and commit it", file=sys.stderr)
        for rel in orphans:
            print(f"labgen: labs/{rel} has no solutions/{rel}: remove it", file=sys.stderr)
        if stale or orphans:
            return 1
        print(f"labgen: labs/ is up to date ({len(wanted)} files)")
        return 0
    for rel in stale:
        print(f"labgen: wrote labs/{rel}")
    for rel in orphans:
        print(f"labgen: warning: labs/{rel} has no solutions/{rel}", file=sys.stderr)
    if not stale:
        print(f"labgen: labs/ was up to date ({len(wanted)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
