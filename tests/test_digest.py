"""Every leader's own report and digest: by email through a real SMTP server (aiosmtpd),
to Slack and Teams through a local fake webhook server; privacy (each leader gets exactly
their own pairs, only hr_recipients the organisation report), invitations, bad input."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import icalendar
import pandas as pd
import pytest
from markupsafe import escape
from typer.testing import CliRunner

from cadence import job
from cadence.analysis import analyze
from cadence.cli import app
from cadence.config import load_config
from cadence.report import digest
from cadence.sources import demo
from cadence.store import Store

from .fake_webhook import FakeWebhooks, serve_webhooks
from .helpers import job_config

AS_OF = "2026-06-30"
WEEK = "2026-W27"
ORG = demo.generate(24, seed=5, as_of=AS_OF)  # what the job's [demo] source generates
ROSTER = ORG.roster
MANAGERS = [e for e in ROSTER["email"] if e in set(ROSTER["manager_email"].dropna())]
NAMES = dict(zip(ROSTER["email"], ROSTER["name"], strict=True))


def write_roster(tmp_path: Path, roster: pd.DataFrame = ROSTER) -> str:
    path = tmp_path / "roster.csv"
    roster.to_csv(path, index=False)
    return f'[roster]\npath = "{path}"\n'


def mail(port: int) -> str:
    return (
        '[delivery.email]\nenabled = true\nhost = "127.0.0.1"\n'
        f'port = {port}\nstarttls = false\nsender = "cadence@example.com"\n'
    )


def slug(email: str) -> str:
    return email.split("@")[0].replace(".", "_").upper()


def hooks(fake: FakeWebhooks, channel: str, leaders: list[str], **extra: Any) -> tuple[str, dict]:
    """A [delivery.<channel>] section with a webhook per leader, and the environment."""
    env = {
        f"CADENCE_{channel.upper()}_{slug(e)}": f"{fake.url}/{channel}/{slug(e)}/s3cr3t-token"
        for e in leaders
    }
    pairs = ", ".join(f'"{e}" = "CADENCE_{channel.upper()}_{slug(e)}"' for e in leaders)
    more = "".join(f"{k} = {v}\n" for k, v in extra.items())
    return f"[delivery.{channel}]\nenabled = true\nleader_webhooks = {{ {pairs} }}\n{more}", env


def everything(message: EmailMessage) -> str:
    """Every part of a message, decoded: bodies and attachments."""
    texts = []
    for part in message.walk():
        if part.is_multipart():
            continue
        content = part.get_content()
        texts.append(content.decode("utf-8") if isinstance(content, bytes) else content)
    return "\n".join(texts)


def team_of(leader: str) -> set[str]:
    """The leader and their direct reports, from the roster by hand."""
    return {leader} | set(ROSTER.loc[ROSTER["manager_email"] == leader, "email"])


def assert_only(text: str, leader: str, where: str) -> None:
    inside = team_of(leader)
    inside_names = {NAMES[e] for e in inside}
    for person in set(ROSTER["email"]) - inside:
        assert person not in text, (where, person)
        if NAMES[person] not in inside_names:
            assert NAMES[person] not in text, (where, NAMES[person])


@pytest.fixture
def smtp_refusing() -> Iterator[tuple[int, list[Any], set[str]]]:
    """aiosmtpd refusing (550) the recipients in the returned set."""
    from aiosmtpd.controller import Controller

    received: list[Any] = []
    refused: set[str] = set()

    class Handler:
        async def handle_RCPT(
            self, server: Any, session: Any, envelope: Any, address: str, options: Any
        ) -> str:
            if address in refused:
                return "550 5.1.1 no such mailbox here"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, received, refused
    finally:
        controller.stop()


# -- privacy --------------------------------------------------------------------------------


def test_each_leader_receives_exactly_their_own_pairs_and_only_hr_the_org_report(
    tmp_path: Path, smtp: tuple[int, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, received = smtp
    with serve_webhooks() as fake:
        slack, slack_env = hooks(fake, "slack", MANAGERS)
        teams, teams_env = hooks(fake, "teams", MANAGERS)
        for name, value in {**slack_env, **teams_env}.items():
            monkeypatch.setenv(name, value)
        cfg = load_config(
            job_config(
                tmp_path,
                write_roster(tmp_path),
                '[delivery]\nhr_recipients = ["hr@example.com"]\n',
                mail(port),
                slack,
                teams,
            )
        )
        done = job.run_week(cfg, tmp_path / "s.sqlite", as_of=AS_OF)
    assert done.status == "ok", done.failures
    assert len(MANAGERS) == 5
    assert [t.leader for t in done.leaders] == MANAGERS
    assert all(t.delivered == ["email", "slack", "teams"] for t in done.leaders)
    by_rcpt = {tuple(e.rcpt_tos): e for e in received}
    assert sorted(by_rcpt) == sorted([(m,) for m in MANAGERS] + [("hr@example.com",)])
    for leader in MANAGERS:
        message = message_from_bytes(by_rcpt[(leader,)].content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        name = NAMES[leader]
        assert message["Subject"].startswith(f"{name}'s team · 1:1 health · week 27")
        assert message.get_body(("plain",)) is not None and message.get_body(("html",))
        files = [p.get_filename() for p in message.walk() if p.get_filename()]
        assert "org.html" not in files and "report.html" not in files
        (report,) = [f for f in files if f.endswith(".html")]
        assert report.startswith("team-")
        text = everything(message)
        assert_only(text, leader, f"email to {leader}")
        assert "organisation review" not in text
        # the attached report is theirs: every direct report is in it, by name
        for person in team_of(leader) - {leader}:
            assert NAMES[person] in text, (leader, person)
        assert f"<title>{escape(name)}&#39;s team · 1:1 health · week 27" in text
        for channel in ("slack", "teams"):
            (body,) = fake.bodies(f"/{channel}/{slug(leader)}/s3cr3t-token")
            posted = json.dumps(body, ensure_ascii=False)
            assert_only(posted, leader, f"{channel} to {leader}")
            assert name in posted and "organisation review" not in posted
        assert fake.bodies(f"/slack/{slug(leader)}/s3cr3t-token")[0]["blocks"][0]["type"] == (
            "header"
        )
        card = fake.bodies(f"/teams/{slug(leader)}/s3cr3t-token")[0]["attachments"][0]
        assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
        assert card["content"]["type"] == "AdaptiveCard"
    hr = message_from_bytes(by_rcpt[("hr@example.com",)].content, policy=policy.default)
    assert [p.get_filename() for p in hr.walk() if p.get_filename()] == ["org.html"]
    assert len(fake.posts) == 2 * len(MANAGERS)  # nothing else was posted anywhere


def test_the_digest_says_what_needs_attention_with_the_report_s_figures(tmp_path: Path) -> None:
    result = analyze(ORG, ROSTER, as_of=AS_OF)
    leader = "yusuf.ferreira@example.com"
    team = result.for_leader(leader)
    p = team.pairs
    flagged = p[p["status"].isin(["lapsed", "at_risk"])]
    d = digest.build(team, title="Yusuf Ferreira's team · 1:1 health · week 27", week=WEEK)
    assert [x.who for x in d.pairs] == [
        f"{NAMES[m]} → {NAMES[r]}"
        for m, r in zip(flagged["manager"], flagged["report"], strict=True)
    ]
    held, expected = int(p["held"].sum()), round(float(p["expected"].sum()), 1)
    text = digest.render_text(d)
    assert f"{held} of {expected:g} 1:1s held of expected ({held / expected * 100:.0f} %)" in text
    assert d.healthy == int((p["status"] == "healthy").sum())
    assert all(len(line) <= 78 for line in text.splitlines()), text
    assert "@" not in text and "@" not in digest.render_html(d)
    assert "0 pair(s)" not in text and "(s)" not in text


def test_an_invitation_at_the_pair_s_usual_slot_for_a_pair_with_nothing_booked() -> None:
    result = analyze(ORG, ROSTER, as_of=AS_OF)
    team = result.for_leader("yusuf.ferreira@example.com")
    d = digest.build(team, title="t", week=WEEK)
    (pair,) = [x for x in d.pairs if x.invitation]
    assert pair.next_booked == "nothing booked"
    assert pair.action == "nothing on the books: book a 1:1 this week"
    occ = team.occurrences[
        (team.occurrences["manager"] == pair.manager) & (team.occurrences["report"] == pair.report)
    ]
    zone = occ["timezone"].mode().iloc[0]
    local = occ["original_start"].dt.tz_convert(zone)
    usual = (local.dt.day_of_week.astype(str) + " " + local.dt.strftime("%H:%M")).mode().iloc[0]
    weekday, clock = int(usual.split()[0]), usual.split()[1]
    minutes = int(occ["duration"].dt.total_seconds().median() / 60)
    first = pd.Timestamp(AS_OF, tz=zone) + pd.Timedelta(days=1)
    while first.weekday() != weekday:
        first += pd.Timedelta(days=1)
    ((name, raw),) = digest.invitations(d)
    cal = icalendar.Calendar.from_ical(raw)
    assert cal["METHOD"] == "REQUEST" and name.endswith(".ics")
    (event,) = cal.walk("VEVENT")
    start = event.decoded("DTSTART")
    assert start.strftime("%Y-%m-%d %H:%M") == f"{first:%Y-%m-%d} {clock}"
    assert str(start.tzinfo) == zone
    assert (event.decoded("DTEND") - start).total_seconds() == minutes * 60
    assert str(event["ORGANIZER"]) == f"mailto:{pair.manager}"
    attendees = [str(a) for a in event["ATTENDEE"]]
    assert f"mailto:{pair.report}" in attendees
    assert cal.walk("VTIMEZONE")  # opens in any client, whatever its zone


# -- bad input --------------------------------------------------------------------------------


def test_webhooks_that_throttle_fail_or_hang_and_a_refused_recipient_fail_alone(
    tmp_path: Path,
    smtp_refusing: tuple[int, list[Any], set[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port, received, refused = smtp_refusing
    ada, hugo = "ada.tanaka@example.com", "hugo.singh@example.com"
    refused.add(hugo)
    with serve_webhooks() as fake:
        fake.hang_seconds = 3
        slack, slack_env = hooks(fake, "slack", [ada, hugo], retries=2)
        teams, teams_env = hooks(fake, "teams", [ada, hugo], retries=1, timeout_seconds=1)
        for name, value in {**slack_env, **teams_env}.items():
            monkeypatch.setenv(name, value)
        fake.faults[f"/slack/{slug(ada)}/s3cr3t-token"] = [(429, {"Retry-After": "1"})]
        fake.faults[f"/slack/{slug(hugo)}/s3cr3t-token"] = [(404, {})]
        fake.faults[f"/teams/{slug(ada)}/s3cr3t-token"] = ["hang"]
        fake.faults[f"/teams/{slug(hugo)}/s3cr3t-token"] = [(503, {})] * 5
        cfg = load_config(job_config(tmp_path, write_roster(tmp_path), mail(port), slack, teams))
        cfg = cfg.model_copy(
            update={"report": cfg.report.model_copy(update={"leaders": [ada, hugo]})}
        )
        done = job.run_week(cfg, tmp_path / "s.sqlite", as_of=AS_OF)
    assert done.status == "partial"
    failures = sorted(done.failures)
    assert len(failures) == 4, failures
    assert failures[0].startswith(f"email team-hugo.singh to {hugo}: ")
    assert "refused the recipient" in failures[0]
    assert failures[1] == f"slack for {hugo}: 127.0.0.1 answered HTTP 404: no_such"
    assert failures[2].startswith(f"teams for {ada}: 127.0.0.1 did not answer")
    assert failures[3].startswith(f"teams for {hugo}: 127.0.0.1 answered HTTP 503")
    assert all("s3cr3t" not in f for f in failures)
    # ada's Slack post waited for Retry-After, then went through
    tries = [t for p, t in fake.attempts if p == f"/slack/{slug(ada)}/s3cr3t-token"]
    assert len(tries) == 2 and tries[1] - tries[0] >= 0.9
    assert len(fake.bodies(f"/slack/{slug(ada)}/s3cr3t-token")) == 1
    assert len([t for p, t in fake.attempts if p == f"/teams/{slug(hugo)}/s3cr3t-token"]) == 2
    (envelope,) = received
    assert envelope.rcpt_tos == [ada]
    delivered = {t.leader: t.delivered for t in done.leaders}
    assert delivered == {ada: ["email", "slack"], hugo: []}
    with Store(tmp_path / "s.sqlite") as db:
        runs = db.runs()
    assert runs["status"].iloc[-1] == "partial"
    assert "s3cr3t" not in json.dumps(runs["summary"].iloc[-1])


def test_unknown_leader_a_leader_without_pairs_a_missing_name_and_no_smtp_server(
    tmp_path: Path,
) -> None:
    ada, leaf = "ada.tanaka@example.com", "wei.mbeki@example.com"
    assert leaf not in set(ROSTER["manager_email"].dropna())
    roster = ROSTER.assign(name=ROSTER["name"].where(ROSTER["email"] != ada, None))
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    cfg = job_config(
        tmp_path,
        write_roster(tmp_path, roster),
        mail(closed),
    )
    cfg.write_text(
        cfg.read_text().replace(
            "org = true", f'org = true\nleaders = ["nobody@example.com", "{leaf}", "{ada}"]'
        )
    )
    result = CliRunner().invoke(
        app, ["--config", str(cfg), "--store", str(tmp_path / "s.sqlite"), "run", "--as-of", AS_OF]
    )
    assert result.exit_code == 1, result.output
    out = " ".join(result.output.split())
    assert "Traceback" not in out
    assert "leader nobody@example.com: is not in the roster" in out
    assert f"leader {leaf}: has no 1:1 pairs in the window" in out
    assert f"email team-ada.tanaka to {ada}: sending through 127.0.0.1:{closed} failed" in out
    report = tmp_path / "reports" / WEEK / "team-ada.tanaka.html"
    html = report.read_text(encoding="utf-8")
    assert "<h1>ada.tanaka&#39;s team · 1:1 health · week 27</h1>" in html  # the local part
    assert (tmp_path / "reports" / WEEK / "report.html").exists()


def test_dry_run_writes_the_messages_beside_the_reports_and_sends_nothing(
    tmp_path: Path, smtp: tuple[int, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, received = smtp
    yusuf = "yusuf.ferreira@example.com"
    monkeypatch.setenv("CADENCE_SLACK_WEBHOOK", "http://127.0.0.1:9/never-called")
    cfg = load_config(
        job_config(
            tmp_path,
            write_roster(tmp_path),
            '[delivery]\nhr_recipients = ["hr@example.com"]\n'
            f'addresses = {{ "{yusuf}" = "yusuf.private@example.org" }}\n',
            mail(port) + 'recipients = ["admin@example.com"]\n',
            "[delivery.slack]\nenabled = true\n",
        )
    )
    cfg = cfg.model_copy(update={"report": cfg.report.model_copy(update={"leaders": [yusuf]})})
    done = job.run_week(cfg, tmp_path / "s.sqlite", as_of=AS_OF, dry_run=True)
    assert done.status == "ok" and received == []
    folder = tmp_path / "reports" / WEEK
    assert sorted(p.name for p in folder.glob("*.eml")) == [
        "org.eml",
        "report.eml",
        "team-yusuf.ferreira.eml",
    ]
    message = message_from_bytes(
        (folder / "team-yusuf.ferreira.eml").read_bytes(), policy=policy.default
    )
    assert message["To"] == "yusuf.private@example.org"
    files = sorted(p.get_filename() for p in message.walk() if p.get_filename())
    (invite,) = [f for f in files if f.endswith(".ics")]
    assert files == sorted([invite, "team-yusuf.ferreira.html"])
    assert (folder / "invitations" / invite).exists()
    (ics,) = [p for p in message.walk() if p.get_filename() == invite]
    assert ics.get_content_type() == "text/calendar" and ics.get_param("method") == "REQUEST"
    plain = message.get_body(("plain",)).get_content()
    assert re.search(r"Yusuf Ferreira → Elif Garcia \[lapsed\]", plain)
    posted = json.loads((folder / "team-yusuf.ferreira.slack.json").read_text())
    assert posted["text"] == message["Subject"]
    org = message_from_bytes((folder / "org.eml").read_bytes(), policy=policy.default)
    assert org["To"] == "hr@example.com"
    every = message_from_bytes((folder / "report.eml").read_bytes(), policy=policy.default)
    assert every["To"] == "admin@example.com"
    assert "org.html" not in [p.get_filename() for p in every.walk()]


def test_cadence_report_for_one_leader_names_them_and_hides_them_when_pseudonymized(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada = "ada.tanaka@example.com"
    cfg = load_config(job_config(tmp_path, write_roster(tmp_path)))
    store = tmp_path / "s.sqlite"
    job.pull_sources(cfg, store, demo_as_of=AS_OF)
    named = job.write_reports(cfg, store, as_of=AS_OF, leader=ada, out=tmp_path / "ada.html")
    html = named.path.read_text(encoding="utf-8")
    assert "<h1>Ada Tanaka&#39;s team · 1:1 health · week 27</h1>" in html
    monkeypatch.setenv("CADENCE_PSEUDONYM_KEY", "a-key-of-sixteen-chars")
    hidden_cfg = cfg.model_copy(
        update={"report": cfg.report.model_copy(update={"pseudonymize": True})}
    )
    hidden = job.write_reports(
        hidden_cfg, store, as_of=AS_OF, leader=ada, out=tmp_path / "hidden.html"
    )
    text = hidden.path.read_text(encoding="utf-8")
    assert "Ada Tanaka" not in text and ada not in text
    assert "<h1>person-" in text


def test_the_digest_cards_say_what_changed_since_the_leader_s_last_report(
    tmp_path: Path,
) -> None:
    yusuf = "yusuf.ferreira@example.com"
    cfg = load_config(job_config(tmp_path, write_roster(tmp_path)))
    cfg = cfg.model_copy(update={"report": cfg.report.model_copy(update={"leaders": [yusuf]})})
    store = tmp_path / "s.sqlite"
    job.run_week(cfg, store, as_of="2026-06-23", dry_run=True)
    done = job.run_week(cfg, store, as_of=AS_OF, dry_run=True)
    (team,) = done.leaders
    assert team.digest is not None and team.digest.since is not None
    assert f"{team.digest.since:%Y-%m-%d}" == "2026-06-23"
    with Store(store) as db:
        before = db.previous_snapshot(f"leader:{yusuf}", pd.Timestamp(AS_OF, tz="UTC"))
    assert before is not None
    was, now = before.cards["lapsed"] + before.cards["at_risk"], team.digest.flagged
    message = message_from_bytes(
        (tmp_path / "reports" / WEEK / "team-yusuf.ferreira.eml").read_bytes(),
        policy=policy.default,
    )
    plain = " ".join(message.get_body(("plain",)).get_content().split())
    expected = "no change" if was == now else f"{'▲' if now > was else '▼'} {abs(now - was)}"
    assert f"pairs lapsed · at risk ({expected} since 23 Jun)" in plain


def test_hr_recipients_without_the_organisation_report_is_said_not_silent(
    tmp_path: Path,
) -> None:
    yusuf = "yusuf.ferreira@example.com"
    cfg = load_config(
        job_config(
            tmp_path,
            write_roster(tmp_path),
            '[delivery]\nhr_recipients = ["hr@example.com"]\n',
            mail(9),
        )
    )
    report = cfg.report.model_copy(update={"leaders": [yusuf], "org": False})
    done = job.run_week(
        cfg.model_copy(update={"report": report}), tmp_path / "s.sqlite", as_of=AS_OF, dry_run=True
    )
    assert done.status == "partial"
    assert done.failures == [
        "organisation report: [delivery] hr_recipients is set but [report] org = false; "
        "nothing was sent to them (set org = true)"
    ]
    folder = tmp_path / "reports" / WEEK
    assert sorted(p.name for p in folder.glob("*.eml")) == ["team-yusuf.ferreira.eml"]
