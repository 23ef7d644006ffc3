"""Health: a 0–100 score and a status per pair, every lost point tied to a reason.

The score starts at 100 and loses points (weights in
:class:`~cadence.analysis.settings.Weights`) for: expected 1:1s not held,
recent slots missed, an open gap since the last held 1:1, nothing on the
books, drift to a slower rhythm, late cancellations and heavy rescheduling.
Status: ``lapsed`` when no held 1:1 for ``lapsed_factor`` × target and nothing
on the books (its score is capped below the watch band), else ``healthy`` /
``watch`` / ``at_risk`` by the score bands.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from cadence.analysis.settings import AnalysisSettings

STATUS_DTYPE = pd.CategoricalDtype(["healthy", "watch", "at_risk", "lapsed"])


def _days(x: pd.Series) -> pd.Series:
    return x.round().astype("Int64").astype(str)


def _pct(x: pd.Series) -> pd.Series:
    return (x * 100).round().astype("Int64").astype(str) + " %"


def score(p: pd.DataFrame, settings: AnalysisSettings) -> pd.DataFrame:
    """Add ``health_score``, ``status`` and ``reasons`` (a list of sentences) to pair metrics."""
    w = settings.weights
    target = p["target_days"]
    parts: list[tuple[pd.Series, pd.Series]] = []  # (points lost, reason)

    adherence = p["adherence"].astype(float)
    span = settings.adherence_full - settings.adherence_floor
    shortfall = ((settings.adherence_full - adherence) / span).clip(0, 1)
    lost = (w.adherence * shortfall).where(adherence.notna(), 0.0)
    text = (
        "held "
        + p["held"].astype(str)
        + " of "
        + p["expected"].round().astype("Int64").astype(str)
        + " expected 1:1s ("
        + _pct(adherence.clip(upper=9.99))
        + ")"
    )
    parts.append((lost, text))

    share = p["recent_missed"] / p["recent_slots"].where(p["recent_slots"] > 0)
    lost = (w.recent_misses * share).fillna(0.0)
    text = (
        p["recent_missed"].astype(str)
        + " of the last "
        + p["recent_slots"].astype(str)
        + " scheduled 1:1s cancelled or declined"
    )
    parts.append((lost, text))

    since = p["days_since_last_held"].fillna(p["days_observed"])
    ratio = since / target
    lost = (w.open_gap * ((ratio - 2) / 2).clip(0, 1)).fillna(0.0)
    never = p["last_held"].isna()
    text = ("no 1:1 in " + _days(since) + " days, target " + _days(target)).where(
        ~never, "no 1:1 held in the " + _days(since) + " days observed, target " + _days(target)
    )
    parts.append((lost, text))

    lost = pd.Series(np.where(p["on_the_books"], 0.0, w.unscheduled), index=p.index)
    text = pd.Series(
        "nothing scheduled in the next " + _days(target * settings.on_the_books_factor) + " days",
        index=p.index,
    )
    parts.append((lost, text))

    drift = p["drift"]
    lost = (w.drift * ((drift - 1.25) / 0.75).clip(0, 1)).fillna(0.0)
    text = (
        "recently meeting every "
        + _days(p["recent_median_gap_days"])
        + " days, target "
        + _days(target)
    )
    parts.append((lost, text))

    past = p["past"].where(p["past"] > 0)
    lost = (w.late_cancels * p["late_cancelled"] / past).fillna(0.0)
    text = (
        p["late_cancelled"].astype(str)
        + " cancelled less than "
        + f"{settings.late_cancel_hours:g} h ahead"
    )
    parts.append((lost, text))

    moved_share = p["moved"] / past
    lost = (w.moves * ((moved_share - 0.3) / 0.7).clip(0, 1)).fillna(0.0)
    text = (
        p["moved"].astype(str)
        + " of "
        + p["past"].astype(str)
        + " 1:1s moved ("
        + _pct(moved_share.fillna(0))
        + ")"
    )
    parts.append((lost, text))

    total = pd.concat([lost for lost, _ in parts], axis=1).sum(axis=1)
    health = (100 - total).clip(0, 100)
    lapsed = (ratio >= settings.lapsed_factor) & ~p["on_the_books"]
    capped = health.where(~lapsed, np.minimum(health, settings.watch_min - 1))
    # the lapsed rule comes first, with whatever its cap took off the score
    text = (
        "lapsed: no 1:1 for "
        + _days(since)
        + " days (at least "
        + f"{settings.lapsed_factor:g}"
        + "× the "
        + _days(target)
        + "-day target) and nothing scheduled"
    )
    parts.insert(0, ((health - capped).where(lapsed, 0.0), text))
    health = capped.round(1)
    status = np.select(
        [
            lapsed.to_numpy(),
            (health >= settings.healthy_min).to_numpy(),
            (health >= settings.watch_min).to_numpy(),
        ],
        ["lapsed", "healthy", "watch"],
        "at_risk",
    )
    # Each reason with the points it cost, biggest first; only reasons that cost something,
    # except the lapsed rule, which always comes first for a lapsed pair. Built as one
    # pyarrow list column from flat values and offsets: no Python loop over pairs.
    lost_cols = np.column_stack([lost.to_numpy(dtype=float) for lost, _ in parts])
    text_cols: np.ndarray = np.column_stack(
        [
            (text.astype(str) + np.where(lost >= 0.5, " (−" + _days(lost) + ")", "")).to_numpy()
            for lost, text in parts
        ]
    )
    first = np.zeros(lost_cols.shape, dtype=bool)
    first[:, 0] = lapsed.to_numpy()
    keep = first | (lost_cols >= 0.5)
    order = np.argsort(-(lost_cols + first * 1e9), axis=1, kind="stable")
    kept = np.take_along_axis(keep, order, axis=1)  # the kept reasons come first in each row
    values = np.take_along_axis(text_cols, order, axis=1)[kept]
    offsets = np.r_[0, np.cumsum(kept.sum(axis=1))].astype(np.int32)
    reasons = pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, type=pa.string()))
    out = p.copy()
    out["health_score"] = health.astype(float)
    out["status"] = pd.Categorical(status, dtype=STATUS_DTYPE)
    out["reasons"] = pd.Series(pd.arrays.ArrowExtensionArray(reasons), index=p.index)
    return out
