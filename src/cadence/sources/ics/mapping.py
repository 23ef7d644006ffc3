"""iCalendar → the normalized frames (pure: bytes in, rows out; no file system).

- series are expanded with ``recurring-ical-events``, one UID at a time (a
  series that cannot be expanded is that series' problem, never the file's);
  every occurrence keeps its slot as ``original_start`` (its RECURRENCE-ID, or
  for ``RANGE=THISANDFUTURE`` the slot it was shifted from), so moved
  overrides are moved occurrences;
- RRULE (one or several), RDATE (DATE, DATE-TIME, PERIOD) and EXDATE as RFC 5545
  has them: an EXDATE cancels the slots the expansion removes for it (a DATE on a
  timed series: that day's timed slot); one that removes no slot is a listed
  problem, never a phantom cancellation;
- STATUS:CANCELLED on an override, a separate cancelled VEVENT or a whole series
  is honoured; overrides whose master is missing are occurrences of their own;
- time zones as real exports carry them: VTIMEZONE blocks (one whose offsets
  cannot be read gives way to the IANA zone of its TZID), Windows zone names
  (mapped to IANA), quoted TZIDs, X-WR-TIMEZONE and floating times; several
  VCALENDARs in one file are read as one calendar;
- ATTENDEE PARTSTAT (either person's decline is kept) and CUTYPE=ROOM/RESOURCE;
  SUMMARY is never read (no title is stored).

Bounds: rules repeating more often than daily (no 1:1 does) are refused, at
most ``max_per_series`` occurrences of a series are produced per window, and
EXDATE lists are handled in time linear in their length.

Bad input: with ``strict`` what makes a meeting's time wrong (no UID, no
DTSTART, an unreadable DTSTART/DTEND/RRULE…, a series that cannot be expanded)
raises :class:`IcsError` naming the file and the event's UID; otherwise broken
events are skipped and listed as :class:`IcsProblem`. Either way an invalid
CREATED, DTSTAMP, LAST-MODIFIED or unused property is dropped and listed, and
the event kept.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import warnings
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import icalendar
import pandas as pd
import recurring_ical_events
from icalendar.timezone import tzp

from cadence.errors import IcsError
from cadence.sources.ics.settings import (
    MAX_OCCURRENCES_PER_SERIES,
    SOURCE,
    SUB_DAILY,
    TIME_PROPERTIES,
)
from cadence.zones import iana_zone

_EMAILISH = re.compile(r"^[^@\s]+@[^@\s]+$")
_ROLE = {
    "CHAIR": "required",
    "REQ-PARTICIPANT": "required",
    "OPT-PARTICIPANT": "optional",
    "NON-PARTICIPANT": "optional",
}
_RESPONSE = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative"}
_UNIT = {"SECONDLY": "second", "MINUTELY": "minute", "HOURLY": "hour"}
_STATUS = {"CONFIRMED": "confirmed", "TENTATIVE": "tentative", "CANCELLED": "cancelled"}
_VTIMEZONE_BLOCK = re.compile(r"^BEGIN:VTIMEZONE\r?\n.*?^END:VTIMEZONE\r?\n?", re.M | re.S)
_TZID_LINE = re.compile(r"^TZID[^:\r\n]*:(.*?)\r?$", re.M)


@dataclass(frozen=True)
class IcsProblem:
    """Something skipped or not taken at face value: which file, which event, what construct."""

    path: str
    uid: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}" + (f", event {self.uid}" if self.uid else "")
        return f"{where}: {self.message}"


def parse(file: Path, raw: bytes, strict: bool) -> tuple[Any, list[IcsProblem]]:
    """A calendar's bytes as one calendar of its good events, and what was not good.

    ``file`` only names the origin in messages (any label will do, e.g. a CalDAV URL).
    Several VCALENDARs in the bytes are read as one calendar.
    """
    cal, problems, _ = parse_checked(file, raw, strict)
    return cal, problems


def parse_checked(file: Path, raw: bytes, strict: bool) -> tuple[Any, list[IcsProblem], bool]:
    """:func:`parse`, and whether icalendar read the bytes whole (no VTIMEZONE taken out,
    not VEVENT by VEVENT)."""
    # icalendar caches the custom VTIMEZONEs it meets process-wide, and a cached one then
    # wins for every later file that names the same TZID (e.g. Exchange's "Pacific Standard
    # Time"). A file's VTIMEZONEs must apply to that file only: start each file afresh.
    tzp.use_zoneinfo()
    raw = _slim(raw)
    problems: list[IcsProblem] = []
    try:
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            cals = icalendar.Calendar.from_ical(raw, multiple=True)
        # icalendar warns when it guesses (a vendor-prefixed TZID): listed, not hidden
        problems.extend(IcsProblem(str(file), None, str(w.message)) for w in said)
    except Exception as exc:  # icalendar raises ValueError and others for broken content
        repaired, fixed = _without_broken_vtimezones(file, raw, strict)
        try:
            if not fixed:
                raise exc
            cals = icalendar.Calendar.from_ical(repaired, multiple=True)
            problems.extend(fixed)
            whole = False
        except Exception as again:  # still broken: not a time zone problem
            if strict:
                raise IcsError(f"{file}: not valid iCalendar: {again}", path=file) from again
            return (*_parse_piecewise(file, raw), False)
    else:
        whole = True
    cal = _one_calendar(file, cals)
    cal, dropped = _drop_broken(cal, file, strict)
    return cal, problems + dropped, whole


# the VEVENT properties Cadence reads besides the time properties (ATTENDEE may repeat)
USED_PROPERTIES = (
    "STATUS",
    "ORGANIZER",
    "ATTENDEE",
    "CREATED",
    "LAST-MODIFIED",
    "DTSTAMP",
    "SEQUENCE",
    "X-MICROSOFT-CDO-BUSYSTATUS",
    "X-MICROSOFT-CDO-INTENDEDSTATUS",
)
_USED = frozenset(name.encode() for name in (*TIME_PROPERTIES, *USED_PROPERTIES))
_UNFOLD = re.compile(rb"\r?\n[ \t]")


def _slim(raw: bytes) -> bytes:
    """The bytes without the VEVENT properties Cadence never uses (SUMMARY, DESCRIPTION,
    LOCATION, alarms…): they are never parsed, so never stored, and never slow the import
    (parsing is most of its time). Calendar properties and VTIMEZONEs are kept whole."""
    lines = _UNFOLD.sub(b"", raw).splitlines()
    out = []
    depth = 0  # inside a VEVENT (and what it nests)
    for line in lines:
        head = line[:16].upper()
        if head.startswith(b"BEGIN:"):
            if depth or head.startswith(b"BEGIN:VEVENT"):
                depth += 1
                if depth > 1:
                    continue  # a VALARM or other part of the event: not used
            out.append(line)
            continue
        if head.startswith(b"END:") and depth:
            depth -= 1
            if depth == 0:
                out.append(line)
            continue
        if depth == 1:
            name = line.split(b":", 1)[0].split(b";", 1)[0].strip().upper()
            if name not in _USED:
                continue
        elif depth > 1:
            continue
        out.append(line)
    return b"\r\n".join(out) + b"\r\n"


def _one_calendar(file: Path, cals: Any) -> Any:
    found = [c for c in (cals if isinstance(cals, list) else [cals]) if c is not None]
    calendars = [c for c in found if c.name == "VCALENDAR"]
    if not calendars:
        if not found:
            raise IcsError(f"{file}: not an iCalendar file (no BEGIN:VCALENDAR)", path=file)
        cal = icalendar.Calendar()
        for comp in found:  # bare VEVENTs (as some CalDAV servers hand them out)
            cal.add_component(comp)
        return cal
    cal = calendars[0]
    for extra in calendars[1:]:  # several VCALENDARs in one file: one calendar
        for comp in extra.subcomponents:
            cal.add_component(comp)
    return cal


def _without_broken_vtimezones(
    file: Path, raw: bytes, strict: bool
) -> tuple[bytes, list[IcsProblem]]:
    """The bytes without VTIMEZONE blocks icalendar cannot read (iCloud writes offsets such
    as ``TZOFFSETFROM:+5328``); a TZID that is an IANA or Windows name is then read as that
    zone. In strict mode a broken zone with no such name is an error (its times are unknown)."""
    text = raw.decode("utf-8", errors="replace")
    problems: list[IcsProblem] = []
    kept = text
    for block in _VTIMEZONE_BLOCK.findall(text):
        try:
            icalendar.Calendar.from_ical("BEGIN:VCALENDAR\r\n" + block + "END:VCALENDAR\r\n")
            continue
        except Exception as exc:  # icalendar raises several types for broken content
            reason = str(exc)
        match = _TZID_LINE.search(block)
        tzid = match.group(1).strip() if match else "(no TZID)"
        zone = iana_zone(tzid)
        if zone is None and strict:
            raise IcsError(
                f"{file}: VTIMEZONE {tzid} cannot be read ({reason}) and is no known zone name",
                path=file,
            )
        kept = kept.replace(block, "")
        instead = f"its times are read in {zone}" if zone else "its times are read as floating"
        problems.append(IcsProblem(str(file), None, f"VTIMEZONE {tzid}: {reason}; {instead}"))
    return kept.encode("utf-8"), problems


def _drop_broken(cal: Any, file: Path, strict: bool) -> tuple[Any, list[IcsProblem]]:
    problems = []
    for comp in list(cal.subcomponents):
        if comp.name != "VEVENT":
            continue
        uid = str(comp.get("UID", "")) or None
        errors = list(getattr(comp, "errors", []))
        fatal = [f"{prop}: {msg}" for prop, msg in errors if str(prop).upper() in TIME_PROPERTIES]
        minor = [
            (str(prop or "a line"), msg)
            for prop, msg in errors
            if str(prop).upper() not in TIME_PROPERTIES
        ]
        if not fatal and "DTSTART" not in comp:
            fatal = ["no DTSTART"]
        if not fatal and uid is None:
            fatal = ["no UID"]
        if fatal:
            message = "; ".join(fatal)
            if strict:
                raise IcsError(
                    f"{file}: event {uid or '(no UID)'} is broken: {message}", path=file, uid=uid
                )
            problems.append(IcsProblem(str(file), uid, f"skipped broken event: {message}"))
            cal.subcomponents.remove(comp)
        elif minor:
            for prop, _ in minor:
                comp.pop(prop, None)
            what = "; ".join(f"{prop}: {msg}" for prop, msg in minor)
            problems.append(IcsProblem(str(file), uid, f"kept, without invalid {what}"))
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
    if not 1000 <= ts.year <= 9999:  # strftime's own padding of such years
        return ts.strftime("%Y%m%d") if all_day else ts.strftime("%Y%m%dT%H%M%SZ")
    day = f"{ts.year}{ts.month:02}{ts.day:02}"  # as strftime, without its cost per call
    return day if all_day else f"{day}T{ts.hour:02}{ts.minute:02}{ts.second:02}Z"


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
    *,
    max_per_series: int = MAX_OCCURRENCES_PER_SERIES,
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """The occurrences in ``[lo, hi)`` of a parsed calendar, as (event row, attendee rows).

    One UID at a time: a series that cannot be expanded raises :class:`IcsError` when
    ``strict``, else it is listed in ``problems`` and its VEVENTs are read one at a time.
    """
    groups: dict[str, list[Any]] = {}
    for comp in cal.walk("VEVENT"):
        groups.setdefault(str(comp.get("UID")), []).append(comp)
    xwr = cal.get("X-WR-TIMEZONE")
    for uid, comps in groups.items():
        where = _Where(file, uid, owner, lo, hi, zone, xwr, problems, max_per_series)
        refused = _refused(comps)
        if refused:
            problems.append(IcsProblem(str(file), uid, refused))
            continue
        try:
            got = _series(comps, where)
        except IcsError:
            raise
        except Exception as exc:  # recurring-ical-events and dateutil raise many types
            construct = _construct(comps)
            if strict:
                raise IcsError(
                    f"{file}: event {uid}: cannot expand its {construct}: {exc}",
                    path=file,
                    uid=uid,
                ) from exc
            problems.append(
                IcsProblem(
                    str(file),
                    uid,
                    f"cannot expand its {construct} ({exc}); "
                    + ("read VEVENT by VEVENT" if len(comps) > 1 else "skipped"),
                )
            )
            got = []
            for comp in comps if len(comps) > 1 else []:
                try:
                    got.extend(_series([comp], where))
                except Exception as one:  # the same: this VEVENT alone is skipped
                    problems.append(
                        IcsProblem(str(file), uid, f"skipped {_construct([comp])}: {one}")
                    )
        yield from got


@dataclass
class _Where:
    """What every occurrence of one UID is read against."""

    file: Path
    uid: str
    owner: str
    lo: pd.Timestamp
    hi: pd.Timestamp
    zone: str
    xwr: Any
    problems: list[IcsProblem]
    cap: int


def _refused(comps: list[Any]) -> str | None:
    for comp in comps:
        for rule in _as_list(comp.get("RRULE")):
            for freq in _as_list(rule.get("FREQ")):
                if str(freq).upper() in SUB_DAILY:
                    unit = _UNIT[str(freq).upper()]
                    return (
                        f"RRULE FREQ={str(freq).upper()} refused: no 1:1 repeats every {unit}; "
                        "the series is not imported"
                    )
    return None


def _construct(comps: list[Any]) -> str:
    """What kind of VEVENT(s) these are, for messages."""
    parts = []
    for name in ("RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"):
        values = [v for c in comps for v in _as_list(c.get(name))]
        if values:
            text = values[0].to_ical().decode() if hasattr(values[0], "to_ical") else str(values[0])
            parts.append(
                f"{name}:{text[:60]}" + (f" (+{len(values) - 1} more)" if len(values) > 1 else "")
            )
    return ", ".join(parts) if parts else "VEVENT"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _in_window(row: dict[str, Any], lo: pd.Timestamp, hi: pd.Timestamp) -> bool:
    return bool((lo <= row["end"] and row["start"] < hi) or row["start"] == row["end"] == lo)


def _series(comps: list[Any], w: _Where) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """The occurrences of one UID's VEVENTs (a master, its overrides, or a single event)."""
    recurring = any(k in c for c in comps for k in ("RRULE", "RDATE", "RECURRENCE-ID"))
    masters = [c for c in comps if "RECURRENCE-ID" not in c]
    master = max(masters, key=_sequence) if masters else None
    ref = master if master is not None else comps[0]
    zone = _written_zone(ref["DTSTART"], w.zone)
    if not recurring and len(comps) == 1:  # the common case, no expansion needed
        row, who = _row(comps[0], w.uid, False, None, w.owner, zone)
        return [(row, who)] if _in_window(row, w.lo, w.hi) else []
    rule = _rule_text(master)
    futures = {
        _instant(c["RECURRENCE-ID"].dt, _tz_of(c["RECURRENCE-ID"], zone)): c
        for c in comps
        if "RECURRENCE-ID" in c
        and str(c["RECURRENCE-ID"].params.get("RANGE", "")).upper() == "THISANDFUTURE"
    }
    exdates = _exdates(master) if master is not None else []
    if exdates:  # EXDATEs are matched to slots below, as RFC 5545 reads them
        comps = [_without_exdate(c) if c is master else c for c in comps]
    out: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    seen: set[str] = set()
    for comp in _expand(comps, w):
        original = _shifted_slot(comp, futures, zone) if futures else None
        row, who = _row(comp, w.uid, recurring, master, w.owner, zone, rule=rule, original=original)
        if row["event_id"] in seen or not _in_window(row, w.lo, w.hi):
            continue
        if len(out) >= w.cap:
            w.problems.append(
                IcsProblem(
                    str(w.file),
                    w.uid,
                    f"more than {w.cap} occurrences in the window ({_construct(comps)}); "
                    f"the first {w.cap} kept ([ics] max_occurrences_per_series)",
                )
            )
            break
        seen.add(row["event_id"])
        out.append((row, who))
    if exdates:
        _cancel_exdated(out, exdates, zone, w)
    return out


