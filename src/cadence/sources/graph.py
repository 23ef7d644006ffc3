"""Microsoft 365 (Exchange Online / Outlook) as a source: Microsoft Graph v1.0, msal, requests.

Two ways in:

- **delegated** (a leader's own account): a public client, device-code sign-in
  with ``cadence auth microsoft``, silent refresh afterwards; the msal token
  cache is a JSON file readable by its owner only (headless Linux servers,
  the common case, have no keyring for msal-extensions' encrypted persistence);
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
costs its calendarView pages and one batch per 20 series.

Throttling: 429 / 503 / 504 (and connection errors) are retried by urllib3's
``Retry`` on the requests session, honouring ``Retry-After``; batch items that
come back 429 / 503 inside a 200 batch are sent again after their
``Retry-After``. One request at a time per mailbox (Outlook allows 4).
"""

from __future__ import annotations

import json
import os
import re
import stat
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from cadence.errors import SourceError
from cadence.model import ATTENDEES, EVENTS, validate
from cadence.sources._concurrent import ThreadReaders, pull_concurrently, write_private
from cadence.sources.ics import iana_zone
from cadence.store import Pull, Store

SOURCE = "graph"
DEFAULT_GRAPH = "https://graph.microsoft.com/v1.0"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
DELEGATED_SCOPES = ["Calendars.ReadBasic"]
PAGE_SIZE = 500
BATCH_SIZE = 20  # Graph's JSON batching limit
EVENT_SELECT = (
    "id,iCalUId,type,seriesMasterId,originalStart,originalStartTimeZone,start,end,isAllDay,"
    "isCancelled,showAs,organizer,attendees,responseStatus,createdDateTime,lastModifiedDateTime"
)
MASTER_SELECT = (
    "id,iCalUId,type,recurrence,cancelledOccurrences,start,end,originalStartTimeZone,isAllDay,"
    "organizer,attendees,showAs"
)
_SHOW_AS = {"oof": "out_of_office", "workingElsewhere": "working_location"}
_RESPONSE = {
    "accepted": "accepted",
    "organizer": "accepted",
    "declined": "declined",
    "tentativelyAccepted": "tentative",
}
_DAYS = {
    "monday": "MO",
    "tuesday": "TU",
    "wednesday": "WE",
    "thursday": "TH",
    "friday": "FR",
    "saturday": "SA",
    "sunday": "SU",
}
_OID = re.compile(r"^OID\.(?P<master>.+)\.(?P<date>\d{4}-\d{2}-\d{2})$")
_EMPTY_EVENTS = validate(pd.DataFrame(columns=EVENTS.names), EVENTS)
_EMPTY_ATTENDEES = validate(pd.DataFrame(columns=ATTENDEES.names), ATTENDEES)


class GraphError(SourceError):
    """A mailbox could not be pulled (after retries); ``calendar`` says which."""

    def __init__(self, message: str, *, calendar: str | None = None) -> None:
        super().__init__(message, source=SOURCE, calendar=calendar)


# -- tokens ---------------------------------------------------------------------------------------


def graph_scope(graph_url: str) -> str:
    """The application ``.default`` scope of a Graph cloud (e.g. graph.microsoft.us)."""
    parts = urllib.parse.urlsplit(graph_url)
    return f"{parts.scheme}://{parts.netloc}/.default"


class TokenCacheFile:
    """msal's token cache persisted as JSON readable by its owner only (0600)."""

    def __init__(self, path: Path) -> None:
        import msal

        self.path = path
        self.cache = msal.SerializableTokenCache()
        if path.exists():
            if path.stat().st_mode & 0o077:
                os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
            try:
                self.cache.deserialize(path.read_text(encoding="utf-8"))
            except (ValueError, json.JSONDecodeError):
                raise GraphError(
                    f"{path}: not an msal token cache; delete it and run "
                    "`cadence auth microsoft` again"
                ) from None

    def save(self) -> None:
        if not self.cache.has_state_changed:
            return
        write_private(self.path, self.cache.serialize())
        self.cache.has_state_changed = False


def _authority(authority_host: str, tenant: str) -> str:
    return authority_host.rstrip("/") + "/" + tenant


