"""The analysis engine on small hand-built frames: one test (or more) per rule of DESIGN.md."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from cadence.analysis import AnalysisSettings, analyze, parse_window
from cadence.errors import CadenceError, SchemaError
from cadence.model import Pull
from cadence.store import Store

from .helpers import (
    attendee,
    event,
    frames,
    one_on_one_copies,
    ts,
    weekly_series,
    with_evidence,
)

AS_OF = ts("2026-06-15")
ANN, BOB, CAT = "ann@example.com", "bob@example.com", "cat@example.com"
ROSTER = pd.DataFrame(
    {"email": [ANN, BOB, CAT], "manager_email": [None, ANN, ANN], "department": ["Eng"] * 3}
)


def run(evs, ats, roster=None, **kw):
    return analyze(frames(evs, ats), roster, as_of=kw.pop("as_of", AS_OF), **kw)


def tri(value: object) -> bool | None:
    """A nullable boolean cell as True, False or None (unknown)."""
    return None if pd.isna(value) else bool(value)


def occ_of(result, uid: str) -> pd.Series:
    rows = result.occurrences[result.occurrences["ical_uid"] == uid]
    assert len(rows) == 1, rows
    return rows.iloc[0]


# -- 1:1 detection -------------------------------------------------------------------------------


def test_two_copies_are_one_held_occurrence() -> None:
    evs, ats = one_on_one_copies()
    result = run(evs, ats)
    assert len(result.occurrences) == 1
    row = result.occurrences.iloc[0]
    assert (row["person_a"], row["person_b"], row["outcome"], row["copies"]) == (
        ANN,
        BOB,
        "held",
        2,
    )
    assert row["pair"] == f"{ANN} ↔ {BOB}"
    pair = result.pairs.iloc[0]
    assert (pair["held"], pair["cancelled"], pair["past"]) == (1, 0, 1)


def test_a_room_does_not_stop_a_one_on_one_but_a_third_person_does() -> None:
    evs, ats = one_on_one_copies()
    ats.append(attendee(email="room@resource.example.com", role="required", is_resource=True))
    e3, a3 = one_on_one_copies(event_id="e3", uid="uid-3")
    a3.append(attendee(event_id="e3", email=CAT, role="required"))  # only in Ann's copy
    occ = run(evs + e3, ats + a3).occurrences
    assert occ["ical_uid"].tolist() == ["uid-1"]


@pytest.mark.parametrize(
    "change", [{"all_day": True}, {"event_type": "out_of_office"}, {"event_type": "focus_time"}]
)
def test_all_day_and_non_default_events_are_not_one_on_ones(change) -> None:
    evs, ats = one_on_one_copies()
    assert run([{**e, **change} for e in evs], ats).occurrences.empty


def test_organizer_alone_is_not_a_one_on_one() -> None:
    assert run([event()], [attendee()]).occurrences.empty


def test_roster_orients_pairs_keeps_reports_and_lists_silent_pairs() -> None:
    mgr, mgr_ats = one_on_one_copies(BOB, ANN)  # the report organizes
    peer, peer_ats = one_on_one_copies(BOB, CAT, event_id="p", uid="uid-p")
    result = run(mgr + peer, mgr_ats + peer_ats, ROSTER)
    pairs = result.pairs.set_index("report")
    assert set(result.occurrences["pair"]) == {f"{ANN} → {BOB}"}
    assert pairs.loc[BOB, "manager"] == ANN and pairs.loc[BOB, "held"] == 1
    assert pairs.loc[BOB, "department"] == "Eng"
    # Ann and Cat never met, though their calendars were read: the most lapsed pair of all
    assert pairs.loc[CAT, "status"] == "lapsed" and pairs.loc[CAT, "held"] == 0
    assert pairs.loc[CAT, "reasons"][0] == (
        "lapsed: they never met in the 91 days observed (at least 3× the 14-day target, "
        "assumed) and nothing scheduled"
    )
    assert pairs.loc[CAT, "never_met"] and not pairs.loc[BOB, "never_met"]
    assert pairs.loc[CAT, "target_source"] == "default"  # assumed, never an RRULE fact
    assert pd.isna(pairs.loc[CAT, "days_since_last_held"])
    assert not any("target 14," in r or r.endswith("target 14") for r in pairs.loc[CAT, "reasons"])
    with_peers = run(mgr + peer, mgr_ats + peer_ats, ROSTER, include_peers=True)
    assert set(with_peers.occurrences["relation"]) == {"report", "peer"}
    assert len(run(mgr + peer, mgr_ats + peer_ats).pairs) == 2  # no roster: every pair


def test_a_pair_that_never_met_has_adherence_only_once_a_1_1_was_expected() -> None:
    mgr, mgr_ats = one_on_one_copies(BOB, ANN)
    # a 1-week window and the assumed 14-day target: 7 / 14 = 0.5 expected, under the 1 needed
    short = run(mgr, mgr_ats, ROSTER, window="1w").pairs.set_index("report")
    assert short.loc[CAT, "never_met"] and short.loc[CAT, "expected"] == 0.5
    assert pd.isna(short.loc[CAT, "adherence"])  # unknown, as for a pair that did meet
    assert not any("adherence" in r or " of 0.5" in r for r in short.loc[CAT, "reasons"])
    # 13 weeks: 91 / 14 = 6.5 expected, none held
    long = run(mgr, mgr_ats, ROSTER, window="13w").pairs.set_index("report")
    assert long.loc[CAT, "expected"] == 6.5 and long.loc[CAT, "adherence"] == 0.0


def test_a_roster_frame_written_by_hand_matches_the_calendars_addresses() -> None:
    evs, ats = one_on_one_copies(ANN, "robert@example.com")
    shouting = pd.DataFrame(
        {
            "email": [" Ann@Example.com", "BOB@example.com ", "cat@example.com"],
            "manager_email": [None, "ANN@EXAMPLE.COM", ""],
            "aliases": [None, "Robert@Example.COM", None],
        }
    )
    result = run(evs, ats, shouting)
    assert result.occurrences[["manager", "report"]].to_numpy().tolist() == [[ANN, BOB]]
    assert result.pairs["report"].tolist() == [BOB]  # cat's empty manager: the top, no pair


def test_the_people_columns_hold_the_addresses_of_the_1_1s_only() -> None:
    evs, ats = one_on_one_copies(ANN, BOB)
    alone = run(evs, ats).occurrences
    # the same 1:1 beside a meeting of three strangers (no 1:1): it changes nothing
    crowd = [
        event(calendar="x@example.com", event_id="m", ical_uid="uid-m", organizer="x@example.com")
    ]
    crowd_ats = [
        attendee(calendar="x@example.com", event_id="m", email=e, role="required")
        for e in ("x@example.com", "y@example.com", "z@example.com")
    ]
    beside = run(evs + crowd, ats + crowd_ats).occurrences
    pd.testing.assert_frame_equal(beside, alone)
    assert list(beside["person_a"].cat.categories) == [ANN, BOB]
    assert beside["organizer"].value_counts().to_dict() == {ANN: 1, BOB: 0}


def test_a_roster_frame_naming_one_address_twice_is_a_one_line_error() -> None:
    from cadence.errors import RosterError

    evs, ats = one_on_one_copies(ANN, BOB)
    twice = pd.DataFrame(
        {"email": [ANN, BOB, "Bob@Example.com "], "manager_email": [None, ANN, ANN]}
    )
    with pytest.raises(RosterError, match=r"lines 3, 4: bob@example.com appears more than once"):
        run(evs, ats, twice)


def test_only_their_people_reads_each_column_by_its_own_categories() -> None:
    from cadence.analysis.engine import only_their_people

    a = pd.Categorical(["x", "y"], categories=["x", "y", "z", "w"])
    b = pd.Categorical(["z", "x"], categories=["z", "y", "x", "w"])  # same set, other order
    out = only_their_people(pd.DataFrame({"person_a": a, "person_b": b}))
    assert out["person_a"].tolist() == ["x", "y"] and out["person_b"].tolist() == ["z", "x"]
    assert list(out["person_a"].cat.categories) == ["x", "y"]


def test_skip_levels_only_when_asked() -> None:
    roster = pd.DataFrame({"email": [ANN, BOB, CAT], "manager_email": [None, ANN, BOB]})
    evs, ats = one_on_one_copies(ANN, CAT)
    assert run(evs, ats, roster).occurrences.empty
    settings = AnalysisSettings(include_skip_levels=True)
    occ = run(evs, ats, roster, settings=settings).occurrences
    assert occ[["manager", "report", "relation"]].to_numpy().tolist() == [[ANN, CAT, "skip_level"]]


def test_roster_aliases_merge_two_addresses_of_one_person() -> None:
    roster = ROSTER.assign(aliases=[None, "robert@example.com", None])
    evs, ats = one_on_one_copies(ANN, "robert@example.com")
    result = run(evs, ats, roster)
    assert result.occurrences[["manager", "report"]].to_numpy().tolist() == [[ANN, BOB]]


# -- copies and outcomes ------------------------------------------------------------------------


def test_cancellation_by_the_organizer_wins() -> None:
    evs, ats = one_on_one_copies(a_status="cancelled")
    row = run(evs, ats).occurrences.iloc[0]
    assert row["outcome"] == "cancelled" and row["cancelled_by"] == ANN


def test_an_occurrence_the_organizer_cancelled_was_declined_by_nobody() -> None:
    # the organizer cancels: every copy shows cancelled, the attendee's too
    evs, ats = one_on_one_copies(a_status="cancelled", b_status="cancelled")
    row = run(evs, ats).occurrences.iloc[0]
    assert row["outcome"] == "cancelled" and row["cancelled_by"] == ANN
    assert pd.isna(row["declined_by"])
    # a refusal given before the organizer cancelled is still the person's word
    evs, ats = one_on_one_copies(a_status="cancelled", b_status="cancelled", b_sees_b="declined")
    assert run(evs, ats).occurrences["declined_by"].tolist() == [BOB]


def test_attendee_removing_their_copy_is_a_decline_not_a_cancellation() -> None:
    evs, ats = one_on_one_copies(b_status="cancelled")
    row = run(evs, ats).occurrences.iloc[0]
    assert (row["outcome"], row["declined_by"]) == ("declined", BOB)
    assert pd.isna(row["cancelled_by"])


def test_each_persons_own_copy_is_trusted_for_their_response() -> None:
    evs, ats = one_on_one_copies(a_sees_b="accepted", b_sees_b="declined")
    assert run(evs, ats).occurrences["declined_by"].tolist() == [BOB]
    evs, ats = one_on_one_copies(a_sees_b="declined", b_sees_b="accepted")
    assert run(evs, ats).occurrences["outcome"].tolist() == ["held"]


def test_other_copy_counts_when_own_copy_is_missing() -> None:
    evs, ats = one_on_one_copies(a_sees_b="declined")
    only_ann = [e for e in evs if e["calendar"] == ANN]
    only_ann_ats = [a for a in ats if a["calendar"] == ANN]
    assert run(only_ann, only_ann_ats).occurrences["outcome"].tolist() == ["declined"]


def test_moved_direction_and_future_occurrences() -> None:
    later, later_ats = one_on_one_copies(start="2026-06-02 15:00", original="2026-06-01 09:00")
    earlier, earlier_ats = one_on_one_copies(
        event_id="e", uid="uid-e", start="2026-06-05 08:00", original="2026-06-05 10:00"
    )
    future, future_ats = one_on_one_copies(event_id="f", uid="uid-f", start="2026-06-22 09:00")
    result = run(later + earlier + future, later_ats + earlier_ats + future_ats)
    row = occ_of(result, "uid-1")
    assert row["moved"] and row["moved_by"] == pd.Timedelta(hours=30)
    assert row["move_direction"] == "later" and row["outcome"] == "held"
    assert occ_of(result, "uid-e")["move_direction"] == "earlier"
    fut = occ_of(result, "uid-f")
    assert fut["outcome"] == "scheduled" and not fut["moved"] and pd.isna(fut["move_direction"])


# -- late cancellation: only from evidence of when that occurrence was cancelled ---------------
# The 1:1 starts Mon 1 June 09:00 UTC; late means cancelled less than 24 h ahead, i.e. after
# Sun 31 May 09:00.


@pytest.mark.parametrize(
    ("after", "before", "late"),
    [
        ("2026-06-01 06:00", "2026-06-01 06:00", True),  # exact (a Google instance's updated)
        ("2026-05-29 09:00", "2026-05-29 09:00", False),  # exact, 3 days ahead
        ("2026-05-31 10:00", "2026-06-01 08:00", True),  # whole interval within 24 h
        ("2026-05-25 09:00", "2026-05-31 09:00", False),  # whole interval 24 h or more ahead
        ("2026-05-25 09:00", "2026-06-01 08:00", None),  # straddles the 24 h line: unknown
        (None, "2026-05-30 09:00", False),  # seen cancelled 2 days ahead: not late, whenever
        ("2026-05-31 12:00", None, True),  # still live 21 h ahead: late, whenever
        (None, None, None),  # columns there, but no evidence for this copy
    ],
)
def test_late_cancellation_needs_evidence_of_when(
    after: str | None, before: str | None, late: bool | None
) -> None:
    evs, ats = one_on_one_copies(a_status="cancelled", b_status="cancelled")
    data = with_evidence(frames(evs, ats), {(ANN, "e1"): (after, before)})
    result = analyze(data, as_of=AS_OF)
    row = result.occurrences.iloc[0]
    assert row["outcome"] == "cancelled"
    assert str(result.occurrences["late_cancel"].dtype) == "boolean"
    assert tri(row["late_cancel"]) is late
    assert (pd.isna(row["cancelled_after"]) and after is None) or row["cancelled_after"] == ts(
        after or "1970"
    )
    exact = after is not None and after == before
    assert (row["cancelled_at"] == ts(after)) if exact else pd.isna(row["cancelled_at"])
    pair = result.pairs.iloc[0]
    assert (pair["late_cancelled"], pair["late_unknown"]) == (
        int(late is True),
        int(late is None),
    )


def test_updated_is_not_a_cancellation_time() -> None:
    """A copy's ``updated`` (a series master's LAST-MODIFIED, say) says nothing about when."""
    evs, ats = one_on_one_copies(
        a_status="cancelled", b_status="cancelled", updated="2026-06-01 06:00"
    )
    result = run(evs, ats)
    row = result.occurrences.iloc[0]
    assert row["outcome"] == "cancelled" and pd.isna(row["late_cancel"])
    assert pd.isna(row["cancelled_at"]) and pd.isna(row["cancelled_before"])
    pair = result.pairs.iloc[0]
    assert (pair["cancelled"], pair["late_cancelled"], pair["late_unknown"]) == (1, 0, 1)
    assert pair["late_unknown_sources"] == "demo"


def test_organizer_copy_evidence_first_else_any_cancelled_copy() -> None:
    evs, ats = one_on_one_copies(a_status="cancelled", b_status="cancelled")
    both = {
        (ANN, "e1"): ("2026-05-20 09:00", "2026-05-20 09:00"),  # the organizer's: on time
        (BOB, "e1"): ("2026-06-01 08:00", "2026-06-01 08:00"),
    }
    row = analyze(with_evidence(frames(evs, ats), both), as_of=AS_OF).occurrences.iloc[0]
    assert tri(row["late_cancel"]) is False and row["cancelled_at"] == ts("2026-05-20 09:00")
    only_bob = {(BOB, "e1"): ("2026-06-01 08:00", "2026-06-01 08:00")}
    row = analyze(with_evidence(frames(evs, ats), only_bob), as_of=AS_OF).occurrences.iloc[0]
    assert tri(row["late_cancel"]) is True and row["cancelled_at"] == ts("2026-06-01 08:00")


def test_not_cancelled_is_never_late_and_a_live_copys_evidence_is_ignored() -> None:
    evs, ats = one_on_one_copies(b_status="cancelled")  # Bob removed his copy: a decline
    live = {(ANN, "e1"): ("2026-06-01 08:00", "2026-06-01 08:00")}
    row = analyze(with_evidence(frames(evs, ats), live), as_of=AS_OF).occurrences.iloc[0]
    assert row["outcome"] == "declined" and tri(row["late_cancel"]) is False
    assert pd.isna(row["cancelled_after"])


def test_unknown_lateness_costs_nothing_and_is_said_with_its_sources() -> None:
    """Four weekly slots, two cancelled: one from an .ics file (no evidence), one from
    Outlook (no evidence). No point is lost for lateness; the reason names both sources."""
    evs, ats = weekly_series(ANN, BOB, "2026-05-18 09:00", 4)
    for e in evs:
        if e["event_id"] in ("weekly_1", "weekly_2"):
            e["status"] = "cancelled"
    for row in evs + ats:
        row["source"] = "ics" if row["event_id"] == "weekly_1" else "graph"
    result = run(evs, ats)
    pair = result.pairs.iloc[0]
    assert (pair["cancelled"], pair["late_cancelled"], pair["late_unknown"]) == (2, 0, 2)
    assert pair["late_unknown_sources"] == "ics, graph"
    assert "late: not known from .ics / Outlook data (2 cancelled)" in pair["reasons"]
    assert not any("less than 24 h" in r for r in pair["reasons"])
    # the same history with both cancellations known to be late loses late-cancel points:
    # 2 of 4 past slots cancelled late, × 10 points = 5
    data = with_evidence(
        frames(evs, ats),
        {(ANN, f"weekly_{k}"): (f"2026-05-{24 + 7 * (k - 1)} 20:00",) * 2 for k in (1,)}
        | {(ANN, "weekly_2"): ("2026-05-31 20:00", "2026-05-31 20:00")},
    )
    known = analyze(data, as_of=AS_OF).pairs.iloc[0]
    assert (known["late_cancelled"], known["late_unknown"]) == (2, 0)
    assert "2 cancelled less than 24 h ahead (−5)" in known["reasons"]
    assert known["health_score"] == pytest.approx(pair["health_score"] - 5)


def test_vanished_before_its_start_is_a_cancellation(tmp_path: Path) -> None:
    """Cancellations seen only through the store's history count as cancelled; when is
    known only from the store's evidence, not from ``vanished_at`` alone."""
    evs, ats = one_on_one_copies(start="2026-06-10 09:00", updated="2026-05-01")
    window = (ts("2026-03-01"), ts("2026-07-01"))  # the pulls cover the analysis window
    with Store(tmp_path / "c.sqlite") as store:
        e, a = frames(evs, ats)
        store.write_pull(Pull("demo", [ANN, BOB], e, a, seen_at=ts("2026-06-01"), window=window))
        e0, a0 = frames([], [])
        store.write_pull(
            Pull("demo", [ANN, BOB], e0, a0, seen_at=ts("2026-06-09 20:00"), window=window)
        )
        result = analyze(store.frames(), as_of=AS_OF)
        stored = store.events(include_meta=True), store.attendees()
    row = result.occurrences.iloc[0]
    assert row["outcome"] == "cancelled" and pd.isna(row["late_cancel"])
    assert pd.isna(row["cancelled_at"])
    # the store's own evidence: live at the 1 June pull, gone at the 9 June 20:00 one
    assert (row["cancelled_after"], row["cancelled_before"]) == (
        ts("2026-06-01"),
        ts("2026-06-09 20:00"),
    )
    # what the store knows, as evidence: live at the 1 June pull, gone at the 9 June 20:00 one
    pulls = {(c, "e1"): ("2026-06-01", "2026-06-09 20:00") for c in (ANN, BOB)}
    interval = analyze(with_evidence(stored, pulls), as_of=AS_OF).occurrences.iloc[0]
    assert pd.isna(interval["late_cancel"])  # somewhere in 8 days before: late or not unknown
    close = {(c, "e1"): ("2026-06-09 12:00", "2026-06-09 20:00") for c in (ANN, BOB)}
    row = analyze(with_evidence(stored, close), as_of=AS_OF).occurrences.iloc[0]
    assert tri(row["late_cancel"]) is True  # live 21 h before its start, gone 13 h before


