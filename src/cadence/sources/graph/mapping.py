"""Graph events, series masters and users → the normalized frames and the roster (pure).

Cancelled occurrences are not in ``calendarView``: the series masters'
``cancelledOccurrences`` name them (ids that encode the original date), and
they become cancelled rows at their original local slot; when the store
already holds that slot (:class:`Known`), its row is the one cancelled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cadence.errors import GraphError
from cadence.model import ATTENDEES, EVENTS, validate
from cadence.sources.connector import checked_frames, skipped, unreadable
from cadence.sources.graph.settings import SOURCE
from cadence.zones import iana_zone

_SHOW_AS = {"oof": "out_of_office", "workingElsewhere": "working_location"}
_RESPONSE = {
    "accepted": "accepted",
    "organizer": "accepted",
    "declined": "declined",
    "tentativelyAccepted": "tentative",
}
_DAYS = {
    "monday": "MO",
    "tuesday": "TU",
    "wednesday": "WE",
    "thursday": "TH",
    "friday": "FR",
    "saturday": "SA",
    "sunday": "SU",
}
_OID = re.compile(r"^OID\.(?P<master>.+)\.(?P<date>\d{4}-\d{2}-\d{2})$")
_EMPTY_EVENTS = validate(pd.DataFrame(columns=EVENTS.names), EVENTS)
_EMPTY_ATTENDEES = validate(pd.DataFrame(columns=ATTENDEES.names), ATTENDEES)


@dataclass
class Known:
    """What the store holds of one mailbox: rows by event id, series by master id."""

    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    series: dict[str, dict[str, Any]] = field(default_factory=dict)
    slots: dict[tuple[str, pd.Timestamp], dict[str, Any]] = field(default_factory=dict)


def known_from_frames(ev: pd.DataFrame) -> Known:
    """What the store holds of one mailbox (its stored events frame)."""
    known = Known()
    if ev.empty:  # a first pull: nothing stored (a millisecond of frame methods saved)
        return known
    for rec in ev.to_dict("records"):
        row: dict[str, Any] = {str(k): v for k, v in rec.items()}
        known.events[row["event_id"]] = row
        series = row["series_id"]
        if not pd.isna(series):
            if not pd.isna(row["recurrence"]):
                known.series.setdefault(series, row)
            known.slots[(series, row["original_start"])] = row
    return known


def utc(value: Mapping[str, Any] | None) -> pd.Timestamp | None:
    """Graph's ``dateTimeTimeZone`` (UTC, as the Prefer header asks) or an ISO string."""
    if not value:
        return None
    if isinstance(value, str):
        ts = pd.Timestamp(value)
    else:
        ts = pd.Timestamp(value["dateTime"])
        zone = iana_zone(value.get("timeZone")) or "UTC"
        if ts.tzinfo is None:
            ts = ts.tz_localize(zone)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def rrule(recurrence: Mapping[str, Any] | None) -> str | None:
    """Graph's ``patternedRecurrence`` as an RRULE (what the analysis reads targets from).

    >>> rrule({"pattern": {"type": "weekly", "interval": 2, "daysOfWeek": ["monday"]},
    ...        "range": {"type": "noEnd"}})
    'FREQ=WEEKLY;INTERVAL=2;BYDAY=MO'
    """
    if not recurrence:
        return None
    pattern = recurrence.get("pattern") or {}
    kind = pattern.get("type", "")
    freq = {
        "daily": "DAILY",
        "weekly": "WEEKLY",
        "absoluteMonthly": "MONTHLY",
        "relativeMonthly": "MONTHLY",
        "absoluteYearly": "YEARLY",
        "relativeYearly": "YEARLY",
    }.get(kind)
    if freq is None:
        return None
    parts = [f"FREQ={freq}"]
    interval = int(pattern.get("interval") or 1)
    if interval > 1:
        parts.append(f"INTERVAL={interval}")
    days = [_DAYS[d] for d in pattern.get("daysOfWeek") or [] if d in _DAYS]
    if days and kind in ("weekly", "relativeMonthly", "relativeYearly"):
        parts.append("BYDAY=" + ",".join(days))
    if kind in ("absoluteMonthly", "absoluteYearly") and pattern.get("dayOfMonth"):
        parts.append(f"BYMONTHDAY={pattern['dayOfMonth']}")
    rng = recurrence.get("range") or {}
    if rng.get("type") == "endDate" and rng.get("endDate"):
        parts.append("UNTIL=" + rng["endDate"].replace("-", "") + "T235959Z")
    elif rng.get("type") == "numbered" and rng.get("numberOfOccurrences"):
        parts.append(f"COUNT={rng['numberOfOccurrences']}")
    return ";".join(parts)


