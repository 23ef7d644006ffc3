"""Cadence: are one-on-ones between managers and their people happening, at the agreed rhythm?

The public API, in the order a notebook uses it:

- load calendars: :func:`load_demo` (no credentials), :func:`load_ics`
  (exported files), :func:`load_store` (what ``cadence pull`` stored), and
  :class:`Store` to pull into a store yourself;
- :func:`load_roster` (who manages whom);
- :func:`analyze` → :class:`Analysis` (``occurrences``, ``pairs``, ``weekly``
  DataFrames), tuned by :class:`AnalysisSettings`; :func:`summary` of it →
  :class:`Summary`, the figures every report, CLI line and email shows;
- :mod:`cadence.report`: every figure as a function of an analysis, and the
  HTML reports (:func:`write_report`);
- :func:`run_week`: the weekly job (``cadence run``) from Python.

Examples
--------
>>> import cadence
>>> org = cadence.load_demo(40, seed=1, as_of="2026-06-30")
>>> result = cadence.analyze(org, org.roster, as_of="2026-06-30")
>>> result.pairs["status"].value_counts().index.tolist()  # doctest: +ELLIPSIS
['healthy', ...]
>>> fig = cadence.report.pair_timeline(result)
"""

from cadence import report
from cadence._version import __version__
from cadence.analysis import Analysis, AnalysisSettings, Summary, analyze, summary
from cadence.job import load_store, run_week
from cadence.org import load_roster
from cadence.report import write_report
from cadence.sources.demo import DemoOrg
from cadence.sources.demo import generate as load_demo
from cadence.sources.ics import load_ics
from cadence.store import Store

__all__ = [
    "Analysis",
    "AnalysisSettings",
    "DemoOrg",
    "Store",
    "Summary",
    "__version__",
    "analyze",
    "load_demo",
    "load_ics",
    "load_roster",
    "load_store",
    "report",
    "run_week",
    "summary",
    "write_report",
]
