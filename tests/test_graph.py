"""The Microsoft Graph connector: mapping, msal's own classes, requests/urllib3 to a fake Graph."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import cadence
from cadence import sync
from cadence.cli import app
from cadence.errors import GraphError
from cadence.model import PullSummary
from cadence.sources import demo
from cadence.sources.graph import GraphConnector, auth, mapping
from cadence.store import Store

from .conftest import AS_OF
from .fake_graph import CLIENT_ID, SECRET, TENANT, FakeGraph, Rewrite, serve
from .helpers import kill_mid_pull_then_resume

BOX = "ann@example.com"


@pytest.fixture(scope="module")
def org() -> demo.DemoOrg:
    return demo.generate(14, seed=4, as_of=AS_OF)


@pytest.fixture
def fake() -> Iterator[FakeGraph]:
    with serve(FakeGraph()) as f:
        yield f


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """urllib3's and the batch retry's sleeps, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr("urllib3.util.retry.time.sleep", waited.append)
    monkeypatch.setattr("cadence.sources.graph.client.time.sleep", waited.append)
    return waited


def app_token(fake: FakeGraph, secret: str = SECRET) -> Any:
    return auth.application_token(
        CLIENT_ID,
        TENANT,
        secret,
        graph_url=fake.graph,
        authority_host=fake.authority_host,
        http_client=Rewrite(fake),
    )


def pull(db: Store, fake: FakeGraph, boxes: list[str], **kw: Any) -> PullSummary:
    kw.setdefault("now", AS_OF)
    kw.setdefault("retries", 3)
    now = kw.pop("now")
    token = app_token(fake)
    connector = GraphConnector(lambda: token, mailboxes=boxes, graph_url=fake.graph, **kw)
    return sync.pull(db, connector, now=now)


def pair_counts(data: Any, roster: pd.DataFrame) -> pd.DataFrame:
    result = cadence.analyze(data, roster, as_of=AS_OF)
    cols = ["pair", "held", "cancelled", "declined", "moved", "status", "target_days"]
    return result.pairs[cols].sort_values("pair", ignore_index=True)


# -- mapping: Graph-shaped JSON ------------------------------------------------------------------

MASTER = {
    "id": "M1",
    "iCalUId": "040000008200E00074C5B7101A82E008",
    "type": "seriesMaster",
    "recurrence": {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
        "range": {"type": "noEnd", "startDate": "2026-03-02"},
    },
    "cancelledOccurrences": ["OID.M1.2026-03-23", "OID.M1.2026-03-30"],
    "start": {"dateTime": "2026-03-02T09:00:00.0000000", "timeZone": "UTC"},
    "end": {"dateTime": "2026-03-02T09:30:00.0000000", "timeZone": "UTC"},
    "originalStartTimeZone": "W. Europe Standard Time",
    "organizer": {"emailAddress": {"address": BOX}},
    "attendees": [
        {"type": "required", "status": {"response": "organizer"}, "emailAddress": {"address": BOX}},
        {
            "type": "required",
            "status": {"response": "accepted"},
            "emailAddress": {"address": "Bob@Example.com"},
        },
    ],
}
OCCURRENCE = {
    "id": "AAMk-occ-1",
    "iCalUId": "040000008200E00074C5B7101A82E008-1",
    "type": "occurrence",
    "seriesMasterId": "M1",
    "originalStart": "2026-03-09T09:00:00Z",
    "originalStartTimeZone": "W. Europe Standard Time",
    "start": {"dateTime": "2026-03-09T09:00:00.0000000", "timeZone": "UTC"},
    "end": {"dateTime": "2026-03-09T09:30:00.0000000", "timeZone": "UTC"},
    "isAllDay": False,
    "isCancelled": False,
    "showAs": "busy",
    "organizer": {"emailAddress": {"address": BOX}},
    "attendees": MASTER["attendees"],
    "responseStatus": {"response": "organizer"},
    "createdDateTime": "2026-01-01T00:00:00Z",
    "lastModifiedDateTime": "2026-02-01T00:00:00Z",
}