def test_evidence_columns_must_hold_timestamps() -> None:
    evs, ats = one_on_one_copies(a_status="cancelled", b_status="cancelled")
    e, a = frames(evs, ats)
    with pytest.raises(SchemaError, match="cancelled_after"):
        analyze((e.assign(cancelled_after="soon"), a), as_of=AS_OF)


def test_shortened_against_the_series_usual_length() -> None:
    evs, ats = weekly_series(ANN, BOB, "2026-05-04 09:00", 6)
    short_evs, short_ats = weekly_series(ANN, BOB, "2026-06-15 09:00", 1, uid="weekly", minutes=15)
    short_evs = [{**e, "event_id": "weekly_6"} for e in short_evs]
    short_ats = [{**a, "event_id": "weekly_6"} for a in short_ats]
    occ = run(evs + short_evs, ats + short_ats, as_of=ts("2026-06-20")).occurrences
    assert occ["shortened"].tolist() == [False] * 6 + [True]


# -- ad-hoc 1:1s and replacements -------------------------------------------------------------


def test_ad_hoc_one_on_one_counts_as_held_and_replaces_a_missed_slot() -> None:
    evs, ats = weekly_series(ANN, BOB, "2026-05-04 09:00", 6)
    # slot 3 (25 May) cancelled; an ad-hoc catch-up 2 days later (within half of 7 days)
    for e in evs:
        if e["event_id"] == "weekly_3":
            e["status"] = "cancelled"
    adhoc, adhoc_ats = one_on_one_copies(event_id="c", uid="catch-up", start="2026-05-27 14:00")
    result = run(evs + adhoc, ats + adhoc_ats)
    occ = result.occurrences.set_index("ical_uid", append=True)
    missed = result.occurrences[result.occurrences["outcome"] == "cancelled"].iloc[0]
    assert missed["replaced"]
    assert occ_of(result, "catch-up")["outcome"] == "held" and occ_of(result, "catch-up")["adhoc"]
    pair = result.pairs.iloc[0]
    assert (pair["held"], pair["cancelled"], pair["replaced"]) == (6, 1, 1)
    assert len(occ) == 7


