"""iCalendar → the normalized frames (pure: bytes in, rows out; no file system).

- series are expanded with ``recurring-ical-events``; every occurrence keeps
  its RECURRENCE-ID as ``original_start`` (the slot), so moved overrides are
  moved occurrences;
- EXDATE'd slots become ``cancelled`` occurrences at their original time;
  STATUS:CANCELLED on an override or a whole series is honoured;
- time zones as real exports carry them: VTIMEZONE blocks, Windows zone names
  (mapped to IANA), quoted TZIDs, X-WR-TIMEZONE and floating times;
- ATTENDEE PARTSTAT (either person's decline is kept) and CUTYPE=ROOM/RESOURCE.

Bad input: with ``strict`` the first problem raises :class:`IcsError` naming
the file and the event's UID; otherwise broken events are skipped and listed
as :class:`IcsProblem`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import icalendar
import pandas as pd
import recurring_ical_events
from icalendar.timezone import tzp

from cadence.errors import IcsError
from cadence.sources.ics.settings import SOURCE
from cadence.zones import iana_zone

_EMAILISH = re.compile(r"^[^@\s]+@[^@\s]+$")
_ROLE = {
    "CHAIR": "required",
    "REQ-PARTICIPANT": "required",
    "OPT-PARTICIPANT": "optional",
    "NON-PARTICIPANT": "optional",
}
_RESPONSE = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative"}
_STATUS = {"CONFIRMED": "confirmed", "TENTATIVE": "tentative", "CANCELLED": "cancelled"}


@dataclass(frozen=True)
class IcsProblem:
    """Something that was skipped in a lenient import."""

    path: str
    uid: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}" + (f", event {self.uid}" if self.uid else "")
        return f"{where}: {self.message}"


def parse(file: Path, raw: bytes, strict: bool) -> tuple[Any, list[IcsProblem]]:
    """A file's bytes as a calendar of its good events, and the events that were not good."""
    # icalendar caches the custom VTIMEZONEs it meets process-wide, and a cached one then
    # wins for every later file that names the same TZID (e.g. Exchange's "Pacific Standard
    # Time"). A file's VTIMEZONEs must apply to that file only: start each file afresh.
    tzp.use_zoneinfo()
    try:
        cal = icalendar.Calendar.from_ical(raw)
    except Exception as exc:  # icalendar raises ValueError and others for broken content
        if strict:
            raise IcsError(f"{file}: not valid iCalendar: {exc}", path=file) from exc
        return _parse_piecewise(file, raw)
    if isinstance(cal, list):  # several VCALENDARs in one file: use the first
        cal = cal[0]
    return _drop_broken(cal, file, strict)


def _drop_broken(cal: Any, file: Path, strict: bool) -> tuple[Any, list[IcsProblem]]:
    problems = []
    for comp in list(cal.subcomponents):
        if comp.name != "VEVENT":
            continue
        uid = str(comp.get("UID", "")) or None
        errors = [f"{prop}: {msg}" for prop, msg in getattr(comp, "errors", [])]
        if not errors and "DTSTART" not in comp:
            errors = ["no DTSTART"]
        if not errors and uid is None:
            errors = ["no UID"]
        if errors:
            message = "; ".join(errors)
            if strict:
                raise IcsError(
                    f"{file}: event {uid or '(no UID)'} is broken: {message}", path=file, uid=uid
                )
            problems.append(IcsProblem(str(file), uid, f"skipped broken event: {message}"))
            cal.subcomponents.remove(comp)
    return cal, problems


def _parse_piecewise(file: Path, raw: bytes) -> tuple[Any, list[IcsProblem]]:
    """Lenient fallback: parse each VEVENT on its own (with the file's VTIMEZONEs)."""
    text = raw.decode("utf-8", errors="replace").replace("\r\n", "\n")
    blocks = re.findall(
        r"^BEGIN:(?:VEVENT|VTIMEZONE)\n.*?^END:(?:VEVENT|VTIMEZONE)\n?", text, flags=re.M | re.S
    )
    header = "BEGIN:VCALENDAR\nVERSION:2.0\n" + "".join(
        m.group(0) + "\n"
        for key in ("X-WR-TIMEZONE", "X-WR-CALNAME")
        if (m := re.search(rf"^{key}:.*$", text, flags=re.M))
    )
    zones = "".join(b for b in blocks if b.startswith("BEGIN:VTIMEZONE"))
    problems: list[IcsProblem] = []
    try:
        cal = icalendar.Calendar.from_ical(header + zones + "END:VCALENDAR\n")
    except Exception:  # a broken VTIMEZONE: go on without them
        zones = ""
        cal = icalendar.Calendar.from_ical(header + "END:VCALENDAR\n")
    for body in blocks:
        if not body.startswith("BEGIN:VEVENT"):
            continue
        uid_match = re.search(r"^UID:(.*)$", body, flags=re.M)
        uid = uid_match.group(1).strip() if uid_match else None
        try:
            one = icalendar.Calendar.from_ical(header + zones + body + "END:VCALENDAR\n")
            one, bad = _drop_broken(one, file, strict=False)
        except Exception as exc:  # icalendar raises several types for broken content
            problems.append(IcsProblem(str(file), uid, f"skipped broken event: {exc}"))
            continue
        problems.extend(bad)
        for comp in one.walk("VEVENT"):
            cal.add_component(comp)
    return cal, problems


