"""Google's API client, one pager per collection, and errors translated in one place.

The client is built from the discovery document shipped with the library (no
network, milliseconds), once per worker thread; every request runs on its
calendar's own authorized connection (``execute(http=…)``: httplib2 is not
thread-safe), over its worker thread's open connections (one TCP and TLS handshake a
worker, not a calendar; one the server dropped while idle is replaced, and a timeout
closes them, so a late answer is never read as another request's). 403 rate limits,
429, 5xx and timeouts are retried by the library (``num_retries``: exponential backoff
with jitter). What still fails becomes a
:class:`~cadence.errors.GoogleError` here, and nowhere else.
"""

from __future__ import annotations

import functools
import json
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pandas as pd

from cadence.errors import CursorExpired, GoogleError
from cadence.sources.connector import describe
from cadence.sources.google.settings import (
    API_PATHS,
    EVENT_FIELDS,
    MASTER_BATCH,
    MASTER_FIELDS,
    PAGE_SIZE,
    USER_FIELDS,
    USER_PAGE_SIZE,
)

T = TypeVar("T")


def build_api(api: str, version: str, root: str) -> Any:
    """An API client (``calendar`` / ``admin``) pointed at ``root``."""
    import httplib2
    from googleapiclient.discovery import build

    return build(
        api,
        version,
        http=httplib2.Http(),  # never used: requests name their own connection
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": root.rstrip("/") + "/" + API_PATHS[api]},
    )


_DROPPED = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


@functools.cache
def _http_class() -> Any:
    """:class:`KeepAliveHttp`, defined on first use (httplib2 is imported lazily)."""
    import httplib2

    class KeepAliveHttp(httplib2.Http):  # type: ignore[misc]  # httplib2 is untyped
        """An ``httplib2.Http`` that is safe to keep alive across calendars.

        httplib2 reconnects a kept-alive connection only on ``BadStatusLine`` (the server
        closed it with a FIN). A server or load balancer that drops an idle one with a RST
        makes the next request raise ``BrokenPipeError`` / ``ConnectionResetError``: this
        closes the connections and sends that request once more on a fresh one (ours are
        GETs, batch POSTs of GETs and token refreshes, safe to repeat once); a second
        failure propagates, and the client library's ``num_retries`` applies as before.

        On a timeout it closes every connection before re-raising, so a late answer left on
        the socket is never read as the answer to the next request (a retry, the next page,
        the next calendar on this worker). The signature is ``httplib2.Http.request``'s,
        which ``google_auth_httplib2.AuthorizedHttp`` calls with keywords.
        """

        connections: dict[str, Any]  # httplib2's open connections, by scheme and host

        def request(
            self,
            uri: str,
            method: str = "GET",
            body: Any = None,
            headers: Any = None,
            redirections: int = httplib2.DEFAULT_MAX_REDIRECTS,
            connection_type: Any = None,
        ) -> Any:
            send = functools.partial(
                super().request,
                uri,
                method=method,
                body=body,
                headers=headers,
                redirections=redirections,
                connection_type=connection_type,
            )
            try:
                return send()
            except TimeoutError:  # socket.timeout: the answer may still arrive, late
                self.close_connections()
                raise
            except _DROPPED:
                self.close_connections()
                if body is not None and not isinstance(body, str | bytes):
                    raise  # a stream, already read: not ours to send again
            try:
                return send()
            except (TimeoutError, *_DROPPED):  # nothing kept that may be half read
                self.close_connections()
                raise

        def close_connections(self) -> None:
            """Close the open connections (``close()`` would also drop httplib2's own
            credentials and certificates)."""
            existing, self.connections = self.connections, {}
            for conn in existing.values():
                conn.close()

    return KeepAliveHttp


def connection(creds: Any, timeout: float, http: Any = None) -> Any:
    """An authorized HTTP connection: on ``http`` (one thread's :func:`plain_http`, whose
    open connections it reuses), else on one of its own."""
    import google_auth_httplib2

    return google_auth_httplib2.AuthorizedHttp(
        creds, http=http if http is not None else plain_http(timeout)
    )