def test_a_catch_up_too_late_does_not_replace() -> None:
    evs, ats = weekly_series(ANN, BOB, "2026-05-04 09:00", 6)
    evs = [{**e, "status": "cancelled"} if e["event_id"] == "weekly_3" else e for e in evs]
    adhoc, adhoc_ats = one_on_one_copies(event_id="c", uid="catch-up", start="2026-05-29 14:00")
    result = run(evs + adhoc, ats + adhoc_ats)
    assert not result.occurrences["replaced"].any()


# -- targets and cadence ------------------------------------------------------------------------


def test_target_follows_the_series_in_force() -> None:
    """Weekly until mid-April, then every two weeks: adherence uses the target in force."""
    weekly, weekly_ats = weekly_series(ANN, BOB, "2026-03-02 10:00", 7, uid="w")
    fortnightly, f_ats = weekly_series(
        ANN,
        BOB,
        "2026-04-20 10:00",
        5,
        every_days=14,
        uid="f",
        rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
    )
    result = run(weekly + fortnightly, weekly_ats + f_ats, window="16w")
    pair = result.pairs.iloc[0]
    assert (pair["target_days"], pair["target_source"]) == (14.0, "rrule")
    # 7 weekly slots from 2 Mar, then one a fortnight from 20 Apr 10:00 to 15 Jun; all held
    fortnights = (AS_OF - ts("2026-04-20 10:00")) / pd.Timedelta(days=14)
    assert pair["expected"] == round(7 + fortnights, 1) == 11.0  # one decimal, everywhere
    assert pair["held"] == 11
    assert pair["adherence"] == 11 / 11.0
    assert "held" not in " ".join(pair["reasons"])  # nothing lost: no reason
    assert pair["status"] == "healthy"
    targets = result.occurrences.groupby("series")["target_days"].unique()
    assert targets["w"].tolist() == [7.0] and targets["f"].tolist() == [14.0]


