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

A worker maps what it read (``mapping``, the frame check) inside :data:`mapping_turn`,
one worker at a time: the mapping holds Python's lock anyway, and workers running it side
by side hand that lock back and forth between every small pandas step (on the 1,000-
calendar CalDAV bench, 21 → 16 ms of CPU a calendar). The others meanwhile wait on their
servers, which is what the workers are for. Nothing in a turn waits on the network or
takes another lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from cadence.errors import ConfigError, SchemaError
from cadence.model import ATTENDEES, EVENTS, CalendarPull, Frames, validate

# a worker's turn at its CPU-bound work: mapping and checking what it read (see above)
mapping_turn = threading.Lock()


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


# -- provider items that cannot be read: skipped and listed, the rest lands -----------------


def usable_items(
    where: str, items: list[Any], problems: list[str], *, unit: str = "calendar"
) -> list[dict[str, Any]]:
    """The items that are event objects with an id; the others are listed in ``problems``.

    >>> problems: list[str] = []
    >>> usable_items("ann@x.io", [{"id": "e1"}, "junk", {}], problems)
    [{'id': 'e1'}]
    >>> problems[0]
    'ann@x.io: an event: item 2 is not an object; skipped, the rest of the calendar was read'
    """
    out = []
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict):
            problems.append(skipped(where, None, f"item {n} is not an object", unit=unit))
        elif not item.get("id") or not isinstance(item["id"], str):
            problems.append(skipped(where, None, f"item {n} has no id", unit=unit))
        else:
            out.append(item)
    return out


def skipped(where: str, event_id: object, why: str, *, unit: str = "calendar") -> str:
    """One line for a provider item that was skipped: calendar (or mailbox), event id, why."""
    which = f"event {event_id}" if event_id else "an event"
    return f"{where}: {which}: {why}; skipped, the rest of the {unit} was read"


def unreadable(exc: BaseException) -> str:
    """Why a provider item could not be mapped, in a few words."""
    if isinstance(exc, KeyError):
        return f"no {exc.args[0]!r}"
    return f"{type(exc).__name__}: {exc}"[:200]


def checked_frames(
    where: str,
    events: list[dict[str, Any]],
    people: list[dict[str, Any]],
    problems: list[str] | None,
    *,
    unit: str = "calendar",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The mapped rows as checked frames; a row that does not fit the model (found one by
    one, only when the whole does not) is skipped and listed."""
    try:
        ev = validate(pd.DataFrame(events, columns=EVENTS.names), EVENTS)
        at = validate(pd.DataFrame(people, columns=ATTENDEES.names), ATTENDEES)
        return ev, at
    except SchemaError:
        if problems is None:
            raise
    good: list[dict[str, Any]] = []
    for row in events:
        try:
            validate(pd.DataFrame([*good, row], columns=EVENTS.names), EVENTS)
        except SchemaError as exc:
            problems.append(skipped(where, row.get("event_id"), str(exc), unit=unit))
        else:
            good.append(row)
    ids = {r["event_id"] for r in good}
    ev = validate(pd.DataFrame(good, columns=EVENTS.names), EVENTS)
    at = validate(
        pd.DataFrame([p for p in people if p["event_id"] in ids], columns=ATTENDEES.names),
        ATTENDEES,
    )
    return ev, at
