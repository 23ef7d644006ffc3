"""The public API: everything ``cadence.__all__`` promises is there and documented."""

from __future__ import annotations

import cadence


def test_all_names_exist_and_have_docstrings() -> None:
    for name in cadence.__all__:
        assert hasattr(cadence, name), f"cadence.{name} is in __all__ but not importable"
        if name != "__version__":
            assert getattr(cadence, name).__doc__, f"cadence.{name} has no docstring"


def test_the_main_entry_points_are_public() -> None:
    assert {"analyze", "load_demo", "load_ics", "load_roster", "Store", "AnalysisSettings"} <= set(
        cadence.__all__
    )
