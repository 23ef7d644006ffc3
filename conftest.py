"""Doctest namespace for examples in src/: the shared fixture folder."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "shared" / "fixtures" / "ics"


@pytest.fixture(autouse=True)
def _doctest_fixtures(doctest_namespace: dict[str, object]) -> None:
    doctest_namespace["FIXTURES"] = FIXTURES
