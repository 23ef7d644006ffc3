"""Report figures, organisation roll-ups with privacy, history and exports (no browser)."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest

import cadence
import cadence.report as report
from cadence.analysis import Analysis, analyze
from cadence.report import cards, figures, org
from cadence.report.history import since
from cadence.report.html import plain, render, render_org, write_report
from cadence.report.privacy import pseudonym, pseudonym_label, pseudonymize
from cadence.sources import demo
from cadence.store import Store

from .conftest import AS_OF
from .helpers import frames, ts, weekly_series, with_evidence

KEY = "a test key that is long enough"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


@pytest.fixture(scope="module")
def org_analysis() -> Analysis:
    """200 people; one department of 1 person and one of 2 people (must never show)."""
    o = demo.generate(200, seed=5, as_of=AS_OF)
    roster = o.roster.copy()
    reports = roster.loc[roster["manager_email"].notna(), "email"].tolist()
    roster.loc[roster["email"] == reports[3], "department"] = "Legal"
    roster.loc[roster["email"].isin(reports[10:12]), "department"] = "Treasury"
    return analyze(o, roster, as_of=AS_OF)


@pytest.fixture(scope="module")
def team() -> Analysis:
    o = demo.generate(60, seed=3, as_of=AS_OF)
    return analyze(o, o.roster, as_of=AS_OF)


# -- figures --------------------------------------------------------------------------------------

FIGURES = [
    "weekly_outcomes",
    "outcomes_by_pair",
    "pair_timeline",
    "attendance_heatmap",
    "gap_vs_target",
    "time_of_day_drift",
    "duration_drift",
    "status_by_group",
    "adherence_by_group",
    "cancellation_by_group",
    "org_trend",
    "adherence_histogram",
]


@pytest.mark.parametrize("name", FIGURES)
def test_every_figure_is_public_and_returns_a_figure(name: str, team: Analysis) -> None:
    fig = getattr(report, name)(team)
    assert isinstance(fig, go.Figure)
    assert fig.layout.title.text
    assert len(fig.data) > 0
    assert name in report.__all__


def test_timeline_marks_each_outcome_and_draws_an_arrow_per_move() -> None:
    ev, at = weekly_series("ann@x.com", "bob@x.com", "2026-05-04 09:00", 8)
    # slot 2 cancelled 2 h ahead (late), slot 3 moved a day later, slot 5 declined by bob
    for row in ev:
        if row["event_id"] == "weekly_2":
            row["status"] = "cancelled"
            row["updated"] = pd.Timestamp("2026-05-18 07:00", tz="UTC")
        if row["event_id"] == "weekly_3":
            row["start"] = row["start"] + pd.Timedelta(days=1)
            row["end"] = row["end"] + pd.Timedelta(days=1)
    for row in at:
        if row["event_id"] == "weekly_5" and row["email"] == "bob@x.com":
            row["response"] = "declined"
    # the organizer's copy carries when it was cancelled (as a Google instance's updated does)
    when = ("2026-05-18 07:00", "2026-05-18 07:00")
    result = analyze(with_evidence(frames(ev, at), {("ann@x.com", "weekly_2"): when}), as_of=AS_OF)
    data = figures.pair_timeline_data(result)
    kinds = data.set_index(data["original_start"].dt.strftime("%m-%d"))["kind"].astype(str)
    assert kinds["05-18"] == "late-cancelled"
    unknown = figures.pair_timeline_data(analyze(frames(ev, at), as_of=AS_OF))
    assert (unknown["kind"].astype(str) == "late-cancelled").sum() == 0  # no evidence, no claim
    assert kinds["05-25"] == "moved"
    assert kinds["06-08"] == "declined"
    assert (kinds.drop(["05-18", "05-25", "06-08"]) == "held").all()
    fig = figures.pair_timeline(result)
    arrows = [t for t in fig.data if t.name == "moved from (arrow)"]
    assert len(arrows) == 1 and len(arrows[0].x) == 3  # one segment: from, to, gap
    moved_from, moved_to = arrows[0].x[:2]
    assert moved_from == pd.Timestamp("2026-05-25 09:00", tz="UTC")
    assert moved_to == pd.Timestamp("2026-05-26 09:00", tz="UTC")
    shapes = {t.name: t.marker.symbol for t in fig.data if t.mode == "markers"}
    assert len(set(shapes.values())) == len(shapes)  # outcome shown by shape, not colour alone


def test_heatmap_states_follow_the_weekly_counts(team: Analysis) -> None:
    grid = figures.attendance_heatmap_data(team, limit=10)
    assert len(grid) == 10
    assert set(grid.to_numpy().ravel()) <= set(figures.HEAT_STATES)
    w = team.weekly
    first = team.pairs["pair"].iloc[4]
    row = grid.iloc[4]
    for week, state in row.items():
        counts = w[(w["pair"] == first) & (w["week"] == week)]
        held = int(counts["held"].sum())
        missed = int((counts["cancelled"] + counts["declined"]).sum())
        expected = (
            3 if held else 1 if missed else 2 if counts["upcoming"].sum() else 0
        )  # held, missed, scheduled, none
        assert state == expected, (week, state, expected)


def test_drift_figures_list_only_pairs_that_drifted() -> None:
    early_ev, early_at = weekly_series(
        "ann@x.com", "bob@x.com", "2026-04-06", 6, local_time="09:00", tz="Europe/Berlin"
    )
    late_ev, late_at = weekly_series(
        "ann@x.com",
        "bob@x.com",
        "2026-05-18",
        6,
        local_time="15:00",
        tz="Europe/Berlin",
        uid="later",
        minutes=50,
    )
    steady_ev, steady_at = weekly_series(
        "cat@x.com",
        "dan@x.com",
        "2026-04-06",
        12,
        local_time="10:00",
        tz="Europe/Berlin",
        uid="steady",
    )
    result = analyze(
        frames(early_ev + late_ev + steady_ev, early_at + late_at + steady_at),
        as_of="2026-06-30",
    )
    tod = figures.time_of_day_drift(result)
    pairs = {y for t in tod.data for y in (t.y or ()) if y}
    assert pairs == {"ann ↔ bob"}
    data = figures.drift_data(result).set_index("pair")
    assert data.loc["ann ↔ bob", "hour_after"] - data.loc["ann ↔ bob", "hour_before"] == 6
    assert data.loc["ann ↔ bob", "minutes_after"] == 50
    dur = figures.duration_drift(result, min_minutes=60)
    assert dur.layout.annotations  # nobody changed by an hour: it says so


# -- organisation roll-ups and privacy ------------------------------------------------------------


@pytest.mark.parametrize("by", ["department", "manager", "manager_level"])
@pytest.mark.parametrize("k", [2, 5, 8])
def test_no_shown_group_is_smaller_than_min_group_size(
    org_analysis: Analysis, by: org.GroupBy, k: int
) -> None:
    table = org.group_summary(org_analysis, by, min_group_size=k)
    shown = table[~table["suppressed"]]
    assert (shown["people"] >= k).all()
    assert table.loc[table["suppressed"], ["people", "pairs", "adherence"]].isna().all().all()
    total = table.iloc[-1]
    assert total["group"] == "whole organisation"
    body = table.iloc[:-1]
    # every pair is counted exactly once across the groups: nothing can be subtracted out
    assert body["pairs"].sum() == total["pairs"] == len(org_analysis.pairs)
    assert not body["suppressed"].any()


def test_small_departments_never_appear_anywhere_in_the_org_report(
    org_analysis: Analysis, tmp_path: Path
) -> None:
    path = write_report(org_analysis, tmp_path / "org.html", org_report=True)
    html = path.read_text(encoding="utf-8")
    assert "Legal" not in html and "Treasury" not in html
    assert "other groups (each under 5 people)" in html
    for export in tmp_path.glob("org-*.csv"):
        text = export.read_text(encoding="utf-8")
        assert "Legal" not in text and "Treasury" not in text, export
    # managers with fewer than 5 people are not named anywhere
    sizes = org_analysis.pairs.groupby("manager")["report"].nunique()
    for manager in sizes[sizes < 5].index:
        assert manager not in html, manager
    # and no pair is ever listed
    assert "→" not in re.sub(r"<script>.*?</script>", "", html, count=1, flags=re.S)


def test_every_org_figure_draws_only_groups_shown_in_the_tables(
    org_analysis: Analysis,
) -> None:
    k = 5
    table = org.group_summary(org_analysis, "department", min_group_size=k)
    allowed = set(table.loc[~table["suppressed"], "group"])
    for fig in (
        org.status_by_group(org_analysis, "department", min_group_size=k),
        org.adherence_by_group(org_analysis, "department", min_group_size=k),
        org.cancellation_by_group(org_analysis, "department", min_group_size=k),
    ):
        drawn = {y for t in fig.data for y in t.y if y is not None}
        assert drawn and drawn <= allowed
    trend = org.org_trend(org_analysis, "department", min_group_size=k)
    assert {t.name for t in trend.data} <= allowed


def test_an_organisation_smaller_than_the_group_size_shows_no_figure() -> None:
    ev, at = weekly_series("ann@x.com", "bob@x.com", "2026-05-04 09:00", 8)
    result = analyze(frames(ev, at), as_of="2026-06-30")
    table = org.group_summary(result, "department", min_group_size=5)
    assert table["suppressed"].all()
    html = render_org(result, min_group_size=5)
    assert "fewer than 5 people with 1:1s" in html
    assert "ann@x.com" not in html and "bob@x.com" not in html


def test_min_group_size_below_two_is_refused(team: Analysis) -> None:
    with pytest.raises(ValueError, match="at least 2"):
        org.group_summary(team, "department", min_group_size=1)


def test_manager_levels_follow_the_roster_tree() -> None:
    roster = pd.DataFrame(
        {
            "email": ["ceo@x", "vp@x", "m@x", "ic@x"],
            "manager_email": [None, "ceo@x", "vp@x", "m@x"],
        }
    )
    assert org.manager_levels(roster).to_dict() == {"ceo@x": 1, "vp@x": 2, "m@x": 3, "ic@x": 4}


def test_pseudonyms_are_keyed_stable_and_leave_no_email(team: Analysis, tmp_path: Path) -> None:
    assert pseudonym("ada@example.com", KEY) == pseudonym(" ADA@example.com", KEY)
    assert pseudonym("ada@example.com", KEY) != pseudonym("ada@example.com", KEY + "!")
    hidden = pseudonymize(team, KEY)
    assert hidden.pairs["manager"].str.startswith("person-").all()
    assert "title" not in hidden.occurrences.columns  # no title is stored from any source
    assert len(hidden.pairs) == len(team.pairs)
    for org_report in (False, True):
        path = write_report(
            team, tmp_path / f"r{org_report}.html", org_report=org_report, pseudonym_key=KEY
        )
        html = path.read_text(encoding="utf-8")
        body = re.sub(r"<script>.*?</script>", "", html, count=1, flags=re.S)  # plotly.js
        assert EMAIL.findall(body) == []
        for name in team.roster["name"].head(20):  # type: ignore[index]
            assert str(name) not in body
    for export in tmp_path.glob("*.csv"):
        assert EMAIL.findall(export.read_text(encoding="utf-8")) == [], export


def test_pseudonymization_needs_a_real_key(team: Analysis) -> None:
    with pytest.raises(ValueError, match="16 characters"):
        pseudonymize(team, "short")


# -- the leader report ----------------------------------------------------------------------------


def test_leader_view_keeps_only_their_pairs(team: Analysis) -> None:
    roster = team.roster
    assert roster is not None
    top = roster.loc[roster["manager_email"].isna(), "email"].iloc[0]
    direct = team.for_leader(top)
    assert set(direct.pairs["manager"]) == {top}
    assert set(direct.occurrences["pair"].astype(str)) <= set(direct.pairs["pair"])
    everyone = team.for_leader(top, indirect=True)
    assert len(everyone.pairs) == len(team.pairs)
    with pytest.raises(ValueError, match="not in the roster"):
        team.for_leader("nobody@example.com")


def test_attention_comes_first_with_plain_reasons(team: Analysis) -> None:
    html = render(team)
    attention = html.index('id="attention"')
    assert attention < html.index('class="cards"') < html.index('id="chart-timeline"')
    flagged = team.pairs[team.pairs["status"].isin(["lapsed", "at_risk"])]
    first = figures.short_pair(flagged, figures.people_names(team)).iloc[0]
    assert "@" not in first and " → " in first  # roster names, not emails
    assert first in html[attention : html.index('class="cards"')]
    assert "(−" not in html[attention : html.index('class="cards"')]  # no point penalties
    assert plain("held 2 of 6 expected 1:1s (31 %) (−50)") == "held 2 of 6 expected 1:1s (31 %)"


def test_pair_table_holds_every_pair(team: Analysis) -> None:
    html = render(team)
    data = json.loads(
        re.search(r'id="pair-data" type="application/json">(.*?)</script>', html, re.S)[1]
    )  # type: ignore[index]
    assert len(data["rows"]) == len(team.pairs)
    weeks = {len(r[data["fields"].index("weeks")]) for r in data["rows"]}
    assert len(weeks) == 1 and weeks.pop() >= 13  # a sparkline week for every week


def test_since_last_report_names_new_and_recovered_pairs(team: Analysis, tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as db:
        earlier = team.pairs.copy()
        flagged = team.pairs["status"].isin(["lapsed", "at_risk"])
        # a week ago: the first flagged pair was healthy, and a healthy one was at risk
        healthy = team.pairs.index[team.pairs["status"] == "healthy"][0]
        earlier.loc[flagged.idxmax(), "status"] = "healthy"
        earlier.loc[healthy, "status"] = "at_risk"
        week_ago = team.as_of - pd.Timedelta(days=7)
        db.save_snapshot("all", week_ago, {**cards(team), "held_share": 0.5}, earlier)
        db.save_snapshot("all", week_ago, {**cards(team), "held_share": 0.5}, earlier)  # re-run
        assert db.counts()["snapshots"] == 1
        assert db.previous_snapshot("all", week_ago) is None  # nothing before it
        previous = db.previous_snapshot("all", team.as_of)
    assert previous is not None and previous.as_of == week_ago
    change = since(team, previous)
    assert list(change.newly_flagged["pair"]) == [team.pairs.loc[flagged.idxmax(), "pair"]]
    assert list(change.recovered["pair"]) == [team.pairs.loc[healthy, "pair"]]
    html = render(team, previous=previous)
    section = html[html.index('id="since"') : html.index("Pair by pair")]
    names = figures.people_names(team)
    assert figures.short_pair(team.pairs.loc[[healthy]], names).iloc[0] in section
    assert "▲" in html  # held share went up from 50 %


def test_exports_beside_the_report(team: Analysis, tmp_path: Path) -> None:
    path = write_report(team, tmp_path / "out" / "weekly.html")
    pairs = pd.read_parquet(tmp_path / "out" / "weekly-pairs.parquet")
    assert len(pairs) == len(team.pairs)
    assert list(pairs["reasons"].iloc[0]) == list(team.pairs["reasons"].iloc[0])
    csv = pd.read_csv(tmp_path / "out" / "weekly-occurrences.csv")
    assert len(csv) == len(team.occurrences)
    assert path.exists() and not list((tmp_path / "out").glob("*.tmp"))


def test_csv_exports_are_byte_for_byte_what_pandas_writes(team: Analysis, tmp_path: Path) -> None:
    """The column-wise CSV writer (issue 21) against pandas' own ``to_csv``, on every export."""
    written = report.write_exports(team, tmp_path / "w.html")
    for name, table in report.export_tables(team).items():
        flat = table.assign(reasons=table["reasons"].map("; ".join)) if name == "pairs" else table
        expected = flat.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S%z")
        assert tmp_path / f"w-{name}.csv" in written
        assert (tmp_path / f"w-{name}.csv").read_text(encoding="utf-8") == expected, name


