"""Every error Cadence raises on purpose, in one tree.

Library code raises these; the CLI turns each into a one-line message and an
exit status. Messages say what is wrong *and* what to do next.

    CadenceError
    ├── ConfigError          a config file, key or value is wrong (exit 2)
    ├── SchemaError          a frame does not match the normalized model
    ├── StoreError           the SQLite store cannot be opened, migrated or written
    │   └── StoreBusyError   another process holds the store's write lock
    └── SourceError          a calendar source failed (network, auth, bad file)
"""

from __future__ import annotations


class CadenceError(Exception):
    """Base class of every error Cadence raises deliberately."""


class ConfigError(CadenceError):
    """A configuration file, key or value is invalid."""


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

    def __init__(
        self, message: str, *, source: str | None = None, calendar: str | None = None
    ) -> None:
        super().__init__(message)
        self.source = source
        self.calendar = calendar
