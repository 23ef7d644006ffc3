"""The bare vectorized core: the analysis' central work with nothing around it.

Issue 21 measures the analysis against it in the same run: sort the 1:1 occurrences by
pair and start, per-pair gaps between held ones (``np.diff`` inside each pair's run),
per-pair outcome counts (``np.bincount``) and the pair × week pivot. Plain numpy on
integer arrays: what the analysis would cost if it did only this.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

US_PER_DAY = 86_400_000_000
MONDAY = int(np.datetime64("1970-01-05", "us").astype(np.int64))


def core_inputs(occurrences: pd.DataFrame, seed: int = 1) -> dict[str, np.ndarray]:
    """Integer arrays of an analysis' occurrences (pair code, start µs, outcome code),
    shuffled so that the core has to sort them."""
    order = np.random.default_rng(seed).permutation(len(occurrences))
    return {
        "pair": occurrences["pair"].cat.codes.to_numpy().astype(np.int64)[order],
        "start": np.asarray(occurrences["start"].array.asi8)[order],
        "outcome": occurrences["outcome"].cat.codes.to_numpy().astype(np.int64)[order],
    }


def bare_core(pair: np.ndarray, start: np.ndarray, outcome: np.ndarray) -> dict[str, np.ndarray]:
    """Sort, per-pair gaps (median, longest), per-pair counts, weekly pivot."""
    order = np.lexsort((start, pair))
    p, s, o = pair[order], start[order], outcome[order]
    n_pairs = int(p.max(initial=-1)) + 1
    counts = np.bincount(p * 5 + o, minlength=n_pairs * 5).reshape(n_pairs, 5)
    held = o == 0
    hp, hs = p[held], s[held]
    same = hp[1:] == hp[:-1]
    gaps = (hs[1:] - hs[:-1])[same] / US_PER_DAY
    gap_pair = hp[1:][same]
    longest = np.full(n_pairs, np.nan)
    np.fmax.at(longest, gap_pair, gaps)
    by = np.lexsort((gaps, gap_pair))  # gaps sorted within each pair: the median
    g, gp = gaps[by], gap_pair[by]
    first = np.searchsorted(gp, np.arange(n_pairs))
    size = np.bincount(gp, minlength=n_pairs)
    mid = first + np.maximum(size - 1, 0) // 2
    mid2 = first + size // 2
    ok = size > 0
    median = np.full(n_pairs, np.nan)
    median[ok] = (g[np.minimum(mid[ok], len(g) - 1)] + g[np.minimum(mid2[ok], len(g) - 1)]) / 2
    week = (s - MONDAY) // (7 * US_PER_DAY)
    week -= week.min(initial=0)
    n_weeks = int(week.max(initial=0)) + 1
    weekly = np.bincount((p * n_weeks + week) * 5 + o, minlength=n_pairs * n_weeks * 5).reshape(
        n_pairs, n_weeks, 5
    )
    return {"counts": counts, "longest": longest, "median": median, "weekly": weekly}


def time_core(inputs: dict[str, np.ndarray], repeat: int = 3) -> tuple[float, float]:
    """Best wall and CPU seconds of :func:`bare_core` over ``repeat`` runs."""
    wall, cpu = float("inf"), float("inf")
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        bare_core(**inputs)
        wall, cpu = min(wall, time.perf_counter() - w), min(cpu, time.process_time() - c)
    return wall, cpu
