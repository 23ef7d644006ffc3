"""Google Calendar (Workspace) as a source, through google-api-python-client and google-auth.

Two ways in:

- **user**: a leader's own account, installed-app OAuth (:func:`authorize_user`,
  ``cadence auth google``); the token is cached as JSON readable by its owner
  only and refreshed silently;
- **service_account**: HR / org-wide, a service account with domain-wide
  delegation that impersonates each calendar owner in turn.

Scopes are read-only: ``calendar.events.readonly`` (and
``admin.directory.user.readonly`` only when the roster comes from the directory).

Each calendar is pulled on its own (:func:`pull_calendar`): occurrences, not
series (``singleEvents``), with deleted ones (``showDeleted``), 2,500 per
page, and a ``fields`` mask of what the model needs — no titles, descriptions
or conference data. The first pull is full from ``weeks_back`` before now;
later pulls send the stored sync token, written in the same transaction as the
rows it covers. An expired token (HTTP 410) re-syncs that calendar alone.
403 rate limits, 429, 5xx and timeouts are retried by the client library
(``execute(num_retries=…)``: exponential backoff with jitter). A calendar that
still fails is recorded and reported; the others land.

The full sync is bounded below only (``timeMin``, as Google's own sync sample
does) and keeps everything Google returns ahead: with a ``timeMax`` bound, a
series' later occurrences would never arrive (deltas carry only what changes).
"""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cadence.errors import SourceError
from cadence.model import ATTENDEES, EVENTS, validate
from cadence.sources._concurrent import ThreadReaders, pull_concurrently, write_private
from cadence.store import Pull, Store

SOURCE = "google"
CALENDAR_SCOPES = ["https://www.googleapis.com/auth/calendar.events.readonly"]
DIRECTORY_SCOPE = "https://www.googleapis.com/auth/admin.directory.user.readonly"
DEFAULT_ROOT = "https://www.googleapis.com/"
PAGE_SIZE = 2500  # the largest page events.list allows
FAR_FUTURE = pd.Timestamp("2200-01-01", tz="UTC")
EVENT_FIELDS = (
    "nextPageToken,nextSyncToken,timeZone,"
    "items(id,status,start,end,originalStartTime,recurringEventId,iCalUID,"
    "organizer(email),attendees(email,responseStatus,organizer,resource,optional),"
    "eventType,created,updated)"
)
MASTER_FIELDS = (
    "id,iCalUID,recurrence,start,end,organizer(email),"
    "attendees(email,responseStatus,organizer,resource,optional)"
)
USER_FIELDS = (
    "nextPageToken,users(primaryEmail,name(fullName),relations,organizations,orgUnitPath,suspended)"
)
_EVENT_TYPE = {
    "default": "default",
    "outOfOffice": "out_of_office",
    "focusTime": "focus_time",
    "workingLocation": "working_location",
    "birthday": "birthday",
    "fromGmail": "from_gmail",
}
_RESPONSE = {"accepted": "accepted", "declined": "declined", "tentative": "tentative"}
_EMPTY_EVENTS = validate(pd.DataFrame(columns=EVENTS.names), EVENTS)
_EMPTY_ATTENDEES = validate(pd.DataFrame(columns=ATTENDEES.names), ATTENDEES)


class GoogleError(SourceError):
    """A Google calendar could not be pulled (after retries); ``calendar`` says which."""

    def __init__(self, message: str, *, calendar: str | None = None) -> None:
        super().__init__(message, source=SOURCE, calendar=calendar)


# -- credentials ----------------------------------------------------------------------------------


def authorize_user(
    client_secrets: Path, token_path: Path, *, open_browser: bool = True, port: int = 0
) -> Path:
    """Run the installed-app OAuth flow and cache the token (owner-only) at ``token_path``."""
    from google_auth_oauthlib.flow import InstalledAppFlow

    if not client_secrets.exists():
        raise GoogleError(
            f"{client_secrets}: OAuth client file not found; download it from the Google "
            "Cloud console (APIs & Services → Credentials → OAuth client ID → Desktop app)"
        )
    flow = InstalledAppFlow.from_client_secrets_file(str(client_secrets), CALENDAR_SCOPES)
    creds = flow.run_local_server(port=port, open_browser=open_browser)
    save_token(creds.to_json(), token_path)
    return token_path


