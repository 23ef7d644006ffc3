"""Demo generator at scale: 10,000 people × 52 weeks (issue target: well under a minute)."""

from __future__ import annotations

import pandas as pd
from _measure import peak_rss_mb, timed

from cadence.sources import demo

with timed("generate 10,000 people x 52 weeks"):
    org = demo.generate(10_000, seed=7, as_of=pd.Timestamp("2026-06-30", tz="UTC"), weeks=52)
truth = org.truth_occurrences
print(
    f"  {len(org.events):,} event rows, {len(org.attendees):,} attendee rows, "
    f"{(truth['relation'] == 'report').sum():,} manager-report occurrences, "
    f"{len(org.truth_pairs):,} pairs; peak {peak_rss_mb():,.0f} MiB"
)