def rows(items: list[dict[str, Any]], **kw: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    return mapping.map_items(BOX, items, **kw)


def test_map_an_occurrence_with_its_rule_and_windows_zone() -> None:
    ev, at = rows([OCCURRENCE], masters={"M1": MASTER})
    row = ev[ev["event_id"] == "AAMk-occ-1"].iloc[0]
    assert row["start"] == pd.Timestamp("2026-03-09 09:00", tz="UTC")
    assert row["timezone"] == "Europe/Berlin"  # a Windows zone name, mapped
    assert row["recurrence"] == "FREQ=WEEKLY;BYDAY=MO"
    assert "title" not in row  # no title is stored
    people = at[at["event_id"] == "AAMk-occ-1"].set_index("email")
    assert people.loc[BOX, "role"] == "organizer"
    assert people.loc["bob@example.com", "response"] == "accepted"


def test_cancelled_occurrences_come_from_the_master_at_their_local_slot() -> None:
    ev, at = rows([OCCURRENCE], masters={"M1": MASTER})
    cancelled = ev[ev["status"] == "cancelled"].sort_values("original_start")
    # 09:00 UTC was 10:00 in Berlin on 2 March; on 30 March (summer time) 10:00 is 08:00 UTC
    assert cancelled["original_start"].tolist() == [
        pd.Timestamp("2026-03-23 09:00", tz="UTC"),
        pd.Timestamp("2026-03-30 08:00", tz="UTC"),
    ]
    assert (cancelled["end"] - cancelled["start"] == pd.Timedelta(minutes=30)).all()
    assert set(at[at["event_id"].isin(cancelled["event_id"])]["email"]) == {
        BOX,
        "bob@example.com",
    }


def test_a_cancelled_slot_the_store_knows_cancels_that_row() -> None:
    known = mapping.Known()
    stored = {
        "event_id": "AAMk-occ-23",
        "ical_uid": "uid-23",
        "start": pd.Timestamp("2026-03-24 15:00", tz="UTC"),
        "end": pd.Timestamp("2026-03-24 15:30", tz="UTC"),
    }
    known.slots[("M1", pd.Timestamp("2026-03-23 09:00", tz="UTC"))] = stored
    ev, _ = rows([], masters={"M1": MASTER}, known=known)
    row = ev[ev["original_start"] == pd.Timestamp("2026-03-23 09:00", tz="UTC")].iloc[0]
    assert (row["event_id"], row["ical_uid"], row["status"]) == (
        "AAMk-occ-23",
        "uid-23",
        "cancelled",
    )
    assert row["start"] == stored["start"]  # it had been moved; it stays where it was


def test_map_exception_decline_room_all_day_out_of_office_and_cancelled_meeting() -> None:
    moved = {
        **OCCURRENCE,
        "id": "ex",
        "type": "exception",
        "start": {"dateTime": "2026-03-10T14:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-03-10T14:30:00.0000000", "timeZone": "UTC"},
    }
    declined = {
        **OCCURRENCE,
        "id": "dec",
        "attendees": [
            {
                "type": "required",
                "status": {"response": "organizer"},
                "emailAddress": {"address": BOX},
            },
            {
                "type": "required",
                "status": {"response": "declined"},
                "emailAddress": {"address": "bob@example.com"},
            },
            {
                "type": "resource",
                "status": {"response": "accepted"},
                "emailAddress": {"address": "room-4@example.com"},
            },
        ],
    }
    mine = {
        **OCCURRENCE,
        "id": "mine",
        "organizer": {"emailAddress": {"address": "bob@example.com"}},
        "responseStatus": {"response": "declined"},
        "attendees": [
            {"type": "required", "status": {"response": "none"}, "emailAddress": {"address": BOX}}
        ],
    }
    oof = {
        **OCCURRENCE,
        "id": "oof",
        "type": "singleInstance",
        "seriesMasterId": None,
        "showAs": "oof",
        "isAllDay": True,
        "attendees": [],
    }
    gone = {
        **OCCURRENCE,
        "id": "gone",
        "type": "singleInstance",
        "seriesMasterId": None,
        "isCancelled": True,
    }
    ev, at = rows([moved, declined, mine, oof, gone])
    ev = ev.set_index("event_id")
    assert ev.loc["ex", "original_start"] == pd.Timestamp("2026-03-09 09:00", tz="UTC")
    assert ev.loc["ex", "start"] == pd.Timestamp("2026-03-10 14:00", tz="UTC")
    people = at.set_index(["event_id", "email"])
    assert people.loc[("dec", "bob@example.com"), "response"] == "declined"
    assert people.loc[("dec", "room-4@example.com"), "is_resource"]
    assert people.loc[("mine", BOX), "response"] == "declined"  # from responseStatus
    assert people.loc[("mine", "bob@example.com"), "role"] == "organizer"
    assert (ev.loc["oof", "event_type"], ev.loc["oof", "all_day"]) == ("out_of_office", True)
    assert ev.loc["gone", "status"] == "cancelled"


@pytest.mark.parametrize(
    ("recurrence", "rule"),
    [
        (
            {
                "pattern": {"type": "weekly", "interval": 2, "daysOfWeek": ["tuesday", "friday"]},
                "range": {"type": "noEnd"},
            },
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,FR",
        ),
        (
            {
                "pattern": {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 15},
                "range": {"type": "endDate", "endDate": "2026-12-31"},
            },
            "FREQ=MONTHLY;BYMONTHDAY=15;UNTIL=20261231T235959Z",
        ),
        (
            {
                "pattern": {"type": "daily", "interval": 1},
                "range": {"type": "numbered", "numberOfOccurrences": 10},
            },
            "FREQ=DAILY;COUNT=10",
        ),
    ],
)
def test_patterned_recurrence_as_rrule(recurrence: dict[str, Any], rule: str) -> None:
    assert mapping.rrule(recurrence) == rule


# -- msal, through its own classes ---------------------------------------------------------------


def test_device_code_sign_in_then_silent_tokens_from_an_owner_only_cache(
    tmp_path: Path, fake: FakeGraph
) -> None:
    cache = auth.TokenCacheFile(tmp_path / "cache.json")
    public = auth.public_app(
        CLIENT_ID, TENANT, cache, authority_host=fake.authority_host, http_client=Rewrite(fake)
    )
    shown: list[str] = []
    assert auth.device_login(public, cache, shown.append) == "leader@example.com"
    assert "FAKE-CODE" in shown[0]
    assert (tmp_path / "cache.json").stat().st_mode & 0o777 == 0o600
    # a later run: a new app from the file, a silent token, no sign-in and no token request
    posts = sum(1 for m, _, _ in fake.log if m == "POST")
    again = auth.TokenCacheFile(tmp_path / "cache.json")
    later = auth.public_app(
        CLIENT_ID, TENANT, again, authority_host=fake.authority_host, http_client=Rewrite(fake)
    )
    token = auth.delegated_token(later, again)()
    assert token.startswith("user-") and fake.tokens[token] == "user"
    assert sum(1 for m, _, _ in fake.log if m == "POST") == posts


def test_an_expiring_token_is_refreshed_and_a_revoked_one_says_what_to_do(
    tmp_path: Path, fake: FakeGraph
) -> None:
    fake.expires_in = 60  # msal refreshes tokens that expire within five minutes
    cache = auth.TokenCacheFile(tmp_path / "cache.json")
    public = auth.public_app(
        CLIENT_ID, TENANT, cache, authority_host=fake.authority_host, http_client=Rewrite(fake)
    )
    auth.device_login(public, cache, lambda _m: None)
    first = set(fake.tokens)
    token = auth.delegated_token(public, cache)()
    assert token not in first  # refreshed with the refresh token
    assert any(f.get("grant_type") == "refresh_token" for _, _, f in fake.log)
    fake.refresh_tokens.clear()
    with pytest.raises(GraphError, match="cadence auth microsoft"):
        auth.delegated_token(public, cache)()
    with pytest.raises(GraphError, match="cadence auth microsoft"):
        empty = auth.TokenCacheFile(tmp_path / "none.json")
        auth.delegated_token(
            auth.public_app(
                CLIENT_ID,
                TENANT,
                empty,
                authority_host=fake.authority_host,
                http_client=Rewrite(fake),
            ),
            empty,
        )


def test_app_only_token_with_a_secret_is_cached_by_msal(fake: FakeGraph) -> None:
    token = app_token(fake)
    first = token()
    assert fake.tokens[first] == "app"
    assert token() == first  # msal's cache: no second token request
    grants = [f for _, p, f in fake.log if p.endswith("/token")]
    assert len(grants) == 1 and grants[0]["grant_type"] == "client_credentials"
    assert grants[0]["scope"] == auth.graph_scope(fake.graph) == fake.url + ".default"
    with pytest.raises(GraphError, match="Invalid client secret"):
        app_token(fake, "wrong")()


# -- requests / urllib3 against the fake Graph ----------------------------------------------------


def test_full_pull_matches_the_source_through_tiny_pages_slices_and_batches(
    org: demo.DemoOrg, tmp_path: Path
) -> None:
    last = org.pulls()[-1]
    boxes = sorted(set(last.events["calendar"]))
    with serve(FakeGraph(page_size=7)) as fake:
        fake.load(last.events, last.attendees)
        slow = boxes[0]
        fake.hang[slow] = 0.05  # each of its requests takes a while: its slices must overlap
        with Store(tmp_path / "g.sqlite") as db:
            # more workers than 4: the bound on requests in flight is per mailbox, not per pull
            first = pull(db, fake, boxes, workers=8)
            assert first.failed == {} and first.stats["masters_fetched"] > 0
            assert max(fake.most_in_flight.values()) <= 4  # batch items counted, as Outlook does
            assert fake.most_own_in_flight[slow] > 1  # calendarView slices read at once
            views = [q for m, p, q in fake.log if p.endswith("/calendarView")]
            assert all(
                "body" not in q["$select"]
                and "subject" not in q["$select"]
                and 'outlook.timezone="UTC"' in q["Prefer"]
                and "odata.maxpagesize=" in q["Prefer"]
                and q["$orderby"] == "start/dateTime"
                for q in views
            )
            assert any("$skiptoken" in q for q in views)  # nextLinks were followed
            batches = sum(1 for m, p, _ in fake.log if p.endswith("/$batch"))
            assert batches < first.stats["masters_fetched"]  # up to 20 masters per round trip
            again = pull(db, fake, boxes)
            assert again.rows_written == 0 and again.failed == {}
        with Store(tmp_path / "d.sqlite") as direct:
            direct.write_pull(last)
        got = pair_counts(cadence.load_store(tmp_path / "g.sqlite"), org.roster)
        want = pair_counts(cadence.load_store(tmp_path / "d.sqlite"), org.roster)
    pd.testing.assert_frame_equal(got, want)


def test_slots_bound_each_mailbox_alone() -> None:
    from concurrent.futures import ThreadPoolExecutor
    from threading import Lock

    from cadence.sources.graph.client import Slots

    slots, lock = Slots(4), Lock()
    busy: dict[str, int] = {"a": 0, "b": 0}
    most: dict[str, int] = {"a": 0, "b": 0}

    def work(job: tuple[str, int]) -> None:
        box, weight = job
        with slots.held(box, weight):
            with lock:
                busy[box] += min(weight, 4)
                most[box] = max(most[box], busy[box])
            threading.Event().wait(0.01)
            with lock:
                busy[box] -= min(weight, 4)

    jobs = [("a", 1), ("b", 1), ("a", 20), ("b", 3)] * 10
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(work, jobs))
    assert most["a"] == 4  # a 20-item batch holds all 4 of its mailbox's slots, no more
    assert 1 <= most["b"] <= 4


