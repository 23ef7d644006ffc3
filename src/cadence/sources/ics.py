"""Calendar files: ``.ics`` exports from Google, Outlook/Exchange and Apple as a source.

:func:`load_ics` reads files or folders and returns the normalized event and
attendee frames of ``cadence.model`` for a window of time:

- series are expanded with ``recurring-ical-events``; every occurrence keeps
  its RECURRENCE-ID as ``original_start`` (the slot), so moved overrides are
  moved occurrences;
- EXDATE'd slots become ``cancelled`` occurrences at their original time;
  STATUS:CANCELLED on an override or a whole series is honoured;
- time zones as real exports carry them: VTIMEZONE blocks, Windows zone names
  (mapped to IANA), quoted TZIDs, X-WR-TIMEZONE and floating times;
- ATTENDEE PARTSTAT (either person's decline is kept) and CUTYPE=ROOM/RESOURCE.

Bad input: with ``strict`` (the default for single files) the first problem
raises :class:`IcsError` naming the file and the event's UID; otherwise (the
default for folders) broken events and files are skipped and listed in
``problems`` while everything else is imported.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import icalendar
import pandas as pd
import recurring_ical_events
from icalendar.timezone import tzp
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from cadence.errors import SourceError
from cadence.model import ATTENDEES, EVENTS, validate
from cadence.store import Pull

SOURCE = "ics"
UTC = dt.UTC
_EMAILISH = re.compile(r"^[^@\s]+@[^@\s]+$")
_IANA = zoneinfo.available_timezones()
_ROLE = {
    "CHAIR": "required",
    "REQ-PARTICIPANT": "required",
    "OPT-PARTICIPANT": "optional",
    "NON-PARTICIPANT": "optional",
}
_RESPONSE = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative"}
_STATUS = {"CONFIRMED": "confirmed", "TENTATIVE": "tentative", "CANCELLED": "cancelled"}


class IcsError(SourceError):
    """An .ics file could not be read; ``path`` and ``uid`` say where."""

    def __init__(self, message: str, *, path: Path | None = None, uid: str | None = None) -> None:
        super().__init__(message, source=SOURCE)
        self.path = path
        self.uid = uid


@dataclass(frozen=True)
class IcsProblem:
    """Something that was skipped in a lenient import."""

    path: str
    uid: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}" + (f", event {self.uid}" if self.uid else "")
        return f"{where}: {self.message}"


@dataclass
class IcsImport:
    """What :func:`load_ics` read: normalized frames, the window, what was skipped."""

    events: pd.DataFrame
    attendees: pd.DataFrame
    window: tuple[pd.Timestamp, pd.Timestamp]
    calendars: list[str]
    files: list[Path]
    problems: list[IcsProblem] = field(default_factory=list)

    def pulls(self, seen_at: pd.Timestamp) -> list[Pull]:
        """One full pull per calendar: a newer export of the same calendar then shows in the
        store's history what moved, vanished or was cancelled."""
        out = []
        for calendar in self.calendars:
            ev = self.events[self.events["calendar"] == calendar]
            at = self.attendees[self.attendees["calendar"] == calendar]
            out.append(Pull(SOURCE, [calendar], ev, at, seen_at=seen_at, window=self.window))
        return out


def load_ics(
    *paths: str | Path,
    calendar: str | None = None,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    strict: bool | None = None,
    default_timezone: str = "UTC",
) -> IcsImport:
    """Read ``.ics`` files and folders (their ``*.ics`` files) into normalized frames.

    Parameters
    ----------
    paths : files or folders.
    calendar : whose calendar the files are (an email); default per file: its
        ``X-WR-CALNAME`` when that is an address, else the file name without ``.ics``.
    start, end : the window of occurrences to produce (default: 26 weeks back and
        8 weeks ahead of today); series are expanded inside it.
    strict : raise on the first bad file or event (default: for single files), or
        skip and list them in ``problems`` (default: when a folder is given).
    default_timezone : the zone of floating times when the file names none.

    Examples
    --------
    >>> imported = load_ics(FIXTURES / "outlook-teams-weekly-exdate-eastern.ics",
    ...                     calendar="me@example.com", start="2022-03-01", end="2022-05-01")
    >>> imported.events["status"].value_counts().to_dict()
    {'confirmed': 5, 'cancelled': 3}
    """
    if not paths:
        raise IcsError("no .ics file or folder given")
    lo, hi = _window(start, end)
    files: list[Path] = []
    folder_given = False
    for p in map(Path, paths):
        if p.is_dir():
            folder_given = True
            files.extend(sorted(q for q in p.rglob("*") if q.suffix.lower() == ".ics"))
        elif p.exists():
            files.append(p)
        else:
            raise IcsError(f"{p}: no such file or folder", path=p)
    strict = (not folder_given) if strict is None else strict
    zone = iana_zone(default_timezone) or "UTC"
    rows: list[dict[str, Any]] = []
    people: list[dict[str, Any]] = []
    problems: list[IcsProblem] = []
    calendars: list[str] = []
    for file in files:
        try:
            cal, skipped = _parse(file, strict)
        except IcsError as exc:
            if strict:
                raise
            problems.append(IcsProblem(str(file), exc.uid, str(exc).split(": ", 1)[-1]))
            continue
        problems.extend(skipped)
        owner = calendar or _owner(cal, file)
        if owner not in calendars:
            calendars.append(owner)
        file_zone = iana_zone(str(cal.get("X-WR-TIMEZONE", ""))) or zone
        for ev_row, ev_people in _occurrences(
            cal, file, owner, lo, hi, file_zone, strict, problems
        ):
            rows.append(ev_row)
            people.extend(ev_people)
    events = pd.DataFrame(rows, columns=EVENTS.names)
    attendees = pd.DataFrame(people, columns=ATTENDEES.names)
    # the same occurrence in two files of one calendar (overlapping exports): keep the newest
    events = events.sort_values("updated", na_position="first").drop_duplicates(
        list(EVENTS.key), keep="last"
    )
    attendees = attendees.drop_duplicates(list(ATTENDEES.key), keep="last")
    attendees = attendees.merge(events[list(EVENTS.key)], on=list(EVENTS.key))
    return IcsImport(
        events=validate(events, EVENTS).sort_values(["calendar", "start"], ignore_index=True),
        attendees=validate(attendees, ATTENDEES),
        window=(lo, hi),
        calendars=calendars,
        files=files,
        problems=problems,
    )


