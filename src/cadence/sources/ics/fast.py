"""The plain events of a calendar file, read straight from its content lines.

Most of a real export is single meetings: one VEVENT per UID, no RRULE, RDATE,
EXDATE or RECURRENCE-ID, times in UTC, floating, dates, or a TZID that is an IANA
name (or a Windows name the file defines no VTIMEZONE for). Parsing those into
icalendar components and building a row dict each is most of an import's time,
so :func:`split` reads them from the unfolded lines (RFC 5545 §3.1) and
:func:`frame` turns them into the events and attendees frames column-wise, with
vectorized time conversion. Everything else — series and their overrides,
VTIMEZONE-defined zones, and any line this reader is not sure of (backslash
escapes, quotes in values, repeated properties, unusual parameters or value
forms) — stays in the bytes handed to :func:`.mapping.parse`, unchanged.

The rows are the ones :func:`.mapping.occurrences` makes for the same events
(``tests/test_ics_fast.py`` imports every fixture and corpus file both ways).
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from cadence.sources.ics.mapping import (
    _RESPONSE,
    _ROLE,
    _STATUS,
    USED_PROPERTIES,
    _email,
    _instant,
    _slim,
)
from cadence.sources.ics.settings import SOURCE

ENABLED = True  # tests turn it off to compare with the icalendar path

_IANA = zoneinfo.available_timezones()
# the properties read here, each of which a plain event holds at most once
_SINGLE = frozenset({"UID", "DTSTART", "DTEND", *USED_PROPERTIES} - {"ATTENDEE"})
# a property line: a plain name, parameters whose values are quoted or plain, ':' and a value
_QUOTED = r'"[^"\x00-\x1f\x7f^]*"'
_BARE = r"[^\";:,\s^\x7f](?:[^\";:,\x00-\x1f\x7f^]*[^\";:,\s^\x7f])?"  # inner spaces only
_VALUES = f"(?:{_QUOTED}|{_BARE})(?:,(?:{_QUOTED}|{_BARE}))*"
_LINE = re.compile(f'([A-Za-z0-9-]+)((?:;[A-Za-z0-9-]+={_VALUES})*):([^"\\x00-\\x1f\\x7f]*)')
_PARAM = re.compile(f";([A-Za-z0-9-]+)=({_VALUES})")
_STAMP = re.compile(r"\d{8}T\d{6}Z?")
_DATE = re.compile(r"\d{8}")
_CLEAN = re.compile(r"\S(?:.*\S)?")  # no white space at either end
_INT = re.compile(r"\d+")
_TEXTS = ("STATUS", "ORGANIZER", "X-MICROSOFT-CDO-BUSYSTATUS", "X-MICROSOFT-CDO-INTENDEDSTATUS")
_ATTENDEE_PARAMS = ("CUTYPE", "ROLE", "PARTSTAT")


@dataclass
class Plain:
    """The plain events of a file (their values as written) and the bytes of the rest."""

    rest: bytes
    index: list[int] = field(default_factory=list)  # the VEVENT's position in the file
    uid: list[str] = field(default_factory=list)
    start: list[tuple[str, str | None]] = field(default_factory=list)  # (value, TZID)
    end: list[tuple[str, str | None] | None] = field(default_factory=list)
    status: list[str | None] = field(default_factory=list)
    organizer: list[str | None] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    created: list[str | None] = field(default_factory=list)
    updated: list[str | None] = field(default_factory=list)
    people: list[list[tuple[str, dict[str, str]]]] = field(default_factory=list)
    # the VEVENTs left in ``rest``: their position and UID (None when not read)
    rest_index: list[int] = field(default_factory=list)
    rest_uid: list[str | None] = field(default_factory=list)


def split(raw: bytes) -> Plain | None:
    """The file's plain VEVENTs read here, the rest as bytes for icalendar; ``None`` when
    the file's structure is unusual enough that all of it should go through icalendar."""
    slim = _slim(raw)
    try:
        text = slim.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.split("\r\n")
    zones = {
        m.group(1).strip().strip('"')
        for m in re.finditer(r"(?m)^TZID[^:\r\n]*:([^\r\n]*)", _vtimezones(text))
    }
    blocks: list[tuple[int, int, bool]] = []  # (first line, END line, directly in a VCALENDAR)
    stack: list[str] = []
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        upper = line[:16].upper()
        if upper.startswith("BEGIN:VEVENT") and line.upper() == "BEGIN:VEVENT":
            j = i + 1
            while j < n and lines[j][:4].upper() not in ("END:", "BEGI"):
                j += 1
            if j >= n or lines[j].upper() != "END:VEVENT":
                return None  # a VEVENT not closed as expected: icalendar judges it
            blocks.append((i, j, stack == ["VCALENDAR"]))
            i = j + 1
            continue
        if upper.startswith("BEGIN:"):
            stack.append(line[6:].strip().upper())
        elif upper.startswith("END:"):
            if not stack or stack[-1] != line[4:].strip().upper():
                return None
            stack.pop()
        i += 1
    uids = [_uid(lines[b + 1 : e]) for b, e, _ in blocks]
    once = {u for u, k in Counter(uids).items() if k == 1}
    plain = Plain(b"")
    kept: list[str] = []
    done = 0
    for count, ((b, e, top), uid) in enumerate(zip(blocks, uids, strict=True)):
        kept.extend(lines[done:b])
        done = e + 1
        if top and uid in once and _read(lines[b + 1 : e], zones, plain, count):
            continue
        kept.extend(lines[b : e + 1])
        plain.rest_index.append(count)
        plain.rest_uid.append(uid)
    kept.extend(lines[done:])
    plain.rest = "\r\n".join(kept).encode("utf-8")
    return plain


