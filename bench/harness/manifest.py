"""manifest.py - manifest.json, the last file a run writes: who measured
what, where, and every other file of the results folder with its size and
sha256, so that a reader months later can tell whether the folder is
complete and unaltered (`make bench-verify`). It proves integrity, not
authorship: anyone who edits a file can rewrite the manifest too."""

import datetime
import hashlib
import json
import os

NAME = "manifest.json"
VERSION = 1


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def listing(out_dir):
    """Every file under out_dir but the manifest, as sorted relative paths."""
    paths = []
    for top, dirs, files in os.walk(out_dir):
        dirs.sort()
        for name in files:
            rel = os.path.relpath(os.path.join(top, name), out_dir)
            if rel != NAME:
                paths.append(rel)
    return sorted(paths)


def file_entries(out_dir):
    return [dict(path=p, bytes=os.path.getsize(os.path.join(out_dir, p)), sha256=sha256_of(os.path.join(out_dir, p)))
            for p in listing(out_dir)]


def write(out_dir, attrs, command):
    """Writes out_dir/manifest.json from the run's attributes (bench.h5's
    root attributes, the same as machine.json) and the command line."""
    m = dict(manifest=VERSION, commit=attrs.get("commit"), commit_dirty=attrs.get("commit_dirty"),
             date=attrs.get("date"),
             machine=dict(cpu_model=attrs.get("cpu_model"), cores=attrs.get("cpu_count"), kernel=attrs.get("kernel"),
                          arch=attrs.get("arch"), hostname=attrs.get("hostname"),
                          load_at_start=attrs.get("loadavg_start")),
             command=command, mode=attrs.get("mode"))
    save(out_dir, m)


def rewrite(out_dir, attrs, command, rewritten):
    """After `make plots` re-rendered a folder: the measurement's fields
    stay and the re-rendering is recorded. Only the files it wrote
    (rewritten: relative paths) get new entries; every other entry is kept
    as the run wrote it, so that re-rendering cannot bless a CSV edited
    since, and a file someone added stays unlisted."""
    try:
        m = load(out_dir)
    except (OSError, ValueError):
        return write(out_dir, attrs, command)
    m["rendered_again"] = dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(), command=command)
    kept = [e for e in m["files"] if e.get("path") not in rewritten]
    new = [e for e in file_entries(out_dir) if e["path"] in rewritten]
    save(out_dir, m, sorted(kept + new, key=lambda e: e["path"]))


def save(out_dir, m, files=None):
    m["files"] = files if files is not None else file_entries(out_dir)
    tmp = os.path.join(out_dir, NAME + ".tmp")
    with open(tmp, "w") as f:
        json.dump(m, f, indent=1)
        f.write("\n")
    os.replace(tmp, os.path.join(out_dir, NAME))


def load(out_dir):
    with open(os.path.join(out_dir, NAME)) as f:
        m = json.load(f)
    if not isinstance(m, dict) or not isinstance(m.get("files"), list):
        raise ValueError("%s: no files[] list" % NAME)
    return m


def verify(out_dir):
    """One line per file that changed, is missing or was added since the
    manifest was written; an empty list when the folder is as written.
    Raises OSError or ValueError when there is no readable manifest."""
    m = load(out_dir)
    problems = []
    listed = set()
    for e in m["files"]:
        p = e["path"]
        listed.add(p)
        full = os.path.join(out_dir, p)
        if not os.path.isfile(full):
            problems.append("missing: %s" % p)
            continue
        size = os.path.getsize(full)
        if size != e["bytes"]:
            problems.append("changed: %s (%d bytes, the manifest says %d)" % (p, size, e["bytes"]))
        elif sha256_of(full) != e["sha256"]:
            problems.append("changed: %s (same size, different sha256)" % p)
    for p in listing(out_dir):
        if p not in listed:
            problems.append("added: %s" % p)
    return problems
