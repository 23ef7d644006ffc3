"""The organisation review's numbers (analysis/review.py) on a hand-made organisation, and its
privacy: departments of 1, 2 and 4 people never show, in the HTML, its JSON, or any export."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from cadence.analysis import Analysis, analyze
from cadence.analysis import review as rv
from cadence.model import Snapshot
from cadence.report import write_report
from cadence.report.html import render_org
from cadence.report.privacy import pseudonym

from .helpers import frames, weekly_series

AS_OF = "2026-06-30"
KEY = "a test key that is long enough"
SMALL = ("Legal", "Treasury", "Audit")  # 1, 2 and 4 people


def _cancel(ev: list[dict[str, object]], slots: tuple[int, ...]) -> None:
    for row in ev:
        if int(str(row["event_id"]).rsplit("_", 1)[1]) in slots:
            row["status"] = "cancelled"


def build() -> tuple[tuple[pd.DataFrame, pd.DataFrame], pd.DataFrame]:
    """Three managers (no one above them) and 18 reports, as_of Tue 30 June 2026:

    - eng@ (Engineering): e1–e4 weekly, held every Monday 6 Apr – 29 Jun (e1's slot 3
      cancelled); e5 weekly until 25 May, then nothing (no 1:1 in the last 4 weeks);
      e6 every 2 weeks, last 29 Jun; and l1 of **Legal** (1 person), weekly until 27 Apr.
    - sales@ (Sales): s1–s5 weekly to 29 Jun; t1, t2 of **Treasury** (2 people), weekly,
      t1's slots 2, 5 and 8 cancelled.
    - audit@ (**Audit**, 4 people): a1–a4 every 4 weeks, 6 Apr – 29 Jun.
    """
    ev: list[dict[str, object]] = []
    at: list[dict[str, object]] = []
    rows = [("eng@x.io", None, "Engineering"), ("sales@x.io", None, "Sales")]
    rows.append(("audit@x.io", None, "Audit"))

    def series(manager: str, report: str, dept: str, count: int, every: int = 7, **kw: object):
        rule = "FREQ=WEEKLY;BYDAY=MO" if every == 7 else f"FREQ=WEEKLY;INTERVAL={every // 7}"
        e, a = weekly_series(
            manager,
            report,
            "2026-04-06 09:00",
            count,
            every_days=every,
            uid=report,
            rrule=rule,
        )
        _cancel(e, kw.get("cancel", ()))  # type: ignore[arg-type]
        ev.extend(e)
        at.extend(a)
        rows.append((report, manager, dept))

    for i in range(1, 5):
        series("eng@x.io", f"e{i}@x.io", "Engineering", 13, cancel=(3,) if i == 1 else ())
    series("eng@x.io", "e5@x.io", "Engineering", 8)
    series("eng@x.io", "e6@x.io", "Engineering", 7, every=14)
    series("eng@x.io", "l1@x.io", "Legal", 4)
    for i in range(1, 6):
        series("sales@x.io", f"s{i}@x.io", "Sales", 13)
    series("sales@x.io", "t1@x.io", "Treasury", 13, cancel=(2, 5, 8))
    series("sales@x.io", "t2@x.io", "Treasury", 13)
    for i in range(1, 5):
        series("audit@x.io", f"a{i}@x.io", "Audit", 4, every=28)
    roster = pd.DataFrame(rows, columns=["email", "manager_email", "department"])
    roster["name"] = "Person " + roster["email"].str.split("@").str[0].str.upper()
    roster["team"] = "Team of " + roster["manager_email"].fillna("nobody")
    return frames(ev, at), roster


@pytest.fixture(scope="module")
def hand() -> Analysis:
    data, roster = build()
    from cadence.org import check_roster

    return analyze(data, check_roster(roster), as_of=AS_OF)


def test_coverage_counts_reports_with_no_recent_held_one_on_one(hand: Analysis) -> None:
    # e5 (last held 25 May) and l1 (27 Apr) had none since 2 June: 2 of 18 reports
    c = rv.coverage(hand, weeks=4)
    assert (c.reports, c.uncovered) == (18, 2)
    assert c.uncovered_share == pytest.approx(2 / 18)
    # over 10 weeks (since 21 April) both were seen: l1 on 27 April, e5 on 25 May
    assert rv.coverage(hand, weeks=10).uncovered == 0
    people = rv.coverage_people(hand, 4).set_index("person")
    assert not people.loc["e5@x.io", "covered"] and people.loc["e6@x.io", "covered"]


def test_coverage_leaves_out_statuses_listed_as_not_counted(hand: Analysis) -> None:
    """The leave hook: a status in NOT_COUNTED leaves its report out of the denominator."""
    pairs = hand.pairs.copy()
    pairs["status"] = pairs["status"].astype(str).where(pairs["report"] != "e5@x.io", "on_leave")
    from dataclasses import replace

    c = rv.coverage(replace(hand, pairs=pairs), weeks=4)
    assert (c.reports, c.uncovered) == (17, 1)


def test_coverage_window_must_fit_the_analysis_window(hand: Analysis) -> None:
    with pytest.raises(ValueError, match="coverage_weeks"):
        rv.coverage(hand, weeks=20)


def test_department_rows_are_the_hand_counted_figures(hand: Analysis) -> None:
    table = rv.group_summary(hand, "department", min_group_size=5).set_index("group")
    other = "other groups (each under 5 people)"
    assert list(table.index) == ["Engineering", "Sales", other, "whole organisation"]
    eng = table.loc["Engineering"]
    assert (eng["people"], eng["reports"], eng["uncovered"]) == (6, 6, 1)
    assert eng["uncovered_share"] == pytest.approx(1 / 6)
    # past slots: 4 × 13 + 8 + 7 = 67, one cancelled
    assert eng["past"] == 67 and eng["cancellation_rate"] == pytest.approx(1 / 67)
    # five pairs meet weekly (median gap 7 d), e6 every 2 weeks; their series say the same
    assert (eng["bucket:weekly"], eng["bucket:every 2 weeks"]) == (5, 1)
    assert (eng["intended:weekly"], eng["intended:every 2 weeks"]) == (5, 1)
    # the three small departments, pooled: 1 + 2 + 4 = 7 people, l1 uncovered
    pool = table.loc[other]
    assert (pool["people"], pool["pooled_groups"], pool["uncovered"]) == (7, 3, 1)
    # Audit meets monthly and intends it (every 4 weeks)
    assert pool["bucket:monthly"] == 4 and pool["intended:monthly"] == 4
    # late: the demo-free hand frames carry no evidence, so it is unknown, not 0
    assert pd.isna(table.loc["Sales", "late_cancel_rate"]) or table.loc["Sales", "cancelled"] == 0
    assert pd.isna(table.loc[other, "late_cancel_rate"])
    assert table.loc["whole organisation", "people"] == 18
    assert table.loc["whole organisation", "managers"] == 3
    # every count is a whole number, written as one in the CSV (excused was 0.0)
    for col in ("held", "cancelled", "declined", "moved", "excused", "past"):
        assert str(table[col].dtype) == "Int64", col


def test_membership_by_manager_moves_the_pair_to_the_managers_department(hand: Analysis) -> None:
    table = rv.group_summary(hand, "department", min_group_size=5, membership="manager")
    rows = table.set_index("group")
    # l1 now counts in Engineering (eng@'s department), the Treasury pair in Sales; Audit
    # (4 people) is pooled alone, and too small: the smallest shown group joins it
    assert "Legal" not in rows.index and "Treasury" not in rows.index
    assert (rows.loc[~rows["suppressed"], "people"] >= 5).all()
    assert rows.loc["whole organisation", "people"] == 18


def test_the_manager_pool_takes_the_smallest_team_and_departments_keep_theirs(
    hand: Analysis,
) -> None:
    managers = rv.group_summary(hand, "manager", min_group_size=5).set_index("group")
    # audit@ has 4 people: pooled; the pool (4) is too small, so one 7-person team joins it
    shown = managers[~managers["suppressed"]].drop(
        ["other groups (each under 5 people)", "whole organisation"]
    )
    assert len(shown) == 1 and int(shown["people"].iloc[0]) == 7
    assert managers.loc["other groups (each under 5 people)", "people"] == 11
    assert "audit@x.io" not in managers.index
    assert shown["department"].iloc[0] in ("Engineering", "Sales")
    assert shown["level"].iloc[0] == 1


@pytest.mark.parametrize("membership", ["report", "manager"])
@pytest.mark.parametrize("pseudonyms", [False, True])
def test_small_departments_appear_nowhere(
    hand: Analysis, tmp_path: Path, membership: str, pseudonyms: bool
) -> None:
    key = KEY if pseudonyms else None
    path = write_report(
        hand,
        tmp_path / "org.html",
        org_report=True,
        min_group_size=5,
        pseudonym_key=key,
        membership=membership,  # type: ignore[arg-type]
    )
    html = path.read_text(encoding="utf-8")
    body = re.sub(r"<script>.*?</script>", "", html, count=1, flags=re.S)  # plotly.js itself
    texts = {"html": body}
    for export in sorted(tmp_path.glob("org-*")):
        if export.suffix == ".csv":
            texts[export.name] = export.read_text(encoding="utf-8")
        else:
            texts[export.name] = pd.read_parquet(export).to_csv()
    assert len(texts) == 7  # the page, three tables × CSV and Parquet
    people = [f"{p}{i}@x.io" for p, n in (("l", 1), ("t", 2), ("a", 4)) for i in range(1, n + 1)]
    for name, text in texts.items():
        for word in (*SMALL, "audit@x.io", *people):
            assert word not in text, (name, word)
        for email in people:
            assert pseudonym(email, KEY) not in text, (name, email)
        # no coverage figure of a group of 1, 2 or 4 reports ("… of 1)", "of 2)", "of 4)")
        assert not re.search(r"\d+ of [124]\)", text), name
    # the JSON inside the page: every row shown covers five people or more
    for blob in re.findall(r'class="table-data" data-for="\w+">(.*?)</script>', html, re.S):
        data = json.loads(blob)
        i = data["fields"].index("people")
        for row in data["rows"]:
            assert row.get("suppressed") or row["cells"][i] >= 5, row
    for export in tmp_path.glob("org-*.csv"):
        table = pd.read_csv(export)
        shown = table[~table["suppressed"]]
        assert (shown["people"] >= 5).all(), export
        assert table.loc[table["suppressed"], "people"].isna().all(), export


def test_pseudonyms_are_the_same_in_two_weeks_so_change_still_matches(tmp_path: Path) -> None:
    data, roster = build()
    from cadence.org import check_roster

    roster = check_roster(roster)
    now = analyze(data, roster, as_of=AS_OF)
    before = analyze(data, roster, as_of="2026-06-23")
    kept = {**rv.review_cards(before, rv.ReviewSettings())}
    previous = Snapshot(before.as_of, kept, before.pairs[["pair", "status", "health_score"]])
    a = render_org(now, previous=previous, pseudonym_key=KEY)
    b = render_org(before, pseudonym_key=KEY)
    managers = {pseudonym(m, KEY) for m in ("eng@x.io", "sales@x.io")}
    shown_now = {m for m in managers if m in a}
    assert shown_now and shown_now == {m for m in managers if m in b}
    assert "eng@x.io" not in a and "sales@x.io" not in a


def test_change_since_the_last_review_per_group(hand: Analysis) -> None:
    """A week ago (by hand): Engineering had 3 of its 6 reports uncovered, a 10 % cancel rate;
    Sales had only 3 people then (too small to compare); every pair was healthy."""
    kept = {
        "uncovered_share": 0.25,
        "review": {
            "groups": {
                "department": {
                    "Engineering": {"people": 6, "uncovered_share": 0.5, "cancellation_rate": 0.1},
                    "Sales": {"people": 3, "uncovered_share": 0.0, "cancellation_rate": 0.0},
                }
            }
        },
    }
    previous = Snapshot(
        pd.Timestamp("2026-06-23", tz="UTC"),
        kept,
        hand.pairs[["pair", "health_score"]].assign(status="healthy"),
    )
    from cadence.report.org import review_tables

    table = review_tables(hand, previous=previous)["departments"].set_index("group")
    assert table.loc["Engineering", "Δuncovered_share"] == pytest.approx(1 / 6 - 0.5)
    assert table.loc["Engineering", "Δcancellation_rate"] == pytest.approx(1 / 67 - 0.1)
    assert pd.isna(table.loc["Sales", "Δuncovered_share"])  # 3 people then: no change shown
    assert table.loc["whole organisation", "Δuncovered_share"] == pytest.approx(2 / 18 - 0.25)
    flagged = hand.pairs[hand.pairs["status"].isin(["lapsed", "at_risk"])]
    by_dept = flagged["department"].value_counts()
    assert table.loc["Engineering", "newly_flagged"] == by_dept.get("Engineering", 0) > 0
    assert table.loc["whole organisation", "newly_flagged"] == len(flagged)
    assert (table["recovered"].dropna() == 0).all()


def test_review_cards_keep_every_group_for_the_next_review(hand: Analysis) -> None:
    kept = rv.review_cards(hand)
    groups = kept["review"]["groups"]
    assert groups["department"]["Legal"]["people"] == 1  # kept, but never shown
    assert groups["department"]["Engineering"]["uncovered_share"] == pytest.approx(1 / 6)
    assert set(groups["manager"]) == {"eng@x.io", "sales@x.io", "audit@x.io"}
    json.dumps(kept)  # JSON-ready: the snapshot stores it as it is


def test_small_organisation_level_view_says_why(hand: Analysis) -> None:
    html = render_org(hand, min_group_size=8)
    # one level only exists here, so nothing is missing: no note
    assert 'id="levels-note"' not in html
    data, roster = build()
    roster.loc[roster["email"] == "sales@x.io", "manager_email"] = "eng@x.io"
    from cadence.org import check_roster

    deeper = analyze(data, check_roster(roster), as_of=AS_OF)
    html = render_org(deeper, min_group_size=8)
    # level 1: eng@ and audit@ (8 + 4 people), level 2: sales@ (7 people < 8): pooled, and
    # level 1 joins the pool (else level 2 = total − level 1)
    assert 'id="levels-note"' in html
    assert "The roster has 2 manager levels; 1 of them cover fewer than 8 people" in html
    assert "1 more joined them" in html and "Shown on its own: no level" in html


def test_the_readme_table_names_every_figure_the_review_shows(hand: Analysis) -> None:
    from cadence.report.html import ORG_FIELDS, TABLE_LABELS

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The HR review", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    named = {name.strip(" `") for row in rows for name in row.split("·")}
    # every column head of the review's tables but the row labels, written for weeks = N
    heads = {
        ORG_FIELDS[f].format(label="", weeks="N")
        for f in ORG_FIELDS
        if f not in ("group", "department", "level")
    }
    assert named == heads
    # and those are the heads the page really shows
    html = render_org(hand, previous=Snapshot(pd.Timestamp("2026-06-23", tz="UTC"), {}, hand.pairs))
    blobs = re.findall(r'class="table-data" data-for="(\w+)">(.*?)</script>', html, re.S)
    shown = {h for _, b in blobs for h in json.loads(b)["heads"]} - set(TABLE_LABELS.values())
    assert {h.replace("4 weeks", "N weeks") for h in shown} - {"department", "level"} == heads


def test_the_whole_organisation_row_writes_each_rate_as_its_card_does(hand: Analysis) -> None:
    html = render_org(hand)

    def card(name: str) -> str:
        found = re.search(rf'id="card-{name}"><div class="n">([^<]*)</div>', html)
        assert found, name
        return found.group(1)

    for blob in re.findall(r'class="table-data" data-for="\w+">(.*?)</script>', html, re.S):
        data = json.loads(blob)
        row = next(r for r in data["rows"] if r["cells"][0] == rv.WHOLE)["cells"]
        for field, name in (("cancelled", "cancelled"), ("moved", "rescheduled")):
            key, text = row[data["fields"].index(field)]
            assert text == card(name) == f"{round(key * 100)} %", (field, key)


def test_trend_is_a_rolling_four_week_share_without_the_partial_week() -> None:
    """Weekly on Mondays 6 Apr – 29 Jun, slot 5 (11 May) left out, as of Tue 30 June 12:00.
    Whole weeks from 6 April; the week of 29 June is not over and is left out. By hand: the
    4 weeks to 27 April held 4 of 4; those to 11 May … 1 June 3 of 3 (one week had no slot)."""
    from cadence.report.org import weekly_trend_data

    ev, at = weekly_series("ann@x.com", "bob@x.com", "2026-04-06 09:00", 13, skip=(5,))
    result = analyze(frames(ev, at), as_of="2026-06-30 12:00")
    data = weekly_trend_data(result).set_index(
        data_week := weekly_trend_data(result)["week"].dt.strftime("%m-%d")
    )
    assert data_week.iloc[0] == "04-27" and data_week.iloc[-1] == "06-22"
    assert "06-29" not in set(data_week)
    assert data.loc["04-27", "slots"] == 4 and data.loc["05-11", "slots"] == 3
    assert data.loc["06-08", "slots"] == 4
    assert (data["held_share"] == 1).all()


def test_adherence_axis_is_not_cut_at_100_and_the_histogram_axis_holds_its_last_bar(
    hand: Analysis,
) -> None:
    from cadence.report import org

    table = rv.group_summary(hand, "department")
    table.loc[0, "adherence_p75"] = 1.4  # a department whose upper quartile holds 140 %
    fig = org.adherence_by_group(hand, "department", table=table)
    assert fig.layout.xaxis.range[1] >= 150
    hist = org.adherence_histogram(hand)
    assert hist.layout.xaxis.range[1] > org.HISTOGRAM_TOP  # the "150 % and more" bar is drawn
    assert f"{org.HISTOGRAM_TOP} % and more" in hist.layout.xaxis.title.text
    assert int(sum(hist.data[0].y)) == int(hand.pairs["adherence"].notna().sum())


def test_rates_draw_the_labelled_reference_and_leave_unknown_late_out(hand: Analysis) -> None:
    from cadence.report import org

    fig = org.cancellation_by_group(hand, "department")
    lines = {round(s.x0, 1) for s in fig.layout.shapes}
    assert lines == {29.6, 42.4}
    labels = " ".join(a.text for a in fig.layout.annotations)
    assert "29.6 % cancelled" in labels and "42.4 % rescheduled" in labels
    late = next(t for t in fig.data if t.name == "cancelled late")
    # the hand frames carry no cancellation times: where something was cancelled, late is
    # unknown (NaN, no bar), never 0; Sales cancelled nothing, so none was late (0)
    drawn = dict(zip(late.y, late.x, strict=True))
    assert drawn["Engineering"] != drawn["Engineering"]  # NaN
    assert (
        drawn["other groups (each under 5 people)"] != drawn["other groups (each under 5 people)"]
    )
    assert drawn["Sales"] == 0


def test_headline_cards_count_people_not_pairs(hand: Analysis) -> None:
    html = render_org(hand)
    card = html[html.index('id="card-people"') :].split("</div></div>", 1)[0]
    # by hand: 3 managers and 18 reports are 21 people in 18 pairs
    assert '<div class="n">21</div>' in card
    assert "people in 18 pairs: 18 reports, 3 managers" in card
    coverage = html[html.index('id="card-coverage"') :].split("</div></div>", 1)[0]
    assert '<div class="n">11 %</div>' in coverage  # 2 of 18
    assert "(2 of 18) had no held 1:1 in the last 4 weeks" in coverage
