"""Health: a 0–100 score and a status per pair, every lost point tied to a reason.

The score starts at 100 and loses points (weights in
:class:`~cadence.analysis.settings.Weights`, thresholds in
:class:`~cadence.analysis.settings.AnalysisSettings`) for: expected 1:1s not
held, recent slots missed, an open gap since the last held 1:1, nothing on the
books, drift to a slower rhythm, late cancellations (known ones only) and
heavy rescheduling.

Status, rules first:

- ``lapsed``: no held 1:1 for ``lapsed_factor`` × target and nothing on the books;
- at least ``at_risk``: no held 1:1 for ``lapsed_factor`` × target though one is
  booked, or the last ``consecutive_misses`` scheduled slots all missed;
- else ``healthy`` / ``watch`` / ``at_risk`` by the score bands.

A pair flagged by a rule scores at most ``watch_min − flagged_below_watch``, and
the rule is its first reason, with the points its cap took.

What the calendars cannot show is said, never guessed: a pair whose
cancellations have unknown timing gets a reason naming the sources that cannot
tell ("late: not known from .ics data"); no point is lost for them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from cadence.analysis import display
from cadence.analysis.settings import AnalysisSettings

STATUS_DTYPE = pd.CategoricalDtype(["healthy", "watch", "at_risk", "lapsed", "on_leave"])
RULE_FIRST = 1e9  # sort key offset: rule reasons first, notes last


def _points(lost: pd.Series) -> pd.Series:
    """Points lost, written like every other count (``12.4``, ``15``): they add up to the score."""
    return display.counts(lost)


def score(p: pd.DataFrame, settings: AnalysisSettings) -> pd.DataFrame:
    """Add ``health_score``, ``status`` and ``reasons`` (a list of sentences) to pair metrics.

    Examples
    --------
    ``result`` is ``cadence.analyze`` of the 60-person demo (see ``cadence.report``):

    >>> lapsed = result.pairs[result.pairs["status"] == "lapsed"]
    >>> len(lapsed) > 0 and all(r[0].startswith("lapsed: ") for r in lapsed["reasons"])
    True
    """
    s, w = settings, settings.weights
    target = p["target_days"]
    note = display.target_notes(p["target_source"])
    target_text = "target " + display.counts(target) + note
    # (points lost, reason, shown even when it costs nothing)
    parts: list[tuple[pd.Series, pd.Series, pd.Series]] = []
    never = pd.Series(False, index=p.index)

    adherence = p["adherence"].astype(float)
    span = s.adherence_full - s.adherence_floor
    shortfall = ((s.adherence_full - adherence) / span).clip(0, 1)
    lost = (w.adherence * shortfall).where(adherence.notna(), 0.0)
    text = (
        "held "
        + display.held_of_expected(p["held"], p["expected"])
        + " expected 1:1s ("
        + display.pcts(adherence)
        + ")"
    )
    parts.append((lost, text, never))

    share = p["recent_missed"] / p["recent_slots"].where(p["recent_slots"] > 0)
    lost = (w.recent_misses * share).fillna(0.0)
    text = (
        p["recent_missed"].astype(str)
        + " of the last "
        + p["recent_slots"].astype(str)
        + " scheduled 1:1s cancelled or declined"
    )
    parts.append((lost, text, never))

    # whole days, rounded down: the number the reason says is the number the rules use;
    # on present time: the days either person was away do not count (docs/analysis.md, Leave)
    total = p["days_since_last_held"].astype("Int64").fillna(p["days_observed"]).astype(float)
    away = _column(p, "days_away", 0).astype(float).fillna(0.0)
    since = total - away
    ratio = since / target
    ramp = (ratio - s.open_gap_from) / (s.open_gap_full - s.open_gap_from)
    lost = (w.open_gap * ramp.clip(0, 1)).fillna(0.0)
    present: pd.Series = pd.Series(
        np.where(
            away > 0,
            " present (" + display.counts(total) + " in all, " + display.counts(away) + " away)",
            "",
        ),
        index=p.index,
        dtype=object,
    )
    days = display.counts(since)
    silent = p["never_met"].astype(bool)
    never_held = p["last_held"].isna()
    text = pd.Series(
        np.select(
            [silent.to_numpy(), never_held.to_numpy()],
            [
                "no 1:1 at all in the "
                + days
                + " days observed"
                + present
                + ": they never met in the window, "
                + target_text,
                "no 1:1 held in the " + days + " days observed" + present + ", " + target_text,
            ],
            "no 1:1 in " + days + " days" + present + ", " + target_text,
        ),
        index=p.index,
    )
    parts.append((lost, text, never))

    lost = pd.Series(np.where(p["on_the_books"], 0.0, w.unscheduled), index=p.index)
    text = (
        "nothing scheduled in the next " + display.counts(target * s.on_the_books_factor) + " days"
    )
    parts.append((lost, text, never))

    ramp = (p["drift"] - s.drift_from) / (s.drift_full - s.drift_from)
    lost = (w.drift * ramp.clip(0, 1)).fillna(0.0)
    text = (
        "recently meeting every "
        + display.counts(p["recent_median_gap_days"].round())
        + " days, "
        + target_text
    )
    parts.append((lost, text, never))

    past = p["past"].where(p["past"] > 0)
    lost = (w.late_cancels * p["late_cancelled"] / past).fillna(0.0)
    late_hours = f"{s.late_cancel_hours:g} h"
    known = p["late_cancelled"].astype(str) + " cancelled less than " + late_hours + " ahead"
    unknown = p["late_unknown"] > 0
    names = display.source_names(p["late_unknown_sources"])
    n_unknown = p["late_unknown"].astype(str)
    text = known.where(
        ~unknown,
        known.where(
            p["late_cancelled"] == 0,
            known + "; late: not known for " + n_unknown + " more, from " + names + " data",
        ).where(
            p["late_cancelled"] > 0,
            "late: not known from " + names + " data (" + n_unknown + " cancelled)",
        ),
    )
    parts.append((lost, text, unknown))

    moved_share = p["moved"] / past
    ramp = (moved_share - s.moves_from) / (s.moves_full - s.moves_from)
    lost = (w.moves * ramp.clip(0, 1)).fillna(0.0)
    text = (
        p["moved"].astype(str)
        + " of "
        + p["past"].astype(str)
        + " 1:1s moved ("
        + display.pcts(moved_share.fillna(0))
        + ")"
    )
    parts.append((lost, text, never))

    excused = _column(p, "excused", 0).astype(int)
    text = excused.astype(str) + " excused (" + _column(p, "excused_text", "").astype(str) + ")"
    parts.append((pd.Series(0.0, index=p.index), text, excused > 0))

    total = pd.concat([lost for lost, _, _ in parts], axis=1).sum(axis=1)
    health = (100 - total).clip(0, 100)

    # the rules: lapsed, then at risk however much is booked
    too_long = (ratio >= s.lapsed_factor).fillna(False)
    lapsed = too_long & ~p["on_the_books"].astype(bool)
    booked_gap = too_long & ~lapsed
    streak = p["last_slots_missed"].astype(bool) & ~lapsed
    flagged = lapsed | booked_gap | streak
    cap = max(s.watch_min - s.flagged_below_watch, 0.0)
    capped = health.where(~flagged, np.minimum(health, cap))
    cap_cost = health - capped
    inline = note.str.replace(r"^ \((.*)\)$", r", \1", regex=True)
    bound = f" (at least {s.lapsed_factor:g}× the " + display.counts(target) + "-day target"
    gap_rule = (
        pd.Series("no 1:1 for " + days + " days" + present, index=p.index).where(
            ~silent, "they never met in the " + days + " days observed" + present
        )
        + bound
        + inline
        + ")"
    )
    rules = [
        (lapsed, "lapsed: " + gap_rule + " and nothing scheduled"),
        (booked_gap, "at risk: " + gap_rule + ", though one is scheduled"),
        (
            streak,
            pd.Series(
                f"at risk: the last {s.consecutive_misses} scheduled 1:1s were all cancelled "
                "or declined",
                index=p.index,
            ),
        ),
    ]
    # the first rule that holds carries the cap's cost; every rule that holds is listed
    charged = pd.Series(False, index=p.index)
    rule_parts = []
    for holds, text in rules:
        cost = cap_cost.where(holds & ~charged, 0.0)
        charged |= holds
        rule_parts.append((cost, text, holds))
    # on leave: its own status, listed first; it costs nothing and caps nothing
    leave = _column(p, "on_leave", False).astype(bool)
    leave_text = "on leave: " + _column(p, "leave_text", "").astype(str)
    rule_parts.insert(0, (pd.Series(0.0, index=p.index), leave_text, leave))
    health = capped.round(1)
    status = np.select(
        [
            leave.to_numpy(),
            lapsed.to_numpy(),
            (health >= s.healthy_min).to_numpy(),
            (health >= s.watch_min).to_numpy(),
        ],
        ["on_leave", "lapsed", "healthy", "watch"],
        "at_risk",
    )
    out = p.copy()
    out["health_score"] = health.astype(float)
    out["status"] = pd.Categorical(status, dtype=STATUS_DTYPE)
    out["reasons"] = _reasons(rule_parts, parts, s.reason_min_points, p.index)
    return out


def _column(p: pd.DataFrame, name: str, default: object) -> pd.Series:
    """A metrics column, or ``default`` for frames from before absences were known."""
    if name in p.columns:
        return p[name].fillna(default)  # type: ignore[arg-type]
    return pd.Series(default, index=p.index)


def _with_points(text: pd.Series, cost: pd.Series, min_points: float) -> np.ndarray:
    """Each reason's text, with the points it cost where at least ``min_points``: written
    only for those rows, joined as Python strings."""
    words = text.astype(str)
    if words.isna().any():  # never from score(); kept as the Series sum would have it
        return (words + np.where(cost >= min_points, " (−" + _points(cost) + ")", "")).to_numpy()
    costly = (cost >= min_points).to_numpy()
    suffix = np.full(len(words), "", dtype=object)
    if costly.any():
        suffix[costly] = (" (−" + _points(cost[costly]) + ")").to_numpy(dtype=object)
    return np.asarray(words.to_numpy(dtype=object) + suffix)


def _reasons(
    rules: list[tuple[pd.Series, pd.Series, pd.Series]],
    parts: list[tuple[pd.Series, pd.Series, pd.Series]],
    min_points: float,
    index: pd.Index,
) -> pd.Series:
    """Each pair's reasons as one list column: rules that hold first, then each reason that
    cost at least ``min_points`` (biggest first), then what is unknown (costing nothing).

    Built as one pyarrow list column from flat values and offsets: no Python loop over pairs.
    """
    every = rules + parts
    lost = np.column_stack([cost.to_numpy(dtype=float) for cost, _, _ in every])
    forced = np.column_stack([shown.to_numpy(dtype=bool) for _, _, shown in every])
    is_rule = np.zeros(lost.shape, dtype=bool)
    is_rule[:, : len(rules)] = True
    costly = lost >= min_points
    keep = np.where(is_rule, forced, costly | forced)
    # the words of the reasons kept only: a pair keeps a few of its columns' reasons
    text_cols = np.empty(lost.shape, dtype=object)
    for j, (cost, text, _) in enumerate(every):
        rows = np.flatnonzero(keep[:, j])
        if len(rows):
            text_cols[rows, j] = _with_points(text.iloc[rows], cost.iloc[rows], min_points)
    # rules in their order; then by points lost; notes that cost nothing last
    # (rounded: two ways of computing ten thirds are one cost, and keep the reasons' order)
    rank = np.where(
        is_rule, RULE_FIRST - np.arange(lost.shape[1]), np.where(costly, lost.round(6), -1)
    )
    order = np.argsort(-rank, axis=1, kind="stable")
    kept = np.take_along_axis(keep, order, axis=1)  # the kept reasons come first in each row
    values = np.take_along_axis(text_cols, order, axis=1)[kept]
    offsets = np.r_[0, np.cumsum(kept.sum(axis=1))].astype(np.int32)
    reasons = pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, type=pa.string()))
    return pd.Series(pd.arrays.ArrowExtensionArray(reasons), index=index)