def _vtimezones(text: str) -> str:
    return "".join(re.findall(r"(?ms)^BEGIN:VTIMEZONE\r?$.*?^END:VTIMEZONE\r?$", text, flags=re.I))


def _uid(body: list[str]) -> str | None:
    for line in body:
        if line[:4].upper() == "UID:":
            value = line[4:]
            return value if "\\" not in value else None
    return None


def _read(body: list[str], zones: set[str], plain: Plain, index: int) -> bool:
    """Take one VEVENT's lines into ``plain`` when it is a plain event read for sure."""
    props: dict[str, tuple[str, dict[str, str]]] = {}
    people: list[tuple[str, dict[str, str]]] = []
    for line in body:
        if "\\" in line:
            return False
        m = _LINE.fullmatch(line)
        if m is None:
            return False
        name, params_text, value = m.group(1).upper(), m.group(2), m.group(3)
        if not value:
            return False
        params: dict[str, str] = {}
        if params_text:
            for key, val in _PARAM.findall(params_text):
                key = key.upper()
                if key in params:
                    return False
                params[key] = val
        if name == "ATTENDEE":
            people.append((value, params))
        elif name in _SINGLE and name not in props:
            props[name] = (value, params)
        else:
            return False  # a series, DURATION, a repeated property: icalendar's
    uid = props.get("UID")
    start = props.get("DTSTART")
    if uid is None or start is None or not _CLEAN.fullmatch(uid[0]):
        return False
    start_value = _when(start, zones, date_ok=True)
    if start_value is None:
        return False
    end = props.get("DTEND")
    end_value = _when(end, zones, date_ok=True) if end is not None else None
    if end is not None and end_value is None:
        return False
    stamps = []
    for name in ("CREATED", "LAST-MODIFIED", "DTSTAMP"):
        prop = props.get(name)
        if prop is not None and (prop[1] or not _STAMP.fullmatch(prop[0]) or not _real(prop[0])):
            return False
        stamps.append(prop[0] if prop is not None else None)
    sequence = props.get("SEQUENCE")
    if sequence is not None and not _INT.fullmatch(sequence[0]):
        return False
    texts = [props.get(k) for k in _TEXTS]
    if any(t is not None and not _CLEAN.fullmatch(t[0]) for t in texts):
        return False
    for value, params in people:
        if not _CLEAN.fullmatch(value):
            return False
        for key in _ATTENDEE_PARAMS:
            got = params.get(key)
            if got is not None and ("," in got or not _CLEAN.fullmatch(got.strip('"'))):
                return False
    status, organizer, busy, intended = texts
    plain.index.append(index)
    plain.uid.append(uid[0])
    plain.start.append(start_value)
    plain.end.append(end_value)
    plain.status.append(status[0] if status is not None else None)
    plain.organizer.append(organizer[0] if organizer is not None else None)
    plain.busy.append((busy[0] if busy else "") + (intended[0] if intended else ""))
    plain.created.append(stamps[0])
    plain.updated.append(stamps[1] if stamps[1] is not None else stamps[2])
    plain.people.append(people)
    return True


