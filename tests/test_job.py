"""The weekly job as a library: init, run_week (twice; a failing source; an unknown leader),
locking, delivery, purge, doctor. The command's options, output and exit codes are in
test_cli.py; here the functions are called as a notebook or a scheduler script would."""

from __future__ import annotations

import threading
import time
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cadence import job
from cadence.config import Settings, load_config
from cadence.errors import ConfigError, StoreBusyError
from cadence.lock import store_lock
from cadence.logs import redact, register_secret
from cadence.org import load_roster
from cadence.sources import demo
from cadence.store import Store

from .fake_google import FakeGoogle, serve, user_token_file
from .helpers import job_config as config
from .helpers import mail_section

AS_OF = "2026-06-30"  # a Tuesday of ISO week 27
WEEK = "2026-W27"


def settings(tmp_path: Path, *sections: str) -> Settings:
    return load_config(config(tmp_path, *sections))


# -- init ---------------------------------------------------------------------------------------


def test_init_writes_a_config_that_loads_to_the_defaults_and_a_roster_template(
    tmp_path: Path,
) -> None:
    target, roster = tmp_path / "c" / "config.toml", tmp_path / "roster.csv"
    assert job.init_config(target, roster_template=roster) == [target, roster]
    assert load_config(target) == Settings()
    assert "[delivery.email]" in target.read_text() and "[microsoft]" in target.read_text()
    assert len(load_roster(roster)) == 3
    with pytest.raises(ConfigError, match="--force"):
        job.init_config(target)
    assert job.init_config(target, force=True) == [target]


# -- run ----------------------------------------------------------------------------------------


def test_run_twice_in_a_week_replaces_that_week_and_adds_nothing_twice(tmp_path: Path) -> None:
    cfg, store = settings(tmp_path), tmp_path / "s.sqlite"
    first = job.run_week(cfg, store, as_of=AS_OF)
    assert first.status == "ok" and first.week == WEEK
    folder = tmp_path / "reports" / WEEK
    names = [p.name for p in first.reports]
    assert first.folder == folder and names[:2] == ["report.html", "org.html"]
    with Store(store) as db:
        roster = db.roster()
    assert roster is not None  # the demo source brings its roster: one report per manager
    managers = roster["manager_email"].dropna().unique()
    assert sorted(names[2:]) == sorted(f"team-{m.split('@')[0]}.html" for m in managers)
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
    second = job.run_week(cfg, store, as_of=AS_OF)
    assert second.status == "ok"
    assert sorted(p.name for p in folder.iterdir()) == files  # replaced, not added to
    with Store(store) as db:
        after = db.counts()
        runs = db.runs()
    for table in ("events", "attendees", "snapshots"):
        assert after[table] == before[table], table
    assert runs[runs["kind"] == "run"]["status"].tolist() == ["ok", "ok"]


def test_run_twice_with_a_failing_source_reports_it_and_is_partial(tmp_path: Path) -> None:
    org = demo.generate(12, seed=5, as_of=AS_OF)
    last = org.pulls()[-1]
    roster = tmp_path / "roster.csv"
    org.roster.to_csv(roster, index=False)
    with serve(FakeGoogle()) as fake:
        fake.load(last.events, last.attendees)
        token = user_token_file(tmp_path / "token.json", fake)
        fake.faults["ann@example.com"] += [503] * 50
        fake.calendars["ann@example.com"] = {}
        cals = ["ann@example.com", *sorted(set(last.events["calendar"]))]
        (tmp_path / "config.toml").write_text(
            f'[report]\nout_dir = "{tmp_path / "reports"}"\norg = true\n'
            f'[roster]\npath = "{roster}"\n'
            "[google]\nenabled = true\nweeks_back = 60\n"
            f'token_path = "{token}"\ntoken_uri = "{fake.url}token"\napi_root = "{fake.url}"\n'
            f"calendars = {cals!r}\nretries = 0\n".replace("'", '"'),
            encoding="utf-8",
        )
        cfg = load_config(tmp_path / "config.toml")
        store = tmp_path / "s.sqlite"
        results = [job.run_week(cfg, store, as_of=AS_OF) for _ in range(2)]
    folder = tmp_path / "reports" / WEEK
    for result in results:
        assert result.status == "partial" and result.failed
        (google,) = [s for s in result.pulls.sources if s.section == "google"]
        assert list(google.summary.failed) == ["ann@example.com"]
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == [WEEK]
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "Source <strong>google</strong> failed" in html  # the report says which is stale
    with Store(store) as db:
        runs = db.runs()
        states = db.sync_states()
        counts = db.counts()
    done = runs[runs["kind"] == "run"]
    assert done["status"].tolist() == ["partial", "partial"]
    assert done["summary"].iloc[-1]["sources"] == {"google": "some calendars failed"}
    assert states.set_index("calendar").loc["ann@example.com", "last_error"].startswith("HTTP 503")
    leaders = org.roster["manager_email"].dropna().nunique()
    assert counts["snapshots"] == 2 + leaders  # all + org + each leader's, not one per run


