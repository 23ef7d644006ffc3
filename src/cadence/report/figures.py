"""Report figures: each a function of an :class:`~cadence.analysis.Analysis` returning a Figure.

Calculation and drawing are apart: ``*_data`` functions return the DataFrame a
figure draws, so notebooks can use either. Colours are the Okabe–Ito palette
(safe for colour-blind readers), and outcomes also differ by marker shape.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from cadence.analysis import Analysis, display
from cadence.analysis.rhythm import local_hour

# Okabe & Ito (2008): distinguishable with every common colour-vision deficiency.
OUTCOME_COLOURS = {
    "held": "#009E73",
    "cancelled": "#D55E00",
    "declined": "#E69F00",
    "scheduled": "#56B4E9",
    "excused": "#CC79A7",  # cancelled or declined while someone was away: not a miss
}
OUTCOME_SYMBOLS = {
    "held": "circle",
    "cancelled": "x",
    "declined": "triangle-down",
    "scheduled": "circle-open",
    "excused": "square-open",
}
STATUS_COLOURS = {
    "healthy": "#009E73",
    "watch": "#E69F00",
    "at_risk": "#D55E00",
    "lapsed": "#000000",
    "on_leave": "#0072B2",
}
AHEAD = pd.Timedelta(weeks=4)  # how far past ``as_of`` the time charts look
FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"


def people_names(analysis: Analysis) -> dict[str, str]:
    """email → the roster's ``name`` (people without one, or no roster: not listed)."""
    roster = analysis.roster
    if roster is None or "name" not in roster.columns:
        return {}
    named = roster[roster["name"].notna()]
    return {
        str(e): str(n).strip()
        for e, n in zip(named["email"], named["name"], strict=True)
        if str(n).strip()
    }


def person_name(email: str, names: Mapping[str, str]) -> str:
    """The roster name of ``email``, else its local part (``ann@x.com`` → ``ann``)."""
    return names.get(email) or email.split("@")[0]


def short_pair(pairs: pd.DataFrame, names: Mapping[str, str] | None = None) -> pd.Series:
    """The analysis's ``pair`` label with roster names (``names``, see :func:`people_names`),
    else without email domains, for charts and tables. Two pairs whose names would read
    the same keep their email local parts, so no chart row stands for two pairs.

    >>> pairs = pd.DataFrame({"pair": ["ann@x.com → bob@x.com", "ann@x.com → cy@x.com"]})
    >>> short_pair(pairs, {"ann@x.com": "Ann Ash", "bob@x.com": "Bob Birch"}).tolist()
    ['Ann Ash → Bob Birch', 'Ann Ash → cy']
    """
    plain = pairs["pair"].astype(str).str.replace(r"@[^\s]+", "", regex=True)
    if not names:
        return plain

    def label(text: str) -> str:
        for arrow in (" → ", " ↔ "):
            if arrow in text:
                a, b = text.split(arrow, 1)
                return f"{person_name(a, names)}{arrow}{person_name(b, names)}"
        return text

    named = pairs["pair"].astype(str).map(label)
    return named.where(~named.duplicated(keep=False), plain)


def outcomes_by_pair_data(analysis: Analysis, limit: int = 40) -> pd.DataFrame:
    """The ``limit`` pairs that most need attention (lapsed, at risk… lowest score first)."""
    pairs = analysis.pairs.head(limit).copy()
    pairs["pair"] = short_pair(pairs, people_names(analysis))
    return pairs


def outcomes_by_pair(analysis: Analysis, limit: int = 40) -> go.Figure:
    """Stacked bars of held / cancelled / declined / scheduled 1:1s per pair, weakest first.

    Examples
    --------
    >>> import cadence
    >>> fig = cadence.report.outcomes_by_pair(result, limit=10)
    >>> len(fig.data[0].y)
    10
    """
    data = outcomes_by_pair_data(analysis, limit)
    fig = go.Figure()
    data = data.assign(scheduled=data["upcoming"])
    for outcome, colour in OUTCOME_COLOURS.items():
        fig.add_trace(
            go.Bar(
                y=data["pair"],
                x=data[outcome],
                name=outcome,
                orientation="h",
                marker={"color": colour},
                hovertemplate="%{y}<br>" + outcome + ": %{x}<extra></extra>",
            )
        )
    return _styled(
        fig,
        barmode="stack",
        title=f"1:1 outcomes per pair ({len(data)} that most need attention first)",
        yaxis={"autorange": "reversed", "title": None},
        xaxis={"title": "occurrences in the window"},
        height=max(320, 22 * len(data) + 140),
    )


