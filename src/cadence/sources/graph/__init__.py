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
costs its calendarView pages and one batch per 20 series. One request at a
time per mailbox (Outlook allows 4).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

import pandas as pd
import requests

from cadence.errors import GraphError
from cadence.model import CalendarPull
from cadence.sources.connector import PullContext, listed_targets, usable_items
from cadence.sources.graph import auth, client, mapping
from cadence.sources.graph.settings import (
    DEFAULT_GRAPH,
    EVENT_SELECT,
    MASTER_SELECT,
    PAGE_SIZE,
    SOURCE,
    USER_PAGE_SIZE,
    USER_QUERY,
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
        self._own_session = session is None
        self.session = session or client.graph_session(retries, pool=max(2, workers))

    def open(self) -> None:
        self._token = self.sign_in()
        self._token()

    def token(self) -> str:
        if self._token is None:
            self.open()
        assert self._token is not None
        return self._token()

    def _graph(self) -> client.Graph:
        return client.Graph(self.session, self.token, self.graph_url, self.timeout)

    def window(self, now: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The span every pull reads: ``weeks_back`` before today to ``weeks_ahead`` after."""
        day = now.floor("D")
        return day - pd.Timedelta(weeks=self.weeks_back), day + pd.Timedelta(weeks=self.weeks_ahead)

    def targets(self, roster: pd.DataFrame | None) -> list[str]:
        return listed_targets("microsoft", "mailboxes", self.mailboxes, self.from_roster, roster)

    def pull_one(self, context: PullContext) -> CalendarPull:
        """calendarView over the window, then the masters it needs, then map."""
        mailbox = context.calendar
        graph = self._graph()
        lo, hi = window = self.window(context.now)
        user = urllib.parse.quote(mailbox, safe="@")
        query = urllib.parse.urlencode(
            {
                "startDateTime": lo.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "endDateTime": hi.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "$select": EVENT_SELECT,
            },
            safe=",$:",
        )
        try:
            problems: list[str] = []
            items = usable_items(
                mailbox,
                graph.pages(f"/users/{user}/calendarView?{query}", self.page_size),
                problems,
                unit="mailbox",
            )
            known = mapping.known_from_frames(context.stored().events)
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
        self._graph().get(
            f"/users/{box}/calendarView?startDateTime={now:%Y-%m-%dT%H:%M:%SZ}"
            f"&endDateTime={now + pd.Timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}&$select=id&$top=1"
        )
        return f"read {box}"

    def close(self) -> None:
        if self._own_session:
            self.session.close()
        if self.sign_in_session is not None:
            self.sign_in_session.close()