def test_weekly_pulls_match_the_source(org: demo.DemoOrg, tmp_path: Path, fake: FakeGraph) -> None:
    pulls = org.pulls()
    boxes = sorted(set(pulls[-1].events["calendar"]))
    with Store(tmp_path / "g.sqlite") as db, Store(tmp_path / "d.sqlite") as direct:
        for week in pulls:
            fake.load(week.events, week.attendees)
            assert pull(db, fake, boxes, now=week.seen_at).failed == {}
            direct.write_pull(week)
    got = pair_counts(cadence.load_store(tmp_path / "g.sqlite"), org.roster)
    want = pair_counts(cadence.load_store(tmp_path / "d.sqlite"), org.roster)
    pd.testing.assert_frame_equal(got, want)


def test_throttling_is_retried_honouring_retry_after(
    org: demo.DemoOrg, tmp_path: Path, fake: FakeGraph, waits: list[float]
) -> None:
    last = org.pulls()[-1]
    fake.load(last.events, last.attendees)
    boxes = sorted(set(last.events["calendar"]))[:4]
    fake.faults[boxes[0]] += [429, 503, 429]
    fake.batch_faults += [429, 429]
    with Store(tmp_path / "g.sqlite") as db:
        summary = pull(db, fake, boxes, workers=1)
        assert summary.failed == {}
        assert len(db.events(calendars=[boxes[0]])) > 0
    assert waits.count(1.0) >= 3  # Retry-After: 1, honoured by urllib3 and by the batch retry


