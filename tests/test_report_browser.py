"""The HTML report in a real headless Chromium: no JavaScript errors, every chart drawn, offline."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from cadence.analysis import analyze
from cadence.model import SourceHealth
from cadence.report import write_report
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
    page.wait_for_selector("html[data-drawn]")  # every chart drawn (after first paint)
    page.screenshot(path=str(shot), full_page=True)
    return page, problems, requests


CHARTS = """els => els.map(e => ({id: e.id, traces: (e.data || []).length, drawn:
    e.querySelectorAll('.main-svg .trace, .main-svg .bars .point, .main-svg .hm').length}))"""


def assert_all_drawn(page, expected: set[str]) -> None:  # type: ignore[no-untyped-def]
    charts = page.eval_on_selector_all(".js-plotly-plot", CHARTS)
    assert {c["id"] for c in charts} == expected
    assert all(c["traces"] > 0 and c["drawn"] > 0 for c in charts), charts


@pytest.fixture(scope="module")
def demo_analysis():  # type: ignore[no-untyped-def]
    org = demo.generate(120, seed=3, as_of=AS_OF)
    return analyze(org, org.roster, as_of=AS_OF)


def test_leader_report_draws_every_chart_with_no_errors(
    browser, demo_analysis, tmp_path: Path
) -> None:
    result = demo_analysis
    path = write_report(result, tmp_path / "report.html", sources=[SourceHealth("demo", AS_OF)])
    page, problems, requests = open_report(browser, path, tmp_path / "report.png")
    assert problems == []
    # nothing but the file itself was fetched: the report works offline
    assert {r for r in requests if not r.startswith("data:")} == {path.as_uri()}
    expected = {"fig-timeline", "fig-heatmap", "fig-gaps", "fig-weekly"}
    expected |= {
        f"fig-{name}"
        for name in ("time-of-day", "duration")
        if f'id="chart-{name}"' in path.read_text(encoding="utf-8")
    }
    assert_all_drawn(page, expected)
    assert path.read_text(encoding="utf-8").count("* plotly.js v") == 1  # embedded once
    assert (tmp_path / "report.png").stat().st_size > 10_000
    # the attention list names every lapsed / at-risk pair (up to 15) first
    flagged = result.pairs["status"].isin(["lapsed", "at_risk"]).sum()
    assert page.locator("#attention li.pair").count() == min(15, flagged) > 0


def test_pair_table_sorts_filters_and_pages(browser, demo_analysis, tmp_path: Path) -> None:
    result = demo_analysis
    path = write_report(result, tmp_path / "t.html", exports=False)
    page, problems, _ = open_report(browser, path, tmp_path / "t.png")
    rows = page.locator("#pairs tbody tr")
    assert rows.count() == min(50, len(result.pairs))
    assert page.locator("#page-info").inner_text() == f"pairs 1–50 of {len(result.pairs)}"
    page.click("#next")
    assert rows.count() == min(50, len(result.pairs) - 50)
    # sort by score, ascending, then descending
    page.click("#pairs th[data-k='score'] button")
    scores = [float(t) for t in page.locator("#pairs tbody td:nth-child(3)").all_inner_texts()]
    assert scores == sorted(scores) and scores[0] == round(result.pairs["health_score"].min())
    assert page.get_attribute("#pairs th[data-k='score']", "aria-sort") == "ascending"
    page.click("#pairs th[data-k='score'] button")
    scores = [float(t) for t in page.locator("#pairs tbody td:nth-child(3)").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)
    held = page.locator("#pairs tbody td:nth-child(4)").all_inner_texts()
    assert all(re.fullmatch(r"\d+ of \d+(\.\d)?", t) for t in held), held[:5]
    page.select_option("#status-filter", "lapsed")
    assert rows.count() == (result.pairs["status"] == "lapsed").sum()
    assert page.locator("svg.spark title").count() == rows.count()  # a sparkline per row
    assert problems == []


# what the page holds when the browser gives it its first frame (run before any page script)
FIRST_FRAME = """requestAnimationFrame(() => { window.atFirstFrame = {
    plotly: typeof window.Plotly, charts: document.querySelectorAll(".js-plotly-plot").length,
    rows: document.querySelectorAll("#pairs tbody tr").length}; });"""


def test_first_paint_comes_before_plotly_and_the_table_then_holds_every_pair(
    browser, demo_analysis, tmp_path: Path
) -> None:
    """Issue 21: plotly.js, the charts and the table's rows wait for the first frame; then
    every chart is drawn, and the table pages, filters and sorts over all the pairs."""
    result = demo_analysis
    path = write_report(result, tmp_path / "p.html", exports=False)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.add_init_script(FIRST_FRAME)
    page.goto(path.as_uri())
    page.wait_for_selector("html[data-drawn]")
    assert page.evaluate("window.atFirstFrame") == {"plotly": "undefined", "charts": 0, "rows": 0}
    drawn = "[...document.querySelectorAll('.js-plotly-plot')]"
    drawn += ".filter(e => e.querySelector('.main-svg'))"
    charts = path.read_text(encoding="utf-8").count('class="plotly-graph-div"')
    assert page.evaluate(f"{drawn}.length") == charts >= 4
    n = len(result.pairs)
    assert page.locator("#page-info").inner_text() == f"pairs 1–50 of {n}"
    page.fill("#filter", "zzz-no-such-pair")
    assert page.locator("#page-info").inner_text() == "no pair matches"
    page.fill("#filter", "")
    page.click("#pairs th[data-k='pair'] button")  # sorted over every pair, not the first page
    shown = page.locator("#pairs tbody td.pair-name").all_inner_texts()
    data = page.evaluate("JSON.parse(document.getElementById('pair-data').textContent)")
    labels = sorted(row[data["fields"].index("pair")] for row in data["rows"])
    assert len(labels) == n and shown == labels[:50]
    assert page.locator("#page-info").inner_text() == f"pairs 1–50 of {n}"


ORG_CHARTS = {
    "fig-coverage-department",
    "fig-status-department",
    "fig-buckets-department",
    "fig-cancellations-department",
    "fig-trend",
    "fig-adherence-department",
    "fig-adherence-histogram",
    "fig-status-level",
}


@pytest.mark.parametrize(("width", "label"), [(1280, "desktop"), (390, "phone")])
def test_org_review_at_desktop_and_phone_width(
    browser, demo_analysis, tmp_path: Path, width: int, label: str
) -> None:
    path = write_report(demo_analysis, tmp_path / "org.html", org_report=True, exports=False)
    page = browser.new_page(viewport={"width": width, "height": 900})
    problems: list[str] = []
    requests: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_selector("html[data-drawn]")  # every chart drawn (after first paint)
    page.screenshot(path=str(tmp_path / f"org-{label}.png"), full_page=True)
    assert problems == []
    assert {r for r in requests if not r.startswith("data:")} == {path.as_uri()}
    assert_all_drawn(page, ORG_CHARTS)
    # nothing wider than the screen: wide tables scroll inside their own box
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert "Privacy" in page.locator("#privacy").inner_text()
    assert "had no held 1:1 in the last 4 weeks" in page.locator("#card-coverage").inner_text()
    departments = page.locator("#table-departments tbody tr")
    assert departments.count() >= 2
    assert page.locator("#count-departments").inner_text().startswith("all ")


def test_org_tables_sort_filter_and_drill_down(browser, demo_analysis, tmp_path: Path) -> None:
    from cadence.report.org import review_tables

    path = write_report(demo_analysis, tmp_path / "org.html", org_report=True, exports=False)
    page, problems, _ = open_report(browser, path, tmp_path / "org.png")
    managers = review_tables(demo_analysis)["managers"]
    named = managers[~managers["suppressed"] & managers["department"].notna()]
    rows = page.locator("#table-managers tbody tr")
    assert rows.count() == min(100, len(managers))
    # sort by coverage (no 1:1 share), highest first on the first click
    page.click("#table-managers th[data-i='5'] button")
    assert page.get_attribute("#table-managers th[data-i='5']", "aria-sort") == "descending"
    first = page.locator("#table-managers tbody tr:first-child td:nth-child(6)").inner_text()
    top = named["uncovered_share"].max()
    assert first.startswith(f"{round(top * 100)} %"), first
    # drill down: a department row filters the managers to that department
    dept = str(named["department"].value_counts().index[0])
    page.locator("#table-departments tbody tr.pick", has_text=dept).first.click()
    expected = int((named["department"] == dept).sum())
    assert rows.count() == expected
    assert page.locator("#count-managers").inner_text().startswith(f"{expected} of {expected}")
    # the text filter
    page.select_option(".dept[data-for='managers']", "")
    label = str(named["group"].iloc[0])
    page.fill(".find[data-for='managers']", label)
    assert rows.count() == 1 and label in rows.first.inner_text()
    assert problems == []


def test_failed_source_is_announced(browser, tmp_path: Path) -> None:
    org = demo.generate(10, seed=3, as_of=AS_OF)
    result = analyze(org, org.roster, as_of=AS_OF)
    path = write_report(
        result,
        tmp_path / "r.html",
        sources=[SourceHealth("google", None, error="HTTP 503 after 5 retries")],
    )
    page, problems, _ = open_report(browser, path, tmp_path / "r.png")
    assert problems == []
    assert "HTTP 503 after 5 retries" in page.locator("[role=alert]").inner_text()


# -- a leader's report on a desktop and on a phone -------------------------------------------

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# every chart's title against everything drawn near it: the top axis's tick labels, the
# legend, the "today" label (SVG text in the same figure)
OVERLAPS = """els => els.map(e => {
  const box = n => { const r = n.getBoundingClientRect(); return {l: r.left, r: r.right,
                     t: r.top, b: r.bottom, w: r.width, h: r.height,
                     text: (n.textContent || '').slice(0, 40)}; };
  const title = e.querySelector('.gtitle');
  const near = '.xtick text, .x2tick text, .legend .traces, .annotation-text, .gtitle-subtitle';
  const others = [...e.querySelectorAll(near)]
    .map(box).filter(b => b.w > 0 && b.h > 0);
  const t = title ? box(title) : null;
  const hits = t ? others.filter(o => o.l < t.r && t.l < o.r && o.t < t.b && t.t < o.b) : [];
  return {id: e.id, title: t, hits: hits, right: e.getBoundingClientRect().right};
})"""


@pytest.fixture(scope="module")
def team_report(demo_analysis, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    roster = demo_analysis.roster
    top = roster.loc[roster["manager_email"].isna(), "email"].iloc[0]
    team = demo_analysis.for_leader(top, indirect=True)
    folder = tmp_path_factory.mktemp("team")
    return write_report(team, folder / "team.html", title="Ann's team · 1:1 health", exports=False)


def open_at(browser, path: Path, viewport: dict[str, int], shot: Path):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport=viewport)
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on(
        "console",
        lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
    )
    page.goto(path.as_uri())
    page.wait_for_selector("html[data-drawn]")  # every chart drawn (after first paint)
    page.wait_for_timeout(300)  # let plotly's responsive resize settle
    page.screenshot(path=str(shot), full_page=True)
    return page, problems


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_chart_titles_overlap_nothing_and_nothing_scrolls_sideways(  # type: ignore[no-untyped-def]
    browser, team_report: Path, tmp_path: Path, viewport: dict[str, int]
) -> None:
    shot = tmp_path / f"team-{viewport['width']}.png"
    page, problems = open_at(browser, team_report, viewport, shot)
    assert problems == []
    assert shot.stat().st_size > 10_000  # the screenshot smoke test: something was drawn
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"scrolls sideways: {width} px > {viewport['width']}"
    charts = [c for c in page.eval_on_selector_all(".js-plotly-plot", OVERLAPS) if c["right"] > 0]
    assert {"fig-timeline", "fig-gaps", "fig-weekly"} <= {c["id"] for c in charts}
    for chart in charts:
        assert chart["title"] is not None, chart["id"]
        assert chart["hits"] == [], (chart["id"], chart["title"], chart["hits"])
    # the timeline labels "today"
    assert "today" in page.locator("#fig-timeline .annotation-text").all_text_contents()


def test_on_a_phone_the_pair_table_is_cards_and_the_heatmap_a_strip_per_pair(  # type: ignore[no-untyped-def]
    browser, team_report: Path, tmp_path: Path
) -> None:
    page, problems = open_at(browser, team_report, PHONE, tmp_path / "phone.png")
    assert problems == []
    assert page.locator("#pairs thead").evaluate("e => getComputedStyle(e).display") == "none"
    first = page.locator("#pairs tbody tr").first
    assert first.evaluate("e => getComputedStyle(e).display") == "block"
    box = first.bounding_box()
    assert box is not None and box["width"] <= PHONE["width"]
    label = first.locator("td[data-label='held of expected']")  # each value says what it is
    assert label.evaluate("e => getComputedStyle(e, '::before').content") == '"held of expected "'
    # the timeline's legend sits right above it and wraps inside the screen
    legend = page.locator("#timeline-legend").bounding_box()
    chart = page.locator("#chart-timeline").bounding_box()
    assert legend is not None and chart is not None
    assert legend["width"] <= PHONE["width"]
    assert 0 <= chart["y"] - (legend["y"] + legend["height"]) < 40
    assert not page.locator("#chart-heatmap").is_visible()
    assert page.locator("#heatmap-note").is_visible()
    assert first.locator("svg.spark").is_visible()  # the weeks, as a strip in the card
    why = first.locator("td.why").bounding_box()
    assert why is not None and why["width"] > 250  # the reason reads as a line, not a column
    desktop = browser.new_page(viewport=DESKTOP)
    desktop.goto(team_report.as_uri())
    desktop.wait_for_selector("#pairs tbody tr")
    assert desktop.locator("#chart-heatmap").is_visible()
    assert not desktop.locator("#heatmap-note").is_visible()
    wide = desktop.locator("#pairs tbody td.why").first.bounding_box()
    assert wide is not None and wide["width"] >= 200  # not ~90 px, 6–7 lines a row