def test_an_unknown_leader_is_named_and_the_run_is_partial_not_left_running(
    tmp_path: Path,
) -> None:
    cfg = settings(tmp_path)
    cfg = cfg.model_copy(
        update={"report": cfg.report.model_copy(update={"leader": "nobody@example.com"})}
    )
    store = tmp_path / "s.sqlite"
    done = job.run_week(cfg, store, as_of=AS_OF)
    assert done.status == "partial"
    assert done.failures == [
        "leader nobody@example.com: is not in the roster; check the leader's email address"
    ]
    assert [p.name for p in done.reports] == ["report.html", "org.html"]  # the rest is written
    with Store(store) as db:
        runs = db.runs()
    assert runs.loc[runs["kind"] == "run", "status"].tolist() == ["partial"]
    assert "nobody@example.com" in runs["summary"].iloc[-1]["delivery_error"]


def test_a_second_run_waits_or_says_the_store_is_busy(tmp_path: Path) -> None:
    cfg, store = settings(tmp_path), tmp_path / "s.sqlite"
    with store_lock(store), pytest.raises(StoreBusyError, match="in use by another cadence run"):
        job.run_week(cfg, store, as_of=AS_OF)
    assert not store.exists() or Store(store).counts()["events"] == 0

    def hold() -> None:
        with store_lock(store):
            time.sleep(0.5)

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.1)
    waited = job.run_week(cfg, store, as_of=AS_OF, wait=20)
    holder.join()
    assert waited.status == "ok"


# -- delivery -----------------------------------------------------------------------------------