def _when(
    prop: tuple[str, dict[str, str]], zones: set[str], *, date_ok: bool
) -> tuple[str, str | None] | None:
    """A DTSTART/DTEND as (value, TZID) when read for sure here."""
    value, params = prop
    kind = params.get("VALUE", "").upper()
    tzid = params.get("TZID")
    if set(params) - {"VALUE", "TZID"}:
        return None
    if not _real(value):
        return None
    if _STAMP.fullmatch(value):
        if kind not in ("", "DATE-TIME"):
            return None
        if tzid is not None:
            tzid = tzid[1:-1] if tzid.startswith('"') and tzid.endswith('"') else tzid
            if value.endswith("Z"):
                return None
            if tzid not in _IANA and (tzid not in WINDOWS_TO_OLSON or tzid in zones):
                return None  # a zone the file's own VTIMEZONE defines: icalendar reads it
        return value, tzid
    if date_ok and _DATE.fullmatch(value) and kind in ("", "DATE") and tzid is None:
        return value, None
    return None


def _real(text: str) -> bool:
    """Whether a date or date-time value (already of the right form) is a real time."""
    try:
        day = dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        if len(text) > 8:
            dt.time(int(text[9:11]), int(text[11:13]), int(text[13:15]))
    except ValueError:
        return False
    return day.year >= 1


# -- rows -------------------------------------------------------------------------------------


def _zone_name(tzid: str) -> str:
    return tzid if tzid in _IANA else str(WINDOWS_TO_OLSON[tzid])


def _instants(values: list[tuple[str, str | None] | None], zones: list[str]) -> pd.Series:
    """UTC instants of (value, TZID) pairs, as :func:`.mapping._instant` reads them: dates
    at midnight UTC, floating times in ``zones`` (one per value), TZID times in that zone."""
    out = pd.Series(pd.NaT, index=range(len(values)), dtype="datetime64[us, UTC]")
    groups: dict[tuple[str, str | None, str], tuple[list[int], list[str]]] = {}
    for i, v in enumerate(values):
        if v is None:
            continue
        text, tzid = v
        key: tuple[str, str | None, str]
        if len(text) == 8:
            key = ("%Y%m%d", None, "UTC")
        elif text.endswith("Z"):
            key = ("%Y%m%dT%H%M%SZ", None, "UTC")
        else:
            key = ("%Y%m%dT%H%M%S", tzid, zones[i] if tzid is None else _zone_name(tzid))
        where, texts = groups.setdefault(key, ([], []))
        where.append(i)
        texts.append(text)
    for (form, tzid, zone), (where, texts) in groups.items():
        if form != "%Y%m%dT%H%M%S":
            out.iloc[where] = pd.to_datetime(texts, format=form, utc=True)
            continue
        wall = pd.to_datetime(texts, format=form)
        if tzid is None:  # floating: as _instant localizes it
            local = wall.tz_localize(zone, nonexistent="shift_forward", ambiguous=False)
            out.iloc[where] = local.tz_convert("UTC")
            continue
        # a TZID time is icalendar's datetime in that zone (fold 0); where the wall time is
        # ambiguous or missing in the zone, that very datetime is converted
        local = wall.tz_localize(zone, nonexistent="NaT", ambiguous="NaT")
        out.iloc[where] = local.tz_convert("UTC")
        for k in np.flatnonzero(np.asarray(local.isna())):
            aware = wall[int(k)].to_pydatetime().replace(tzinfo=zoneinfo.ZoneInfo(zone))
            out.iloc[where[k]] = _instant(aware, zone)
    return out