# -- time zones ---------------------------------------------------------------------------------


def _tz_of(prop: Any, fallback: str) -> str:
    tzid = prop.params.get("TZID") if hasattr(prop, "params") else None
    value = getattr(prop, "dt", None)
    if tzid:
        return iana_zone(str(tzid)) or fallback
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        key = getattr(value.tzinfo, "key", None)
        if key:
            return iana_zone(str(key)) or fallback
        if value.utcoffset() == dt.timedelta(0):
            return "UTC"
    return fallback


def _written_zone(prop: Any, calendar_zone: str) -> str:
    """An event's IANA zone: its TZID (IANA, Windows or quoted); for UTC or floating times,
    the calendar's zone (X-WR-TIMEZONE, else the default) — the owner's local time."""
    tzid = prop.params.get("TZID") if hasattr(prop, "params") else None
    return (iana_zone(str(tzid)) if tzid else None) or calendar_zone


def _instant(value: dt.date | dt.datetime, zone: str) -> pd.Timestamp:
    """A DTSTART-like value as a UTC timestamp (dates: midnight UTC; floating: in ``zone``)."""
    if not isinstance(value, dt.datetime):
        return pd.Timestamp(value).tz_localize("UTC")
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        return ts.tz_localize(zone, nonexistent="shift_forward", ambiguous=False).tz_convert("UTC")
    return ts.tz_convert("UTC")


def _stamp(ts: pd.Timestamp, all_day: bool) -> str:
    return ts.strftime("%Y%m%d") if all_day else ts.strftime("%Y%m%dT%H%M%SZ")


# -- occurrences ----------------------------------------------------------------------------