@pytest.mark.parametrize(
    ("settings", "starts", "target", "source"),
    [
        (
            AnalysisSettings(target_days=10),
            ["2026-06-01 09:00", "2026-06-05 09:00"],
            10.0,
            "config",
        ),
        (
            AnalysisSettings(),
            ["2026-05-22 09:00", "2026-06-01 09:00", "2026-06-11 09:00"],
            10.0,
            "inferred",
        ),
        (AnalysisSettings(), ["2026-06-01 09:00"], 14.0, "default"),
    ],
)
def test_target_without_rrule(settings, starts, target, source) -> None:
    evs, ats = [], []
    for i, start in enumerate(starts):
        e, a = one_on_one_copies(event_id=f"e{i}", uid=f"u{i}", start=start)
        evs += e
        ats += a
    pair = run(evs, ats, settings=settings).pairs.iloc[0]
    assert (pair["target_days"], pair["target_source"]) == (target, source)


@pytest.mark.parametrize(
    ("rule", "days"),
    [
        ("FREQ=WEEKLY", 7),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", 14),
        ("RRULE:FREQ=MONTHLY;BYMONTHDAY=3", 30),
        ("FREQ=WEEKLY;BYDAY=MO,TH", 3.5),
        ("FREQ=DAILY;INTERVAL=3", 3),
    ],
)
def test_rrule_targets(rule: str, days: float) -> None:
    evs, ats = weekly_series(ANN, BOB, "2026-06-01 09:00", 2, rrule=rule)
    assert run(evs, ats).pairs.iloc[0]["target_days"] == days