PAST_OUTCOMES = ("held", "cancelled", "declined", "excused")


def weekly_outcomes_data(analysis: Analysis) -> pd.DataFrame:
    """Occurrences per ISO week (Monday start, UTC) and outcome, across all pairs.

    Only whole weeks: a first week the window cuts, and the current week (partly past,
    partly to come), would look like a slump. Past outcomes (held, cancelled, declined)
    are counted for the weeks that ended by ``as_of``; ``scheduled`` for the weeks that
    start after it. The current week is left out (``current_week`` in ``attrs``).

    Examples
    --------
    >>> import cadence
    >>> data = cadence.report.figures.weekly_outcomes_data(result)
    >>> current = data.attrs["current_week"]
    >>> bool((data["week"] != current).all())
    True
    """
    occ = analysis.occurrences
    occ = occ[occ["start"] < analysis.as_of + AHEAD]
    week = (
        occ["start"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("W-SUN").dt.start_time
    )
    now = analysis.as_of.tz_convert("UTC").tz_localize(None)
    current = now.to_period("W-SUN").start_time
    first = analysis.window[0].tz_convert("UTC").tz_localize(None)
    whole = ((week >= first) & (week != current)).to_numpy()
    occ, week = occ[whole], week[whole]
    counts = (
        occ.assign(week=week)
        .groupby(["week", "outcome"], observed=False)
        .size()
        .unstack("outcome", fill_value=0)
    )
    out = pd.DataFrame(counts.reset_index())
    past = out["week"] < current
    for outcome in PAST_OUTCOMES:
        if outcome in out.columns:
            out[outcome] = out[outcome].where(past)
    if "scheduled" in out.columns:
        out["scheduled"] = out["scheduled"].where(~past)
    out.attrs["current_week"] = current
    return out


def weekly_outcomes(analysis: Analysis) -> go.Figure:
    """How many 1:1s were held, cancelled, declined (or are scheduled) each whole week.

    The current week, partly past, is shaded and not drawn (it would look like a collapse).

    Examples
    --------
    >>> import cadence
    >>> fig = cadence.report.weekly_outcomes(result)
    >>> [trace.name for trace in fig.data]
    ['held', 'cancelled', 'declined', 'scheduled']
    """
    data = weekly_outcomes_data(analysis)
    current = data.attrs["current_week"]
    fig = go.Figure()
    for outcome, colour in OUTCOME_COLOURS.items():
        if outcome not in data.columns or (outcome == "excused" and not data[outcome].any()):
            continue  # "excused" only where someone was away: without absences nothing changes
        fig.add_trace(
            go.Scatter(
                x=data["week"],
                y=data[outcome],
                name=outcome,
                mode="lines+markers",
                line={"color": colour},
                marker={"symbol": OUTCOME_SYMBOLS[outcome], "size": 8},
                connectgaps=False,
                hovertemplate="week of %{x|%d %b %Y}<br>" + outcome + ": %{y}<extra></extra>",
            )
        )
    fig.add_vrect(
        x0=current,
        x1=current + pd.Timedelta(days=7),
        fillcolor="#999999",
        opacity=0.12,
        line_width=0,
        annotation_text="this week (partial, not drawn)",
        annotation_position="top left",
    )
    fig.add_vline(x=analysis.as_of.tz_localize(None), line={"dash": "dot", "color": "#555"})
    return _styled(
        fig,
        title="1:1s per week (whole weeks)",
        xaxis={"title": None},
        yaxis={"title": "occurrences", "rangemode": "tozero"},
        height=360,
    )


TIMELINE_KINDS = {
    # kind: (colour, symbol, legend label)
    "held": ("#009E73", "circle", "held"),
    "moved": ("#009E73", "diamond-wide-open", "held, moved"),
    "replaced": ("#0072B2", "square", "missed, replaced by an ad-hoc 1:1"),
    "declined": ("#E69F00", "triangle-down", "declined"),
    "cancelled": ("#D55E00", "x", "cancelled"),
    "late-cancelled": ("#D55E00", "x-thin-open", "cancelled late"),
    "scheduled": ("#56B4E9", "circle-open", "scheduled"),
    "excused": ("#CC79A7", "square-open", "excused (someone away)"),
}
# The timeline's legend as text marks (the report shows it above the chart, where it wraps
# on a phone): kind → the mark that looks like the chart's marker.
TIMELINE_MARKS = {
    "held": "●",
    "moved": "◇",
    "replaced": "■",
    "declined": "▼",
    "cancelled": "✕",
    "late-cancelled": "╳",
    "scheduled": "○",
    "excused": "□",
}


def timeline_legend() -> list[dict[str, str]]:
    """The timeline's legend: mark, colour and label of every kind, and the move arrow."""
    items = [
        {"mark": TIMELINE_MARKS.get(kind, "●"), "colour": colour, "label": label}
        for kind, (colour, _, label) in TIMELINE_KINDS.items()
    ]
    return [*items, {"mark": "→", "colour": "#8c8c8c", "label": "moved from (arrow)"}]


# A week's state in the heatmap, by name; the order is the colour scale's (and "worst wins"
# is not it: a week with a held 1:1 is held, even if another slot that week was missed).
NO_MEETING, MISSED, SCHEDULED_WEEK, HELD_WEEK = range(4)
HEAT_STATES = {
    # state code: (label, colour, text mark) — marks repeat the colour for readers who cannot
    NO_MEETING: ("no 1:1 on the calendar", "#f2f2f2", ""),
    MISSED: ("missed (cancelled or declined)", "#D55E00", "✗"),
    SCHEDULED_WEEK: ("scheduled", "#56B4E9", "·"),
    HELD_WEEK: ("held", "#009E73", "✓"),
}


def timeline_kind(occ: pd.DataFrame) -> pd.Series:
    """Each occurrence's timeline category: held, moved, replaced, declined, cancelled…"""
    outcome = occ["outcome"].astype(str)
    kind = np.select(
        [
            occ["replaced"].to_numpy(dtype=bool),
            # known to be late only: unknown timing (NA) stays a plain cancellation
            ((outcome == "cancelled") & occ["late_cancel"].fillna(False)).to_numpy(dtype=bool),
            (outcome == "held").to_numpy() & occ["moved"].to_numpy(dtype=bool),
        ],
        ["replaced", "late-cancelled", "moved"],
        default=outcome.to_numpy(dtype=object),
    )
    return pd.Series(
        pd.Categorical(kind, categories=list(TIMELINE_KINDS)), index=occ.index, name="kind"
    )


def pair_timeline_data(analysis: Analysis, limit: int = 30) -> pd.DataFrame:
    """Occurrences of the ``limit`` pairs that most need attention, with their timeline kind."""
    names = analysis.pairs["pair"].head(limit)
    occ = analysis.occurrences[analysis.occurrences["pair"].astype(str).isin(set(names))].copy()
    occ["kind"] = timeline_kind(occ)
    label = dict(
        zip(names, short_pair(analysis.pairs.head(limit), people_names(analysis)), strict=True)
    )
    occ["label"] = occ["pair"].astype(str).map(label)
    order = {name: i for i, name in enumerate(names)}
    occ["rank"] = occ["pair"].astype(str).map(order)
    return occ.sort_values(["rank", "start"], ignore_index=True)


def pair_timeline(analysis: Analysis, limit: int = 30) -> go.Figure:
    """Every occurrence of each pair on a time axis: marker by outcome, arrows for moves.

    One row per pair (the ``limit`` that most need attention, first at the top).
    A moved occurrence has a grey arrow from its original slot to where it went.

    Examples
    --------
    >>> import cadence
    >>> fig = cadence.report.pair_timeline(result, limit=5)
    >>> sorted({y for trace in fig.data for y in trace.y if y})[:1]
    ['...']
    """
    data = pair_timeline_data(analysis, limit)
    right = _right_edge(analysis)
    # what lies past the axis's end is not drawn (an off-axis marker still widens the page)
    data = data[(data["start"] <= right) & (data["original_start"].fillna(data["start"]) <= right)]
    labels = short_pair(analysis.pairs.head(limit), people_names(analysis)).tolist()
    fig = go.Figure()
    moved = data[data["moved"]]
    if len(moved):
        xs: list[object] = []
        ys: list[object] = []
        sizes: list[float] = []
        for orig, new, y in zip(
            moved["original_start"], moved["start"], moved["label"], strict=True
        ):
            xs += [orig, new, None]
            ys += [y, y, None]
            sizes += [0, 9, 0]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines+markers",
                name="moved from (arrow)",
                line={"color": "#8c8c8c", "width": 1},
                marker={"symbol": "arrow", "angleref": "previous", "size": sizes},
                hoverinfo="skip",
            )
        )
    for kind, (colour, symbol, label) in TIMELINE_KINDS.items():
        part = data[data["kind"] == kind]
        if part.empty:
            continue
        detail = _occurrence_detail(part)
        fig.add_trace(
            go.Scatter(
                x=part["start"],
                y=part["label"],
                mode="markers",
                name=label,
                marker={
                    "symbol": symbol,
                    "color": colour,
                    "size": 10,
                    "line": {"width": 1.5, "color": colour},
                },
                customdata=detail,
                hovertemplate="%{y}<br>%{x|%a %d %b %Y %H:%M} UTC<br>"
                + label
                + "%{customdata}<extra></extra>",
            )
        )
    seen = set(data["label"])
    empty = [label for label in labels if label not in seen]
    if empty:  # a pair with nothing in the window still gets its row, saying so
        fig.add_trace(
            go.Scatter(
                x=[analysis.window[0]] * len(empty),
                y=empty,
                mode="text",
                text=["no 1:1 in the window"] * len(empty),
                textposition="middle right",
                textfont={"color": "#5f6368", "size": 11},
                showlegend=False,
                hoverinfo="skip",
            )
        )
    fig.add_vline(
        x=analysis.as_of,
        line={"dash": "dot", "color": "#555"},
        annotation={"text": "today", "font": {"color": "#555", "size": 11}},
        annotation_position="bottom right",
    )
    return _styled(
        fig,
        title=_top_title("Every 1:1, pair by pair<br>(those that most need attention at the top)"),
        showlegend=False,  # the report draws its legend above the chart, in HTML (it wraps)
        margin={"l": 10, "r": 10, "t": 60, "b": 30},
        yaxis={
            "title": None,
            "categoryorder": "array",
            "categoryarray": labels[::-1],
            "type": "category",
        },
        xaxis={"title": None, "range": [analysis.window[0], right]},
        height=max(320, 26 * len(labels) + 160),
    )


