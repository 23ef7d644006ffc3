"""The public API: everything ``cadence.__all__`` promises is there and documented."""

from __future__ import annotations

import cadence


def test_all_names_exist_and_have_docstrings() -> None:
    for name in cadence.__all__:
        assert hasattr(cadence, name), f"cadence.{name} is in __all__ but not importable"
        if name != "__version__":
            assert getattr(cadence, name).__doc__, f"cadence.{name} has no docstring"


def test_the_main_entry_points_are_public() -> None:
    assert {
        "analyze",
        "load_demo",
        "load_ics",
        "load_roster",
        "load_store",
        "Store",
        "AnalysisSettings",
        "report",
        "write_report",
    } <= set(cadence.__all__)


def test_every_report_function_has_a_runnable_example() -> None:
    import inspect

    for name in cadence.report.__all__:
        obj = getattr(cadence.report, name)
        if inspect.isfunction(obj):
            assert ">>> " in (obj.__doc__ or ""), f"cadence.report.{name} has no example"


def test_load_store_never_creates_a_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from cadence.errors import StoreError

    with pytest.raises(StoreError, match="no store there"):
        cadence.load_store(tmp_path / "missing.sqlite")
    assert not (tmp_path / "missing.sqlite").exists()


def test_analysis_frames_have_analysis_friendly_dtypes() -> None:
    import pandas as pd

    org = cadence.load_demo(20, seed=2, as_of="2026-06-30")
    result = cadence.analyze(org, org.roster, as_of="2026-06-30")
    occ, pairs = result.occurrences, result.pairs
    for col in ("outcome", "relation", "pair", "manager", "report", "declined_by"):
        assert isinstance(occ[col].dtype, pd.CategoricalDtype), col
    assert isinstance(pairs["status"].dtype, pd.CategoricalDtype)
    assert str(occ["start"].dtype) == "datetime64[us, UTC]"
    assert str(pairs["adherence"].dtype) == "Float64"
    weekly = occ.set_index("start").resample("W-MON")["outcome"].value_counts()
    assert weekly.sum() == len(occ)
