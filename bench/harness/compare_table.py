"""compare_table.py - lays out compare.py's rows as text, like benchstat:
one table per metric with a geometric-mean row, then the geometric mean of
the changes per program and metric."""

from .compare import METRICS, geomean_change


def si(x):
    """4 significant digits with a k/M/G suffix: 27.56M, 113.3, 4.06k."""
    for div, suf in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return "%.4g%s" % (x / div, suf)
    return "%.4g" % x


def spread(vals, med):
    """Half the range over the repetitions, in percent of the median."""
    if len(vals) < 2 or not med:
        return ""
    return " ±%.0f%%" % (50.0 * (max(vals) - min(vals)) / abs(med))


def pct(x):
    """A change in percent; "-" when there is none (A's median was 0)."""
    return "%+.2f%%" % (100 * x) if x is not None and x == x else "-"


def grid(cells, right_from=2):
    """Columns padded to their widest cell; columns from right_from on are
    right-aligned (numbers), the last one left-aligned (the verdict)."""
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    lines = []
    for r in cells:
        out = []
        for i, c in enumerate(r):
            right = right_from <= i < len(r) - 1
            out.append(c.rjust(widths[i]) if right else c.ljust(widths[i]))
        lines.append("  ".join(out).rstrip())
    return lines


def tables(rows, name_a="A", name_b="B"):
    lines = []
    for name, _, _, higher, _ in METRICS:
        mine = [r for r in rows if r["metric"] == name]
        if not mine:
            continue
        cells = [["series", "configuration", name_a, name_b, "change", "significance"]]
        for r in mine:
            cells.append([r["series"], r["config"], si(r["med_a"]) + spread(r["a"], r["med_a"]),
                          si(r["med_b"]) + spread(r["b"], r["med_b"]), pct(r["change"]), r["verdict"]])
        g, n = geomean_change(mine)
        cells.append(["geomean", "(%d)" % n, "", "", pct(g), ""])
        lines.append("")
        lines.append("%s (%s is better)" % (name, "higher" if higher else "lower"))
        lines += grid(cells)
    return lines


def per_series(rows):
    """The last table: per program, the geometric mean of its changes in
    each metric, with the number of configurations behind it."""
    names = [m[0] for m in METRICS if any(r["metric"] == m[0] for r in rows)]
    series = []
    for r in rows:
        s = r["series"].split("/")[0]  # phase3/e2e counts for phase3
        if s not in series:
            series.append(s)
    series.sort(key=lambda s: (0 if s.startswith("phase") else 1 if s == "python" else 2, s))
    cells = [["series"] + names]
    for s in series:
        line = [s]
        for m in names:
            g, n = geomean_change([r for r in rows if r["metric"] == m and r["series"].split("/")[0] == s])
            line.append("%s (%d)" % (pct(g), n) if n else "")
        cells.append(line)
    cells[0].append("")
    for c in cells[1:]:
        c.append("")
    return ["", "geometric mean of the changes per program (configurations in brackets; "
                "msgs/s: + is faster; ns/msg and us: - is faster)"] + grid(cells, right_from=1)


LEGEND = ("change = (B - A) / A of the medians; ± = half the range over the repetitions; significance: two-sided "
          "Mann-Whitney U test on the repetitions (exact up to 8 + 8 repetitions, normal approximation with ties "
          "beyond), alpha 0.05; ~ = no significant difference. Three repetitions a side can never reach p < 0.05 "
          "(the smallest p is 0.10): `make bench FULL=1` runs five.")
