"""The docs tell the truth: README commands are the ones that exist and that CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_quick_start_is_make_demo_and_make_test() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```(?:sh|bash|console)?\n(.*?)```", readme, re.S)
    assert first_block, "README should open with a code block"
    assert [line.strip() for line in first_block.group(1).splitlines() if line.strip()] == [
        "make demo",
        "make test",
    ]


def test_makefile_has_the_targets_the_readme_names() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ("demo", "test", "lint", "bench"):
        assert re.search(rf"^{target}:", makefile, re.M), target


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [
        line.strip()
        for line in ci.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert commands[-1] == "make test"


def test_changelog_exists_with_an_unreleased_section() -> None:
    assert "## [Unreleased]" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def test_the_scoring_table_matches_the_defaults() -> None:
    from cadence.analysis import AnalysisSettings

    doc = (ROOT / "docs" / "analysis.md").read_text(encoding="utf-8")
    table = doc[doc.index("## How health is scored") : doc.index("## The roster")]
    s = AnalysisSettings()
    w = s.weights
    for number in (
        w.adherence,
        w.recent_misses,
        w.open_gap,
        w.unscheduled,
        w.drift,
        w.late_cancels,
        w.moves,
    ):
        assert f"**{number:g}**" in table or f"up to **{number:g}**" in table, number
    assert f"(≥ {s.healthy_min:g})" in table and f"(≥ {s.watch_min:g})" in table
    assert f"{s.adherence_full:.0%}".replace("%", " %") in table
    assert f"{s.adherence_floor:.0%}".replace("%", " %") in table
    assert f"last {s.recent_slots} past slots" in table
    assert f"{s.late_cancel_hours:g} h ahead" in table
    assert f"0 at {s.open_gap_from:g} × target, rising to **{w.open_gap:g}** at " in table
    assert f"at {s.open_gap_full:g} × target" in table
    assert f"median gap of {s.drift_from:g} × target" in table
    assert f"at {s.drift_full:g} ×" in table
    assert f"moved beyond {s.moves_from:.0%}".replace("%", " %") in table
    assert f"(all of it at {s.moves_full:.0%})".replace("%", " %") in table
    assert f"no held 1:1 for {s.lapsed_factor:g} × target (`lapsed_factor`)" in table
    assert f"last {s.consecutive_misses} scheduled 1:1s (`consecutive_misses`)" in table
    assert f"scores at most {s.watch_min - s.flagged_below_watch:g}" in table
    assert f"under {s.reason_min_points:g} points" in table


def _markdown() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_every_relative_link_in_the_docs_resolves() -> None:
    for page in _markdown():
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (page.parent / target).exists(), f"{page.name}: {target}"


def test_the_readme_is_for_users_short_and_self_contained() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    assert "DESIGN.md" not in readme and "shared" not in readme  # files users do not have
    assert "## Architecture" in readme and "## The weekly job" in readme


def test_every_command_the_readme_shows_exists() -> None:
    import typer.main

    from cadence.cli import app

    known = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"cadence (?:--[\w-]+ )*([a-z]+)\b", readme))
    assert {"demo", "run", "doctor", "init"} <= shown
    assert shown <= known, shown - known