def test_gaps_drift_and_regularity() -> None:
    # weekly target, but lately every other week: 6 weekly slots, then skipping odd slots
    evs, ats = weekly_series(ANN, BOB, "2026-03-16 09:00", 13, skip=(7, 9, 11))
    pair = run(evs, ats).pairs.iloc[0]
    assert pair["median_gap_days"] == 7
    assert pair["longest_gap_days"] == 14
    assert pair["recent_median_gap_days"] == 14
    assert pair["drift"] == 2.0
    assert pair["regularity"] > 0
    assert any(r.startswith("recently meeting every 14 days, target 7") for r in pair["reasons"])


def test_time_zones_and_a_dst_change_inside_the_window() -> None:
    """10:00 in Berlin every Monday across the 29 March DST change: no drift, no move."""
    evs, ats = weekly_series(ANN, BOB, "2026-03-09", 12, tz="Europe/Berlin", local_time="10:00")
    result = run(evs, ats, as_of=ts("2026-06-01"))
    utc_hours = result.occurrences["start"].dt.hour
    assert set(utc_hours) == {9, 8}  # 10:00 CET = 09:00 UTC, 10:00 CEST = 08:00 UTC
    assert not result.occurrences["moved"].any()
    pair = result.pairs.iloc[0]
    assert pair["time_of_day_drift_hours"] == 0
    assert pair["median_gap_days"] == 7  # 7 days ± 1 h across the change
    assert pair["status"] == "healthy"


