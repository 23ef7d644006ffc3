"""Analysis: from normalized calendar rows to the truth about each pair's 1:1s.

This package only re-exports; a newcomer reads the modules in pipeline order:

- :mod:`.pairs` — which event copies are 1:1s, between whom (integer-coded);
- :mod:`.outcomes` — the copies of one occurrence merged, its outcome and flags;
- :mod:`.absence` — who was away when (out of office, public holidays): excused slots;
- :mod:`.rhythm` — targets, replacements, gaps, adherence and drift;
- :mod:`.health` — the 0–100 score, the status and the reasons;
- :mod:`.engine` — :func:`analyze`, which runs them in order, and :class:`Analysis`;
- :mod:`.summary` — the report's figures, computed once for every place that shows them;
- :mod:`.review` — the organisation review's figures: groups, coverage, cadence buckets, change;
- :mod:`.display` — how every figure and every unknown is written;
- :mod:`.settings` — every threshold and weight, with its default.
"""

from cadence.analysis.engine import Analysis, analyze
from cadence.analysis.settings import AnalysisSettings, Weights
from cadence.analysis.summary import Summary, summary
from cadence.analysis.window import parse_window

__all__ = [
    "Analysis",
    "AnalysisSettings",
    "Summary",
    "Weights",
    "analyze",
    "parse_window",
    "summary",
]
