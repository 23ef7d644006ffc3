"""Analysis on ~20,000 pairs × 52 weeks (≈ 880,000 1:1 occurrences in two calendar copies each).

Issue 21's targets on the 2-core machine: ≤ 3 s and ≤ 1.5 GB peak for the whole process,
and ≤ 4× the bare vectorized core (:mod:`_anchor`: sort, per-pair gaps, counts, weekly
pivot on the same occurrences) measured in the same process. The organisation is
generated once (1:1 calendars only, no team meetings: their rows never reach the 1:1
logic) and kept with its dictionary-encoded (categorical) text, the frames exactly as
``Store.frames()`` hands them over (pickled: Parquet's reader alone would add ~400 MB to
the peak that no store read costs); the analysis then runs in a fresh process so that
its peak memory is its own. Reported: wall and CPU time, rows/s, peak memory, what the loaded input
alone takes, the anchor and the ratio.

Then the same organisation with leave (``absences=True``: a ``country`` roster column for
public holidays, one or two vacations per person, one twelve-week leave): issue 19's
target is within 10 % of the figure without it. Both figures and the ratio are printed.

The analysis runs as the ``cadence`` command runs it, after :func:`cadence.memory.configure`
(freed memory kept for reuse, no huge pages; see :func:`cadence.cli.main`); the case
without absences runs once more with the defaults of numpy and glibc, as ``import cadence``
in a notebook has them, and prints that time too.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if "--as-cli" in sys.argv:  # as the `cadence` command runs: before numpy is imported
    from cadence.memory import configure

    configure()

import pandas as pd

from cadence.memory import defaults as memory_defaults

AS_OF = pd.Timestamp("2026-06-30", tz="UTC")
PEOPLE = 20_001  # 20,000 manager-report pairs
TARGET_S, TARGET_MB, TARGET_RATIO = 3.0, 1_536, 4.0
FRAMES = "frames.pkl"  # (events, attendees, roster) with categorical text


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(folder: Path, absences: bool = False) -> None:
    from cadence.sources import demo

    start = time.perf_counter()
    org = demo.generate(PEOPLE, seed=7, as_of=AS_OF, weeks=52, noise=False, absences=absences)
    print(f"generated in {time.perf_counter() - start:.1f} s (not part of the figure)", flush=True)
    # one pickle: the people columns keep sharing one categories Index, as handed over
    pd.to_pickle((org.events, org.attendees, org.roster), folder / FRAMES)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def analyze(folder: Path) -> None:
    from _anchor import core_inputs, time_core

    from cadence.analysis import analyze as run

    events, attendees, roster = pd.read_pickle(folder / FRAMES)
    loaded = rss_mb()
    start, cpu_start = time.perf_counter(), time.process_time()
    result = run((events, attendees), roster, as_of=AS_OF, window="52w")
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    occurrences = len(result.occurrences)
    peak = rss_mb()
    print(
        f"analyze {len(events):,} event rows + {len(attendees):,} attendee rows "
        f"-> {occurrences:,} occurrences, {len(result.pairs):,} pairs: {wall:.2f} s "
        f"(CPU {cpu:.2f} s; target ≤ {TARGET_S:.0f} s: {verdict(wall <= TARGET_S)}), "
        f"{occurrences / wall:,.0f} occurrences/s, {len(events) / wall:,.0f} event rows/s",
        flush=True,
    )
    print(f"WALL {wall:.4f}", flush=True)
    print(
        f"  peak memory {peak:,.0f} MiB for the whole process (target ≤ {TARGET_MB:,} MiB: "
        f"{verdict(peak <= TARGET_MB)}; input frames alone {loaded:,.0f} MiB, "
        f"analysis on top {peak - loaded:,.0f} MiB)",
        flush=True,
    )
    inputs = core_inputs(result.occurrences)
    del result, events, attendees
    core_wall, core_cpu = time_core(inputs)
    ratio = wall / core_wall
    print(
        f"  bare vectorized core on the same {len(inputs['pair']):,} occurrences (sort, "
        f"per-pair gaps, counts, weekly pivot): {core_wall:.2f} s (CPU {core_cpu:.2f} s); "
        f"analysis / core ×{ratio:.1f} (CPU ×{cpu / core_cpu:.1f}; target ≤ ×{TARGET_RATIO:.0f}: "
        f"{verdict(ratio <= TARGET_RATIO)})",
        flush=True,
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("--generate", "--generate-leave"):
        generate(Path(sys.argv[2]), absences=sys.argv[1] == "--generate-leave")
    elif len(sys.argv) in (3, 4) and sys.argv[1] == "--analyze":
        analyze(Path(sys.argv[2]))
    else:
        walls = {}
        # --as-cli: as the `cadence` command runs it; else numpy's and glibc's defaults
        defaults = memory_defaults(os.environ)
        for case, flag in (
            ("without absences", "--generate"),
            ("with absences", "--generate-leave"),
        ):
            with tempfile.TemporaryDirectory() as tmp:
                print(f"-- {case}", flush=True)
                subprocess.run([sys.executable, __file__, flag, tmp], check=True)
                runs = [("", ["--as-cli"])]
                if case == "without absences":
                    runs.append(("numpy's and glibc's defaults, ", []))
                for label, as_cli in runs:
                    done = subprocess.run(
                        [sys.executable, __file__, "--analyze", tmp, *as_cli],
                        check=True,
                        capture_output=True,
                        text=True,
                        env=None if as_cli else defaults,
                    )
                    for line in done.stdout.splitlines():
                        if line.startswith("WALL "):
                            walls.setdefault(case, float(line.split()[1]))
                        elif label and line.startswith("analyze "):
                            print(
                                f"  {label}as `import cadence` in a notebook: "
                                f"{line.split(': ', 1)[1].split(', ')[0]}",
                                flush=True,
                            )
                        elif not label:
                            print(line, flush=True)
        ratio = walls["with absences"] / walls["without absences"]
        print(
            f"with absences {walls['with absences']:.2f} s vs without "
            f"{walls['without absences']:.2f} s: ×{ratio:.3f} "
            f"(target ≤ ×1.10: {verdict(ratio <= 1.10)})",
            flush=True,
        )
