"""Leave-aware cadence: a 1:1 missed while someone is away is excused, not a miss.

Hand-made pairs (every expected figure counted by hand below), the settings that turn
absence sources on, and the demo's leave model recovered at ≥ 99 % through the store.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cadence.analysis import AnalysisSettings, analyze, summary
from cadence.errors import RosterError, SchemaError
from cadence.sources import demo
from cadence.store import Store

from .conftest import AS_OF
from .helpers import event, frames, ts, weekly_series

ANN, BOB = "ann@example.com", "bob@example.com"
ROSTER = pd.DataFrame({"email": [ANN, BOB], "manager_email": [None, ANN]})
WEEK = pd.Timedelta(days=7)


def _cancel(evs: list[dict[str, object]], uid: str, *slots: int) -> None:
    for row in evs:
        if row["event_id"] in {f"{uid}_{k}" for k in slots}:
            row["status"] = "cancelled"


def _ooo(person: str, start: str, end: str, **over: object) -> dict[str, object]:
    """An out-of-office event on ``person``'s own calendar (no attendees)."""
    return event(
        calendar=person,
        organizer=person,
        event_id=f"ooo-{person}-{start}",
        ical_uid=f"ooo-{person}-{start}",
        original_start=ts(start),
        start=ts(start),
        end=ts(end),
        title=None,
        **{"timezone": "UTC", "event_type": "out_of_office", **over},
    )


def _weekly_mondays(count: int = 14) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    # Mondays 09:00 UTC from 6 April 2026: 13 past slots before 30 June, 6 July booked
    return weekly_series(ANN, BOB, "2026-04-06 09:00", count, uid="w")


def _pair(result: object) -> pd.Series:
    pairs = result.pairs  # type: ignore[attr-defined]
    assert len(pairs) == 1
    return pairs.iloc[0]


def test_a_slot_cancelled_while_the_report_is_away_is_excused_one_held_stays_held() -> None:
    evs, ats = _weekly_mondays()
    _cancel(evs, "w", 5)  # 11 May
    evs.append(_ooo(BOB, "2026-05-11 00:00", "2026-05-16 00:00"))  # Mon 11 – Fri 15 May
    evs.append(_ooo(ANN, "2026-06-01 00:00", "2026-06-06 00:00"))  # the 1 June slot was held
    result = analyze(frames(evs, ats), ROSTER, as_of=AS_OF)
    occ = result.occurrences.set_index("original_start")
    assert occ.loc[ts("2026-05-11 09:00"), "outcome"] == "excused"
    assert occ.loc[ts("2026-05-11 09:00"), "away"] == BOB
    assert occ.loc[ts("2026-06-01 09:00"), "outcome"] == "held"
    p = _pair(result)
    # by hand: 13 past slots, 12 held, 1 excused; expected = span ÷ 7 less the excused slot
    span_weeks = (AS_OF - ts("2026-04-06 09:00")) / WEEK
    assert (p["held"], p["cancelled"], p["declined"], p["excused"], p["past"]) == (12, 0, 0, 1, 13)
    assert p["expected"] == round(span_weeks - 1, 1)
    assert p["adherence"] == pytest.approx(12 / round(span_weeks - 1, 1))
    assert p["recent_missed"] == 0 and not p["last_slots_missed"]
    assert "1 excused (report out of office 11–15 May)" in list(p["reasons"])
    assert p["status"] == "healthy" and p["health_score"] == 100
    # the gap across the absence is measured on present time: 4 → 18 May is 14 days,
    # 5 of them away
    assert p["longest_gap_days"] == pytest.approx(9)
    assert (result.weekly["excused"].sum(), summary(result).excused) == (1, 1)
    absences = result.absences
    assert absences is not None and set(absences["person"]) == {ANN, BOB}


def test_without_the_absence_the_same_slot_is_a_miss() -> None:
    evs, ats = _weekly_mondays()
    _cancel(evs, "w", 5)
    p = _pair(analyze(frames(evs, ats), ROSTER, as_of=AS_OF))
    span_weeks = (AS_OF - ts("2026-04-06 09:00")) / WEEK
    assert (p["held"], p["cancelled"], p["excused"]) == (12, 1, 0)
    assert p["expected"] == round(span_weeks, 1)
    assert p["longest_gap_days"] == 14
    assert not any("excused" in r for r in p["reasons"])


def test_a_cancelled_out_of_office_or_one_on_another_calendar_excuses_nothing() -> None:
    evs, ats = _weekly_mondays()
    _cancel(evs, "w", 5)
    evs.append(_ooo(BOB, "2026-05-11 00:00", "2026-05-16 00:00", status="cancelled"))
    evs.append(_ooo("eve@example.com", "2026-05-11 00:00", "2026-05-16 00:00"))
    p = _pair(analyze(frames(evs, ats), ROSTER, as_of=AS_OF))
    assert (p["cancelled"], p["excused"]) == (1, 0)