def public_app(
    client_id: str,
    tenant: str,
    cache: TokenCacheFile,
    *,
    authority_host: str = DEFAULT_AUTHORITY,
    http_client: Any = None,
) -> Any:
    """The delegated (public) client with its persisted cache."""
    import msal

    return msal.PublicClientApplication(
        client_id,
        authority=_authority(authority_host, tenant),
        token_cache=cache.cache,
        http_client=http_client,
        instance_discovery=False,  # the authority is configured; national clouds and proxies too
    )


def device_login(app: Any, cache: TokenCacheFile, echo: Callable[[str], None]) -> str:
    """Sign in with the device code flow; return the account's username."""
    flow = app.initiate_device_flow(scopes=DELEGATED_SCOPES)
    if "user_code" not in flow:
        raise GraphError(f"could not start the device sign-in: {flow.get('error_description')}")
    echo(flow["message"])
    result = app.acquire_token_by_device_flow(flow)
    if "access_token" not in result:
        raise GraphError(f"sign-in failed: {result.get('error_description', result.get('error'))}")
    cache.save()
    return str((result.get("id_token_claims") or {}).get("preferred_username", "signed in"))


def delegated_token(app: Any, cache: TokenCacheFile) -> Callable[[], str]:
    """A function returning a fresh delegated access token (silent refresh, cache saved)."""
    accounts = app.get_accounts()
    if not accounts:
        raise GraphError(
            f"no Microsoft sign-in in {cache.path}; run `cadence auth microsoft` first"
        )
    lock = threading.Lock()

    def token() -> str:
        with lock:
            result = app.acquire_token_silent(DELEGATED_SCOPES, account=accounts[0])
            if not result or "access_token" not in result:
                why = (result or {}).get("error_description", "the sign-in has expired")
                raise GraphError(f"{why}; run `cadence auth microsoft` again")
            cache.save()
            return str(result["access_token"])

    return token


def application_token(
    client_id: str,
    tenant: str,
    credential: str | Mapping[str, str],
    *,
    graph_url: str = DEFAULT_GRAPH,
    authority_host: str = DEFAULT_AUTHORITY,
    http_client: Any = None,
) -> Callable[[], str]:
    """A function returning an app-only token (client credentials, ``.default``; msal caches it).

    ``credential`` is a client secret or ``{"private_key": PEM, "thumbprint": HEX}``.
    """
    import msal

    app = msal.ConfidentialClientApplication(
        client_id,
        client_credential=credential,
        authority=_authority(authority_host, tenant),
        http_client=http_client,
        instance_discovery=False,
    )
    scope = [graph_scope(graph_url)]
    lock = threading.Lock()

    def token() -> str:
        with lock:
            result = app.acquire_token_for_client(scopes=scope)
        if "access_token" not in result:
            raise GraphError(
                f"app-only token refused: {result.get('error_description', result.get('error'))}"
            )
        return str(result["access_token"])

    return token


# -- HTTP -----------------------------------------------------------------------------------------


def graph_session(retries: int = 5, *, pool: int = 8, backoff: float = 0.5) -> requests.Session:
    """A requests session whose urllib3 ``Retry`` handles throttling and transient faults."""
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        status_forcelist=(429, 503, 504),
        allowed_methods=None,  # every method: $batch is a POST that only reads
        backoff_factor=backoff,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=pool, pool_maxsize=pool)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


