"""Calendar files: ``.ics`` exports from Google, Outlook/Exchange and Apple as a source.

:func:`load_ics` reads files or folders into the normalized frames for a window
of time (notebooks, one-off looks); :class:`IcsConnector` is the same reading as
a source of the sync engine (``cadence import``, ``[ics] paths`` in the weekly
job): one target per calendar, whose files are read and mapped by
:mod:`.mapping` and written as one full pull of the window, so a newer export
of the same calendar shows in the store's history what moved, vanished or was
cancelled.

Bad input: with ``strict`` (the default for single files) the first problem
raises :class:`~cadence.errors.IcsError` naming the file and the event's UID;
otherwise (the default for folders) broken events and files are skipped and
listed in ``problems`` while everything else is imported. A calendar none of
whose files can be read fails as a whole: an empty pull would make its stored
occurrences look deleted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cadence.errors import IcsError
from cadence.model import ATTENDEES, EVENTS, CalendarPull, Pull, validate
from cadence.sources.connector import PullContext
from cadence.sources.ics import client, fast, mapping
from cadence.sources.ics.mapping import IcsProblem
from cadence.sources.ics.settings import (
    DEFAULT_WEEKS_AHEAD,
    DEFAULT_WEEKS_BACK,
    MAX_FILE_MB,
    MAX_OCCURRENCES_PER_SERIES,
    SOURCE,
)
from cadence.sources.ics.writer import write_ics
from cadence.zones import iana_zone

__all__ = ["IcsConnector", "IcsImport", "IcsProblem", "load_ics", "write_ics"]


@dataclass
class IcsImport:
    """What :func:`load_ics` read: normalized frames, the window, what was skipped."""

    events: pd.DataFrame
    attendees: pd.DataFrame
    window: tuple[pd.Timestamp, pd.Timestamp]
    calendars: list[str]
    files: list[Path]
    problems: list[IcsProblem] = field(default_factory=list)

    @property
    def span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The time these frames cover: the window that was read."""
        return self.window

    def pulls(self, seen_at: pd.Timestamp) -> list[Pull]:
        """One full pull per calendar, for writing these frames to a store directly."""
        out = []
        for calendar in self.calendars:
            ev = self.events[self.events["calendar"] == calendar]
            at = self.attendees[self.attendees["calendar"] == calendar]
            out.append(Pull(SOURCE, [calendar], ev, at, seen_at=seen_at, window=self.window))
        return out


@dataclass
class _Read:
    events: pd.DataFrame
    attendees: pd.DataFrame
    problems: list[IcsProblem]
    files: int


def read_calendar(
    files: Sequence[Path],
    owner: str,
    window: tuple[pd.Timestamp, pd.Timestamp],
    *,
    zone: str,
    strict: bool,
    max_file_mb: float = MAX_FILE_MB,
    max_occurrences_per_series: int = MAX_OCCURRENCES_PER_SERIES,
) -> _Read:
    """The occurrences in ``window`` of the files of one calendar (``owner``)."""
    lo, hi = window
    rows: list[dict[str, Any]] = []
    people: list[dict[str, Any]] = []
    frames: list[tuple[pd.DataFrame, pd.DataFrame]] = []  # per file, when read fast
    problems: list[IcsProblem] = []
    read = 0
    first_error: IcsError | None = None
    for file in files:
        try:
            raw = client.read(file, max_mb=max_file_mb)
            cal, skipped, plain, where = _parse(file, raw, strict)
        except IcsError as exc:
            if strict:
                raise
            first_error = first_error or exc
            problems.append(IcsProblem(str(file), exc.uid, str(exc).split(": ", 1)[-1]))
            continue
        read += 1
        problems.extend(skipped)
        file_zone = iana_zone(str(cal.get("X-WR-TIMEZONE", ""))) or zone
        found = mapping.occurrences(
            cal,
            file,
            owner,
            lo,
            hi,
            file_zone,
            strict,
            problems,
            max_per_series=max_occurrences_per_series,
        )
        if plain is None:
            for ev_row, ev_people in found:
                rows.append(ev_row)
                people.extend(ev_people)
            continue
        frames.append(_merged(found, fast.frame(plain, owner, lo, hi, file_zone), where))
    if files and not read and first_error is not None:
        raise IcsError(str(first_error), path=first_error.path, calendar=owner)
    events = pd.DataFrame(rows, columns=EVENTS.names)
    attendees = pd.DataFrame(people, columns=ATTENDEES.names)
    if frames:
        events = _concat([events, *(f[0] for f in frames)], EVENTS.names)
        attendees = _concat([attendees, *(f[1] for f in frames)], ATTENDEES.names)
    events = events.sort_values("updated", na_position="first").drop_duplicates(
        list(EVENTS.key), keep="last"
    )
    attendees = attendees.drop_duplicates(list(ATTENDEES.key), keep="last")
    attendees = attendees.merge(events[list(EVENTS.key)], on=list(EVENTS.key))
    return _Read(validate(events, EVENTS), validate(attendees, ATTENDEES), problems, read)


