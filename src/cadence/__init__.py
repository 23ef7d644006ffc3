"""Cadence: are one-on-ones between managers and their people happening, at the agreed rhythm?

The public API: load calendars (the demo organisation, .ics files, the store),
a roster, analyze, and render the report (``cadence.report``).
"""

__version__ = "0.1.0"

from cadence.analysis import Analysis, AnalysisSettings, analyze
from cadence.org import load_roster
from cadence.sources.demo import DemoOrg
from cadence.sources.demo import generate as load_demo
from cadence.sources.ics import load_ics
from cadence.store import Store

__all__ = [
    "Analysis",
    "AnalysisSettings",
    "DemoOrg",
    "Store",
    "__version__",
    "analyze",
    "load_demo",
    "load_ics",
    "load_roster",
]