def map_items(
    mailbox: str,
    items: list[dict[str, Any]],
    *,
    masters: Mapping[str, dict[str, Any]] | None = None,
    known: Known | None = None,
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    problems: list[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Graph events of one mailbox (+ their series masters) → the model's frames.

    With a ``problems`` list, an item that cannot be mapped is skipped and listed there
    (mailbox, event id, why) instead of failing the mailbox.

    Cancelled occurrences named by a master's ``cancelledOccurrences`` become
    cancelled rows at their original slot (in ``window``); when the store
    already holds that slot, its row is the one cancelled.
    """
    masters = masters or {}
    known = known or Known()
    events: list[dict[str, Any]] = []
    people: list[dict[str, Any]] = []
    for item in items:
        if item.get("type") == "seriesMaster":
            continue
        master = masters.get(item.get("seriesMasterId") or "") or known.series.get(
            item.get("seriesMasterId") or ""
        )
        try:
            row, attendees = _map_one(mailbox, item, master)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            if problems is None:
                raise
            problems.append(
                skipped(
                    mailbox, item.get("id"), f"cannot be read ({unreadable(exc)})", unit="mailbox"
                )
            )
            continue
        events.append(row)
        people.extend(attendees)
    seen_slots = {(r["series_id"], r["original_start"]) for r in events if r["series_id"]}
    for master_id, master in masters.items():
        for row, attendees in _cancelled_from_master(mailbox, master_id, master, known, window):
            if (row["series_id"], row["original_start"]) in seen_slots:
                continue  # still live in calendarView: the master's list is older than the item
            events.append(row)
            people.extend(attendees)
    if not events:
        return _EMPTY_EVENTS.copy(), _EMPTY_ATTENDEES.copy()
    return checked_frames(mailbox, events, people, problems, unit="mailbox")


def _rule_of(master: Mapping[str, Any] | None) -> str | None:
    if not master:
        return None
    if "recurrence" in master and isinstance(master["recurrence"], Mapping):
        return rrule(master["recurrence"])
    value = master.get("recurrence")  # a stored row: already an RRULE string
    return None if value is None or pd.isna(value) else str(value)


def _series_uid(master: Mapping[str, Any] | None) -> str | None:
    """The series' UID: a master's ``iCalUId``, or a stored occurrence's ``ical_uid``."""
    if not master:
        return None
    value = master["iCalUId"] if "iCalUId" in master else master.get("ical_uid")
    return None if value is None or pd.isna(value) else str(value)


def _map_one(
    mailbox: str, item: dict[str, Any], master: Mapping[str, Any] | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    start = utc(item.get("start"))
    end = utc(item.get("end"))
    if start is None:
        raise GraphError(f"event {item.get('id')} has no start", calendar=mailbox)
    original = utc(item.get("originalStart")) or start
    organizer = ((item.get("organizer") or {}).get("emailAddress") or {}).get("address")
    row = {
        "source": SOURCE,
        "calendar": mailbox,
        "event_id": item["id"],
        "series_id": item.get("seriesMasterId"),
        # Graph gives each occurrence an iCalUId of its own; the series' (the master's) is the
        # UID every other calendar system knows it by: the instance key is (series UID, slot)
        "ical_uid": (_series_uid(master) if item.get("seriesMasterId") else None)
        or item.get("iCalUId")
        or item["id"],
        "original_start": original,
        "start": start,
        "end": end if end is not None and end >= start else start,
        "timezone": iana_zone(item.get("originalStartTimeZone")),
        "all_day": bool(item.get("isAllDay")),
        "status": "cancelled" if item.get("isCancelled") else "confirmed",
        "organizer": organizer,
        "recurrence": _rule_of(master),
        "event_type": _SHOW_AS.get(item.get("showAs", ""), "default"),
        "created": utc(item.get("createdDateTime")),
        "updated": utc(item.get("lastModifiedDateTime")),
    }
    own = ((item.get("responseStatus") or {}).get("response")) or "none"
    return row, _attendees(mailbox, item["id"], item.get("attendees") or [], organizer, own)


def _attendees(
    mailbox: str,
    event_id: str,
    raw: list[dict[str, Any]],
    organizer: str | None,
    own_response: str,
) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    org = (organizer or "").lower()
    for a in raw:
        email = ((a.get("emailAddress") or {}).get("address") or "").strip().lower()
        if not email:
            continue
        kind = a.get("type", "required")
        response = ((a.get("status") or {}).get("response")) or "none"
        out[email] = {
            "source": SOURCE,
            "calendar": mailbox,
            "event_id": event_id,
            "email": email,
            "role": "organizer"
            if email == org
            else "optional"
            if kind == "optional"
            else "required",
            "response": _RESPONSE.get(response, "none"),
            "is_resource": kind == "resource",
        }
    if org and org not in out:
        out[org] = {
            "source": SOURCE,
            "calendar": mailbox,
            "event_id": event_id,
            "email": org,
            "role": "organizer",
            "response": "accepted",
            "is_resource": False,
        }
    me = mailbox.lower()
    if me in out and me != org:  # the mailbox's own answer is in responseStatus
        out[me]["response"] = _RESPONSE.get(own_response, out[me]["response"])
    return list(out.values())


def _cancelled_from_master(
    mailbox: str,
    master_id: str,
    master: Mapping[str, Any],
    known: Known,
    window: tuple[pd.Timestamp, pd.Timestamp] | None,
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    start = master.get("start") or {}
    zone = iana_zone(master.get("originalStartTimeZone")) or iana_zone(start.get("timeZone"))
    zone = zone or "UTC"
    first = utc(start)
    last = utc(master.get("end"))
    if first is None:
        return []
    duration = (last - first) if last is not None else pd.Timedelta(0)
    local_time = first.tz_convert(zone).strftime("%H:%M:%S")
    organizer = ((master.get("organizer") or {}).get("emailAddress") or {}).get("address")
    out = []
    for oid in master.get("cancelledOccurrences") or []:
        match = _OID.match(str(oid))
        if not match:
            continue
        slot = pd.Timestamp(f"{match['date']} {local_time}").tz_localize(zone).tz_convert("UTC")
        if window is not None and not (window[0] <= slot < window[1]):
            continue
        stored = known.slots.get((master_id, slot))
        row = {
            "source": SOURCE,
            "calendar": mailbox,
            "event_id": stored["event_id"] if stored else str(oid),
            "series_id": master_id,
            "ical_uid": stored["ical_uid"] if stored else master.get("iCalUId") or master_id,
            "original_start": slot,
            "start": stored["start"] if stored else slot,
            "end": stored["end"] if stored else slot + duration,
            "timezone": zone,
            "all_day": bool(master.get("isAllDay")),
            "status": "cancelled",
            "organizer": organizer,
            "recurrence": rrule(master.get("recurrence")),
            "event_type": _SHOW_AS.get(master.get("showAs", ""), "default"),
            "created": None,
            "updated": None,
        }
        event_id = str(row["event_id"])
        out.append(
            (row, _attendees(mailbox, event_id, master.get("attendees") or [], organizer, "none"))
        )
    return out


def map_users(users: list[dict[str, Any]]) -> pd.DataFrame:
    """Directory users (``/users`` with ``$expand=manager``) → the roster frame.

    Disabled accounts and accounts without a mailbox are left out; a manager
    outside the directory makes their reports top level. Checked by ``check_roster``.
    """
    from cadence.org import check_roster

    rows = []
    for user in users:
        if not user.get("mail") or user.get("accountEnabled") is False:
            continue
        rows.append(
            {
                "email": user["mail"],
                "manager_email": (user.get("manager") or {}).get("mail"),
                "name": user.get("displayName"),
                "department": user.get("department"),
                "team": None,
            }
        )
    frame = pd.DataFrame(rows, columns=["email", "manager_email", "name", "department", "team"])
    emails = set(frame["email"].str.lower())
    frame.loc[~frame["manager_email"].str.lower().isin(emails), "manager_email"] = None
    return check_roster(frame, origin="Microsoft directory")