def _occurrence_detail(part: pd.DataFrame) -> list[str]:
    """Hover text after the outcome: moved by, declined / cancelled by, late or not, replaced.

    What the calendars cannot show is said so: who cancelled (no organizer on record) and
    whether a cancellation was late (no evidence of when it happened).
    """
    out = []
    for moved, by, outcome, declined, cancelled, late, source, replaced in zip(
        part["moved"],
        part["moved_by"],
        part["outcome"].astype(str),
        part["declined_by"].astype(object),
        part["cancelled_by"].astype(object),
        part["late_cancel"].astype(object),
        part["source"].astype(object),
        part["replaced"],
        strict=True,
    ):
        text = ""
        if moved and not pd.isna(by):
            days = by / pd.Timedelta(days=1)
            text += f"<br>moved {_span(abs(days))} {'later' if days > 0 else 'earlier'}"
        if not pd.isna(declined):
            text += f"<br>declined by {declined}"
        if outcome == "cancelled":
            who = "who cancelled: not known" if pd.isna(cancelled) else f"cancelled by {cancelled}"
            text += "<br>" + who
            if pd.isna(late):
                name = display.SOURCE_NAMES.get(str(source), str(source))
                text += f"<br>late or not: not known from {name} data"
        if replaced:
            text += "<br>an ad-hoc 1:1 took its place"
        out.append(text)
    return out


