"""CalDAV over the ``caldav`` library: one client per worker, retries in its niquests session,
the requests a pull makes, and errors translated in one place.

The ``caldav`` library (3.x) talks HTTP through a niquests session; its adapter
is given a urllib3 ``Retry`` so that 500 / 502 / 503 / 504, connection errors
and read timeouts are retried with backoff (honouring ``Retry-After``) for
every method — PROPFIND and REPORT only read. What still fails becomes a
:class:`~cadence.errors.CaldavError` here, and nowhere else: 401 / 403 say to
check the app password, 404 names the calendar, an invalid sync token (RFC 6578
``DAV:valid-sync-token``) becomes :class:`~cadence.errors.CursorExpired`.

The requests of one calendar's pull:

- :func:`collection_state` — one PROPFIND (depth 0) for ``DAV:sync-token`` and
  Apple's ``getctag``;
- :func:`changed_since` — one ``sync-collection`` REPORT (RFC 6578) with the
  stored token, hrefs and ETags only (no calendar data);
- :func:`read_window` — one ``calendar-query`` REPORT (RFC 4791) for the
  VEVENTs with an instance in the window, calendar data included.
"""

from __future__ import annotations

import logging
import re
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd

from cadence.errors import CaldavError, CursorExpired
from cadence.sources.caldav.settings import CTAG, RETRY_STATUSES
from cadence.sources.connector import describe
from cadence.zones import iana_zone

_VALID_SYNC_TOKEN = "{DAV:}valid-sync-token"
_SUPPORTED_REPORT = "{DAV:}supported-report"
# how much wider than the window a calendar-query asks (as the caldav library itself widens
# a range it filters again: servers place floating times and dates in their own zone)
SERVER_MARGIN = pd.Timedelta(days=1)


@dataclass(frozen=True)
class Collection:
    """One calendar collection on the server, and whose calendar it is."""

    url: str
    name: str
    owner: str


class Counter:
    """HTTP requests sent by one client (retries of a request included)."""

    def __init__(self) -> None:
        self._n = 0
        self._lock = threading.Lock()

    def __call__(self, response: Any, **_kwargs: Any) -> Any:
        with self._lock:
            self._n += 1
        return response

    @property
    def value(self) -> int:
        with self._lock:
            return self._n


def dav_client(
    url: str,
    username: str,
    password: str,
    *,
    timeout: float,
    retries: int,
    backoff: float = 0.5,
    pool: int = 4,
    auth: Any = None,
) -> tuple[Any, Counter]:
    """A ``caldav.DAVClient`` whose session retries transient faults, and its request counter.

    ``auth`` (an auth object another client negotiated) skips the 401 round trip
    a new client makes to learn the server's scheme.
    """
    from caldav.davclient import DAVClient
    from niquests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    # the library warns, with a diff, about every object whose text it "fixes" for its own
    # editing; Cadence reads the server's bytes as sent (``raw_data``): not the user's concern
    logging.getLogger("caldav").setLevel(logging.ERROR)

    client = DAVClient(
        url=url,
        username=username,
        password=password,
        timeout=timeout,  # type: ignore[arg-type]  # seconds as a float work; the hint says int
        enable_rfc6764=False,  # the URL is configured: no DNS discovery behind the user's back
    )
    if auth is not None:
        client.auth = auth
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=None,  # PROPFIND and REPORT only read
        backoff_factor=backoff,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_connections=pool, pool_maxsize=pool)
    client.session.mount("https://", adapter)
    client.session.mount("http://", adapter)
    counter = Counter()
    client.session.hooks.setdefault("response", []).append(counter)
    return client, counter


def _host(url: str | None) -> str:
    return urllib.parse.urlsplit(url or "").netloc or str(url)


@contextmanager
def translated(
    calendar: str | None = None, *, url: str | None = None, username: str | None = None
) -> Iterator[None]:
    """Turn the caldav library's and the network's errors into ``CaldavError``."""
    import niquests
    from caldav.lib import error

    try:
        yield
    except CursorExpired:
        raise
    except error.DAVError as exc:
        if _VALID_SYNC_TOKEN in getattr(exc, "preconditions", []):
            raise CursorExpired("the sync token is no longer valid", calendar=calendar) from None
        raise CaldavError(_message(exc, url or exc.url, username), calendar=calendar) from None
    except (niquests.exceptions.RequestException, OSError) as exc:
        raise CaldavError(describe(exc), calendar=calendar) from None