def _without_exdate(master: Any) -> Any:
    bare = icalendar.Event()
    for name, value in master.items():
        if name.upper() != "EXDATE":
            bare[name] = value
    return bare


def _cancel_exdated(
    out: list[tuple[dict[str, Any], list[dict[str, Any]]]],
    exdates: list[dt.date | dt.datetime],
    zone: str,
    w: _Where,
) -> None:
    """EXDATE: the slots it names are cancelled occurrences at their original time.

    A slot is named by its instant (a zoned or UTC value: ``Z`` against a zoned series
    must be the same instant), by its wall time in the series' zone (a floating value),
    or by its date (``VALUE=DATE``, also on a timed series as KOrganizer writes it). An
    EXDATE that names no slot the rule produces is listed, never a phantom cancellation.
    One pass over the slots and one over the EXDATEs: linear in both.
    """
    by_instant: dict[dt.datetime, list[int]] = {}  # aware datetimes hash by their instant
    by_wall: dict[dt.datetime, list[int]] = {}
    by_date: dict[dt.date, list[int]] = {}
    tzinfo = zoneinfo.ZoneInfo(zone)
    for i, (row, _) in enumerate(out):
        slot = row["original_start"]
        if row["all_day"]:
            by_date.setdefault(slot.date(), []).append(i)
            continue
        local = slot.to_pydatetime().astimezone(tzinfo)  # as tz_convert, at a third the cost
        by_instant.setdefault(local, []).append(i)
        by_wall.setdefault(local.replace(tzinfo=None), []).append(i)
        by_date.setdefault(local.date(), []).append(i)
    lo, hi = (
        (w.lo - pd.Timedelta(days=1)).to_pydatetime(),
        (w.hi + pd.Timedelta(days=1)).to_pydatetime(),
    )
    wall_lo, wall_hi = lo.replace(tzinfo=None), hi.replace(tzinfo=None)
    all_day = bool(out) and bool(out[0][0]["all_day"])
    unmatched: list[dt.date | dt.datetime] = []
    for value in exdates:
        if not isinstance(value, dt.datetime):
            hits = by_date.get(value, [])
            inside = lo.date() <= value <= hi.date()
        elif value.tzinfo is None:
            hits = by_wall.get(value, [])
            inside = wall_lo <= value <= wall_hi
        else:
            hits = by_instant.get(value, [])
            if not hits and all_day:  # Exchange names an all-day slot by local midnight
                hits = by_date.get(value.date(), [])
            inside = lo <= value <= hi
        for i in hits:
            row = out[i][0]
            length = row["end"] - row["start"]
            row["status"] = "cancelled"
            row["start"], row["end"] = row["original_start"], row["original_start"] + length
        if not hits and inside:
            unmatched.append(value)
    if unmatched:
        shown = ", ".join(_ical_text(v) for v in unmatched[:5])
        more = f" and {len(unmatched) - 5} more" if len(unmatched) > 5 else ""
        w.problems.append(
            IcsProblem(
                str(w.file),
                w.uid,
                f"EXDATE {shown}{more} is no slot of the series; not counted as a cancellation",
            )
        )


