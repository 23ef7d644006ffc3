"""The fault matrix: the real command (in process through CliRunner, or as ``python -m
cadence`` where a process must die) and the library job, through every fault an unattended
weekly run meets, for Google and Microsoft through their fake servers.

Each case asserts the exit status, one line naming what failed (no traceback), and that the
store afterwards — once the fault is gone and the command ran again — equals a clean pull:
nothing lost, nothing duplicated. ``CADENCE_FAULT_TABLE=path`` writes the matrix as a
markdown table (case → exit → message → rows compared) for the notes.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from cadence.cli import app
from cadence.errors import StoreError
from cadence.sources import demo
from cadence.store import Store

from . import test_google, test_graph
from .fake_google import FakeGoogle, user_token_file
from .fake_google import serve as serve_google
from .fake_graph import SECRET, FakeGraph
from .fake_graph import serve as serve_graph

# msal keeps a requests session of its own per app, never closed; when the collector meets it
# in the middle of a test it would fail that test (the CLI's process ends anyway)
pytestmark = pytest.mark.filterwarnings("ignore:unclosed:ResourceWarning")
runner = CliRunner()
MATRIX: list[tuple[str, int, str, int]] = []


def teardown_module() -> None:
    target = os.environ.get("CADENCE_FAULT_TABLE")
    if target and MATRIX:
        lines = ["| case | exit | message | rows compared |", "|---|---|---|---|"]
        for case, code, message, rows in MATRIX:
            shown = message.replace("|", "\\|")[:140]
            lines.append(f"| {case} | {code} | {shown} | {rows} |")
        Path(target).write_text("\n".join(lines) + "\n", encoding="utf-8")


def record(case: str, result: Result | int, message: str, rows: int) -> None:
    code = result if isinstance(result, int) else result.exit_code
    MATRIX.append((case, code, message, rows))


@pytest.fixture(scope="module")
def org() -> demo.DemoOrg:
    return demo.generate(6, seed=8, as_of=pd.Timestamp.now(tz="UTC").normalize())


@pytest.fixture(autouse=True)
def no_backoff_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client libraries' backoff sleeps return at once (the retries still happen)."""
    monkeypatch.setattr("googleapiclient.http.time.sleep", lambda s: None)
    monkeypatch.setattr("urllib3.util.retry.time.sleep", lambda s: None)
    monkeypatch.setattr("cadence.sources.graph.client.time.sleep", lambda s: None)


@dataclass
class World:
    """One provider's fake server holding a small organisation, and a config for it."""

    name: str  # the config section: google, microsoft
    fake: Any
    cals: list[str]
    tmp: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def config(self, **extra: Any) -> Path:
        """The provider's test config, with ``extra`` keys set (replaced where present)."""
        write = test_google.write_config if self.name == "google" else test_graph.write_config
        path: Path = write(self.tmp, self.fake, self.cals)
        text = path.read_text(encoding="utf-8")
        for key, value in {**self.extra, **extra}.items():
            line = f"{key} = {json.dumps(value)}"
            text, n = re.subn(rf"^{key} = .*$", line, text, flags=re.M)
            if not n:
                text += line + "\n"
        own = path.with_name(f"config-{len(list(self.tmp.glob('config-*.toml')))}.toml")
        own.write_text(text, encoding="utf-8")
        return own

    def faults(self, calendar: str, *codes: int | tuple[int, str]) -> None:
        self.fake.faults[calendar] += list(codes)

    def clear(self) -> None:
        self.fake.faults.clear()
        self.fake.hang.clear()
        self.fake.html.clear()
        self.fake.bad_items.clear()


@pytest.fixture(params=["google", "microsoft"])
def world(
    request: pytest.FixtureRequest,
    org: demo.DemoOrg,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    last = org.pulls()[-1]
    cals = sorted(set(last.events["calendar"]))
    if request.param == "google":
        with serve_google(FakeGoogle()) as fake:
            fake.load(last.events, last.attendees)
            yield World("google", fake, cals, tmp_path)
    else:
        with serve_graph(FakeGraph(), tls=tmp_path) as fake:
            monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fake.ca))
            monkeypatch.setenv("CADENCE_MS_CLIENT_SECRET", SECRET)
            fake.load(last.events, last.attendees)
            yield World("microsoft", fake, cals, tmp_path)


def cadence(config: Path, store: Path, *args: str) -> Result:
    return runner.invoke(app, ["--config", str(config), "--store", str(store), *args])