def plain_http(timeout: float) -> Any:
    """An ``httplib2.Http`` for one thread: it keeps its connections open (keep-alive),
    reconnects once when the server dropped an idle one, and closes them on a timeout
    (:class:`KeepAliveHttp`, in :func:`_http_class`)."""
    return _http_class()(timeout=timeout)


def http_message(exc: Any) -> str:
    """``HTTP 403 rateLimitExceeded: …`` from an ``HttpError``."""
    try:
        detail = json.loads(exc.content.decode("utf-8"))["error"]
        reason = (detail.get("errors") or [{}])[0].get("reason", "")
        return f"HTTP {exc.resp.status} {reason}: {detail.get('message', '')}".strip()
    except (ValueError, KeyError, AttributeError, TypeError):
        return f"HTTP {exc.resp.status}"


@contextmanager
def translated(calendar: str | None = None) -> Iterator[None]:
    """Turn the client library's and the network's errors into ``GoogleError``."""
    import httplib2
    from google.auth.exceptions import GoogleAuthError
    from googleapiclient.errors import HttpError

    try:
        yield
    except HttpError as exc:
        raise GoogleError(http_message(exc), calendar=calendar) from None
    except GoogleAuthError as exc:
        raise GoogleError(
            f"Google sign-in failed ({exc}); run `cadence auth google` again", calendar=calendar
        ) from None
    except (OSError, httplib2.HttpLib2Error) as exc:
        raise GoogleError(describe(exc), calendar=calendar) from None
    except ValueError as exc:  # the client library could not decode the answer
        raise GoogleError(
            f"the API answered with something that is not JSON ({str(exc)[:80]}): an HTML page "
            "from a proxy or captive portal? check [google] api_root and the network",
            calendar=calendar,
        ) from None


def _page(request: Any, http: Any, retries: int, calendar: str | None) -> dict[str, Any]:
    page = request.execute(http=http, num_retries=retries)
    if not isinstance(page, dict):
        raise GoogleError(
            f"the API answered with something that is not JSON ({type(page).__name__}): an "
            "HTML page from a proxy or captive portal? check [google] api_root and the network",
            calendar=calendar,
        )
    return page


@dataclass
class EventPages:
    """Every item of one ``events.list``, with the calendar's zone and its next sync token."""

    items: list[Any] = field(default_factory=list)
    zone: str | None = None
    sync_token: str | None = None
    requests: int = 0


def list_events(
    events_api: Any,
    http: Any,
    calendar: str,
    *,
    cursor: str | None,
    time_min: pd.Timestamp,
    retries: int,
) -> EventPages:
    """The one pager of ``events.list``: occurrences (``singleEvents``), deleted ones too
    (``showDeleted``), 2,500 a page, only the fields the model needs; with ``cursor`` the
    changes since it (``syncToken``), else everything from ``time_min`` on.

    A page may be short or empty while ``nextPageToken`` is still set; the sync
    token comes on the last page. An expired cursor (HTTP 410) raises
    :class:`~cadence.errors.CursorExpired`.
    """
    from googleapiclient.errors import HttpError

    params: dict[str, Any] = {
        "calendarId": calendar,
        "singleEvents": True,
        "showDeleted": True,
        "maxResults": PAGE_SIZE,
        "fields": EVENT_FIELDS,
    }
    if cursor:
        params["syncToken"] = cursor
    else:
        params["timeMin"] = time_min.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = EventPages()
    request = events_api.list(**params)
    with translated(calendar):
        try:
            while request is not None:
                page = _page(request, http, retries, calendar)
                out.requests += 1
                out.items.extend(page.get("items") or [])
                out.zone = page.get("timeZone", out.zone)
                out.sync_token = page.get("nextSyncToken", out.sync_token)
                request = events_api.list_next(request, page)
        except HttpError as exc:
            if exc.resp.status == 410 and cursor:
                raise CursorExpired("the sync token has expired", calendar=calendar) from None
            raise
    return out


_RATE_LIMITS = ("rateLimitExceeded", "userRateLimitExceeded")


def _retryable(status: int, content: bytes | None) -> bool:
    """What ``execute(num_retries=…)`` retries on a single request: 429, 5xx, 403 rate limits."""
    if status == 429 or status >= 500:
        return True
    if status != 403:
        return False
    try:
        reasons = [e.get("reason") for e in json.loads(content or b"{}")["error"]["errors"]]
    except (ValueError, KeyError, TypeError, AttributeError):
        return False
    return any(r in _RATE_LIMITS for r in reasons)


