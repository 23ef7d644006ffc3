"""The HTML report in a real headless Chromium: no JavaScript errors, every chart drawn, offline."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from cadence.analysis import analyze
from cadence.report import write_report
from cadence.report.html import SourceInfo
from cadence.sources import demo

from .conftest import AS_OF

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium (see .ci/run)")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def open_report(browser, path: Path, shot: Path):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    requests: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_selector(".js-plotly-plot .main-svg")
    page.screenshot(path=str(shot), full_page=True)
    return page, problems, requests


def test_demo_report_draws_every_chart_with_no_errors(browser, tmp_path: Path) -> None:
    org = demo.generate(40, seed=3, as_of=AS_OF)
    result = analyze(org, org.roster, as_of=AS_OF)
    path = write_report(result, tmp_path / "report.html", sources=[SourceInfo("demo", AS_OF)])
    page, problems, requests = open_report(browser, path, tmp_path / "report.png")
    assert problems == []
    # nothing but the file itself was fetched: the report works offline
    assert {r for r in requests if not r.startswith("data:")} == {path.as_uri()}
    charts = page.eval_on_selector_all(
        ".js-plotly-plot",
        "els => els.map(e => ({id: e.id, traces: (e.data || []).length,"
        " drawn: e.querySelectorAll('.main-svg .trace, .main-svg .bars .point').length}))",
    )
    assert {c["id"] for c in charts} == {"fig-weekly", "fig-pairs"}
    assert all(c["traces"] > 0 and c["drawn"] > 0 for c in charts), charts
    rows = page.locator("#pairs tbody tr").count()
    assert rows == len(result.pairs) > 0
    assert path.read_text(encoding="utf-8").count("* plotly.js v") == 1  # embedded once
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_failed_source_is_announced(browser, tmp_path: Path) -> None:
    org = demo.generate(10, seed=3, as_of=AS_OF)
    result = analyze(org, org.roster, as_of=AS_OF)
    path = write_report(
        result,
        tmp_path / "r.html",
        sources=[SourceInfo("google", None, error="HTTP 503 after 5 retries")],
    )
    page, problems, _ = open_report(browser, path, tmp_path / "r.png")
    assert problems == []
    assert "HTTP 503 after 5 retries" in page.locator("[role=alert]").inner_text()