def test_time_of_day_and_duration_drift() -> None:
    early, early_ats = weekly_series(ANN, BOB, "2026-03-16 09:00", 6, uid="a", minutes=60)
    late, late_ats = weekly_series(ANN, BOB, "2026-04-27 15:30", 7, uid="b", minutes=30)
    pair = run(early + late, early_ats + late_ats).pairs.iloc[0]
    assert pair["time_of_day_drift_hours"] == 6.5
    assert pair["duration_drift_minutes"] == -30


# -- health -------------------------------------------------------------------------------------


def _points(reasons: list[str]) -> float:
    return sum(float(m) for r in reasons for m in re.findall(r"\(−(\d+(?:\.\d)?)\)", r))


def test_every_lost_point_has_a_reason() -> None:
    evs, ats = weekly_series(ANN, BOB, "2026-03-16 09:00", 16, skip=(8, 10, 11, 12))
    evs = [
        {**e, "status": "cancelled", "updated": ts("2026-05-31")}
        if e["event_id"] == "weekly_11x"
        else e
        for e in evs
    ]
    pair = run(evs, ats).pairs.iloc[0]
    assert pair["health_score"] < 100
    # each reason's points are written to one decimal: together they are the points lost
    assert _points(pair["reasons"]) == pytest.approx(
        100 - pair["health_score"], abs=0.05 * (len(pair["reasons"]) + 1)
    )