def _parse(
    file: Path, raw: bytes, strict: bool
) -> tuple[Any, list[IcsProblem], fast.Plain | None, dict[str, int]]:
    """A file as (calendar of what icalendar reads, its problems, the plain events read
    fast or None, each icalendar-read UID's position in the file)."""
    plain = fast.split(raw) if fast.ENABLED else None
    if plain is not None and plain.index:
        try:
            cal, skipped, whole = mapping.parse_checked(file, plain.rest, strict)
        except IcsError:
            whole = False  # the whole file says it, in its own words
        if whole:
            where = _positions(cal, plain)
            if where is not None:
                return cal, skipped, plain, where
    cal, skipped = mapping.parse(file, raw, strict)
    return cal, skipped, None, {}


def _positions(cal: Any, plain: fast.Plain) -> dict[str, int] | None:
    """Where in the file each UID icalendar read first appears (its rows go there among the
    plain events'), or None when the VEVENTs it read cannot be told apart for sure."""
    read = Counter(str(c.get("UID")) for c in cal.walk("VEVENT"))
    written = Counter(u for u in plain.rest_uid if u is not None)
    if set(read) & set(plain.uid):
        return None
    first: dict[str, int] = {}
    for at, uid in zip(plain.rest_index, plain.rest_uid, strict=True):
        if uid is not None:
            first.setdefault(uid, at)
    for uid, times in read.items():
        if uid not in first or (times != written[uid] and written[uid] > 1):
            return None
    return first


