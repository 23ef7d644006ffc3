"""Normalized frames → ``.ics`` files, as a calendar client exports them."""

from __future__ import annotations

import zoneinfo
from pathlib import Path
from typing import Any

import pandas as pd

from cadence.model import ATTENDEES, EVENTS, validate


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
    if not pd.isna(row.get("title")):
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