@dataclass
class Graph:
    """Authenticated GET / $batch against one Graph base URL."""

    session: requests.Session
    token: Callable[[], str]
    base: str = DEFAULT_GRAPH
    timeout: float = 60.0
    requests: int = 0

    def _headers(self, page_size: int | None = None) -> dict[str, str]:
        prefer = ['outlook.timezone="UTC"']
        if page_size:
            prefer.append(f"odata.maxpagesize={page_size}")
        return {"Authorization": f"Bearer {self.token()}", "Prefer": ", ".join(prefer)}

    def get(self, url: str, *, page_size: int | None = None) -> dict[str, Any]:
        full = url if url.startswith("http") else self.base.rstrip("/") + url
        self.requests += 1
        try:
            resp = self.session.get(full, headers=self._headers(page_size), timeout=self.timeout)
        except requests.RequestException as exc:
            raise GraphError(_describe(exc)) from None
        if resp.status_code != 200:
            raise GraphError(_http_message(resp.status_code, resp.text))
        data: dict[str, Any] = resp.json()
        return data

    def pages(self, url: str, page_size: int) -> list[dict[str, Any]]:
        """Every item of a collection, following ``@odata.nextLink`` to the end."""
        items: list[dict[str, Any]] = []
        next_url: str | None = url
        while next_url:
            page = self.get(next_url, page_size=page_size)
            items.extend(page.get("value", []))
            next_url = page.get("@odata.nextLink")
        return items

    def batch_get(self, urls: list[str], *, rounds: int = 5) -> dict[str, dict[str, Any] | None]:
        """GET many relative URLs with JSON ``$batch`` (≤ 20 each); url → body (None: 404).

        Items throttled inside a successful batch (429 / 503 / 504) are sent
        again after the longest ``Retry-After`` they named.
        """
        out: dict[str, dict[str, Any] | None] = {}
        todo = list(urls)
        for _ in range(rounds + 1):
            retry: list[str] = []
            wait = 0.0
            for start in range(0, len(todo), BATCH_SIZE):
                chunk = todo[start : start + BATCH_SIZE]
                body = {
                    "requests": [
                        {"id": str(i), "method": "GET", "url": u} for i, u in enumerate(chunk)
                    ]
                }
                self.requests += 1
                try:
                    resp = self.session.post(
                        self.base.rstrip("/") + "/$batch",
                        json=body,
                        headers=self._headers(),
                        timeout=self.timeout,
                    )
                except requests.RequestException as exc:
                    raise GraphError(_describe(exc)) from None
                if resp.status_code != 200:
                    raise GraphError(_http_message(resp.status_code, resp.text))
                for answer in resp.json().get("responses", []):
                    url = chunk[int(answer["id"])]
                    status = int(answer.get("status", 500))
                    if status == 200:
                        out[url] = answer.get("body") or {}
                    elif status == 404:
                        out[url] = None
                    elif status in (429, 503, 504):
                        retry.append(url)
                        after = (answer.get("headers") or {}).get("Retry-After", "1")
                        wait = max(wait, float(after) if str(after).isdigit() else 1.0)
                    else:
                        raise GraphError(_http_message(status, json.dumps(answer.get("body"))))
            if not retry:
                return out
            time.sleep(wait)
            todo = retry
        raise GraphError(f"{len(todo)} batched request(s) still throttled after {rounds} rounds")


def _http_message(status: int, text: str) -> str:
    try:
        err = json.loads(text)["error"]
        return f"HTTP {status} {err.get('code', '')}: {err.get('message', '')}".strip()
    except (ValueError, KeyError, TypeError):
        return f"HTTP {status}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, requests.Timeout) or "timed out" in str(exc).lower():
        return f"timed out after retries ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"


# -- one mailbox ----------------------------------------------------------------------------------


@dataclass
class Known:
    """What the store holds of one mailbox: rows by event id, series by master id."""

    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    series: dict[str, dict[str, Any]] = field(default_factory=dict)
    slots: dict[tuple[str, pd.Timestamp], dict[str, Any]] = field(default_factory=dict)


def known_from_store(store: Store, mailbox: str) -> Known:
    ev = store.events(source=SOURCE, calendars=[mailbox])
    known = Known()
    for rec in ev.to_dict("records"):
        row: dict[str, Any] = {str(k): v for k, v in rec.items()}
        known.events[row["event_id"]] = row
        series = row["series_id"]
        if not pd.isna(series):
            if not pd.isna(row["recurrence"]):
                known.series.setdefault(series, row)
            known.slots[(series, row["original_start"])] = row
    return known


@dataclass
class MailboxResult:
    mailbox: str
    pull: Pull
    requests: int
    items: int
    masters_fetched: int


def pull_mailbox(
    graph: Graph,
    mailbox: str,
    *,
    window: tuple[pd.Timestamp, pd.Timestamp],
    known: Known | Callable[[], Known],
    now: pd.Timestamp,
    page_size: int = PAGE_SIZE,
) -> MailboxResult:
    """Pull one mailbox's window: calendarView, then the masters it needs, then map."""
    lo, hi = window
    user = urllib.parse.quote(mailbox, safe="@")
    query = urllib.parse.urlencode(
        {
            "startDateTime": lo.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "endDateTime": hi.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "$select": EVENT_SELECT,
        },
        safe=",$:",
    )
    before = graph.requests
    try:
        items = graph.pages(f"/users/{user}/calendarView?{query}", page_size)
        store_view = known if isinstance(known, Known) else known()
        # every series in the window, also those whose occurrences are all cancelled now:
        # a master's cancelledOccurrences is the only place Graph lists cancellations
        needed = sorted(
            {i["seriesMasterId"] for i in items if i.get("seriesMasterId")}
            | {series for series, slot in store_view.slots if lo <= slot < hi}
        )
        urls = [f"/users/{user}/events/{m}?$select={MASTER_SELECT}" for m in needed]
        bodies = graph.batch_get(urls) if urls else {}
    except GraphError as exc:
        raise GraphError(str(exc), calendar=mailbox) from None
    masters = {m: bodies.get(u) for m, u in zip(needed, urls, strict=True)}
    events, attendees = map_items(
        mailbox,
        items,
        masters={k: v for k, v in masters.items() if v},
        known=store_view,
        window=window,
    )
    pull = Pull(SOURCE, [mailbox], events, attendees, seen_at=now, window=window)
    return MailboxResult(mailbox, pull, graph.requests - before, len(items), len(urls))