def test_csv_export_cells_written_by_hand(tmp_path: Path) -> None:
    """Every kind of cell the exports hold, with the text the csv module would write."""
    from cadence.report.export import _write_csv

    utc = pd.to_datetime(["2026-03-29 01:30:00.5", None, "2026-10-25 02:30:00.0"]).tz_localize(
        "UTC"
    )
    table = pd.DataFrame(
        {
            "text": pd.concat(  # Arrow holds it in two chunks
                [pd.Series(["a,b"], dtype="string"), pd.Series(['say "hi"', None], dtype="string")],
                ignore_index=True,
            ),
            "str": pd.Series(["line\nbreak", "", "é"], dtype="str"),
            "cat": pd.Categorical(["x", None, "y,z"]),
            "float": [1e16, float("nan"), -0.0],
            "Float": pd.array([1 / 3, None, 14.0], dtype="Float64"),
            "int": [1, -2, 0],
            "Int": pd.array([None, 94, 0], dtype="Int64"),
            "bool": [True, False, True],
            "boolean": pd.array([None, False, True], dtype="boolean"),
            "object": [1, 1.0, True],
            "utc": utc,
            "berlin": utc.tz_convert("Europe/Berlin"),
            "naive": pd.to_datetime(["2026-01-01 00:00:00", None, "2026-02-03 04:05:06"]),
            "delta": pd.to_timedelta(["30min", None, "-1h"]),
            "last,col": ["a", "b", None],
        }
    )
    _write_csv(table, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text(encoding="utf-8") == (
        'text,str,cat,float,Float,int,Int,bool,boolean,object,utc,berlin,naive,delta,"last,col"\n'
        '"a,b","line\nbreak",x,1e+16,0.3333333333333333,1,,True,,1,2026-03-29T01:30:00+0000,'
        "2026-03-29T03:30:00+0200,2026-01-01T00:00:00,0 days 00:30:00,a\n"
        '"say ""hi""",,,,,-2,94,False,False,1.0,,,,,b\n'
        ',é,"y,z",-0.0,14.0,0,0,True,True,True,2026-10-25T02:30:00+0000,'
        "2026-10-25T03:30:00+0100,2026-02-03T04:05:06,-1 days +23:00:00,\n"
    )
    _write_csv(table[["last,col"]], tmp_path / "one.csv")  # a row's only field, empty: ""
    assert (tmp_path / "one.csv").read_text(encoding="utf-8") == '"last,col"\na\nb\n""\n'
    _write_csv(pd.DataFrame({"x": [0.0, -0.0, 0.0, 1.5]}), tmp_path / "zero.csv")  # -0.0 == 0.0
    assert (tmp_path / "zero.csv").read_text(encoding="utf-8") == "x\n0.0\n-0.0\n0.0\n1.5\n"


def test_pseudonymized_since_section_labels_peer_pairs_like_the_rest() -> None:
    from cadence.model import Snapshot

    ev, at = weekly_series("ann@x.com", "bob@x.com", "2026-05-04 09:00", 3)
    result = analyze(frames(ev, at), as_of="2026-06-30")  # no roster: a peer pair, "ann ↔ bob"
    assert "↔" in result.pairs["pair"].iloc[0]
    healthy = Snapshot(
        result.as_of - pd.Timedelta(days=7), {}, result.pairs.assign(status="healthy")
    )
    html = render(result, previous=healthy, pseudonym_key=KEY)
    section = html[html.index('id="since"') : html.index("Pair by pair")]
    # the same two pseudonyms as everywhere else in the report, not one for the whole label
    assert pseudonym_label(result.pairs["pair"].iloc[0], KEY) in section
    assert EMAIL.findall(re.sub(r"<script>.*?</script>", "", html, count=1, flags=re.S)) == []


# -- one number, written one way, everywhere --------------------------------------------------


def _table(html: str) -> tuple[list[str], list[list[object]]]:
    found = re.search(r'id="pair-data" type="application/json">(.*?)</script>', html, re.S)
    assert found
    data = json.loads(found[1])
    return data["fields"], data["rows"]


def _count(value: float) -> str:
    """Written by hand: a whole number without decimals, else one decimal."""
    return str(int(value)) if value == int(value) else f"{value:.1f}"


def test_reasons_table_export_and_summary_agree_for_every_pair(tmp_path: Path) -> None:
    o = demo.generate(60, seed=3, as_of=AS_OF)
    # half the series say when they were cancelled, half do not: both kinds of sentence
    events = o.events.copy()
    unknown = pd.util.hash_pandas_object(events["ical_uid"], index=False) % 2 == 0
    events["cancelled_at"] = events["cancelled_at"].mask(unknown.to_numpy())
    team = analyze((events, o.attendees), o.roster, as_of=AS_OF)
    roster = team.roster
    assert roster is not None
    top = roster.loc[roster["manager_email"].isna(), "email"].iloc[0]
    leader = team.for_leader(top, indirect=True)
    path = write_report(leader, tmp_path / "leader.html")
    html = path.read_text(encoding="utf-8")
    fields, rows = _table(html)
    f = {name: i for i, name in enumerate(fields)}
    export = pd.read_csv(tmp_path / "leader-pairs.csv")
    assert len(rows) == len(export) == len(leader.pairs)
    by_label = {row[f["pair"]]: row for row in rows}
    names = dict(zip(roster["email"], roster["name"], strict=True))  # roster names, by hand
    named = export["manager"].map(names) + " → " + export["report"].map(names)
    plain_label = export["pair"].str.replace(r"@[^\s]+", "", regex=True)
    export["label"] = named.where(~named.duplicated(keep=False), plain_label)
    assert set(by_label) == set(export["label"])
    checked = {"held": 0, "days": 0, "unknown": 0}
    for rec in export.to_dict("records"):
        row = by_label[rec["label"]]
        reasons = [] if pd.isna(rec["reasons"]) else rec["reasons"].split("; ")
        # held of expected: the export's numbers, the table's text and the reason agree
        held, expected = int(rec["held"]), float(rec["expected"])
        assert row[f["held"]] == [held, f"{held} of {_count(expected)}"]
        assert row[f["expected"]] == expected
        if expected >= 1:
            pct = round(held / expected * 100)
            assert row[f["adherence"]][1] == f"{pct} %"
            for r in reasons:
                if r.startswith("held "):
                    assert r.startswith(
                        f"held {held} of {_count(expected)} expected 1:1s ({pct} %)"
                    )
                    checked["held"] += 1
        # days since the last held 1:1: whole days, rounded down, the same in all three
        if pd.isna(rec["last_held"]):
            assert pd.isna(rec["days_since_last_held"]) and row[f["days_since"]] == [None, "never"]
        else:
            since = (leader.as_of - pd.Timestamp(rec["last_held"])) // pd.Timedelta(days=1)
            assert rec["days_since_last_held"] == since
            assert row[f["days_since"]] == [since, f"{since} d"]
            for r in reasons:
                for said in re.findall(r"no 1:1 (?:in|for) (\d+) days", r):
                    assert int(said) == since, r
                    checked["days"] += 1
        assert row[f["score"]] == round(rec["health_score"])
        for col in ("cancelled", "late_cancelled", "late_unknown", "declined", "moved"):
            cell = row[f[{"late_cancelled": "late"}.get(col, col)]]
            assert (cell[0] if isinstance(cell, list) else cell) == rec[col], col
        # unknown lateness is said in words, never as a count of zero late
        if rec["late_unknown"] > 0:
            checked["unknown"] += 1
            assert "not known from demo data" in row[f["cancelled"]][1]
            assert any("not known from demo data" in r for r in reasons)
        for part in row[f["why"]].split("; "):
            assert part == "on track" or part in [plain(r) for r in reasons], part
    assert min(checked.values()) > 0, checked  # each kind of sentence was really compared
    # what the CLI prints is the sum of the pairs export
    s = cadence.summary(leader)
    assert s.past == export["past"].sum() and s.held == export["held"].sum()
    assert s.cancelled == export["cancelled"].sum() and s.declined == export["declined"].sum()
    assert s.moved == export["moved"].sum() and s.late_unknown == export["late_unknown"].sum()
    assert s.expected == round(export["expected"].sum(), 1)
    counts = export["status"].value_counts()
    assert [s.lapsed, s.at_risk, s.watch, s.healthy] == [
        int(counts.get(k, 0)) for k in ("lapsed", "at_risk", "watch", "healthy")
    ]
    assert f"past 1:1 slots: {export['past'].sum()} · held {export['held'].sum()}" in s.lines()[1]
    assert s.held_text() in html  # the first card


def test_a_leader_report_says_whose_it_is(team: Analysis) -> None:
    roster = team.roster
    assert roster is not None
    top = roster.loc[roster["manager_email"].isna()].iloc[0]
    html = render(team.for_leader(top["email"]))
    assert f"<h1>1:1 health report · {top['name']}</h1>" in html
    assert f"The team of {top['name']} ({top['email']}): their direct reports." in html
    assert "everyone below them" in render(team.for_leader(top["email"], indirect=True))
    assert 'id="scope"' not in render(team)  # the whole organisation: no leader to name
    hidden = render(team.for_leader(top["email"]), pseudonym_key=KEY)
    assert top["name"] not in hidden and pseudonym(top["email"], KEY) in hidden


def test_the_charts_note_never_reads_like_a_range() -> None:
    ev, at = weekly_series("ann@x.com", "bob@x.com", "2026-05-04 09:00", 8)
    html = render(analyze(frames(ev, at), as_of=AS_OF))
    assert "The charts show all 1 pair, those that most need attention first." in html
    assert not re.search(r"the (\d+)–\1 pairs", html)


def test_weekly_chart_leaves_out_the_partial_current_week() -> None:
    """Weekly on Mondays from 4 May, as of Tue 30 June 12:00: the week of Mon 29 June has
    its slot held, but the week is not over; it is not drawn (only the remaining days of it
    are to come), past weeks show held, later weeks scheduled."""
    ev, at = weekly_series("ann@x.com", "bob@x.com", "2026-05-04 09:00", 10)
    result = analyze(frames(ev, at), as_of=ts("2026-06-30 12:00"))
    data = figures.weekly_outcomes_data(result)
    assert data.attrs["current_week"] == pd.Timestamp("2026-06-29")
    assert pd.Timestamp("2026-06-29") not in set(data["week"])
    past = data[data["week"] < pd.Timestamp("2026-06-29")]
    assert (past["held"] == 1).all() and past["scheduled"].isna().all()
    ahead = data[data["week"] > pd.Timestamp("2026-06-29")]
    assert (ahead["scheduled"] == 1).all() and ahead["held"].isna().all()


def test_gap_card_is_one_statistic() -> None:
    """Two pairs: weekly, meeting every week (ratio 1); monthly, meeting monthly (ratio 1).
    The median of the pairs' ratios is 1.0; the card says what that median is of, and no
    longer puts it beside a median gap and a median target of different pairs."""
    a_ev, a_at = weekly_series("ann@x.com", "bob@x.com", "2026-04-06 09:00", 13)
    b_ev, b_at = weekly_series(
        "cat@x.com",
        "dan@x.com",
        "2026-04-06 09:00",
        3,
        every_days=28,
        uid="m",
        rrule="FREQ=WEEKLY;INTERVAL=4",
    )
    result = analyze(frames(a_ev + b_ev, a_at + b_at), as_of=ts("2026-06-30"))
    assert cadence.summary(result).gap_ratio == 1.0
    html = unescape(render(result))
    assert "1.0×" in html and "each pair's median gap ÷ its target" in html
    assert " d vs " not in html


# -- what a careful reader found (issue 17) ------------------------------------------------


def test_every_pair_has_a_timeline_row_even_with_nothing_in_the_window(team: Analysis) -> None:
    limit = 30
    fig = figures.pair_timeline(team, limit=limit)
    labels = set(figures.short_pair(team.pairs.head(limit), figures.people_names(team)))
    rows = {y for trace in fig.data if trace.y is not None for y in trace.y if y is not None}
    assert rows == labels  # the lapsed pair at the top is drawn, whatever it holds
    occ = team.occurrences
    empty = [p for p in team.pairs["pair"].head(limit) if not (occ["pair"].astype(str) == p).any()]
    notes = [t for t in fig.data if t.mode == "text"]
    assert len(notes) == (1 if empty else 0)
    for note in notes:
        assert len(note.y) == len(empty) and set(note.text) == {"no 1:1 in the window"}
    # "held" and "held, moved" look different; "today" is labelled
    symbols = [kind[1] for kind in figures.TIMELINE_KINDS.values()]
    assert len(set(symbols)) == len(symbols)
    assert [a.text for a in fig.layout.annotations] == ["today"]
    assert fig.layout.showlegend is False  # the report's own legend sits above the chart
    html = render(team)
    legend = html.index('id="timeline-legend"')
    assert legend < html.index('id="chart-timeline"') < legend + 2000
    for kind in figures.TIMELINE_KINDS.values():
        assert kind[2] in html[legend : html.index('id="chart-timeline"')]


def test_gap_chart_markers_of_one_pair_never_sit_on_one_another(team: Analysis) -> None:
    fig = figures.gap_vs_target(team, limit=12)
    gaps = [t for t in fig.data if t.name != "target"]
    for row in range(12):
        lanes = [t.y[row] for t in gaps]
        assert len(set(lanes)) == 3 and max(lanes) - min(lanes) < 1  # apart, in its row
    assert (
        list(fig.layout.yaxis.ticktext)
        == figures.short_pair(team.pairs.head(12), figures.people_names(team)).tolist()
    )


def test_no_pair_s_and_names_not_emails_in_the_report(team: Analysis) -> None:
    html = render(team)
    assert "pair(s)" not in html
    attention = html[html.index('id="attention"') : html.index('class="cards"')]
    assert "@" not in unescape(re.sub(r'title="[^"]*"', "", attention))
    from cadence.report.html import plural

    assert [plural(n, "pair") for n in (0, 1, 2)] == ["no pair", "1 pair", "2 pairs"]
