#!/usr/bin/python3
"""check_verify.py - bench/verify against a results folder built here (no
measuring): a folder as its manifest lists it passes with exit 0; one
changed byte, a removed file and an added file each fail it with a
non-zero exit and a line naming the file; a folder without a manifest is
refused with exit 2; re-rendering renews only the entries of the files it
drew. The folders are removed at the end."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.dont_write_bytecode = True
from harness import manifest  # noqa: E402

VERIFY = os.path.join(ROOT, "bench", "verify")
ATTRS = dict(commit="abc1234", commit_dirty=0, date="2026-01-02T03:04:05+00:00", mode="smoke", cpu_model="Test CPU",
             cpu_count=2, kernel="6.1.0", arch="x86_64", hostname="h", loadavg_start="0.10 0.20 0.30")
failures = 0


def check(name, ok, why=""):
    global failures
    print("ok %s" % name if ok else "FAIL %s: %s" % (name, why), flush=True)
    if not ok:
        failures += 1


def results_folder(parent):
    """A small results folder: two CSVs, a binary file, a subfolder, then
    the manifest, written last as bench/run does."""
    d = os.path.join(parent, "run")
    os.makedirs(os.path.join(d, "sub"))
    files = {"exp1_scaling.csv": b"series,msgs_per_s_median\nphase1,1000\n", "exp2_ipc.csv": b"transport\ncall\n",
             "bench.h5": bytes(range(256)) * 8, "sub/notes.txt": b"kept\n"}
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    manifest.write(d, ATTRS, "bench/run --mode smoke")
    return d


def verify(d):
    return subprocess.run(["/usr/bin/python3", VERIFY, d], capture_output=True, text=True, timeout=30)


def flip_one_byte(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 1]))


def main():
    with tempfile.TemporaryDirectory(prefix="msgroute-bench-verify-") as tmp:
        d = results_folder(tmp)
        with open(os.path.join(d, manifest.NAME)) as f:
            m = json.load(f)
        check("manifest_has_the_run_fields", all(k in m for k in ("commit", "date", "machine", "command", "mode")),
              sorted(m))
        check("manifest_has_the_machine", m["machine"].get("cpu_model") == "Test CPU" and m["machine"].get("cores") == 2
              and m["machine"].get("kernel") == "6.1.0" and m["machine"].get("load_at_start") == "0.10 0.20 0.30",
              m["machine"])
        paths = [e["path"] for e in m["files"]]
        check("manifest_lists_every_file_but_itself",
              paths == ["bench.h5", "exp1_scaling.csv", "exp2_ipc.csv", "sub/notes.txt"], paths)
        e = next(e for e in m["files"] if e["path"] == "bench.h5")
        check("manifest_has_bytes_and_sha256", e["bytes"] == 2048 and len(e["sha256"]) == 64, e)

        r = verify(d)
        check("an_unaltered_folder_verifies_with_exit_0", r.returncode == 0, "exit %d: %s" % (r.returncode, r.stdout))

        flip_one_byte(os.path.join(d, "bench.h5"), 1000)
        r = verify(d)
        check("one_changed_byte_fails_and_names_the_file",
              r.returncode == 1 and r.stdout.strip() == "changed: bench.h5 (same size, different sha256)",
              "exit %d: %r" % (r.returncode, r.stdout))
        flip_one_byte(os.path.join(d, "bench.h5"), 1000)

        with open(os.path.join(d, "exp2_ipc.csv"), "ab") as f:
            f.write(b"pipe\n")
        os.remove(os.path.join(d, "sub", "notes.txt"))
        with open(os.path.join(d, "extra.png"), "wb") as f:
            f.write(b"x")
        r = verify(d)
        lines = sorted(r.stdout.splitlines())
        want = ["added: extra.png", "changed: exp2_ipc.csv (20 bytes, the manifest says 15)", "missing: sub/notes.txt"]
        check("a_changed_a_missing_and_an_added_file_each_get_a_line", r.returncode == 1 and lines == want,
              "exit %d: %r" % (r.returncode, lines))

        # `make plots` redraws some files and rewrites the manifest: only the
        # files it drew get new entries; the edited CSV stays caught.
        flip_one_byte(os.path.join(d, "bench.h5"), 10)
        manifest.rewrite(d, ATTRS, "bench/run --plots-only run", {"bench.h5"})
        r = verify(d)
        lines = sorted(r.stdout.splitlines())
        check("rerendering_renews_only_the_files_it_drew", r.returncode == 1 and lines == want,
              "exit %d: %r" % (r.returncode, lines))
        with open(os.path.join(d, manifest.NAME)) as f:
            check("rerendering_is_recorded", "rendered_again" in json.load(f))

        os.remove(os.path.join(d, manifest.NAME))
        r = verify(d)
        check("a_folder_without_a_manifest_is_refused_with_exit_2", r.returncode == 2 and "manifest.json" in r.stderr,
              "exit %d: %r" % (r.returncode, r.stderr))
        shutil.rmtree(d)
    print("%d failure%s" % (failures, "" if failures == 1 else "s"))
    return min(failures, 100)


if __name__ == "__main__":
    sys.exit(main())
