"""Microsoft 365 (Exchange Online / Outlook) as a source: Microsoft Graph v1.0, msal, requests.

Two ways in (:mod:`.auth`):

- **delegated** (a leader's own account): a public client, device-code sign-in
  with ``cadence auth microsoft``, silent refresh afterwards, an owner-only
  token cache;
- **application** (HR, org-wide): a confidential client with a secret or a
  certificate, client credentials with the ``.default`` scope.

Least privilege: ``Calendars.ReadBasic`` (delegated) / ``Calendars.ReadBasic.All``
(application) — no bodies, no attachments; ``User.Read.All`` only for the
directory roster.

A mailbox is pulled with ``calendarView`` over the window (``weeks_back`` ..
``weeks_ahead``), an explicit ``$select``, times in UTC and large pages
(``Prefer: odata.maxpagesize``), always following ``@odata.nextLink``.
Cancelled occurrences are not in ``calendarView``: they come from the series
masters' ``cancelledOccurrences`` (masters fetched with ``$select``, up to 20
per JSON ``$batch``) and from the store's history (an occurrence that vanished
from a full pull before its start is cancelled).

Incremental: every pull is a full pull of the window, diffed by the store (an
unchanged mailbox writes no row), because Graph's only change feed,
``calendarView/delta``, cannot ``$select`` (it returns bodies) and needs
``Calendars.Read`` — more than we need to know. The masters of the series in
the window are fetched on every pull (20 per ``$batch`` request), so new
cancellations and rule changes are seen directly: a later pull of a mailbox
costs its calendarView pages and one batch per 20 series, as the first did.

Up to 4 requests are in flight per mailbox, never more (Outlook's limit per
app per mailbox; :class:`~.client.Slots`, shared by every worker, where a
``$batch`` holds up to 4 places as Graph runs 4 of its items at once):
calendarView is ordered by start, and when its first page is not all of the
window the rest is read in :data:`~.settings.VIEW_SLICES` slices at once.
Each thread has its own requests session.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd
import requests

from cadence.errors import GraphError
from cadence.model import CalendarPull
from cadence.sources.connector import PullContext, listed_targets, mapping_turn, usable_items
from cadence.sources.graph import auth, client, mapping
from cadence.sources.graph.settings import (
    DEFAULT_GRAPH,
    EVENT_SELECT,
    MASTER_SELECT,
    PAGE_SIZE,
    SOURCE,
    USER_PAGE_SIZE,
    USER_QUERY,
    VIEW_SLICES,
)

__all__ = ["GraphConnector", "auth", "client", "mapping"]


class GraphConnector:
    """Pull Outlook mailboxes (see the module docstring).

    ``sign_in()`` returns ``token()``, a function giving a fresh access token
    (:func:`.auth.token_provider`); :meth:`open` calls it, and takes one token to
    prove the sign-in works.
    """

    source = SOURCE
    section = "microsoft"
    unit = "mailboxes"

    def __init__(
        self,
        sign_in: Callable[[], Callable[[], str]],
        *,
        mailboxes: list[str] | None = None,
        from_roster: bool = False,
        roster_from_directory: bool = False,
        graph_url: str = DEFAULT_GRAPH,
        weeks_back: int = 26,
        weeks_ahead: int = 8,
        workers: int = 4,
        retries: int = 5,
        timeout: float = 60.0,
        page_size: int = PAGE_SIZE,
        session: requests.Session | None = None,
        sign_in_session: requests.Session | None = None,
    ) -> None:
        self.sign_in = sign_in
        self._token: Callable[[], str] | None = None
        self.mailboxes = list(mailboxes or [])
        self.from_roster = from_roster
        self.roster_from_directory = roster_from_directory
        self.graph_url = graph_url
        self.weeks_back = weeks_back
        self.weeks_ahead = weeks_ahead
        self.workers = workers
        self.timeout = timeout
        self.page_size = page_size
        self.sign_in_session = sign_in_session  # msal's, closed with the connector
        self.retries = retries
        self.session = session  # one given: used by every thread (the caller vouches for it)
        self.slots = client.Slots()  # <= 4 requests in flight per mailbox, all threads together
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()
        self._slices: ThreadPoolExecutor | None = None

    def open(self) -> None:
        self._token = self.sign_in()
        self._token()

    def token(self) -> str:
        if self._token is None:
            self.open()
        assert self._token is not None
        return self._token()

    def _session(self) -> requests.Session:
        """This thread's session (requests sessions are not thread-safe), made on first use."""
        if self.session is not None:
            return self.session
        mine: requests.Session | None = getattr(self._local, "session", None)
        if mine is None:
            mine = self._local.session = client.graph_session(self.retries, pool=2)
            with self._sessions_lock:
                self._sessions.append(mine)
        return mine

    def _slicer(self) -> ThreadPoolExecutor:
        """The threads that read calendarView slices, for every worker (made once, so their
        sessions and connections are reused)."""
        with self._sessions_lock:
            if self._slices is None:
                self._slices = ThreadPoolExecutor(
                    max(1, self.workers) * VIEW_SLICES, thread_name_prefix="graph-view"
                )
            return self._slices

    def _graph(self, mailbox: str | None = None) -> client.Graph:
        return client.Graph(
            self._session, self.token, self.graph_url, self.timeout, mailbox, self.slots
        )

    def window(self, now: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The span every pull reads: ``weeks_back`` before today to ``weeks_ahead`` after."""
        day = now.floor("D")
        return day - pd.Timedelta(weeks=self.weeks_back), day + pd.Timedelta(weeks=self.weeks_ahead)

    def targets(self, roster: pd.DataFrame | None) -> list[str]:
        return listed_targets("microsoft", "mailboxes", self.mailboxes, self.from_roster, roster)

    def pull_one(self, context: PullContext) -> CalendarPull:
        """calendarView over the window, then the masters it needs, then map."""
        mailbox = context.calendar
        graph = self._graph(mailbox)
        lo, hi = window = self.window(context.now)
        user = urllib.parse.quote(mailbox, safe="@")
        try:
            problems: list[str] = []
            items = usable_items(mailbox, self._view(graph, user, lo, hi), problems, unit="mailbox")
            stored = context.stored().events
            with mapping_turn:
                known = mapping.known_from_frames(stored)
            # every series in the window, also those whose occurrences are all cancelled now:
            # a master's cancelledOccurrences is the only place Graph lists cancellations
            needed = sorted(
                {i["seriesMasterId"] for i in items if i.get("seriesMasterId")}
                | {series for series, slot in known.slots if lo <= slot < hi}
            )
            urls = [f"/users/{user}/events/{m}?$select={MASTER_SELECT}" for m in needed]
            bodies = graph.batch_get(urls) if urls else {}
        except GraphError as exc:
            raise GraphError(str(exc), calendar=mailbox) from None
        masters = {m: bodies.get(u) for m, u in zip(needed, urls, strict=True)}
        with mapping_turn:
            events, attendees = mapping.map_items(
                mailbox,
                items,
                masters={k: v for k, v in masters.items() if v},
                known=known,
                window=window,
                problems=problems,
            )
        return CalendarPull(
            mailbox,
            events,
            attendees,
            window=window,
            requests=graph.requests,
            items=len(items),
            stats={"masters_fetched": len(urls)},
            problems=problems,
        )

    def _view(
        self, graph: client.Graph, user: str, lo: pd.Timestamp, hi: pd.Timestamp
    ) -> list[Any]:
        """calendarView over ``lo`` .. ``hi``, ordered by start. When the first page is not
        all of it, the rest of the window (from the last start that page reached) is read
        in :data:`VIEW_SLICES` slices at once, each following its own nextLinks; an event
        overlapping two slices comes back in both and is kept once."""

        def url(start: pd.Timestamp, end: pd.Timestamp) -> str:
            query = urllib.parse.urlencode(
                {
                    "startDateTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "endDateTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "$select": EVENT_SELECT,
                    "$orderby": "start/dateTime",
                },
                safe=",$:/",
            )
            return f"/users/{user}/calendarView?{query}"

        first = graph.get(url(lo, hi), page_size=self.page_size)
        items: list[Any] = list(first.get("value", []))
        following = first.get("@odata.nextLink")
        if not following:
            return items
        reached = _last_start(items)
        if reached is None or reached >= hi:  # nothing to cut by: the nextLinks, in turn
            return items + graph.pages(following, self.page_size)
        # from a second before it: a zero-length event at that start is in the next slice
        begin = max(lo, reached.floor("s") - pd.Timedelta(seconds=1))
        cuts = [begin + (hi - begin) * k / VIEW_SLICES for k in range(VIEW_SLICES + 1)]
        cuts = [c.ceil("s") for c in cuts[:-1]] + [hi]
        parts = list(
            self._slicer().map(
                lambda k: graph.pages(url(cuts[k], cuts[k + 1]), self.page_size),
                range(VIEW_SLICES),
            )
        )
        seen = {i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("id"), str)}
        for part in parts:
            for item in part:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    if item["id"] in seen:
                        continue
                    seen.add(item["id"])
                items.append(item)
        return items

    def directory_roster(self) -> pd.DataFrame | None:
        """The roster from Entra ID (``/users`` with their manager), when configured."""
        if not self.roster_from_directory:
            return None
        return mapping.map_users(self._graph().pages(f"/users?{USER_QUERY}", USER_PAGE_SIZE))

    def check(self, *, offline: bool) -> str:
        if offline or not self.mailboxes:
            return f"token ok; {len(self.mailboxes)} mailboxes listed"
        box = sorted(self.mailboxes)[0]
        now = pd.Timestamp.now(tz="UTC").floor("D")
        self._graph(box).get(
            f"/users/{box}/calendarView?startDateTime={now:%Y-%m-%dT%H:%M:%SZ}"
            f"&endDateTime={now + pd.Timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}&$select=id&$top=1"
        )
        return f"read {box}"

    def close(self) -> None:
        with self._sessions_lock:
            slices, self._slices = self._slices, None
        if slices is not None:
            slices.shutdown(wait=True)
        with self._sessions_lock:
            made, self._sessions = self._sessions, []
        for session in made:
            session.close()
        self._local = threading.local()
        if self.sign_in_session is not None:
            self.sign_in_session.close()


def _last_start(items: list[Any]) -> pd.Timestamp | None:
    """The latest start among a calendarView page's items (UTC), if any can be read."""
    starts = []
    for item in items:
        try:
            starts.append(mapping.utc(item.get("start")))
        except (AttributeError, KeyError, TypeError, ValueError):
            continue  # not an event: skipped and listed by the mapping, not here
    known = [s for s in starts if s is not None]
    return max(known) if known else None
