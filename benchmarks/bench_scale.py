"""How the analysis cost grows, up to a 100,000-person organisation (≈ 5 M occurrences).

Issue 21's target: the 100,000-person organisation (99,999 manager-report pairs × 52
weeks, 1:1 calendars only) analyzed in ≤ 20 s and ≤ 6 GB on the 2-core machine. Each
size is generated once by the demo generator (in its own process) and cached under
``<tmp>/cadence-bench-scale/``, keyed by the size and a hash of the generator's and the
model's code, so later runs reuse it and a regeneration drops the stale one (pickled
frames with categorical text, as ``Store.frames()`` hands them over); each analysis runs
in a fresh process so that its peak memory is its own, as the ``cadence`` command runs it
(:func:`cadence.memory.configure` first: freed memory kept for reuse, no huge pages).
Printed: a table of pairs, occurrences, seconds (wall, CPU and the system part of it: page
faults of fresh memory), peak MiB and µs per occurrence at four sizes.

Usage: python benchmarks/bench_scale.py [pairs ...]   (default: 1000 10000 30000 100000)
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if "--as-cli" in sys.argv:  # as the `cadence` command runs: before numpy is imported
    from cadence.memory import configure

    configure()

import pandas as pd

AS_OF = pd.Timestamp("2026-06-30", tz="UTC")
SIZES = (1_000, 10_000, 30_000, 100_000)  # manager-report pairs (people - 1)
TARGET_S, TARGET_MB = 20.0, 6 * 1024
ROOT = Path(tempfile.gettempdir()) / "cadence-bench-scale"
FRAMES = "frames.pkl"  # (events, attendees, roster) with categorical text, as the store hands over


def code_version() -> str:
    """A hash of the code that decides what is generated: a change regenerates the data."""
    import cadence.model
    import cadence.sources.demo.generator as gen

    digest = hashlib.sha256()
    for module in (gen, cadence.model):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:12]


def folder_for(pairs: int) -> Path:
    return ROOT / f"{pairs + 1}-people-52w-frames-{code_version()}"


def generate(pairs: int, folder: Path) -> None:
    from cadence.sources import demo

    size = folder.name.rsplit("-", 1)[0]
    for stale in ROOT.glob(f"{size}-*"):  # older code's data of this size: 1.1 GB at 100 k
        shutil.rmtree(stale, ignore_errors=True)
    start = time.perf_counter()
    org = demo.generate(pairs + 1, seed=7, as_of=AS_OF, weeks=52, noise=False)
    tmp = folder.with_name(folder.name + ".partial")
    tmp.mkdir(parents=True, exist_ok=True)
    # one pickle: the people columns keep sharing one categories Index, as handed over
    pd.to_pickle((org.events, org.attendees, org.roster), tmp / FRAMES)
    tmp.rename(folder)  # complete or absent: an interrupted run leaves no half cache
    print(f"  generated {pairs + 1:,} people in {time.perf_counter() - start:.0f} s", flush=True)


def analyze(folder: Path) -> None:
    from cadence.analysis import analyze as run

    events, attendees, roster = pd.read_pickle(folder / FRAMES)
    start, before = time.perf_counter(), os.times()
    result = run((events, attendees), roster, as_of=AS_OF, window="52w")
    wall, after = time.perf_counter() - start, os.times()
    cpu, system = (
        after.user - before.user + after.system - before.system,
        after.system - before.system,
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"RESULT {len(result.pairs)} {len(result.occurrences)} {wall:.3f} {cpu:.3f} "
        f"{system:.3f} {peak:.0f}"
    )


def main(sizes: list[int]) -> None:
    print(f"cache: {ROOT}", flush=True)
    rows = []
    for pairs in sizes:
        folder = folder_for(pairs)
        if not folder.exists():
            subprocess.run([sys.executable, __file__, "--generate", str(pairs)], check=True)
        done = subprocess.run(  # as the `cadence` command runs it (cadence.cli.main)
            [sys.executable, __file__, "--analyze", str(folder), "--as-cli"],
            check=True,
            capture_output=True,
            text=True,
        )
        line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
        n_pairs, occ, wall, cpu, system, peak = line.split()[1:]
        rows.append((int(n_pairs), int(occ), float(wall), float(cpu), float(system), float(peak)))
        print(f"  {pairs:,} pairs analyzed", flush=True)
    head = ("pairs", "occurrences", "wall s", "CPU s", "of it sys", "peak MiB", "µs/occ")
    print(" ".join(f"{h:>{w}}" for h, w in zip(head, (8, 12, 8, 8, 9, 9, 7), strict=True)))
    for n_pairs, occ, wall, cpu, system, peak in rows:
        print(
            f"{n_pairs:>8,} {occ:>12,} {wall:>8.2f} {cpu:>8.2f} {system:>9.2f} {peak:>9,.0f} "
            f"{wall / max(occ, 1) * 1e6:>7.2f}"
        )
    big = [r for r in rows if r[0] >= 99_999]
    if big:
        _, occ, wall, cpu, _, peak = big[0]
        print(
            f"100,000-person organisation ({occ:,} occurrences): {wall:.1f} s (CPU {cpu:.1f} s; "
            f"target ≤ {TARGET_S:.0f} s: {'met' if wall <= TARGET_S else 'MISSED'}), "
            f"peak {peak:,.0f} MiB (target ≤ {TARGET_MB:,} MiB: "
            f"{'met' if peak <= TARGET_MB else 'MISSED'})",
            flush=True,
        )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--generate":
        generate(int(sys.argv[2]), folder_for(int(sys.argv[2])))
    elif len(sys.argv) == 4 and sys.argv[1] == "--analyze":
        analyze(Path(sys.argv[2]))
    else:
        main([int(a) for a in sys.argv[1:]] or list(SIZES))
