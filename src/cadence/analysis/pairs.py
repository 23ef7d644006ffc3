"""Which event copies are 1:1s, and between which pair of people.

A **1:1** is a timed (not all-day) event of type ``default`` whose human
participants (organizer included, resources excluded) are exactly two distinct
people, counted over every calendar copy of the occurrence (copies share
``(ical_uid, original_start)``). With a roster only manager–report pairs count (oriented as
``manager``, ``report``) unless peers are allowed; without one every pair of
people is a pair (``person_a`` < ``person_b``).
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
    roster: pd.DataFrame | None = None,
    *,
    include_peers: bool = False,
) -> pd.DataFrame:
    """The event copies that are 1:1s, with ``person_a`` and ``person_b`` added.

    With a ``roster`` (columns ``email``, ``manager_email``) the result also has
    ``manager`` and ``report`` and keeps manager–report pairs only, unless
    ``include_peers``.
    """
    timed = events[~events["all_day"] & (events["event_type"] == "default")]
    people = participants(timed, attendees)
    # Judge the occurrence, not one copy: the people on any copy of the same instance count.
    people = people.merge(timed[[*KEY, *INSTANCE]], on=KEY)
    grouped = people.groupby(INSTANCE, sort=False, observed=True)["email"]
    two = grouped.agg(["nunique", "min", "max"])
    two = two[two["nunique"] == 2].drop(columns="nunique")
    two = two.rename(columns={"min": "person_a", "max": "person_b"}).reset_index()
    out = timed.merge(two, on=INSTANCE)
    if roster is None:
        return out
    manager_of = roster.set_index("email")["manager_email"]
    a_manages_b = out["person_b"].map(manager_of) == out["person_a"]
    b_manages_a = out["person_a"].map(manager_of) == out["person_b"]
    a_manages_b = a_manages_b.fillna(False).astype(bool)
    b_manages_a = b_manages_a.fillna(False).astype(bool)
    out["manager"] = out["person_a"].where(a_manages_b, out["person_b"].where(b_manages_a))
    out["report"] = out["person_b"].where(a_manages_b, out["person_a"].where(b_manages_a))
    out["manager"] = out["manager"].astype(STRING)
    out["report"] = out["report"].astype(STRING)
    if not include_peers:
        out = out[a_manages_b | b_manages_a].reset_index(drop=True)
    return out
