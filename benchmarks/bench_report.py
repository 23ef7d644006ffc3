"""Reports for an organisation of ~20,000 pairs: build time and file size.

The organisation review must build in at most 3 s and stay at most 6 MB (it
aggregates; issue 18), each figure printed beside its target; the leader report
over every pair must paint first in at most 3 s (issue 21; its charts are drawn
after), and its exports (CSV + Parquet) be written in at most 3 s. The process is set up
as the ``cadence`` command sets up its own (:func:`cadence.memory.configure`).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from cadence.memory import configure

configure()  # as the `cadence` command does, before numpy is imported

import pandas as pd  # noqa: E402
from _measure import timed  # noqa: E402

from cadence.analysis import analyze  # noqa: E402
from cadence.report import write_exports, write_report  # noqa: E402
from cadence.sources import demo  # noqa: E402

AS_OF = pd.Timestamp("2026-06-30", tz="UTC")


# read in the page once <html data-drawn> is set (every chart drawn): the browser's own
# clock, from navigation start, so the figures leave out Playwright's round trips
TIMES = """() => ({
  paint: performance.getEntriesByType("paint").find(e => e.name === "first-contentful-paint"),
  loaded: performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd,
  drawn: performance.now(),
})"""


def open_seconds(path: Path) -> str:
    """First contentful paint, DOM ready, and every chart drawn and the table filled, in
    seconds from navigation start, in headless Chromium (Debian's chromium).

    (Until issue 21 this measured the wall time until every chart was drawn, which is not
    first paint: the page now paints first and draws its charts after.)
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "(playwright not installed)"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(path.as_uri(), timeout=300_000)
        page.wait_for_selector("html[data-drawn]", timeout=300_000)
        rows = page.locator("#pairs tbody tr, table tbody tr").count()
        times = page.evaluate(TIMES)
        browser.close()
    paint = times["paint"]["startTime"] / 1000
    return (
        f"first paint {paint:.2f} s (target ≤ 3 s: {_ok(paint <= 3)}), DOM ready "
        f"{times['loaded'] / 1000:.2f} s, every chart drawn {times['drawn'] / 1000:.1f} s "
        f"({rows} table rows shown)"
    )


def _ok(met: bool) -> str:
    return "met" if met else "MISSED"


with timed("generate 20,500 people × 16 weeks"):
    org = demo.generate(20_500, seed=7, as_of=AS_OF, weeks=16, noise=False)
with timed("analyze"):
    result = analyze(org, org.roster, as_of=AS_OF)
print(f"  {len(result.pairs):,} pairs, {len(result.occurrences):,} occurrences")
with tempfile.TemporaryDirectory() as tmp:
    for label, org_report in (("organisation report", True), ("leader report, every pair", False)):
        path = Path(tmp) / ("org.html" if org_report else "all.html")
        start = time.perf_counter()
        write_report(result, path, org_report=org_report, exports=False)
        wall = time.perf_counter() - start
        size = path.stat().st_size / 1e6
        if org_report:
            print(
                f"{label}: built in {wall:.2f} s (target ≤ 3 s: {_ok(wall <= 3)}), "
                f"{size:.2f} MB (target ≤ 6 MB: {_ok(size <= 6)})",
                flush=True,
            )
        else:
            print(f"{label}: built in {wall:.1f} s, {size:.1f} MB", flush=True)
        print(f"  in headless Chromium: {open_seconds(path)}", flush=True)
    start, cpu = time.perf_counter(), time.process_time()
    written = write_exports(result, Path(tmp) / "x.html")
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    size = sum(p.stat().st_size for p in written) / 1e6
    print(
        f"exports of the leader report (pairs + occurrences, CSV + Parquet, {size:.0f} MB): "
        f"{wall:.2f} s (target ≤ 3 s: {_ok(wall <= 3)}), CPU {cpu:.2f} s ({_ok(cpu <= 3)} on CPU)",
        flush=True,
    )