def frame(
    plain: Plain,
    owner: str,
    lo: pd.Timestamp,
    hi: pd.Timestamp,
    calendar_zone: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The plain events' rows in ``[lo, hi)`` (events, attendees), each with its VEVENT's
    position in the file (``_at``)."""
    n = len(plain.uid)
    zone = [_zone_name(tzid) if tzid is not None else calendar_zone for _, tzid in plain.start]
    start = _instants(plain.start, zone)  # type: ignore[arg-type]
    all_day = pd.Series([len(v[0]) == 8 for v in plain.start], dtype=bool)
    end_given = _instants(plain.end, zone)
    default_end = start + pd.to_timedelta(all_day.astype("int64"), unit="D")
    end = end_given.where(end_given.notna(), default_end)
    end = end.where(end >= start, start)
    created = _instants([(v, None) if v else None for v in plain.created], zone)
    updated = _instants([(v, None) if v else None for v in plain.updated], zone)
    inside = ((lo <= end) & (start < hi)) | ((start == end) & (start == lo))
    organizer = [_email(v) for v in plain.organizer]
    busy = plain.busy
    events = pd.DataFrame(
        {
            "source": SOURCE,
            "calendar": owner,
            "event_id": plain.uid,
            "series_id": None,
            "ical_uid": plain.uid,
            "original_start": start,
            "start": start,
            "end": end,
            "timezone": zone,
            "all_day": all_day,
            "status": [
                _STATUS.get((s if s is not None else "CONFIRMED").upper(), "confirmed")
                for s in plain.status
            ],
            "organizer": organizer,
            "recurrence": None,
            "event_type": ["out_of_office" if "OOF" in b.upper() else "default" for b in busy],
            "created": created,
            "updated": updated,
        },
        index=range(n),
    )
    keep = inside.to_numpy()
    rows: dict[str, list[Any]] = {k: [] for k in ("event_id", "email", "role", "response")}
    rows["is_resource"] = []
    at: list[int] = []
    for k in range(n):
        if not keep[k]:
            continue
        for email, role, response, resource in _people(plain.people[k], organizer[k]):
            rows["event_id"].append(plain.uid[k])
            rows["email"].append(email)
            rows["role"].append(role)
            rows["response"].append(response)
            rows["is_resource"].append(resource)
            at.append(plain.index[k])
    people = pd.DataFrame({"source": SOURCE, "calendar": owner, **rows}, index=range(len(at)))
    people["_at"] = at
    events = events[keep].reset_index(drop=True)
    events["_at"] = [plain.index[k] for k in range(n) if keep[k]]
    return events, people


def _people(
    attendees: list[tuple[str, dict[str, str]]], organizer: str | None
) -> list[tuple[str, str, str, bool]]:
    found: dict[str, tuple[str, str, str, bool]] = {}
    for value, params in attendees:
        email = _email(value)
        if email is None:
            continue
        cutype = params.get("CUTYPE", "INDIVIDUAL").strip('"').upper()
        role = params.get("ROLE", "REQ-PARTICIPANT").strip('"').upper()
        found[email] = (
            email,
            "organizer" if email == organizer else _ROLE.get(role, "required"),
            _RESPONSE.get(params.get("PARTSTAT", "").strip('"').upper(), "none"),
            cutype in ("ROOM", "RESOURCE"),
        )
    if organizer and organizer not in found:
        found[organizer] = (organizer, "organizer", "accepted", False)
    return list(found.values())
