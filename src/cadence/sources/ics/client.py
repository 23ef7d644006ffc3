"""Reading calendar files: which files a path names, their bytes, and whose calendar each is.

The file system is this source's transport: what cannot be read, or is not an
iCalendar file at all, becomes an :class:`~cadence.errors.IcsError` naming the
file, here and nowhere else.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from cadence.errors import IcsError
from cadence.sources.ics.settings import HEADER_BYTES, MAX_FILE_MB

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
        elif p.exists() or p.is_symlink():
            files.append(p)
        else:
            raise IcsError(f"{p}: no such file or folder", path=p)
    return files, folder_given


def _kind(mode: int) -> str | None:
    """What a file is when it is not a regular file (``None`` for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def regular(file: Path) -> bool:
    """Whether ``file`` is a regular file (opening a FIFO or device could block or never end)."""
    try:
        return _kind(os.stat(file).st_mode) is None
    except OSError:
        return False


def read(file: Path, *, max_mb: float = MAX_FILE_MB) -> bytes:
    """A file's bytes, once it looks like a whole iCalendar file.

    Only regular files are read, and none larger than ``max_mb`` ([ics] max_file_mb): a
    path to ``/dev/zero``, a FIFO or a folder is an error naming it, not an endless read.
    """
    limit = int(max_mb * 2**20)
    try:
        info = os.stat(file)
        kind = _kind(info.st_mode)
        if kind is not None:
            raise IcsError(f"{file}: is {kind}, not an .ics file; give a calendar file", path=file)
        if info.st_size > limit:
            raise IcsError(
                f"{file}: {info.st_size / 2**20:,.0f} MB is more than [ics] max_file_mb = "
                f"{max_mb:g}; raise it or export a shorter span",
                path=file,
            )
        with file.open("rb") as fh:
            raw = fh.read(limit + 1)
    except OSError as exc:
        raise IcsError(f"{file}: cannot read: {exc}", path=file) from exc
    if len(raw) > limit:  # it grew while we looked
        raise IcsError(f"{file}: more than [ics] max_file_mb = {max_mb:g}", path=file)
    if b"BEGIN:VCALENDAR" not in raw[:4096].upper():
        raise IcsError(f"{file}: not an iCalendar file (no BEGIN:VCALENDAR)", path=file)
    if b"END:VCALENDAR" not in raw[-4096:].upper() and b"END:VCALENDAR" not in raw.upper():
        raise IcsError(f"{file}: truncated (no END:VCALENDAR); export it again", path=file)
    return raw


def owner(file: Path) -> str:
    """Whose calendar a file is: its ``X-WR-CALNAME`` when that is an address, else the
    file name without ``.ics`` (lower-cased)."""
    try:
        if not regular(file):
            raise OSError("not a regular file")
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


def earliest_start(files: Iterable[Path], *, max_mb: float = MAX_FILE_MB) -> pd.Timestamp | None:
    """The earliest event DTSTART date in the files (a cheap scan, no parsing; time zone
    definitions left out), midnight UTC; ``None`` when there is none to read."""
    days: list[bytes] = []
    for file in files:
        try:
            days.extend(_DTSTART.findall(_VTIMEZONE.sub(b"", read(file, max_mb=max_mb))))
        except (OSError, IcsError):
            continue  # reading it properly will say what is wrong
    valid = [d for d in days if b"19000101" <= d <= b"29991231"]
    if not valid:
        return None
    try:
        return pd.Timestamp(min(valid).decode(), tz="UTC")
    except ValueError:
        return None
