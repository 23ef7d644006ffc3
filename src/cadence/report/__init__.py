"""The health report: Plotly figures (each usable alone) and the self-contained HTML files.

Every figure is ``cadence.report.<figure>(analysis)`` and returns a
:class:`plotly.graph_objects.Figure`; ``<figure>_data`` functions in
:mod:`cadence.report.figures` return the frame a figure draws.
"""

from cadence.analysis.summary import cards
from cadence.model import SourceHealth
from cadence.report.export import export_tables, write_exports
from cadence.report.figures import (
    attendance_heatmap,
    duration_drift,
    gap_vs_target,
    outcomes_by_pair,
    pair_timeline,
    time_of_day_drift,
    weekly_outcomes,
)
from cadence.report.history import since
from cadence.report.html import render, render_org, write_report
from cadence.report.org import (
    adherence_by_group,
    adherence_histogram,
    buckets_by_group,
    cancellation_by_group,
    coverage_by_group,
    group_summary,
    org_trend,
    review_tables,
    status_by_group,
)
from cadence.report.privacy import pseudonymize

__all__ = [
    "SourceHealth",
    "adherence_by_group",
    "adherence_histogram",
    "attendance_heatmap",
    "buckets_by_group",
    "cancellation_by_group",
    "cards",
    "coverage_by_group",
    "duration_drift",
    "export_tables",
    "gap_vs_target",
    "group_summary",
    "org_trend",
    "outcomes_by_pair",
    "pair_timeline",
    "pseudonymize",
    "render",
    "render_org",
    "review_tables",
    "since",
    "status_by_group",
    "time_of_day_drift",
    "weekly_outcomes",
    "write_exports",
    "write_report",
]