def _backoff(attempt: int) -> None:
    """The client library's own wait before retry ``attempt`` (1, 2, …): rand() × 2^attempt s."""
    time.sleep(random.random() * 2**attempt)


@dataclass
class Masters:
    """Series masters read in batch requests: id → master (absent: gone), and the cost."""

    found: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: int = 0  # HTTP requests (batch POSTs, retries included)
    calls: int = 0  # inner calls: what Google's quota counts


def get_masters(
    events_api: Any,
    http: Any,
    calendar: str,
    series: list[str],
    *,
    batch_uri: str,
    retries: int,
) -> Masters:
    """The series masters (their RRULE, people and times), :data:`MASTER_BATCH` per batch
    request (``BatchHttpRequest`` against ``batch_uri``, which follows ``api_root``).

    Each part is judged as the single ``events.get`` it replaces: 404/410 means the series
    is gone (left out); 429, 5xx and 403 rate limits are sent again, in a new batch after
    the library's backoff, up to ``retries`` times, as are failures of the whole batch;
    anything else, or a part still failing, is this calendar's :class:`GoogleError`.
    """
    import httplib2
    from googleapiclient.errors import HttpError
    from googleapiclient.http import BatchHttpRequest

    out = Masters()
    todo = list(series)
    answers: dict[str, tuple[Any, HttpError | None]] = {}  # one batch's, by part

    def collect(rid: str, response: Any, exc: HttpError | None) -> None:
        answers[rid] = (response, exc)

    with translated(calendar):
        for attempt in range(retries + 1):
            if attempt:
                _backoff(attempt)
            again: list[str] = []
            for start in range(0, len(todo), MASTER_BATCH):
                chunk = todo[start : start + MASTER_BATCH]
                answers.clear()
                batch = BatchHttpRequest(callback=collect, batch_uri=batch_uri)
                for n, one in enumerate(chunk):
                    batch.add(
                        events_api.get(calendarId=calendar, eventId=one, fields=MASTER_FIELDS),
                        request_id=str(n),
                    )
                out.requests += 1
                out.calls += len(chunk)
                try:
                    batch.execute(http=http)
                except HttpError as exc:  # the whole batch was refused
                    if attempt == retries or not _retryable(exc.resp.status, exc.content):
                        raise
                    again.extend(chunk)
                    continue
                except (OSError, httplib2.HttpLib2Error):  # the network, as the library retries
                    if attempt == retries:
                        raise
                    again.extend(chunk)
                    continue
                for n, one in enumerate(chunk):
                    response, failure = answers.get(str(n), (None, None))
                    if failure is not None:
                        status = failure.resp.status
                        if status in (404, 410):
                            continue
                        if attempt < retries and _retryable(status, failure.content):
                            again.append(one)
                            continue
                        raise failure
                    if not isinstance(response, dict):
                        raise GoogleError(
                            f"the API answered with something that is not JSON "
                            f"({type(response).__name__}) for series {one}: an HTML page from a "
                            "proxy or captive portal? check [google] api_root and the network",
                            calendar=calendar,
                        )
                    out.found[one] = response
            if not again:
                return out
            todo = again
    raise AssertionError("unreachable: the last attempt raises or returns")  # pragma: no cover


def list_users(users_api: Any, http: Any, customer: str, retries: int) -> list[dict[str, Any]]:
    """The one pager of the Directory API's ``users.list``."""
    users: list[dict[str, Any]] = []
    request = users_api.list(
        customer=customer, maxResults=USER_PAGE_SIZE, projection="full", fields=USER_FIELDS
    )
    with translated():
        while request is not None:
            page = _page(request, http, retries, None)
            users.extend(page.get("users") or [])
            request = users_api.list_next(request, page)
    return users


def with_connection(creds: Any, timeout: float, work: Callable[[Any], T]) -> T:
    """Run ``work(http)`` on a connection of its own, closed afterwards."""
    http = connection(creds, timeout)
    try:
        return work(http)
    finally:
        http.close()
