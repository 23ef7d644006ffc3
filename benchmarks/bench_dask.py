"""The 20,000-pair organisation analyzed on one machine and on a 2-worker local Dask cluster.

Issue 21 ("beyond one machine") sets no time target for Dask: it asks for the same results
on more machines. Both figures are printed (wall and this process' CPU time), and whether
the two results are equal. The cluster is ``LocalCluster(n_workers=2,
threads_per_worker=1)`` in worker processes: on a 2-core machine it can at best share the
same two cores, and pays for shipping the rows to the workers.

Usage: python benchmarks/bench_dask.py [--people N]   (default 20,001: 20,000 pairs)
"""

from __future__ import annotations

import sys
import time

import pandas as pd

AS_OF = pd.Timestamp("2026-06-30", tz="UTC")


def main(people: int) -> None:
    from distributed import Client, LocalCluster

    import cadence
    from cadence.analysis import dask as on_dask
    from cadence.sources import demo

    start = time.perf_counter()
    org = demo.generate(people, seed=7, as_of=AS_OF, weeks=52, noise=False)
    print(f"generated in {time.perf_counter() - start:.1f} s (not part of the figures)")
    frames = (org.events, org.attendees)
    print(f"{len(org.events):,} event rows, {len(org.attendees):,} attendee rows")

    wall, cpu = time.perf_counter(), time.process_time()
    one = cadence.analyze(frames, org.roster, as_of=AS_OF, window="52w")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"one machine: {wall:.2f} s wall, {cpu:.2f} s CPU, {len(one.occurrences):,} "
        f"occurrences, {len(one.pairs):,} pairs (no target: figure only)",
        flush=True,
    )
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster),
    ):
        wall, cpu = time.perf_counter(), time.process_time()
        got = on_dask.analyze(frames, org.roster, as_of=AS_OF, window="52w", npartitions=8)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    same = all(getattr(got, t).equals(getattr(one, t)) for t in ("occurrences", "pairs", "weekly"))
    print(
        f"2-worker local cluster: {wall:.2f} s wall, {cpu:.2f} s CPU in this process "
        f"(keying here, combining here; the workers' CPU not counted), 8 pair partitions; "
        f"results identical: {'met' if same else 'MISSED'} (target: identical)",
        flush=True,
    )


if __name__ == "__main__":
    n = int(sys.argv[sys.argv.index("--people") + 1]) if "--people" in sys.argv else 20_001
    main(n)
