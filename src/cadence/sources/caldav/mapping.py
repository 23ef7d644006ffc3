"""CalDAV objects → the normalized frames, through the one iCalendar mapping (pure).

A CalDAV calendar object resource is an iCalendar text holding one event: its
master and its overrides (RECURRENCE-ID), with the VTIMEZONEs they use. Each is
read by :mod:`cadence.sources.ics.mapping` — the same ``parse`` and
``occurrences`` the ``.ics`` importer uses — so EXDATE, RECURRENCE-ID,
STATUS:CANCELLED and PARTSTAT mean exactly what they mean in an exported file.
This module only adapts: bytes from an href rather than a file, the rows
labelled ``caldav``, titles dropped (Cadence does not keep them for CalDAV: no
report needs them), and an object that cannot be read skipped and listed,
never the calendar's failure.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cadence.errors import IcsError
from cadence.model import ATTENDEES, EVENTS, validate
from cadence.sources.caldav.settings import SOURCE
from cadence.sources.ics import mapping as ical
from cadence.zones import iana_zone


def map_objects(
    owner: str,
    objects: Iterable[tuple[str, bytes]],
    window: tuple[pd.Timestamp, pd.Timestamp],
    *,
    zone: str = "UTC",
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The occurrences in ``window`` of a calendar's objects (href, bytes); and what was skipped.

    ``zone`` is the calendar's zone for floating times (an object's own
    ``X-WR-TIMEZONE`` wins, as for files).
    """
    lo, hi = window
    rows: list[dict[str, Any]] = []
    people: list[dict[str, Any]] = []
    row_of: list[int] = []  # per row and per attendee row: the object it came from
    person_of: list[int] = []
    problems: list[str] = []
    for number, (href, raw) in enumerate(objects):
        where = Path(href)  # the ics mapping names its origin by path in messages
        found: list[ical.IcsProblem] = []
        upper = raw.upper()
        if b"BEGIN:VCALENDAR" not in upper or b"END:VCALENDAR" not in upper:
            problems.append(f"{href}: skipped: not a whole iCalendar object")
            continue
        try:
            cal, skipped = ical.parse(where, raw, False)
            found.extend(skipped)
            own_zone = iana_zone(str(cal.get("X-WR-TIMEZONE", ""))) or zone
            for row, who in ical.occurrences(cal, where, owner, lo, hi, own_zone, False, found):
                rows.append(row)
                people.extend(who)
                row_of.append(number)
                person_of.extend([number] * len(who))
        except (IcsError, ValueError, KeyError, TypeError, AttributeError) as exc:
            found.append(ical.IcsProblem(href, getattr(exc, "uid", None), f"unreadable: {exc}"))
        problems.extend(str(p) for p in found)
    events, attendees = _dedupe(
        pd.DataFrame(rows, columns=EVENTS.names),
        pd.DataFrame(people, columns=ATTENDEES.names),
        np.asarray(row_of, dtype=np.int64),
        np.asarray(person_of, dtype=np.int64),
    )
    return events, attendees, problems


def combine(parts: list[tuple[pd.DataFrame, pd.DataFrame]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One owner's calendars together (an occurrence in two of them: the newest copy)."""
    if len(parts) == 1:
        return parts[0]
    return _dedupe(
        pd.concat([p[0] for p in parts], ignore_index=True),
        pd.concat([p[1] for p in parts], ignore_index=True),
        np.repeat(np.arange(len(parts)), [len(p[0]) for p in parts]),
        np.repeat(np.arange(len(parts)), [len(p[1]) for p in parts]),
    )


def _dedupe(
    events: pd.DataFrame,
    attendees: pd.DataFrame,
    event_origin: np.ndarray,
    people_origin: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows labelled ``caldav``, checked, events in (start, event_id) order.

    An occurrence in two objects of a calendar (a copy left behind), or in two calendars of
    one owner (``*_origin``: the object or calendar of each row), is kept once: the newest
    copy (``updated``; missing counts as oldest, a tie goes to the later object), with that
    copy's attendees only. The frames are the caller's own (just built): written in place.
    """
    events["source"] = SOURCE
    attendees["source"] = SOURCE
    keys = list(EVENTS.key)  # the source is the same for every row: calendar and event id
    pairs = list(zip(events["calendar"], events["event_id"], strict=True))
    if len(set(pairs)) < len(pairs):
        newest = events.sort_values("updated", na_position="first", kind="stable")
        newest = newest.drop_duplicates(keys, keep="last")
        kept = set(
            zip(
                newest["calendar"],
                newest["event_id"],
                event_origin[newest.index.to_numpy()],
                strict=True,
            )
        )
        mine = [
            key in kept
            for key in zip(attendees["calendar"], attendees["event_id"], people_origin, strict=True)
        ]
        events, attendees = newest, attendees[np.asarray(mine, dtype=bool)]
    who = list(zip(attendees["calendar"], attendees["event_id"], attendees["email"], strict=True))
    if len(set(who)) < len(who):  # a person named twice on one occurrence
        attendees = attendees.drop_duplicates(list(ATTENDEES.key), keep="last")
    events = validate(events, EVENTS).sort_values(["start", "event_id"], ignore_index=True)
    return events, validate(attendees, ATTENDEES)
