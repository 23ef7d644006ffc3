"""Acceptance: one small team, written down by hand, read through every source Cadence has.

Mia (Berlin) manages four people. What happened, slot by slot, is below; the
expected figures are counted by hand from it (never by the code under test).
The same calendars are served as Google JSON (the real client library against
the fake Calendar server), as Graph JSON (requests/msal against the fake
Graph) and as ``.ics`` exports in two dialects (Google's: IANA zones; Outlook's:
Windows zone names, busy status), pulled through the same sync engine into
four stores. All four must give the same per-pair numbers — except when a
cancellation happened, which only Google's per-instance time can show: there
the others say *unknown*, never "on time".

As of Wednesday 15 April 2026, 12:00 UTC; the window is the 13 weeks before.

- **ann** — weekly, Mondays 10:00 Berlin, with a room booked. 9 Feb cancelled a
  week ahead; 16 Mar cancelled 2 hours ahead (late); 23 Feb moved to Tuesday;
  23 Mar moved to 14:00. 13 slots: 11 held, 2 cancelled, 2 moved.
- **bob** — weekly, Tuesdays 09:00 New York (US clocks change on 8 March, Berlin's
  on 29 March). 17 Feb declined by bob; 10 Mar cancelled 5 days ahead and made up
  by an ad-hoc 1:1 on Thursday 12 Mar. 13 slots + the catch-up: 12 held,
  1 cancelled (replaced), 1 declined.
- **cat** — weekly, Thursdays 11:00 Berlin, the series ended after 26 Feb: 7
  held in the window, nothing since (48 days), nothing booked: lapsed.
- **dan** — weekly, Wednesdays 16:00 Berlin; since March every other slot is
  cancelled (11 Mar, 25 Mar, 8 Apr, each 3 days ahead): 13 slots, 10 held, 3
  cancelled; the recent gaps are two weeks: drift 2 (to the hour: 13 d 23 h ÷ 7 d,
  Berlin's clocks went forward on 29 March).
- Not 1:1s: a Friday team meeting of all five, an all-day offsite of Mia and
  Ann, a three-person meeting, Cat's week out of office, and a coffee between
  Ann and Bob (peers: with the roster, not a manager–report pair).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import cadence
from cadence import sync
from cadence.model import ATTENDEES, EVENTS, validate
from cadence.sources.google import GoogleConnector
from cadence.sources.google import auth as google_auth
from cadence.sources.graph import GraphConnector
from cadence.sources.graph import auth as graph_auth
from cadence.sources.ics import IcsConnector, write_ics

from .fake_google import FakeGoogle, user_token_file
from .fake_google import serve as serve_google
from .fake_graph import CLIENT_ID, SECRET, TENANT, FakeGraph, Rewrite
from .fake_graph import serve as serve_graph

AS_OF = pd.Timestamp("2026-04-15 12:00", tz="UTC")
D = "example.org"
MIA, ANN, BOB, CAT, DAN = (f"{n}@{D}" for n in ("mia", "ann", "bob", "cat", "dan"))
ROOM = f"room-atlas@resource.{D}"
CREATED = pd.Timestamp("2025-11-20 08:00", tz="UTC")
FIRST_DAY, LAST_DAY = pd.Timestamp("2025-12-01"), pd.Timestamp("2026-06-30")


def local(day: str, time: str, zone: str) -> pd.Timestamp:
    return pd.Timestamp(f"{day} {time}").tz_localize(zone).tz_convert("UTC")


class Calendars:
    """Both people's copies of every event, as normalized rows."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.attendees: list[dict[str, Any]] = []

    def add(
        self,
        *,
        uid: str,
        people: list[str],
        start: pd.Timestamp,
        minutes: int,
        zone: str,
        original: pd.Timestamp | None = None,
        series: str | None = None,
        rule: str | None = None,
        status: str = "confirmed",
        updated: pd.Timestamp = CREATED,
        declined: str | None = None,
        room: bool = False,
        all_day: bool = False,
        event_type: str = "default",
    ) -> None:
        slot = original if original is not None else start
        event_id = f"{series}_{slot:%Y%m%dT%H%M%SZ}" if series else uid.split("@")[0]
        for calendar in people:
            self.events.append(
                {
                    "source": "demo",
                    "calendar": calendar,
                    "event_id": event_id,
                    "series_id": series,
                    "ical_uid": uid,
                    "original_start": slot,
                    "start": start,
                    "end": start + pd.Timedelta(minutes=minutes),
                    "timezone": zone,
                    "all_day": all_day,
                    "status": status,
                    "organizer": people[0],
                    "recurrence": rule,
                    "event_type": event_type,
                    "title": None,
                    "created": CREATED,
                    "updated": updated,
                }
            )
            for person in people + ([ROOM] if room else []):
                self.attendees.append(
                    {
                        "source": "demo",
                        "calendar": calendar,
                        "event_id": event_id,
                        "email": person,
                        "role": "organizer" if person == people[0] else "required",
                        "response": "declined" if person == declined else "accepted",
                        "is_resource": person == ROOM,
                    }
                )

    def weekly(
        self,
        name: str,
        who: str,
        weekday: str,
        time: str,
        zone: str,
        *,
        until: str | None = None,
        minutes: int = 30,
        room: bool = False,
        changes: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """A weekly series of Mia's with ``who``; ``changes`` by the slot's local date."""
        rule = f"FREQ=WEEKLY;BYDAY={weekday}" + (f";UNTIL={until}T235959Z" if until else "")
        days = pd.date_range(FIRST_DAY, LAST_DAY, freq=f"W-{_WEEKDAY[weekday]}")
        for day in days:
            if until and day > pd.Timestamp(until):
                break
            slot = local(f"{day:%Y-%m-%d}", time, zone)
            change = (changes or {}).get(f"{day:%Y-%m-%d}", {})
            self.add(
                uid=f"{name}@{D}",
                people=[MIA, who],
                start=change.get("start", slot),
                original=slot,
                minutes=minutes,
                zone=zone,
                series=name,
                rule=rule,
                status=change.get("status", "confirmed"),
                updated=change.get("updated", CREATED),
                declined=change.get("declined"),
                room=room,
            )

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        events = validate(pd.DataFrame(self.events, columns=EVENTS.names), EVENTS)
        return events, validate(pd.DataFrame(self.attendees, columns=ATTENDEES.names), ATTENDEES)


_WEEKDAY = {"MO": "MON", "TU": "TUE", "WE": "WED", "TH": "THU", "FR": "FRI"}
BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"


def team() -> tuple[pd.DataFrame, pd.DataFrame]:
    cal = Calendars()
    cal.weekly(
        "ann-1on1",
        ANN,
        "MO",
        "10:00",
        BERLIN,
        room=True,
        changes={
            "2026-02-09": {"status": "cancelled", "updated": local("2026-02-02", "10:00", BERLIN)},
            "2026-03-16": {"status": "cancelled", "updated": local("2026-03-16", "08:00", BERLIN)},
            "2026-02-23": {"start": local("2026-02-24", "10:00", BERLIN)},
            "2026-03-23": {"start": local("2026-03-23", "14:00", BERLIN)},
        },
    )
    cal.weekly(
        "bob-1on1",
        BOB,
        "TU",
        "09:00",
        NEW_YORK,
        changes={
            "2026-02-17": {"declined": BOB},
            "2026-03-10": {"status": "cancelled", "updated": local("2026-03-05", "12:00", BERLIN)},
        },
    )
    cal.add(  # the catch-up for 10 March, two days later
        uid=f"bob-catchup@{D}",
        people=[MIA, BOB],
        start=local("2026-03-12", "09:00", NEW_YORK),
        minutes=30,
        zone=NEW_YORK,
    )
    cal.weekly("cat-1on1", CAT, "TH", "11:00", BERLIN, until="20260226")
    cal.weekly(
        "dan-1on1",
        DAN,
        "WE",
        "16:00",
        BERLIN,
        changes={
            day: {"status": "cancelled", "updated": local(earlier, "09:00", BERLIN)}
            for day, earlier in (
                ("2026-03-11", "2026-03-08"),
                ("2026-03-25", "2026-03-22"),
                ("2026-04-08", "2026-04-05"),
            )
        },
    )
    # what is not a 1:1
    for day in pd.date_range("2026-01-02", "2026-04-10", freq="W-FRI"):
        cal.add(
            uid=f"team-{day:%m%d}@{D}",
            people=[MIA, ANN, BOB, CAT, DAN],
            start=local(f"{day:%Y-%m-%d}", "10:00", BERLIN),
            minutes=45,
            zone=BERLIN,
        )
    cal.add(
        uid=f"offsite@{D}",
        people=[MIA, ANN],
        start=pd.Timestamp("2026-03-05", tz="UTC"),
        minutes=24 * 60,
        zone=BERLIN,
        all_day=True,
    )
    cal.add(
        uid=f"planning@{D}",
        people=[MIA, ANN, BOB],
        start=local("2026-02-11", "13:00", BERLIN),
        minutes=60,
        zone=BERLIN,
    )
    cal.add(
        uid=f"cat-away@{D}",
        people=[CAT],
        start=local("2026-03-02", "09:00", BERLIN),
        minutes=5 * 24 * 60,
        zone=BERLIN,
        event_type="out_of_office",
    )
    cal.add(
        uid=f"coffee@{D}",
        people=[ANN, BOB],
        start=local("2026-02-12", "15:00", BERLIN),
        minutes=30,
        zone=BERLIN,
    )
    return cal.frames()


ROSTER = pd.DataFrame(
    {
        "email": [MIA, ANN, BOB, CAT, DAN],
        "manager_email": [None, MIA, MIA, MIA, MIA],
        "name": ["Mia Berg", "Ann Ash", "Bob Birch", "Cat Cole", "Dan Dale"],
        "department": ["Product"] * 5,
    }
)

# counted by hand from the module docstring: (held, cancelled, declined, moved, replaced)
EXPECTED = {
    ANN: (11, 2, 0, 2, 0),
    BOB: (12, 1, 1, 0, 1),
    CAT: (7, 0, 0, 0, 0),
    DAN: (10, 3, 0, 0, 0),
}
# whole days since the last held 1:1 (as of 15 Apr 12:00 UTC)
DAYS_SINCE = {
    ANN: 2,  # Mon 13 Apr 10:00 Berlin = 08:00 UTC: 2 d 4 h
    BOB: 0,  # Tue 14 Apr 09:00 New York = 13:00 UTC: 23 h
    CAT: 48,  # Thu 26 Feb 11:00 Berlin = 10:00 UTC: 48 d 2 h
    DAN: 13,  # Wed 1 Apr 16:00 Berlin = 14:00 UTC: 13 d 22 h (8 Apr was cancelled)
}
COMPARED = [
    "held",
    "cancelled",
    "declined",
    "moved",
    "replaced",
    "past",
    "expected",
    "target_days",
    "days_since_last_held",
    "median_gap_days",
    "recent_median_gap_days",
    "next_scheduled",
    "status",
]


def outlook_dialect(folder: Path) -> None:
    """Google-style exports rewritten as Outlook writes them: Windows zone names, busy status."""
    windows = {BERLIN: "W. Europe Standard Time", NEW_YORK: "Eastern Standard Time"}
    for path in folder.glob("*.ics"):
        text = path.read_bytes().decode("utf-8")  # CRLF kept, as written
        for iana, name in windows.items():
            text = text.replace(f"TZID={iana}:", f'TZID="{name}":')
        text = text.replace(
            "STATUS:CONFIRMED\r\n", "STATUS:CONFIRMED\r\nX-MICROSOFT-CDO-BUSYSTATUS:BUSY\r\n"
        )
        text = text.replace(
            "PRODID:-//Cadence//demo export//EN", "PRODID:Microsoft Exchange Server 2010"
        )
        assert "Europe/Berlin" not in text and "America/New_York" not in text
        path.write_bytes(text.encode("utf-8"))


@pytest.fixture(scope="module")
def analyses(tmp_path_factory: pytest.TempPathFactory) -> dict[str, cadence.Analysis]:
    folder = tmp_path_factory.mktemp("acceptance")
    events, attendees = team()
    out: dict[str, cadence.Analysis] = {}
    stores = {
        name: folder / f"{name}.sqlite" for name in ("google", "graph", "ics-google", "ics-outlook")
    }
    with serve_google(FakeGoogle(page_size=9, cancelled_updated=True)) as g:
        g.load(events, attendees)
        token = user_token_file(folder / "token.json", g)
        creds = google_auth.user_credentials(token, token_uri=g.url + "token")
        connector = GoogleConnector(
            lambda: lambda _c: creds, calendars=ROSTER["email"].tolist(), root=g.url
        )
        with cadence.Store(stores["google"]) as db:
            assert sync.pull(db, connector, now=AS_OF).failed == {}
    with serve_graph(FakeGraph(page_size=9)) as m:
        m.load(events, attendees)
        token_fn = graph_auth.application_token(
            CLIENT_ID,
            TENANT,
            SECRET,
            graph_url=m.graph,
            authority_host=m.authority_host,
            http_client=Rewrite(m),
        )
        connector = GraphConnector(
            lambda: token_fn, mailboxes=ROSTER["email"].tolist(), graph_url=m.graph
        )
        with cadence.Store(stores["graph"]) as db:
            assert sync.pull(db, connector, now=AS_OF).failed == {}
    for dialect in ("google", "outlook"):
        files = folder / f"ics-{dialect}"
        write_ics(events, attendees, files, until=pd.Timestamp("2026-07-01", tz="UTC"))
        if dialect == "outlook":
            outlook_dialect(files)
        with cadence.Store(stores[f"ics-{dialect}"]) as db:
            summary = sync.pull(db, IcsConnector([files]), now=AS_OF, kind="import")
            assert summary.failed == {} and summary.problems == []
    for name, path in stores.items():
        out[name] = cadence.analyze(cadence.load_store(path), ROSTER, as_of=AS_OF)
    return out


def by_report(analysis: cadence.Analysis) -> pd.DataFrame:
    return analysis.pairs.set_index("report").sort_index()


def test_every_source_finds_the_four_pairs_and_nothing_else(analyses: dict[str, Any]) -> None:
    for name, analysis in analyses.items():
        pairs = by_report(analysis)
        assert list(pairs.index) == [ANN, BOB, CAT, DAN], name
        assert set(pairs["manager"]) == {MIA}, name


def test_the_hand_counted_figures_in_every_source(analyses: dict[str, Any]) -> None:
    for name, analysis in analyses.items():
        pairs = by_report(analysis)
        for report, (held, cancelled, declined, moved, replaced) in EXPECTED.items():
            row = pairs.loc[report]
            got = tuple(int(row[c]) for c in ("held", "cancelled", "declined", "moved", "replaced"))
            assert got == (held, cancelled, declined, moved, replaced), (name, report)
            assert row["past"] == held + cancelled + declined, (name, report)
            assert row["days_since_last_held"] == DAYS_SINCE[report], (name, report)
            assert row["target_days"] == 7 and row["expected"] == 13.0, (name, report)
        assert pairs.loc[CAT, "status"] == "lapsed", name
        # dan's recent gaps: 7 d (25 Feb → 4 Mar), 14 d (4 → 18 Mar) and 13 d 23 h (18 Mar →
        # 1 Apr: Berlin's clocks went forward in between); the median is the last
        gap = 13 + 23 / 24
        assert pairs.loc[DAN, "recent_median_gap_days"] == pytest.approx(gap), name
        assert pairs.loc[DAN, "drift"] == pytest.approx(gap / 7), name
        assert pairs.loc[ANN, "next_scheduled"] == local("2026-04-20", "10:00", BERLIN)


def test_all_sources_agree_on_every_per_pair_number(analyses: dict[str, Any]) -> None:
    want = by_report(analyses["google"])[COMPARED]
    for name in ("graph", "ics-google", "ics-outlook"):
        pd.testing.assert_frame_equal(by_report(analyses[name])[COMPARED], want, obj=name)


def test_when_a_cancellation_happened_is_known_only_where_the_source_shows_it(
    analyses: dict[str, Any],
) -> None:
    google = by_report(analyses["google"])
    # Google's cancelled instances carry their own time: 16 Mar was late, the rest on time
    assert google.loc[ANN, "late_cancelled"] == 1
    assert (google["late_unknown"] == 0).all()
    assert google.loc[[BOB, CAT, DAN], "late_cancelled"].sum() == 0
    occ = analyses["google"].occurrences
    late = occ.loc[occ["outcome"] == "cancelled"].set_index("original_start")["late_cancel"]
    assert bool(late[local("2026-03-16", "10:00", BERLIN)]) is True
    assert bool(late[local("2026-02-09", "10:00", BERLIN)]) is False
    for name in ("graph", "ics-google", "ics-outlook"):
        pairs = by_report(analyses[name])
        # a master's cancelledOccurrences / an EXDATE says nothing of when: unknown, not 0
        assert (pairs["late_cancelled"] == 0).all(), name
        assert (pairs["late_unknown"] == pairs["cancelled"]).all(), name
        cancelled = analyses[name].occurrences
        assert cancelled.loc[cancelled["outcome"] == "cancelled", "late_cancel"].isna().all()
        reasons = " ".join(r for rs in pairs.loc[ANN, ["reasons"]] for r in rs)
        assert "not known" in reasons, (name, reasons)
        # what is knowable scores the same; only Google's known late cancellation costs points
        same = [BOB, CAT, DAN]
        assert (pairs.loc[same, "health_score"] == google.loc[same, "health_score"]).all(), name
        assert google.loc[ANN, "health_score"] < pairs.loc[ANN, "health_score"], name


def test_the_dst_changes_keep_each_slot_one_occurrence(analyses: dict[str, Any]) -> None:
    for name, analysis in analyses.items():
        occ = analysis.occurrences
        bob = occ[(occ["report"] == BOB) & (occ["start"] < AS_OF)]
        assert (bob["copies"] == 2).all(), name  # both calendars' copies merged, every week
        hours = bob.loc[bob["series"].notna(), "original_start"].dt.hour
        # 09:00 New York is 14:00 UTC until 8 March, 13:00 UTC after
        assert set(hours) == {13, 14}, name
        assert (
            bob.loc[
                bob["original_start"] < pd.Timestamp("2026-03-08", tz="UTC"), "original_start"
            ].dt.hour
            == 14
        ).all()
