"""Render an analysis as one self-contained HTML file (plotly.js embedded once, works offline)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2
import pandas as pd
import plotly.graph_objects as go
import plotly.offline

from cadence import __version__
from cadence.analysis import Analysis
from cadence.report import figures
from cadence.report.figures import short_pair

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("cadence.report", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


TABLE_COLUMNS = [
    "pair",
    "status",
    "status_text",
    "score_text",
    "held",
    "expected",
    "cancelled",
    "declined",
    "moved",
    "adherence_pct",
    "target_text",
    "last_held_text",
    "why",
]


@dataclass(frozen=True)
class SourceInfo:
    """A data source as the report header states it."""

    name: str
    last_success: pd.Timestamp | None
    error: str | None = None


def render(
    analysis: Analysis,
    *,
    title: str = "1:1 health report",
    sources: list[SourceInfo] | None = None,
) -> str:
    """The report as an HTML string."""
    figs: list[tuple[str, go.Figure]] = [
        ("weekly", figures.weekly_outcomes(analysis)),
        ("pairs", figures.outcomes_by_pair(analysis)),
    ]
    config = {"displaylogo": False, "responsive": True}
    charts = [
        (
            name,
            fig.to_html(
                full_html=False, include_plotlyjs=False, div_id=f"fig-{name}", config=config
            ),
        )
        for name, fig in figs
    ]
    pairs = analysis.pairs.copy()
    pairs["pair"] = short_pair(pairs)
    pairs["adherence_pct"] = (pairs["adherence"] * 100).round().astype("Int64").astype(str) + " %"
    pairs.loc[pairs["adherence"].isna(), "adherence_pct"] = "–"
    pairs["last_held_text"] = pairs["last_held"].dt.strftime("%d %b %Y").fillna("never")
    pairs["score_text"] = pairs["health_score"].round().astype("Int64").astype(str)
    pairs["status_text"] = pairs["status"].astype(str).str.replace("_", " ")
    pairs["why"] = pairs["reasons"].map(lambda r: "; ".join(r[:3]) if len(r) else "on track")
    pairs["target_text"] = pairs["target_days"].round().astype("Int64").astype(str) + " d"
    occ = analysis.occurrences
    past = occ[occ["outcome"] != "scheduled"]
    totals = {
        "pairs": len(pairs),
        "held": int((past["outcome"] == "held").sum()),
        "cancelled": int((past["outcome"] == "cancelled").sum()),
        "declined": int((past["outcome"] == "declined").sum()),
        "moved": int(past["moved"].sum()),
        "past": len(past),
        "scheduled": int((occ["outcome"] == "scheduled").sum()),
    }
    return _ENV.get_template("report.html.j2").render(
        title=title,
        version=__version__,
        as_of=analysis.as_of,
        window=analysis.window,
        totals=totals,
        pairs=pairs[TABLE_COLUMNS].to_dict("records"),
        status_counts=pairs["status"]
        .value_counts()
        .reindex(["lapsed", "at_risk", "watch", "healthy"], fill_value=0)
        .to_dict(),
        charts=charts,
        sources=sources or [],
        plotly_js=plotly.offline.get_plotlyjs(),
    )


def write_report(
    analysis: Analysis,
    path: str | Path,
    *,
    title: str = "1:1 health report",
    sources: list[SourceInfo] | None = None,
) -> Path:
    """Write the report to ``path`` (folders created); return the absolute path."""
    out = Path(path).expanduser().resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(analysis, title=title, sources=sources), encoding="utf-8")
    return out
