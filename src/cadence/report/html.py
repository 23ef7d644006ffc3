"""Render an analysis as one self-contained HTML file (plotly.js embedded once, works offline).

Two reports share one template base:

- the **leader report** (:func:`render`): what needs attention, summary cards
  with their change since the previous report, a timeline, heatmap, gap and
  drift charts for the pairs that most need attention, and a sortable,
  paginated table of every pair;
- the **organisation report** (:func:`render_org`): roll-ups by department,
  manager level and manager, with groups under ``min_group_size`` people
  pooled or suppressed, and no single pair shown.

:func:`write_report` writes either, plus CSV and Parquet exports beside it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.offline

from cadence._version import __version__
from cadence.analysis import Analysis, display, review
from cadence.analysis.summary import Summary, summary
from cadence.model import Snapshot, SourceHealth
from cadence.report import figures, org
from cadence.report.export import write_exports
from cadence.report.figures import people_names, short_pair
from cadence.report.history import Since, delta, since
from cadence.report.privacy import pseudonym_label, pseudonymize

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("cadence.report", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["plural"] = lambda n, one, many=None: plural(int(n), one, many)
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
ATTENTION_LIMIT = 15
TIMELINE_LIMIT = 30  # pairs the timeline draws
HEATMAP_LIMIT = 40  # pairs the heatmap and the gap chart draw
_PENALTY = re.compile(r"\s*\(−\d+(?:\.\d)?\)$")
_EMAIL_DOMAIN = re.compile(r"@[^\s]+")


def plural(count: int, one: str, many: str | None = None) -> str:
    """``1 pair``, ``2 pairs``, ``no pair`` (never "0 pair(s)").

    >>> plural(0, "pair"), plural(1, "pair"), plural(3, "pair")
    ('no pair', '1 pair', '3 pairs')
    """
    if count == 0:
        return f"no {one}"
    return f"{count} {one if count == 1 else (many or one + 's')}"


def plain(reason: str) -> str:
    """A reason without the points it cost: ``"3 cancelled (−12.5)"`` → ``"3 cancelled"``.

    >>> plain("3 of the last 4 scheduled 1:1s cancelled or declined (−7.5)")
    '3 of the last 4 scheduled 1:1s cancelled or declined'
    """
    return _PENALTY.sub("", reason)


# a chart's script, kept from running while the page loads (base.html.j2 runs it after the
# first paint, once plotly.js is defined)
_CHART_SCRIPT = re.compile(r'<script(?: type="text/javascript")?>')
DEFERRED_CHART = "text/x-cadence-chart"


def _chart(name: str, fig: go.Figure) -> tuple[str, str]:
    html = fig.to_html(
        full_html=False, include_plotlyjs=False, div_id=f"fig-{name}", config=PLOTLY_CONFIG
    )
    return name, _CHART_SCRIPT.sub(f'<script type="{DEFERRED_CHART}">', html, count=1)


def leader_name(analysis: Analysis) -> str | None:
    """Who a leader-scoped analysis belongs to: the roster ``name`` with the email, or the
    email (a pseudonym once pseudonymized); ``None`` when it is not scoped to a leader.

    >>> top = result.roster.loc[result.roster["manager_email"].isna()].iloc[0]
    >>> leader_name(result.for_leader(top["email"])) == f"{top['name']} ({top['email']})"
    True
    """
    leader = analysis.meta.get("leader")
    if not leader:
        return None
    roster = analysis.roster
    if roster is not None and "name" in roster.columns:
        names = roster.loc[roster["email"] == leader, "name"].dropna()
        if len(names) and str(names.iloc[0]).strip():
            return f"{str(names.iloc[0]).strip()} ({leader})"
    return str(leader)


def _scope(analysis: Analysis) -> str | None:
    """The sentence that says whose report this is."""
    who = leader_name(analysis)
    if who is None:
        return None
    if analysis.roster is None:
        return f"The 1:1s of {who}."
    if analysis.meta.get("indirect"):
        return f"The team of {who}: their direct reports and everyone below them."
    return f"The team of {who}: their direct reports."


def _header(
    analysis: Analysis, title: str, sources: list[SourceHealth] | None, kind: str
) -> dict[str, Any]:
    srcs = sources or []
    who = leader_name(analysis)
    named = who and (who.split(" (")[0] in title or who.split("@")[0] in title)
    if who and kind == "leader" and not named:
        title = f"{title} · {who.split(' (')[0]}"
    return {
        "title": title,
        "scope": _scope(analysis) if kind == "leader" else None,
        "kind": kind,
        "version": __version__,
        "as_of": analysis.as_of,
        "window": analysis.window,
        "sources": srcs,
        "stale": [s for s in srcs if not s.error and s.stale(analysis.as_of)],
        "plotly_js": plotly.offline.get_plotlyjs(),
        "deferred_chart": DEFERRED_CHART,
        "pseudonymized": bool(analysis.meta.get("pseudonymized")),
    }


# -- the leader report ----------------------------------------------------------------------------


def render(
    analysis: Analysis,
    *,
    title: str = "1:1 health report",
    sources: list[SourceHealth] | None = None,
    previous: Snapshot | None = None,
    pseudonym_key: str | None = None,
) -> str:
    """The leader report as an HTML string.

    ``previous`` (from :meth:`cadence.Store.previous_snapshot`) adds the
    "since last report" section and the change on every summary card. With
    ``pseudonym_key`` every person is shown as a keyed pseudonym.

    Examples
    --------
    >>> import cadence
    >>> html = cadence.report.render(result)
    >>> html.count("* plotly.js v"), "Needs attention" in html
    (1, True)
    """
    now = summary(analysis)
    change = since(analysis, previous) if previous is not None else None
    shown = pseudonymize(analysis, pseudonym_key) if pseudonym_key else analysis
    if change is not None and pseudonym_key:
        change = _pseudonymize_since(change, pseudonym_key)
    charts = [
        _chart("timeline", figures.pair_timeline(shown)),
        _chart("heatmap", figures.attendance_heatmap(shown)),
        _chart("gaps", figures.gap_vs_target(shown)),
        _chart("weekly", figures.weekly_outcomes(shown)),
    ]
    drift = figures.drift_data(shown)
    tod = drift[(drift["hour_after"] - drift["hour_before"]).abs() >= 1]
    dur = drift[(drift["minutes_after"] - drift["minutes_before"]).abs() >= 10]
    drift_charts = []
    if len(tod):
        drift_charts.append(_chart("time-of-day", figures.time_of_day_drift(shown, data=drift)))
    if len(dur):
        drift_charts.append(_chart("duration", figures.duration_drift(shown, data=drift)))
    p = shown.pairs
    attention = p[p["status"].isin(["lapsed", "at_risk"])]
    rest = p[~p["status"].isin(["lapsed", "at_risk"])]["status"].astype(str).value_counts()
    return _ENV.get_template("leader.html.j2").render(
        **_header(shown, title, sources, "leader"),
        cards=_card_rows(now, change),
        since=_since_view(change, people_names(shown)),
        attention=_attention_rows(attention.head(ATTENTION_LIMIT), people_names(shown)),
        attention_more=max(0, len(attention) - ATTENTION_LIMIT),
        rest={"healthy": int(rest.get("healthy", 0)), "watch": int(rest.get("watch", 0))},
        # on leave: grouped apart, never under "needs attention"
        on_leave=_attention_rows(p[p["status"] == "on_leave"]),
        total_pairs=len(p),
        charts=charts,
        drift_charts=drift_charts,
        drift_pairs=(len(tod), len(dur)),
        table=_pair_table(shown),
        charts_note=charts_note(len(p), TIMELINE_LIMIT, HEATMAP_LIMIT),
        timeline_legend=figures.timeline_legend(),
    )


def charts_note(pairs: int, timeline: int, heatmap: int) -> str:
    """Which pairs the charts show, in words (never "the 8–8 pairs").

    >>> charts_note(8, 30, 40)
    'The charts show all 8 pairs, those that most need attention first.'
    >>> charts_note(35, 30, 40)
    'The timeline shows the 30 pairs that most need attention; the other charts show all 35.'
    >>> charts_note(100, 30, 40)  # doctest: +NORMALIZE_WHITESPACE
    'The timeline shows the 30 pairs that most need attention, the heatmap and the gap chart
     the 40 that most need attention; every pair is in the table.'
    """
    if pairs <= timeline:
        one = "pair" if pairs == 1 else "pairs"
        return f"The charts show all {pairs} {one}, those that most need attention first."
    if pairs <= heatmap:
        return (
            f"The timeline shows the {timeline} pairs that most need attention; "
            f"the other charts show all {pairs}."
        )
    return (
        f"The timeline shows the {timeline} pairs that most need attention, the heatmap and "
        f"the gap chart the {heatmap} that most need attention; every pair is in the table."
    )


def _pseudonymize_since(change: Since, key: str) -> Since:
    from dataclasses import replace

    def hide(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(pair=frame["pair"].map(lambda t: pseudonym_label(str(t), key)))

    return replace(
        change,
        newly_flagged=hide(change.newly_flagged),
        recovered=hide(change.recovered),
        worsened=hide(change.worsened),
    )


def _since_view(change: Since | None, names: dict[str, str] | None = None) -> dict[str, Any] | None:
    if change is None:
        return None

    def rows(frame: pd.DataFrame) -> list[dict[str, str]]:
        def text(v: Any, missing: str) -> str:
            return missing if pd.isna(v) else str(v).replace("_", " ")

        labels = short_pair(frame, names).tolist() if len(frame) else []
        return [
            {
                "pair": label,
                "was": text(r["was"], "new pair"),
                "now": text(r["status"], "no longer a pair"),
            }
            for r, label in zip(frame.to_dict("records"), labels, strict=True)
        ]

    return {
        "previous_as_of": change.previous_as_of,
        "new_pairs": change.new_pairs,
        "gone_pairs": change.gone_pairs,
        "parts": [
            {
                "id": "newly-flagged",
                "title": "Newly lapsed or at risk",
                "rows": rows(change.newly_flagged),
            },
            {"id": "recovered", "title": "Recovered", "rows": rows(change.recovered)},
            {"id": "worsened", "title": "From at risk to lapsed", "rows": rows(change.worsened)},
        ],
    }


def _attention_rows(
    pairs: pd.DataFrame, names: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    rows = []
    for rec, label in zip(pairs.to_dict("records"), short_pair(pairs, names), strict=True):
        rows.append(
            {
                "pair": label,
                "full": rec["pair"],
                "status": str(rec["status"]),
                "status_text": str(rec["status"]).replace("_", " "),
                "score": f"{rec['health_score']:.0f}",
                "reasons": _headline(list(rec["reasons"])),
                "last_held": _date(rec.get("last_held"), "never held in the window"),
                "next": _date(rec.get("next_scheduled"), "nothing scheduled"),
            }
        )
    return rows


def _headline(reasons: list[str], limit: int = 3) -> list[str]:
    """The reasons worth reading first, without repeating what a rule already says."""
    out = [plain(r) for r in reasons]
    if out and out[0].startswith("lapsed"):
        out = out[:1] + [r for r in out[1:] if not r.startswith(("no 1:1", "nothing scheduled"))]
    elif out and out[0].startswith(("at risk: no 1:1", "at risk: they never met")):
        out = out[:1] + [r for r in out[1:] if not r.startswith("no 1:1")]
    return out[:limit] or ["score below the threshold"]


def _date(value: Any, missing: str) -> str:
    return missing if value is None or pd.isna(value) else f"{value:%a %d %b %Y}"


def _pct(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f} %"


def _card_rows(now: Summary, change: Since | None) -> list[dict[str, Any]]:
    before = change.previous_cards if change else {}
    figures_now = now.cards()

    def moved(
        key: str, scale: float = 100, unit: str = " pts", better: str = "up"
    ) -> dict[str, Any]:
        d = delta(figures_now.get(key), before.get(key)) if change else None
        if d is None:
            return {"text": "", "trend": ""}
        d *= scale
        if abs(d) < 0.05:
            return {"text": "no change", "trend": "same"}
        good = (d > 0) == (better == "up")
        arrow = "▲" if d > 0 else "▼"
        size = f"{abs(d):.1f}" if abs(d) < 10 else f"{abs(d):.0f}"
        return {"text": f"{arrow} {size}{unit}", "trend": "good" if good else "bad"}

    gap = now.gap_ratio
    return [
        {
            "value": now.held_text(),
            "label": f"1:1s held of expected ({display.pct_text(now.held_share)})",
            **moved("held_share"),
        },
        {
            "value": display.pct_text(now.rate(now.cancelled)),
            "label": f"cancelled ({now.late_text()})",
            **moved("cancellation_rate", better="down"),
        },
        {
            "value": display.pct_text(now.rate(now.moved)),
            "label": "moved from their slot",
            **moved("moved_rate", better="down"),
        },
        {
            "value": "–" if gap is None else f"{gap:.1f}×",
            # the median over pairs of each pair's ratio: not the ratio of two medians
            "label": "gap ÷ target, the median pair (each pair's median gap ÷ its target)",
            **moved("gap_ratio", scale=1, unit="×", better="down"),
        },
        {
            "value": f"{now.lapsed} · {now.at_risk}",
            "label": "pairs lapsed · at risk",
            **_count_change(figures_now, before, change),
        },
    ]


def _count_change(
    now: dict[str, Any], before: dict[str, Any], change: Since | None
) -> dict[str, Any]:
    if not change or "lapsed" not in before:
        return {"text": "", "trend": ""}
    d = (now["lapsed"] + now["at_risk"]) - (before["lapsed"] + before["at_risk"])
    if d == 0:
        return {"text": "no change", "trend": "same"}
    return {"text": f"{'▲' if d > 0 else '▼'} {abs(d)}", "trend": "bad" if d > 0 else "good"}


TABLE_FIELDS = [
    "pair",
    "status",
    "score",
    "held",
    "expected",
    "cancelled",
    "late",
    "late_unknown",
    "declined",
    "moved",
    "adherence",
    "target",
    "median_gap",
    "days_since",
    "last_held",
    "next",
    "weeks",
    "why",
]


def _pair_table(analysis: Analysis) -> dict[str, Any]:
    """Every pair as compact JSON rows (one array per row) for the client-side table.

    A shown cell is ``[sort key, text]``; its text is written here, by the same
    :mod:`cadence.analysis.display` helpers as the reasons and the cards, so the
    browser formats nothing.
    """
    p = analysis.pairs
    weeks = _week_strings(analysis)
    order = {"lapsed": 0, "at_risk": 1, "watch": 2, "healthy": 3}

    def num(v: Any, digits: int = 1) -> float | None:
        return None if v is None or pd.isna(v) else round(float(v), digits)

    def day(v: Any) -> str | None:
        return None if v is None or pd.isna(v) else f"{v:%Y-%m-%d}"

    late = display.late_texts(
        p["late_cancelled"], p["late_unknown"], p["cancelled"], p["late_unknown_sources"]
    )
    plain_count = (p["cancelled"] == 0) | ((p["late_cancelled"] == 0) & (p["late_unknown"] == 0))
    cancelled = (
        p["cancelled"]
        .astype(str)
        .where(plain_count, p["cancelled"].astype(str) + " (" + late + ")")
    )
    texts = pd.DataFrame(
        {
            "held": display.held_of_expected(p["held"], p["expected"]),
            "cancelled": cancelled,
            "adherence": display.pcts(p["adherence"].astype(float)),
            "target": display.counts(p["target_days"])
            + " d"
            + display.target_notes(p["target_source"]),
            "median_gap": (display.counts(p["median_gap_days"].round()) + " d").where(
                p["median_gap_days"].notna(), "–"
            ),
            "days_since": (p["days_since_last_held"].astype(str) + " d").where(
                p["days_since_last_held"].notna(), "never"
            ),
        },
        index=p.index,
    )
    rows = []
    for rec, text, label in zip(
        p.to_dict("records"),
        texts.to_dict("records"),
        short_pair(p, people_names(analysis)),
        strict=True,
    ):
        status = str(rec["status"])
        since_days = rec["days_since_last_held"]
        rows.append(
            [
                label,
                [order[status], status],
                num(rec["health_score"], 0),
                [int(rec["held"]), text["held"]],
                num(rec["expected"]),
                [int(rec["cancelled"]), text["cancelled"]],
                int(rec["late_cancelled"]),
                int(rec["late_unknown"]),
                int(rec["declined"]),
                int(rec["moved"]),
                [num(rec["adherence"], 4), text["adherence"]],
                [num(rec["target_days"]), text["target"]],
                [num(rec["median_gap_days"]), text["median_gap"]],
                [None if pd.isna(since_days) else int(since_days), text["days_since"]],
                day(rec["last_held"]),
                day(rec["next_scheduled"]),
                weeks.get(str(rec["pair"]), ""),
                "; ".join(_headline(list(rec["reasons"]), 2))
                if len(rec["reasons"])
                else "on track",
            ]
        )
    return {"fields": TABLE_FIELDS, "rows": rows}


def _week_strings(analysis: Analysis) -> dict[str, str]:
    """pair → one character per week of the window: h held, m missed, s scheduled, - none."""
    grid = figures.attendance_heatmap_data(analysis, limit=len(analysis.pairs))
    chars = np.array(
        ["-", "m", "s", "h"]
    )  # by state: NO_MEETING, MISSED, SCHEDULED_WEEK, HELD_WEEK
    labels = analysis.pairs["pair"].astype(str).to_numpy()
    return {
        label: "".join(chars[row])
        for label, row in zip(labels, grid.to_numpy(dtype=int), strict=True)
    }


# -- the organisation report ----------------------------------------------------------------------


def render_org(
    analysis: Analysis,
    *,
    title: str = "1:1 health · organisation review",
    sources: list[SourceHealth] | None = None,
    min_group_size: int = org.DEFAULT_MIN_GROUP,
    pseudonym_key: str | None = None,
    previous: Snapshot | None = None,
    coverage_weeks: int = review.DEFAULT_COVERAGE_WEEKS,
    membership: review.Membership = "report",
) -> str:
    """The organisation (HR) review as an HTML string; privacy rules always on.

    No single pair appears. Every aggregate covers at least ``min_group_size``
    people (see :mod:`cadence.analysis.review`); meeting and job titles are never
    shown; with ``pseudonym_key`` managers appear as keyed pseudonyms. The
    headline is coverage: the share of reports with no held 1:1 in the last
    ``coverage_weeks`` weeks. ``previous`` (the last review's snapshot) adds the
    change of every figure, organisation-wide and per group.

    Examples
    --------
    >>> import cadence
    >>> html = cadence.report.render_org(result, min_group_size=5)
    >>> "Privacy: no single pair is shown" in html
    True
    """
    k = org.check_min_group_size(min_group_size)
    settings = review.ReviewSettings(k, coverage_weeks, membership)
    tables = org.review_tables(analysis, settings, previous=previous, pseudonym_key=pseudonym_key)
    departments = tables["departments"]
    too_small = departments.empty or bool(departments.iloc[-1]["suppressed"])
    shown = pseudonymize(analysis, pseudonym_key) if pseudonym_key else analysis
    change = since(analysis, previous) if previous is not None and not too_small else None
    charts = []
    if not too_small:
        d: org.GroupBy = "department"
        charts = [
            _chart(
                "coverage-department",
                org.coverage_by_group(
                    analysis, d, min_group_size=k, coverage_weeks=coverage_weeks, table=departments
                ),
            ),
            _chart("status-department", org.status_by_group(analysis, d, table=departments)),
            _chart("buckets-department", org.buckets_by_group(analysis, d, table=departments)),
            _chart(
                "cancellations-department",
                org.cancellation_by_group(analysis, d, table=departments),
            ),
            _chart("trend", org.org_trend(analysis, d, min_group_size=k, membership=membership)),
            _chart("adherence-department", org.adherence_by_group(analysis, d, table=departments)),
            _chart("adherence-histogram", org.adherence_histogram(analysis, min_group_size=k)),
        ]
        if "levels" in tables:
            charts.append(
                _chart(
                    "status-level",
                    org.status_by_group(analysis, "manager_level", table=tables["levels"]),
                )
            )
    managers = tables["managers"]
    return _ENV.get_template("org.html.j2").render(
        **_header(shown, title, sources, "org"),
        k=k,
        weeks=coverage_weeks,
        membership=membership,
        too_small=too_small,
        cards=[]
        if too_small
        else _org_cards(analysis, departments.iloc[-1], change, coverage_weeks),
        reference={**review.REFERENCE, "source": review.REFERENCE_SOURCE},
        charts=dict(charts),
        tables={
            name: _org_table(t, name, coverage_weeks) for name, t in tables.items() if not too_small
        },
        managers_pooled=int(
            managers.loc[managers["group"] == org.OTHER.format(k=k), "pooled_groups"].sum()
        )
        if len(managers)
        else 0,
        levels_note=_levels_note(analysis, tables.get("levels"), k),
        since=_org_since(change) if change is not None else None,
    )


def _signed(d: float | None, digits: int = 1, unit: str = " pts") -> str:
    if d is None or pd.isna(d):
        return "–"
    d *= 100
    if abs(d) < 0.05:
        return "no change"
    return f"{'▲' if d > 0 else '▼'} {abs(d):.{digits}f}{unit}"


def _org_cards(
    analysis: Analysis, whole: pd.Series, change: Since | None, weeks: int
) -> list[dict[str, Any]]:
    """The review's cards: coverage first, then honest counts, held, the rates."""
    now = summary(analysis)
    before = change.previous_cards if change else {}
    p = analysis.pairs

    def moved(now_value: float | None, key: str, better: str = "down") -> dict[str, Any]:
        was = before.get(key)
        d = delta(now_value, was) if change and was is not None else None
        if d is None:
            return {"text": "", "trend": ""}
        text = _signed(d)
        if text == "no change":
            return {"text": text, "trend": "same"}
        return {"text": text, "trend": "good" if (d > 0) == (better == "up") else "bad"}

    share = _none(whole["uncovered_share"])
    managers = int(p["manager"].nunique())
    reports = int(p["report"].nunique())
    ref = review.REFERENCE
    return [
        {
            "id": "coverage",
            "value": display.pct_text(share),
            "label": f"of reports ({int(whole['uncovered'])} of {int(whole['reports'])}) had "
            f"no held 1:1 in the last {weeks} weeks",
            **moved(share, "uncovered_share"),
        },
        {
            "id": "people",
            "value": f"{now.people:,}",
            "label": (
                f"people in {now.pairs:,} pairs: {reports:,} reports, {managers:,} managers "
                "(a manager can be a report too)"
                if reports
                else f"people in {now.pairs:,} pairs"
            ),
            "text": "",
            "trend": "",
        },
        {
            "id": "held",
            "value": now.held_text(),
            "label": f"1:1s held of expected ({display.pct_text(now.held_share)})",
            **moved(now.held_share, "held_share", better="up"),
        },
        {
            "id": "cancelled",
            "value": display.pct_text(now.rate(now.cancelled)),
            "label": f"cancelled ({now.late_text()}); "
            f"study: {ref['cancellation_rate'] * 100:.1f} %",
            **moved(now.rate(now.cancelled), "cancellation_rate"),
        },
        {
            "id": "rescheduled",
            "value": display.pct_text(now.rate(now.moved)),
            "label": f"rescheduled (moved from their slot); study: {ref['moved_rate'] * 100:.1f} %",
            **moved(now.rate(now.moved), "moved_rate"),
        },
        {
            "id": "flagged",
            "value": f"{now.lapsed} · {now.at_risk}",
            "label": "pairs lapsed · at risk",
            "text": "",
            "trend": "",
        },
    ]


def _org_since(change: Since) -> dict[str, Any]:
    """Counts only: the org report never lists pairs."""
    return {
        "previous_as_of": change.previous_as_of,
        "newly_flagged": len(change.newly_flagged),
        "recovered": len(change.recovered),
        "worsened": len(change.worsened),
    }


def _levels_note(analysis: Analysis, table: pd.DataFrame | None, k: int) -> str | None:
    """Why the manager-level view shows what it shows, when it cannot show every level."""
    if table is None or table.empty:
        return None
    size = review.group_sizes(analysis, "manager_level")
    named = table[
        ~table["suppressed"] & ~table["group"].isin([review.WHOLE, org.OTHER.format(k=k)])
    ]
    if len(named) == len(size):
        return None
    small = int((size < k).sum())
    joined = len(size) - len(named) - small
    shown = ", ".join(named["group"]) or "no level"
    return (
        f"The roster has {len(size)} manager levels; {small} of them cover fewer than {k} "
        "people with 1:1s (a small organisation has few managers per level)"
        + (
            f", and {joined} more joined them so that none can be worked out from the total"
            if joined
            else ""
        )
        + f". Shown on its own: {shown}. The departments and managers above show the rest."
    )


ORG_FIELDS = {
    "group": "{label}",
    "department": "department",
    "level": "level",
    "people": "people measured",
    "pairs": "pairs",
    "uncovered": "no 1:1 in {weeks} weeks",
    "d_uncovered": "change",
    "status": "status mix",
    "meets": "meets most often",
    "intends": "series intend",
    "adherence": "held of expected",
    "cancelled": "cancelled",
    "d_cancelled": "change",
    "moved": "rescheduled",
    "declined": "declined",
    "excused": "excused (away)",
    "late": "cancelled late",
    "newly_flagged": "newly lapsed or at risk",
    "recovered": "recovered",
}
TABLE_LABELS = {"departments": "department", "levels": "manager level", "managers": "manager"}


def _org_table(table: pd.DataFrame, name: str, weeks: int) -> dict[str, Any]:
    """A review table as compact JSON for the client-side table: a cell is a value or
    ``[sort key, text]`` (the status mix: ``[sort key, text, [shares]]``); every text is
    written here (by :mod:`cadence.analysis.display`, a column at a time), the browser
    formats nothing. Suppressed rows carry no figure."""
    changes = "recovered" in table.columns
    fields = [
        f
        for f in ORG_FIELDS
        if (f not in ("department", "level") or name == "managers")
        and (changes or not f.startswith(("d_", "newly", "recovered")))
    ]
    t = table.reset_index(drop=True)
    pairs = t["pairs"].astype("float64")

    def keys(col: str) -> list[float | None]:
        values = pd.to_numeric(t[col], errors="coerce").to_numpy(dtype="float64").round(4)
        missing = np.isnan(values)
        return [None if m else v for m, v in zip(missing.tolist(), values.tolist(), strict=True)]

    def pct_cells(col: str) -> list[list[Any]]:
        # whole percentages, as the cards, the leader report, the CLI and the emails write them
        texts = display.pcts(pd.to_numeric(t[col], errors="coerce").astype("float64"))
        return [[k, str(x)] for k, x in zip(keys(col), texts, strict=True)]

    def signed(col: str) -> list[list[Any]]:
        if col not in t.columns:
            return [[None, "–"]] * len(t)
        return [[k, _signed(k)] for k in keys(col)]

    def top(prefix: str, names: tuple[str, ...]) -> list[list[Any]]:
        counts = t[[f"{prefix}:{n}" for n in names]].astype("float64").fillna(-1).to_numpy()
        best = counts.argmax(axis=1)
        share = counts[np.arange(len(t)), best] / pairs.to_numpy()
        texts = np.array(names, dtype=object)[best] + " (" + display.pcts(pd.Series(share)) + ")"
        return [[int(i), str(x)] for i, x in zip(best, texts, strict=True)]

    shares = t[[f"{s}_share" for s in org.STATUSES]].astype("float64").round(4)
    mix = pd.Series("", index=t.index, dtype=object)
    for s in org.STATUSES:
        part = display.pcts(shares[f"{s}_share"]) + " " + s.replace("_", " ")
        mix = part if s == org.STATUSES[0] else mix + " · " + part
    uncovered = display.pcts(t["uncovered_share"].astype("float64"))
    uncovered = (
        uncovered
        + " ("
        + t["uncovered"].astype("Int64").astype(str)
        + " of "
        + t["reports"].astype("Int64").astype(str)
        + ")"
    ).where(t["uncovered_share"].notna(), "–")
    late = display.late_shares(
        t["late_cancelled"].fillna(0),
        t["late_unknown"].fillna(0),
        t["cancelled"].fillna(0),
        t["past"].fillna(0),
        t["late_unknown_sources"],
    )
    label: pd.Series = t["group"].astype(str) + np.where(
        t["pooled_groups"].fillna(1).astype(int) > 1,
        " (" + t["pooled_groups"].fillna(1).astype(int).astype(str) + " groups)",
        "",
    )
    level = t["level"] if "level" in t.columns else pd.Series(pd.NA, index=t.index)
    columns: dict[str, list[Any]] = {
        "group": label.tolist(),
        "department": [
            "–" if pd.isna(d) else str(d)
            for d in (t["department"] if "department" in t.columns else [None] * len(t))
        ],
        "level": [[None, "–"] if pd.isna(v) else [int(v), f"level {int(v)}"] for v in level],
        "people": [None if pd.isna(v) else int(v) for v in t["people"]],
        "pairs": [None if pd.isna(v) else int(v) for v in t["pairs"]],
        "uncovered": [[k, str(x)] for k, x in zip(keys("uncovered_share"), uncovered, strict=True)],
        "d_uncovered": signed("Δuncovered_share"),
        "status": [
            [k, str(x), list(v)]
            for k, x, v in zip(
                keys("attention_share"), mix, shares.to_numpy().tolist(), strict=True
            )
        ],
        "meets": top("bucket", review.BUCKETS),
        "intends": top("intended", review.INTENDED),
        "adherence": pct_cells("adherence"),
        "cancelled": pct_cells("cancellation_rate"),
        "d_cancelled": signed("Δcancellation_rate"),
        "moved": pct_cells("moved_rate"),
        "declined": pct_cells("decline_rate"),
        "excused": pct_cells("excused_rate"),
        "late": [[k, str(x)] for k, x in zip(keys("late_cancel_rate"), late, strict=True)],
        "newly_flagged": [
            None if pd.isna(v) else int(v) for v in t.get("newly_flagged", [None] * len(t))
        ],
        "recovered": [None if pd.isna(v) else int(v) for v in t.get("recovered", [None] * len(t))],
    }
    suppressed = t["suppressed"].astype(bool).tolist()
    rows: list[dict[str, Any]] = []
    for i, sup in enumerate(suppressed):
        if sup:
            rows.append({"suppressed": True, "cells": [columns["group"][i]]})
        else:
            rows.append({"cells": [columns[f][i] for f in fields]})
    heads = [ORG_FIELDS[f].format(label=TABLE_LABELS[name], weeks=weeks) for f in fields]
    return {"fields": fields, "heads": heads, "rows": rows}


def _none(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


# -- files ----------------------------------------------------------------------------------------


def write_report(
    analysis: Analysis,
    path: str | Path,
    *,
    org_report: bool = False,
    title: str | None = None,
    sources: list[SourceHealth] | None = None,
    previous: Snapshot | None = None,
    min_group_size: int = org.DEFAULT_MIN_GROUP,
    pseudonym_key: str | None = None,
    exports: bool = True,
    coverage_weeks: int = review.DEFAULT_COVERAGE_WEEKS,
    membership: review.Membership = "report",
) -> Path:
    """Write the report to ``path`` (folders created) and its exports beside it.

    Leader report exports: ``<stem>-pairs`` and ``<stem>-occurrences``; the
    organisation report exports its roll-ups only (``<stem>-departments``,
    ``<stem>-levels``, ``<stem>-managers``, small groups pooled, with their change
    since ``previous``), never pairs. Each as ``.csv`` and ``.parquet``. Returns the
    report's absolute path. ``coverage_weeks`` and ``membership`` are the organisation
    review's (see :mod:`cadence.analysis.review`).

    Examples
    --------
    >>> import cadence
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> path = cadence.report.write_report(result, folder / "team.html")
    >>> sorted(p.name for p in folder.iterdir())  # doctest: +NORMALIZE_WHITESPACE
    ['team-occurrences.csv', 'team-occurrences.parquet',
     'team-pairs.csv', 'team-pairs.parquet', 'team.html']
    """
    out = Path(path).expanduser().resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    if org_report:
        html = render_org(
            analysis,
            title=title or "1:1 health · organisation review",
            sources=sources,
            min_group_size=min_group_size,
            pseudonym_key=pseudonym_key,
            previous=previous,
            coverage_weeks=coverage_weeks,
            membership=membership,
        )
    else:
        html = render(
            analysis,
            title=title or "1:1 health report",
            sources=sources,
            previous=previous,
            pseudonym_key=pseudonym_key,
        )
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)  # a reader never sees half a report
    if exports:
        write_exports(
            analysis,
            out,
            org_report=org_report,
            min_group_size=min_group_size,
            pseudonym_key=pseudonym_key,
            previous=previous,
            coverage_weeks=coverage_weeks,
            membership=membership,
        )
    return out
