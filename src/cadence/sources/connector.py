"""The one shape every calendar source has, and the helpers they share.

Each source is a package of the same parts (the ones it needs):

- ``auth``     credentials and token caches;
- ``client``   the HTTP session (or file reader), retries, the one pager, provider
               errors translated into the source's :class:`~cadence.errors.SourceError`
               subclass in one place;
- ``mapping``  pure provider JSON / iCalendar → normalized frames, tested on
               fixtures without HTTP;
- ``settings`` constants: scopes, field masks, page sizes;
- ``__init__`` one public :class:`Connector`.

A connector reads; it never touches the store. :func:`cadence.sync.pull` opens
it (sign-in), reads its directory roster if it has one, asks it for its
:meth:`~Connector.targets`, calls :meth:`~Connector.pull_one` for each
(concurrently, ``workers`` at a time) and writes what comes back, with the
cursors, in batched transactions. Construction never touches the network, so
a source that cannot sign in fails in :meth:`~Connector.open`, as that
source's failure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from cadence.errors import ConfigError
from cadence.model import CalendarPull, Frames


@dataclass(frozen=True)
class PullContext:
    """What the sync engine hands a connector for one calendar.

    ``cursor`` is the stored sync cursor (``None``: pull in full); ``stored()``
    reads the store's rows of this (source, calendar) on demand, for providers
    that send sparse items (Google's cancelled occurrences) or need to match
    slots the store already holds (Graph's cancelled occurrences).
    """

    calendar: str
    cursor: str | None
    now: pd.Timestamp
    stored: Callable[[], Frames]


class Connector(Protocol):
    """A calendar source, as the sync engine and the weekly job see it."""

    source: str  # the store's name of the source (``cadence.model.SOURCES``)
    section: str  # the config section and the name users read ("microsoft")
    unit: str  # what one target is called in summaries ("mailboxes")
    workers: int  # targets pulled at once

    def open(self) -> None:
        """Sign in and get ready; raise the source's ``SourceError`` when it cannot."""
        ...

    def targets(self, roster: pd.DataFrame | None) -> list[str]:
        """The calendars to pull (sorted), given the roster in force."""
        ...

    def pull_one(self, context: PullContext) -> CalendarPull:
        """Read one calendar; raise the source's ``SourceError`` when it cannot."""
        ...

    def directory_roster(self) -> pd.DataFrame | None:
        """The roster from the provider's directory when configured, else ``None``
        (called after :meth:`open`)."""
        ...

    def check(self, *, offline: bool) -> str:
        """After :meth:`open`: one line saying what works (online: one calendar was read)."""
        ...

    def close(self) -> None:
        """Release sessions and connections."""
        ...


def listed_targets(
    section: str,
    key: str,
    listed: list[str],
    from_roster: bool,
    roster: pd.DataFrame | None,
) -> list[str]:
    """The calendars a connector pulls: those listed, plus the roster's people if asked.

    >>> listed_targets("google", "calendars", ["b@x.io"], False, None)
    ['b@x.io']
    """
    targets = set(listed)
    if from_roster:
        if roster is None:
            raise ConfigError(
                f"[{section}] {key}_from_roster needs a roster: set [roster] path "
                f"or [{section}] roster_from_directory = true"
            )
        targets |= set(roster["email"])
    if not targets:
        raise ConfigError(
            f"[{section}] has no {key}: list them in {key} = [...] or set {key}_from_roster = true"
        )
    return sorted(targets)


def describe(exc: BaseException) -> str:
    """One line for an exception a connector did not translate itself."""
    name = type(exc).__name__
    if isinstance(exc, TimeoutError) or "timed out" in str(exc).lower():
        return f"timed out after retries ({name})"
    return f"{name}: {exc}"
