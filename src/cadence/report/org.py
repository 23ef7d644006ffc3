"""The organisation view (HR): roll-ups by department, manager and manager level.

Privacy comes first. A group's size is the number of distinct people whose
1:1s it aggregates (the reports; both people for a peer pair). A group smaller
than ``min_group_size`` is never shown on its own: small groups are pooled
into one "other" row, and when that pool is itself too small, the smallest
shown groups join it until it is not — so no small group can be worked out by
subtracting the shown rows from the total either.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from cadence.analysis import Analysis, display
from cadence.errors import ConfigError
from cadence.model import STRING
from cadence.report.figures import FONT, STATUS_COLOURS, _styled

GroupBy = Literal["department", "manager", "manager_level"]
GROUPINGS: dict[str, str] = {
    "department": "department",
    "manager": "manager",
    "manager_level": "manager level",
}
STATUSES = ("healthy", "watch", "at_risk", "lapsed")
COUNTS = ("cancelled", "late_cancelled", "late_unknown", "past")
DEFAULT_MIN_GROUP = 5
OTHER = "other groups (each under {k} people)"
SUPPRESSED = "suppressed: fewer than {k} people"


def check_min_group_size(k: int) -> int:
    if int(k) < 2:
        raise ConfigError(f"min_group_size must be at least 2, got {k}")
    return int(k)


def manager_levels(roster: pd.DataFrame) -> pd.Series:
    """email → level in the roster tree (1 = reports to nobody in the roster)."""
    parent = roster.set_index("email")["manager_email"].astype(object)
    parent = parent.where(parent.isin(parent.index))
    level = pd.Series(1, index=parent.index, dtype="int64")
    current = parent.copy()
    for _ in range(len(parent)):
        has = current.notna()
        if not has.any():
            break
        level[has] += 1
        current = current[has].map(parent).reindex(parent.index)
    return level


def group_keys(analysis: Analysis, by: GroupBy) -> pd.Series:
    """The group each pair belongs to."""
    p = analysis.pairs
    if by == "department":
        return p["department"].astype(object).fillna("(no department)")
    if by == "manager":
        return p["manager"].astype(object).fillna("(peer pairs)")
    if by == "manager_level":
        if analysis.roster is None:
            raise ConfigError("grouping by manager level needs a roster")
        level = p["manager"].astype(object).map(manager_levels(analysis.roster))
        return level.map(lambda v: f"level {int(v)}" if pd.notna(v) else "(not in roster)")
    raise ConfigError(f"unknown grouping {by!r}; use one of {', '.join(GROUPINGS)}")


def _members(p: pd.DataFrame) -> pd.DataFrame:
    """(pair index, person) for every person whose 1:1s a pair stands for."""
    report = p["report"].astype(object)
    own = pd.DataFrame({"row": p.index[report.notna()], "person": report[report.notna()]})
    peers = p[report.isna()]
    both = pd.DataFrame(
        {
            "row": np.concatenate([peers.index, peers.index]),
            "person": np.concatenate(
                [peers["person_a"].astype(object), peers["person_b"].astype(object)]
            ),
        }
    )
    return pd.concat([own, both], ignore_index=True)


def _rollup(p: pd.DataFrame, key: pd.Series) -> pd.DataFrame:
    members = _members(p)
    people = members.groupby(key.loc[members["row"]].to_numpy())["person"].nunique()
    g = p.groupby(key.to_numpy(), sort=True)
    status = pd.crosstab(key.to_numpy(), p["status"].astype(str).to_numpy()).reindex(
        columns=list(STATUSES), fill_value=0
    )
    sums = g[
        ["held", "cancelled", "late_cancelled", "late_unknown", "declined", "moved", "past"]
    ].sum()
    adherence = p["adherence"].astype("float64")
    out = pd.DataFrame(
        {
            "people": people,
            "pairs": g.size(),
            **{s: status[s] for s in STATUSES},
            "held": sums["held"],
            "expected": g["expected"].sum().round(1),
            "adherence": sums["held"] / g["expected"].sum().where(lambda e: e > 0),
            "adherence_p25": adherence.groupby(key.to_numpy()).quantile(0.25),
            "adherence_median": adherence.groupby(key.to_numpy()).median(),
            "adherence_p75": adherence.groupby(key.to_numpy()).quantile(0.75),
            "cancellation_rate": sums["cancelled"] / sums["past"].where(sums["past"] > 0),
            # known late only; NaN where none is known and some are unknown (never a 0 % for
            # what the sources cannot show); a lower bound while late_unknown > 0
            "late_cancel_rate": (
                sums["late_cancelled"] / sums["past"].where(sums["past"] > 0)
            ).where((sums["late_cancelled"] > 0) | (sums["late_unknown"] == 0)),
            "cancelled": sums["cancelled"],
            "late_cancelled": sums["late_cancelled"],
            "late_unknown": sums["late_unknown"],
            "past": sums["past"],
            "decline_rate": sums["declined"] / sums["past"].where(sums["past"] > 0),
            "moved_rate": sums["moved"] / sums["past"].where(sums["past"] > 0),
        }
    )
    for s in STATUSES:
        out[f"{s}_share"] = out[s] / out["pairs"]
    out["attention_share"] = (out["lapsed"] + out["at_risk"]) / out["pairs"]
    return out


def group_summary(
    analysis: Analysis, by: GroupBy = "department", *, min_group_size: int = DEFAULT_MIN_GROUP
) -> pd.DataFrame:
    """One row per group: people, pairs, status counts and shares, adherence, rates.

    Groups under ``min_group_size`` people are pooled (see the module doc);
    ``suppressed`` marks a row whose figures are withheld. The last row is the
    whole organisation.

    Examples
    --------
    >>> import cadence
    >>> from cadence.report.org import group_summary
    >>> org = cadence.load_demo(60, seed=3, as_of="2026-06-30")
    >>> result = cadence.analyze(org, org.roster, as_of="2026-06-30")
    >>> table = group_summary(result, "department", min_group_size=5)
    >>> bool((table.loc[~table["suppressed"], "people"] >= 5).all())
    True
    >>> table["group"].iloc[-1]
    'whole organisation'
    """
    k = check_min_group_size(min_group_size)
    p = analysis.pairs
    key = group_keys(analysis, by)
    if p.empty:
        return _empty()
    members = _members(p)
    size = members.groupby(key.loc[members["row"]].to_numpy())["person"].nunique()
    small = set(size[size < k].index)
    if small:
        pooled_people = members.loc[key.loc[members["row"]].isin(small).to_numpy(), "person"]
        pooled = pooled_people.nunique()
        for name in size[size >= k].sort_values().index:
            if pooled >= k or len(small) == len(size):
                break
            small.add(name)
            pooled = members.loc[key.loc[members["row"]].isin(small).to_numpy(), "person"].nunique()
    other = OTHER.format(k=k)
    pooled_key = key.where(~key.isin(small), other)
    table = _rollup(p, pooled_key)
    table.index.name = "group"
    table = table.reset_index()
    table["group"] = table["group"].astype(str)
    table["pooled_groups"] = np.where(table["group"] == other, len(small), 1)
    total = _rollup(p, pd.Series("whole organisation", index=p.index)).reset_index(names="group")
    total["pooled_groups"] = 0
    ranked = (
        table[table["group"] != other].sort_values("group")
        if by == "manager_level"
        else table[table["group"] != other].sort_values("attention_share", ascending=False)
    )
    table = pd.concat(
        [
            ranked,
            table[table["group"] == other],
            total,
        ],
        ignore_index=True,
    )
    table["suppressed"] = table["people"] < k
    figures = [c for c in table.columns if c not in ("group", "suppressed", "pooled_groups")]
    table[figures] = table[figures].astype("float64")
    table.loc[table["suppressed"], figures] = np.nan
    table.loc[table["suppressed"] & (table["group"] != other), "group"] = SUPPRESSED.format(k=k)
    for col in ("people", "pairs", *STATUSES, "held", *COUNTS):
        table[col] = table[col].round().astype("Int64")
    # the sources that cannot show when a cancellation happened, per row (codes, as on pairs)
    groups = pd.Index(table["group"])
    codes = display.source_codes(p["late_unknown_sources"], pooled_key, pd.Index(table["group"]))
    whole = display.source_codes(
        p["late_unknown_sources"], pd.Series(0, index=p.index), pd.Index([0])
    ).iloc[0]
    table["late_unknown_sources"] = pd.array(
        np.where(groups == "whole organisation", whole, codes.to_numpy(dtype=object)),
        dtype=STRING,
    )
    table.loc[table["suppressed"], "late_unknown_sources"] = pd.NA
    return table


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        columns=["group", "people", "pairs", *STATUSES, "suppressed", "pooled_groups"]
    )


def weekly_trend_data(
    analysis: Analysis, by: GroupBy | None = None, *, min_group_size: int = DEFAULT_MIN_GROUP
) -> pd.DataFrame:
    """Share of past slots held, per ISO week (and group: only groups shown by
    :func:`group_summary`; pooled groups as one line)."""
    w = analysis.weekly
    # whole weeks only: a partial first or current week would look like a slump
    whole = (w["week"] >= analysis.window[0]) & (w["week"] + pd.Timedelta(days=7) <= analysis.as_of)
    w = w[whole]
    if by is None:
        key = pd.Series("whole organisation", index=w.index)
    else:
        k = check_min_group_size(min_group_size)
        summary = group_summary(analysis, by, min_group_size=k)
        shown = set(summary.loc[~summary["suppressed"], "group"]) - {"whole organisation"}
        pair_key = pd.Series(
            group_keys(analysis, by).to_numpy(), index=analysis.pairs["pair"].astype(str)
        )
        key = w["pair"].astype(str).map(pair_key)
        other = OTHER.format(k=k)
        key = key.where(key.isin(shown), other if other in shown else None)
        w, key = w[key.notna()], key[key.notna()]
    slots = w["held"] + w["cancelled"] + w["declined"]
    frame = pd.DataFrame(
        {"group": key.to_numpy(), "week": w["week"], "held": w["held"], "slots": slots}
    )
    out = frame.groupby(["group", "week"], as_index=False)[["held", "slots"]].sum()
    out["held_share"] = out["held"] / out["slots"].where(out["slots"] > 0)
    return out


def status_by_group(
    analysis: Analysis, by: GroupBy = "department", *, min_group_size: int = DEFAULT_MIN_GROUP
) -> go.Figure:
    """Share of pairs healthy / watch / at risk / lapsed in each group (100 % bars).

    Examples
    --------
    >>> import cadence
    >>> fig = cadence.report.status_by_group(result, "department", min_group_size=5)
    >>> [trace.name for trace in fig.data]
    ['healthy', 'watch', 'at risk', 'lapsed']
    """
    table = group_summary(analysis, by, min_group_size=min_group_size)
    shown = table[~table["suppressed"]]
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
        yaxis={"autorange": "reversed", "title": None, "type": "category"},
        height=max(300, 26 * len(shown) + 160),
    )


_PATTERN = {"healthy": "", "watch": ".", "at_risk": "/", "lapsed": "x"}


def adherence_by_group(
    analysis: Analysis, by: GroupBy = "department", *, min_group_size: int = DEFAULT_MIN_GROUP
) -> go.Figure:
    """Spread of pair adherence (held ÷ expected) per group: quartiles and median.

    Whiskers and outliers are left out on purpose: they would show single pairs.

    Examples
    --------
    >>> import cadence
    >>> fig = cadence.report.adherence_by_group(result, "manager_level")
    >>> fig.data[1].name
    'median pair'
    """
    table = group_summary(analysis, by, min_group_size=min_group_size)
    shown = table[~table["suppressed"]]
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
            ),
            hovertemplate="%{y}<br>median %{x:.0f} %, middle half %{customdata[0]:.0f}–"
            "%{customdata[1]:.0f} %<extra></extra>",
        )
    )
    fig.add_vline(x=100, line={"dash": "dot", "color": "#555"})
    return _styled(
        fig,
        title=f"Adherence (1:1s held ÷ expected) per {GROUPINGS[by]}",
        xaxis={"title": "% of expected 1:1s held", "rangemode": "tozero"},
        yaxis={"autorange": "reversed", "title": None, "type": "category"},
        height=max(300, 26 * len(shown) + 160),
    )


def cancellation_by_group(
    analysis: Analysis, by: GroupBy = "department", *, min_group_size: int = DEFAULT_MIN_GROUP
) -> go.Figure:
    """Cancellation, late-cancellation and decline rates per group.

    Examples
    --------
    >>> import cadence
    >>> fig = cadence.report.cancellation_by_group(result)
    >>> [trace.name for trace in fig.data]
    ['cancelled', 'cancelled late', 'declined']
    """
    table = group_summary(analysis, by, min_group_size=min_group_size)
    shown = table[~table["suppressed"]]
    fig = go.Figure()
    for col, name, colour, pattern in (
        ("cancellation_rate", "cancelled", "#D55E00", ""),
        ("late_cancel_rate", "cancelled late", "#CC79A7", "/"),
        ("decline_rate", "declined", "#E69F00", "."),
    ):
        fig.add_trace(
            go.Bar(
                y=shown["group"],
                x=shown[col] * 100,
                name=name,
                orientation="h",
                marker={"color": colour, "pattern": {"shape": pattern}},
                hovertemplate="%{y}<br>" + name + ": %{x:.1f} % of past 1:1s<extra></extra>",
            )
        )
    return _styled(
        fig,
        barmode="group",
        title=f"Cancellations and declines per {GROUPINGS[by]}",
        xaxis={"title": "% of past 1:1s", "rangemode": "tozero"},
        yaxis={"autorange": "reversed", "title": None, "type": "category"},
        height=max(300, 40 * len(shown) + 160),
    )


def org_trend(
    analysis: Analysis, by: GroupBy | None = "department", *, min_group_size: int = 5
) -> go.Figure:
    """Share of each week's 1:1 slots that were held, organisation-wide and per group.

    Examples
    --------
    >>> import cadence
    >>> fig = cadence.report.org_trend(result, by=None)
    >>> fig.data[0].name
    'whole organisation'
    """
    fig = go.Figure()
    total = weekly_trend_data(analysis)
    fig.add_trace(
        go.Scatter(
            x=total["week"],
            y=total["held_share"] * 100,
            name="whole organisation",
            mode="lines+markers",
            line={"color": "#000000", "width": 3},
            hovertemplate="week of %{x|%d %b %Y}<br>whole organisation: %{y:.0f} % held"
            "<extra></extra>",
        )
    )
    if by is not None:
        groups = weekly_trend_data(analysis, by, min_group_size=min_group_size)
        for i, (name, part) in enumerate(groups.groupby("group", sort=True)):
            fig.add_trace(
                go.Scatter(
                    x=part["week"],
                    y=part["held_share"] * 100,
                    name=str(name),
                    mode="lines",
                    line={"width": 1.5, "dash": _DASHES[i % len(_DASHES)]},
                    visible="legendonly" if i >= 6 else True,
                    hovertemplate="week of %{x|%d %b %Y}<br>"
                    + str(name)
                    + ": %{y:.0f} % held<extra></extra>",
                )
            )
    return _styled(
        fig,
        title="Share of scheduled 1:1 slots held, week by week",
        yaxis={"title": "% held", "range": [0, 105]},
        xaxis={"title": None},
        height=420,
        font={"family": FONT},
    )


_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


def adherence_histogram(analysis: Analysis, *, min_group_size: int = 5) -> go.Figure:
    """How adherence is spread over all pairs (withheld when the organisation is too small).

    Examples
    --------
    >>> import cadence
    >>> fig = cadence.report.adherence_histogram(result)
    >>> int(fig.data[0].x.size) == len(result.pairs)
    True
    """
    k = check_min_group_size(min_group_size)
    p = analysis.pairs
    fig = go.Figure()
    if _members(p)["person"].nunique() >= k:
        fig.add_trace(
            go.Histogram(
                x=(p["adherence"].astype("float64") * 100).clip(upper=150),
                xbins={"start": 0, "end": 150, "size": 10},
                marker={"color": "#0072B2"},
                name="pairs",
                hovertemplate="%{x} %: %{y} pairs<extra></extra>",
            )
        )
    else:
        fig.add_annotation(text=SUPPRESSED.format(k=k), showarrow=False, xref="paper", yref="paper")
    return _styled(
        fig,
        title="Adherence across all pairs",
        xaxis={"title": "% of expected 1:1s held (150 % and more in the last bar)"},
        yaxis={"title": "pairs"},
        height=320,
        bargap=0.05,
    )
