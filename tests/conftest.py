"""Shared fixtures: a small fixed demo organisation and frame builders for hand-made cases."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pytest

from cadence.sources import demo
from cadence.store import Store

AS_OF = pd.Timestamp("2026-06-30", tz="UTC")


@pytest.fixture(scope="session")
def small_org() -> demo.DemoOrg:
    return demo.generate(60, seed=7, as_of=AS_OF)


@pytest.fixture(scope="session")
def scored_org() -> demo.DemoOrg:
    """At least 500 people and 26 weeks: the size later issues score the analysis on."""
    return demo.generate(500, seed=11, as_of=AS_OF, weeks=26)


@pytest.fixture
def store(tmp_path: Path) -> Iterable[Store]:
    with Store(tmp_path / "cadence.sqlite") as s:
        yield s