def _sequence(comp: Any) -> int:
    try:
        return int(comp.get("SEQUENCE", 0))
    except (TypeError, ValueError):
        return 0


def _rule_text(master: Any) -> str | None:
    rules = _as_list(master.get("RRULE")) if master is not None else []
    return rules[0].to_ical().decode() if rules else None


def _expand(comps: list[Any], w: _Where) -> Iterator[Any]:
    """recurring-ical-events' occurrences of these VEVENTs in the window (copies)."""
    mini = icalendar.Calendar()
    if w.xwr is not None:
        mini["X-WR-TIMEZONE"] = w.xwr
    for comp in comps:
        mini.add_component(comp)
    query = recurring_ical_events.of(mini)
    lo, hi = w.lo.to_pydatetime(), w.hi.to_pydatetime()
    for series in query.series:
        for occurrence in series.between(lo, hi):
            yield _Copy.of(occurrence)


class _Value:
    """A DTSTART, DTEND or RECURRENCE-ID that an occurrence's copy gets (``vDDDTypes(dt)``):
    of its parameters only TZID is ever read, and only for floating times, which have none."""

    __slots__ = ("dt",)
    params: dict[str, str] = {}  # noqa: RUF012 (read only)

    def __init__(self, value: Any) -> None:
        self.dt = value