def one_line(result: Result, *words: str) -> str:
    """The error line that names ``words``; there is no traceback anywhere."""
    text = result.output
    assert "Traceback" not in text and 'File "' not in text, text
    lines = [line for line in text.splitlines() if all(w in line for w in words)]
    assert lines, f"no line with {words} in:\n{text}"
    return lines[0].strip()


def same_as(store: Path, clean: Path) -> int:
    """The rows of both stores are equal; how many were compared."""
    with Store(store) as a, Store(clean) as b:
        ea, eb, aa, ab = a.events(), b.events(), a.attendees(), b.attendees()
    pd.testing.assert_frame_equal(ea, eb)
    pd.testing.assert_frame_equal(aa, ab)
    assert len(ea) > 0
    return len(ea) + len(aa)


def clean_pull(w: World, config: Path) -> Path:
    clean = w.tmp / "clean.sqlite"
    ok = cadence(config, clean, "pull")
    assert ok.exit_code == 0, ok.output
    return clean


# -- provider faults: retried, or that calendar's failure; the next pull makes it whole ----------


RETRIED = {  # calendar index → faults, met and retried within one pull
    "google": {
        0: ("429 burst", [(429, "rateLimitExceeded")] * 2),
        1: ("403 rateLimitExceeded", [(403, "rateLimitExceeded")] * 2),
        2: ("5xx burst", [500, 503, 502]),
    },
    "microsoft": {0: ("429 burst", [429, 429]), 2: ("5xx burst", [503, 504, 503])},
}
FAILS = {  # calendar index → a fault beyond the retries, and the words of its line
    3: ("5xx beyond the retries", "HTTP 503"),
    4: ("hang past the timeout", "timed out"),
    5: ("an HTML page instead of JSON", "not JSON"),
}


def test_retried_faults_land_and_failing_calendars_fail_alone_then_heal(world: World) -> None:
    """One pull meets every fault: throttling and bursts are retried; 5xx beyond the
    retries, a hang and an HTML page fail their calendar alone; the next pull (Google: after
    its sync tokens expired, 410) makes the store equal a clean pull."""
    config = world.config(retries=3, timeout_seconds=0.5)
    clean = clean_pull(world, config)
    for i, (_case, codes) in RETRIED[world.name].items():
        world.faults(world.cals[i], *codes)
    world.faults(world.cals[3], *([503] * 10))
    world.fake.hang[world.cals[4]] = 2.0
    world.fake.html.add(world.cals[5])
    store = world.tmp / "s.sqlite"
    result = cadence(config, store, "pull")
    assert result.exit_code == 1
    assert not any(world.fake.faults[world.cals[i]] for i in RETRIED[world.name])  # all met
    lines = {}
    for i, (case, words) in FAILS.items():
        lines[case] = one_line(result, f"{world.name} {world.cals[i]} failed:")
        assert words in lines[case], lines[case]
    assert one_line(result, f"3 of {len(world.cals)} {world.name}")
    with Store(store) as db:  # the others landed, the retried ones among them
        assert set(db.events()["calendar"]) == set(world.cals[:3])
        assert db.runs()["status"].tolist() == ["partial"]
    world.clear()
    if world.name == "google":
        for calendar in world.cals[:3]:
            world.fake.expire_tokens(calendar)
    again = cadence(config, store, "pull")
    assert again.exit_code == 0, again.output
    if world.name == "google":
        assert "3 re-synced" in again.output
    rows = same_as(store, clean)
    for _i, (case, _codes) in RETRIED[world.name].items():
        record(f"{world.name}: {case}", 0, "(retried; no message)", rows)
    for case, line in lines.items():
        record(f"{world.name}: {case}", result, line, rows)
    if world.name == "google":
        record("google: 410 expired sync token (next pull)", again, "(re-synced; no message)", rows)