# -- parsing ----------------------------------------------------------------------------------


def _window(
    start: pd.Timestamp | str | None, end: pd.Timestamp | str | None
) -> tuple[pd.Timestamp, pd.Timestamp]:
    today = pd.Timestamp.now(tz="UTC").normalize()
    lo = _utc(start) if start is not None else today - pd.Timedelta(weeks=26)
    hi = _utc(end) if end is not None else today + pd.Timedelta(weeks=8)
    if hi <= lo:
        raise IcsError(f"the window must end after it starts, got {lo} – {hi}")
    return lo, hi


def _utc(value: pd.Timestamp | str) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _parse(file: Path, strict: bool) -> tuple[Any, list[IcsProblem]]:
    """The file as a calendar of its good events, and the events that were not good."""
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise IcsError(f"{file}: cannot read: {exc}", path=file) from exc
    if b"BEGIN:VCALENDAR" not in raw[:4096].upper():
        raise IcsError(f"{file}: not an iCalendar file (no BEGIN:VCALENDAR)", path=file)
    if b"END:VCALENDAR" not in raw.upper():
        raise IcsError(f"{file}: truncated (no END:VCALENDAR); export it again", path=file)
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


def _owner(cal: Any, file: Path) -> str:
    name = str(cal.get("X-WR-CALNAME", "")).strip().lower()
    if _EMAILISH.match(name):
        return name
    stem = file.name[: -len(file.suffix)] if file.suffix else file.name
    return stem.strip().lower()


# -- time zones ---------------------------------------------------------------------------------


def iana_zone(tzid: str | None) -> str | None:
    """An IANA name for a TZID as exports write them (IANA, Windows, quoted), or None."""
    if not tzid:
        return None
    name = tzid.strip().strip('"').strip()
    if name in _IANA:
        return name
    if name in WINDOWS_TO_OLSON:
        return str(WINDOWS_TO_OLSON[name])
    if name.upper() in ("UTC", "GMT", "Z"):
        return "UTC"
    return None


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


