"""Google Calendar (Workspace) as a source, through google-api-python-client and google-auth.

Two ways in (:mod:`.auth`):

- **user**: a leader's own account, installed-app OAuth (``cadence auth google``);
  the token is cached as JSON readable by its owner only and refreshed silently;
- **service_account**: HR / org-wide, a service account with domain-wide
  delegation that impersonates each calendar owner in turn.

Scopes are read-only: ``calendar.events.readonly`` (and
``admin.directory.user.readonly`` only when the roster comes from the directory).

Each calendar is pulled on its own (:meth:`GoogleConnector.pull_one`):
occurrences, not series (``singleEvents``), with deleted ones (``showDeleted``),
2,500 per page, and a ``fields`` mask of what the model needs — no titles,
descriptions or conference data. The series masters it needs (for their RRULE,
and the people of sparse cancelled occurrences) come in batch requests, up to
50 per batch, sent to ``{api_root}/batch/calendar/v3``: a first pull costs the
list pages plus one request per 50 new series (each inner call still counts
against Google's quota). The first pull is full from ``weeks_back``
before now; later pulls send the stored sync token, which the sync engine
writes in the same transaction as the rows it covers. An expired token (HTTP
410) re-syncs that calendar alone.

The full sync is bounded below only (``timeMin``, as Google's own sync sample
does) and keeps everything Google returns ahead: with a ``timeMax`` bound, a
series' later occurrences would never arrive (deltas carry only what changes).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pandas as pd

from cadence.errors import CursorExpired
from cadence.model import CalendarPull
from cadence.sources.connector import PullContext, listed_targets, mapping_turn, usable_items
from cadence.sources.google import auth, client, mapping
from cadence.sources.google.settings import (
    BATCH_PATH,
    CALENDAR_SCOPES,
    DEFAULT_ROOT,
    DIRECTORY_SCOPE,
    FAR_FUTURE,
    SOURCE,
)

__all__ = [
    "CALENDAR_SCOPES",
    "DIRECTORY_SCOPE",
    "GoogleConnector",
    "auth",
    "client",
    "mapping",
]


class GoogleConnector:
    """Pull Google calendars (see the module docstring).

    ``sign_in()`` returns ``credentials_for(calendar)``, the credentials that read a
    calendar (:func:`.auth.calendar_credentials`); ``directory_sign_in()`` returns an
    admin's credentials (:func:`.auth.directory_credentials`) and turns on
    :meth:`directory_roster`. Both are called by :meth:`open`, not before.
    """

    source = SOURCE
    section = "google"
    unit = "calendars"

    def __init__(
        self,
        sign_in: Callable[[], Callable[[str], Any]],
        *,
        calendars: list[str] | None = None,
        from_roster: bool = False,
        directory_sign_in: Callable[[], Any] | None = None,
        customer: str = "my_customer",
        root: str = DEFAULT_ROOT,
        weeks_back: int = 26,
        workers: int = 4,
        retries: int = 5,
        timeout: float = 60.0,
    ) -> None:
        self.sign_in = sign_in
        self.directory_sign_in = directory_sign_in
        self.credentials_for: Callable[[str], Any] | None = None
        self.directory: Any = None
        self.calendars = list(calendars or [])
        self.from_roster = from_roster
        self.customer = customer
        self.root = root
        self.weeks_back = weeks_back
        self.workers = workers
        self.retries = retries
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[Any] = []  # every thread's httplib2.Http, closed by close()

    def _events_api(self) -> Any:
        """This thread's ``events()`` collection (building one costs milliseconds)."""
        if not hasattr(self._local, "events_api"):
            self._local.events_api = client.build_api("calendar", "v3", self.root).events()
        return self._local.events_api

    def _http(self) -> Any:
        """This thread's ``httplib2.Http``: its calendars reuse its open connections."""
        if not hasattr(self._local, "http"):
            self._local.http = client.plain_http(self.timeout)
            with self._lock:
                self._opened.append(self._local.http)
        return self._local.http

    def open(self) -> None:
        self.credentials_for = self.sign_in()
        if self.directory_sign_in is not None:
            self.directory = self.directory_sign_in()

    def _credentials(self, calendar: str) -> Any:
        if self.credentials_for is None:
            self.open()
        assert self.credentials_for is not None
        return self.credentials_for(calendar)

    def targets(self, roster: pd.DataFrame | None) -> list[str]:
        return listed_targets("google", "calendars", self.calendars, self.from_roster, roster)

    def pull_one(self, context: PullContext) -> CalendarPull:
        """Incremental with the stored cursor; full when there is none or it expired."""
        calendar = context.calendar
        http = client.connection(self._credentials(calendar), self.timeout, self._http())
        try:
            return self._pull(calendar, http, context)
        except BaseException:
            http.close()  # a failed calendar may leave a connection half read: start afresh
            raise

    def _pull(self, calendar: str, http: Any, context: PullContext) -> CalendarPull:
        events_api = self._events_api()
        lo = (context.now - pd.Timedelta(weeks=self.weeks_back)).floor("D")
        cursor, resynced, extra = context.cursor, False, 0
        try:
            pages = client.list_events(
                events_api, http, calendar, cursor=cursor, time_min=lo, retries=self.retries
            )
        except CursorExpired:  # token expired: this calendar alone, in full
            cursor, resynced, extra = None, True, 1
            pages = client.list_events(
                events_api, http, calendar, cursor=None, time_min=lo, retries=self.retries
            )
        problems: list[str] = []
        items = usable_items(calendar, pages.items, problems)
        if items:
            stored = context.stored()
            with mapping_turn:
                known = mapping.known_from_frames(stored.events, stored.attendees).get(
                    calendar, mapping.Known()
                )
        else:
            known = mapping.Known()
        needed = mapping.series_needing_master(items, known)
        masters = client.Masters()
        if needed:
            masters = client.get_masters(
                events_api,
                http,
                calendar,
                needed,
                batch_uri=self.root.rstrip("/") + "/" + BATCH_PATH,
                retries=self.retries,
            )
        with mapping_turn:
            events, attendees = mapping.map_items(
                calendar,
                items,
                known=known,
                masters=masters.found,
                zone=pages.zone,
                problems=problems,
            )
        return CalendarPull(
            calendar,
            events,
            attendees,
            window=(lo, FAR_FUTURE) if cursor is None else None,
            cursor=pages.sync_token,
            requests=pages.requests + extra + masters.requests,
            items=len(pages.items),
            stats={"masters_fetched": masters.calls, "batches": masters.requests},
            resynced=resynced,
            problems=problems,
        )

    def directory_roster(self) -> pd.DataFrame | None:
        """The roster from the Admin SDK Directory API, when ``directory`` credentials are set."""
        if self.directory_sign_in is None:
            return None
        if self.directory is None:
            self.directory = self.directory_sign_in()
        users_api = client.build_api("admin", "directory_v1", self.root).users()
        users = client.with_connection(
            self.directory,
            self.timeout,
            lambda http: client.list_users(users_api, http, self.customer, self.retries),
        )
        return mapping.map_users(users)

    def check(self, *, offline: bool) -> str:
        if offline or not self.calendars:
            return f"credentials ok; {len(self.calendars)} calendars listed"
        calendar = sorted(self.calendars)[0]
        events_api = self._events_api()

        def read(http: Any) -> None:
            with client.translated(calendar):
                events_api.list(calendarId=calendar, maxResults=1, fields="items(id)").execute(
                    http=http, num_retries=1
                )

        client.with_connection(self._credentials(calendar), self.timeout, read)
        return f"read {calendar}"

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for http in opened:
            http.close()  # httplib2 keeps sockets open otherwise
        self._local = threading.local()
