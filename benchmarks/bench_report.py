"""Reports for an organisation of ~20,000 pairs: build time and file size.

The organisation review must build in at most 3 s and stay at most 6 MB (it
aggregates; issue 18), each figure printed beside its target; the leader report
over every pair shows how far the paginated table scales.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pandas as pd
from _measure import timed

from cadence.analysis import analyze
from cadence.report import write_report
from cadence.sources import demo

AS_OF = pd.Timestamp("2026-06-30", tz="UTC")


def open_seconds(path: Path) -> str:
    """Wall time from navigation until every chart is drawn (Debian chromium)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "(playwright not installed)"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        start = time.perf_counter()
        page.goto(path.as_uri())
        page.wait_for_function(
            "[...document.querySelectorAll('.js-plotly-plot')]"
            ".every(e => e.querySelector('.main-svg'))"
        )
        wall = time.perf_counter() - start
        browser.close()
    return f"{wall:.1f} s"


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
        print(f"  opens in headless Chromium in {open_seconds(path)}", flush=True)
    with timed("exports of the leader report (pairs + occurrences, CSV + Parquet)"):
        write_report(result, Path(tmp) / "x.html")