def _occurrences(
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


# -- writing ----------------------------------------------------------------------------------


def write_ics(
    events: pd.DataFrame, attendees: pd.DataFrame, folder: str | Path, *, until: pd.Timestamp
) -> list[Path]:
    """Write normalized frames as one ``<calendar>.ics`` per calendar, as a client exports them.

    Series become a master (RRULE from ``recurrence``, first slot as DTSTART) with
    EXDATE for cancelled or missing slots up to ``until`` and RECURRENCE-ID
    overrides for occurrences that moved, changed length or carry other answers.
    Used to round-trip the demo organisation; handy for handing data to other tools.
    """
    from dateutil.rrule import rrulestr

    out_dir = Path(folder)
    out_dir.mkdir(parents=True, exist_ok=True)
    events = validate(events, EVENTS)
    attendees = validate(attendees, ATTENDEES)
    people = {key: grp for key, grp in attendees.groupby(["calendar", "event_id"], sort=False)}
    written = []
    for calendar, cal_events in events.groupby("calendar", sort=True):
        lines = [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Cadence//demo export//EN",
            f"X-WR-CALNAME:{calendar}",
        ]
        for uid, grp in cal_events.groupby("ical_uid", sort=False):
            grp = grp.sort_values("original_start")
            if grp["recurrence"].isna().all():
                for rec in grp.to_dict("records"):
                    record = {str(k): v for k, v in rec.items()}
                    lines += _vevent(record, people.get((calendar, record["event_id"])), str(uid))
                continue
            first = grp.iloc[0]
            zone = zoneinfo.ZoneInfo(str(first["timezone"] or "UTC"))
            live = grp[grp["status"] != "cancelled"]
            usual = (
                (live["end"] - live["start"]).median()
                if len(live)
                else first["end"] - first["start"]
            )
            dtstart = first["original_start"].tz_convert(zone).to_pydatetime()
            rule = rrulestr(str(first["recurrence"]), dtstart=dtstart)
            slots = [
                pd.Timestamp(s).tz_convert("UTC") for s in rule.between(dtstart, until, inc=True)
            ]
            present = set(grp.loc[grp["status"] != "cancelled", "original_start"])
            exdates = [s for s in slots if s not in present and s < until]
            head = [
                "BEGIN:VEVENT",
                f"UID:{uid}",
                f"DTSTART;TZID={zone.key}:{_local(first['original_start'], zone)}",
                f"DTEND;TZID={zone.key}:{_local(first['original_start'] + usual, zone)}",
                f"RRULE:{first['recurrence']}",
            ]
            if exdates:
                head.append(f"EXDATE;TZID={zone.key}:" + ",".join(_local(s, zone) for s in exdates))
            # the master stands for the series: confirmed (one cancelled slot is an EXDATE)
            master: dict[str, Any] = {str(k): v for k, v in first.items()}
            master["status"] = "confirmed"
            head += _common(master, people.get((calendar, first["event_id"])), default=True)
            lines += [*head, "END:VEVENT"]
            for rec in grp[grp["status"] != "cancelled"].to_dict("records"):
                row = {str(k): v for k, v in rec.items()}
                who = people.get((calendar, row["event_id"]))
                changed = (
                    row["start"] != row["original_start"]
                    or (row["end"] - row["start"]) != usual
                    or (who is not None and (who["response"] != "accepted").any())
                )
                if changed:
                    lines += [
                        "BEGIN:VEVENT",
                        f"UID:{uid}",
                        f"RECURRENCE-ID;TZID={zone.key}:{_local(row['original_start'], zone)}",
                        f"DTSTART;TZID={zone.key}:{_local(row['start'], zone)}",
                        f"DTEND;TZID={zone.key}:{_local(row['end'], zone)}",
                        *_common(row, who, default=False),
                        "END:VEVENT",
                    ]
        lines.append("END:VCALENDAR")
        path = out_dir / f"{calendar}.ics"
        path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
        written.append(path)
    return written


def _local(ts: pd.Timestamp, zone: zoneinfo.ZoneInfo) -> str:
    return str(ts.tz_convert(zone).strftime("%Y%m%dT%H%M%S"))


def _vevent(row: dict[str, Any], who: pd.DataFrame | None, uid: str) -> list[str]:
    zone = zoneinfo.ZoneInfo(str(row["timezone"] or "UTC"))
    if row["all_day"]:
        when = [
            f"DTSTART;VALUE=DATE:{row['start']:%Y%m%d}",
            f"DTEND;VALUE=DATE:{row['end']:%Y%m%d}",
        ]
    else:
        when = [
            f"DTSTART;TZID={zone.key}:{_local(row['start'], zone)}",
            f"DTEND;TZID={zone.key}:{_local(row['end'], zone)}",
        ]
    common = _common(row, who, default=False)
    return ["BEGIN:VEVENT", f"UID:{uid}", *when, *common, "END:VEVENT"]


_PARTSTAT = {"accepted": "ACCEPTED", "declined": "DECLINED", "tentative": "TENTATIVE"}


def _common(row: dict[str, Any], who: pd.DataFrame | None, *, default: bool) -> list[str]:
    """STATUS, ORGANIZER, SUMMARY, LAST-MODIFIED and ATTENDEE lines of one VEVENT."""
    lines = [f"STATUS:{str(row['status']).upper()}"]
    if not pd.isna(row["organizer"]):
        lines.append(f"ORGANIZER:mailto:{row['organizer']}")
    if not pd.isna(row["title"]):
        lines.append("SUMMARY:" + str(row["title"]).replace("\n", " ").replace(",", "\\,"))
    if row["event_type"] == "out_of_office":
        lines.append("X-MICROSOFT-CDO-BUSYSTATUS:OOF")
    if not pd.isna(row["updated"]):
        lines.append(f"LAST-MODIFIED:{row['updated']:%Y%m%dT%H%M%SZ}")
    for person in [] if who is None else who.to_dict("records"):
        answer = "ACCEPTED" if default else _PARTSTAT.get(str(person["response"]), "NEEDS-ACTION")
        cutype = "ROOM" if person["is_resource"] else "INDIVIDUAL"
        role = "OPT-PARTICIPANT" if person["role"] == "optional" else "REQ-PARTICIPANT"
        lines.append(
            f"ATTENDEE;CUTYPE={cutype};ROLE={role};PARTSTAT={answer}:mailto:{person['email']}"
        )
    return lines
