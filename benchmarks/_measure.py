"""Small helpers shared by the benchmarks: wall time and peak resident memory."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timed(label: str, rows: int | None = None) -> Iterator[None]:
    start = time.perf_counter()
    yield
    wall = time.perf_counter() - start
    rate = f", {rows / wall:,.0f} rows/s" if rows else ""
    print(f"{label}: {wall:.2f} s{rate}, peak memory {peak_rss_mb():,.0f} MiB", flush=True)


def best_of(n: int, fn: Callable[[], T]) -> tuple[float, T]:
    best, result = float("inf"), None
    for _ in range(n):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result  # type: ignore[return-value]
