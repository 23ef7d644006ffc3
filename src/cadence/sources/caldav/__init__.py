"""CalDAV (RFC 4791) as a source: iCloud, Fastmail, Nextcloud, Zoho, Radicale and every
standards calendar server, through the ``caldav`` library.

One account signs in with HTTP Basic / Digest and a password — an
app-specific one for iCloud, Fastmail and Zoho (:mod:`.auth`). :meth:`open`
finds the account's principal and its calendars (one or two PROPFINDs each).
Each calendar belongs to a person (its *owner*, an email): the ``owners``
table of the config, else the calendar's display name when it is an address
(as ``X-WR-CALNAME`` names an ``.ics`` export), else the principal's
``mailto:`` address (RFC 6638 ``calendar-user-address-set``), else the
username when it is an address. A target of the sync engine is one owner; an
owner with several calendars (Work, Family) is read from all of them.

Reading (:meth:`CaldavConnector.pull_one`): one ``calendar-query`` REPORT per
calendar for the VEVENTs with an instance in the window (``weeks_back`` ..
``weeks_ahead``), whole objects, series unexpanded; they are expanded by the
``.ics`` mapping (:mod:`.mapping`), the one iCalendar mapping Cadence has. The
result is written as a full pull of the window, so the store's history rules
apply exactly as for a newer export of a file: an occurrence that vanished
before its start (its href deleted, an EXDATE, a shortened series) is a
cancellation, a changed start a move.

Incremental: the cursor keeps, per calendar, the RFC 6578 sync token (or the
``getctag`` where the server has no sync-collection) and the window it covers.
A later pull first asks ``sync-collection`` with the token (hrefs and ETags
only): nothing changed and the same window — one request, nothing written.
Something changed (added, edited or deleted hrefs) or the window moved on (a new
day: series are expanded here, so the new day's occurrences must be read) —
the calendar is read again over the window (one more REPORT) and the store
diffs it. An invalid token (``DAV:valid-sync-token``) re-reads that calendar
alone. Why a re-read and not only the changed hrefs: a deleted href names no
occurrences, and an edited series may lose some (a shorter RRULE, a removed
override); reading the window again lets the store decide what vanished with
the same rule it uses for every other source, at the cost of one REPORT.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

import pandas as pd

from cadence.errors import CaldavError, ConfigError, CursorExpired
from cadence.model import CalendarPull, empty_attendees, empty_events
from cadence.sources.caldav import auth, client, mapping
from cadence.sources.caldav.client import Collection
from cadence.sources.caldav.settings import (
    CURSOR_VERSION,
    DEFAULT_WEEKS_AHEAD,
    DEFAULT_WEEKS_BACK,
    SOURCE,
)
from cadence.sources.connector import PullContext, mapping_turn

__all__ = ["CaldavConnector", "Collection", "auth", "client", "mapping"]

_EMAILISH = re.compile(r"^[^@\s/]+@[^@\s/]+\.[^@\s/]+$")


def _iso(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


class CaldavConnector:
    """Pull the calendars of one CalDAV account (see the module docstring).

    ``password()`` gives the password (:func:`.auth.password`); :meth:`open`
    calls it. ``calendars`` lists collection URLs (absolute, or paths on the
    server) or display names; empty: every calendar of the principal.
    ``owners`` maps a URL or display name to its owner's email.
    """

    source = SOURCE
    section = "caldav"
    unit = "calendars"

    def __init__(
        self,
        url: str,
        username: str,
        password: Callable[[], str],
        *,
        calendars: list[str] | None = None,
        owners: dict[str, str] | None = None,
        weeks_back: int = DEFAULT_WEEKS_BACK,
        weeks_ahead: int = DEFAULT_WEEKS_AHEAD,
        default_timezone: str = "UTC",
        workers: int = 4,
        retries: int = 5,
        timeout: float = 60.0,
        backoff: float = 0.5,
    ) -> None:
        self.url = url
        self.username = username
        self.password = password
        self.calendars = list(calendars or [])
        self.owners = {k: v.strip().lower() for k, v in (owners or {}).items()}
        self.weeks_back = weeks_back
        self.weeks_ahead = weeks_ahead
        self.zone = default_timezone
        self.workers = workers
        self.retries = retries
        self.timeout = timeout
        self.backoff = backoff
        self._secret: str | None = None
        self._auth: Any = None
        self._collections: dict[str, list[Collection]] = {}
        self._missing: dict[str, str] = {}  # owner → why its listed calendar is not there
        self._local = threading.local()
        self._clients: list[Any] = []
        self._lock = threading.Lock()

    # -- sign-in and calendars -------------------------------------------------------------

    def _client(self) -> tuple[Any, client.Counter]:
        """This thread's client (caldav's client keeps state: one per worker thread)."""
        if not hasattr(self._local, "client"):
            if self._secret is None:
                self.open()
            assert self._secret is not None
            made = client.dav_client(
                self.url,
                self.username,
                self._secret,
                timeout=self.timeout,
                retries=self.retries,
                backoff=self.backoff,
                pool=2,
                auth=self._auth,
            )
            self._local.client = made
            with self._lock:
                self._clients.append(made[0])
        pair: tuple[Any, client.Counter] = self._local.client
        return pair

    def open(self) -> None:
        """Sign in, find the principal's calendars and whose each one is."""
        self._secret = self.password()
        dav, _ = self._client()
        with client.translated(url=self.url, username=self.username):
            found, addresses = client.discover(dav)
        self._auth = dav.auth  # the scheme the server asked for: other threads reuse it
        self._resolve(found, addresses)

    def _absolute(self, ref: str) -> str:
        url = urllib.parse.urljoin(self.url, ref)
        return url if url.endswith("/") else url + "/"

    def _owner(self, url: str, name: str, addresses: list[str]) -> str:
        path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
        for key in (url, path, name, path.rstrip("/").rsplit("/", 1)[-1]):
            if key in self.owners:
                return self.owners[key]
        for key in self.owners:  # owners may name calendars by absolute URL or by path
            if key.startswith(("http://", "https://", "/")) and self._absolute(key) == url:
                return self.owners[key]
        if _EMAILISH.match(name.strip()):
            return name.strip().lower()
        if addresses:
            return addresses[0]
        if _EMAILISH.match(self.username):
            return self.username.lower()
        raise ConfigError(
            f"[caldav] calendar {name or url!r} ({url}): whose is it? Add it to "
            f'[caldav] owners, e.g. owners = {{ "{name or path}" = "ann@example.com" }}'
        )

    def _resolve(self, found: list[tuple[str, str]], addresses: list[str]) -> None:
        by_url = {self._absolute(u): n for u, n in found}
        chosen: list[tuple[str, str]] = []
        self._missing = {}
        if not self.calendars:
            chosen = sorted(by_url.items())
        for ref in self.calendars:
            if ref.startswith(("http://", "https://", "/")):
                url = self._absolute(ref)
                chosen.append((url, by_url.get(url, "")))  # shared calendars need not be listed
                continue
            named = [(u, n) for u, n in by_url.items() if n == ref]
            if named:
                chosen.extend(named)
            else:
                owner = self.owners.get(ref, ref.lower() if _EMAILISH.match(ref) else ref)
                self._missing[owner] = (
                    f"no calendar named {ref!r} on {self.url} "
                    f"(the account has {len(by_url)}): check [caldav] calendars"
                )
        self._collections = {}
        for url, name in chosen:
            owner = self._owner(url, name, addresses)
            self._collections.setdefault(owner, []).append(Collection(url, name, owner))

    def targets(self, roster: pd.DataFrame | None) -> list[str]:
        if not self._collections and not self._missing:
            # not signed in (the source failed to start): the owners the config names
            return sorted(set(self.owners.values()))
        return sorted(set(self._collections) | set(self._missing))

    # -- one calendar ---------------------------------------------------------------------

    def window(self, now: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The span every pull reads: ``weeks_back`` before today to ``weeks_ahead`` after."""
        day = now.floor("D")
        return day - pd.Timedelta(weeks=self.weeks_back), day + pd.Timedelta(weeks=self.weeks_ahead)

    def pull_one(self, context: PullContext) -> CalendarPull:
        """One owner's calendars: unchanged since the cursor → one request each; else read."""
        owner = context.calendar
        if owner in self._missing:
            raise CaldavError(self._missing[owner], calendar=owner)
        collections = self._collections[owner]
        dav, counter = self._client()
        before = counter.value
        window = self.window(context.now)
        stored = _load_cursor(context.cursor)
        same_scope = (
            stored is not None
            and stored.get("window") == [_iso(window[0]), _iso(window[1])]
            and sorted(stored.get("calendars", {})) == sorted(c.url for c in collections)
        )
        resynced = False
        if same_scope and stored is not None:
            try:
                changed = self._changed(dav, collections, stored["calendars"], owner)
            except CursorExpired:
                changed, resynced = True, True
            if not changed:
                return CalendarPull(
                    owner,
                    empty_events(),
                    empty_attendees(),
                    window=None,
                    cursor=context.cursor,
                    requests=counter.value - before,
                    stats={"unchanged": 1},
                )
        parts: list[tuple[pd.DataFrame, pd.DataFrame]] = []
        problems: list[str] = []
        states: dict[str, dict[str, str | None]] = {}
        count = 0
        for col in collections:
            cal = client.calendar_at(dav, col.url)
            with client.translated(owner, url=col.url, username=self.username):
                state = client.collection_state(cal)  # before the read: nothing is missed
                objects = client.read_window(cal, *window)
            states[col.url] = {"token": state.token, "ctag": state.ctag}
            with mapping_turn:
                ev, at, skipped = mapping.map_objects(
                    owner, objects, window, zone=state.zone or self.zone
                )
            parts.append((ev, at))
            problems.extend(skipped)
            count += len(objects)
        with mapping_turn:
            events, attendees = mapping.combine(parts)
        cursor = json.dumps(
            {
                "v": CURSOR_VERSION,
                "window": [_iso(window[0]), _iso(window[1])],
                "calendars": states,
            },
            sort_keys=True,
        )
        return CalendarPull(
            owner,
            events,
            attendees,
            window=window,
            cursor=cursor,
            requests=counter.value - before,
            items=count,
            resynced=resynced,
            problems=problems,
            stats={"objects": count, "occurrences": len(events)},
        )

    def _changed(
        self,
        dav: Any,
        collections: list[Collection],
        states: dict[str, dict[str, str | None]],
        owner: str,
    ) -> bool:
        """Whether any of an owner's calendars changed since its stored state (one request
        each, stopping at the first change)."""
        for col in collections:
            state = states.get(col.url) or {}
            cal = client.calendar_at(dav, col.url)
            with client.translated(owner, url=col.url, username=self.username):
                if state.get("token"):
                    changed, _ = client.changed_since(cal, str(state["token"]))
                elif state.get("ctag"):
                    changed = client.collection_state(cal).ctag != state["ctag"]
                else:
                    changed = True  # neither: every pull reads the window
            if changed:
                return True
        return False

    # -- the rest of the protocol -----------------------------------------------------------

    def directory_roster(self) -> pd.DataFrame | None:
        return None  # CalDAV has no directory of managers

    def check(self, *, offline: bool) -> str:
        count = sum(len(c) for c in self._collections.values())
        head = f"signed in as {self.username}; {count} calendars of {len(self._collections)} people"
        if offline or not self._collections:
            return head
        owner = sorted(self._collections)[0]
        col = self._collections[owner][0]
        dav, _ = self._client()
        with client.translated(owner, url=col.url, username=self.username):
            client.collection_state(client.calendar_at(dav, col.url))
        return f"{head}; read {col.name or col.url}"

    def close(self) -> None:
        with self._lock:
            for dav in self._clients:
                with contextlib.suppress(Exception):  # closing is best effort
                    dav.close()
            self._clients = []
        self._local = threading.local()


def _load_cursor(text: str | None) -> dict[str, Any] | None:
    """The stored cursor, or ``None`` when there is none or it is of another shape (a full
    pull then makes a new one)."""
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("v") != CURSOR_VERSION:
        return None
    if not isinstance(data.get("calendars"), dict):
        return None
    return data
