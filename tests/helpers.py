"""Builders for small hand-made frames (fixed dates, never "today")."""

from __future__ import annotations

import pandas as pd

from cadence.model import ATTENDEES, EVENTS, validate_attendees, validate_events


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def event(**over: object) -> dict[str, object]:
    """One events-frame row with sensible defaults; override any column."""
    row: dict[str, object] = {
        "source": "demo",
        "calendar": "ann@example.com",
        "event_id": "e1",
        "series_id": None,
        "ical_uid": "uid-1",
        "original_start": ts("2026-06-01 09:00"),
        "start": ts("2026-06-01 09:00"),
        "end": ts("2026-06-01 09:30"),
        "timezone": "Europe/Berlin",
        "all_day": False,
        "status": "confirmed",
        "organizer": "ann@example.com",
        "recurrence": None,
        "event_type": "default",
        "title": "1:1",
        "created": ts("2026-01-01"),
        "updated": ts("2026-01-01"),
    }
    row.update(over)
    return row


def attendee(**over: object) -> dict[str, object]:
    row: dict[str, object] = {
        "source": "demo",
        "calendar": "ann@example.com",
        "event_id": "e1",
        "email": "ann@example.com",
        "role": "organizer",
        "response": "accepted",
        "is_resource": False,
    }
    row.update(over)
    return row


def frames(
    events: list[dict[str, object]], attendees: list[dict[str, object]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        validate_events(pd.DataFrame(events, columns=EVENTS.names)),
        validate_attendees(pd.DataFrame(attendees, columns=ATTENDEES.names)),
    )


def one_on_one_copies(
    a: str = "ann@example.com",
    b: str = "bob@example.com",
    *,
    event_id: str = "e1",
    uid: str = "uid-1",
    start: str = "2026-06-01 09:00",
    original: str | None = None,
    a_status: str = "confirmed",
    b_status: str = "confirmed",
    a_sees_b: str = "accepted",
    b_sees_b: str = "accepted",
    minutes: int = 30,
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Both calendar copies of one 1:1 organized by ``a`` with ``b``."""
    s = ts(start)
    o = ts(original) if original else s
    evs, ats = [], []
    for cal, status, b_resp in ((a, a_status, a_sees_b), (b, b_status, b_sees_b)):
        evs.append(
            event(
                calendar=cal,
                event_id=event_id,
                ical_uid=uid,
                original_start=o,
                start=s,
                end=s + pd.Timedelta(minutes=minutes),
                organizer=a,
                status=status,
            )
        )
        ats.append(attendee(calendar=cal, event_id=event_id, email=a, role="organizer"))
        ats.append(
            attendee(calendar=cal, event_id=event_id, email=b, role="required", response=b_resp)
        )
    return evs, ats
