"""Analysis on ~20,000 pairs × 52 weeks (≈ 880,000 1:1 occurrences in two calendar copies each).

Issue 3's target on the 2-core machine: under 5 s and under 2 GB. The organisation is
generated once (1:1 calendars only, no team meetings: their rows never reach the 1:1
logic) and written to Parquet; the analysis then runs in a fresh process so that its
peak memory is its own. Reported: wall time, rows/s, peak memory and what the loaded
input alone takes.

Then the same organisation with leave (``absences=True``: a ``country`` roster column for
public holidays, one or two vacations per person, one twelve-week leave): issue 19's
target is within 10 % of the figure without it. Both figures and the ratio are printed.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

AS_OF = pd.Timestamp("2026-06-30", tz="UTC")
PEOPLE = 20_001  # 20,000 manager-report pairs


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(folder: Path, absences: bool = False) -> None:
    from cadence.sources import demo

    start = time.perf_counter()
    org = demo.generate(PEOPLE, seed=7, as_of=AS_OF, weeks=52, noise=False, absences=absences)
    print(f"generated in {time.perf_counter() - start:.1f} s (not part of the figure)", flush=True)
    org.events.to_parquet(folder / "events.parquet")
    org.attendees.to_parquet(folder / "attendees.parquet")
    org.roster.to_parquet(folder / "roster.parquet")


def analyze(folder: Path) -> None:
    from cadence.analysis import analyze as run

    events = pd.read_parquet(folder / "events.parquet")
    attendees = pd.read_parquet(folder / "attendees.parquet")
    roster = pd.read_parquet(folder / "roster.parquet")
    loaded = rss_mb()
    start = time.perf_counter()
    result = run((events, attendees), roster, as_of=AS_OF, window="52w")
    wall = time.perf_counter() - start
    occurrences = len(result.occurrences)
    print(
        f"analyze {len(events):,} event rows + {len(attendees):,} attendee rows "
        f"-> {occurrences:,} occurrences, {len(result.pairs):,} pairs: {wall:.2f} s, "
        f"{occurrences / wall:,.0f} occurrences/s, {len(events) / wall:,.0f} event rows/s",
        flush=True,
    )
    print(f"WALL {wall:.4f}", flush=True)
    print(
        f"  peak memory {rss_mb():,.0f} MiB (input frames alone {loaded:,.0f} MiB; "
        f"analysis on top {rss_mb() - loaded:,.0f} MiB)",
        flush=True,
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("--generate", "--generate-leave"):
        generate(Path(sys.argv[2]), absences=sys.argv[1] == "--generate-leave")
    elif len(sys.argv) == 3 and sys.argv[1] == "--analyze":
        analyze(Path(sys.argv[2]))
    else:
        walls = {}
        for case, flag in (
            ("without absences", "--generate"),
            ("with absences", "--generate-leave"),
        ):
            with tempfile.TemporaryDirectory() as tmp:
                print(f"-- {case}", flush=True)
                subprocess.run([sys.executable, __file__, flag, tmp], check=True)
                done = subprocess.run(
                    [sys.executable, __file__, "--analyze", tmp],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                for line in done.stdout.splitlines():
                    if line.startswith("WALL "):
                        walls[case] = float(line.split()[1])
                    else:
                        print(line, flush=True)
        ratio = walls["with absences"] / walls["without absences"]
        print(
            f"with absences {walls['with absences']:.2f} s vs without "
            f"{walls['without absences']:.2f} s: ×{ratio:.3f} (target ≤ ×1.10)",
            flush=True,
        )
