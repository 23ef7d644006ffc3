"""One row per 1:1 occurrence, the two calendar copies merged, with its outcome.

Rules (``shared/DESIGN.md``):

- the copies of one occurrence share ``(ical_uid, original_start)`` and the pair;
- times and status come from the organizer's copy when it is there;
- ``cancelled`` when the organizer's copy is cancelled (or, with no organizer
  copy, when every copy is); cancellations the store inferred from a vanished
  occurrence are already ``status == "cancelled"`` rows;
- each person's own copy is trusted for their response: ``declined`` when a
  person declined in their own copy, or removed their own copy while the
  organizer's stands; another copy's view of them counts only when their own
  copy is missing;
- otherwise ``held`` once its start has passed, else ``scheduled``;
- ``moved`` when ``start`` differs from ``original_start``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cadence.analysis.pairs import INSTANCE as PAIR_INSTANCE
from cadence.analysis.pairs import KEY
from cadence.model import STRING

OUTCOMES = ("held", "cancelled", "declined", "scheduled")
INSTANCE = ["person_a", "person_b", *PAIR_INSTANCE]


def classify(copies: pd.DataFrame, attendees: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Merge the calendar copies of each 1:1 occurrence and classify it.

    ``copies`` is the output of :func:`cadence.analysis.pairs.one_on_ones`.
    """
    c = copies.copy()
    c["is_org_copy"] = c["calendar"] == c["organizer"]
    c["is_cancelled"] = c["status"] == "cancelled"
    c["org_cancelled"] = c["is_org_copy"] & c["is_cancelled"]
    # prefer the organizer's copy, then the most recently updated one
    c = c.sort_values([*INSTANCE, "is_org_copy", "updated"], ascending=[True] * 4 + [False, False])
    grouped = c.groupby(INSTANCE, sort=False, observed=True)
    first = grouped.head(1).set_index(INSTANCE)
    flags = grouped.agg(
        has_org_copy=("is_org_copy", "any"),
        org_cancelled=("org_cancelled", "any"),
        all_cancelled=("is_cancelled", "all"),
        copies=("calendar", "size"),
    )
    occ = first.drop(columns=["is_org_copy", "is_cancelled", "org_cancelled"]).join(flags)
    occ["cancelled"] = occ["org_cancelled"] | (~occ["has_org_copy"] & occ["all_cancelled"])

    declined_by = _decliners(c, attendees)
    occ = occ.join(declined_by)
    occ["declined_by"] = occ["declined_by"].astype(STRING)

    occ = occ.reset_index()
    past = occ["start"] < as_of
    occ["outcome"] = np.select(
        [occ["cancelled"], occ["declined_by"].notna().to_numpy(), past],
        ["cancelled", "declined", "held"],
        "scheduled",
    )
    occ["outcome"] = pd.Categorical(occ["outcome"], categories=OUTCOMES)
    occ["moved"] = occ["start"] != occ["original_start"]
    occ["moved_by"] = occ["start"] - occ["original_start"]
    keep = [
        *INSTANCE,
        *(c for c in ("manager", "report") if c in occ.columns),
        "series_id",
        "start",
        "end",
        "timezone",
        "organizer",
        "recurrence",
        "title",
        "status",
        "outcome",
        "moved",
        "moved_by",
        "declined_by",
        "copies",
        "source",
    ]
    return occ[keep].sort_values(["person_a", "person_b", "original_start"], ignore_index=True)


def _decliners(copies: pd.DataFrame, attendees: pd.DataFrame) -> pd.DataFrame:
    """Per occurrence, the first person who declined it (own copy trusted first)."""
    base = copies[[*KEY, *INSTANCE, "organizer", "is_cancelled"]]
    resp = attendees.loc[~attendees["is_resource"], [*KEY, "email", "response"]].merge(base, on=KEY)
    # keep only the two people of the pair
    resp = resp[(resp["email"] == resp["person_a"]) | (resp["email"] == resp["person_b"])]
    resp = resp.assign(
        own=resp["calendar"] == resp["email"],
        said_no=resp["response"] == "declined",
    )
    # a person who removed their own copy while the organizer's stands declined it
    removed = base[base["is_cancelled"] & (base["calendar"] != base["organizer"])]
    removed = removed.assign(email=removed["calendar"], own=True, said_no=True)
    allrows = pd.concat(
        [
            resp[[*INSTANCE, "email", "own", "said_no"]],
            removed[[*INSTANCE, "email", "own", "said_no"]],
        ],
        ignore_index=True,
    )
    allrows["own_no"] = allrows["own"] & allrows["said_no"]
    allrows["other_no"] = ~allrows["own"] & allrows["said_no"]
    per_person = allrows.groupby([*INSTANCE, "email"], sort=False, observed=True).agg(
        has_own=("own", "any"), own_no=("own_no", "any"), other_no=("other_no", "any")
    )
    per_person["declined"] = per_person["own_no"] | (
        ~per_person["has_own"] & per_person["other_no"]
    )
    who = per_person[per_person["declined"]].reset_index()
    who = who.sort_values([*INSTANCE, "email"]).groupby(INSTANCE, sort=False).head(1)
    return who.set_index(INSTANCE)[["email"]].rename(columns={"email": "declined_by"})
