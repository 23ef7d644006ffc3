"""The weekly job: init, run (twice; a failing source), locking, delivery, purge, doctor, logs."""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from cadence.cli import app
from cadence.config import Settings, load_config
from cadence.lock import store_lock
from cadence.logs import redact, register_secret
from cadence.org import load_roster
from cadence.store import Store

from .fake_google import FakeGoogle, serve, user_token_file

runner = CliRunner()
AS_OF = "2026-06-30"  # a Tuesday of ISO week 27
WEEK = "2026-W27"


def config(tmp_path: Path, *sections: str) -> Path:
    path = tmp_path / "config.toml"
    base = [
        "[demo]\nenabled = true\npeople = 24\nseed = 5\n",
        f'[report]\nout_dir = "{tmp_path / "reports"}"\norg = true\n',
    ]
    path.write_text("\n".join(base + list(sections)), encoding="utf-8")
    return path


def cadence(cfg: Path, store: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, ["--config", str(cfg), "--store", str(store), *args], env=env)


# -- init ---------------------------------------------------------------------------------------


def test_init_writes_a_config_that_loads_to_the_defaults_and_a_roster_template(
    tmp_path: Path,
) -> None:
    target, roster = tmp_path / "c" / "config.toml", tmp_path / "roster.csv"
    result = runner.invoke(app, ["init", "--path", str(target), "--roster-template", str(roster)])
    assert result.exit_code == 0, result.output
    assert load_config(target) == Settings()
    assert "[delivery.email]" in target.read_text() and "[microsoft]" in target.read_text()
    assert len(load_roster(roster)) == 3
    again = runner.invoke(app, ["init", "--path", str(target)])
    assert again.exit_code == 2 and "--force" in again.output
    assert runner.invoke(app, ["init", "--path", str(target), "--force"]).exit_code == 0


# -- run ----------------------------------------------------------------------------------------


def test_run_twice_in_a_week_replaces_that_week_and_adds_nothing_twice(tmp_path: Path) -> None:
    cfg, store = config(tmp_path), tmp_path / "s.sqlite"
    first = cadence(cfg, store, "run", "--as-of", AS_OF)
    assert first.exit_code == 0, first.output
    folder = tmp_path / "reports" / WEEK
    files = sorted(p.name for p in folder.iterdir())
    assert {
        "report.html",
        "org.html",
        "report-pairs.csv",
        "report-occurrences.parquet",
        "org-departments.csv",
    } <= set(files)
    (folder / "stray.txt").write_text("from an older run")
    with Store(store) as db:
        before = db.counts()
    second = cadence(cfg, store, "run", "--as-of", AS_OF)
    assert second.exit_code == 0, second.output
    assert sorted(p.name for p in folder.iterdir()) == files  # replaced, not added to
    with Store(store) as db:
        after = db.counts()
        runs = db.runs()
    for table in ("events", "attendees", "snapshots"):
        assert after[table] == before[table], table
    assert runs[runs["kind"] == "run"]["status"].tolist() == ["ok", "ok"]
    assert f"Reports: {folder.resolve()}" in second.output.replace("\n", "")


def test_run_twice_with_a_failing_source_reports_it_and_exits_1(tmp_path: Path) -> None:
    with serve(FakeGoogle()) as fake:
        token = user_token_file(tmp_path / "token.json", fake)
        fake.faults["ann@example.com"] += [503] * 50
        fake.calendars["ann@example.com"] = {}
        cfg = config(
            tmp_path,
            "[google]\nenabled = true\n"
            f'token_path = "{token}"\ntoken_uri = "{fake.url}token"\napi_root = "{fake.url}"\n'
            'calendars = ["ann@example.com"]\nretries = 0\n',
        )
        store = tmp_path / "s.sqlite"
        results = [cadence(cfg, store, "run", "--as-of", AS_OF) for _ in range(2)]
    folder = tmp_path / "reports" / WEEK
    for result in results:
        assert result.exit_code == 1, result.output
        assert "google ann@example.com failed" in result.output
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == [WEEK]
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "Source <strong>google</strong> failed" in html  # the report says which is stale
    with Store(store) as db:
        runs = db.runs()
        states = db.sync_states()
        counts = db.counts()
    done = runs[runs["kind"] == "run"]
    assert done["status"].tolist() == ["partial", "partial"]
    assert done["summary"].iloc[-1]["sources"] == {"google": "some calendars failed", "demo": None}
    assert states.set_index("calendar").loc["ann@example.com", "last_error"].startswith("HTTP 503")
    assert counts["snapshots"] == 2  # all + org for the week, not one per run