class _Copy:
    """What ``Occurrence.as_component(False)`` returns, read without copying the component:
    its source component with DTSTART and DTEND the occurrence's, no DURATION, RRULE, RDATE
    or EXDATE, and a RECURRENCE-ID of its start when the source has none (one copy per
    occurrence was a third of the time of expanding a series)."""

    __slots__ = ("_own", "_source")
    _GONE = frozenset({"DURATION", "RRULE", "RDATE", "EXDATE"})

    def __init__(self, source: Any, start: Any, end: Any) -> None:
        self._source = source
        self._own = {"DTSTART": _Value(start), "DTEND": _Value(end)}
        if "RECURRENCE-ID" not in source:
            self._own["RECURRENCE-ID"] = _Value(start)

    @staticmethod
    def of(occurrence: Any) -> Any:
        adapter = getattr(occurrence, "_adapter", None)
        source = getattr(adapter, "_component", None)
        if (
            source is None
            or getattr(type(occurrence), "as_component", None) is not _OCCURRENCE_AS_COMPONENT
            or getattr(type(adapter), "as_component", None) is not _AS_COMPONENT
            or getattr(adapter, "end_property", None) != "DTEND"
        ):  # not the recurring-ical-events this reading was made for: copy as it does
            return occurrence.as_component(False)
        return _Copy(source, occurrence.start, occurrence.end)

    def __contains__(self, name: str) -> bool:
        name = name.upper()
        return name in self._own or (name not in self._GONE and name in self._source)

    def __getitem__(self, name: str) -> Any:
        name = name.upper()
        if name in self._own:
            return self._own[name]
        if name in self._GONE:
            raise KeyError(name)
        return self._source[name]

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default


