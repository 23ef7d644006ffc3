"""Doctest namespace for examples in src/: the shared fixture folder and the demo analysis.

Docstring examples of figures and tables use ``org`` and ``result``, made exactly as
the ``cadence.report`` module docstring shows::

    org = cadence.load_demo(60, seed=7, as_of="2026-06-30")
    result = cadence.analyze(org, org.roster, as_of="2026-06-30")
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "shared" / "fixtures" / "ics"


@cache
def _demo() -> tuple[Any, Any]:
    import cadence

    org = cadence.load_demo(60, seed=7, as_of="2026-06-30")
    return org, cadence.analyze(org, org.roster, as_of="2026-06-30")


@pytest.fixture(autouse=True)
def _doctest_fixtures(doctest_namespace: dict[str, object]) -> None:
    doctest_namespace["FIXTURES"] = FIXTURES
    org, result = _demo()
    doctest_namespace["org"] = org
    doctest_namespace["result"] = result

