"""The organisation view (HR): figures of the roll-ups by department, manager and level.

The numbers are :mod:`cadence.analysis.review`'s (group membership, pooling of
small groups, coverage, cadence buckets, rates): this module only draws them.
Every figure takes the analysis (and optionally the ``table`` of
:func:`group_summary` it draws, so a report computes each table once) and
draws only the groups that table shows.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cadence.analysis import Analysis, display
from cadence.analysis.review import (
    BUCKETS,
    COUNTS,
    DEFAULT_COVERAGE_WEEKS,
    DEFAULT_MIN_GROUP,
    GROUPINGS,
    INTENDED,
    OTHER,
    REFERENCE,
    REFERENCE_SOURCE,
    STATUSES,
    SUPPRESSED,
    WHOLE,
    GroupBy,
    Membership,
    ReviewSettings,
    check_min_group_size,
    group_changes,
    group_keys,
    group_summary,
    manager_levels,
    members,
    pair_groups,
)
from cadence.model import Snapshot
from cadence.report.figures import FONT, STATUS_COLOURS, _styled
from cadence.report.history import since
from cadence.report.privacy import pseudonym

__all__ = [
    "COUNTS",
    "DEFAULT_MIN_GROUP",
    "GROUPINGS",
    "OTHER",
    "STATUSES",
    "SUPPRESSED",
    "GroupBy",
    "adherence_by_group",
    "adherence_histogram",
    "buckets_by_group",
    "cancellation_by_group",
    "check_min_group_size",
    "coverage_by_group",
    "group_keys",
    "group_summary",
    "manager_levels",
    "org_trend",
    "review_tables",
    "status_by_group",
    "weekly_trend_data",
]

_members = members  # the old private name, for notebooks that used it
TWO_LINE_TITLE = {"l": 10, "r": 10, "t": 80, "b": 40}  # margins for a title with a <br>
ROLLING_WEEKS = 4  # the trend's rolling window: a week of a small group swings too much
HISTOGRAM_TOP = 150  # % adherence: the histogram's last bar holds this and more


def _shown(
    analysis: Analysis,
    by: GroupBy,
    min_group_size: int,
    table: pd.DataFrame | None,
    *,
    whole: bool = False,
) -> pd.DataFrame:
    t = table if table is not None else group_summary(analysis, by, min_group_size=min_group_size)
    shown = t[~t["suppressed"].astype(bool)]
    return shown if whole else shown[shown["group"] != WHOLE]


def _height(rows: int, per: int = 26) -> int:
    return max(300, per * rows + 170)


def weekly_trend_data(
    analysis: Analysis,
    by: GroupBy | None = None,
    *,
    min_group_size: int = DEFAULT_MIN_GROUP,
    membership: Membership = "report",
    rolling: int = ROLLING_WEEKS,
) -> pd.DataFrame:
    """Share of past slots held over the ``rolling`` whole weeks ending each ISO week (and per
    group: only groups shown by :func:`group_summary`; pooled groups as one).

    The current, partial week and the partial first week are left out; a week's share
    is shown once ``rolling`` whole weeks are behind it.
    """
    w = analysis.weekly
    whole = (w["week"] >= analysis.window[0]) & (w["week"] + pd.Timedelta(days=7) <= analysis.as_of)
    w = w[whole]
    # the pair of each weekly row, by its category code (one lookup per pair, not per row)
    pair_codes = w["pair"].cat.codes.to_numpy()
    if by is None:
        key = np.full(len(w), WHOLE, dtype=object)
    else:
        k = check_min_group_size(min_group_size)
        groups = pair_groups(analysis, by, min_group_size=k, membership=membership)
        mem = members(analysis.pairs)
        size = mem.groupby(groups.loc[mem["row"]].to_numpy())["person"].nunique()
        shown = size[size >= k].index  # only the pool can be too small
        by_label = pd.Series(
            groups.to_numpy(dtype=object), index=analysis.pairs["pair"].astype(str)
        )
        by_label = by_label.where(by_label.isin(shown))
        per_category = by_label.reindex(w["pair"].cat.categories.astype(str)).to_numpy(dtype=object)
        key = np.concatenate([per_category, np.array([None], dtype=object)])[pair_codes]
        keep = pd.notna(key)
        w, key = w[keep], key[keep]
    frame = pd.DataFrame(
        {
            "group": key,
            "week": w["week"].array,
            "held": w["held"].to_numpy(),
            "slots": (w["held"] + w["cancelled"] + w["declined"]).to_numpy(),
        }
    )
    out = frame.groupby(["group", "week"])[["held", "slots"]].sum()
    if out.empty:
        return out.reset_index().assign(held_share=pd.Series(dtype="float64"))
    weeks = pd.date_range(frame["week"].min(), frame["week"].max(), freq="7D")
    names = sorted(out.index.get_level_values("group").unique(), key=str)
    full = pd.MultiIndex.from_product([names, weeks], names=["group", "week"])
    out = out.reindex(full, fill_value=0)
    # the sum of the last ``rolling`` weeks, per group: a cumulative sum, minus itself shifted
    n = len(weeks)
    held = out["held"].to_numpy().reshape(len(names), n).cumsum(axis=1).astype("float64")
    slots = out["slots"].to_numpy().reshape(len(names), n).cumsum(axis=1).astype("float64")
    for grid in (held, slots):
        grid[:, rolling:] = grid[:, rolling:] - grid[:, :-rolling].copy()
        grid[:, : rolling - 1] = np.nan
    summed = (
        pd.DataFrame({"held": held.ravel(), "slots": slots.ravel()}, index=full)
        .dropna()
        .reset_index()
    )
    summed["held_share"] = summed["held"] / summed["slots"].where(summed["slots"] > 0)
    return summed


def status_by_group(
    analysis: Analysis,
    by: GroupBy = "department",
    *,
    min_group_size: int = DEFAULT_MIN_GROUP,
    table: pd.DataFrame | None = None,
) -> go.Figure:
    """Share of pairs healthy / watch / at risk / lapsed in each group (100 % bars).

    Examples
    --------
    >>> import cadence
    >>> fig = cadence.report.status_by_group(result, "department", min_group_size=5)
    >>> [trace.name for trace in fig.data]
    ['healthy', 'watch', 'at risk', 'lapsed']
    """
    shown = _shown(analysis, by, min_group_size, table)
    fig = go.Figure()
    for status in STATUSES:
        fig.add_trace(
            go.Bar(
                y=shown["group"],
                x=shown[f"{status}_share"] * 100,
                name=status.replace("_", " "),
                orientation="h",
                marker={"color": STATUS_COLOURS[status], "pattern": {"shape": _PATTERN[status]}},
                customdata=shown[status],
                hovertemplate="%{y}<br>"
                + status.replace("_", " ")
                + ": %{x:.0f} % (%{customdata} pairs)<extra></extra>",
            )
        )
    return _styled(
        fig,
        barmode="stack",
        title=f"Pairs by health, per {GROUPINGS[by]}",
        xaxis={"title": "% of pairs", "range": [0, 100]},
        yaxis={"autorange": "reversed", "title": None, "type": "category", "automargin": True},
        height=_height(len(shown)),
    )


_PATTERN = {"healthy": "", "watch": ".", "at_risk": "/", "lapsed": "x"}


def coverage_by_group(
    analysis: Analysis,
    by: GroupBy = "department",
    *,
    min_group_size: int = DEFAULT_MIN_GROUP,
    coverage_weeks: int = DEFAULT_COVERAGE_WEEKS,
    table: pd.DataFrame | None = None,
) -> go.Figure:
    """Share of reports with no held 1:1 in the last ``coverage_weeks`` weeks, per group, with
    the whole organisation's share as a line.

    Examples
    --------
    >>> import cadence
    >>> fig = cadence.report.coverage_by_group(result, "department")
    >>> fig.data[0].name
    'reports with no 1:1'
    """
    if table is None:
        table = group_summary(
            analysis, by, min_group_size=min_group_size, coverage_weeks=coverage_weeks
        )
    shown = _shown(analysis, by, min_group_size, table, whole=True)
    groups = shown[shown["group"] != WHOLE]
    fig = go.Figure(
        go.Bar(
            y=groups["group"],
            x=groups["uncovered_share"] * 100,
            orientation="h",
            name="reports with no 1:1",
            marker={"color": "#D55E00"},
            customdata=np.stack([groups["uncovered"], groups["reports"]], axis=-1)
            if len(groups)
            else None,
            hovertemplate="%{y}<br>%{x:.0f} % had no 1:1 (%{customdata[0]} of "
            "%{customdata[1]} reports)<extra></extra>",
        )
    )
    whole = shown[shown["group"] == WHOLE]
    if len(whole) and pd.notna(whole["uncovered_share"].iloc[0]):
        share = float(whole["uncovered_share"].iloc[0]) * 100
        fig.add_vline(
            x=share,
            line={"dash": "dot", "color": "#000"},
            annotation_text=f"whole organisation {share:.0f} %",
            annotation_position="top",
        )
    return _styled(
        fig,
        title=f"Reports with no 1:1 in the last {coverage_weeks} weeks,<br>per {GROUPINGS[by]}",
        margin=TWO_LINE_TITLE,
        xaxis={"title": "% of reports", "rangemode": "tozero"},
        yaxis={"autorange": "reversed", "title": None, "type": "category", "automargin": True},
        height=_height(len(groups)),
        showlegend=False,
    )


_BUCKET_COLOURS = ("#009E73", "#56B4E9", "#0072B2", "#E69F00", "#000000")


def buckets_by_group(
    analysis: Analysis,
    by: GroupBy = "department",
    *,
    min_group_size: int = DEFAULT_MIN_GROUP,
    table: pd.DataFrame | None = None,
) -> go.Figure:
    """How often each group's pairs meet (median gap between held 1:1s) beside what their
    series intend: two 100 % bars per group, "meets" and "intends".

    Examples
    --------
    >>> import cadence
    >>> fig = cadence.report.buckets_by_group(result, "department")
    >>> [trace.name for trace in fig.data][:2]
    ['weekly', 'every 2 weeks']
    """
    shown = _shown(analysis, by, min_group_size, table, whole=True)
    groups = [str(g) for g in shown["group"]]
    y = [[g for g in groups for _ in range(2)], ["meets", "intends"] * len(groups)]
    fig = go.Figure()
    names = list(dict.fromkeys([*BUCKETS, *INTENDED]))
    colours = dict(zip(BUCKETS, _BUCKET_COLOURS, strict=True)) | {INTENDED[-1]: "#BBBBBB"}
    for name in names:
        actual = shown.get(f"bucket:{name}")
        intended = shown.get(f"intended:{name}")
        values = []
        for i in range(len(shown)):
            for col in (actual, intended):
                values.append(
                    float(col.iloc[i]) / float(shown["pairs"].iloc[i]) * 100
                    if col is not None
                    else 0.0
                )
        fig.add_trace(
            go.Bar(
                y=y,
                x=values,
                name=name,
                orientation="h",
                marker={"color": colours[name]},
                hovertemplate="%{y}: " + name + " %{x:.0f} % of pairs<extra></extra>",
            )
        )
    return _styled(
        fig,
        barmode="stack",
        title=f"How often pairs meet<br>and what series intend, per {GROUPINGS[by]}",
        legend={"traceorder": "normal", "orientation": "h", "yanchor": "top", "y": -0.12},
        margin=TWO_LINE_TITLE,
        xaxis={"title": "% of pairs", "range": [0, 100]},
        yaxis={"autorange": "reversed", "title": None, "automargin": True},
        height=_height(2 * len(groups), per=20),
    )


def adherence_by_group(
    analysis: Analysis,
    by: GroupBy = "department",
    *,
    min_group_size: int = DEFAULT_MIN_GROUP,
    table: pd.DataFrame | None = None,
) -> go.Figure:
    """Spread of pair adherence (held ÷ expected) per group: quartiles and median.

    Whiskers and outliers are left out on purpose: they would show single pairs. The
    axis reaches past the highest upper quartile (pairs can hold more than expected).

    Examples
    --------
    >>> import cadence
    >>> fig = cadence.report.adherence_by_group(result, "manager_level")
    >>> fig.data[1].name
    'median pair'
    """
    shown = _shown(analysis, by, min_group_size, table)
    fig = go.Figure()
    xs: list[object] = []
    ys: list[object] = []
    for lo, hi, group in zip(
        shown["adherence_p25"], shown["adherence_p75"], shown["group"], strict=True
    ):
        xs += [lo * 100, hi * 100, None]
        ys += [group, group, None]
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            line={"color": "#0072B2", "width": 8},
            name="middle half of pairs",
            hoverinfo="skip",
            opacity=0.45,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=shown["adherence_median"] * 100,
            y=shown["group"],
            mode="markers",
            name="median pair",
            marker={"symbol": "diamond", "size": 11, "color": "#0072B2"},
            customdata=np.stack(
                [shown["adherence_p25"] * 100, shown["adherence_p75"] * 100], axis=-1
            )
            if len(shown)
            else None,
            hovertemplate="%{y}<br>median %{x:.0f} %, middle half %{customdata[0]:.0f}–"
            "%{customdata[1]:.0f} %<extra></extra>",
        )
    )
    fig.add_vline(x=100, line={"dash": "dot", "color": "#555"})
    top = pd.concat([shown["adherence_p75"], shown["adherence_median"]]).max()
    upper = max(110.0, (float(top) * 100 if pd.notna(top) else 100.0) + 10)
    return _styled(
        fig,
        title=f"Adherence (1:1s held ÷ expected)<br>per {GROUPINGS[by]}",
        margin=TWO_LINE_TITLE,
        xaxis={"title": "% of expected 1:1s held", "range": [0, upper]},
        yaxis={"autorange": "reversed", "title": None, "type": "category", "automargin": True},
        height=_height(len(shown)),
    )


def cancellation_by_group(
    analysis: Analysis,
    by: GroupBy = "department",
    *,
    min_group_size: int = DEFAULT_MIN_GROUP,
    table: pd.DataFrame | None = None,
) -> go.Figure:
    """Cancelled, rescheduled (moved), declined and late-cancelled shares of past 1:1s per
    group, with the external reference (:data:`~cadence.analysis.review.REFERENCE`) as
    labelled lines. A late rate the sources cannot know is left out, not drawn as 0.

    Examples
    --------
    >>> import cadence
    >>> fig = cadence.report.cancellation_by_group(result)
    >>> [trace.name for trace in fig.data]
    ['cancelled', 'rescheduled', 'declined', 'cancelled late']
    """
    shown = _shown(analysis, by, min_group_size, table, whole=True)
    fig = go.Figure()
    for col, name, colour, pattern in (
        ("cancellation_rate", "cancelled", "#D55E00", ""),
        ("moved_rate", "rescheduled", "#56B4E9", "\\"),
        ("decline_rate", "declined", "#E69F00", "."),
        ("late_cancel_rate", "cancelled late", "#CC79A7", "/"),
    ):
        fig.add_trace(
            go.Bar(
                y=shown["group"],
                x=shown[col] * 100,
                name=name,
                orientation="h",
                marker={"color": colour, "pattern": {"shape": pattern}},
                customdata=display.pcts(shown[col].astype("float64")).to_numpy(dtype=object),
                hovertemplate="%{y}<br>" + name + ": %{customdata} of past 1:1s<extra></extra>",
            )
        )
    for col, name, dash in (
        ("cancellation_rate", "cancelled", "dash"),
        ("moved_rate", "rescheduled", "dot"),
    ):
        fig.add_vline(
            x=REFERENCE[col] * 100,
            line={"dash": dash, "color": "#555"},
            annotation_text=f"study: {REFERENCE[col] * 100:.1f} % {name}",
            annotation_hovertext=REFERENCE_SOURCE,
            annotation_position="top",
            annotation_font_size=11,
        )
    return _styled(
        fig,
        barmode="group",
        title=f"Cancelled, rescheduled, declined<br>per {GROUPINGS[by]}",
        margin=TWO_LINE_TITLE,
        xaxis={"title": "% of past 1:1s", "range": [0, 50]},
        yaxis={"autorange": "reversed", "title": None, "type": "category", "automargin": True},
        height=_height(len(shown), per=56),
    )


def org_trend(
    analysis: Analysis,
    by: GroupBy | None = "department",
    *,
    min_group_size: int = DEFAULT_MIN_GROUP,
    membership: Membership = "report",
    columns: int = 3,
) -> go.Figure:
    """Rolling 4-week share of 1:1 slots held: the whole organisation, and one small panel per
    shown group with the organisation as a grey line behind it (small multiples, not one
    tangle of lines). The current, partial week is left out.

    Examples
    --------
    >>> import cadence
    >>> fig = cadence.report.org_trend(result, by=None)
    >>> fig.data[0].name
    'whole organisation'
    """
    total = weekly_trend_data(analysis)
    if by is None:
        fig = go.Figure(_trend_line(total, WHOLE, "#000000", 3, True))
        return _styled(
            fig,
            title=f"Share of 1:1 slots held, rolling {ROLLING_WEEKS} weeks",
            yaxis={"title": "% held", "range": [0, 105]},
            height=360,
        )
    groups = weekly_trend_data(analysis, by, min_group_size=min_group_size, membership=membership)
    names = sorted(groups["group"].unique(), key=str)
    cols = max(1, min(columns, len(names)))
    rows = max(1, math.ceil(len(names) / cols))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        shared_xaxes=True,
        shared_yaxes=True,
        subplot_titles=[str(n) for n in names] or [WHOLE],
        vertical_spacing=min(0.12, 0.5 / rows),
        horizontal_spacing=0.04,
    )
    for i, name in enumerate(names or [WHOLE]):
        r, c = i // cols + 1, i % cols + 1
        fig.add_trace(_trend_line(total, WHOLE, "#BBBBBB", 1.5, i == 0), row=r, col=c)
        part = groups[groups["group"] == name]
        if len(part):
            fig.add_trace(_trend_line(part, str(name), "#0072B2", 2.5, False), row=r, col=c)
    fig.update_yaxes(range=[0, 105])
    fig.update_annotations(font_size=12)
    return _styled(
        fig,
        title=f"Share of 1:1 slots held, rolling {ROLLING_WEEKS} weeks,<br>per {GROUPINGS[by]} "
        "(grey: whole organisation)",
        height=max(320, 200 * rows + 110),
        margin={"l": 10, "r": 10, "t": 90, "b": 40},
        showlegend=False,
        font={"family": FONT},
    )


def _trend_line(
    data: pd.DataFrame, name: str, colour: str, width: float, legend: bool
) -> go.Scatter:
    return go.Scatter(
        x=data["week"],
        y=data["held_share"] * 100,
        name=name,
        mode="lines",
        line={"color": colour, "width": width},
        showlegend=legend,
        hovertemplate=f"{ROLLING_WEEKS} weeks to %{{x|%d %b %Y}}<br>{name}: %{{y:.0f}} % held"
        "<extra></extra>",
    )


def adherence_histogram(
    analysis: Analysis, *, min_group_size: int = DEFAULT_MIN_GROUP
) -> go.Figure:
    """How adherence is spread over all pairs (withheld when the organisation is too small).

    The axis always runs to the last bar, "150 % and more", so the caption and the
    axis say the same.

    Examples
    --------
    >>> import cadence
    >>> fig = cadence.report.adherence_histogram(result)
    >>> int(fig.data[0].y.sum()) == int(result.pairs["adherence"].notna().sum())
    True
    """
    k = check_min_group_size(min_group_size)
    p = analysis.pairs
    fig = go.Figure()
    if members(p)["person"].nunique() >= k:
        # binned here: the page carries 16 counts, not one value per pair
        share = (p["adherence"].astype("float64") * 100).dropna().clip(upper=HISTOGRAM_TOP)
        edges = np.arange(0, HISTOGRAM_TOP + 11, 10)
        counts, _ = np.histogram(share, bins=edges)
        fig.add_trace(
            go.Bar(
                x=edges[:-1] + 5,
                y=counts,
                width=9.5,
                marker={"color": "#0072B2"},
                name="pairs",
                customdata=[f"{a}–{a + 10} %" for a in edges[:-2]]
                + [f"{HISTOGRAM_TOP} % and more"],
                hovertemplate="%{customdata}: %{y} pairs<extra></extra>",
            )
        )
    else:
        fig.add_annotation(text=SUPPRESSED.format(k=k), showarrow=False, xref="paper", yref="paper")
    ticks = list(range(0, HISTOGRAM_TOP, 25))
    return _styled(
        fig,
        title="Adherence across all pairs",
        xaxis={
            "title": f"% of expected 1:1s held (the last bar: {HISTOGRAM_TOP} % and more)",
            "range": [0, HISTOGRAM_TOP + 10],
            "tickvals": [*ticks, HISTOGRAM_TOP + 5],
            "ticktext": [f"{t}" for t in ticks] + [f"{HISTOGRAM_TOP}+"],
        },
        yaxis={"title": "pairs"},
        height=320,
        bargap=0.05,
    )


# -- the tables of the review, computed once for the page and the exports ---------------------

TABLES: dict[str, GroupBy] = {
    "departments": "department",
    "levels": "manager_level",
    "managers": "manager",
}


def review_tables(
    analysis: Analysis,
    settings: ReviewSettings | None = None,
    *,
    previous: Snapshot | None = None,
    pseudonym_key: str | None = None,
) -> dict[str, pd.DataFrame]:
    """The review's tables by name (``departments``, ``levels`` with a roster, ``managers``):
    :func:`group_summary` rows with their change since ``previous`` (``Δ…`` columns in
    shares, ``newly_flagged`` and ``recovered`` pair counts). With ``pseudonym_key`` managers
    are keyed pseudonyms (computed on the real emails, so they match the previous review's).

    Examples
    --------
    >>> import cadence
    >>> tables = cadence.report.review_tables(result)
    >>> sorted(tables)
    ['departments', 'levels', 'managers']
    """
    s = settings or ReviewSettings()
    change = since(analysis, previous) if previous is not None else None
    labels = analysis.pairs["pair"].astype(str)
    out = {}
    for name, by in TABLES.items():
        if by == "manager_level" and analysis.roster is None:
            continue
        table = group_summary(
            analysis,
            by,
            min_group_size=s.min_group_size,
            coverage_weeks=s.coverage_weeks,
            membership=s.membership,
        )
        if change is not None and len(table):
            groups = pd.Series(
                pair_groups(
                    analysis, by, min_group_size=s.min_group_size, membership=s.membership
                ).to_numpy(),
                index=labels,
            )
            deltas = group_changes(
                table,
                by,
                previous.cards if previous is not None else {},
                min_group_size=s.min_group_size,
                flagged=change.newly_flagged["pair"].astype(str).map(groups).dropna(),
                recovered=change.recovered["pair"].astype(str).map(groups).dropna(),
            )
            table = pd.concat([table, deltas], axis=1)
        if pseudonym_key and by == "manager":
            named = table["group"].str.contains("@", regex=False)
            table.loc[named, "group"] = table.loc[named, "group"].map(
                lambda e: pseudonym(e, pseudonym_key)
            )
        out[name] = table
    return out