def save_token(text: str, path: Path) -> None:
    """Write a token file readable and writable by its owner only (0600), atomically."""
    write_private(path, text)


def user_credentials(token_path: Path, *, token_uri: str | None = None) -> Any:
    """The cached user token, refreshed (and re-saved) when it has expired.

    google-auth always refreshes at Google's token endpoint; ``token_uri``
    (config ``[google] token_uri``) points it elsewhere (a proxy, a test server).
    """
    from google.auth.exceptions import RefreshError
    from google.auth.transport.requests import Request
    from google.oauth2.credentials import Credentials

    if not token_path.exists():
        raise GoogleError(f"{token_path}: no Google token yet; run `cadence auth google` first")
    mode = token_path.stat().st_mode & 0o077
    if mode:
        os.chmod(token_path, stat.S_IRUSR | stat.S_IWUSR)  # tighten a token others could read
    try:
        creds = Credentials.from_authorized_user_file(  # type: ignore[no-untyped-call]
            str(token_path), CALENDAR_SCOPES
        )
    except (ValueError, json.JSONDecodeError) as exc:
        raise GoogleError(
            f"{token_path}: not a Google token file ({exc}); run `cadence auth google` again"
        ) from None
    if token_uri:
        expiry = creds.expiry
        creds = creds.with_token_uri(token_uri)
        creds.expiry = expiry  # the copy forgets when the cached access token expires
    if not creds.valid:
        try:
            creds.refresh(Request())
        except RefreshError as exc:
            raise GoogleError(
                f"the Google token in {token_path} could not be refreshed ({exc}); "
                "run `cadence auth google` again"
            ) from None
        save_token(creds.to_json(), token_path)
    return creds


def service_account_credentials(path: Path, scopes: list[str]) -> Any:
    """Service-account credentials (domain-wide delegation; ``with_subject`` per calendar)."""
    from google.oauth2 import service_account

    if not path.exists():
        raise GoogleError(f"{path}: service account key file not found")
    try:
        return service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            str(path), scopes=scopes
        )
    except (ValueError, KeyError) as exc:
        raise GoogleError(f"{path}: not a service account key file ({exc})") from None


# -- the API --------------------------------------------------------------------------------------


def _client(api: str, version: str, root: str) -> Any:
    """An API client built from the discovery document shipped with the library.

    Building one costs milliseconds, so each worker thread builds one and every
    request is sent on a calendar's own authorized connection (``execute(http=…)``).
    """
    import httplib2
    from googleapiclient.discovery import build

    path = {"calendar": "calendar/v3/", "admin": "admin/directory/v1/"}[api]
    return build(
        api,
        version,
        http=httplib2.Http(),  # never used: requests name their own connection
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": root.rstrip("/") + "/" + path},
    )


def _connection(creds: Any, timeout: float) -> Any:
    """An authorized HTTP connection of its own (httplib2 is not thread-safe)."""
    import google_auth_httplib2
    import httplib2

    return google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(timeout=timeout))


@dataclass
class CalendarResult:
    """What one calendar's pull fetched, ready to be written."""

    calendar: str
    pull: Pull
    full: bool
    requests: int
    items: int
    resynced: bool = False  # the stored sync token had expired


@dataclass
class Known:
    """What the store already holds for one calendar, to complete sparse cancelled items."""

    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    attendees: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    series: dict[str, dict[str, Any]] = field(default_factory=dict)  # series id → template


