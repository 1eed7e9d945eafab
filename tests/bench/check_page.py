#!/usr/bin/python3
"""check_page.py - renders a results folder's index.html in headless
Chromium at a laptop's width (1280 px) and checks what a reader sees:
every <img> loads, nothing is wider than the window, every graph has a
caption, every link points into the folder, and nothing is fetched from
the network (no absolute URL, no external script or stylesheet).

    check_page.py --results DIR [--screenshot FILE]

The folder is copied to a temporary one first (the probe page added there
must not alter the results), which is removed at the end."""

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

BROWSERS = ("chromium-headless-shell", "chromium", "chromium-browser")
WIDTH = 1280
# Appended to a copy of the page: once everything has loaded, it writes
# what it found into the DOM, which --dump-dom prints.
PROBE = """<script>
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({
    images: imgs.length,
    broken: imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
                .map(function (i) { return i.getAttribute("src"); }),
    widest_image: Math.max.apply(null, imgs.map(function (i) { return i.getBoundingClientRect().right; }).concat([0])),
    scroll_width: document.documentElement.scrollWidth,
    window_width: window.innerWidth,
    captions: document.querySelectorAll("figure figcaption").length
  });
  document.body.appendChild(out);
});
</script>
"""
failures = 0


def check(name, ok, why=""):
    global failures
    print("ok %s" % name if ok else "FAIL %s: %s" % (name, why), flush=True)
    if not ok:
        failures += 1


def browser():
    return next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)


def chromium(exe, tmp, *args):
    argv = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
            "--user-data-dir=" + os.path.join(tmp, "profile"), "--window-size=%d,900" % WIDTH,
            "--virtual-time-budget=10000"] + list(args)
    return subprocess.run(argv, capture_output=True, text=True, timeout=90)


def static_checks(folder, page):
    urls = re.findall(r'(?:src|href)="([^"]*)"', page)
    check("page_fetches_nothing_from_the_network",
          not re.search(r'(?:src|href)="(?:https?:)?//', page) and "<script" not in page and "<link" not in page,
          [u for u in urls if "//" in u])
    missing = [u for u in urls if not os.path.exists(os.path.join(folder, html.unescape(u)))]
    check("every_link_and_image_points_into_the_folder", not missing, missing)
    csvs = sorted(n for n in os.listdir(folder) if n.endswith(".csv"))
    check("page_links_every_csv_and_bench_h5", all('href="%s"' % n in page for n in csvs + ["bench.h5"]),
          [n for n in csvs + ["bench.h5"] if 'href="%s"' % n not in page])
    with open(os.path.join(folder, "machine.json")) as f:
        attrs = json.load(f)
    check("page_shows_the_machine", all(html.escape(str(attrs[k])) in page for k in ("cpu_model", "kernel",
                                                                                     "loadavg_start")))
    warns = [w for w in attrs.get("warnings", "").split("\n") if w]
    check("page_shows_every_warning", all(html.escape(w) in page for w in warns),
          [w for w in warns if html.escape(w) not in page][:3])
    series = attrs.get("series", "").split()
    check("page_has_the_summary_table_row_of_every_series", all("<tr><td>%s</td>" % s in page for s in series),
          series)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--screenshot", help="also keep a PNG of the page here")
    a = ap.parse_args()
    exe = browser()
    check("a_headless_chromium_is_installed", exe is not None,
          "none of %s on PATH (Debian's chromium-headless-shell; `make deps` installs it)" % ", ".join(BROWSERS))
    page_path = os.path.join(a.results, "index.html")
    check("results_folder_has_index_html", os.path.exists(page_path), page_path)
    if exe is None or not os.path.exists(page_path):
        return 1
    with tempfile.TemporaryDirectory(prefix="msgroute-bench-page-") as tmp:
        folder = os.path.join(tmp, "results")
        shutil.copytree(a.results, folder)
        with open(os.path.join(folder, "index.html")) as f:
            page = f.read()
        static_checks(folder, page)
        pngs = sorted(n for n in os.listdir(folder) if n.endswith(".png"))
        with open(os.path.join(folder, "probe.html"), "w") as f:
            f.write(page.replace("</body>", PROBE + "</body>"))
        r = chromium(exe, tmp, "--dump-dom", "file://" + os.path.join(folder, "probe.html"))
        m = re.search(r'<pre id="probe">(.*?)</pre>', r.stdout, re.S)
        check("the_browser_renders_the_page", r.returncode == 0 and m is not None,
              "exit %d: %s" % (r.returncode, r.stderr[-800:]))
        if m:
            got = json.loads(html.unescape(m.group(1)))
            check("every_graph_is_on_the_page", got["images"] == len(pngs), "%d <img>, %d PNGs" % (got["images"],
                                                                                                len(pngs)))
            check("every_image_loads", not got["broken"], got["broken"])
            check("every_graph_has_a_caption", got["captions"] == got["images"], got)
            check("page_fits_a_1280_px_window", got["scroll_width"] <= got["window_width"] and
                  got["widest_image"] <= got["window_width"], got)
        if a.screenshot:
            r = chromium(exe, tmp, "--screenshot=" + os.path.abspath(a.screenshot),
                         "file://" + os.path.join(folder, "index.html"))
            check("screenshot_written", r.returncode == 0 and os.path.exists(a.screenshot), r.stderr[-500:])
    print("%d failure%s" % (failures, "" if failures == 1 else "s"))
    return min(failures, 100)


if __name__ == "__main__":
    sys.exit(main())
