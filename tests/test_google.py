"""The Google Calendar connector: mapping, and the real client library over HTTP to a fake."""

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
from cadence.errors import GoogleError
from cadence.model import PullSummary
from cadence.sources import demo, google
from cadence.sources.google import GoogleConnector, auth, mapping
from cadence.store import Store

from .conftest import AS_OF
from .fake_google import FakeGoogle, serve, service_account_file, user_token_file
from .helpers import kill_mid_pull_then_resume

ROOT = Path(__file__).resolve().parent.parent
CAL = "ann@example.com"


@pytest.fixture(scope="module")
def org() -> demo.DemoOrg:
    return demo.generate(14, seed=4, as_of=AS_OF)


@pytest.fixture
def fake() -> Iterator[FakeGoogle]:
    with serve(FakeGoogle()) as f:
        yield f


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The client library's backoff sleeps, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr("googleapiclient.http.time.sleep", waited.append)
    return waited


def user_creds(fake: FakeGoogle, tmp_path: Path) -> Any:
    token = user_token_file(tmp_path / "token.json", fake)
    return auth.user_credentials(token, token_uri=fake.url + "token")


def pull(db: Store, fake: FakeGoogle, cals: list[str], creds: Any, **kw: Any) -> PullSummary:
    now = kw.pop("now", AS_OF)
    kw.setdefault("retries", 3)
    connector = GoogleConnector(lambda: lambda _c: creds, calendars=cals, root=fake.url, **kw)
    return sync.pull(db, connector, now=now)


def pair_counts(store_or_frames: Any, roster: pd.DataFrame) -> pd.DataFrame:
    result = cadence.analyze(store_or_frames, roster, as_of=AS_OF)
    cols = ["pair", "held", "cancelled", "declined", "moved", "status", "target_days"]
    return result.pairs[cols].sort_values("pair", ignore_index=True)


# -- mapping: Google-shaped JSON, one shape at a time ----------------------------------------------

SERIES = {
    "id": "s1",
    "iCalUID": "s1@google.com",
    "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO", "EXDATE:20260608T090000Z"],
    "start": {"dateTime": "2026-06-01T11:00:00+02:00", "timeZone": "Europe/Berlin"},
    "end": {"dateTime": "2026-06-01T11:30:00+02:00", "timeZone": "Europe/Berlin"},
    "organizer": {"email": CAL},
    "attendees": [
        {"email": CAL, "organizer": True, "responseStatus": "accepted"},
        {"email": "bob@example.com", "responseStatus": "accepted"},
    ],
}
OCCURRENCE = {
    "id": "s1_20260601T090000Z",
    "status": "confirmed",
    "recurringEventId": "s1",
    "originalStartTime": {"dateTime": "2026-06-01T11:00:00+02:00", "timeZone": "Europe/Berlin"},
    "iCalUID": "s1@google.com",
    "start": {"dateTime": "2026-06-01T11:00:00+02:00", "timeZone": "Europe/Berlin"},
    "end": {"dateTime": "2026-06-01T11:30:00+02:00", "timeZone": "Europe/Berlin"},
    "organizer": {"email": CAL},
    "attendees": SERIES["attendees"],
    "eventType": "default",
    "created": "2026-01-01T00:00:00.000Z",
    "updated": "2026-05-01T00:00:00.000Z",
}