def known_from_store(store: Store, calendars: Iterable[str]) -> dict[str, Known]:
    """The stored Google rows of ``calendars``, by calendar."""
    cals = list(calendars)
    out = {c: Known() for c in cals}
    if not cals:
        return out
    ev = store.events(source=SOURCE, calendars=cals)
    at = store.attendees(source=SOURCE, calendars=cals)
    attendees: dict[tuple[str, str], list[dict[str, Any]]] = {}
    rec: dict[str, Any]
    for rec in at.to_dict("records"):  # type: ignore[assignment]
        row = rec
        attendees.setdefault((row["calendar"], row["event_id"]), []).append(row)
    for rec in ev.to_dict("records"):  # type: ignore[assignment]
        row = rec
        k = out[row["calendar"]]
        k.events[row["event_id"]] = row
        k.attendees[row["event_id"]] = attendees.get((row["calendar"], row["event_id"]), [])
        if not pd.isna(row["series_id"]) and row["status"] != "cancelled":
            k.series.setdefault(
                row["series_id"],
                {**row, "_attendees": k.attendees[row["event_id"]]},
            )
    return out


def pull_calendar(
    calendar: str,
    events_api: Any,
    http: Any,
    *,
    cursor: str | None,
    known: Known | Callable[[], Known],
    now: pd.Timestamp,
    weeks_back: int,
    retries: int,
) -> CalendarResult:
    """Pull one calendar: incremental with ``cursor``, else (or when it expired) full.

    ``events_api`` is a calendar client's ``events()`` collection (building it
    costs milliseconds: reuse it), ``http`` the calendar's authorized connection.

    ``known`` (what the store holds of this calendar) may be a function: it is
    only called when the calendar sent something.
    """
    try:
        return _pull_with(events_api, http, calendar, cursor, known, now, weeks_back, retries)
    finally:
        http.close()  # httplib2 keeps sockets open otherwise


def _pull_with(
    events_api: Any,
    http: Any,
    calendar: str,
    cursor: str | None,
    known_or_loader: Known | Callable[[], Known],
    now: pd.Timestamp,
    weeks_back: int,
    retries: int,
) -> CalendarResult:
    from googleapiclient.errors import HttpError

    requests = 0
    resynced = False
    lo = (now - pd.Timedelta(weeks=weeks_back)).floor("D")
    while True:
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
            params["timeMin"] = lo.isoformat().replace("+00:00", "Z")
        items: list[dict[str, Any]] = []
        zone: str | None = None
        token: str | None = None
        try:
            request = events_api.list(**params)
            while request is not None:
                page = request.execute(http=http, num_retries=retries)
                requests += 1
                items.extend(page.get("items", []))
                zone = page.get("timeZone", zone)
                token = page.get("nextSyncToken", token)
                request = events_api.list_next(request, page)
        except HttpError as exc:
            requests += 1
            if exc.resp.status == 410 and cursor:
                cursor, resynced = None, True  # token expired: this calendar alone, in full
                continue
            raise GoogleError(_http_message(exc), calendar=calendar) from None
        break
    if isinstance(known_or_loader, Known):
        known = known_or_loader
    else:
        known = known_or_loader() if items else Known()
    masters: dict[str, dict[str, Any]] = {}
    for series in _series_needing_master(items, known):
        try:
            masters[series] = events_api.get(
                calendarId=calendar, eventId=series, fields=MASTER_FIELDS
            ).execute(http=http, num_retries=retries)
        except HttpError as exc:
            if exc.resp.status not in (404, 410):
                raise GoogleError(_http_message(exc), calendar=calendar) from None
        requests += 1
    events, attendees = map_items(calendar, items, known=known, masters=masters, zone=zone)
    full = cursor is None
    pull = Pull(
        SOURCE,
        [calendar],
        events,
        attendees,
        seen_at=now,
        window=(lo, FAR_FUTURE) if full else None,
        cursors={calendar: token},
    )
    return CalendarResult(calendar, pull, full, requests, len(items), resynced)