def _message(exc: Any, url: str | None, username: str | None) -> str:
    from caldav.lib import error

    status = getattr(exc, "status", None)
    who = f" for {username!r}" if username else ""
    if isinstance(exc, error.AuthorizationError) and status != 403:
        return (
            f"HTTP 401 from {_host(url)}: the sign-in{who} was refused; check the app password "
            "($CADENCE_CALDAV_PASSWORD or `cadence auth caldav`; iCloud, Fastmail and Zoho "
            "need an app-specific password) and [caldav] username"
        )
    if isinstance(exc, error.AuthorizationError):
        return (
            f"HTTP 403 for {url}: the account{who} may not read it; check the app password "
            "and that the calendar is shared with this account"
        )
    if isinstance(exc, error.NotFoundError) or status == 404:
        return f"calendar {url} not found (HTTP 404): check [caldav] calendars"
    if isinstance(exc, error.RateLimitError):
        return f"HTTP {status or 429} from {_host(url)}: the server is busy (still after retries)"
    reason = getattr(exc, "reason", "") or ""
    return f"HTTP {status or '?'} from {url}: {reason}".strip().rstrip(":") + " (after retries)"


@dataclass(frozen=True)
class State:
    """What one PROPFIND says of a collection: its sync token, its ctag, its time zone."""

    token: str | None
    ctag: str | None
    zone: str | None


def collection_state(calendar: Any) -> State:
    """A collection's ``DAV:sync-token``, ``getctag`` and ``calendar-timezone`` (RFC 4791:
    the zone of its floating times; any may be missing): one PROPFIND, depth 0."""
    from caldav.elements import cdav, dav
    from caldav.elements.base import ValuedBaseElement

    class GetCtag(ValuedBaseElement):
        tag = CTAG

    props = calendar.get_properties([dav.SyncToken(), GetCtag(), cdav.CalendarTimeZone()])
    token = props.get(dav.SyncToken.tag)
    ctag = props.get(CTAG)
    vtimezone = props.get(cdav.CalendarTimeZone.tag)
    zone = None
    if vtimezone:
        match = re.search(r"^TZID[^:]*:(.+?)\s*$", str(vtimezone), re.M)
        zone = iana_zone(match.group(1)) if match else None
    return State(str(token) if token else None, str(ctag) if ctag else None, zone)


def changed_since(calendar: Any, token: str) -> tuple[bool, str | None]:
    """Whether anything in the collection changed since ``token`` (a ``sync-collection``
    REPORT with hrefs and ETags only), and the collection's new token.

    An invalid or expired token raises :class:`~cadence.errors.CursorExpired`.
    """
    from caldav.lib import error

    try:
        changes = calendar.get_objects_by_sync_token(
            token, load_objects=False, disable_fallback=True
        )
    except error.DAVError as exc:
        if _SUPPORTED_REPORT in getattr(exc, "preconditions", []):
            return True, None  # a token but no sync-collection: read it, keep no token
        raise
    changed = len(changes) > 0 or bool(getattr(changes, "deleted_urls", None))
    return changed, (str(changes.sync_token) if changes.sync_token else None)


def read_window(calendar: Any, lo: pd.Timestamp, hi: pd.Timestamp) -> list[tuple[str, bytes]]:
    """The objects (href, iCalendar bytes) with a VEVENT instance in ``[lo, hi)``: one
    ``calendar-query`` REPORT with a time-range filter, series unexpanded (Cadence expands
    them with its own iCalendar mapping).

    The range asked for is a day wider on each side (a server may place dates and floating
    times in its own zone) and the library does not filter the answer again: by default it
    would parse and expand every object a second time to cut exactly at ``[lo, hi)``, which
    the mapping does anyway (it keeps only the occurrences in the window)."""
    found = calendar.search(
        start=(lo - SERVER_MARGIN).to_pydatetime(),
        end=(hi + SERVER_MARGIN).to_pydatetime(),
        event=True,
        expand=False,
        post_filter=False,
    )
    out = []
    for obj in found:
        raw = obj.raw_data  # as the server sent it, before the library's own "fixes"
        if raw is None:
            data = obj.data
            if data is None:
                continue
            raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        out.append((str(obj.url), raw))
    return out


def discover(client: Any) -> tuple[list[tuple[str, str]], list[str]]:
    """The principal's calendars (url, display name) and its ``mailto:`` addresses (RFC 6638
    ``calendar-user-address-set``; empty when the server gives none)."""
    from caldav.lib import error

    principal = client.principal()
    calendars = [(str(c.url), str(c.get_display_name() or "")) for c in principal.calendars()]
    try:
        addresses = principal.calendar_user_address_set()
    except error.DAVError:
        addresses = []
    emails = [
        a.split(":", 1)[1].strip().lower()
        for a in addresses
        if a and a.lower().startswith("mailto:") and "@" in a
    ]
    return calendars, emails


def calendar_at(client: Any, url: str) -> Any:
    """The collection at ``url`` (no request is made)."""
    return client.calendar(url=url)