def occurrences(
    cal: Any,
    file: Path,
    owner: str,
    lo: pd.Timestamp,
    hi: pd.Timestamp,
    zone: str,
    strict: bool,
    problems: list[IcsProblem],
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    masters = {
        str(c["UID"]): c for c in cal.walk("VEVENT") if "RRULE" in c and "RECURRENCE-ID" not in c
    }
    recurring = set(masters) | {str(c["UID"]) for c in cal.walk("VEVENT") if "RECURRENCE-ID" in c}
    # The zone of each event as written in the file (the master's when there is one): the
    # expanded copies may come back re-labelled in the calendar's zone, depending on caches.
    zones: dict[str, str] = {}
    for c in cal.walk("VEVENT"):
        uid = str(c.get("UID"))
        if uid not in zones or (uid in masters and c is masters[uid]):
            zones[uid] = _written_zone(c["DTSTART"], zone)
    try:
        expanded = recurring_ical_events.of(cal, skip_bad_series=not strict).between(
            lo.to_pydatetime(), hi.to_pydatetime()
        )
        items = list(expanded)
    except Exception as exc:  # the library raises several types for odd rules
        if strict:
            raise IcsError(f"{file}: cannot expand its recurring events: {exc}", path=file) from exc
        problems.append(IcsProblem(str(file), None, f"cannot expand recurring events: {exc}"))
        return
    seen: set[tuple[str, str]] = set()
    for comp in items:
        uid = str(comp.get("UID"))
        row, who = _row(comp, uid, uid in recurring, masters.get(uid), owner, zones.get(uid, zone))
        if (lo <= row["end"] and row["start"] < hi) or row["start"] == row["end"] == lo:
            seen.add((uid, row["event_id"]))
            yield row, who
    # EXDATE: the slot was deleted from the series. For us that is a cancelled occurrence.
    for uid, master in masters.items():
        for slot in _exdates(master):
            row, who = _row(master, uid, True, master, owner, zones[uid], slot=slot)
            if (uid, row["event_id"]) in seen or not (lo <= row["original_start"] < hi):
                continue
            row["status"] = "cancelled"
            seen.add((uid, row["event_id"]))
            yield row, who


def _exdates(master: Any) -> Iterable[dt.date | dt.datetime]:
    ex = master.get("EXDATE")
    if ex is None:
        return []
    lists = ex if isinstance(ex, list) else [ex]
    return [d.dt for e in lists for d in e.dts]


def _row(
    comp: Any,
    uid: str,
    recurring: bool,
    master: Any,
    owner: str,
    zone: str,
    slot: dt.date | dt.datetime | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    start_prop = comp["DTSTART"]
    event_zone = zone  # as written in the file, see _written_zone
    raw_start = slot if slot is not None else start_prop.dt
    all_day = not isinstance(raw_start, dt.datetime)
    start = _instant(raw_start, event_zone)
    if slot is not None:
        duration = _duration(comp, all_day, event_zone)
        end = start + duration
        original = start
    else:
        end = _end(comp, start, all_day, event_zone)
        rid = comp.get("RECURRENCE-ID")
        if rid is None:
            original = start
        elif all_day and isinstance(rid.dt, dt.datetime):
            # Exchange names an all-day slot by local midnight in a Windows zone: the slot is
            # that local date, like the series' own all-day slots.
            original = _instant(rid.dt.date(), event_zone)
        else:
            original = _instant(rid.dt, _tz_of(rid, event_zone))
    status = _STATUS.get(str(comp.get("STATUS", "CONFIRMED")).upper(), "confirmed")
    organizer = _email(comp.get("ORGANIZER"))
    event_id = f"{uid}_{_stamp(original, all_day)}" if recurring else uid
    rule = master.get("RRULE") if master is not None else None
    busy = str(comp.get("X-MICROSOFT-CDO-BUSYSTATUS", "")) + str(
        comp.get("X-MICROSOFT-CDO-INTENDEDSTATUS", "")
    )
    row = {
        "source": SOURCE,
        "calendar": owner,
        "event_id": event_id,
        "series_id": uid if recurring else None,
        "ical_uid": uid,
        "original_start": original,
        "start": start,
        "end": max(end, start),
        "timezone": event_zone,
        "all_day": all_day,
        "status": status,
        "organizer": organizer,
        "recurrence": rule.to_ical().decode() if rule is not None else None,
        "event_type": "out_of_office" if "OOF" in busy.upper() else "default",
        "title": str(comp["SUMMARY"]) if "SUMMARY" in comp else None,
        "created": _maybe(comp.get("CREATED"), event_zone),
        "updated": _maybe(comp.get("LAST-MODIFIED") or comp.get("DTSTAMP"), event_zone),
    }
    return row, _people(comp, owner, event_id, organizer)


def _duration(comp: Any, all_day: bool, zone: str) -> pd.Timedelta:
    start = _instant(comp["DTSTART"].dt, zone)
    return _end(comp, start, all_day, zone) - start


def _end(comp: Any, start: pd.Timestamp, all_day: bool, zone: str) -> pd.Timestamp:
    if "DTEND" in comp:
        try:
            return _instant(comp["DTEND"].dt, _tz_of(comp["DTEND"], zone))
        except (AttributeError, ValueError, TypeError):
            pass
    if "DURATION" in comp:
        return start + pd.Timedelta(comp["DURATION"].dt)
    return start + (pd.Timedelta(days=1) if all_day else pd.Timedelta(0))


def _maybe(prop: Any, zone: str) -> pd.Timestamp | None:
    if prop is None:
        return None
    try:
        return _instant(prop.dt, zone)
    except (AttributeError, ValueError, TypeError):
        return None


def _email(value: Any) -> str | None:
    if value is None:
        return None
    text = re.sub(r"\s+", "", str(value))
    text = re.sub(r"^mailto:", "", text, flags=re.I).lower()
    return text if _EMAILISH.match(text) else None


def _people(comp: Any, owner: str, event_id: str, organizer: str | None) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    attendees = comp.get("ATTENDEE", [])
    for att in attendees if isinstance(attendees, list) else [attendees]:
        email = _email(att)
        if email is None:
            continue
        params = getattr(att, "params", {})
        cutype = str(params.get("CUTYPE", "INDIVIDUAL")).upper()
        found[email] = {
            "source": SOURCE,
            "calendar": owner,
            "event_id": event_id,
            "email": email,
            "role": "organizer"
            if email == organizer
            else _ROLE.get(str(params.get("ROLE", "REQ-PARTICIPANT")).upper(), "required"),
            "response": _RESPONSE.get(str(params.get("PARTSTAT", "")).upper(), "none"),
            "is_resource": cutype in ("ROOM", "RESOURCE"),
        }
    if organizer and organizer not in found:
        found[organizer] = {
            "source": SOURCE,
            "calendar": owner,
            "event_id": event_id,
            "email": organizer,
            "role": "organizer",
            "response": "accepted",
            "is_resource": False,
        }
    return list(found.values())