def _http_message(exc: Any) -> str:
    try:
        detail = json.loads(exc.content.decode("utf-8"))["error"]
        reason = (detail.get("errors") or [{}])[0].get("reason", "")
        return f"HTTP {exc.resp.status} {reason}: {detail.get('message', '')}".strip()
    except (ValueError, KeyError, AttributeError, TypeError):
        return f"HTTP {exc.resp.status}"


def _series_needing_master(items: list[dict[str, Any]], known: Known) -> list[str]:
    """Series whose rule (or, for sparse cancelled items, whose people) we do not know yet."""
    have = set(known.series)
    return sorted({i["recurringEventId"] for i in items if i.get("recurringEventId")} - have)


# -- mapping --------------------------------------------------------------------------------------


def _when(value: Mapping[str, Any] | None) -> tuple[pd.Timestamp | None, bool, str | None]:
    """A Google ``start``/``end``/``originalStartTime`` → (UTC instant, all day, zone)."""
    if not value:
        return None, False, None
    zone = value.get("timeZone")
    if "dateTime" in value:
        return pd.Timestamp(value["dateTime"]).tz_convert("UTC"), False, zone
    if "date" in value:
        return pd.Timestamp(value["date"], tz="UTC"), True, zone
    return None, False, zone


def _rrule(recurrence: list[str] | None) -> str | None:
    for line in recurrence or []:
        if line.upper().startswith("RRULE:"):
            return line[6:]
    return None


