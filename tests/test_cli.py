"""The ``cadence`` command, through typer's test runner and as a real process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from cadence import __version__, memory
from cadence.cli import app
from cadence.store import Store

from .helpers import job_config, mail_section

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
    # one number, one place: the printed summary adds up the pairs export exactly
    pairs = pd.read_csv(out.parent / "demo-pairs.csv")
    text = " ".join(result.output.split())
    found = re.search(
        r"past 1:1 slots: (\d+) · held (\d+) · cancelled (\d+) .*? · declined (\d+) · moved (\d+)",
        text,
    )
    assert found, text
    past, held, cancelled, declined, moved = map(int, found.groups())
    assert past == pairs["past"].sum() == held + cancelled + declined
    assert (held, cancelled, declined, moved) == tuple(
        int(pairs[c].sum()) for c in ("held", "cancelled", "declined", "moved")
    )
    expected = re.search(r"1:1s held: (\d+) of ([\d.]+) expected", text)
    assert expected and float(expected.group(2)) == round(pairs["expected"].sum(), 1)
    assert (out.parent / "demo-org.html").exists() and (out.parent / "demo-pairs.csv").exists()
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

    def walk(command, path: str):  # type: ignore[no-untyped-def]
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, f"{path} {name}")

    seen = []
    for path, command in walk(typer.main.get_command(app), "cadence"):
        assert command.help, f"{path} has no help"
        for p in command.params:
            assert getattr(p, "help", None), f"{path}: option {p.name} has no help"
        assert runner.invoke(app, [*path.split()[1:], "--help"]).exit_code == 0, path
        seen.append(path)
    for expected in (
        "demo",
        "import",
        "pull",
        "report",
        "run",
        "init",
        "doctor",
        "purge",
        "auth google",
        "auth microsoft",
    ):
        assert f"cadence {expected}" in seen, expected


def test_python_dash_m_and_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cadence", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == f"cadence {__version__}"


# ``cadence --version`` run as ``python -m cadence``, then how the process asks for memory:
# whether numpy (imported after it) asks the kernel for huge pages (_set_madvise_hugepage
# returns the setting it replaces), and whether glibc hands a 64 MiB array its own mmap
# (mallinfo2's hblkhd: bytes in mmap'd blocks) instead of heap that can be reused
_MEMORY_AFTER_CLI = """
import ctypes, runpy, sys
sys.argv = ["cadence", "--version"]
try:
    runpy.run_module("cadence", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
import numpy as np
print("HUGEPAGES", np._core.multiarray._set_madvise_hugepage(True))
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]
libc = ctypes.CDLL(None)
if hasattr(libc, "mallinfo2"):
    libc.mallinfo2.restype = Info
    before = libc.mallinfo2().hblkhd
    block = np.ones(64 << 20, dtype=np.uint8)
    print("MMAPPED", libc.mallinfo2().hblkhd - before >= 64 << 20)
"""


@pytest.mark.parametrize(
    ("given", "huge_pages", "mmapped"),
    [
        ({}, "False", "False"),
        ({"NUMPY_MADVISE_HUGEPAGE": "1"}, "True", "False"),
        ({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1048576"}, "False", "True"),
        ({"MALLOC_MMAP_MAX_": "65536"}, "False", "True"),
        ({"MALLOC_MMAP_THRESHOLD_": "65536"}, "False", "True"),  # any of glibc's: all theirs
    ],
)
def test_the_command_keeps_freed_memory_and_asks_no_huge_pages_unless_told(
    given: dict[str, str], huge_pages: str, mmapped: str
) -> None:
    """cadence.memory.configure, first thing in cadence.cli.main: numpy asks for no huge
    pages and glibc keeps big blocks on the heap, each unless the user set their own."""
    env = memory.defaults(os.environ) | given
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_AFTER_CLI], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("HUGEPAGES")[1].split()[0] == huge_pages
    if not sys.platform.startswith("linux") or "MMAPPED" not in done.stdout:
        pytest.skip("glibc's mallinfo2 is not here: only numpy's switch applies")
    assert done.stdout.split("MMAPPED")[1].split() == [mmapped]


def test_library_use_leaves_the_process_memory_settings_alone() -> None:
    """``import cadence`` and an analysis in a notebook: numpy's and glibc's defaults stay."""
    probe = _MEMORY_AFTER_CLI.replace(
        'sys.argv = ["cadence", "--version"]',
        'import cadence\ncadence.analyze(cadence.load_demo(8, seed=1, as_of="2026-06-30"), '
        'as_of="2026-06-30")\nprint("ENV", "NUMPY_MADVISE_HUGEPAGE" in __import__("os").environ)',
    ).replace('runpy.run_module("cadence", run_name="__main__", alter_sys=True)', "pass")
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=memory.defaults(os.environ),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("ENV")[1].split()[0] == "False"
    assert done.stdout.split("HUGEPAGES")[1].split()[0] == "True"
    if "MMAPPED" not in done.stdout:
        pytest.skip("glibc's mallinfo2 is not here")
    assert done.stdout.split("MMAPPED")[1].split() == ["True"]


# ``cadence`` run as ``python -m cadence ARGS``, then the top-level packages it imported
_RUN_AND_LIST_IMPORTS = """
import runpy, sys
sys.argv = ["cadence", *sys.argv[1:]]
try:
    runpy.run_module("cadence", run_name="__main__", alter_sys=True)
