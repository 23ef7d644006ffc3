"""The fast reader of plain events (sources/ics/fast.py) gives exactly what icalendar gives.

Every fixture, construct and corpus file is imported with the fast reader on and forced
off: the same events and attendees (rows, values, dtypes) and the same problems,
or the same error. Plus hand-made files of the shapes the fast reader must either read
right or leave to icalendar (time zones, DST gaps, escapes, quotes, repeated properties).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cadence.errors import IcsError
from cadence.model import ATTENDEES, EVENTS
from cadence.sources.ics import fast, load_ics
from cadence.sources.ics.client import earliest_start

HERE = Path(__file__).resolve().parent
FILES = sorted((HERE / "data" / "ics").rglob("*.ics")) + sorted(
    (HERE.parents[1] / "shared" / "fixtures" / "ics").rglob("*.ics")
)


def _both(monkeypatch: pytest.MonkeyPatch, path: Path, **kwargs: object) -> None:
    got = []
    for enabled in (True, False):
        monkeypatch.setattr(fast, "ENABLED", enabled)
        try:
            imported = load_ics(path, calendar="me@example.com", **kwargs)  # type: ignore[arg-type]
            got.append((imported.events, imported.attendees, [str(p) for p in imported.problems]))
        except IcsError as exc:
            got.append((None, None, [str(exc)]))
    (ev, at, problems), (ev0, at0, problems0) = got
    assert problems == problems0
    if ev0 is None:
        assert ev is None
        return
    pd.testing.assert_frame_equal(_sorted(ev, EVENTS.key), _sorted(ev0, EVENTS.key))
    pd.testing.assert_frame_equal(_sorted(at, ATTENDEES.key), _sorted(at0, ATTENDEES.key))


def _sorted(frame: pd.DataFrame, key: tuple[str, ...]) -> pd.DataFrame:
    """Rows in key order: the icalendar path itself yields some series' occurrences in an
    order that varies from run to run (ties of the final sort by start keep it)."""
    return frame.sort_values(list(key), kind="stable", ignore_index=True)


def _window(path: Path) -> dict[str, object]:
    """The checker's window: from the day before the file's first event, three years."""
    first = earliest_start([path]) or pd.Timestamp("2020-01-01", tz="UTC")
    start = max(first - pd.Timedelta(days=1), pd.Timestamp("1970-01-01", tz="UTC"))
    return {"start": start, "end": start + pd.DateOffset(years=3)}


def _with_plain_events(files: list[Path]) -> list[Path]:
    """The files the fast reader takes events from (for the others it changes nothing:
    the whole file goes through icalendar as before)."""
    out = []
    for path in files:
        plain = fast.split(path.read_bytes())
        if plain is not None and plain.index:
            out.append(path)
    return out


@pytest.mark.parametrize("strict", [False, True])
def test_every_file_reads_the_same_with_and_without_the_fast_reader(
    monkeypatch: pytest.MonkeyPatch, strict: bool
) -> None:
    assert len(FILES) > 100
    taken = _with_plain_events(FILES)
    assert len(taken) > 30
    for path in taken:
        _both(monkeypatch, path, strict=strict, **_window(path))
