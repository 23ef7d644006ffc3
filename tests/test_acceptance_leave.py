"""Acceptance for leave: a hand-written team through every wire format (see test_acceptance).

Mia (Berlin) manages Eve and Fay; Fay's roster row says she works in Germany (``DE``).
As of Wednesday 15 April 2026, 12:00 UTC; the window is the 13 weeks before.

- **eve** — weekly, Mondays 10:00 Berlin. Out of office Monday 2 – Friday 6 March
  (an out-of-office event on her own calendar, midnight to midnight Berlin); the
  2 March 1:1 cancelled a week ahead: excused. 9 February cancelled, no absence: a
  miss. 13 slots: 11 held, 1 cancelled, 1 excused; expected 13 − 1 = 12.
  The gap 23 Feb → 9 Mar is 14 days, 5 of them away: 9 on present time.
- **fay** — weekly, Fridays 10:00 Berlin. Good Friday (3 April, a public holiday in
  Germany) cancelled five days ahead: excused. Out of office 16 – 20 March, and the
  Friday 20 March 1:1 held anyway: it stays held. 13 slots: 12 held, 1 excused;
  expected 12. The gap 27 Mar → 10 Apr stays 13 days 23 hours (Berlin's clocks went
  forward on 29 March): a holiday excuses its slot, present time leaves out only
  out-of-office periods.

The same calendars as Google JSON (the fake Calendar server), Graph JSON (the fake
Graph) and ``.ics`` in Google's and Outlook's dialects must give these numbers.
"""

from __future__ import annotations

import gc
import warnings

import pandas as pd
import pytest

import cadence
from cadence import sync
from cadence.sources.google import GoogleConnector
from cadence.sources.google import auth as google_auth
from cadence.sources.graph import GraphConnector
from cadence.sources.graph import auth as graph_auth
from cadence.sources.ics import IcsConnector, write_ics

from .fake_google import FakeGoogle, user_token_file
from .fake_google import serve as serve_google
from .fake_graph import CLIENT_ID, SECRET, TENANT, FakeGraph, Rewrite
from .fake_graph import serve as serve_graph
from .test_acceptance import AS_OF, BERLIN, MIA, Calendars, D, local, outlook_dialect

EVE, FAY = f"eve@{D}", f"fay@{D}"
ROSTER = pd.DataFrame(
    {
        "email": [MIA, EVE, FAY],
        "manager_email": [None, MIA, MIA],
        "name": ["Mia Berg", "Eve Elm", "Fay Fir"],
        "country": [None, None, "DE"],
    }
)


def team() -> tuple[pd.DataFrame, pd.DataFrame]:
    cal = Calendars()
    cal.weekly(
        "eve-1on1",
        EVE,
        "MO",
        "10:00",
        BERLIN,
        changes={
            "2026-02-09": {"status": "cancelled", "updated": local("2026-02-02", "10:00", BERLIN)},
            "2026-03-02": {"status": "cancelled", "updated": local("2026-02-23", "10:00", BERLIN)},
        },
    )
    cal.weekly(
        "fay-1on1",
        FAY,
        "FR",
        "10:00",
        BERLIN,
        changes={
            "2026-04-03": {"status": "cancelled", "updated": local("2026-03-29", "10:00", BERLIN)},
        },
    )
    for uid, who, first, last in (
        ("eve-away", EVE, "2026-03-02", "2026-03-07"),
        ("fay-away", FAY, "2026-03-16", "2026-03-21"),
    ):
        start = local(first, "00:00", BERLIN)
        cal.add(
            uid=f"{uid}@{D}",
            people=[who],
            start=start,
            minutes=int((local(last, "00:00", BERLIN) - start) / pd.Timedelta(minutes=1)),
            zone=BERLIN,
            event_type="out_of_office",
        )
    return cal.frames()


