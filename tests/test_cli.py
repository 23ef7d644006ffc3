"""The ``cadence`` command, through typer's test runner and as a real process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cadence import __version__
from cadence.cli import app
from cadence.store import Store

runner = CliRunner()


def test_demo_writes_report_and_store_and_prints_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "r" / "demo.html"
    result = runner.invoke(
        app, ["demo", "--out", str(out), "--people", "25", "--as-of", "2026-06-30"]
    )
    assert result.exit_code == 0, result.output
    assert out.exists() and out.stat().st_size > 1_000_000  # plotly.js is inside
    assert f"Report: {out.resolve()}" in result.output.replace("\n", "")
    assert "25 people" in result.output and "Needs attention first" in result.output
    with Store(out.with_suffix(".sqlite")) as store:
        assert store.get_meta("kind") == "demo"
        runs = store.runs()
        assert runs["status"].tolist() == ["ok"] and runs.loc[0, "summary"]["people"] == 25
        assert store.counts()["events"] > 0


def test_demo_rerun_rebuilds_its_store(tmp_path: Path) -> None:
    out = tmp_path / "demo.html"
    for people in (30, 12):
        result = runner.invoke(
            app, ["demo", "-o", str(out), "-n", str(people), "--as-of", "2026-06-30", "-q"]
        )
        assert result.exit_code == 0, result.output
    with Store(out.with_suffix(".sqlite")) as store:
        assert store.events()["calendar"].nunique() == 12
        assert len(store.runs()) == 1


def test_quiet_prints_nothing(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "-o", str(tmp_path / "d.html"), "-n", "8", "--quiet"])
    assert result.exit_code == 0
    assert result.output == ""
    global_quiet = runner.invoke(
        app, ["--quiet", "demo", "-o", str(tmp_path / "e.html"), "-n", "8"]
    )
    assert global_quiet.exit_code == 0 and global_quiet.output == ""


def test_demo_refuses_a_real_store(tmp_path: Path) -> None:
    real = tmp_path / "real.sqlite"
    Store(real).close()
    result = runner.invoke(app, ["demo", "-o", str(tmp_path / "d.html"), "--store", str(real)])
    assert result.exit_code == 1
    assert "is not a demo store" in result.output and str(real) in result.output.replace("\n", "")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["demo", "--as-of", "someday"], "'someday' is not a date"),
        (["demo", "--people", "1"], "--people"),
        (["demo", "--bogus"], "No such option"),
        (["nonsense"], "No such command"),
    ],
)
def test_usage_errors_exit_2(args: list[str], words: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert words in result.output


def test_bad_config_exits_2_naming_file_and_key(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[analysis]\nwindow = "soon"\n')
    result = runner.invoke(app, ["--config", str(cfg), "demo", "-o", str(tmp_path / "d.html")])
    assert result.exit_code == 2
    text = result.output.replace("\n", "")
    assert str(cfg) in text and "[analysis] window = 'soon'" in text


def test_every_command_and_option_has_help() -> None:
    import typer.main

    command = typer.main.get_command(app)
    params = list(command.params)
    for name, sub in command.commands.items():  # type: ignore[attr-defined]
        assert sub.help, f"command {name} has no help"
        params += sub.params
    for p in params:
        assert getattr(p, "help", None), f"option {p.name} has no help"
    assert runner.invoke(app, ["--help"]).exit_code == 0
    assert runner.invoke(app, ["demo", "--help"]).exit_code == 0


def test_python_dash_m_and_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cadence", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == f"cadence {__version__}"


FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "ics"


def test_import_writes_the_store_and_lists_skipped_events(tmp_path: Path) -> None:
    store = tmp_path / "c.sqlite"
    args = [
        "import",
        str(FIXTURES),
        "--store",
        str(store),
        "--weeks-back",
        "700",
        "--weeks-ahead",
        "0",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "3 broken event(s) skipped" in result.output
    assert "quirky-malformed-mixed.ics" in result.output.replace("\n", "")
    with Store(store) as db:
        assert set(db.events()["source"]) == {"ics"}
        assert db.runs()["kind"].tolist() == ["import"]
        again = runner.invoke(app, [*args, "--quiet"])
        assert again.exit_code == 0 and again.output == ""
        assert db.runs().loc[1, "summary"]["rows_written"] == 0  # the same files: nothing new


def test_import_of_a_broken_single_file_exits_1_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "broken.ics"
    bad.write_text("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\n")
    result = runner.invoke(app, ["import", str(bad), "--store", str(tmp_path / "c.sqlite")])
    assert result.exit_code == 1
    assert "truncated" in result.output and "broken.ics" in result.output.replace("\n", "")


def test_pull_uses_the_ics_paths_of_the_config(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[store]\npath = "{tmp_path / "c.sqlite"}"\n'
        f'[ics]\npaths = ["{FIXTURES / "outlook-teams-weekly-exdate-eastern.ics"}"]\n'
        'calendar = "me@example.com"\nweeks_back = 300\n'
    )
    result = runner.invoke(app, ["--config", str(cfg), "pull"])
    assert result.exit_code == 0, result.output
    with Store(tmp_path / "c.sqlite") as db:
        events = db.events()
    assert set(events["calendar"]) == {"me@example.com"}
    assert (events["status"] == "cancelled").sum() == 3


def test_pull_without_sources_is_a_config_error(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("[analysis]\nwindow = '13w'\n")
    result = runner.invoke(app, ["--config", str(cfg), "pull"])
    assert result.exit_code == 2 and "no source to pull" in result.output