def _span(days: float) -> str:
    return f"{days * 24:.0f} h" if days < 1 else f"{days:.0f} d"


def _right_edge(analysis: Analysis) -> pd.Timestamp:
    ahead = analysis.occurrences["start"].max()
    week = analysis.as_of + pd.Timedelta(days=7)
    if pd.isna(ahead):
        return week
    return pd.Timestamp(max(week, min(ahead, analysis.as_of + AHEAD))) + pd.Timedelta(days=2)


def attendance_heatmap_data(analysis: Analysis, limit: int = 40) -> pd.DataFrame:
    """Pair × ISO week state (see ``HEAT_STATES``) for the ``limit`` weakest pairs."""
    names = analysis.pairs["pair"].head(limit).tolist()
    lo = analysis.window[0].tz_convert("UTC").tz_localize(None).to_period("W-SUN").start_time
    last = analysis.weekly["week"].max() if len(analysis.weekly) else analysis.as_of
    hi = min(max(analysis.as_of, last), analysis.as_of + AHEAD).tz_convert("UTC").tz_localize(None)
    weeks = pd.date_range(lo, hi, freq="W-MON", tz="UTC").astype("datetime64[us, UTC]")
    w = analysis.weekly[analysis.weekly["pair"].astype(str).isin(set(names))]
    state = np.select(
        [w["held"] > 0, (w["cancelled"] + w["declined"]) > 0, w["upcoming"] > 0],
        [HELD_WEEK, MISSED, SCHEDULED_WEEK],
        default=NO_MEETING,
    )
    grid = (
        pd.DataFrame({"pair": w["pair"].astype(str).to_numpy(), "week": w["week"], "state": state})
        .pivot_table(index="pair", columns="week", values="state", aggfunc="max")
        .reindex(index=names, columns=weeks)
        .fillna(0)
        .astype(int)
    )
    grid.index = short_pair(analysis.pairs.head(limit), people_names(analysis)).to_numpy()
    return grid


