"""The health report: Plotly figures (each usable alone) and the self-contained HTML file."""

from cadence.report.figures import outcomes_by_pair, weekly_outcomes
from cadence.report.html import SourceInfo, render, write_report

__all__ = ["SourceInfo", "outcomes_by_pair", "render", "weekly_outcomes", "write_report"]