_OCCURRENCE_AS_COMPONENT = getattr(
    getattr(recurring_ical_events, "Occurrence", None), "as_component", object()
)
_AS_COMPONENT = getattr(
    getattr(recurring_ical_events, "EventAdapter", None), "as_component", object()
)


def _shifted_slot(comp: Any, futures: dict[pd.Timestamp, Any], zone: str) -> pd.Timestamp | None:
    """The slot of an occurrence that a RANGE=THISANDFUTURE override shifted: its start
    less the override's shift (the copies carry the override's RECURRENCE-ID)."""
    rid = comp.get("RECURRENCE-ID")
    if rid is None or str(rid.params.get("RANGE", "")).upper() != "THISANDFUTURE":
        return None
    override = futures.get(_instant(rid.dt, _tz_of(rid, zone)))
    if override is None:
        return None
    shift = _instant(override["DTSTART"].dt, zone) - _instant(rid.dt, _tz_of(rid, zone))
    return _instant(comp["DTSTART"].dt, zone) - shift


def _ical_text(value: dt.date | dt.datetime) -> str:
    if not isinstance(value, dt.datetime):
        return value.strftime("%Y%m%d")
    if value.tzinfo is None:
        return value.strftime("%Y%m%dT%H%M%S")
    key = getattr(value.tzinfo, "key", None)
    if value.utcoffset() == dt.timedelta(0) and key in (None, "UTC"):
        return value.strftime("%Y%m%dT%H%M%SZ")
    return f"{value:%Y%m%dT%H%M%S} {key or value.tzname()}"


def _exdates(master: Any) -> list[dt.date | dt.datetime]:
    return [d.dt for e in _as_list(master.get("EXDATE")) for d in e.dts]


def _row(
    comp: Any,
    uid: str,
    recurring: bool,
    master: Any,
    owner: str,
    zone: str,
    slot: dt.date | dt.datetime | None = None,
    *,
    rule: str | None = None,
    original: pd.Timestamp | None = None,
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
        if original is not None:
            pass  # a slot shifted by a RANGE=THISANDFUTURE override
        elif rid is None:
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
        "recurrence": rule if rule is not None else _rule_text(master),
        "event_type": "out_of_office" if "OOF" in busy.upper() else "default",
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
    return None if value is None else _address(str(value))


@functools.lru_cache(maxsize=4096)
def _address(value: str) -> str | None:
    """An address as written (``mailto:`` or not), or None (few distinct ones per file)."""
    text = re.sub(r"\s+", "", value)
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