def test_a_declined_slot_during_a_public_holiday_is_excused() -> None:
    # Fridays 10:00 Berlin from 27 March; Good Friday (3 April) declined by Bob
    evs, ats = weekly_series(
        ANN,
        BOB,
        "2026-03-27",
        14,
        uid="f",
        rrule="FREQ=WEEKLY;BYDAY=FR",
        tz="Europe/Berlin",
        local_time="10:00",
    )
    for row in ats:
        if row["event_id"] == "f_1" and row["email"] == BOB:
            row["response"] = "declined"
    plain = _pair(analyze(frames(evs, ats), ROSTER, as_of=AS_OF))
    assert (plain["declined"], plain["excused"]) == (1, 0)
    config = AnalysisSettings(holidays_country="DE")
    p = _pair(analyze(frames(evs, ats), ROSTER, as_of=AS_OF, settings=config))
    assert (p["declined"], p["excused"]) == (0, 1)
    assert "1 excused (report on public holiday 3 Apr)" in list(p["reasons"])
    # the roster's own column wins over the setting: in Japan 3 April is no holiday
    roster = ROSTER.assign(country=["JP", "JP"])
    p = _pair(analyze(frames(evs, ats), roster, as_of=AS_OF, settings=config))
    assert (p["declined"], p["excused"]) == (1, 0)


def test_a_regional_holiday_needs_the_subdivision() -> None:
    # 6 January (Epiphany) is a holiday in Bavaria (DE-BY), not in Berlin (DE-BE)
    evs, ats = weekly_series(
        ANN,
        BOB,
        "2025-12-30",
        27,
        uid="t",
        rrule="FREQ=WEEKLY;BYDAY=TU",
        tz="Europe/Berlin",
        local_time="10:00",
    )
    _cancel(evs, "t", 1)
    as_of = ts("2026-02-01")
    by = ROSTER.assign(country=["DE", "DE"], subdivision=[None, "BY"])
    be = ROSTER.assign(country=["DE", "DE"], subdivision=["BE", "BE"])
    assert _pair(analyze(frames(evs, ats), by, as_of=as_of, window="6w"))["excused"] == 1
    assert _pair(analyze(frames(evs, ats), be, as_of=as_of, window="6w"))["excused"] == 0


def test_an_unknown_country_is_a_one_line_error_naming_it() -> None:
    evs, ats = _weekly_mondays()
    with pytest.raises(RosterError, match="country 'XX'"):
        analyze(frames(evs, ats), ROSTER.assign(country=["XX", None]), as_of=AS_OF)


def test_all_day_events_count_as_absence_only_when_the_setting_says_so() -> None:
    evs, ats = _weekly_mondays()
    _cancel(evs, "w", 5)
    evs.append(
        _ooo(BOB, "2026-05-11 00:00", "2026-05-12 00:00", event_type="default", all_day=True)
    )
    assert _pair(analyze(frames(evs, ats), ROSTER, as_of=AS_OF))["excused"] == 0
    config = AnalysisSettings(all_day_busy_is_absence=True)
    p = _pair(analyze(frames(evs, ats), ROSTER, as_of=AS_OF, settings=config))
    assert p["excused"] == 1
    assert "1 excused (report away (all-day event) 11 May)" in list(p["reasons"])


def test_absences_from_elsewhere_can_be_passed_in() -> None:
    evs, ats = _weekly_mondays()
    _cancel(evs, "w", 5)
    given = pd.DataFrame(
        {"person": [" BOB@example.com"], "start": [ts("2026-05-10")], "end": [ts("2026-05-12")]}
    )
    assert _pair(analyze(frames(evs, ats), ROSTER, as_of=AS_OF, absences=given))["excused"] == 1
    with pytest.raises(SchemaError, match="'end'"):
        analyze(frames(evs, ats), ROSTER, as_of=AS_OF, absences=given.drop(columns="end"))


def _long_leave() -> tuple[pd.DataFrame, pd.DataFrame]:
    # Mondays from 6 April to 6 July; Bob on leave 20 April – 12 July: every slot from
    # 20 April is cancelled, nothing booked after
    evs, ats = weekly_series(ANN, BOB, "2026-04-06 09:00", 14, uid="w")
    _cancel(evs, "w", *range(2, 14))
    evs.append(_ooo(BOB, "2026-04-20 00:00", "2026-07-13 00:00"))
    return frames(evs, ats)


def test_twelve_weeks_of_leave_is_on_leave_not_lapsed() -> None:
    p = _pair(analyze(_long_leave(), ROSTER, as_of=AS_OF))
    assert p["status"] == "on_leave"
    assert p["reasons"][0] == "on leave: report out of office 20 Apr – 12 Jul"
    assert not any(r.startswith(("lapsed", "at risk")) for r in p["reasons"])
    # 11 past slots cancelled while Bob was away (20 Apr – 29 Jun), 2 held before
    assert (p["held"], p["cancelled"], p["excused"]) == (2, 0, 11)
    s = summary(analyze(_long_leave(), ROSTER, as_of=AS_OF))
    assert (s.on_leave, s.lapsed, s.excused) == (1, 0, 11)
    assert "1 on leave" in s.lines()[2]