def map_items(
    calendar: str,
    items: list[dict[str, Any]],
    *,
    known: Known | None = None,
    masters: Mapping[str, dict[str, Any]] | None = None,
    zone: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Google event resources (occurrences) → the model's events and attendees frames.

    A cancelled occurrence of a series carries little more than its id, series
    and original start: its time, people and rule come from what the store
    knows of it, else from its series (stored siblings or the series master).
    A cancelled one-off event the store never saw is dropped (nothing to
    attach it to).
    """
    if not items:
        return _EMPTY_EVENTS.copy(), _EMPTY_ATTENDEES.copy()
    known = known or Known()
    masters = masters or {}
    siblings: dict[str, dict[str, Any]] = {}
    for item in items:
        series = item.get("recurringEventId")
        if series and item.get("status") != "cancelled" and item.get("attendees"):
            siblings.setdefault(series, item)
    events: list[dict[str, Any]] = []
    people: list[dict[str, Any]] = []
    for item in items:
        row, attendees = _map_one(calendar, item, known, masters, siblings, zone)
        if row is None:
            continue
        events.append(row)
        people.extend(attendees)
    ev = validate(pd.DataFrame(events, columns=EVENTS.names), EVENTS)
    at = validate(pd.DataFrame(people, columns=ATTENDEES.names), ATTENDEES)
    return ev, at


def _map_one(
    calendar: str,
    item: dict[str, Any],
    known: Known,
    masters: Mapping[str, dict[str, Any]],
    siblings: Mapping[str, dict[str, Any]],
    zone: str | None,
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    event_id = item["id"]
    series = item.get("recurringEventId")
    status = item.get("status", "confirmed")
    stored = known.events.get(event_id)
    master = masters.get(series) if series else None
    template: Mapping[str, Any] | None = (siblings.get(series) or master) if series else None
    stored_series = known.series.get(series) if series else None

    original, _, ozone = _when(item.get("originalStartTime"))
    start, all_day, szone = _when(item.get("start"))
    end, _, _ = _when(item.get("end"))
    sparse = start is None
    if sparse:
        if stored is not None:
            start, end, all_day = stored["start"], stored["end"], bool(stored["all_day"])
        elif original is not None:
            start = original
            duration = _duration(template) if template else None
            if duration is None and stored_series is not None:
                duration = stored_series["end"] - stored_series["start"]
            end = start + (duration if duration is not None else pd.Timedelta(0))
            all_day = "date" in (item.get("originalStartTime") or {})
        else:
            return None, []  # a cancelled one-off we never saw: nothing to attach it to
    if original is None:
        original = stored["original_start"] if stored is not None else start
    rule = _rrule(master.get("recurrence")) if master else None
    if rule is None and stored_series is not None and not pd.isna(stored_series["recurrence"]):
        rule = stored_series["recurrence"]
    if rule is None and stored is not None and not pd.isna(stored["recurrence"]):
        rule = stored["recurrence"]
    ical = item.get("iCalUID") or (master or {}).get("iCalUID")
    if not ical and stored is not None:
        ical = stored["ical_uid"]
    if not ical and stored_series is not None:
        ical = stored_series["ical_uid"]
    if not ical:
        ical = f"{series or event_id}@google"
    organizer = (item.get("organizer") or {}).get("email")
    if organizer is None:
        organizer = ((template or {}).get("organizer") or {}).get("email")
    if organizer is None and stored is not None and not pd.isna(stored["organizer"]):
        organizer = stored["organizer"]
    row = {
        "source": SOURCE,
        "calendar": calendar,
        "event_id": event_id,
        "series_id": series,
        "ical_uid": ical,
        "original_start": original,
        "start": start,
        "end": end if end is not None and start is not None and end >= start else start,
        "timezone": szone or ozone or (stored or {}).get("timezone") or zone,
        "all_day": all_day,
        "status": status if status in ("confirmed", "tentative", "cancelled") else "confirmed",
        "organizer": organizer,
        "recurrence": rule,
        "event_type": _EVENT_TYPE.get(item.get("eventType", "default"), "other"),
        "title": None,
        "created": _ts(item.get("created")),
        "updated": _ts(item.get("updated")),
    }
    if stored is not None and "eventType" not in item:
        row["event_type"] = stored["event_type"]
    raw = item.get("attendees")
    if raw is None and sparse:
        if stored is not None:
            return row, [dict(a) for a in known.attendees.get(event_id, [])]
        if template is not None:
            raw = template.get("attendees")
        elif stored_series is not None:
            return row, [{**a, "event_id": event_id} for a in stored_series.get("_attendees", [])]
    return row, _attendees(calendar, event_id, raw or [], organizer)


def _duration(resource: Mapping[str, Any]) -> pd.Timedelta | None:
    start, _, _ = _when(resource.get("start"))
    end, _, _ = _when(resource.get("end"))
    if start is None or end is None:
        return None
    return end - start


def _ts(value: str | None) -> pd.Timestamp | None:
    return None if not value else pd.Timestamp(value).tz_convert("UTC")


def _attendees(
    calendar: str, event_id: str, raw: list[dict[str, Any]], organizer: str | None
) -> list[dict[str, Any]]:
    out = []
    seen = set()
    for a in raw:
        email = (a.get("email") or "").strip().lower()
        if not email or email in seen:
            continue
        seen.add(email)
        role = (
            "organizer"
            if a.get("organizer") or email == (organizer or "").lower()
            else "optional"
            if a.get("optional")
            else "required"
        )
        out.append(
            {
                "source": SOURCE,
                "calendar": calendar,
                "event_id": event_id,
                "email": email,
                "role": role,
                "response": _RESPONSE.get(a.get("responseStatus", ""), "none"),
                "is_resource": bool(a.get("resource")),
            }
        )
    return out


# -- many calendars -------------------------------------------------------------------------------


@dataclass
class PullSummary:
    """What a Google pull did, for the run summary and the exit status."""

    calendars: int = 0
    full: int = 0
    incremental: int = 0
    resynced: int = 0
    requests: int = 0
    items: int = 0
    rows_written: int = 0
    failed: dict[str, str] = field(default_factory=dict)


def pull_all(
    store: Store,
    calendars: list[str],
    credentials_for: Callable[[str], Any],
    *,
    root: str = DEFAULT_ROOT,
    weeks_back: int = 26,
    workers: int = 4,
    retries: int = 5,
    timeout: float = 60.0,
    now: pd.Timestamp | None = None,
    run_id: int | None = None,
    progress: Callable[[str], None] | None = None,
    batch_size: int = 50,
) -> PullSummary:
    """Pull ``calendars`` concurrently (``workers`` at a time) and write each as it lands.

    Calendars are written in batches (up to ``batch_size``, at least every
    second), each in one transaction with the sync tokens of its calendars, so
    a run that stops half-way leaves whole calendars behind and the next run
    carries on. Calendars that fail are recorded in the store and listed in
    the summary; the others land.
    """
    when = now if now is not None else pd.Timestamp.now(tz="UTC")
    cursors = {
        c: (state.cursor if state else None)
        for c in calendars
        for state in [store.sync_state(SOURCE, c)]
    }
    summary = PullSummary(calendars=len(calendars))
    local = threading.local()
    readers = ThreadReaders(store.path)

    def known(calendar: str) -> Known:
        return known_from_store(readers.get(), [calendar])[calendar]

    def one(calendar: str) -> CalendarResult:
        if not hasattr(local, "events_api"):
            local.events_api = _client("calendar", "v3", root).events()
        return pull_calendar(
            calendar,
            local.events_api,
            _connection(credentials_for(calendar), timeout),
            cursor=cursors[calendar],
            known=lambda: known(calendar),
            now=when,
            weeks_back=weeks_back,
            retries=retries,
        )

    outcome = pull_concurrently(
        store,
        calendars,
        one,
        source=SOURCE,
        when=when,
        workers=workers,
        describe=lambda exc: str(exc) if isinstance(exc, GoogleError) else _describe(exc),
        run_id=run_id,
        progress=progress,
        batch_size=batch_size,
    )
    readers.close()
    summary.failed = outcome.failed
    summary.rows_written = outcome.rows_written
    for result in outcome.results:
        summary.requests += result.requests
        summary.items += result.items
        summary.full += result.full
        summary.incremental += not result.full
        summary.resynced += result.resynced
    return summary


def _describe(exc: BaseException) -> str:
    name = type(exc).__name__
    if isinstance(exc, TimeoutError) or "timed out" in str(exc):
        return f"timed out after retries ({name})"
    return f"{name}: {exc}"


# -- the directory --------------------------------------------------------------------------------


def directory_roster(
    creds: Any, *, root: str = DEFAULT_ROOT, customer: str = "my_customer", retries: int = 5
) -> pd.DataFrame:
    """The roster from the Admin SDK Directory API (manager relation, department, org unit).

    Suspended users are left out. Returns the same frame as
    :func:`cadence.load_roster` (checked by :func:`cadence.org.check_roster`).
    """
    from cadence.org import check_roster

    http = _connection(creds, 60.0)
    try:
        users = _list_users(_client("admin", "directory_v1", root).users(), http, customer, retries)
    finally:
        http.close()
    rows = []
    for user in users:
        if user.get("suspended"):
            continue
        manager = next(
            (r.get("value") for r in user.get("relations", []) if r.get("type") == "manager"),
            None,
        )
        organizations = user.get("organizations") or [{}]
        org = next((o for o in organizations if o.get("primary")), organizations[0])
        rows.append(
            {
                "email": user["primaryEmail"],
                "manager_email": manager,
                "name": (user.get("name") or {}).get("fullName"),
                "department": org.get("department"),
                "team": user.get("orgUnitPath"),
            }
        )
    frame = pd.DataFrame(rows, columns=["email", "manager_email", "name", "department", "team"])
    known = set(frame["email"].str.lower())
    # a manager outside the directory (or suspended) cannot anchor anyone: make them top level
    frame.loc[~frame["manager_email"].str.lower().isin(known), "manager_email"] = None
    return check_roster(frame, origin="Google directory")


def _list_users(users_api: Any, http: Any, customer: str, retries: int) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = []
    request = users_api.list(
        customer=customer, maxResults=500, projection="full", fields=USER_FIELDS
    )
    while request is not None:
        page = request.execute(http=http, num_retries=retries)
        users.extend(page.get("users", []))
        request = users_api.list_next(request, page)
    return users
