"""Summary figures of a report and what changed since the previous one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cadence.analysis import Analysis
from cadence.model import Snapshot

ATTENTION = ("lapsed", "at_risk")


def cards(analysis: Analysis) -> dict[str, Any]:
    """The summary figures at the top of a report (plain numbers, JSON-ready).

    Rates are shares of past 1:1s in the window; ``gap_ratio`` is the median over
    pairs of (median gap between held 1:1s ÷ target).

    >>> import cadence
    >>> org = cadence.load_demo(30, seed=3, as_of="2026-06-30")
    >>> c = cards(cadence.analyze(org, org.roster, as_of="2026-06-30"))
    >>> 0 < c["held"] <= c["past"] and 0 <= c["cancellation_rate"] <= 1
    True
    """
    p = analysis.pairs
    past = int(p["past"].sum())

    def rate(col: str) -> float | None:
        return float(p[col].sum()) / past if past else None

    expected = float(p["expected"].sum())
    ratio = (p["median_gap_days"] / p["target_days"]).dropna()
    status = p["status"].astype(str).value_counts()
    return {
        "pairs": len(p),
        "people": int(pd.concat([p["person_a"], p["person_b"]]).nunique()),
        "held": int(p["held"].sum()),
        "expected": round(expected, 1),
        "held_share": float(p["held"].sum()) / expected if expected else None,
        "past": past,
        "cancellation_rate": rate("cancelled"),
        "late_cancel_rate": rate("late_cancelled"),
        "decline_rate": rate("declined"),
        "moved_rate": rate("moved"),
        "median_gap_days": _median(p["median_gap_days"]),
        "median_target_days": _median(p["target_days"]),
        "gap_ratio": float(ratio.median()) if len(ratio) else None,
        **{s: int(status.get(s, 0)) for s in ("healthy", "watch", "at_risk", "lapsed")},
    }


def _median(values: pd.Series) -> float | None:
    values = values.dropna()
    return float(values.median()) if len(values) else None


@dataclass(frozen=True)
class Since:
    """What changed since the previous report of the same scope."""

    previous_as_of: pd.Timestamp
    previous_cards: dict[str, Any]
    newly_flagged: pd.DataFrame  # now lapsed / at risk, were not (or were not there)
    recovered: pd.DataFrame  # were lapsed / at risk, now healthy / watch
    worsened: pd.DataFrame  # at risk → lapsed
    new_pairs: int
    gone_pairs: int


def since(analysis: Analysis, previous: Snapshot) -> Since:
    """Compare this analysis's pairs with a previous report's snapshot.

    Pairs are matched by their label (manager → report emails).

    Examples
    --------
    >>> import cadence
    >>> import pandas as pd
    >>> from cadence.model import Snapshot
    >>> week_ago = result.as_of - pd.Timedelta(days=7)
    >>> all_healthy = Snapshot(week_ago, {}, result.pairs.assign(status="healthy"))
    >>> change = cadence.report.since(result, all_healthy)
    >>> flagged = result.pairs["status"].isin(["lapsed", "at_risk"])
    >>> len(change.newly_flagged) == int(flagged.sum())
    True
    """
    now = analysis.pairs[["pair", "status", "health_score"]].astype({"pair": str, "status": str})
    before = previous.pairs.rename(columns={"status": "was", "health_score": "score_was"})
    both = now.merge(before, on="pair", how="outer", indicator=True)
    flagged_now = both["status"].isin(ATTENTION)
    flagged_before = both["was"].isin(ATTENTION)
    present = both["_merge"] != "right_only"
    cols = ["pair", "status", "was", "health_score", "score_was"]
    return Since(
        previous_as_of=previous.as_of,
        previous_cards=previous.cards,
        newly_flagged=both.loc[flagged_now & ~flagged_before, cols].reset_index(drop=True),
        recovered=both.loc[present & flagged_before & ~flagged_now, cols].reset_index(drop=True),
        worsened=both.loc[
            (both["was"] == "at_risk") & (both["status"] == "lapsed"), cols
        ].reset_index(drop=True),
        new_pairs=int((both["_merge"] == "left_only").sum()),
        gone_pairs=int((both["_merge"] == "right_only").sum()),
    )


def delta(now: float | None, before: float | None) -> float | None:
    """``now - before`` where both are known."""
    if now is None or before is None or np.isnan(now) or np.isnan(before):
        return None
    return now - before