def attendance_heatmap(analysis: Analysis, limit: int = 40) -> go.Figure:
    """Pair × week: held (✓), missed (✗), scheduled (·) or nothing on the calendar.

    Examples
    --------
    >>> import cadence
    >>> fig = cadence.report.attendance_heatmap(result, limit=8)
    >>> fig.data[0].z.shape[0]
    8
    """
    grid = attendance_heatmap_data(analysis, limit)
    codes = sorted(HEAT_STATES)
    n = len(codes)
    scale = []
    for i, code in enumerate(codes):
        colour = HEAT_STATES[code][1]
        scale += [[i / n, colour], [(i + 1) / n, colour]]
    labels = np.vectorize(lambda c: HEAT_STATES[int(c)][0])(grid.to_numpy()) if grid.size else []
    marks = np.vectorize(lambda c: HEAT_STATES[int(c)][2])(grid.to_numpy()) if grid.size else []
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=grid.columns,
            y=grid.index,
            zmin=-0.5,
            zmax=n - 0.5,
            colorscale=scale,
            xgap=2,
            ygap=2,
            text=marks,
            texttemplate="%{text}",
            textfont={"color": "#ffffff"},
            customdata=labels,
            hovertemplate="%{y}<br>week of %{x|%d %b %Y}: %{customdata}<extra></extra>",
            colorbar={
                "tickvals": codes,
                "ticktext": [HEAT_STATES[c][0] for c in codes],
                "thickness": 12,
                "len": 0.6,
            },
        )
    )
    return _styled(
        fig,
        title=_top_title("Week by week: held or missed"),
        yaxis={"autorange": "reversed", "title": None, "type": "category"},
        xaxis={"title": None, "side": "top", "automargin": True},
        margin={"l": 10, "r": 10, "t": 110, "b": 20},  # the title above the top axis labels
        height=max(300, 22 * len(grid) + 150),
    )