def test_healthy_pair_has_no_reasons() -> None:
    evs, ats = weekly_series(ANN, BOB, "2026-03-16 09:00", 16)
    pair = run(evs, ats).pairs.iloc[0]
    assert (pair["status"], pair["health_score"], pair["reasons"]) == ("healthy", 100.0, [])
    assert pair["on_the_books"] and pair["next_scheduled"] == ts("2026-06-15 09:00")


def test_lapsed_needs_both_a_long_gap_and_nothing_on_the_books() -> None:
    # weekly series whose last held slot was Mon 4 May 09:00; as of Mon 15 June 00:00 that is
    # 41 days 15 hours: 41 whole days ≥ 3 × 7
    past, past_ats = weekly_series(ANN, BOB, "2026-03-16 09:00", 8)
    lapsed = run(past, past_ats).pairs.iloc[0]
    assert lapsed["status"] == "lapsed" and lapsed["health_score"] < 50
    assert lapsed["days_since_last_held"] == 41
    assert (
        lapsed["reasons"][0]
        == "lapsed: no 1:1 for 41 days (at least 3× the 7-day target) and nothing scheduled"
    )
    # the same history with a 1:1 booked for next week is not lapsed
    nxt, nxt_ats = one_on_one_copies(event_id="n", uid="next", start="2026-06-19 09:00")
    booked = run(past + nxt, past_ats + nxt_ats).pairs.iloc[0]
    assert booked["status"] != "lapsed" and booked["on_the_books"]
    # ...but six weeks without a 1:1 is at risk, however much is booked
    assert booked["status"] == "at_risk" and booked["health_score"] <= 49
    assert booked["reasons"][0].startswith(
        "at risk: no 1:1 for 41 days (at least 3× the 7-day target), though one is scheduled"
    )


def test_three_misses_in_a_row_are_at_risk_even_with_a_good_score() -> None:
    """13 weekly slots from Mon 16 March, the last three (25 May, 1 and 8 June) cancelled,
    the next booked for 15 June 09:00. 10 of 13 held: by points alone this pair would be
    'watch' (held 10 of 13, 3 of the last 4 missed)."""
    evs, ats = weekly_series(ANN, BOB, "2026-03-16 09:00", 14)
    cancelled = {"weekly_10", "weekly_11", "weekly_12"}
    evs = [{**e, "status": "cancelled"} if e["event_id"] in cancelled else e for e in evs]
    pair = run(evs, ats).pairs.iloc[0]
    assert (pair["held"], pair["cancelled"], pair["upcoming"]) == (10, 3, 1)
    assert pair["last_slots_missed"]
    assert pair["status"] == "at_risk" and pair["health_score"] == 49
    # last held 18 May 09:00, as of 15 June 00:00: 27 whole days, ≥ 3 × 7, though booked
    assert pair["days_since_last_held"] == 27
    assert pair["reasons"][0].startswith("at risk: no 1:1 for 27 days (at least 3× the 7-day")
    assert pair["reasons"][1] == (
        "at risk: the last 3 scheduled 1:1s were all cancelled or declined"
    )