# -- mapping --------------------------------------------------------------------------------------


def _utc(value: Mapping[str, Any] | None) -> pd.Timestamp | None:
    """Graph's ``dateTimeTimeZone`` (UTC, as the Prefer header asks) or an ISO string."""
    if not value:
        return None
    if isinstance(value, str):
        ts = pd.Timestamp(value)
    else:
        ts = pd.Timestamp(value["dateTime"])
        zone = iana_zone(value.get("timeZone")) or "UTC"
        if ts.tzinfo is None:
            ts = ts.tz_localize(zone)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def rrule(recurrence: Mapping[str, Any] | None) -> str | None:
    """Graph's ``patternedRecurrence`` as an RRULE (what the analysis reads targets from).

    >>> rrule({"pattern": {"type": "weekly", "interval": 2, "daysOfWeek": ["monday"]},
    ...        "range": {"type": "noEnd"}})
    'FREQ=WEEKLY;INTERVAL=2;BYDAY=MO'
    """
    if not recurrence:
        return None
    pattern = recurrence.get("pattern") or {}
    kind = pattern.get("type", "")
    freq = {
        "daily": "DAILY",
        "weekly": "WEEKLY",
        "absoluteMonthly": "MONTHLY",
        "relativeMonthly": "MONTHLY",
        "absoluteYearly": "YEARLY",
        "relativeYearly": "YEARLY",
    }.get(kind)
    if freq is None:
        return None
    parts = [f"FREQ={freq}"]
    interval = int(pattern.get("interval") or 1)
    if interval > 1:
        parts.append(f"INTERVAL={interval}")
    days = [_DAYS[d] for d in pattern.get("daysOfWeek") or [] if d in _DAYS]
    if days and kind in ("weekly", "relativeMonthly", "relativeYearly"):
        parts.append("BYDAY=" + ",".join(days))
    if kind in ("absoluteMonthly", "absoluteYearly") and pattern.get("dayOfMonth"):
        parts.append(f"BYMONTHDAY={pattern['dayOfMonth']}")
    rng = recurrence.get("range") or {}
    if rng.get("type") == "endDate" and rng.get("endDate"):
        parts.append("UNTIL=" + rng["endDate"].replace("-", "") + "T235959Z")
    elif rng.get("type") == "numbered" and rng.get("numberOfOccurrences"):
        parts.append(f"COUNT={rng['numberOfOccurrences']}")
    return ";".join(parts)