def test_bad_items_are_skipped_and_listed_and_the_rest_lands(world: World) -> None:
    config = world.config()
    clean = clean_pull(world, config)
    bad = world.cals[0]
    if world.name == "google":
        items: list[Any] = [
            {"status": "confirmed", "start": {"dateTime": "2026-06-01T09:00:00Z"}},
            "not an object",
            {
                "id": "bad-date",
                "status": "confirmed",
                "iCalUID": "bad-date@google.com",
                "start": {"dateTime": "the day after tomorrow"},
                "end": {"dateTime": "2026-06-01T09:30:00Z"},
            },
        ]
    else:
        items = [
            {"type": "singleInstance", "start": {"dateTime": "2026-06-01T09:00:00"}},
            "not an object",
            {
                "id": "bad-date",
                "type": "singleInstance",
                "iCalUId": "bad-date",
                "start": {"dateTime": "the day after tomorrow", "timeZone": "UTC"},
                "end": {"dateTime": "2026-06-01T09:30:00", "timeZone": "UTC"},
            },
        ]
    world.fake.bad_items[bad] = items
    store = world.tmp / "s.sqlite"
    result = cadence(config, store, "pull")
    assert result.exit_code == 0, result.output
    line = one_line(result, "skipped", bad, "event bad-date")
    assert "cannot be read" in line
    assert one_line(result, "skipped", bad, "item 1 has no id")
    assert one_line(result, "skipped", bad, "item 2 is not an object")
    with Store(store) as db:
        problems = db.runs()["summary"].iloc[-1]["problems"]
    assert len(problems) == 3 and all(p.startswith(bad) for p in problems)
    record(
        f"{world.name}: bad items (no id, not an object, bad date)",
        result,
        line,
        same_as(store, clean),
    )


def test_an_unreachable_sign_in_server_is_that_sources_failure(world: World) -> None:
    config = world.config()
    clean = clean_pull(world, config)
    dead = "http://127.0.0.1:9/token" if world.name == "google" else "https://127.0.0.1:9"
    key = "token_uri" if world.name == "google" else "authority_host"
    text = config.read_text(encoding="utf-8")
    broken = world.tmp / "broken.toml"
    if world.name == "google":  # an expired token, to be refreshed at the dead server
        token = user_token_file(world.tmp / "token.json", world.fake)
        token.write_text(token.read_text().replace(world.fake.url + "token", dead))
    broken.write_text(re.sub(rf"^{key} = .*$", f'{key} = "{dead}"', text, flags=re.M))
    store = world.tmp / "s.sqlite"
    result = cadence(broken, store, "pull")
    assert result.exit_code == 1
    line = one_line(result, "failed")
    assert world.name in line
    doctor = cadence(broken, store, "doctor", "--offline")  # never contacts the dead server
    assert "Traceback" not in doctor.output
    config = world.config()  # healed (a fresh token for Google)
    again = cadence(config, store, "pull")
    assert again.exit_code == 0, again.output
    record(f"{world.name}: sign-in server unreachable", result, line, same_as(store, clean))