@pytest.fixture(scope="module")
def analyses(tmp_path_factory: pytest.TempPathFactory) -> dict[str, cadence.Analysis]:
    folder = tmp_path_factory.mktemp("acceptance-leave")
    events, attendees = team()
    stores = {
        name: folder / f"{name}.sqlite" for name in ("google", "graph", "ics-google", "ics-outlook")
    }
    people = ROSTER["email"].tolist()
    with serve_google(FakeGoogle(page_size=9, cancelled_updated=True)) as g:
        g.load(events, attendees)
        token = user_token_file(folder / "token.json", g)
        creds = google_auth.user_credentials(token, token_uri=g.url + "token")
        connector = GoogleConnector(lambda: lambda _c: creds, calendars=people, root=g.url)
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
        connector = GraphConnector(lambda: token_fn, mailboxes=people, graph_url=m.graph)
        with cadence.Store(stores["graph"]) as db:
            assert sync.pull(db, connector, now=AS_OF).failed == {}
    # The client libraries leave a socket or two for the garbage collector (test_acceptance
    # shows the same at shutdown); collect them here, so they warn in no other test.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    for dialect in ("google", "outlook"):
        files = folder / f"ics-{dialect}"
        write_ics(events, attendees, files, until=pd.Timestamp("2026-07-01", tz="UTC"))
        if dialect == "outlook":
            outlook_dialect(files)
        with cadence.Store(stores[f"ics-{dialect}"]) as db:
            summary = sync.pull(db, IcsConnector([files]), now=AS_OF, kind="import")
            assert summary.failed == {} and summary.problems == []
    return {
        name: cadence.analyze(cadence.load_store(path), ROSTER, as_of=AS_OF)
        for name, path in stores.items()
    }


def _pairs(analysis: cadence.Analysis) -> pd.DataFrame:
    return analysis.pairs.set_index("report").sort_index()


def test_out_of_office_and_holidays_excuse_the_slots_in_every_wire_format(
    analyses: dict[str, cadence.Analysis],
) -> None:
    for name, analysis in analyses.items():
        pairs = _pairs(analysis)
        assert list(pairs.index) == [EVE, FAY], name
        got = {
            r: tuple(int(pairs.loc[r, c]) for c in ("held", "cancelled", "excused"))
            for r in (EVE, FAY)
        }
        assert got == {EVE: (11, 1, 1), FAY: (12, 0, 1)}, name
        assert list(pairs["expected"]) == [12.0, 12.0], name
        assert pairs.loc[FAY, "adherence"] == 1.0, name
        assert pairs.loc[EVE, "adherence"] == pytest.approx(11 / 12), name
        eve, fay = list(pairs.loc[EVE, "reasons"]), list(pairs.loc[FAY, "reasons"])
        assert "1 excused (report out of office 2–6 Mar)" in eve, (name, eve)
        assert "1 excused (report on public holiday 3 Apr)" in fay, (name, fay)
        assert set(pairs["status"]) == {"healthy"}, name


def test_each_slot_has_the_outcome_written_down(analyses: dict[str, cadence.Analysis]) -> None:
    for name, analysis in analyses.items():
        occ = analysis.occurrences.set_index("original_start")
        assert occ.loc[local("2026-03-02", "10:00", BERLIN), "outcome"] == "excused", name
        assert occ.loc[local("2026-03-02", "10:00", BERLIN), "away"] == EVE, name
        assert occ.loc[local("2026-04-03", "10:00", BERLIN), "outcome"] == "excused", name
        assert occ.loc[local("2026-04-03", "10:00", BERLIN), "away_kind"] == "holiday", name
        assert occ.loc[local("2026-02-09", "10:00", BERLIN), "outcome"] == "cancelled", name
        # held while Fay was out of office: stays held
        assert occ.loc[local("2026-03-20", "10:00", BERLIN), "outcome"] == "held", name


def test_gaps_across_an_absence_are_measured_on_present_time(
    analyses: dict[str, cadence.Analysis],
) -> None:
    fay_gap = (
        local("2026-04-10", "10:00", BERLIN) - local("2026-03-27", "10:00", BERLIN)
    ) / pd.Timedelta(days=1)
    for name, analysis in analyses.items():
        pairs = _pairs(analysis)
        # Eve: the longest is 2 → 16 Feb (9 Feb missed), 14 days; 23 Feb → 9 Mar is 9 present
        assert pairs.loc[EVE, "longest_gap_days"] == 14, name
        assert pairs.loc[FAY, "longest_gap_days"] == pytest.approx(fay_gap), name
        assert fay_gap == pytest.approx(13 + 23 / 24)


def test_all_sources_agree(analyses: dict[str, cadence.Analysis]) -> None:
    cols = ["held", "cancelled", "excused", "expected", "longest_gap_days", "status", "reasons"]
    want = _pairs(analyses["google"])[cols].astype({"reasons": object})
    for name in ("graph", "ics-google", "ics-outlook"):
        got = _pairs(analyses[name])[cols].astype({"reasons": object})
        got["reasons"] = got["reasons"].map(list)
        w = want.copy()
        w["reasons"] = w["reasons"].map(list)
        # only what Google alone can know (when a cancellation happened) may differ
        for frame in (got, w):
            frame["reasons"] = frame["reasons"].map(
                lambda rs: [r for r in rs if "late" not in r and "ahead" not in r]
            )
        pd.testing.assert_frame_equal(got, w, obj=name)