def map_items(
    mailbox: str,
    items: list[dict[str, Any]],
    *,
    masters: Mapping[str, dict[str, Any]] | None = None,
    known: Known | None = None,
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Graph events of one mailbox (+ their series masters) → the model's frames.

    Cancelled occurrences named by a master's ``cancelledOccurrences`` become
    cancelled rows at their original slot (in ``window``); when the store
    already holds that slot, its row is the one cancelled.
    """
    masters = masters or {}
    known = known or Known()
    events: list[dict[str, Any]] = []
    people: list[dict[str, Any]] = []
    for item in items:
        if item.get("type") == "seriesMaster":
            continue
        master = masters.get(item.get("seriesMasterId") or "") or known.series.get(
            item.get("seriesMasterId") or ""
        )
        row, attendees = _map_one(mailbox, item, master)
        events.append(row)
        people.extend(attendees)
    seen_slots = {(r["series_id"], r["original_start"]) for r in events if r["series_id"]}
    for master_id, master in masters.items():
        for row, attendees in _cancelled_from_master(mailbox, master_id, master, known, window):
            if (row["series_id"], row["original_start"]) in seen_slots:
                continue  # still live in calendarView: the master's list is older than the item
            events.append(row)
            people.extend(attendees)
    if not events:
        return _EMPTY_EVENTS.copy(), _EMPTY_ATTENDEES.copy()
    ev = validate(pd.DataFrame(events, columns=EVENTS.names), EVENTS)
    at = validate(pd.DataFrame(people, columns=ATTENDEES.names), ATTENDEES)
    return ev, at


def _rule_of(master: Mapping[str, Any] | None) -> str | None:
    if not master:
        return None
    if "recurrence" in master and isinstance(master["recurrence"], Mapping):
        return rrule(master["recurrence"])
    value = master.get("recurrence")  # a stored row: already an RRULE string
    return None if value is None or pd.isna(value) else str(value)


def _map_one(
    mailbox: str, item: dict[str, Any], master: Mapping[str, Any] | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    start = _utc(item.get("start"))
    end = _utc(item.get("end"))
    if start is None:
        raise GraphError(f"event {item.get('id')} has no start", calendar=mailbox)
    original = _utc(item.get("originalStart")) or start
    organizer = ((item.get("organizer") or {}).get("emailAddress") or {}).get("address")
    row = {
        "source": SOURCE,
        "calendar": mailbox,
        "event_id": item["id"],
        "series_id": item.get("seriesMasterId"),
        "ical_uid": item.get("iCalUId") or item["id"],
        "original_start": original,
        "start": start,
        "end": end if end is not None and end >= start else start,
        "timezone": iana_zone(item.get("originalStartTimeZone")),
        "all_day": bool(item.get("isAllDay")),
        "status": "cancelled" if item.get("isCancelled") else "confirmed",
        "organizer": organizer,
        "recurrence": _rule_of(master),
        "event_type": _SHOW_AS.get(item.get("showAs", ""), "default"),
        "title": None,
        "created": _utc(item.get("createdDateTime")),
        "updated": _utc(item.get("lastModifiedDateTime")),
    }
    own = ((item.get("responseStatus") or {}).get("response")) or "none"
    return row, _attendees(mailbox, item["id"], item.get("attendees") or [], organizer, own)


def _attendees(
    mailbox: str,
    event_id: str,
    raw: list[dict[str, Any]],
    organizer: str | None,
    own_response: str,
) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    org = (organizer or "").lower()
    for a in raw:
        email = ((a.get("emailAddress") or {}).get("address") or "").strip().lower()
        if not email:
            continue
        kind = a.get("type", "required")
        response = ((a.get("status") or {}).get("response")) or "none"
        out[email] = {
            "source": SOURCE,
            "calendar": mailbox,
            "event_id": event_id,
            "email": email,
            "role": "organizer"
            if email == org
            else "optional"
            if kind == "optional"
            else "required",
            "response": _RESPONSE.get(response, "none"),
            "is_resource": kind == "resource",
        }
    if org and org not in out:
        out[org] = {
            "source": SOURCE,
            "calendar": mailbox,
            "event_id": event_id,
            "email": org,
            "role": "organizer",
            "response": "accepted",
            "is_resource": False,
        }
    me = mailbox.lower()
    if me in out and me != org:  # the mailbox's own answer is in responseStatus
        out[me]["response"] = _RESPONSE.get(own_response, out[me]["response"])
    return list(out.values())


def _cancelled_from_master(
    mailbox: str,
    master_id: str,
    master: Mapping[str, Any],
    known: Known,
    window: tuple[pd.Timestamp, pd.Timestamp] | None,
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    start = master.get("start") or {}
    zone = iana_zone(master.get("originalStartTimeZone")) or iana_zone(start.get("timeZone"))
    zone = zone or "UTC"
    first = _utc(start)
    last = _utc(master.get("end"))
    if first is None:
        return []
    duration = (last - first) if last is not None else pd.Timedelta(0)
    local_time = first.tz_convert(zone).strftime("%H:%M:%S")
    organizer = ((master.get("organizer") or {}).get("emailAddress") or {}).get("address")
    out = []
    for oid in master.get("cancelledOccurrences") or []:
        match = _OID.match(str(oid))
        if not match:
            continue
        slot = pd.Timestamp(f"{match['date']} {local_time}").tz_localize(zone).tz_convert("UTC")
        if window is not None and not (window[0] <= slot < window[1]):
            continue
        stored = known.slots.get((master_id, slot))
        row = {
            "source": SOURCE,
            "calendar": mailbox,
            "event_id": stored["event_id"] if stored else str(oid),
            "series_id": master_id,
            "ical_uid": stored["ical_uid"] if stored else master.get("iCalUId") or master_id,
            "original_start": slot,
            "start": stored["start"] if stored else slot,
            "end": stored["end"] if stored else slot + duration,
            "timezone": zone,
            "all_day": bool(master.get("isAllDay")),
            "status": "cancelled",
            "organizer": organizer,
            "recurrence": rrule(master.get("recurrence")),
            "event_type": _SHOW_AS.get(master.get("showAs", ""), "default"),
            "title": None,
            "created": None,
            "updated": None,
        }
        event_id = str(row["event_id"])
        out.append(
            (row, _attendees(mailbox, event_id, master.get("attendees") or [], organizer, "none"))
        )
    return out


# -- many mailboxes -------------------------------------------------------------------------------


@dataclass
class PullSummary:
    """What a Graph pull did, for the run summary and the exit status."""

    calendars: int = 0
    requests: int = 0
    items: int = 0
    masters_fetched: int = 0
    rows_written: int = 0
    failed: dict[str, str] = field(default_factory=dict)


def pull_all(
    store: Store,
    mailboxes: list[str],
    token: Callable[[], str],
    *,
    graph_url: str = DEFAULT_GRAPH,
    weeks_back: int = 26,
    weeks_ahead: int = 8,
    workers: int = 4,
    retries: int = 5,
    timeout: float = 60.0,
    now: pd.Timestamp | None = None,
    run_id: int | None = None,
    progress: Callable[[str], None] | None = None,
    session: requests.Session | None = None,
) -> PullSummary:
    """Pull ``mailboxes`` ``workers`` at a time; they land in batches (one transaction each).

    A mailbox that fails (after urllib3's retries) is recorded in the store and
    listed in the summary; the others land.
    """
    when = now if now is not None else pd.Timestamp.now(tz="UTC")
    day = when.floor("D")
    window = (day - pd.Timedelta(weeks=weeks_back), day + pd.Timedelta(weeks=weeks_ahead))
    http = session or graph_session(retries, pool=max(2, workers))
    summary = PullSummary(calendars=len(mailboxes))
    readers = ThreadReaders(store.path)

    def known(mailbox: str) -> Known:
        return known_from_store(readers.get(), mailbox)

    def one(mailbox: str) -> MailboxResult:
        graph = Graph(http, token, graph_url, timeout)
        return pull_mailbox(graph, mailbox, window=window, known=lambda: known(mailbox), now=when)

    outcome = pull_concurrently(
        store,
        mailboxes,
        one,
        source=SOURCE,
        when=when,
        workers=workers,
        describe=lambda exc: str(exc) if isinstance(exc, GraphError) else _describe(exc),
        run_id=run_id,
        progress=progress,
    )
    summary.failed = outcome.failed
    summary.rows_written = outcome.rows_written
    for result in outcome.results:
        summary.requests += result.requests
        summary.items += result.items
        summary.masters_fetched += result.masters_fetched
    readers.close()
    if session is None:
        http.close()
    return summary


# -- the directory --------------------------------------------------------------------------------


def directory_roster(graph: Graph, *, page_size: int = 999) -> pd.DataFrame:
    """The roster from ``/users`` (mail, name, department) with ``$expand=manager``.

    Job titles are not read: no report shows them. Disabled accounts and
    accounts without a mailbox are left out. Checked by ``check_roster``.
    """
    from cadence.org import check_roster

    query = "$select=mail,displayName,department,accountEnabled&$expand=manager($select=mail)"
    users = graph.pages(f"/users?{query}", page_size)
    rows = []
    for user in users:
        if not user.get("mail") or user.get("accountEnabled") is False:
            continue
        rows.append(
            {
                "email": user["mail"],
                "manager_email": (user.get("manager") or {}).get("mail"),
                "name": user.get("displayName"),
                "department": user.get("department"),
                "team": None,
            }
        )
    frame = pd.DataFrame(rows, columns=["email", "manager_email", "name", "department", "team"])
    emails = set(frame["email"].str.lower())
    frame.loc[~frame["manager_email"].str.lower().isin(emails), "manager_email"] = None
    return check_roster(frame, origin="Microsoft directory")
