"""Every error Cadence raises on purpose, in one tree.

Library code raises these (never a bare ``ValueError`` for the user to read);
provider errors are translated into the source's own class where its client
meets the wire. The CLI turns each into one line and an exit status. Messages
say what is wrong *and* what to do next.

    CadenceError
    ├── ConfigError          a config file, key or value, or an option, is wrong (exit 2)
    │   ├── LeaderNotFound   the leader asked for is not in the roster or has no pairs
    │   └── CoverageError    the analysis window reaches beyond the time the data covers
    ├── RosterError          a roster file or frame is malformed
    ├── SchemaError          a frame does not match the normalized model
    ├── StoreError           the SQLite store cannot be opened, migrated, read or written
    │   └── StoreBusyError   another process holds the store's write lock
    ├── SourceError          a calendar source failed (network, auth, bad file)
    │   ├── CursorExpired    a stored sync cursor is no longer valid (pull that calendar in full)
    │   ├── CaldavError      a CalDAV server (iCloud, Fastmail, Nextcloud, Zoho, Radicale…)
    │   ├── GoogleError      Google Calendar / Workspace directory
    │   ├── GraphError       Microsoft 365 through Microsoft Graph
    │   └── IcsError         an .ics file
    └── DeliveryError        a report could not be delivered (SMTP…)

``ConfigError`` is also a ``ValueError``: a wrong value passed to a library
function (``min_group_size=1``) is both.
"""

from __future__ import annotations

from pathlib import Path


class CadenceError(Exception):
    """Base class of every error Cadence raises deliberately."""


class ConfigError(CadenceError, ValueError):
    """A configuration file, key or value, or a command-line option, is invalid."""


class LeaderNotFound(ConfigError):
    """The leader a report is scoped to is not in the roster, or has no 1:1 pairs."""


class CoverageError(ConfigError):
    """An analysis window starts before (or ends after) the time the loaded data covers:
    analyzing it would report as missing what was simply never loaded."""


class RosterError(CadenceError):
    """A roster file or frame is malformed; the message names file, line and fix."""


class SchemaError(CadenceError):
    """A DataFrame does not match the normalized schema of ``cadence.model``.

    ``column`` names the offending column when there is one.
    """

    def __init__(self, message: str, *, column: str | None = None) -> None:
        super().__init__(message)
        self.column = column


class StoreError(CadenceError):
    """The store could not be opened, migrated, read or written."""


class StoreBusyError(StoreError):
    """Another process is writing to the same store."""


class SourceError(CadenceError):
    """A calendar source (API or file) failed; ``source`` and ``calendar`` say which."""

    source_name: str | None = None

    def __init__(
        self, message: str, *, source: str | None = None, calendar: str | None = None
    ) -> None:
        super().__init__(message)
        self.source = source or self.source_name
        self.calendar = calendar


class CursorExpired(SourceError):
    """The provider no longer accepts a calendar's stored sync cursor (Google's HTTP 410).

    Connectors catch it and pull that calendar in full; it never reaches a user.
    """


class CaldavError(SourceError):
    """A CalDAV server, account or calendar could not be read (after retries)."""

    source_name = "caldav"


class GoogleError(SourceError):
    """A Google calendar or the Workspace directory could not be read (after retries)."""

    source_name = "google"


class GraphError(SourceError):
    """A Microsoft 365 mailbox, sign-in or the directory failed (after retries)."""

    source_name = "graph"


class IcsError(SourceError):
    """An .ics file could not be read; ``path`` and ``uid`` say where."""

    source_name = "ics"

    def __init__(
        self,
        message: str,
        *,
        path: Path | None = None,
        uid: str | None = None,
        calendar: str | None = None,
    ) -> None:
        super().__init__(message, calendar=calendar)
        self.path = path
        self.uid = uid


class DeliveryError(CadenceError):
    """A report could not be sent; the message says where it failed and what to check."""