def test_a_mailbox_that_keeps_failing_is_reported_and_the_others_land(
    org: demo.DemoOrg, tmp_path: Path, fake: FakeGraph, waits: list[float]
) -> None:
    last = org.pulls()[-1]
    fake.load(last.events, last.attendees)
    boxes = sorted(set(last.events["calendar"]))
    fake.faults[boxes[1]] += [503] * 30
    with Store(tmp_path / "g.sqlite") as db:
        summary = pull(db, fake, boxes, retries=2)
        assert list(summary.failed) == [boxes[1]] and "503" in summary.failed[boxes[1]]
        assert set(db.events()["calendar"]) == set(boxes) - {boxes[1]}
        (info,) = db.source_health()
        assert info.name == "graph" and boxes[1] in (info.error or "")


def test_a_mailbox_that_times_out_is_reported(
    org: demo.DemoOrg, tmp_path: Path, fake: FakeGraph, waits: list[float]
) -> None:
    last = org.pulls()[-1]
    fake.load(last.events, last.attendees)
    boxes = sorted(set(last.events["calendar"]))[:3]
    fake.hang[boxes[0]] = 3.0
    with Store(tmp_path / "g.sqlite") as db:
        summary = pull(db, fake, boxes, retries=1, timeout=0.3)
    assert list(summary.failed) == [boxes[0]] and "timed out" in summary.failed[boxes[0]]