def test_the_report_is_emailed_through_a_real_smtp_server(
    tmp_path: Path, smtp: tuple[int, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, received = smtp
    cfg, store = settings(tmp_path, mail_section(port)), tmp_path / "s.sqlite"
    monkeypatch.setenv("CADENCE_SMTP_PASSWORD", "smtp-secret-123")
    ok = job.run_week(cfg, store, as_of=AS_OF)
    assert ok.status == "ok" and ok.delivery_error is None
    (envelope,) = [e for e in received if "ada@example.com" in e.rcpt_tos]
    assert sorted(envelope.rcpt_tos) == ["ada@example.com", "hr@example.com"]
    with Store(store) as db:
        roster = db.roster()
    assert roster is not None  # the demo brings its roster: each manager gets their digest
    leaders = sorted(e.rcpt_tos[0] for e in received if e is not envelope)
    assert leaders == sorted(roster["manager_email"].dropna().unique())
    message = message_from_bytes(envelope.content, policy=policy.default)
    assert message["Subject"] == f"1:1 health report · {WEEK}"
    (attachment,) = [part for part in message.walk() if part.get_filename()]
    assert attachment.get_filename() == "report.html"  # the org report: hr_recipients only
    report = attachment.get_payload(decode=True)
    assert report == (tmp_path / "reports" / WEEK / "report.html").read_bytes()
    assert len(envelope.content) < 10_000_000  # fits the usual mail size limits
    assert "need attention" in message.get_body(("plain",)).get_content()
    monkeypatch.setenv("CADENCE_SMTP_PASSWORD", "nope-nope")
    wrong = job.run_week(cfg, store, as_of=AS_OF)
    assert wrong.status == "partial" and wrong.delivery_error is not None
    assert "refused the login of 'cadence'" in wrong.delivery_error
    assert "nope-nope" not in wrong.delivery_error


# -- purge --------------------------------------------------------------------------------------


def test_purge_dry_run_then_for_real(tmp_path: Path) -> None:
    cfg, store = settings(tmp_path), tmp_path / "s.sqlite"
    assert job.run_week(cfg, store, as_of=AS_OF).status == "ok"
    with Store(store) as db:
        events = db.events()
    cut = "2026-04-01"
    old = int((events["end"] < pd.Timestamp(cut, tz="UTC")).sum())
    assert 0 < old < len(events)
    dry = job.purge(store, cut, dry_run=True)
    assert dry["events"] == old
    with Store(store) as db:
        assert len(db.events()) == len(events)
    real = job.purge(store, cut)
    assert real["events"] == old
    with Store(store) as db:
        left = db.events()
        assert len(left) == len(events) - old
        assert (left["end"] >= pd.Timestamp(cut, tz="UTC")).all()
        kept = set(zip(left["calendar"], left["event_id"], strict=True))
        assert set(zip(*[db.attendees()[c] for c in ("calendar", "event_id")], strict=True)) <= kept
    with pytest.raises(ConfigError, match="in the future"):
        job.purge(store, "2999-01-01")


# -- doctor -------------------------------------------------------------------------------------


def test_doctor_passes_on_a_good_setup_and_says_what_to_fix(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    good = job.doctor(settings(tmp_path), store)
    assert all(c.ok for c in good), good
    assert any("not created yet" in c.detail for c in good if c.name == "store")
    bad = settings(
        tmp_path,
        f'[google]\nenabled = true\ntoken_path = "{tmp_path / "missing.json"}"\n'
        'calendars = ["ann@example.com"]\n',
    )
    (google,) = [c for c in job.doctor(bad, store) if c.name == "google"]
    assert not google.ok and "cadence auth google" in google.detail


# -- logs ---------------------------------------------------------------------------------------


def test_redaction_of_tokens_and_registered_secrets() -> None:
    register_secret("a-registered-secret-value")
    text = redact(
        "GET /x Authorization: Bearer eyJhbGciOi.abc.def access_token=ya29.xyz "
        'password="hunter2!" refresh_token: 1//0gabc and a-registered-secret-value'
    )
    for leaked in ("eyJhbGciOi", "ya29.xyz", "hunter2", "1//0gabc", "a-registered-secret-value"):
        assert leaked not in text
    assert text.count("***") == 5


def test_the_org_review_keeps_group_figures_and_next_week_shows_their_change(
    tmp_path: Path,
) -> None:
    cfg, store = settings(tmp_path), tmp_path / "s.sqlite"
    job.run_week(cfg, store, as_of=AS_OF)
    with Store(store) as db:
        kept = db.previous_snapshot("org", pd.Timestamp("2026-07-07", tz="UTC"))
        leader = db.previous_snapshot("all", pd.Timestamp("2026-07-07", tz="UTC"))
    assert kept is not None and leader is not None
    groups = kept.cards["review"]["groups"]
    assert kept.cards["review"]["coverage_weeks"] == cfg.report.coverage_weeks
    assert {"department", "manager"} <= set(groups) and groups["department"]
    assert "review" not in leader.cards  # only the organisation review keeps them
    job.run_week(cfg, store, as_of="2026-07-07")
    html = (tmp_path / "reports" / "2026-W28" / "org.html").read_text(encoding="utf-8")
    assert "Since 30 June 2026" in html
    departments = pd.read_csv(tmp_path / "reports" / "2026-W28" / "org-departments.csv")
    # the demo brings its roster: coverage is known per department, with its change
    assert departments["uncovered_share"].between(0, 1).all()
    named = departments[~departments["group"].str.startswith("other groups")]
    assert len(named) >= 2  # the pooled small groups carry no change (their pool may differ)
    assert named["Δuncovered_share"].notna().all() and named["Δcancellation_rate"].notna().all()
