"""The demo organisation: deterministic, realistic, with a truth table the pipeline recovers."""

from __future__ import annotations

import pandas as pd
import pytest

from cadence.analysis import analyze
from cadence.model import validate_attendees, validate_events
from cadence.sources import demo
from cadence.store import Store

from .conftest import AS_OF


def test_same_seed_same_organisation_other_seed_other() -> None:
    a = demo.generate(40, seed=5, as_of=AS_OF)
    b = demo.generate(40, seed=5, as_of=AS_OF)
    c = demo.generate(40, seed=6, as_of=AS_OF)
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.attendees, b.attendees)
    pd.testing.assert_frame_equal(a.truth_occurrences, b.truth_occurrences)
    assert not a.events.equals(c.events)


def test_frames_match_the_model(small_org: demo.DemoOrg) -> None:
    pd.testing.assert_frame_equal(validate_events(small_org.events), small_org.events)
    pd.testing.assert_frame_equal(validate_attendees(small_org.attendees), small_org.attendees)


def test_roster_is_a_tree_with_departments_and_zones(small_org: demo.DemoOrg) -> None:
    r = small_org.roster
    assert len(r) == 60 and r["email"].is_unique
    assert r["manager_email"].isna().sum() == 1  # one CEO
    assert r["manager_email"].dropna().isin(r["email"]).all()
    manager = dict(zip(r["email"], r["manager_email"], strict=True))
    for person in r["email"]:  # every chain reaches the top without a cycle
        seen = set()
        while person is not pd.NA and person is not None:
            assert person not in seen
            seen.add(person)
            person = manager[person]
    assert r["department"].nunique() >= 3
    assert r["timezone"].nunique() >= 4


def test_behaviours_the_issue_asks_for_are_all_there(scored_org: demo.DemoOrg) -> None:
    truth = scored_org.truth_occurrences
    reports = truth[truth["relation"] == "report"]
    pairs = scored_org.truth_pairs
    assert set(pairs["cadence"]) == {"weekly", "biweekly", "monthly"}
    assert set(pairs["target_days"]) == {7, 14, 30}
    assert set(pairs["state"]) == {"healthy", "watch", "at_risk", "lapsed"}
    assert {"drifting", "recadenced", "lapsed"} <= set(pairs["scenario"])
    outcomes = reports["outcome"].value_counts()
    assert {"held", "cancelled", "declined", "scheduled"} <= set(outcomes.index)
    assert reports["late_cancel"].sum() > 20
    assert reports["replaced"].sum() > 20
    assert reports["shortened"].sum() > 20
    assert reports["deleted"].sum() > 5  # cancellations only the store's history can see
    moved = reports.loc[reports["moved"], "moved_by"].abs()
    assert (moved < pd.Timedelta(hours=12)).sum() > 20 and (
        moved >= pd.Timedelta(days=1)
    ).sum() > 20
    decliners = reports.loc[reports["outcome"] == "declined"]
    by_manager = (decliners["declined_by"] == decliners["manager"]).sum()
    assert by_manager > 0 and (decliners["declined_by"] == decliners["report"]).sum() > by_manager
    assert (truth["relation"] == "peer").sum() > 0


def test_what_is_not_a_one_on_one_is_there_too(small_org: demo.DemoOrg) -> None:
    ev, at = small_org.events, small_org.attendees
    assert {"out_of_office", "focus_time"} <= set(ev["event_type"])
    assert ev["all_day"].any()
    size = at[~at["is_resource"]].groupby(["calendar", "event_id"]).size()
    assert (size >= 3).any()  # team meetings
    rooms = at[at["is_resource"]]
    assert len(rooms) and rooms["email"].str.startswith("room-").all()


def test_series_keep_their_local_time_across_dst(small_org: demo.DemoOrg) -> None:
    truth = small_org.truth_occurrences
    ev = small_org.events
    series = ev[
        ev["series_id"].notna()
        & (ev["timezone"] == "America/New_York")
        & (ev["start"] == ev["original_start"])
    ]
    series = series[series["series_id"].str.startswith("demo-")]
    assert len(series)
    local = series["original_start"].dt.tz_convert("America/New_York")
    # same wall-clock time per series, though UTC offsets differ across the March DST change
    per_series = local.dt.strftime("%H:%M").groupby(series["series_id"]).nunique()
    assert (per_series == 1).all()
    assert series["original_start"].dt.hour.groupby(series["series_id"]).nunique().max() == 2
    assert len(truth)


def _precision_recall(found: pd.Series, truth: pd.Series) -> tuple[float, float]:
    hit = (found & truth).sum()
    return hit / max(found.sum(), 1), hit / max(truth.sum(), 1)