def test_bad_config_is_exit_2_naming_the_key(tmp_path: Path) -> None:
    cases = {
        '[report]\nleaders = "x"\n': "[report] leaders: unknown key",
        "[report]\nmin_group_size = 1\n": "[report] min_group_size = 1",
        '[delivery.email]\nenabled = true\nrecipients = ["hr@example.com"]\n': (
            "[delivery.email]: enabled = true needs sender and recipients"
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


def test_a_second_run_waits_or_says_the_store_is_busy(tmp_path: Path) -> None:
    cfg, store = config(tmp_path), tmp_path / "s.sqlite"
    with store_lock(store):
        busy = cadence(cfg, store, "run", "--as-of", AS_OF)
    assert busy.exit_code == 1 and "in use by another cadence run" in busy.output
    assert not store.exists() or Store(store).counts()["events"] == 0

    def hold() -> None:
        with store_lock(store):
            time.sleep(0.5)

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.1)
    waited = cadence(cfg, store, "run", "--as-of", AS_OF, "--wait", "20")
    holder.join()
    assert waited.exit_code == 0, waited.output


# -- delivery -----------------------------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[tuple[int, list[Any]]]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    received: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope)
            return "250 OK"

    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == b"smtp-secret-123"
        return AuthResult(success=ok, handled=False)  # let aiosmtpd answer 535 itself

    import socket

    with socket.socket() as probe:  # a free port (the controller checks it by connecting)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        authenticator=check,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()


def mail_section(port: int) -> str:
    return (
        '[delivery.email]\nenabled = true\nhost = "127.0.0.1"\n'
        f'port = {port}\nstarttls = false\nusername = "cadence"\n'
        'sender = "cadence@example.com"\nrecipients = ["hr@example.com", "ada@example.com"]\n'
    )


def test_the_report_is_emailed_through_a_real_smtp_server(
    tmp_path: Path, smtp: tuple[int, list[Any]]
) -> None:
    port, received = smtp
    cfg, store = config(tmp_path, mail_section(port)), tmp_path / "s.sqlite"
    ok = cadence(
        cfg, store, "run", "--as-of", AS_OF, env={"CADENCE_SMTP_PASSWORD": "smtp-secret-123"}
    )
    assert ok.exit_code == 0, ok.output
    (envelope,) = received
    assert sorted(envelope.rcpt_tos) == ["ada@example.com", "hr@example.com"]
    message = message_from_bytes(envelope.content, policy=policy.default)
    assert message["Subject"] == f"1:1 health report · {WEEK}"
    (attachment,) = [part for part in message.walk() if part.get_filename()]
    assert attachment.get_filename() == f"cadence-{WEEK}.zip"
    with zipfile.ZipFile(io.BytesIO(attachment.get_content())) as archive:
        assert archive.namelist() == ["report.html", "org.html"]
        report = archive.read("report.html")
    assert report == (tmp_path / "reports" / WEEK / "report.html").read_bytes()
    assert len(envelope.content) < 10_000_000  # fits the usual mail size limits
    assert "pairs:" in message.get_body(("plain",)).get_content()
    wrong = cadence(cfg, store, "run", "--as-of", AS_OF, env={"CADENCE_SMTP_PASSWORD": "nope-nope"})
    assert wrong.exit_code == 1
    assert "refused the login of 'cadence'" in " ".join(wrong.output.split())
    assert "nope-nope" not in wrong.output


# -- purge --------------------------------------------------------------------------------------


def test_purge_dry_run_then_for_real(tmp_path: Path) -> None:
    cfg, store = config(tmp_path), tmp_path / "s.sqlite"
    assert cadence(cfg, store, "run", "--as-of", AS_OF).exit_code == 0
    with Store(store) as db:
        events = db.events()
    cut = "2026-04-01"
    old = int((events["end"] < pd.Timestamp(cut, tz="UTC")).sum())
    assert 0 < old < len(events)
    dry = cadence(cfg, store, "purge", "--before", cut, "--dry-run")
    assert dry.exit_code == 0 and f"{old} events" in dry.output and "would remove" in dry.output
    with Store(store) as db:
        assert len(db.events()) == len(events)
    real = cadence(cfg, store, "purge", "--before", cut)
    assert real.exit_code == 0 and f"{old} events" in real.output and "removed" in real.output
    with Store(store) as db:
        left = db.events()
        assert len(left) == len(events) - old
        assert (left["end"] >= pd.Timestamp(cut, tz="UTC")).all()
        kept = set(zip(left["calendar"], left["event_id"], strict=True))
        assert set(zip(*[db.attendees()[c] for c in ("calendar", "event_id")], strict=True)) <= kept
    future = cadence(cfg, store, "purge", "--before", "2999-01-01")
    assert future.exit_code == 2 and "in the future" in future.output


# -- doctor -------------------------------------------------------------------------------------


def test_doctor_passes_on_a_good_setup_and_says_what_to_fix(tmp_path: Path) -> None:
    cfg, store = config(tmp_path), tmp_path / "s.sqlite"
    good = cadence(cfg, store, "doctor")
    assert good.exit_code == 0, good.output
    assert "not created yet" in good.output
    bad = config(
        tmp_path,
        f'[google]\nenabled = true\ntoken_path = "{tmp_path / "missing.json"}"\n'
        'calendars = ["ann@example.com"]\n',
    )
    result = cadence(bad, store, "doctor")
    assert result.exit_code == 1
    assert "FAIL" in result.output and "cadence auth google" in " ".join(result.output.split())


# -- logs ---------------------------------------------------------------------------------------


def test_json_logs_and_no_secret_in_any_line(tmp_path: Path) -> None:
    secrets = {
        "CADENCE_SMTP_PASSWORD": "smtp-pass-0123456789",
        "CADENCE_PSEUDONYM_KEY": "pseudonym-key-0123456789",
        "CADENCE_MS_CLIENT_SECRET": "ms-secret-0123456789",
    }
    cfg = config(tmp_path)
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


def test_redaction_of_tokens_and_registered_secrets() -> None:
    register_secret("a-registered-secret-value")
    text = redact(
        "GET /x Authorization: Bearer eyJhbGciOi.abc.def access_token=ya29.xyz "
        'password="hunter2!" refresh_token: 1//0gabc and a-registered-secret-value'
    )
    for leaked in ("eyJhbGciOi", "ya29.xyz", "hunter2", "1//0gabc", "a-registered-secret-value"):
        assert leaked not in text
    assert text.count("***") == 5
