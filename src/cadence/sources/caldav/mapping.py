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
    problems: list[str] = []
    for href, raw in objects:
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
        except (IcsError, ValueError, KeyError, TypeError, AttributeError) as exc:
            found.append(ical.IcsProblem(href, getattr(exc, "uid", None), f"unreadable: {exc}"))
        problems.extend(str(p) for p in found)
    events, attendees = _dedupe(
        pd.DataFrame(rows, columns=EVENTS.names), pd.DataFrame(people, columns=ATTENDEES.names)
    )
    return events, attendees, problems


def combine(parts: list[tuple[pd.DataFrame, pd.DataFrame]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One owner's calendars together (an occurrence in two of them: the newest copy)."""
    if len(parts) == 1:
        return parts[0]
    return _dedupe(
        pd.concat([p[0] for p in parts], ignore_index=True),
        pd.concat([p[1] for p in parts], ignore_index=True),
    )


def _dedupe(events: pd.DataFrame, attendees: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    events = events.copy()
    attendees = attendees.copy()
    events["source"] = SOURCE
    attendees["source"] = SOURCE
    # one occurrence in two objects of a calendar (a copy left behind): keep the newest
    keys = list(EVENTS.key)
    events = events.sort_values("updated", na_position="first", kind="stable").drop_duplicates(
        keys, keep="last"
    )
    attendees = attendees.drop_duplicates(list(ATTENDEES.key), keep="last")
    attendees = attendees.merge(events[keys], on=keys)
    events = validate(events, EVENTS).sort_values(["start", "event_id"], ignore_index=True)
    return events, validate(attendees, ATTENDEES)