def one(item: dict[str, Any], **kw: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    ev, at = mapping.map_items(CAL, [item], **kw)
    assert len(ev) == 1
    return ev.iloc[0].to_dict(), at.to_dict("records")


def test_map_an_occurrence_of_a_series() -> None:
    row, people = one(OCCURRENCE, masters={"s1": SERIES})
    assert row["start"] == pd.Timestamp("2026-06-01 09:00", tz="UTC")
    assert row["original_start"] == row["start"] and row["series_id"] == "s1"
    assert row["recurrence"] == "FREQ=WEEKLY;BYDAY=MO" and row["timezone"] == "Europe/Berlin"
    assert "title" not in row  # titles are never asked for, nor stored
    assert {(p["email"], p["role"], p["response"]) for p in people} == {
        (CAL, "organizer", "accepted"),
        ("bob@example.com", "required", "accepted"),
    }


def test_map_a_moved_occurrence_keeps_its_slot() -> None:
    moved = {
        **OCCURRENCE,
        "id": "s1_20260615T090000Z",
        "originalStartTime": {"dateTime": "2026-06-15T09:00:00Z"},
        "start": {"dateTime": "2026-06-16T14:00:00Z"},
        "end": {"dateTime": "2026-06-16T14:30:00Z"},
    }
    row, _ = one(moved)
    assert row["original_start"] == pd.Timestamp("2026-06-15 09:00", tz="UTC")
    assert row["start"] == pd.Timestamp("2026-06-16 14:00", tz="UTC")


def test_map_a_sparse_cancelled_occurrence_from_its_series_master() -> None:
    cancelled = {
        "id": "s1_20260608T090000Z",
        "status": "cancelled",
        "recurringEventId": "s1",
        "originalStartTime": {"dateTime": "2026-06-08T11:00:00+02:00", "timeZone": "Europe/Berlin"},
    }
    row, people = one(cancelled, masters={"s1": SERIES})
    assert row["status"] == "cancelled"
    assert row["start"] == row["original_start"] == pd.Timestamp("2026-06-08 09:00", tz="UTC")
    assert row["end"] - row["start"] == pd.Timedelta(minutes=30)
    assert row["ical_uid"] == "s1@google.com" and row["organizer"] == CAL
    assert {p["email"] for p in people} == {CAL, "bob@example.com"}


def test_map_a_cancelled_occurrence_the_store_knows_keeps_its_time_and_people() -> None:
    ev, at = mapping.map_items(CAL, [{**OCCURRENCE, "start": {"dateTime": "2026-06-01T15:00:00Z"}}])
    known = mapping.Known(
        events={r["event_id"]: r for r in ev.to_dict("records")},
        attendees={OCCURRENCE["id"]: at.to_dict("records")},
    )
    gone = {k: OCCURRENCE[k] for k in ("id", "recurringEventId", "originalStartTime")}
    row, people = one({**gone, "status": "cancelled"}, known=known)
    assert row["start"] == pd.Timestamp("2026-06-01 15:00", tz="UTC")  # not moved back
    assert len(people) == 2


def test_a_cancelled_one_off_never_seen_is_dropped() -> None:
    ev, at = mapping.map_items(CAL, [{"id": "x1", "status": "cancelled"}])
    assert ev.empty and at.empty


def test_map_declines_rooms_all_day_and_out_of_office() -> None:
    declined = {
        **OCCURRENCE,
        "attendees": [
            {"email": CAL, "organizer": True, "responseStatus": "accepted"},
            {"email": "Bob@Example.com", "responseStatus": "declined"},
            {
                "email": "room-1@resource.calendar.google.com",
                "resource": True,
                "responseStatus": "accepted",
            },
            {"email": "cat@example.com", "optional": True, "responseStatus": "needsAction"},
        ],
    }
    _, people = one(declined)
    by = {p["email"]: p for p in people}
    assert by["bob@example.com"]["response"] == "declined"
    assert by["room-1@resource.calendar.google.com"]["is_resource"]
    assert (by["cat@example.com"]["role"], by["cat@example.com"]["response"]) == (
        "optional",
        "none",
    )
    all_day = {
        "id": "d1",
        "status": "confirmed",
        "iCalUID": "d1@google.com",
        "start": {"date": "2026-06-03"},
        "end": {"date": "2026-06-04"},
    }
    row, _ = one(all_day)
    assert row["all_day"] and row["end"] - row["start"] == pd.Timedelta(days=1)
    ooo = {
        **all_day,
        "id": "o1",
        "eventType": "outOfOffice",
        "start": {"dateTime": "2026-06-03T00:00:00Z"},
        "end": {"dateTime": "2026-06-05T00:00:00Z"},
    }
    row, _ = one(ooo)
    assert row["event_type"] == "out_of_office" and not row["all_day"]


# -- the real client against the fake server ------------------------------------------------------


def test_full_pull_matches_the_source_and_an_unchanged_pull_is_one_request_per_calendar(
    org: demo.DemoOrg, tmp_path: Path, sleeps: list[float]
) -> None:
    last = org.pulls()[-1]
    with serve(FakeGoogle(page_size=7, empty_first_page=True)) as fake:
        fake.load(last.events, last.attendees)
        cals = sorted(set(last.events["calendar"]))
        creds = user_creds(fake, tmp_path)
        with Store(tmp_path / "g.sqlite") as db:
            first = pull(db, fake, cals, creds)
            assert first.failed == {} and first.full == len(cals)
            lists = [q for m, p, q in fake.log if m == "GET" and p.endswith("/events")]
            assert all(
                q["singleEvents"] == "true"
                and q["showDeleted"] == "true"
                and q["maxResults"] == "2500"
                and "timeMax" not in q
                and "summary" not in q["fields"]
                and "description" not in q["fields"]
                for q in lists
            )
            assert any("pageToken" in q for q in lists)  # tiny pages were followed to the end
            fake.log.clear()
            again = pull(db, fake, cals, creds)
            assert again.incremental == len(cals) and again.rows_written == 0
            assert again.requests == len(cals) == len(fake.log)
            assert all("syncToken" in q and "timeMin" not in q for _, _, q in fake.log)
        with Store(tmp_path / "direct.sqlite") as direct:
            direct.write_pull(last)
        got = pair_counts(cadence.load_store(tmp_path / "g.sqlite"), org.roster)
        want = pair_counts(cadence.load_store(tmp_path / "direct.sqlite"), org.roster)
    pd.testing.assert_frame_equal(got, want)


def series_by_calendar(events: pd.DataFrame) -> pd.Series:
    """The series each calendar's first pull meets (events ending after its timeMin)."""
    lo = (AS_OF - pd.Timedelta(weeks=26)).floor("D")
    seen = events[(events["end"] > lo) & events["series_id"].notna()]
    return seen.groupby("calendar")["series_id"].nunique()


def test_series_masters_come_in_one_batch_per_calendar_at_the_configured_root(
    org: demo.DemoOrg, tmp_path: Path, fake: FakeGoogle
) -> None:
    last = org.pulls()[-1]
    fake.load(last.events, last.attendees)
    cals = sorted(set(last.events["calendar"]))
    series = series_by_calendar(last.events)
    assert len(series) > 1 and series.max() <= 50  # each calendar's masters fit one batch
    with Store(tmp_path / "g.sqlite") as db:
        first = pull(db, fake, cals, user_creds(fake, tmp_path))
        stored = db.events()
    assert first.failed == {}
    posts = [p for m, p, _ in fake.log if m == "POST" and p != "/token"]
    assert posts == ["/batch/calendar/v3"] * len(series)  # at the fake's root, not googleapis.com
    by_calendar = {b[0].split("/")[4]: len(b) for b in fake.batches}
    assert by_calendar == series.to_dict()
    assert all(len({p.split("/")[4] for p in b}) == 1 for b in fake.batches)
    assert first.stats["masters_fetched"] == series.sum()
    # one list page per calendar (< 2,500 events each) and one batch per calendar with series
    assert first.requests == len(cals) + len(series) <= 2 * len(cals)
    # the masters' rules landed: every stored occurrence of a series has its RRULE
    key = ["calendar", "event_id"]
    want = last.events.dropna(subset=["series_id"]).set_index(key)["recurrence"]
    got = stored.dropna(subset=["series_id"]).set_index(key)["recurrence"]
    assert len(got) > 0 and got.notna().all()
    assert got.to_dict() == want.reindex(got.index).to_dict()


def test_more_series_than_a_batch_holds_take_several_batches(
    org: demo.DemoOrg, tmp_path: Path, fake: FakeGoogle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("cadence.sources.google.client.MASTER_BATCH", 2)
    last = org.pulls()[-1]
    fake.load(last.events, last.attendees)
    cals = sorted(set(last.events["calendar"]))
    series = series_by_calendar(last.events)
    with Store(tmp_path / "g.sqlite") as db:
        first = pull(db, fake, cals, user_creds(fake, tmp_path))
    batches = sum((n + 1) // 2 for n in series)  # ceil(n / 2) per calendar
    assert first.failed == {} and sorted(len(b) for b in fake.batches) == sorted(
        [2] * sum(n // 2 for n in series) + [1] * sum(n % 2 for n in series)
    )
    assert first.requests == len(cals) + batches
    assert first.stats["masters_fetched"] == series.sum()


def test_batch_parts_are_retried_gone_or_fail_their_calendar_alone(
    org: demo.DemoOrg, tmp_path: Path, fake: FakeGoogle, sleeps: list[float]
) -> None:
    last = org.pulls()[-1]
    fake.load(last.events, last.attendees)
    cals = sorted(set(last.events["calendar"]))
    series = series_by_calendar(last.events)
    victim, broken = [c for c in series.index if series[c] >= 3][:2]
    gone = sorted(fake.masters[victim])[0]
    del fake.masters[victim][gone]  # its part answers 404: the series is gone, not a failure
    fake.part_faults[victim] += [(403, "rateLimitExceeded"), 503]  # two parts throttled
    fake.part_faults[broken] += [500] * 100  # every part, every round
    with Store(tmp_path / "g.sqlite") as db:
        summary = pull(db, fake, cals, user_creds(fake, tmp_path), retries=2)
        landed = set(db.events()["calendar"])
    assert list(summary.failed) == [broken] and "HTTP 500" in summary.failed[broken]
    assert landed == set(cals) - {broken}
    mine = [len(b) for b in fake.batches if b[0].split("/")[4] == victim]
    assert mine == [series[victim], 2]  # the two throttled parts, again, in a second batch
    theirs = [len(b) for b in fake.batches if b[0].split("/")[4] == broken]
    assert theirs == [series[broken]] * 3  # the first try and two retries
    assert len(sleeps) == 1 + 2  # the library's backoff before each retry round
    assert all(0 <= s <= 2**2 for s in sleeps)


def test_the_batch_path_is_the_discovery_documents() -> None:
    from googleapiclient.discovery_cache import get_static_doc

    from cadence.sources.google.settings import BATCH_PATH

    doc = json.loads(get_static_doc("calendar", "v3") or "{}")
    assert doc["batchPath"] == BATCH_PATH


def test_weekly_changes_arrive_incrementally_and_match_the_source(
    org: demo.DemoOrg, tmp_path: Path, fake: FakeGoogle
) -> None:
    pulls = org.pulls()
    cals = sorted(set(pulls[-1].events["calendar"]))
    creds = user_creds(fake, tmp_path)
    with Store(tmp_path / "g.sqlite") as db, Store(tmp_path / "d.sqlite") as direct:
        for week in pulls:
            fake.load(week.events, week.attendees)
            summary = pull(db, fake, cals, creds, now=week.seen_at)
            assert summary.failed == {}
            direct.write_pull(week)
        assert summary.incremental == len(cals)
        # the store saw the same moves, cancellations and vanishings as from the source itself
        got_changes = db.changes()["kind"].value_counts().sort_index()
        assert got_changes.sum() > 0
        pd.testing.assert_series_equal(
            got_changes, direct.changes()["kind"].value_counts().sort_index()
        )
    got = pair_counts(cadence.load_store(tmp_path / "g.sqlite"), org.roster)
    want = pair_counts(cadence.load_store(tmp_path / "d.sqlite"), org.roster)
    pd.testing.assert_frame_equal(got, want)


def test_an_expired_sync_token_resyncs_that_calendar_alone(
    org: demo.DemoOrg, tmp_path: Path, fake: FakeGoogle
) -> None:
    last = org.pulls()[-1]
    fake.load(last.events, last.attendees)
    cals = sorted(set(last.events["calendar"]))
    creds = user_creds(fake, tmp_path)
    with Store(tmp_path / "g.sqlite") as db:
        pull(db, fake, cals, creds)
        before = (db.events(), db.attendees())
        fake.expire_tokens(cals[0])
        summary = pull(db, fake, cals, creds)
        assert (summary.resynced, summary.full, summary.incremental) == (1, 1, len(cals) - 1)
        assert summary.rows_written == 0  # nothing lost, nothing duplicated
        pd.testing.assert_frame_equal(db.events(), before[0])
        pd.testing.assert_frame_equal(db.attendees(), before[1])
        state = db.sync_state("google", cals[0])
        assert state is not None and state.cursor and state.cursor.startswith(cals[0])


def test_rate_limits_and_server_errors_are_retried_with_backoff(
    org: demo.DemoOrg, tmp_path: Path, fake: FakeGoogle, sleeps: list[float]
) -> None:
    last = org.pulls()[-1]
    fake.load(last.events, last.attendees)
    cals = sorted(set(last.events["calendar"]))
    fake.faults[cals[1]] += [(403, "rateLimitExceeded"), (429, "rateLimitExceeded"), 500, 503]
    with Store(tmp_path / "g.sqlite") as db:
        summary = pull(db, fake, cals, user_creds(fake, tmp_path), retries=5)
        assert summary.failed == {}
        assert len(db.events(calendars=[cals[1]])) > 0
    # four retries, each waiting rand() × 2^n seconds: exponential backoff with jitter
    assert len(sleeps) == 4
    assert all(0 <= s <= 2 ** (n + 1) for n, s in enumerate(sleeps))


def test_a_calendar_that_keeps_failing_is_reported_and_the_others_land(
    org: demo.DemoOrg, tmp_path: Path, fake: FakeGoogle, sleeps: list[float]
) -> None:
    last = org.pulls()[-1]
    fake.load(last.events, last.attendees)
    cals = sorted(set(last.events["calendar"]))
    fake.faults[cals[2]] += [500] * 20
    with Store(tmp_path / "g.sqlite") as db:
        summary = pull(db, fake, cals, user_creds(fake, tmp_path), retries=2)
        assert list(summary.failed) == [cals[2]] and "HTTP 500" in summary.failed[cals[2]]
        assert set(db.events()["calendar"]) == set(cals) - {cals[2]}
        (info,) = db.source_health()
        assert info.error is not None and cals[2] in info.error
    assert len(sleeps) == 2


def test_a_calendar_that_times_out_is_reported(
    org: demo.DemoOrg, tmp_path: Path, fake: FakeGoogle, sleeps: list[float]
) -> None:
    last = org.pulls()[-1]
    fake.load(last.events, last.attendees)
    cals = sorted(set(last.events["calendar"]))[:4]
    fake.hang[cals[0]] = 3.0
    with Store(tmp_path / "g.sqlite") as db:
        summary = pull(db, fake, cals, user_creds(fake, tmp_path), retries=1, timeout=0.3)
    assert list(summary.failed) == [cals[0]] and "timed out" in summary.failed[cals[0]]
    assert summary.full == 3


def test_service_account_impersonates_each_calendar_owner(
    org: demo.DemoOrg, tmp_path: Path, fake: FakeGoogle
) -> None:
    last = org.pulls()[-1]
    fake.load(last.events, last.attendees)
    cals = sorted(set(last.events["calendar"]))[:5]
    key = service_account_file(tmp_path / "sa.json", fake)
    base = auth.service_account_credentials(key, google.CALENDAR_SCOPES)
    with Store(tmp_path / "g.sqlite") as db:
        connector = GoogleConnector(
            lambda: lambda c: base.with_subject(c), calendars=cals, root=fake.url, retries=0
        )
        summary = sync.pull(db, connector, now=AS_OF)
    assert summary.failed == {}
    assert sorted(set(fake.tokens.values())) == cals  # one delegated token per owner
    scopes = {form.get("assertion", "") for m, p, form in fake.log if p == "/token"}
    assert len(scopes) == len(cals)


def _pull_each_with_its_own_token(
    org: demo.DemoOrg, tmp_path: Path, fake: FakeGoogle, workers: int, **kw: Any
) -> tuple[PullSummary, list[str]]:
    """The organisation's last pull served by the fake, every calendar read with its own
    service-account token (its own subject), ``workers`` at a time."""
    last = org.pulls()[-1]
    fake.load(last.events, last.attendees)
    cals = sorted(set(last.events["calendar"]))
    key = service_account_file(tmp_path / "sa.json", fake)
    base = auth.service_account_credentials(key, google.CALENDAR_SCOPES)
    with Store(tmp_path / "g.sqlite") as db:
        connector = GoogleConnector(
            lambda: lambda c: base.with_subject(c),
            calendars=cals,
            root=fake.url,
            workers=workers,
            **kw,
        )
        return sync.pull(db, connector, now=AS_OF), cals


def test_each_worker_reuses_its_connection_across_calendars_and_their_credentials(
    org: demo.DemoOrg, tmp_path: Path, fake: FakeGoogle
) -> None:
    workers = 2
    summary, cals = _pull_each_with_its_own_token(org, tmp_path, fake, workers, retries=0)
    assert summary.failed == {} and summary.full == len(cals)
    # each calendar asks for its own token, lists its events and batches its masters: a
    # connection per request would be 3 per calendar; one per worker thread is 2 in all
    assert len(cals) >= 10 and sorted(set(fake.tokens.values())) == cals
    assert len(fake.log) >= 2 * len(cals)
    assert fake.connections <= workers


def test_workers_map_what_they_read_one_at_a_time(
    org: demo.DemoOrg, tmp_path: Path, fake: FakeGoogle, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside, most, lock = [0], [0], threading.Lock()
    real = mapping.map_items

    def slow_map(*args: Any, **kw: Any) -> Any:
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        threading.Event().wait(0.02)  # long enough for the other workers to arrive
        try:
            return real(*args, **kw)
        finally:
            with lock:
                inside[0] -= 1

    monkeypatch.setattr(mapping, "map_items", slow_map)
    summary, cals = _pull_each_with_its_own_token(org, tmp_path, fake, 4)
    assert summary.failed == {} and summary.full == len(cals) >= 10
    assert most[0] == 1  # four workers, one mapping at a time


class Pausing(GoogleConnector):
    """Waits ``gap`` seconds before each calendar (other work, a slow store read): its
    worker's kept-alive connection sits idle meanwhile."""

    def __init__(self, gap: float, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.gap = gap

    def pull_one(self, context: Any) -> Any:
        threading.Event().wait(self.gap)  # not time.sleep: the backoff stub records that
        return super().pull_one(context)


def test_a_kept_alive_connection_the_server_reset_while_idle_is_replaced(
    org: demo.DemoOrg, tmp_path: Path, fake: FakeGoogle, sleeps: list[float]
) -> None:
    last = org.pulls()[-1]
    fake.load(last.events, last.attendees)
    cals = sorted(set(last.events["calendar"]))[:6]
    creds = user_creds(fake, tmp_path)
    fake.idle_reset = 0.05  # a load balancer's idle timeout, closing with a RST
    with Store(tmp_path / "g.sqlite") as db:
        connector = Pausing(
            0.2, lambda: lambda _c: creds, calendars=cals, root=fake.url, retries=0, workers=1
        )
        summary = sync.pull(db, connector, now=AS_OF)
        landed = set(db.events()["calendar"])
    # no library retries to spend: each reset connection was replaced on the spot
    assert summary.failed == {} and summary.full == len(cals) and landed == set(cals)
    assert sleeps == []
    assert fake.connections >= len(cals)  # one worker, reconnected after every idle gap


def test_a_late_answer_after_a_timeout_is_never_read_as_another_requests(
    org: demo.DemoOrg,
    tmp_path: Path,
    fake: FakeGoogle,
    sleeps: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("cadence.sources.google.client.MASTER_BATCH", 2)
    last = org.pulls()[-1]
    fake.load(last.events, last.attendees)
    series = series_by_calendar(last.events)
    many = sorted(series[series >= 4].index)[0]  # its masters take two batches or more
    cals = sorted(set(last.events["calendar"]))[:4]
    cals = [c for c in cals if c != many] + [many]
    creds = user_creds(fake, tmp_path)
    # answers 0.45 s late, after the client gave up (0.3 s) but before the next request would:
    # kept on the socket, the late answer would be read as the next request's. The first
    # calendar's first list request (then its retry, the next page, the next calendar, each
    # read the answer before its own), and the first batch of `many` (the next batch, other
    # series, would take its parts: the reply's Content-IDs are matched by part number)
    fake.stalls[cals[0]].append(0.45)
    fake.stalls[many] += [0.0, 0.45]  # its list request, then its first batch's first part
    with Store(tmp_path / "g.sqlite") as db:
        summary = pull(db, fake, cals, creds, retries=1, timeout=0.3, workers=1)
        got = (db.events(), db.attendees())
    assert summary.failed == {} and not fake.stalls[cals[0]] and not fake.stalls[many]
    assert len(sleeps) == 2  # the list request's retry, and a second round of batches
    with Store(tmp_path / "ref.sqlite") as ref:  # the same calendars, nothing stalled
        assert pull(ref, fake, cals, creds, workers=1).failed == {}
        want = (ref.events(), ref.attendees())
    for cal in cals:
        assert (want[0]["calendar"] == cal).sum() > 0
        for g, w in zip(got, want, strict=True):
            pd.testing.assert_frame_equal(
                g[g["calendar"] == cal].reset_index(drop=True),
                w[w["calendar"] == cal].reset_index(drop=True),
                check_categorical=False,  # the values, not each frame's categories
            )


def test_the_user_token_is_refreshed_and_saved_for_its_owner_only(
    tmp_path: Path, fake: FakeGoogle
) -> None:
    path = user_token_file(tmp_path / "token.json", fake)
    path.chmod(0o644)
    creds = auth.user_credentials(path, token_uri=fake.url + "token")
    assert creds.valid and creds.token.startswith("access-")
    saved = json.loads(path.read_text())
    assert saved["token"] == creds.token and saved["refresh_token"] == "good-refresh-token"
    assert path.stat().st_mode & 0o777 == 0o600
    revoked = user_token_file(tmp_path / "revoked.json", fake, refresh_token="revoked")
    with pytest.raises(GoogleError, match="cadence auth google"):
        auth.user_credentials(revoked, token_uri=fake.url + "token")
    with pytest.raises(GoogleError, match="cadence auth google"):
        auth.user_credentials(tmp_path / "missing.json")


def test_roster_from_the_directory(tmp_path: Path, fake: FakeGoogle) -> None:
    fake.page_size = 2
    fake.users = [
        {
            "primaryEmail": "ceo@example.com",
            "name": {"fullName": "C E O"},
            "organizations": [{"department": "Board", "primary": True}],
            "orgUnitPath": "/",
        },
        {
            "primaryEmail": "ann@example.com",
            "relations": [{"type": "manager", "value": "ceo@example.com"}],
            "organizations": [{"department": "Engineering"}],
            "orgUnitPath": "/eng",
        },
        {
            "primaryEmail": "bob@example.com",
            "relations": [{"type": "manager", "value": "ann@example.com"}],
            "orgUnitPath": "/eng",
        },
        {
            "primaryEmail": "gone@example.com",
            "suspended": True,
            "relations": [{"type": "manager", "value": "ann@example.com"}],
        },
        {
            "primaryEmail": "cat@example.com",
            "relations": [{"type": "manager", "value": "left@example.com"}],
        },
    ]
    key = service_account_file(tmp_path / "sa.json", fake)
    creds = auth.service_account_credentials(key, [google.DIRECTORY_SCOPE])
    connector = GoogleConnector(
        lambda: lambda _c: None,
        directory_sign_in=lambda: creds.with_subject("admin@example.com"),
        root=fake.url,
    )
    roster = connector.directory_roster()
    got = roster.set_index("email")
    assert list(got.index) == [
        "ceo@example.com",
        "ann@example.com",
        "bob@example.com",
        "cat@example.com",
    ]
    assert got.loc["bob@example.com", "manager_email"] == "ann@example.com"
    assert got.loc["ann@example.com", "department"] == "Engineering"
    assert pd.isna(got.loc["cat@example.com", "manager_email"])  # manager not in the directory
    lists = [q for m, p, q in fake.log if p.endswith("/users")]
    assert len(lists) == 3 and all(q["customer"] == "my_customer" for q in lists)


# -- the command: config, exit status, crash safety -----------------------------------------------


def today_org() -> demo.DemoOrg:
    return demo.generate(10, seed=8, as_of=pd.Timestamp.now(tz="UTC").normalize())


def write_config(tmp_path: Path, fake: FakeGoogle, cals: list[str], **extra: Any) -> Path:
    token = user_token_file(tmp_path / "token.json", fake)
    lines = [
        "[google]",
        "enabled = true",
        f'token_path = "{token}"',
        f'token_uri = "{fake.url}token"',
        f'api_root = "{fake.url}"',
        f"calendars = {json.dumps(cals)}",
        "retries = 1",
    ] + [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_cadence_pull_reports_a_failed_calendar_and_exits_1(
    tmp_path: Path, fake: FakeGoogle, sleeps: list[float]
) -> None:
    o = today_org()
    last = o.pulls()[-1]
    fake.load(last.events, last.attendees)
    cals = sorted(set(last.events["calendar"]))
    config = write_config(tmp_path, fake, cals)
    store = tmp_path / "s.sqlite"
    runner = CliRunner()
    ok = runner.invoke(app, ["--config", str(config), "--store", str(store), "pull"])
    assert ok.exit_code == 0, ok.output
    assert f"google: {len(cals)} calendars ({len(cals)} full" in ok.output
    fake.faults[cals[0]] += [503] * 10
    fake.expire_tokens(cals[0])
    bad = runner.invoke(app, ["--config", str(config), "--store", str(store), "pull"])
    assert bad.exit_code == 1
    assert f"google {cals[0]} failed" in bad.output and "1 of" in bad.output
    with Store(store) as db:
        assert db.runs()["status"].tolist() == ["ok", "partial"]


def test_pull_killed_mid_run_then_rerun_equals_an_uninterrupted_pull(
    tmp_path: Path, fake: FakeGoogle
) -> None:
    last = today_org().pulls()[-1]
    fake.load(last.events, last.attendees)
    calendars = sorted(set(last.events["calendar"]))
    config = write_config(tmp_path, fake, calendars, workers=1)
    kill_mid_pull_then_resume(fake, config, calendars, tmp_path)