def gap_vs_target_data(analysis: Analysis, limit: int = 40) -> pd.DataFrame:
    """Target, median gap, recent median gap and longest gap in days for the weakest pairs."""
    cols = ["target_days", "median_gap_days", "recent_median_gap_days", "longest_gap_days"]
    data = analysis.pairs.head(limit)[["pair", *cols]].copy()
    data["pair"] = short_pair(data, people_names(analysis))
    return data


def gap_vs_target(analysis: Analysis, limit: int = 40) -> go.Figure:
    """Per pair: the gap between held 1:1s (median, recent, longest) against the target.

    Examples
    --------
    >>> import cadence
    >>> fig = cadence.report.gap_vs_target(result, limit=12)
    >>> [trace.name for trace in fig.data]
    ['target', 'median gap', 'recent median gap', 'longest gap']
    """
    data = gap_vs_target_data(analysis, limit)
    fig = go.Figure()
    marks = (
        ("target_days", "target", "line-ns", "#000000", 16),
        ("median_gap_days", "median gap", "circle", "#0072B2", 8),
        ("recent_median_gap_days", "recent median gap", "diamond", "#CC79A7", 8),
        ("longest_gap_days", "longest gap", "square-open", "#D55E00", 8),
    )
    rows = np.arange(len(data), dtype=float)
    # the target spans the row; the three gaps sit on lanes of their own, so equal values
    # never hide one another
    lanes = {"target_days": 0.0, "median_gap_days": -0.3, "recent_median_gap_days": 0.0}
    lanes["longest_gap_days"] = 0.3
    for col, name, symbol, colour, size in marks:
        fig.add_trace(
            go.Scatter(
                x=data[col],
                y=rows + lanes[col],
                customdata=data["pair"],
                mode="markers",
                name=name,
                marker={
                    "symbol": symbol,
                    "color": colour,
                    "size": size,
                    "line": {"width": 2, "color": colour},
                },
                hovertemplate="%{customdata}<br>" + name + ": %{x:.0f} days<extra></extra>",
            )
        )
    fig.data[0].marker.size = 24  # the target: a tick almost as tall as the row
    return _styled(
        fig,
        title="Days between held 1:1s<br>against the target",
        yaxis={
            "autorange": "reversed",
            "title": None,
            "tickmode": "array",
            "tickvals": rows,
            "ticktext": data["pair"].tolist(),
            "zeroline": False,
            "showgrid": False,
        },
        xaxis={"title": "days", "rangemode": "tozero"},
        height=max(300, 32 * len(data) + 150),
    )


def drift_data(analysis: Analysis) -> pd.DataFrame:
    """Per pair: median local start hour and duration (minutes), first half vs second half.

    Only meetings that took place (not cancelled) before ``as_of`` count.
    """
    occ = analysis.occurrences
    live = occ[(occ["outcome"] != "cancelled") & (occ["start"] < analysis.as_of)]
    lo, hi = analysis.window
    mid = lo + (hi - lo) / 2
    half = np.where(live["start"] < mid, "before", "after")
    frame = pd.DataFrame(
        {
            "pair": live["pair"].astype(str).to_numpy(),
            "half": half,
            "hour": local_hour(live["start"], live["timezone"]).to_numpy(),
            "minutes": (live["duration"].dt.total_seconds() / 60).to_numpy(),
        }
    )
    med = pd.DataFrame(frame.groupby(["pair", "half"])[["hour", "minutes"]].median().unstack())
    med.columns = ["_".join(map(str, col)) for col in med.columns]
    for col in ("hour_before", "hour_after", "minutes_before", "minutes_after"):
        if col not in med.columns:
            med[col] = np.nan
    med = med.dropna(how="any")
    order = {name: i for i, name in enumerate(analysis.pairs["pair"])}
    med = med.assign(_rank=med.index.map(order)).sort_values("_rank").drop(columns="_rank")
    med.index = short_pair(pd.DataFrame({"pair": med.index}), people_names(analysis)).to_numpy()
    med.index.name = "pair"
    return med.reset_index()


