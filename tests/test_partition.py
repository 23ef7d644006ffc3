"""The pair partition key on a hand-made organisation: which rows go to which partition,
and the partitions analyzed one by one give what the whole data gives."""

from __future__ import annotations

import pandas as pd

import cadence
from cadence.analysis import Analysis, partition
from tests.helpers import attendee, event, one_on_one_copies, ts

ANN, BOB, CAT, DAN, FAY = (f"{p}@example.com" for p in ("ann", "bob", "cat", "dan", "fay"))
AS_OF = "2026-06-30"
ROSTER = pd.DataFrame(
    {"email": [ANN, BOB, CAT, DAN, FAY], "manager_email": [None, ANN, ANN, ANN, ANN]}
)


def _org() -> tuple[pd.DataFrame, pd.DataFrame]:
    evs, ats = [], []
    # ann–bob: both copies; ann–cat and ann–dan: one series (the report changed), ann's copy
    for rows in (
        one_on_one_copies(ANN, BOB, event_id="e1", uid="u1", start="2026-06-01 09:00", series="s1"),
        one_on_one_copies(
            ANN,
            BOB,
            event_id="e4",
            uid="u4",
            start="2026-06-08 09:00",
            series="s1",
            a_status="cancelled",
            b_status="cancelled",
        ),
        one_on_one_copies(ANN, CAT, event_id="e2", uid="u2", start="2026-06-02 09:00", series="s2"),
        one_on_one_copies(
            ANN, DAN, event_id="e3", uid="u3", start="2026-06-09 09:00", series="s2", minutes=15
        ),
    ):
        evs += rows[0]
        ats += rows[1]
    # only ann's copy of ann–cat and ann–dan: cat's and dan's calendars are not read
    keep = [e["calendar"] not in (CAT, DAN) for e in evs]
    evs = [e for e, k in zip(evs, keep, strict=True) if k]
    ats = [a for a in ats if a["calendar"] not in (CAT, DAN)]
    # a team meeting on fay's calendar (three people: no 1:1, dropped)
    evs.append(event(calendar=FAY, event_id="g1", ical_uid="g1", organizer=ANN))
    ats += [attendee(calendar=FAY, event_id="g1", email=p) for p in (ANN, BOB, FAY)]
    # ann out of office over e4 (excuses it), bob's all-day event, cat away (no calendar)
    evs.append(
        event(
            calendar=ANN,
            event_id="oof1",
            ical_uid="oof1",
            event_type="out_of_office",
            start=ts("2026-06-07"),
            end=ts("2026-06-10"),
            original_start=ts("2026-06-07"),
        )
    )
    evs.append(
        event(
            calendar=BOB,
            event_id="day1",
            ical_uid="day1",
            all_day=True,
            start=ts("2026-06-15"),
            end=ts("2026-06-16"),
            original_start=ts("2026-06-15"),
        )
    )
    return pd.DataFrame(evs), pd.DataFrame(ats)


def test_rows_go_to_their_pair_group_and_absences_are_copied() -> None:
    events, attendees = _org()
    rows = partition.keyed_rows(events, attendees, ROSTER)
    got = {
        (str(k), str(kind), str(cal), str(eid))
        for k, kind, cal, eid in rows[["pair_key", "row_kind", "calendar", "event_id"]].itertuples(
            index=False
        )
    }
    ab, ac, af = f"{ANN} {BOB}", f"{ANN} {CAT}", f"{ANN} {FAY}"
    mark = "cadence:calendar-read"
    want = {
        # ann–bob: both copies of e1 and e4, ann's absence, bob's all-day event, markers
        *((ab, "event", c, e) for c in (ANN, BOB) for e in ("e1", "e4")),
        *((ab, "attendee", c, e) for c in (ANN, BOB) for e in ("e1", "e4")),
        (ab, "event", ANN, "oof1"),
        (ab, "event", BOB, "day1"),
        (ab, "event", ANN, mark),
        (ab, "event", BOB, mark),
        # ann–cat and ann–dan share series s2: one group, keyed by its smaller pair
        (ac, "event", ANN, "e2"),
        (ac, "event", ANN, "e3"),
        (ac, "attendee", ANN, "e2"),
        (ac, "attendee", ANN, "e3"),
        (ac, "event", ANN, "oof1"),
        (ac, "event", ANN, mark),  # cat's and dan's calendars were never read: no marker
        # ann–fay never met: a group of its own (ann's absence, both calendars read)
        (af, "event", ANN, "oof1"),
        (af, "event", ANN, mark),
        (af, "event", FAY, mark),
    }
    assert got == want  # the team meeting g1 matters to no pair: dropped
    # attendee rows come whole (two per copy: ann and the report)
    assert (rows["row_kind"] == "attendee").sum() == 2 * 4 + 2 * 2


def _by_partition(events: pd.DataFrame, attendees: pd.DataFrame, roster: pd.DataFrame) -> Analysis:
    """Keyed, analyzed one pair group at a time (as Spark's ``groupBy("pair_key")
    .applyInPandas`` calls it: one pandas frame per group), and combined."""
    rows = partition.keyed_rows(events, attendees, roster)
    parts = [
        partition.analyze_partition(group, roster, as_of=AS_OF)
        for _, group in rows.groupby("pair_key")
    ]
    emails = partition.emails([events["calendar"], attendees["email"]])
    return partition.combine(parts, emails, roster)


def test_partitions_one_pandas_frame_each_give_the_whole_analysis() -> None:
    events, attendees = _org()
    whole = cadence.analyze((events, attendees), ROSTER, as_of=AS_OF)
    got = _by_partition(events, attendees, ROSTER)
    # what the hand-made data holds: 4 pairs met, fay never; e4 excused by ann's absence
    assert sorted(got.pairs["report"]) == [BOB, CAT, DAN, FAY]
    assert got.pairs.set_index("report").loc[FAY, "never_met"]
    e4 = got.occurrences[got.occurrences["start"] == ts("2026-06-08 09:00")]
    assert e4["outcome"].tolist() == ["excused"]
    for name in ("occurrences", "pairs", "weekly"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(whole, name))
    # the shape applyInPandas returns: plain columns, this group's pairs only
    rows = partition.keyed_rows(events, attendees, ROSTER)
    group = rows[rows["pair_key"] == f"{ANN} {CAT}"]
    table = partition.partition_table(group, "occurrences", ROSTER, as_of=AS_OF)
    assert sorted(table["report"]) == [CAT, DAN]
    assert not any(isinstance(t, pd.CategoricalDtype) for t in table.dtypes)


def test_combine_hands_back_the_roster_analyze_would_with_its_addresses_cleaned() -> None:
    events, attendees = _org()
    shouting = ROSTER.assign(
        email=ROSTER["email"].str.upper(), manager_email=ROSTER["manager_email"].str.upper()
    )
    whole = cadence.analyze((events, attendees), shouting, as_of=AS_OF)
    got = _by_partition(events, attendees, shouting)
    assert whole.roster is not None and got.roster is not None
    assert got.roster["email"].tolist() == ROSTER["email"].str.lower().tolist()
    pd.testing.assert_frame_equal(got.roster, whole.roster)
    pd.testing.assert_frame_equal(got.pairs, whole.pairs)
