"""Report figures: each a function of an :class:`~cadence.analysis.Analysis` returning a Figure.

Calculation and drawing are apart: ``*_data`` functions return the DataFrame a
figure draws, so notebooks can use either. Colours are the Okabe–Ito palette
(safe for colour-blind readers), and outcomes also differ by marker shape.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from cadence.analysis import Analysis

# Okabe & Ito (2008): distinguishable with every common colour-vision deficiency.
OUTCOME_COLOURS = {
    "held": "#009E73",
    "cancelled": "#D55E00",
    "declined": "#E69F00",
    "scheduled": "#56B4E9",
}
OUTCOME_SYMBOLS = {
    "held": "circle",
    "cancelled": "x",
    "declined": "triangle-down",
    "scheduled": "circle-open",
}
FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"


def short_pair(pairs: pd.DataFrame) -> pd.Series:
    """The analysis's ``pair`` label without email domains, for charts and tables."""
    return pairs["pair"].astype(str).str.replace(r"@[^\s]+", "", regex=True)


def outcomes_by_pair_data(analysis: Analysis, limit: int = 40) -> pd.DataFrame:
    """The ``limit`` pairs that most need attention (lapsed, at risk… lowest score first)."""
    pairs = analysis.pairs.head(limit).copy()
    pairs["pair"] = short_pair(pairs)
    return pairs


def outcomes_by_pair(analysis: Analysis, limit: int = 40) -> go.Figure:
    """Stacked bars of held / cancelled / declined / scheduled 1:1s per pair, weakest first."""
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


def weekly_outcomes_data(analysis: Analysis) -> pd.DataFrame:
    """Occurrences per ISO week (Monday start) and outcome, across all pairs."""
    occ = analysis.occurrences
    week = (
        occ["start"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("W-SUN").dt.start_time
    )
    counts = (
        occ.assign(week=week)
        .groupby(["week", "outcome"], observed=False)
        .size()
        .unstack("outcome", fill_value=0)
    )
    return counts.reset_index()


def weekly_outcomes(analysis: Analysis) -> go.Figure:
    """How many 1:1s were held, cancelled, declined (or are scheduled) each week."""
    data = weekly_outcomes_data(analysis)
    fig = go.Figure()
    for outcome, colour in OUTCOME_COLOURS.items():
        if outcome not in data.columns:
            continue
        fig.add_trace(
            go.Scatter(
                x=data["week"],
                y=data[outcome],
                name=outcome,
                mode="lines+markers",
                line={"color": colour},
                marker={"symbol": OUTCOME_SYMBOLS[outcome], "size": 8},
                hovertemplate="week of %{x|%d %b %Y}<br>" + outcome + ": %{y}<extra></extra>",
            )
        )
    fig.add_vline(x=analysis.as_of.tz_localize(None), line={"dash": "dot", "color": "#555"})
    return _styled(
        fig,
        title="1:1s per week",
        xaxis={"title": None},
        yaxis={"title": "occurrences", "rangemode": "tozero"},
        height=360,
    )


def _styled(fig: go.Figure, **layout: object) -> go.Figure:
    """The house style every report figure shares, plus the figure's own layout."""
    fig.update_layout(
        legend={"orientation": "h", "yanchor": "top", "y": -0.12},
        margin={"l": 10, "r": 10, "t": 50, "b": 40},
        font={"family": FONT},
        template="plotly_white",
    )
    fig.update_layout(**layout)
    return fig