def _merged(
    found: Any, plain: tuple[pd.DataFrame, pd.DataFrame], where: dict[str, int]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One file's rows, icalendar-read and plain, in the order of the file's VEVENTs."""
    rows: list[dict[str, Any]] = []
    people: list[dict[str, Any]] = []
    for ev_row, ev_people in found:
        at = where[ev_row["ical_uid"]]
        rows.append({**ev_row, "_at": at})
        people.extend({**p, "_at": at} for p in ev_people)
    fast_events, fast_people = plain
    events = _concat(
        [pd.DataFrame(rows, columns=[*EVENTS.names, "_at"]), fast_events], [*EVENTS.names, "_at"]
    )
    attendees = _concat(
        [pd.DataFrame(people, columns=[*ATTENDEES.names, "_at"]), fast_people],
        [*ATTENDEES.names, "_at"],
    )
    order = events["_at"].to_numpy().argsort(kind="stable")
    people_order = attendees["_at"].to_numpy().argsort(kind="stable")
    return (
        events.iloc[order].drop(columns="_at").reset_index(drop=True),
        attendees.iloc[people_order].drop(columns="_at").reset_index(drop=True),
    )


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    """Frames of rows one after the other, instants as microseconds in UTC."""
    kept = [f for f in frames if len(f)] or frames[:1]
    out = pd.concat(kept, ignore_index=True) if len(kept) > 1 else kept[0].reset_index(drop=True)
    out = out.reindex(columns=columns)
    for name in out.columns:
        if name in _INSTANTS and len(out):
            out[name] = pd.to_datetime(out[name], utc=True).astype("datetime64[us, UTC]")
    return out


_INSTANTS = frozenset({"original_start", "start", "end", "created", "updated", "cancelled_at"})


def _group(files: list[Path], calendar: str | None) -> dict[str, list[Path]]:
    """calendar → its files (``calendar`` given: every file is that calendar's)."""
    groups: dict[str, list[Path]] = {}
    for file in files:
        groups.setdefault(calendar or client.owner(file), []).append(file)
    return groups


def load_ics(
    *paths: str | Path,
    calendar: str | None = None,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    strict: bool | None = None,
    default_timezone: str = "UTC",
    max_years_back: int = 5,
    max_file_mb: float = MAX_FILE_MB,
    max_occurrences_per_series: int = MAX_OCCURRENCES_PER_SERIES,
) -> IcsImport:
    """Read ``.ics`` files and folders (their ``*.ics`` files) into normalized frames.

    Parameters
    ----------
    paths : files or folders.
    calendar : whose calendar the files are (an email); default per file: its
        ``X-WR-CALNAME`` when that is an address, else the file name without ``.ics``.
    start, end : the window of occurrences to produce; series are expanded inside it.
        Default: the files' own span, from their earliest event (at most
        ``max_years_back`` years ago) to 8 weeks ahead of today.
    strict : raise on the first bad file or event (default: for single files), or
        skip and list them in ``problems`` (default: when a folder is given).
    default_timezone : the zone of floating times when the file names none.
    max_years_back : how far back the default window may reach.
    max_file_mb : a bigger file is refused (only regular files are read at all).
    max_occurrences_per_series : at most this many occurrences of one series in the
        window (more are listed in ``problems``); rules repeating more often than daily
        are refused.

    Examples
    --------
    >>> imported = load_ics(FIXTURES / "outlook-teams-weekly-exdate-eastern.ics",
    ...                     calendar="me@example.com", start="2022-03-01", end="2022-05-01")
    >>> imported.events["status"].value_counts().to_dict()
    {'confirmed': 5, 'cancelled': 3}
    """
    if not paths:
        raise IcsError("no .ics file or folder given")
    files, folder_given = client.find_files(paths)
    if start is None:
        oldest = pd.Timestamp.now(tz="UTC").normalize() - pd.DateOffset(years=max_years_back)
        earliest = client.earliest_start(files, max_mb=max_file_mb)
        start = oldest if earliest is None else max(earliest, oldest)
    window = _window(start, end)
    strict = (not folder_given) if strict is None else strict
    zone = iana_zone(default_timezone) or "UTC"
    frames, attendees, problems, calendars = [], [], [], []
    for owner, group in _group(files, calendar).items():
        try:
            got = read_calendar(
                group,
                owner,
                window,
                zone=zone,
                strict=strict,
                max_file_mb=max_file_mb,
                max_occurrences_per_series=max_occurrences_per_series,
            )
        except IcsError as exc:
            if strict:
                raise
            message = str(exc).split(": ", 1)[-1]
            problems.append(IcsProblem(str(exc.path or group[0]), exc.uid, message))
            continue
        calendars.append(owner)
        frames.append(got.events)
        attendees.append(got.attendees)
        problems.extend(got.problems)
    events = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=EVENTS.names)
    people = (
        pd.concat(attendees, ignore_index=True)
        if attendees
        else pd.DataFrame(columns=ATTENDEES.names)
    )
    return IcsImport(
        events=validate(events, EVENTS).sort_values(["calendar", "start"], ignore_index=True),
        attendees=validate(people, ATTENDEES),
        window=window,
        calendars=calendars,
        files=files,
        problems=problems,
    )


def _window(
    start: pd.Timestamp | str | None, end: pd.Timestamp | str | None
) -> tuple[pd.Timestamp, pd.Timestamp]:
    today = pd.Timestamp.now(tz="UTC").normalize()
    lo = _utc(start) if start is not None else today - pd.Timedelta(weeks=DEFAULT_WEEKS_BACK)
    hi = _utc(end) if end is not None else today + pd.Timedelta(weeks=DEFAULT_WEEKS_AHEAD)
    if hi <= lo:
        raise IcsError(f"the window must end after it starts, got {lo} – {hi}")
    return lo, hi


def _utc(value: pd.Timestamp | str) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


class IcsConnector:
    """``.ics`` files and folders as a source of the sync engine: one target per calendar."""

    source = SOURCE
    section = "ics"
    unit = "calendars"

    def __init__(
        self,
        paths: Sequence[str | Path],
        *,
        calendar: str | None = None,
        weeks_back: int = DEFAULT_WEEKS_BACK,
        weeks_ahead: int = DEFAULT_WEEKS_AHEAD,
        default_timezone: str = "UTC",
        strict: bool | None = None,
        workers: int = 2,
        max_file_mb: float = MAX_FILE_MB,
        max_occurrences_per_series: int = MAX_OCCURRENCES_PER_SERIES,
    ) -> None:
        if not paths:
            raise IcsError("no .ics file or folder given")
        self.paths = list(paths)
        self.calendar = calendar
        self.weeks_back = weeks_back
        self.weeks_ahead = weeks_ahead
        self.zone = iana_zone(default_timezone) or "UTC"
        self.strict = strict
        self.workers = workers
        self.max_file_mb = max_file_mb
        self.max_occurrences_per_series = max_occurrences_per_series
        self._files: dict[str, list[Path]] = {}
        self._strict = True

    def window(self, now: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
        today = now.normalize()
        return today - pd.Timedelta(weeks=self.weeks_back), today + pd.Timedelta(
            weeks=self.weeks_ahead
        )

    def open(self) -> None:
        pass

    def targets(self, roster: pd.DataFrame | None) -> list[str]:
        files, folder_given = client.find_files(self.paths)
        self._strict = (not folder_given) if self.strict is None else self.strict
        self._files = _group(files, self.calendar)
        return sorted(self._files)

    def pull_one(self, context: PullContext) -> CalendarPull:
        files = self._files[context.calendar]
        window = self.window(context.now)
        got = read_calendar(
            files,
            context.calendar,
            window,
            zone=self.zone,
            strict=self._strict,
            max_file_mb=self.max_file_mb,
            max_occurrences_per_series=self.max_occurrences_per_series,
        )
        ev = got.events
        return CalendarPull(
            context.calendar,
            ev,
            got.attendees,
            window=window,
            items=len(ev),
            problems=[str(p) for p in got.problems],
            stats={
                "files": got.files,
                "occurrences": len(ev),
                "cancelled": int((ev["status"] == "cancelled").sum()),
                "moved": int((ev["start"] != ev["original_start"]).sum()),
            },
        )

    def directory_roster(self) -> pd.DataFrame | None:
        return None

    def check(self, *, offline: bool) -> str:
        files, _ = client.find_files(self.paths)
        return f"{len(files)} .ics file(s) in {len(self.paths)} path(s)"

    def close(self) -> None:
        self._files = {}
