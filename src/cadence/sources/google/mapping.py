"""Google event and user resources → the normalized frames and the roster (pure; no HTTP).

A cancelled occurrence of a series carries little more than its id, series
and original start (PROVIDERS.md): its time, people and rule come from what
the store knows of it (:class:`Known`), else from its series (stored siblings
or the series master).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cadence.model import ATTENDEES, EVENTS, validate
from cadence.sources.connector import checked_frames, skipped, unreadable
from cadence.sources.google.settings import SOURCE

_EVENT_TYPE = {
    "default": "default",
    "outOfOffice": "out_of_office",
    "focusTime": "focus_time",
    "workingLocation": "working_location",
    "birthday": "birthday",
    "fromGmail": "from_gmail",
}
_RESPONSE = {"accepted": "accepted", "declined": "declined", "tentative": "tentative"}
_EMPTY_EVENTS = validate(pd.DataFrame(columns=EVENTS.names), EVENTS)
_EMPTY_ATTENDEES = validate(pd.DataFrame(columns=ATTENDEES.names), ATTENDEES)


@dataclass
class Known:
    """What the store already holds for one calendar, to complete sparse cancelled items."""

    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    attendees: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    series: dict[str, dict[str, Any]] = field(default_factory=dict)  # series id → template


def known_from_frames(ev: pd.DataFrame, at: pd.DataFrame) -> dict[str, Known]:
    """The stored Google rows (events and attendees frames), by calendar."""
    if ev.empty:  # a first pull: nothing stored (a millisecond of frame methods saved)
        return {}
    out = {str(c): Known() for c in ev["calendar"].unique()}
    attendees: dict[tuple[str, str], list[dict[str, Any]]] = {}
    rec: dict[str, Any]
    for rec in at.to_dict("records"):  # type: ignore[assignment]
        row = rec
        attendees.setdefault((row["calendar"], row["event_id"]), []).append(row)
    for rec in ev.to_dict("records"):  # type: ignore[assignment]
        row = rec
        k = out[row["calendar"]]
        k.events[row["event_id"]] = row
        k.attendees[row["event_id"]] = attendees.get((row["calendar"], row["event_id"]), [])
        if not pd.isna(row["series_id"]) and row["status"] != "cancelled":
            k.series.setdefault(
                row["series_id"],
                {**row, "_attendees": k.attendees[row["event_id"]]},
            )
    return out


def _when(value: Mapping[str, Any] | None) -> tuple[pd.Timestamp | None, bool, str | None]:
    """A Google ``start``/``end``/``originalStartTime`` → (UTC instant, all day, zone)."""
    if not value:
        return None, False, None
    zone = value.get("timeZone")
    if "dateTime" in value:
        return pd.Timestamp(value["dateTime"]).tz_convert("UTC"), False, zone
    if "date" in value:
        return pd.Timestamp(value["date"], tz="UTC"), True, zone
    return None, False, zone


def _rrule(recurrence: list[str] | None) -> str | None:
    for line in recurrence or []:
        if line.upper().startswith("RRULE:"):
            return line[6:]
    return None


def map_items(
    calendar: str,
    items: list[dict[str, Any]],
    *,
    known: Known | None = None,
    masters: Mapping[str, dict[str, Any]] | None = None,
    zone: str | None = None,
    problems: list[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Google event resources (occurrences) → the model's events and attendees frames.

    With a ``problems`` list, an item that cannot be mapped (an unparsable date…) is
    skipped and listed there (calendar, event id, why) instead of failing the calendar.

    A cancelled occurrence of a series carries little more than its id, series
    and original start: its time, people and rule come from what the store
    knows of it, else from its series (stored siblings or the series master).
    A cancelled one-off event the store never saw is dropped (nothing to
    attach it to).
    """
    if not items:
        return _EMPTY_EVENTS.copy(), _EMPTY_ATTENDEES.copy()
    known = known or Known()
    masters = masters or {}
    siblings: dict[str, dict[str, Any]] = {}
    for item in items:
        series = item.get("recurringEventId")
        if series and item.get("status") != "cancelled" and item.get("attendees"):
            siblings.setdefault(series, item)
    events: list[dict[str, Any]] = []
    people: list[dict[str, Any]] = []
    for item in items:
        try:
            row, attendees = _map_one(calendar, item, known, masters, siblings, zone)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            if problems is None:
                raise
            problems.append(
                skipped(calendar, item.get("id"), f"cannot be read ({unreadable(exc)})")
            )
            continue
        if row is None:
            continue
        events.append(row)
        people.extend(attendees)
    return checked_frames(calendar, events, people, problems)