def test_roster_from_the_directory(fake: FakeGraph) -> None:
    fake.page_size = 2
    fake.users = [
        {"mail": "ceo@example.com", "displayName": "C E O", "department": "Board"},
        {
            "mail": "ann@example.com",
            "department": "Engineering",
            "manager": {"mail": "ceo@example.com"},
        },
        {"mail": "bob@example.com", "manager": {"mail": "ann@example.com"}},
        {"mail": None, "displayName": "a room"},
        {
            "mail": "old@example.com",
            "accountEnabled": False,
            "manager": {"mail": "ann@example.com"},
        },
        {"mail": "cat@example.com", "manager": {"mail": "left@example.com"}},
    ]
    token = app_token(fake)
    connector = GraphConnector(lambda: token, roster_from_directory=True, graph_url=fake.graph)
    roster = connector.directory_roster()
    connector.close()
    got = roster.set_index("email")
    assert sorted(got.index) == [
        "ann@example.com",
        "bob@example.com",
        "cat@example.com",
        "ceo@example.com",
    ]
    assert got.loc["bob@example.com", "manager_email"] == "ann@example.com"
    assert pd.isna(got.loc["cat@example.com", "manager_email"])
    assert any("$expand" in q for _, p, q in fake.log if p.endswith("/users"))


# -- the command, over https to the fake authority: exit status and crash safety -------------------


@pytest.fixture
def tls_fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGraph]:
    with serve(FakeGraph(), tls=tmp_path) as f:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(f.ca))
        monkeypatch.setenv("CADENCE_MS_CLIENT_SECRET", SECRET)
        yield f


def write_config(tmp_path: Path, fake: FakeGraph, boxes: list[str], **extra: Any) -> Path:
    lines = [
        "[microsoft]",
        "enabled = true",
        'auth = "application"',
        f'tenant = "{TENANT}"',
        f'client_id = "{CLIENT_ID}"',
        f'graph_url = "{fake.graph}"',
        f'authority_host = "{fake.authority_host}"',
        f"mailboxes = {json.dumps(boxes)}",
        "retries = 1",
        "weeks_back = 26",
    ] + [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def today_org() -> demo.DemoOrg:
    return demo.generate(10, seed=8, as_of=pd.Timestamp.now(tz="UTC").normalize())


def test_cadence_pull_reports_a_failed_mailbox_and_exits_1(
    tmp_path: Path, tls_fake: FakeGraph, waits: list[float]
) -> None:
    last = today_org().pulls()[-1]
    tls_fake.load(last.events, last.attendees)
    boxes = sorted(set(last.events["calendar"]))
    config = write_config(tmp_path, tls_fake, boxes)
    store = tmp_path / "s.sqlite"
    runner = CliRunner()
    ok = runner.invoke(app, ["--config", str(config), "--store", str(store), "pull"])
    assert ok.exit_code == 0, ok.output
    assert f"microsoft: {len(boxes)} mailboxes" in ok.output
    tls_fake.faults[boxes[0]] += [503] * 10
    bad = runner.invoke(app, ["--config", str(config), "--store", str(store), "pull"])
    assert bad.exit_code == 1
    assert f"microsoft {boxes[0]} failed" in bad.output
    with Store(store) as db:
        assert db.runs()["status"].tolist() == ["ok", "partial"]


def test_pull_killed_mid_run_then_rerun_equals_an_uninterrupted_pull(
    tmp_path: Path, tls_fake: FakeGraph
) -> None:
    last = today_org().pulls()[-1]
    tls_fake.load(last.events, last.attendees)
    calendars = sorted(set(last.events["calendar"]))
    config = write_config(tmp_path, tls_fake, calendars, workers=1)
    kill_mid_pull_then_resume(tls_fake, config, calendars, tmp_path)