def test_consecutive_misses_is_a_setting_and_a_catch_up_breaks_the_streak() -> None:
    """Weekly from Mon 4 May; 1 and 8 June cancelled; as of 15 June 00:00 the last held
    1:1 (25 May 09:00) is 20 days ago: under 3 × 7, so only the streak rule can flag it."""
    evs, ats = weekly_series(ANN, BOB, "2026-05-04 09:00", 7)
    missed = {"weekly_4", "weekly_5"}
    evs = [{**e, "status": "cancelled"} if e["event_id"] in missed else e for e in evs]
    two = AnalysisSettings(consecutive_misses=2)
    pair = run(evs, ats, settings=two).pairs.iloc[0]
    assert pair["days_since_last_held"] == 20
    assert pair["status"] == "at_risk"
    assert pair["reasons"][0].startswith(
        "at risk: the last 2 scheduled 1:1s were all cancelled or declined (−"
    )
    assert run(evs, ats).pairs.iloc[0]["status"] != "at_risk"  # the default asks for 3
    # a catch-up on Wed 10 June replaces the 8 June miss: the streak is broken
    catch, catch_ats = one_on_one_copies(event_id="c", uid="catch-up", start="2026-06-10 14:00")
    caught = run(evs + catch, ats + catch_ats, settings=two).pairs.iloc[0]
    assert caught["replaced"] == 1 and not caught["last_slots_missed"]
    assert not any(r.startswith("at risk") for r in caught["reasons"])


def test_settings_change_the_bands(tmp_path: Path) -> None:
    evs, ats = weekly_series(ANN, BOB, "2026-03-16 09:00", 16, skip=(10, 12))
    default = run(evs, ats).pairs.iloc[0]
    strict = run(evs, ats, settings=AnalysisSettings(healthy_min=99, watch_min=98)).pairs.iloc[0]
    assert default["health_score"] == strict["health_score"]
    assert strict["status"] == "at_risk" and default["status"] != "at_risk"


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="watch_min"):
        AnalysisSettings(healthy_min=40, watch_min=60)
    with pytest.raises(ValueError, match="window"):
        AnalysisSettings(window="soon")


# -- frames out ---------------------------------------------------------------------------------


def test_weekly_counts_per_iso_week() -> None:
    evs, ats = weekly_series(ANN, BOB, "2026-05-25 09:00", 4)
    evs = [{**e, "status": "cancelled"} if e["event_id"] == "weekly_1" else e for e in evs]
    weekly = run(evs, ats).weekly
    assert weekly["iso_week"].tolist() == [22, 23, 24, 25]
    assert weekly[["scheduled", "held", "cancelled", "upcoming"]].sum().tolist() == [4, 2, 1, 1]


def test_dtypes_are_ready_for_pandas_users() -> None:
    evs, ats = weekly_series(ANN, BOB, "2026-05-25 09:00", 4)
    result = run(evs, ats)
    occ, pairs = result.occurrences, result.pairs
    assert isinstance(occ["outcome"].dtype, pd.CategoricalDtype)
    assert isinstance(pairs["status"].dtype, pd.CategoricalDtype)
    assert str(occ["start"].dtype) == "datetime64[us, UTC]"
    assert pairs["held"].dtype == "int64" and str(pairs["adherence"].dtype) == "Float64"


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


def test_emails_are_compared_normalized_everywhere() -> None:
    """Mixed-case, padded addresses and a roster alias are all the same person."""
    roster = ROSTER.assign(aliases=[None, "robert@example.com", None])
    evs, ats = one_on_one_copies(" Ann@Example.COM", "Robert@example.com")
    result = run(evs, ats, roster)
    occ = result.occurrences.iloc[0]
    assert (occ["manager"], occ["report"], occ["organizer"]) == (ANN, BOB, ANN)
    # Cat's pair is silent but Ann's calendar (spelled differently) was read: it is listed
    assert set(result.pairs["report"]) == {BOB, CAT}