def test_the_digest_lists_a_pair_on_leave_apart_not_under_needs_attention() -> None:
    from cadence.report import digest

    d = digest.build(analyze(_long_leave(), ROSTER, as_of=AS_OF), title="Team", week="2026-W27")
    assert d.pairs == [] and d.flagged == 0  # not "needs attention"
    assert d.on_leave == ["ann → bob: report out of office 20 Apr – 12 Jul"]
    assert d.headline.endswith("0 healthy, 0 to watch, 1 on leave.")
    text = digest.render_text(d)
    assert "On leave (not counted as missed):\n  - ann → bob: report out of office" in text
    assert 'id="on-leave"' in digest.render_html(d)


def test_after_the_return_it_lapses_only_after_three_targets_of_nothing() -> None:
    back = ts("2026-07-13")
    before = _pair(analyze(_long_leave(), ROSTER, as_of=back + pd.Timedelta(days=20)))
    after = _pair(analyze(_long_leave(), ROSTER, as_of=back + pd.Timedelta(days=22)))
    assert before["status"] != "lapsed" and before["status"] != "on_leave"
    assert after["status"] == "lapsed"
    # by hand: last held 13 April 09:00; 22 days since the return, the rest not counted
    total = (back + pd.Timedelta(days=22) - ts("2026-04-13 09:00")).days
    assert after["reasons"][0].startswith(
        f"lapsed: no 1:1 for 22 days present ({total} in all, {total - 22} away)"
    )


def test_a_short_absence_today_is_not_on_leave() -> None:
    evs, ats = _weekly_mondays()
    evs.append(_ooo(BOB, "2026-06-29 00:00", "2026-07-04 00:00"))
    p = _pair(analyze(frames(evs, ats), ROSTER, as_of=AS_OF))
    assert p["status"] == "healthy"


def test_the_default_demo_has_no_absence_that_changes_a_figure(small_org: demo.DemoOrg) -> None:
    ev = small_org.events
    ooo = ev[ev["event_type"] == "out_of_office"]
    assert len(ooo) and (ooo["start"] > small_org.as_of).all()
    result = analyze(small_org, small_org.roster, as_of=small_org.as_of)
    assert (result.pairs["excused"] == 0).all()
    assert (result.pairs["days_away"] == 0).all()
    assert not (result.pairs["status"] == "on_leave").any()


@pytest.fixture(scope="module")
def leave_org() -> demo.DemoOrg:
    return demo.generate(200, seed=19, as_of=AS_OF, weeks=26, absences=True)


@pytest.fixture(scope="module")
def leave_scored(tmp_path_factory: pytest.TempPathFactory, leave_org: demo.DemoOrg):
    path: Path = tmp_path_factory.mktemp("leave") / "demo.sqlite"
    with Store(path) as store:
        for pull in leave_org.pulls():
            store.write_pull(pull)
        data = store.frames()
    return analyze(data, leave_org.roster, as_of=AS_OF)


def test_the_demo_leave_model_has_what_the_issue_asks_for(leave_org: demo.DemoOrg) -> None:
    truth = leave_org.truth_occurrences
    assert "country" in leave_org.roster.columns
    assert (truth["outcome"] == "excused").sum() > 100
    assert leave_org.truth_pairs["on_leave"].sum() >= 1
    ooo = leave_org.events[leave_org.events["event_type"] == "out_of_office"]
    length = ooo["end"] - ooo["start"]
    assert (length >= pd.Timedelta(weeks=12)).any()
    assert ((length >= pd.Timedelta(days=4)) & (length <= pd.Timedelta(days=13))).sum() > 100


def test_the_analysis_recovers_excused_slots_and_on_leave_pairs(
    leave_scored, leave_org: demo.DemoOrg
) -> None:
    truth = leave_org.truth_occurrences
    truth = truth[
        (truth["relation"] == "report")
        & (truth["start"] >= leave_scored.window[0])
        & (truth["start"] < AS_OF)
    ]
    found = leave_scored.occurrences
    merged = truth.merge(
        found[["manager", "report", "ical_uid", "original_start", "outcome"]].astype(
            {"manager": object, "report": object, "outcome": object}
        ),
        on=["manager", "report", "ical_uid", "original_start"],
        how="left",
        suffixes=("_truth", ""),
    )
    assert merged["outcome"].notna().mean() >= 0.99
    is_excused = merged["outcome_truth"] == "excused"
    said = merged["outcome"] == "excused"
    assert is_excused.sum() > 100
    assert (is_excused == said).mean() >= 0.99
    hit = (is_excused & said).sum()
    assert hit / said.sum() >= 0.99 and hit / is_excused.sum() >= 0.99
    # held while away stays held
    assert ((merged["outcome_truth"] == "held") == (merged["outcome"] == "held")).mean() >= 0.99
    pairs = leave_scored.pairs.set_index(["manager", "report"])
    tp = leave_org.truth_pairs.set_index(["manager", "report"])
    on_leave = pairs["status"].astype(str).eq("on_leave").reindex(tp.index, fill_value=False)
    assert (on_leave == tp["on_leave"]).mean() >= 0.99
    assert on_leave[tp["on_leave"]].all()
