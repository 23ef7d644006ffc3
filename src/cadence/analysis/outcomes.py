"""One row per 1:1 occurrence, the calendar copies merged, with its outcome and flags.

Rules (``shared/DESIGN.md``, refined in the README):

- the copies of one occurrence share ``(ical_uid, original_start)`` and the pair;
- times and status come from the organizer's copy when it is there;
- ``cancelled`` when the organizer's copy is cancelled (or, with no organizer
  copy, when every copy is); occurrences the store saw vanish before their
  start are already ``status == "cancelled"`` rows;
- each person's own copy is trusted for their response: ``declined`` when a
  person declined in their own copy, or removed their own copy while the
  organizer's stands; another copy's view of them counts only when their own
  copy is missing;
- otherwise ``held`` once its start has passed, else ``scheduled``;
- ``moved`` when ``start`` differs from ``original_start``;
- ``late_cancel`` when cancelled less than ``late_cancel_hours`` before its
  start (cancellation time: when the store saw it vanish, else the
  organizer's copy's ``updated``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cadence.analysis.pairs import INSTANCE as COPY_INSTANCE
from cadence.analysis.pairs import KEY
from cadence.model import STRING

OUTCOMES = ("held", "cancelled", "declined", "scheduled")
OUTCOME_DTYPE = pd.CategoricalDtype(list(OUTCOMES))
DIRECTION_DTYPE = pd.CategoricalDtype(["earlier", "later"])
INSTANCE = ["person_a", "person_b", *COPY_INSTANCE]


def classify(
    copies: pd.DataFrame,
    attendees: pd.DataFrame,
    as_of: pd.Timestamp,
    *,
    late_cancel_hours: float = 24,
) -> pd.DataFrame:
    """Merge the calendar copies of each 1:1 occurrence and classify it.

    ``copies`` is the output of :func:`cadence.analysis.pairs.one_on_ones`,
    optionally with a ``vanished_at`` column from the store.
    """
    c = copies.copy()
    c["is_org_copy"] = c["calendar"] == c["organizer"]
    c["is_cancelled"] = c["status"] == "cancelled"
    c["org_cancelled"] = c["is_org_copy"] & c["is_cancelled"]
    if "vanished_at" not in c.columns:
        c["vanished_at"] = pd.Series(pd.NaT, index=c.index, dtype="datetime64[us, UTC]")
    # prefer the organizer's copy, then the most recently updated one, then a stable tie-break
    c = c.sort_values(
        [*INSTANCE, "is_org_copy", "updated", "calendar"],
        ascending=[True] * 4 + [False, False, True],
        na_position="last",
    )
    grouped = c.groupby(INSTANCE, sort=False, observed=True)
    first = grouped.head(1).set_index(INSTANCE)
    flags = grouped.agg(
        has_org_copy=("is_org_copy", "any"),
        org_cancelled=("org_cancelled", "any"),
        all_cancelled=("is_cancelled", "all"),
        copies=("calendar", "size"),
    )
    occ = first.drop(columns=["is_org_copy", "is_cancelled", "org_cancelled"]).join(flags)
    cancelled = occ["org_cancelled"] | (~occ["has_org_copy"] & occ["all_cancelled"])
    occ["cancelled_by"] = occ["organizer"].where(cancelled).astype(STRING)
    cancel_time = occ["vanished_at"].where(occ["vanished_at"].notna(), occ["updated"])
    occ["cancelled_at"] = cancel_time.where(cancelled)
    lead = occ["start"] - occ["cancelled_at"]
    occ["late_cancel"] = (cancelled & (lead < pd.Timedelta(hours=late_cancel_hours))).fillna(False)

    occ = occ.join(_decliners(c, attendees))
    occ["declined_by"] = occ["declined_by"].astype(STRING)
    occ = occ.reset_index()
    past = occ["start"] < as_of
    outcome = np.select(
        [cancelled.to_numpy(), occ["declined_by"].notna().to_numpy(), past.to_numpy()],
        ["cancelled", "declined", "held"],
        "scheduled",
    )
    occ["outcome"] = pd.Categorical(outcome, dtype=OUTCOME_DTYPE)
    occ["moved_by"] = occ["start"] - occ["original_start"]
    occ["moved"] = occ["moved_by"] != pd.Timedelta(0)
    direction = pd.Series(np.where(occ["moved_by"] < pd.Timedelta(0), "earlier", "later"))
    occ["move_direction"] = pd.Categorical(
        direction.where(occ["moved"].to_numpy()), dtype=DIRECTION_DTYPE
    )
    occ["duration"] = occ["end"] - occ["start"]
    occ["adhoc"] = occ["series_id"].isna() & occ["recurrence"].isna()
    occ["series"] = occ["series_id"].fillna(occ["ical_uid"]).where(~occ["adhoc"]).astype(STRING)
    return occ.drop(columns=["has_org_copy", "org_cancelled", "all_cancelled"])


def _decliners(copies: pd.DataFrame, attendees: pd.DataFrame) -> pd.DataFrame:
    """Per occurrence, the first person who declined it (own copy trusted first)."""
    base = copies[[*KEY, *INSTANCE, "organizer", "is_cancelled"]]
    resp = attendees.loc[~attendees["is_resource"], [*KEY, "email", "response"]].merge(base, on=KEY)
    resp = resp[(resp["email"] == resp["person_a"]) | (resp["email"] == resp["person_b"])]
    resp = resp.assign(
        own=resp["calendar"] == resp["email"], said_no=resp["response"] == "declined"
    )
    # a person who removed their own copy while the organizer's stands declined it
    removed = base[base["is_cancelled"] & (base["calendar"] != base["organizer"])]
    removed = removed.assign(email=removed["calendar"], own=True, said_no=True)
    cols = [*INSTANCE, "email", "own", "said_no"]
    rows = pd.concat([resp[cols], removed[cols]], ignore_index=True)
    rows["own_no"] = rows["own"] & rows["said_no"]
    rows["other_no"] = ~rows["own"] & rows["said_no"]
    per_person = rows.groupby([*INSTANCE, "email"], sort=False, observed=True).agg(
        has_own=("own", "any"), own_no=("own_no", "any"), other_no=("other_no", "any")
    )
    declined = per_person["own_no"] | (~per_person["has_own"] & per_person["other_no"])
    who = per_person[declined].reset_index()
    who = who.sort_values([*INSTANCE, "email"]).groupby(INSTANCE, sort=False).head(1)
    return who.set_index(INSTANCE)[["email"]].rename(columns={"email": "declined_by"})