def _map_one(
    calendar: str,
    item: dict[str, Any],
    known: Known,
    masters: Mapping[str, dict[str, Any]],
    siblings: Mapping[str, dict[str, Any]],
    zone: str | None,
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    event_id = item["id"]
    series = item.get("recurringEventId")
    status = item.get("status", "confirmed")
    stored = known.events.get(event_id)
    master = masters.get(series) if series else None
    template: Mapping[str, Any] | None = (siblings.get(series) or master) if series else None
    stored_series = known.series.get(series) if series else None

    original, _, ozone = _when(item.get("originalStartTime"))
    start, all_day, szone = _when(item.get("start"))
    end, _, _ = _when(item.get("end"))
    sparse = start is None
    if sparse:
        if stored is not None:
            start, end, all_day = stored["start"], stored["end"], bool(stored["all_day"])
        elif original is not None:
            start = original
            duration = _duration(template) if template else None
            if duration is None and stored_series is not None:
                duration = stored_series["end"] - stored_series["start"]
            end = start + (duration if duration is not None else pd.Timedelta(0))
            all_day = "date" in (item.get("originalStartTime") or {})
        else:
            return None, []  # a cancelled one-off we never saw: nothing to attach it to
    if original is None:
        original = stored["original_start"] if stored is not None else start
    rule = _rrule(master.get("recurrence")) if master else None
    if rule is None and stored_series is not None and not pd.isna(stored_series["recurrence"]):
        rule = stored_series["recurrence"]
    if rule is None and stored is not None and not pd.isna(stored["recurrence"]):
        rule = stored["recurrence"]
    ical = item.get("iCalUID") or (master or {}).get("iCalUID")
    if not ical and stored is not None:
        ical = stored["ical_uid"]
    if not ical and stored_series is not None:
        ical = stored_series["ical_uid"]
    if not ical:
        ical = f"{series or event_id}@google"
    organizer = (item.get("organizer") or {}).get("email")
    if organizer is None:
        organizer = ((template or {}).get("organizer") or {}).get("email")
    if organizer is None and stored is not None and not pd.isna(stored["organizer"]):
        organizer = stored["organizer"]
    row = {
        "source": SOURCE,
        "calendar": calendar,
        "event_id": event_id,
        "series_id": series,
        "ical_uid": ical,
        "original_start": original,
        "start": start,
        "end": end if end is not None and start is not None and end >= start else start,
        "timezone": szone or ozone or (stored or {}).get("timezone") or zone,
        "all_day": all_day,
        "status": status if status in ("confirmed", "tentative", "cancelled") else "confirmed",
        "organizer": organizer,
        "recurrence": rule,
        "event_type": _EVENT_TYPE.get(item.get("eventType", "default"), "other"),
        "created": _ts(item.get("created")),
        "updated": _ts(item.get("updated")),
        # a cancelled instance's own last change is when it was cancelled (a series master's
        # is not: it is never read here); sparse cancelled items usually carry none
        "cancelled_at": _ts(item.get("updated")) if status == "cancelled" else None,
    }
    if stored is not None and "eventType" not in item:
        row["event_type"] = stored["event_type"]
    raw = item.get("attendees")
    if raw is None and sparse:
        if stored is not None:
            return row, [dict(a) for a in known.attendees.get(event_id, [])]
        if template is not None:
            raw = template.get("attendees")
        elif stored_series is not None:
            return row, [{**a, "event_id": event_id} for a in stored_series.get("_attendees", [])]
    return row, _attendees(calendar, event_id, raw or [], organizer)


def _duration(resource: Mapping[str, Any]) -> pd.Timedelta | None:
    start, _, _ = _when(resource.get("start"))
    end, _, _ = _when(resource.get("end"))
    if start is None or end is None:
        return None
    return end - start


def _ts(value: str | None) -> pd.Timestamp | None:
    return None if not value else pd.Timestamp(value).tz_convert("UTC")


def _attendees(
    calendar: str, event_id: str, raw: list[dict[str, Any]], organizer: str | None
) -> list[dict[str, Any]]:
    out = []
    seen = set()
    for a in raw:
        email = (a.get("email") or "").strip().lower()
        if not email or email in seen:
            continue
        seen.add(email)
        role = (
            "organizer"
            if a.get("organizer") or email == (organizer or "").lower()
            else "optional"
            if a.get("optional")
            else "required"
        )
        out.append(
            {
                "source": SOURCE,
                "calendar": calendar,
                "event_id": event_id,
                "email": email,
                "role": role,
                "response": _RESPONSE.get(a.get("responseStatus", ""), "none"),
                "is_resource": bool(a.get("resource")),
            }
        )
    return out


def series_needing_master(items: list[dict[str, Any]], known: Known) -> list[str]:
    """Series whose rule (or, for sparse cancelled items, whose people) we do not know yet."""
    have = set(known.series)
    return sorted({i["recurringEventId"] for i in items if i.get("recurringEventId")} - have)


def map_users(users: list[dict[str, Any]]) -> pd.DataFrame:
    """Directory users → the roster frame (manager relation, primary department, org unit).

    Suspended users are left out; a manager outside the directory (or suspended)
    cannot anchor anyone, so their reports become top level. Checked by
    :func:`cadence.org.check_roster`.
    """
    from cadence.org import check_roster

    rows = []
    for user in users:
        if user.get("suspended"):
            continue
        manager = next(
            (r.get("value") for r in user.get("relations", []) if r.get("type") == "manager"),
            None,
        )
        organizations = user.get("organizations") or [{}]
        org = next((o for o in organizations if o.get("primary")), organizations[0])
        rows.append(
            {
                "email": user["primaryEmail"],
                "manager_email": manager,
                "name": (user.get("name") or {}).get("fullName"),
                "department": org.get("department"),
                "team": user.get("orgUnitPath"),
            }
        )
    frame = pd.DataFrame(rows, columns=["email", "manager_email", "name", "department", "team"])
    known = set(frame["email"].str.lower())
    # a manager outside the directory (or suspended) cannot anchor anyone: make them top level
    frame.loc[~frame["manager_email"].str.lower().isin(known), "manager_email"] = None
    return check_roster(frame, origin="Google directory")