@pytest.fixture(scope="module")
def stored(tmp_path_factory, scored_org: demo.DemoOrg):
    """The scored organisation through the store (which sees deletions): the store's frames,
    with the cancellation evidence it and the demo source supply."""
    with Store(tmp_path_factory.mktemp("scored") / "demo.sqlite") as store:
        for pull in scored_org.pulls():
            store.write_pull(pull)
        return store.frames()


@pytest.fixture(scope="module")
def scored(stored, scored_org: demo.DemoOrg):
    """The store's frames analyzed."""
    return analyze(stored, scored_org.roster, as_of=AS_OF)


def test_without_evidence_no_cancellation_is_called_late(stored, scored_org: demo.DemoOrg) -> None:
    """The same frames with every trace of when cancellations happened taken away."""
    events = stored.events.drop(columns=["cancelled_after", "cancelled_before"])
    events["cancelled_at"] = pd.Series(pd.NaT, index=events.index, dtype="datetime64[us, UTC]")
    plain = analyze((events, stored.attendees), scored_org.roster, as_of=AS_OF)
    occ, pairs = plain.occurrences, plain.pairs
    cancelled = occ["outcome"] == "cancelled"
    assert cancelled.sum() > 20
    assert occ.loc[cancelled, "late_cancel"].isna().all()
    assert not occ.loc[~cancelled, "late_cancel"].astype(bool).any()
    assert pairs["late_cancelled"].sum() == 0
    assert (pairs["late_unknown"] == pairs["cancelled"]).all()


def test_every_occurrence_is_found_and_classified(scored, scored_org: demo.DemoOrg) -> None:
    truth = scored_org.truth_occurrences
    truth = truth[(truth["relation"] == "report") & (truth["start"] >= scored.window[0])]
    merged = scored.occurrences.merge(
        truth,
        on=["manager", "report", "ical_uid", "original_start"],
        how="outer",
        suffixes=("", "_truth"),
        indicator=True,
    )
    assert (merged["_merge"] == "both").all(), merged["_merge"].value_counts()
    accuracy = (merged["outcome"].astype(str) == merged["outcome_truth"]).mean()
    assert accuracy >= 0.99, accuracy
    # every cancellation's timing is known from the evidence: none is left unknown
    assert merged.loc[merged["outcome"] == "cancelled", "late_cancel"].notna().all()
    merged["late_cancel"] = merged["late_cancel"].astype(bool)
    for flag in ("moved", "late_cancel", "replaced"):
        precision, recall = _precision_recall(merged[flag], merged[f"{flag}_truth"])
        assert precision >= 0.98 and recall >= 0.98, (flag, precision, recall)
    assert merged["late_cancel_truth"].sum() > 20 and merged["replaced_truth"].sum() > 20
    declined = merged[merged["outcome_truth"] == "declined"]
    assert (declined["declined_by"] == declined["declined_by_truth"]).all()


def test_pair_status_agrees_with_the_intended_state(scored, scored_org: demo.DemoOrg) -> None:
    merged = scored.pairs.merge(
        scored_org.truth_pairs, on=["manager", "report"], how="outer", suffixes=("", "_truth")
    )
    assert len(merged) == len(scored_org.truth_pairs) == len(scored.pairs)
    agreement = (merged["status"].astype(str) == merged["state"]).mean()
    assert agreement >= 0.95, pd.crosstab(merged["scenario"], merged["status"].astype(str))
    # and the cadence it found is the one the pair agreed on
    found = merged[merged["target_source"] == "rrule"]
    assert len(found) >= 0.95 * len(merged)
    assert (found["target_days"] == found["target_days_truth"]).all()


def test_history_matters(scored, scored_org: demo.DemoOrg) -> None:
    """The raw final snapshot alone misses the deletions that only the store saw."""
    naive = analyze(scored_org, scored_org.roster, as_of=AS_OF)
    truth = scored_org.truth_occurrences
    deleted = truth[
        (truth["relation"] == "report") & truth["deleted"] & (truth["start"] >= scored.window[0])
    ]
    assert len(deleted) > 5
    assert len(naive.occurrences) == len(scored.occurrences) - len(deleted)


@pytest.mark.parametrize(("people", "weeks"), [(2, 1), (3, 4)])
def test_tiny_organisations_work(people: int, weeks: int) -> None:
    org = demo.generate(people, seed=1, as_of=AS_OF, weeks=weeks)
    assert len(org.roster) == people
    assert len(org.truth_pairs) == people - 1


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        demo.generate(1)
    with pytest.raises(ValueError, match="weeks"):
        demo.generate(10, weeks=0)


def test_pull_times_are_weekly_and_end_at_as_of(small_org: demo.DemoOrg) -> None:
    times = pd.Series(small_org.pull_times)
    assert times.iloc[-1] == AS_OF
    assert (times.diff().dropna() == pd.Timedelta(days=7)).all()
