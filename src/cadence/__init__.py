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

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cadence._version import __version__

if TYPE_CHECKING:  # for mypy and IDEs; at run time each name is imported on first use
    from cadence import report
    from cadence.analysis import Analysis, AnalysisSettings, Summary, analyze, summary
    from cadence.job import load_store, run_week
    from cadence.org import load_roster
    from cadence.report import write_report
    from cadence.sources.demo import DemoOrg
    from cadence.sources.demo import generate as load_demo
    from cadence.sources.ics import load_ics
    from cadence.store import Store

# name -> (module, attribute; None: the module itself). Importing ``cadence`` stays
# cheap (the CLI's ``--version`` and ``--help`` need none of pandas, plotly or the
# provider clients); PEP 562's module ``__getattr__`` imports a name when it is used.
_LAZY: dict[str, tuple[str, str | None]] = {
    "Analysis": ("cadence.analysis", "Analysis"),
    "AnalysisSettings": ("cadence.analysis", "AnalysisSettings"),
    "DemoOrg": ("cadence.sources.demo", "DemoOrg"),
    "Store": ("cadence.store", "Store"),
    "Summary": ("cadence.analysis", "Summary"),
    "analyze": ("cadence.analysis", "analyze"),
    "load_demo": ("cadence.sources.demo", "generate"),
    "load_ics": ("cadence.sources.ics", "load_ics"),
    "load_roster": ("cadence.org", "load_roster"),
    "load_store": ("cadence.job", "load_store"),
    "report": ("cadence.report", None),
    "run_week": ("cadence.job", "run_week"),
    "summary": ("cadence.analysis", "summary"),
    "write_report": ("cadence.report", "write_report"),
}

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


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562) and keep it, so the next use is free."""
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'cadence' has no attribute {name!r}") from None
    found = importlib.import_module(module)
    value = found if attribute is None else getattr(found, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
