"""grade_out - the grade in the formats autograders read: Gradescope's
results.json and a JUnit XML report with classnames and points. Python 3
standard library only; grade.py calls it.

Gradescope's format (gradescope-autograders.readthedocs.io, "Autograder
Specifications"): a top-level score and execution_time (seconds), and
tests[], each with name, score, max_score, output and visibility. Every
graded row of points.tsv is one test there; the tests the binaries ran that
no row names earn nothing and appear only in the JUnit report, marked
ungraded.
"""
import json
import os
import xml.etree.ElementTree as ET

VISIBILITY = "visible"  # the student sees every test and its first failure line


def first_line(msg):
    """The first non-blank line of a failure message, for one-line displays;
    a line that ends in ':' introduces the program's own words (the tail of
    its stderr), so their first line joins it."""
    lines = [l.strip() for l in (msg or "").splitlines() if l.strip()]
    if len(lines) > 1 and lines[0].endswith(":"):
        return f"{lines[0]} {lines[1]}"
    return lines[0] if lines else ""


def gradescope(scored, seconds):
    """Gradescope's results.json document for the scored rows."""
    tests = []
    for s in scored:
        out = s["status"] if not s["message"] else f"{s['status']}: {s['message']}"
        if s.get("unstable"):
            out = f"UNSTABLE across {s['runs']} runs ({s['unstable']}). " + out
        tests.append({
            "name": f"phase {s['phase']} {s['category']}: {s['test']}",
            "score": s["points"],
            "max_score": s["max"],
            "status": "passed" if s["points"] >= s["max"] else "failed",
            "output": out,
            "visibility": VISIBILITY,
        })
    return {
        "score": round(sum(s["points"] for s in scored), 2),
        "execution_time": int(round(seconds)),
        "output": f"total: {sum(s['points'] for s in scored):g} / {sum(s['max'] for s in scored):g}",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def junit(scored, results, phase_of_binary, graded_ids):
    """A JUnit <testsuites> tree: one suite per phase, one testcase per
    graded row (classname phaseN.category, its points as properties) and
    one per test no row grades (classname phaseN.ungraded, points 0)."""
    root = ET.Element("testsuites", name="msgroute grade")
    suites = {}

    def suite(phase):
        if phase not in suites:
            suites[phase] = ET.SubElement(root, "testsuite", name=f"phase{phase}", tests="0", failures="0")
        return suites[phase]

    def case(phase, classname, name, points, maxi, status, msg, graded):
        su = suite(phase)
        tc = ET.SubElement(su, "testcase", classname=classname, name=name)
        props = ET.SubElement(tc, "properties")
        ET.SubElement(props, "property", name="graded", value="true" if graded else "false")
        ET.SubElement(props, "property", name="points", value=f"{points:g}")
        ET.SubElement(props, "property", name="max_points", value=f"{maxi:g}")
        su.set("tests", str(int(su.get("tests")) + 1))
        if status in ("SKIPPED",):
            ET.SubElement(tc, "skipped", message=first_line(msg) or "skipped")
        elif status != "PASSED":
            f = ET.SubElement(tc, "failure", message=first_line(msg) or status, type=status)
            f.text = msg or status
            su.set("failures", str(int(su.get("failures")) + 1))

    for s in scored:
        case(s["phase"], f"phase{s['phase']}.{s['category']}", s["test"], s["points"], s["max"], s["status"],
             s["message"], True)
    for binary, got in sorted(results.items()):
        for test, (status, msg) in sorted(got.items()):
            if (binary, test) not in graded_ids:
                case(phase_of_binary.get(binary, 0), f"phase{phase_of_binary.get(binary, 0)}.ungraded",
                     f"{binary}: {test}", 0, 0, status, msg, False)
    return ET.ElementTree(root)


def write_json(path, doc):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)


def write_xml(path, tree):
    ET.indent(tree) if hasattr(ET, "indent") else None
    tree.write(path + ".tmp", encoding="utf-8", xml_declaration=True)
    os.replace(path + ".tmp", path)
