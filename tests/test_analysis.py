"""First analysis: 1:1 detection by the DESIGN.md rule, copies merged, outcomes and counts."""

from __future__ import annotations

import pandas as pd
import pytest

from cadence.analysis import analyze, parse_window
from cadence.errors import CadenceError

from .helpers import attendee, event, frames, one_on_one_copies, ts

AS_OF = ts("2026-06-15")
ROSTER = pd.DataFrame(
    {
        "email": ["ann@example.com", "bob@example.com", "cat@example.com"],
        "manager_email": [None, "ann@example.com", "ann@example.com"],
    }
)


def run(evs, ats, roster=None, **kw):
    return analyze(frames(evs, ats), roster, as_of=AS_OF, **kw)


def test_two_copies_are_one_held_occurrence() -> None:
    evs, ats = one_on_one_copies()
    result = run(evs, ats)
    occ = result.occurrences
    assert len(occ) == 1
    row = occ.iloc[0]
    assert (row["person_a"], row["person_b"], row["outcome"], row["copies"]) == (
        "ann@example.com",
        "bob@example.com",
        "held",
        2,
    )
    assert result.pairs[["held", "cancelled", "total"]].iloc[0].tolist() == [1, 0, 1]


def test_a_room_does_not_stop_a_one_on_one_but_a_third_person_does() -> None:
    evs, ats = one_on_one_copies()
    ats.append(attendee(email="room@resource.example.com", role="required", is_resource=True))
    e3, a3 = one_on_one_copies(event_id="e3", uid="uid-3")
    a3.append(attendee(event_id="e3", email="cat@example.com", role="required"))
    occ = run(evs + e3, ats + a3).occurrences
    assert occ["ical_uid"].tolist() == ["uid-1"]


@pytest.mark.parametrize(
    "change",
    [{"all_day": True}, {"event_type": "out_of_office"}, {"event_type": "focus_time"}],
)
def test_all_day_and_non_default_events_are_not_one_on_ones(change) -> None:
    evs, ats = one_on_one_copies()
    evs = [{**e, **change} for e in evs]
    assert run(evs, ats).occurrences.empty


def test_organizer_alone_is_not_a_one_on_one() -> None:
    evs = [event()]
    ats = [attendee()]
    assert run(evs, ats).occurrences.empty


def test_cancellation_by_the_organizer_wins() -> None:
    evs, ats = one_on_one_copies(a_status="cancelled")
    assert run(evs, ats).occurrences["outcome"].tolist() == ["cancelled"]


def test_attendee_removing_their_copy_is_a_decline_not_a_cancellation() -> None:
    evs, ats = one_on_one_copies(b_status="cancelled")
    occ = run(evs, ats).occurrences
    assert occ["outcome"].tolist() == ["declined"]
    assert occ["declined_by"].tolist() == ["bob@example.com"]


def test_each_persons_own_copy_is_trusted_for_their_response() -> None:
    # the organizer's copy still says Bob accepted; Bob's own copy says he declined
    evs, ats = one_on_one_copies(a_sees_b="accepted", b_sees_b="declined")
    assert run(evs, ats).occurrences["declined_by"].tolist() == ["bob@example.com"]
    # and the other way round: a stale "declined" in Ann's copy loses to Bob's own "accepted"
    evs, ats = one_on_one_copies(a_sees_b="declined", b_sees_b="accepted")
    assert run(evs, ats).occurrences["outcome"].tolist() == ["held"]


def test_other_copy_counts_when_own_copy_is_missing() -> None:
    evs, ats = one_on_one_copies(a_sees_b="declined")
    only_ann = [e for e in evs if e["calendar"] == "ann@example.com"]
    only_ann_ats = [a for a in ats if a["calendar"] == "ann@example.com"]
    assert run(only_ann, only_ann_ats).occurrences["outcome"].tolist() == ["declined"]


def test_moved_and_future_occurrences() -> None:
    moved, moved_ats = one_on_one_copies(start="2026-06-02 15:00", original="2026-06-01 09:00")
    future, future_ats = one_on_one_copies(event_id="f", uid="uid-f", start="2026-06-22 09:00")
    occ = run(moved + future, moved_ats + future_ats).occurrences.set_index("ical_uid")
    assert occ.loc["uid-1", "moved"] and occ.loc["uid-1", "moved_by"] == pd.Timedelta(hours=30)
    assert occ.loc["uid-1", "outcome"] == "held"
    assert occ.loc["uid-f", "outcome"] == "scheduled" and not occ.loc["uid-f", "moved"]


def test_roster_orients_pairs_and_drops_peers() -> None:
    mgr, mgr_ats = one_on_one_copies("bob@example.com", "ann@example.com")  # report organizes
    peer, peer_ats = one_on_one_copies(
        "bob@example.com", "cat@example.com", event_id="p", uid="uid-p"
    )
    result = run(mgr + peer, mgr_ats + peer_ats, ROSTER)
    assert result.pairs[["manager", "report"]].to_numpy().tolist() == [
        ["ann@example.com", "bob@example.com"]
    ]
    with_peers = run(mgr + peer, mgr_ats + peer_ats, ROSTER, include_peers=True)
    assert len(with_peers.occurrences) == 2
    assert without_roster_pairs(mgr + peer, mgr_ats + peer_ats) == 2


def without_roster_pairs(evs, ats) -> int:
    return len(run(evs, ats).pairs)


def test_window_keeps_recent_and_future_only() -> None:
    old, old_ats = one_on_one_copies(event_id="o", uid="uid-o", start="2026-01-05 09:00")
    new, new_ats = one_on_one_copies()
    occ = run(old + new, old_ats + new_ats, window="4w").occurrences
    assert occ["ical_uid"].tolist() == ["uid-1"]


def test_copies_in_different_zones_are_the_same_instant() -> None:
    evs, ats = one_on_one_copies()
    evs[1]["start"] = pd.Timestamp("2026-06-01 11:00", tz="Europe/Berlin")
    evs[1]["original_start"] = pd.Timestamp("2026-06-01 05:00", tz="America/New_York")
    evs[1]["end"] = pd.Timestamp("2026-06-01 11:30", tz="Europe/Berlin")
    assert len(run(evs, ats).occurrences) == 1


@pytest.mark.parametrize(("text", "days"), [("13w", 91), ("90d", 90), (" 2W ", 14)])
def test_parse_window(text: str, days: int) -> None:
    assert parse_window(text) == pd.Timedelta(days=days)


@pytest.mark.parametrize("text", ["", "13", "w", "-1w", "0d", "3m"])
def test_parse_window_rejects(text: str) -> None:
    with pytest.raises(CadenceError, match="window"):
        parse_window(text)
