"""Cadence: are one-on-ones between managers and their people happening, at the agreed rhythm?

The public API grows with each capability; for now: generate the demo
organisation, open the store, analyze, and render the report.
"""

__version__ = "0.1.0"

from cadence.analysis import Analysis, analyze
from cadence.sources.demo import DemoOrg
from cadence.sources.demo import generate as load_demo
from cadence.store import Store

__all__ = [
    "Analysis",
    "AnalysisSettings",
    "DemoOrg",
    "Store",
    "__version__",
    "analyze",
    "load_demo",
    "load_roster",
]
