"""Reading calendar files: which files a path names, their bytes, and whose calendar each is.

The file system is this source's transport: what cannot be read, or is not an
iCalendar file at all, becomes an :class:`~cadence.errors.IcsError` naming the
file, here and nowhere else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from cadence.errors import IcsError
from cadence.sources.ics.settings import HEADER_BYTES

_EMAILISH = re.compile(r"^[^@\s]+@[^@\s]+$")
_DTSTART = re.compile(rb"^DTSTART[^:\r\n]*:(\d{8})", re.M | re.I)
_VTIMEZONE = re.compile(rb"^BEGIN:VTIMEZONE.*?^END:VTIMEZONE", re.M | re.S | re.I)
_CALNAME = re.compile(rb"^X-WR-CALNAME(?:;[^:\r\n]*)?:(.*)$", re.M | re.I)


def find_files(paths: Iterable[str | Path]) -> tuple[list[Path], bool]:
    """The ``.ics`` files named by files and folders (recursively), and whether a folder was
    among them (folders are imported leniently)."""
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
    return files, folder_given


def read(file: Path) -> bytes:
    """A file's bytes, once it looks like a whole iCalendar file."""
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise IcsError(f"{file}: cannot read: {exc}", path=file) from exc
    if b"BEGIN:VCALENDAR" not in raw[:4096].upper():
        raise IcsError(f"{file}: not an iCalendar file (no BEGIN:VCALENDAR)", path=file)
    if b"END:VCALENDAR" not in raw.upper():
        raise IcsError(f"{file}: truncated (no END:VCALENDAR); export it again", path=file)
    return raw


def owner(file: Path) -> str:
    """Whose calendar a file is: its ``X-WR-CALNAME`` when that is an address, else the
    file name without ``.ics`` (lower-cased)."""
    try:
        with file.open("rb") as fh:
            head = fh.read(HEADER_BYTES)
    except OSError:
        head = b""  # reading it properly will say what is wrong
    head = re.sub(rb"\r?\n[ \t]", b"", head)  # unfold continuation lines
    match = _CALNAME.search(head)
    name = match.group(1).decode("utf-8", "replace").strip().lower() if match else ""
    if _EMAILISH.match(name):
        return name
    stem = file.name[: -len(file.suffix)] if file.suffix else file.name
    return stem.strip().lower()


def earliest_start(files: Iterable[Path]) -> pd.Timestamp | None:
    """The earliest event DTSTART date in the files (a cheap scan, no parsing; time zone
    definitions left out), midnight UTC; ``None`` when there is none to read."""
    days: list[bytes] = []
    for file in files:
        try:
            days.extend(_DTSTART.findall(_VTIMEZONE.sub(b"", file.read_bytes())))
        except OSError:
            continue  # reading it properly will say what is wrong
    valid = [d for d in days if b"19000101" <= d <= b"29991231"]
    if not valid:
        return None
    try:
        return pd.Timestamp(min(valid).decode(), tz="UTC")
    except ValueError:
        return None
