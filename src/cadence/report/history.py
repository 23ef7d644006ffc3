"""What changed since the previous report (the summary figures themselves are
:func:`cadence.analysis.summary.summary`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cadence.analysis import Analysis
from cadence.model import Snapshot

ATTENTION = ("lapsed", "at_risk")


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
