"""Which event copies are 1:1s, and between which pair of people.

A **1:1** is a timed (not all-day) event of type ``default`` whose human
participants (organizer included, resources excluded) are exactly two distinct
people, counted over every calendar copy of the occurrence (copies share
``(ical_uid, original_start)``). Without a roster every pair of people is a
pair (``person_a`` < ``person_b``). With one, pairs are oriented
(``manager``, ``report``) and only manager–report pairs count, plus
skip-levels and peers when the settings ask for them (``relation`` says which).
"""

from __future__ import annotations

import pandas as pd

from cadence.model import EVENTS, STRING

KEY = list(EVENTS.key)
INSTANCE = ["ical_uid", "original_start"]  # ties the calendar copies of one occurrence


def participants(events: pd.DataFrame, attendees: pd.DataFrame) -> pd.DataFrame:
    """Human participants of every event copy: attendees that are not resources, plus the organizer.

    One row per (source, calendar, event_id, email).
    """
    people = attendees.loc[~attendees["is_resource"], [*KEY, "email"]]
    organizers = events.loc[events["organizer"].notna(), [*KEY, "organizer"]].rename(
        columns={"organizer": "email"}
    )
    return pd.concat([people, organizers], ignore_index=True).drop_duplicates()


def one_on_ones(
    events: pd.DataFrame,
    attendees: pd.DataFrame,
    relations: pd.DataFrame | None = None,
    *,
    include_peers: bool = False,
) -> pd.DataFrame:
    """The event copies that are 1:1s, with ``person_a``, ``person_b`` (and, given
    ``relations`` — columns ``manager``, ``report``, ``relation`` — oriented
    ``manager``, ``report`` and ``relation``).
    """
    timed = events[~events["all_day"] & (events["event_type"] == "default")]
    # Only copies with at most two humans can be 1:1s: cut the attendee rows early.
    people = participants(timed, attendees)
    people = people.merge(timed[[*KEY, *INSTANCE]], on=KEY)
    grouped = people.groupby(INSTANCE, sort=False, observed=True)["email"]
    two = grouped.agg(["nunique", "min", "max"])
    two = two[two["nunique"] == 2].drop(columns="nunique")
    two = two.rename(columns={"min": "person_a", "max": "person_b"}).reset_index()
    out = timed.merge(two, on=INSTANCE)
    if relations is None:
        out["manager"] = pd.Series(pd.NA, index=out.index, dtype=STRING)
        out["report"] = pd.Series(pd.NA, index=out.index, dtype=STRING)
        out["relation"] = "pair"
        return out
    rel = relations[["manager", "report", "relation"]]
    forward = out.merge(
        rel, left_on=["person_a", "person_b"], right_on=["manager", "report"], how="left"
    )
    backward = out.merge(
        rel, left_on=["person_b", "person_a"], right_on=["manager", "report"], how="left"
    )
    found = forward["relation"].isna()
    for col in ("manager", "report", "relation"):
        forward[col] = forward[col].where(~found, backward[col])
    out = forward
    if include_peers:
        out["relation"] = out["relation"].fillna("peer")
    out = out[out["relation"].notna()].reset_index(drop=True)
    out["manager"] = out["manager"].astype(STRING)
    out["report"] = out["report"].astype(STRING)
    return out
