"""Store writes: a full pull of a 1,000-person organisation, then the same pull again (no-op)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from _measure import timed

from cadence.sources import demo
from cadence.store import Store

org = demo.generate(1_000, seed=7, as_of=pd.Timestamp("2026-06-30", tz="UTC"), weeks=26)
pulls = org.pulls()
rows = len(pulls[-1].events) + len(pulls[-1].attendees)
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "bench.sqlite"
    with Store(path) as store:
        with timed(f"first full pull ({len(pulls[-1].events):,} events + attendees)", rows):
            first = store.write_pull(pulls[-1])
        with timed("same pull again (writes nothing)", rows):
            again = store.write_pull(pulls[-1])
        with timed("read back events + attendees", rows):
            store.events()
            store.attendees()
    print(
        f"  first wrote {first.rows_written:,} rows, again wrote {again.rows_written:,}; "
        f"file {path.stat().st_size / 2**20:,.1f} MiB"
    )
