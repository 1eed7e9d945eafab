#!/usr/bin/env python3
"""package - writes the zip a course uploads to Gradescope as the
autograder: setup.sh and run_autograder at its root (Gradescope looks for
them there), the instructor's tree (git's tracked files, solutions
included) as msgroute/, and, with --phase N, a file PHASE that makes the
assignment grade phase N only. Python 3 standard library only.

    package.py --out FILE [--phase N]
"""
import argparse
import os
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))


def main():
    ap = argparse.ArgumentParser(description="Write the Gradescope autograder zip.")
    ap.add_argument("--out", required=True)
    ap.add_argument("--phase", type=int, default=0)
    args = ap.parse_args()
    files = subprocess.run(["git", "-C", ROOT, "ls-files", "-z"], capture_output=True, check=True).stdout
    files = [f for f in files.decode().split("\0") if f and os.path.isfile(os.path.join(ROOT, f))]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with zipfile.ZipFile(args.out + ".tmp", "w", zipfile.ZIP_DEFLATED) as z:
        for name in ("setup.sh", "run_autograder"):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16  # both must stay executable
            with open(os.path.join(HERE, name), "rb") as f:
                z.writestr(info, f.read())
        for f in files:
            z.write(os.path.join(ROOT, f), f"msgroute/{f}")
        if args.phase:
            z.writestr("PHASE", f"{args.phase}\n")
    os.replace(args.out + ".tmp", args.out)
    print(f"package: wrote {args.out} ({len(files)} files of the tree" +
          (f"; grades phase {args.phase} only)" if args.phase else "; grades every phase)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