except SystemExit as done:
    code = done.code
sys.stdout.flush()
print("IMPORTED", " ".join(sorted({m.split(".")[0] for m in sys.modules})), file=sys.stderr)
sys.exit(code)
"""
HEAVY = {"pandas", "plotly", "numpy", "googleapiclient", "msal", "icalendar", "caldav"}


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["auth", "--help"]])
def test_version_and_help_import_no_heavy_library(args: list[str]) -> None:
    """Cold start (issue 21): the CLI imports what a command needs when it runs it."""
    done = subprocess.run(
        [sys.executable, "-c", _RUN_AND_LIST_IMPORTS, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    imported = set(done.stderr.split("IMPORTED", 1)[1].split())
    assert "cadence" in imported and "typer" in imported  # the listing itself works
    assert not imported & HEAVY, sorted(imported & HEAVY)
    if args == ["--version"]:
        assert done.stdout.strip() == f"cadence {__version__}"
    elif args == ["--help"]:  # every command is still listed, with its help's first line
        text = " ".join(done.stdout.split())
        for command, words in (
            ("demo", "Generate the demo organisation"),
            ("report", "Analyze the store and write the HTML health report"),
            ("run", "The weekly job"),
            ("init", "Write a commented config.toml"),
            ("doctor", "Check config, store, roster"),
            ("purge", "Remove stored events"),
            ("import", "Import .ics exports"),
            ("auth", "Sign in to a calendar provider"),
            ("pull", "Pull every source named in the config"),
        ):
            assert re.search(rf"\b{command}\b\s+{re.escape(words)}", text), command
    else:
        for command in ("google", "microsoft", "caldav"):
            assert re.search(rf"\b{command}\b\s+Sign in|\b{command}\b\s+Keep", done.stdout)


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
    # 2 broken events and 2 EXDATEs naming no slot (see test_ics.py)
    assert "4 problem(s) listed" in result.output
    assert "quirky-malformed-mixed.ics" in result.output.replace("\n", "")
    with Store(store) as db:
        assert set(db.events()["source"]) == {"ics"}
        assert db.runs()["kind"].tolist() == ["import"]
        recorded = " | ".join(db.runs().loc[0, "summary"]["problems"])  # the run record
        assert "quirky-malformed-mixed.ics, event d287b7ec808fcf084983f10837@google.com" in recorded
        assert "EXDATE 20171020 is no slot" in recorded
        again = runner.invoke(app, [*args, "--quiet"])
        assert again.exit_code == 0 and again.output == ""
        assert db.runs().loc[1, "summary"]["rows_written"] == 0  # the same files: nothing new


def test_import_calendar_flag_is_an_address_written_as_the_config_writes_it(
    tmp_path: Path,
) -> None:
    file = FIXTURES / "outlook-reply-declined.ics"
    store = tmp_path / "c.sqlite"
    args = ["import", str(file), "--store", str(store), "--weeks-back", "700"]
    done = runner.invoke(app, [*args, "--calendar", " Bob@X.com "])
    assert done.exit_code == 0, done.output
    with Store(store) as db:
        assert set(db.events()["calendar"].astype(str)) == {"bob@x.com"}
    bad = runner.invoke(app, [*args, "--calendar", "not an email"])
    assert bad.exit_code != 0
    line = bad.output.strip()
    assert "\n" not in line and "'not an email' is not an email address" in line
    assert "Traceback" not in bad.output


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


# -- cadence report ------------------------------------------------------------------------------


@pytest.fixture
def real_store(tmp_path: Path) -> tuple[Path, Path]:
    """A (non-demo) store holding a 40-person organisation, and its roster CSV."""
    from cadence.sources import demo as demo_source

    org = demo_source.generate(40, seed=4, as_of="2026-06-30")
    store = tmp_path / "cadence.sqlite"
    with Store(store) as db:
        for pull in org.pulls():
            db.write_pull(pull)
    roster = tmp_path / "roster.csv"
    org.roster[["email", "name", "manager_email", "department", "team"]].to_csv(roster, index=False)
    return store, roster


def test_report_writes_leader_and_org_reports_and_remembers_them(
    real_store: tuple[Path, Path], tmp_path: Path
) -> None:
    store, roster = real_store
    base = ["--store", str(store), "report", "--roster", str(roster)]
    first = runner.invoke(app, [*base, "--as-of", "2026-06-23", "-o", str(tmp_path / "a.html")])
    assert first.exit_code == 0, first.output
    assert "pairs" in first.output and f"Report: {tmp_path / 'a.html'}" in first.output
    html = (tmp_path / "a.html").read_text(encoding="utf-8")
    assert "No earlier report of this scope" in html
    assert (tmp_path / "a-pairs.parquet").exists() and (tmp_path / "a-occurrences.csv").exists()
    second = runner.invoke(app, [*base, "--as-of", "2026-06-30", "-o", str(tmp_path / "b.html")])
    assert second.exit_code == 0, second.output
    html = (tmp_path / "b.html").read_text(encoding="utf-8")
    assert "Compared with the report of Tuesday 23 June 2026" in html
    hr = runner.invoke(
        app, [*base, "--org", "--as-of", "2026-06-30", "-o", str(tmp_path / "o.html")]
    )
    assert hr.exit_code == 0, hr.output
    assert (tmp_path / "o-departments.csv").exists() and not (tmp_path / "o-pairs.csv").exists()
    with Store(store) as db:
        assert db.counts()["snapshots"] == 3  # all × 2 dates, org × 1


def test_report_for_one_leader(real_store: tuple[Path, Path], tmp_path: Path) -> None:
    import pandas as pd

    store, roster = real_store
    people = pd.read_csv(roster)
    top = people.loc[people["manager_email"].isna(), "email"].iloc[0]
    result = runner.invoke(
        app,
        [
            "--store",
            str(store),
            "report",
            "--roster",
            str(roster),
            "--leader",
            top,
            "--as-of",
            "2026-06-30",
            "-o",
            str(tmp_path / "l.html"),
        ],
    )
    assert result.exit_code == 0, result.output
    pairs = pd.read_csv(tmp_path / "l-pairs.csv")
    assert set(pairs["manager"]) == {top}
    direct = (people["manager_email"] == top).sum()
    assert 0 < len(pairs) <= direct


@pytest.mark.parametrize(
    ("extra", "code", "words"),
    [
        (["--leader", "nobody@example.com"], 2, "not in the roster"),
        (["--org", "--leader", "nobody@example.com"], 2, "leave out --leader"),
    ],
)
def test_report_usage_errors(
    real_store: tuple[Path, Path], extra: list[str], code: int, words: str
) -> None:
    store, roster = real_store
    base = ["--store", str(store), "report", "--roster", str(roster), "--as-of", "2026-06-30"]
    result = runner.invoke(app, [*base, *extra])
    assert result.exit_code == code, result.output
    assert words in " ".join(result.output.split())


def test_report_without_a_store_says_what_to_do(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--store", str(tmp_path / "none.sqlite"), "report"])
    assert result.exit_code == 1
    assert "cadence pull" in result.output and not (tmp_path / "none.sqlite").exists()


def test_report_pseudonymizes_with_a_key_from_the_environment(
    real_store: tuple[Path, Path], tmp_path: Path
) -> None:
    store, roster = real_store
    config = tmp_path / "c.toml"
    config.write_text("[report]\npseudonymize = true\n", encoding="utf-8")
    args = [
        "--config",
        str(config),
        "--store",
        str(store),
        "report",
        "--roster",
        str(roster),
        "-o",
        str(tmp_path / "p.html"),
        "--as-of",
        "2026-06-30",
    ]
    missing = runner.invoke(app, args, env={"CADENCE_PSEUDONYM_KEY": ""})
    assert missing.exit_code == 2 and "CADENCE_PSEUDONYM_KEY" in missing.output
    ok = runner.invoke(app, args, env={"CADENCE_PSEUDONYM_KEY": "k" * 24})
    assert ok.exit_code == 0, ok.output
    assert "@example.com" not in (tmp_path / "p-pairs.csv").read_text(encoding="utf-8")


def test_help_shows_config_names_and_no_type_placeholders_on_flags() -> None:
    main = runner.invoke(app, ["--help"], terminal_width=120).output
    assert "overrides [store] path." in main
    pull = runner.invoke(app, ["pull", "--help"], terminal_width=120).output
    assert "[ics], [google], [microsoft], [demo]" in " ".join(pull.split())
    for command in ("demo", "report", "run", "pull", "import", "purge", "doctor", "init"):
        text = runner.invoke(app, [command, "--help"], terminal_width=120).output
        assert "<bool>" not in text and "<str>" not in text and "<float>" not in text, command


# -- the weekly job through the command: options, output, exit status ----------------------------

AS_OF = "2026-06-30"
WEEK = "2026-W27"


def cadence(cfg: Path, store: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, ["--config", str(cfg), "--store", str(store), *args], env=env)


def test_run_purge_doctor_and_init_print_what_they_did(tmp_path: Path) -> None:
    cfg, store = job_config(tmp_path), tmp_path / "s.sqlite"
    doctor = cadence(cfg, store, "doctor")
    assert doctor.exit_code == 0 and "not created yet" in doctor.output
    ran = cadence(cfg, store, "run", "--as-of", AS_OF)
    assert ran.exit_code == 0, ran.output
    folder = tmp_path / "reports" / WEEK
    assert f"Reports: {folder.resolve()}" in ran.output.replace("\n", "")
    assert f"{WEEK}:" in ran.output and "demo: 24 calendars (24 full" in ran.output
    with Store(store) as db:
        events = db.events()
    old = int((events["end"] < pd.Timestamp("2026-04-01", tz="UTC")).sum())
    dry = cadence(cfg, store, "purge", "--before", "2026-04-01", "--dry-run")
    assert dry.exit_code == 0 and f"{old} events" in dry.output and "would remove" in dry.output
    real = cadence(cfg, store, "purge", "--before", "2026-04-01")
    assert real.exit_code == 0 and f"{old} events" in real.output and "removed" in real.output
    future = cadence(cfg, store, "purge", "--before", "2999-01-01")
    assert future.exit_code == 2 and "in the future" in future.output
    target = tmp_path / "c" / "config.toml"
    assert runner.invoke(app, ["init", "--path", str(target)]).exit_code == 0
    again = runner.invoke(app, ["init", "--path", str(target)])
    assert again.exit_code == 2 and "--force" in again.output
    bad = job_config(
        tmp_path,
        f'[google]\nenabled = true\ntoken_path = "{tmp_path / "missing.json"}"\n'
        'calendars = ["ann@example.com"]\n',
    )
    failing = cadence(bad, store, "doctor")
    assert failing.exit_code == 1
    cells = " ".join(failing.output.replace("│", " ").split())  # the table may wrap a cell
    assert "FAIL" in failing.output and "cadence auth google" in cells


def test_run_with_a_failing_source_names_it_and_exits_1(tmp_path: Path) -> None:
    from cadence.sources import demo

    from .fake_google import FakeGoogle, serve, user_token_file

    last = demo.generate(8, seed=5, as_of=AS_OF).pulls()[-1]
    with serve(FakeGoogle()) as fake:  # the demo never shares a store: Google alone
        fake.load(last.events, last.attendees)
        token = user_token_file(tmp_path / "token.json", fake)
        fake.faults["ann@example.com"] += [503] * 50
        fake.calendars["ann@example.com"] = {}
        cals = ["ann@example.com", *sorted(set(last.events["calendar"]))]
        cfg = tmp_path / "config.toml"
        cfg.write_text(
            f'[report]\nout_dir = "{tmp_path / "reports"}"\n'
            "[google]\nenabled = true\nweeks_back = 60\n"
            f'token_path = "{token}"\ntoken_uri = "{fake.url}token"\napi_root = "{fake.url}"\n'
            f"calendars = {json.dumps(cals)}\nretries = 0\n",
            encoding="utf-8",
        )
        result = cadence(cfg, tmp_path / "s.sqlite", "run", "--as-of", AS_OF)
    assert result.exit_code == 1, result.output
    assert "google ann@example.com failed" in result.output
    assert (tmp_path / "reports" / WEEK / "report.html").exists()  # the report is still written


def test_run_usage_errors_busy_store_and_unknown_leader(tmp_path: Path) -> None:
    from cadence.lock import store_lock

    cfg, store = job_config(tmp_path), tmp_path / "s.sqlite"
    with store_lock(store):
        busy = cadence(cfg, store, "run", "--as-of", AS_OF)
    assert busy.exit_code == 1 and "in use by another cadence run" in busy.output
    cfg.write_text(cfg.read_text().replace("org = true", 'org = true\nleader = "no@example.com"'))
    nobody = cadence(cfg, store, "run", "--as-of", AS_OF)
    assert nobody.exit_code == 1 and "leader no@example.com: is not in the roster" in nobody.output
    assert "Traceback" not in nobody.output


def test_a_failed_delivery_is_exit_1_without_the_password(
    tmp_path: Path, smtp: tuple[int, list[Any]]
) -> None:
    port, _ = smtp
    cfg = job_config(tmp_path, mail_section(port))
    wrong = cadence(
        cfg,
        tmp_path / "s.sqlite",
        "run",
        "--as-of",
        AS_OF,
        env={"CADENCE_SMTP_PASSWORD": "nope-nope"},
    )
    assert wrong.exit_code == 1
    assert "refused the login of 'cadence'" in " ".join(wrong.output.split())
    assert "nope-nope" not in wrong.output


def test_bad_config_is_exit_2_naming_the_key(tmp_path: Path) -> None:
    cases = {
        '[report]\nleaderz = "x"\n': "[report] leaderz: unknown key",
        '[report]\nleaders = ["x"]\n': "expected leaders' email addresses, got 'x'",
        "[report]\nmin_group_size = 1\n": "[report] min_group_size = 1",
        '[delivery.email]\nenabled = true\nrecipients = ["hr@example.com"]\n': (
            "[delivery.email]: enabled = true needs sender (the From: address)"
        ),
        '[analysis]\nwindow = "13 weeks"\n': "[analysis] window",
        '[roster]\npath = "/nope/roster.csv"\n': "/nope/roster.csv does not exist",
    }
    for text, words in cases.items():
        cfg = tmp_path / "bad.toml"
        cfg.write_text(text, encoding="utf-8")
        result = cadence(cfg, tmp_path / "s.sqlite", "run")
        assert result.exit_code == 2, (text, result.output)
        assert words in " ".join(result.output.split()), (text, result.output)
        assert str(cfg) in result.output.replace("\n", "")
    missing = runner.invoke(app, ["--config", str(tmp_path / "none.toml"), "run"])
    assert missing.exit_code == 2 and "config file not found" in missing.output


def test_json_logs_and_no_secret_in_any_line(tmp_path: Path) -> None:
    secrets = {
        "CADENCE_SMTP_PASSWORD": "smtp-pass-0123456789",
        "CADENCE_PSEUDONYM_KEY": "pseudonym-key-0123456789",
        "CADENCE_MS_CLIENT_SECRET": "ms-secret-0123456789",
    }
    cfg = job_config(tmp_path)
    cfg.write_text(cfg.read_text().replace("org = true", "org = true\npseudonymize = true"))
    result = runner.invoke(
        app,
        [
            "--log-json",
            "--config",
            str(cfg),
            "--store",
            str(tmp_path / "s.sqlite"),
            "run",
            "--as-of",
            AS_OF,
        ],
        env=secrets,
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    steps = [line.get("step") for line in lines]
    assert {"start", "pull", "report", "finish"} <= set(steps)
    assert all({"time", "level", "message"} <= set(line) for line in lines)
    for value in secrets.values():
        assert value not in result.output
    assert "@example.com" not in (tmp_path / "reports" / WEEK / "report-pairs.csv").read_text()