def time_of_day_drift(
    analysis: Analysis, min_hours: float = 1.0, *, data: pd.DataFrame | None = None
) -> go.Figure:
    """Pairs whose usual local start time moved by ``min_hours`` or more (before → after).

    Examples
    --------
    >>> import cadence
    >>> fig = cadence.report.time_of_day_drift(result, min_hours=2)
    >>> fig.layout.title.text
    'Start time moved by 2 h or more'
    """
    data = drift_data(analysis) if data is None else data  # ``data``: drift_data, if at hand
    data = data[(data["hour_after"] - data["hour_before"]).abs() >= min_hours]
    return _dumbbell(
        data,
        "hour",
        title=f"Start time moved by {min_hours:g} h or more<br>(local time, median)",
        axis="local start hour",
        fmt="%{x:.1f} h",
        empty=f"No pair's usual start time moved by {min_hours:g} h or more.",
    )


def duration_drift(
    analysis: Analysis, min_minutes: float = 10.0, *, data: pd.DataFrame | None = None
) -> go.Figure:
    """Pairs whose usual 1:1 length changed by ``min_minutes`` or more (before → after).

    Examples
    --------
    >>> import cadence
    >>> fig = cadence.report.duration_drift(result)
    >>> fig.layout.xaxis.title.text
    'minutes'
    """
    data = drift_data(analysis) if data is None else data  # ``data``: drift_data, if at hand
    data = data[(data["minutes_after"] - data["minutes_before"]).abs() >= min_minutes]
    return _dumbbell(
        data,
        "minutes",
        title=f"Length changed by {min_minutes:g} min or more<br>(median)",
        axis="minutes",
        fmt="%{x:.0f} min",
        empty=f"No pair's usual 1:1 length changed by {min_minutes:g} min or more.",
    )


def _dumbbell(
    data: pd.DataFrame, what: str, *, title: str, axis: str, fmt: str, empty: str
) -> go.Figure:
    fig = go.Figure()
    xs: list[object] = []
    ys: list[object] = []
    for before, after, pair in zip(
        data[f"{what}_before"], data[f"{what}_after"], data["pair"], strict=True
    ):
        xs += [before, after, None]
        ys += [pair, pair, None]
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            line={"color": "#8c8c8c"},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    for half, symbol, colour in (
        ("before", "circle-open", "#0072B2"),
        ("after", "circle", "#D55E00"),
    ):
        label = "first half of the window" if half == "before" else "second half"
        fig.add_trace(
            go.Scatter(
                x=data[f"{what}_{half}"],
                y=data["pair"],
                mode="markers",
                name=label,
                marker={"symbol": symbol, "color": colour, "size": 11, "line": {"width": 2}},
                hovertemplate="%{y}<br>" + label + ": " + fmt + "<extra></extra>",
            )
        )
    if data.empty:
        fig.add_annotation(text=empty, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    return _styled(
        fig,
        title=title,
        yaxis={"autorange": "reversed", "title": None, "type": "category"},
        xaxis={"title": axis},
        height=max(260, 26 * len(data) + 150),
    )


def _top_title(text: str) -> dict[str, object]:
    """A title at the very top of the figure that makes room for itself (top axis labels
    and a legend above the plot sit below it, never under it); what follows a ``<br>``
    becomes its subtitle (a short first line fits a phone)."""
    head, _, sub = text.partition("<br>")
    return {
        "text": head,
        **({"subtitle": {"text": sub, "font": {"size": 12}}} if sub else {}),
        "y": 1,
        "yref": "container",
        "yanchor": "top",
        "pad": {"t": 8},
        "automargin": True,
    }


def _styled(fig: go.Figure, **layout: object) -> go.Figure:
    """The house style every report figure shares, plus the figure's own layout."""
    fig.update_layout(
        legend={"orientation": "h", "yanchor": "top", "y": -0.12},
        margin={"l": 10, "r": 10, "t": 50, "b": 40},
        font={"family": FONT},
        template="plotly_white",
    )
    if isinstance(layout.get("title"), str):  # every title makes room for itself
        layout["title"] = _top_title(str(layout["title"]))
    fig.update_layout(**layout)
    return fig