def test_the_weekly_run_with_one_source_down_is_partial_and_writes_the_report(
    org: demo.DemoOrg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Google pulls, Microsoft's sign-in server is gone: the run is partial, exit 1, and
    the report is written with Microsoft's failure in its header."""
    last = org.pulls()[-1]
    with serve_google(FakeGoogle()) as fake:
        fake.load(last.events, last.attendees)
        w = World("google", fake, sorted(set(last.events["calendar"])), tmp_path)
        config = w.config()
        with config.open("a", encoding="utf-8") as fh:
            fh.write(
                f'[report]\nout_dir = "{tmp_path / "reports"}"\n'
                '[microsoft]\nenabled = true\nauth = "application"\ntenant = "t.example.com"\n'
                'client_id = "c"\nclient_secret = "s"\nauthority_host = "https://127.0.0.1:9"\n'
                'mailboxes = ["ann@example.com"]\nretries = 0\n'
            )
        store = tmp_path / "s.sqlite"
        result = cadence(config, store, "run")
        assert result.exit_code == 1, result.output
        line = one_line(result, "microsoft failed")
    (report,) = (tmp_path / "reports").glob("*/report.html")
    html = report.read_text(encoding="utf-8")
    assert "Source <strong>graph</strong> failed" in html  # the store's name of the source
    with Store(store) as db:
        runs = db.runs()
    assert runs.loc[runs["kind"] == "run", "status"].tolist() == ["partial"]
    record("google ok + microsoft sign-in down: `cadence run`", result, line, 0)


# -- store faults ---------------------------------------------------------------------------------


@pytest.fixture
def google_world(org: demo.DemoOrg, tmp_path: Path) -> Iterator[World]:
    last = org.pulls()[-1]
    with serve_google(FakeGoogle()) as fake:
        fake.load(last.events, last.attendees)
        yield World("google", fake, sorted(set(last.events["calendar"])), tmp_path)


def _connect_with(
    monkeypatch: pytest.MonkeyPatch, setup: str | None = None, uri: str | None = None
) -> None:
    real = sqlite3.connect

    def connect(path: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        if uri is not None:
            db = real(f"file:{path}?{uri}", *args, uri=True, **kwargs)
        else:
            db = real(path, *args, **kwargs)
        if setup:
            db.execute(setup)
        return db

    monkeypatch.setattr("cadence.store.sqlite3.connect", connect)


def test_a_full_disk_names_its_cause_and_loses_nothing(
    google_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = google_world
    config = w.config()
    clean = clean_pull(w, config)
    store = w.tmp / "s.sqlite"
    half = w.config(calendars=w.cals[:1])
    assert cadence(half, store, "pull").exit_code == 0
    with Store(store) as db:
        before = (db.events(include_meta=True), db.attendees(), db.changes())
        pages = db._db.execute("PRAGMA page_count").fetchone()[0]
    _connect_with(monkeypatch, f"PRAGMA max_page_count = {pages}")  # not one page more
    result = cadence(config, store, "pull")
    assert result.exit_code == 1
    line = one_line(result, "google failed:", str(store), "full")
    assert "cannot rollback" not in result.output and "nothing already stored was lost" in line
    monkeypatch.undo()
    with Store(store) as db:
        pd.testing.assert_frame_equal(db.events(include_meta=True), before[0])
        pd.testing.assert_frame_equal(db.attendees(), before[1])
        pd.testing.assert_frame_equal(db.changes(), before[2])
    again = cadence(config, store, "pull")
    assert again.exit_code == 0, again.output
    record("store: full disk (max_page_count) mid-pull", result, line, same_as(store, clean))


def test_a_full_disk_in_the_library_write_rolls_back_and_says_so(
    org: demo.DemoOrg, tmp_path: Path
) -> None:
    pulls = org.pulls()
    with Store(tmp_path / "s.sqlite") as db:
        db.write_pull(pulls[0])
        before = db.events(include_meta=True)
        pages = db._db.execute("PRAGMA page_count").fetchone()[0]
        db._db.execute(f"PRAGMA max_page_count = {pages + 1}")
        with pytest.raises(StoreError, match=r"database or disk is full; the disk .* is full"):
            db.write_pull(pulls[-1])
        pd.testing.assert_frame_equal(db.events(include_meta=True), before)
        assert not db._db.in_transaction


def test_a_read_only_store_and_a_read_only_folder_are_one_line(
    google_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = google_world
    config = w.config()
    store = w.tmp / "s.sqlite"
    assert cadence(config, store, "pull").exit_code == 0
    _connect_with(monkeypatch, uri="mode=ro")  # as a file this user may not write
    result = cadence(config, store, "pull")
    assert result.exit_code == 1
    line = one_line(result, "google failed:", str(store), "read-only")
    monkeypatch.undo()
    record("store: read-only file", result, line, same_as(store, store))

    def refuse(path: Any, *args: Any, **kwargs: Any) -> int:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("cadence.lock.os.open", refuse)  # as a folder this user may not write
    locked = cadence(config, store, "pull")
    assert locked.exit_code == 1
    line = one_line(locked, "lock file", "Permission denied", "writable")
    record("store: read-only folder (the lock file)", locked, line, 0)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files anyway")
def test_a_really_read_only_folder(google_world: World) -> None:
    folder = google_world.tmp / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        result = cadence(google_world.config(), folder / "s.sqlite", "pull")
    finally:
        folder.chmod(0o700)
    assert result.exit_code == 1 and one_line(result, "lock file")


def test_a_corrupt_store_is_one_line_for_every_command(google_world: World) -> None:
    w = google_world
    config = w.config()
    store = w.tmp / "s.sqlite"
    assert cadence(config, store, "pull").exit_code == 0
    with Store(store) as db:
        db._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = db._db.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(store.read_bytes())
    for page in range(2, len(data) // size):  # every page but the header's
        data[page * size : page * size + 64] = b"\xa5" * 64
    store.write_bytes(bytes(data))
    for args in (("pull",), ("report",)):
        result = cadence(config, store, *args)
        assert result.exit_code == 1, result.output
        line = one_line(result, str(store), "damaged")
    record("store: corrupt pages (`pull`, `report`)", result, line, 0)
    store.write_bytes(b"this is not a database" * 100)
    result = cadence(config, store, "pull")
    assert result.exit_code == 1
    record(
        "store: not an SQLite file", result, one_line(result, str(store), "not a Cadence store"), 0
    )


def test_files_are_created_owner_only_whatever_the_umask(google_world: World) -> None:
    w = google_world
    old = os.umask(0)
    try:
        store = w.tmp / "new" / "s.sqlite"
        assert cadence(w.config(), store, "pull").exit_code == 0
        target = w.tmp / "init" / "config.toml"
        assert runner.invoke(app, ["init", "--path", str(target)]).exit_code == 0
    finally:
        os.umask(old)
    for path in (store, store.with_name("s.sqlite.lock"), target, w.tmp / "token.json"):
        assert oct(path.stat().st_mode & 0o777) == "0o600", path
    for suffix in ("-wal", "-shm"):
        extra = Path(f"{store}{suffix}")
        if extra.exists():
            assert extra.stat().st_mode & 0o077 == 0, extra


# -- runs that die: SIGKILL at several points; the next run marks them interrupted ---------------


def _cli(config: Path, store: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CADENCE_CONFIG": str(config)}
    cmd = [sys.executable, "-m", "cadence", "--quiet", *args, "--store", str(store)]
    return subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "kill_at"),
    [("pull", "mid-calendar"), ("run", "after the pull")],
)
def test_sigkill_then_the_next_run_marks_it_interrupted_and_heals_the_store(
    google_world: World, command: str, kill_at: str
) -> None:
    w = google_world
    config = w.config(workers=1)
    with config.open("a", encoding="utf-8") as fh:
        fh.write(f'[report]\nout_dir = "{w.tmp / "reports"}"\n')
    clean = clean_pull(w, config)
    store = w.tmp / "s.sqlite"
    victim = w.cals[3]
    if kill_at != "after the pull":
        w.fake.hang[victim] = 60.0
    seen, seen_last = w.fake.requests_to(victim), w.fake.requests_to(w.cals[-1])
    proc = _cli(config, store, command)
    deadline = time.monotonic() + 60
    if kill_at == "after the pull":  # the last calendar answered: the run is past its pull
        while w.fake.requests_to(w.cals[-1]) == seen_last and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
    else:
        while w.fake.requests_to(victim) == seen and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.3)  # finished calendars are written at least every second
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    w.clear()
    with Store(store) as db:
        left = db.runs()
    assert "running" in left["status"].tolist()  # it really died before finishing a run
    again = _cli(config, store, command)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err.decode()
    with Store(store) as db:
        runs = db.runs()
    statuses = runs["status"].tolist()
    assert "running" not in statuses and "interrupted" in statuses, statuses
    dead = runs[runs["status"] == "interrupted"]
    assert (dead["finished_at"].notna()).all()
    record(
        f"google: SIGKILL during `{command}` ({kill_at}), then again",
        again.returncode,
        f"runs: {', '.join(statuses)}",
        same_as(store, clean),
    )


def test_a_signal_that_stops_a_run_finishes_its_row_as_interrupted(google_world: World) -> None:
    w = google_world
    config = w.config(workers=1)
    store = w.tmp / "s.sqlite"
    w.fake.hang[w.cals[2]] = 60.0
    proc = _cli(config, store, "pull")
    deadline = time.monotonic() + 60
    while w.fake.requests_to(w.cals[2]) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    w.clear()
    with Store(store) as db:
        runs = db.runs()
    assert runs["status"].tolist() == ["interrupted"] and runs["finished_at"].notna().all()
    record("google: SIGTERM during `pull`", proc.returncode, "runs: interrupted", 0)


# -- config, roster and doctor --------------------------------------------------------------------


CONFIG_FAULTS = [
    ("config not UTF-8", b"[demo]\nenabled = true\n# caf\xe9\n", "line 3: not UTF-8"),
    ("NUL byte in a path", b'[roster]\npath = "ros\\u0000ter.csv"\n', "NUL byte"),
    ("boolean as a string", b'[demo]\nenabled = "yes"\n', "expected true or false"),
    ("a@b@c as an email", b'[report]\nleader = "a@b@c"\n', "[report] leader"),
    ("[demo] people unbounded", b"[demo]\nenabled = true\npeople = 1000000000\n", "people"),
    ("workers unbounded", b"[google]\nworkers = 500\n", "[google] workers"),
    (
        "http:// sign-in authority",
        b'[microsoft]\nauthority_host = "http://login.example"\n',
        "https://",
    ),
]


@pytest.mark.parametrize(
    ("case", "text", "words"), CONFIG_FAULTS, ids=[c[0] for c in CONFIG_FAULTS]
)
def test_a_bad_config_is_one_exit_2_line_naming_file_and_key(
    tmp_path: Path, case: str, text: bytes, words: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(text)
    store = tmp_path / "s.sqlite"
    for command in ("pull", "run", "doctor"):
        result = cadence(config, store, command)
        assert result.exit_code == 2, (command, result.output)
        line = one_line(result, str(config), words)
    assert not store.exists()  # nothing was touched
    record(f"config: {case}", result, line, 0)


def test_a_roster_with_a_duplicate_column_is_exit_2_naming_file_and_line(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("email,manager_email,team,Team\nann@example.com,,a,b\n", encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[roster]\npath = "{roster}"\n[demo]\nenabled = true\npeople = 6\n'
        f'[report]\nout_dir = "{tmp_path / "reports"}"\n',
        encoding="utf-8",
    )
    result = cadence(config, tmp_path / "s.sqlite", "run")
    assert result.exit_code == 2, result.output
    line = one_line(result, f"{roster}, line 1", "'team' appears more than once")
    doctor = cadence(config, tmp_path / "s.sqlite", "doctor")
    # the table wraps long paths: the roster row fails and names the duplicate column
    assert doctor.exit_code == 1 and re.search(r"roster\s+│ FAIL", doctor.output)
    assert "'team' appears" in doctor.output
    record("roster: duplicate header column", result, line, 0)


def test_doctor_shows_every_row_fails_without_a_source_and_warns_without_a_roster(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[roster]\npath = "{tmp_path / "missing.csv"}"\n', encoding="utf-8")
    result = cadence(config, tmp_path / "s.sqlite", "doctor")
    assert result.exit_code == 1
    rows = {line.split()[0] for line in result.output.splitlines() if line.strip()}
    assert {"config", "store", "roster", "sources"} <= rows  # the bad roster stopped nothing
    assert "missing.csv" in result.output and "no source enabled" in result.output
    record(
        "doctor: bad roster path, no source", result, "roster FAIL; sources FAIL; whole table", 0
    )
    config.write_text('[google]\nenabled = true\ncalendars = ["ann@example.com"]\n')
    warned = cadence(config, tmp_path / "s.sqlite", "doctor", "--offline")
    cells = " ".join(warned.output.replace("│", " ").split())
    assert "warn" in cells and "no roster" in cells


def test_doctor_offline_opens_no_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """msal looks its authority up when it is built: the offline doctor builds no sign-in."""
    cache = tmp_path / "cache.json"
    cache.write_text("{}")
    token = tmp_path / "token.json"
    token.write_text("{}")
    config = tmp_path / "config.toml"
    config.write_text(
        '[microsoft]\nenabled = true\nclient_id = "c"\ntenant = "t.example.com"\n'
        f'token_cache = "{cache}"\nmailboxes = ["ann@example.com"]\n'
        f'[google]\nenabled = true\ntoken_path = "{token}"\ncalendars = ["ann@example.com"]\n',
        encoding="utf-8",
    )
    opened: list[Any] = []

    def no_network(self: socket.socket, address: Any) -> None:
        opened.append(address)
        raise OSError("the offline doctor opened a socket")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: opened.append(a) or [])
    result = cadence(config, tmp_path / "s.sqlite", "doctor", "--offline")
    assert opened == [] and "Traceback" not in result.output
    assert result.exit_code == 0, result.output
    record("doctor --offline (msal, google): no socket", result, "every row ok; 0 sockets", 0)


# -- the demo keeps to its own store ------------------------------------------------------


def test_the_demo_and_real_sources_never_share_a_store(google_world: World) -> None:
    w = google_world
    real = w.config()
    store = w.tmp / "s.sqlite"
    assert cadence(real, store, "pull").exit_code == 0
    demo_config = w.tmp / "demo.toml"
    demo_config.write_text("[demo]\nenabled = true\npeople = 6\n", encoding="utf-8")
    refused = cadence(demo_config, store, "pull")
    assert refused.exit_code == 2
    line = one_line(refused, str(store), "holds real calendar data")
    demo_store = w.tmp / "demo.sqlite"
    assert cadence(demo_config, demo_store, "pull").exit_code == 0
    with Store(demo_store) as db:
        assert db.roster() is not None  # the demo brings its roster: real leader/report pairs
    back = cadence(real, demo_store, "pull")
    assert back.exit_code == 2
    one_line(back, str(demo_store), "holds the demo organisation")
    record("demo source into a real store (and back)", refused, line, same_as(store, store))
