"""A local fake of the Google Calendar v3 and Admin Directory APIs, over real HTTP.

It speaks the wire format the real client library expects: ``events.list``
with ``singleEvents``/``showDeleted``/``timeMin``/``syncToken``/``pageToken``
and the ``nextPageToken``/``nextSyncToken`` rules (sync token on the last page
only; 410 ``fullSyncRequired`` for an expired token; 400 for ``syncToken`` with
``timeMin``), ``events.get`` of a series master, alone or as a part of a batch
request (``POST /batch/calendar/v3``: multipart/mixed of ``application/http``
parts, answered in order, each reply part's ``Content-ID`` ``<response-…>``; a
fault hits a part as it would the request alone), an OAuth token endpoint for
refresh tokens and service-account JWTs (it reads the JWT's ``sub`` and only
lets a delegated token read that person's calendar), Google-shaped error
bodies, and injectable faults: 403 ``rateLimitExceeded``, 429, 5xx, hangs, and idle
keep-alive connections reset (``idle_reset``).

Calendars are loaded from the model's frames (e.g. a demo organisation's
pull): :meth:`FakeGoogle.load` turns occurrences into Google event resources
and, on a later load, bumps the version of what changed and turns what
disappeared into cancelled items, as Google does.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json
import socket
import struct
import threading
import urllib.parse
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pandas as pd

EVENT_TYPE = {
    "default": "default",
    "out_of_office": "outOfOffice",
    "focus_time": "focusTime",
    "working_location": "workingLocation",
    "birthday": "birthday",
    "from_gmail": "fromGmail",
    "other": "default",
}
RESPONSE = {"accepted": "accepted", "declined": "declined", "tentative": "tentative"}


@dataclass
class Stored:
    resource: dict[str, Any]
    version: int
    end: pd.Timestamp


@dataclass
class FakeGoogle:
    """State of the fake; the server thread reads it under ``lock``."""

    page_size: int = 2500  # the server's own cap, to force tiny pages
    empty_first_page: bool = False  # a page with no items but a nextPageToken
    # cancelled instances usually carry only id, series and slot; some carry their `updated`
    cancelled_updated: bool = False
    calendars: dict[str, dict[str, Stored]] = field(default_factory=dict)
    masters: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    users: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0
    min_token_version: dict[str, int] = field(default_factory=dict)
    faults: dict[str, list[int | tuple[int, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # faults for a calendar's parts of batch requests only (after its list pages)
    part_faults: dict[str, list[int | tuple[int, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    hang: dict[str, float] = field(default_factory=dict)  # calendar → seconds to stall
    # calendar → seconds to stall its next requests, one each (before `hang` applies)
    stalls: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    # drop a keep-alive connection idle this many seconds with a RST, as load balancers do
    idle_reset: float | None = None
    html: set[str] = field(default_factory=set)  # calendars answered with a proxy's HTML page
    bad_items: dict[str, list[Any]] = field(default_factory=dict)  # put first on page one
    log: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    batches: list[list[str]] = field(default_factory=list)  # each batch: its parts' paths
    tokens: dict[str, str] = field(default_factory=dict)  # access token → subject ("" = user)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""
    connections: int = 0  # TCP connections accepted

    # -- data ---------------------------------------------------------------------------------

    def load(self, events: pd.DataFrame, attendees: pd.DataFrame) -> None:
        """Make the calendars in ``events`` hold exactly these occurrences (a new snapshot)."""
        with self.lock:
            self.version += 1
            people: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
            for a in attendees.to_dict("records"):
                people[(a["calendar"], a["event_id"])].append(a)
            fresh: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
            ends: dict[tuple[str, str], pd.Timestamp] = {}
            for e in events.to_dict("records"):
                res = _resource(e, people[(e["calendar"], e["event_id"])], self.cancelled_updated)
                fresh[e["calendar"]][e["event_id"]] = res
                ends[(e["calendar"], e["event_id"])] = e["end"]
                if e["series_id"] and not pd.isna(e["series_id"]):
                    self.masters.setdefault(e["calendar"], {}).setdefault(
                        e["series_id"], _master(e, res)
                    )
            for cal in set(fresh) | {c for c in self.calendars if c in set(events["calendar"])}:
                old = self.calendars.setdefault(cal, {})
                for event_id, res in fresh[cal].items():
                    if event_id not in old or old[event_id].resource != res:
                        old[event_id] = Stored(res, self.version, ends[(cal, event_id)])
                for event_id, stored in old.items():
                    if event_id not in fresh[cal] and stored.resource.get("status") != "cancelled":
                        gone = {
                            "id": event_id,
                            "status": "cancelled",
                            **{
                                k: stored.resource[k]
                                for k in ("recurringEventId", "originalStartTime")
                                if k in stored.resource
                            },
                        }
                        old[event_id] = Stored(gone, self.version, stored.end)

    def expire_tokens(self, calendar: str) -> None:
        """Every sync token issued so far for ``calendar`` is now too old (→ 410)."""
        with self.lock:
            self.version += 1
            self.min_token_version[calendar] = self.version

    def requests_to(self, calendar: str) -> int:
        return sum(1 for _, path, _ in self.log if f"/calendars/{_quote(calendar)}/" in path)

    # -- serving ------------------------------------------------------------------------------

    def list_events(self, calendar: str, q: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if q.get("singleEvents") != "true":
            return 400, _error(400, "badRequest", "this fake serves singleEvents=true only")
        token = q.get("syncToken")
        if token and ("timeMin" in q or "timeMax" in q):
            return 400, _error(400, "invalid", "Sync token cannot be used with timeMin")
        with self.lock:
            stored = self.calendars.get(calendar)
            if stored is None:
                return 404, _error(404, "notFound", "Not Found")
            if token:
                version = int(token.split(":")[1])
                if version < self.min_token_version.get(calendar, 0):
                    return 410, _error(
                        410,
                        "fullSyncRequired",
                        "Sync token is no longer valid, a full sync is required.",
                    )
                chosen = [s for s in stored.values() if s.version > version]
            else:
                lo = pd.Timestamp(q["timeMin"]) if "timeMin" in q else None
                chosen = [
                    s
                    for s in stored.values()
                    if (lo is None or s.end > lo)
                    and (q.get("showDeleted") == "true" or s.resource.get("status") != "cancelled")
                ]
            current = self.version
        chosen.sort(key=lambda s: str(s.resource.get("id", "")))  # a bad item may have none
        size = min(int(q.get("maxResults", 250)), 2500, self.page_size)
        page_token = q.get("pageToken") or ""
        offset = int(page_token.rstrip("e") or 0)
        body: dict[str, Any] = {"kind": "calendar#events", "timeZone": "UTC"}
        if self.empty_first_page and not page_token and chosen:
            body["items"] = []  # Google may send an empty page that still has a next one
            body["nextPageToken"] = "0e"
            return 200, body
        page = chosen[offset : offset + size]
        body["items"] = [s.resource for s in page]
        if not page_token:
            body["items"] = list(self.bad_items.get(calendar, [])) + body["items"]
        if offset + size < len(chosen):
            body["nextPageToken"] = str(offset + size)
        else:
            body["nextSyncToken"] = f"{calendar}:{current}"
        return 200, body


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _error(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"domain": "global", "reason": reason, "message": message}],
        }
    }


def _when(ts: pd.Timestamp, zone: Any, all_day: bool) -> dict[str, Any]:
    if all_day:
        return {"date": ts.strftime("%Y-%m-%d")}
    out: dict[str, Any] = {"dateTime": ts.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if isinstance(zone, str):
        out["timeZone"] = zone
    return out


def _resource(
    e: dict[str, Any], people: list[dict[str, Any]], cancelled_updated: bool = False
) -> dict[str, Any]:
    """A model events row (+ its attendees) as Google would return the occurrence."""
    series = e["series_id"] if isinstance(e["series_id"], str) else None
    if e["status"] == "cancelled" and series:
        sparse = {
            "id": e["event_id"],
            "status": "cancelled",
            "recurringEventId": series,
            "originalStartTime": _when(e["original_start"], e["timezone"], e["all_day"]),
        }
        if cancelled_updated:  # when the instance was cancelled
            sparse["updated"] = e["updated"].strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return sparse
    res: dict[str, Any] = {
        "id": e["event_id"],
        "status": e["status"],
        "iCalUID": e["ical_uid"],
        "start": _when(e["start"], e["timezone"], e["all_day"]),
        "end": _when(e["end"], e["timezone"], e["all_day"]),
        "eventType": EVENT_TYPE[e["event_type"]],
        "created": e["created"].strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "updated": e["updated"].strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "summary": "never requested by the connector",
        "description": "never requested by the connector",
    }
    if isinstance(e["organizer"], str):
        res["organizer"] = {"email": e["organizer"]}
    if series:
        res["recurringEventId"] = series
        res["originalStartTime"] = _when(e["original_start"], e["timezone"], e["all_day"])
    if people:
        res["attendees"] = [
            {
                "email": a["email"],
                "responseStatus": RESPONSE.get(a["response"], "needsAction"),
                **({"organizer": True} if a["role"] == "organizer" else {}),
                **({"optional": True} if a["role"] == "optional" else {}),
                **({"resource": True} if a["is_resource"] else {}),
            }
            for a in people
        ]
    return res


def _master(e: dict[str, Any], res: dict[str, Any]) -> dict[str, Any]:
    master = {k: v for k, v in res.items() if k not in ("recurringEventId", "originalStartTime")}
    master["id"] = e["series_id"]
    if isinstance(e["recurrence"], str):
        master["recurrence"] = [f"RRULE:{e['recurrence']}"]
    master["status"] = "confirmed"
    return master


def _fields_ok(fields: str | None) -> bool:
    return bool(fields) and "description" not in fields and "summary" not in fields  # type: ignore[operator]


def _jwt_subject(assertion: str) -> str:
    payload = assertion.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims.get("sub", ""))


def _handler(fake: FakeGoogle) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # else keep-alive replies wait 40 ms for a delayed ACK

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def setup(self) -> None:  # once per TCP connection
            if fake.idle_reset is not None:  # waiting for the next request longer: hang up
                self.timeout = fake.idle_reset
            super().setup()
            with fake.lock:
                fake.connections += 1

        def finish(self) -> None:
            if fake.idle_reset is not None:  # close with a RST (SO_LINGER 0), not a FIN
                with suppress(OSError):
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
            super().finish()

        def _send(
            self, code: int, body: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            raw = self.rfile.read(length)
            if self.path == "/batch/calendar/v3":
                fake.log.append(("POST", self.path, {}))
                self._batch(raw)
                return
            form = dict(urllib.parse.parse_qsl(raw.decode()))
            fake.log.append(("POST", self.path, form))
            if self.path != "/token":
                self._send(404, _error(404, "notFound", "Not Found"))
                return
            if form.get("grant_type") == "refresh_token":
                if form.get("refresh_token") != "good-refresh-token":
                    self._send(
                        400,
                        {
                            "error": "invalid_grant",
                            "error_description": "Token has been expired or revoked.",
                        },
                    )
                    return
                subject = ""
            else:
                subject = _jwt_subject(form.get("assertion", ""))
            token = f"access-{len(fake.tokens)}"
            fake.tokens[token] = subject
            self._send(200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"})

        def do_GET(self) -> None:
            self._reply(*self._answer(self.path, self.headers.get("Authorization", "")))

        def _reply(
            self, code: int, body: dict[str, Any] | bytes, headers: dict[str, str] | None = None
        ) -> None:
            if isinstance(body, bytes):  # a proxy's HTML page
                self.send_response(code)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self._send(code, body, headers)

        def _answer(
            self, target: str, auth: str, *, part: bool = False
        ) -> tuple[int, dict[str, Any] | bytes, dict[str, str]]:
            """One GET (alone or a batch's part): status, JSON body (bytes: HTML), headers."""
            url = urllib.parse.urlsplit(target)
            q = dict(urllib.parse.parse_qsl(url.query))
            fake.log.append(("GET", url.path, q))
            subject = fake.tokens.get(auth.removeprefix("Bearer "))
            if subject is None:
                return 401, _error(401, "authError", "Invalid Credentials"), {}
            parts = [urllib.parse.unquote(p) for p in url.path.strip("/").split("/")]
            if parts[:2] == ["admin", "directory"]:
                return 200, self._directory(q), {}
            if len(parts) < 5 or parts[:3] != ["calendar", "v3", "calendars"]:
                return 404, _error(404, "notFound", "Not Found"), {}
            calendar = parts[3]
            if subject and subject != calendar:
                return 403, _error(403, "forbidden", "Not allowed to read this calendar"), {}
            with fake.lock:
                fault = fake.faults[calendar].pop(0) if fake.faults[calendar] else None
                if fault is None and part and fake.part_faults[calendar]:
                    fault = fake.part_faults[calendar].pop(0)
                once = fake.stalls[calendar].pop(0) if fake.stalls[calendar] else None
                stall = fake.hang.get(calendar, 0.0) if once is None else once
            if stall:
                threading.Event().wait(stall)  # not time.sleep: tests may stub that out
            if calendar in fake.html:
                return 200, b"<html><body>Proxy login required</body></html>", {}
            if fault is not None:
                code, reason = fault if isinstance(fault, tuple) else (fault, "backendError")
                headers = {"Retry-After": "1"} if code == 429 else {}
                return code, _error(code, reason, f"injected {code} {reason}"), headers
            if len(parts) == 6:  # events/{id}: a series master
                master = fake.masters.get(calendar, {}).get(parts[5])
                if master is None:
                    return 404, _error(404, "notFound", "Not Found"), {}
                return 200, master, {}
            if not _fields_ok(q.get("fields")):
                return 400, _error(400, "badRequest", "the fake insists on a fields mask"), {}
            code, body = fake.list_events(calendar, q)
            return code, body, {}

        def _batch(self, raw: bytes) -> None:
            """``POST /batch/calendar/v3``: multipart/mixed of ``application/http`` GETs, each
            answered as if sent alone (the outer Authorization applies to parts without
            their own), in a multipart/mixed reply in the same order, each part's
            ``Content-ID`` ``<response-…>`` naming the request's."""
            kind = self.headers.get("Content-Type", "")
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + kind.encode() + b"\r\n\r\n" + raw
            )
            if not message.is_multipart():
                self._send(400, _error(400, "badRequest", "a batch is multipart/mixed"))
                return
            parts = list(message.iter_parts())
            if len(parts) > 1000:
                self._send(400, _error(400, "badRequest", "at most 1000 calls in a batch"))
                return
            out = []
            paths = []
            for part in parts:
                if part.get_content_type() != "application/http":
                    self._send(400, _error(400, "badRequest", "parts are application/http"))
                    return
                inner = part.get_payload(decode=True) or b""
                head = inner.decode().replace("\r\n", "\n").split("\n\n", 1)[0].split("\n")
                method, target, _ = head[0].split(" ", 2)
                paths.append(urllib.parse.unquote(urllib.parse.urlsplit(target).path))
                headers = dict(h.split(": ", 1) for h in head[1:] if ": " in h)
                auth = headers.get("Authorization") or self.headers.get("Authorization", "")
                if method != "GET":
                    code, body, extra = 405, _error(405, "badRequest", "the fake reads only"), {}
                else:
                    code, body, extra = self._answer(target, auth, part=True)
                if isinstance(body, bytes):
                    data, ctype = body, "text/html"
                else:
                    data, ctype = json.dumps(body).encode(), "application/json; charset=UTF-8"
                status = f"HTTP/1.1 {code} {HTTPStatus(code).phrase}"
                lines = [status, f"Content-Type: {ctype}", f"Content-Length: {len(data)}"]
                lines += [f"{k}: {v}" for k, v in extra.items()]
                content_id = str(part.get("Content-ID", "")).strip()
                reply_id = f"<response-{content_id.strip('<>')}>" if content_id else ""
                out.append((reply_id, "\r\n".join(lines).encode() + b"\r\n\r\n" + data))
            with fake.lock:
                fake.batches.append(paths)
            boundary = f"batch_{uuid.uuid4().hex}"
            chunks = []
            for reply_id, payload in out:
                chunks.append(f"--{boundary}\r\nContent-Type: application/http\r\n".encode())
                if reply_id:
                    chunks.append(f"Content-ID: {reply_id}\r\n".encode())
                chunks.append(b"\r\n" + payload + b"\r\n")
            chunks.append(f"--{boundary}--\r\n".encode())
            data = b"".join(chunks)
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/mixed; boundary={boundary}")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _directory(self, q: dict[str, str]) -> dict[str, Any]:
            size = min(int(q.get("maxResults", 100)), 500, fake.page_size)
            offset = int(q.get("pageToken", "0") or 0)
            page = fake.users[offset : offset + size]
            body: dict[str, Any] = {"kind": "admin#directory#users", "users": page}
            if offset + size < len(fake.users):
                body["nextPageToken"] = str(offset + size)
            return body

    return Handler


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is part of the tests


@contextmanager
def serve(fake: FakeGoogle | None = None) -> Iterator[FakeGoogle]:
    """Run ``fake`` on 127.0.0.1 (a free port) for the duration of the block."""
    fake = fake or FakeGoogle()
    server = _QuietServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def user_token_file(
    path: Any, fake: FakeGoogle, *, refresh_token: str = "good-refresh-token"
) -> Any:
    """An authorized-user token file, as `cadence auth google` writes, refreshing at the fake."""
    path.write_text(
        json.dumps(
            {
                "token": "expired",
                "refresh_token": refresh_token,
                "token_uri": fake.url + "token",
                "client_id": "cadence-test.apps.googleusercontent.com",
                "client_secret": "not-a-secret",
                "scopes": ["https://www.googleapis.com/auth/calendar.events.readonly"],
                "expiry": "2020-01-01T00:00:00Z",
            }
        ),
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def service_account_file(path: Any, fake: FakeGoogle) -> Any:
    """A service-account key file (a fresh RSA key) whose token URI is the fake's."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "cadence-test",
                "private_key_id": "k1",
                "private_key": pem,
                "client_email": "cadence@cadence-test.iam.gserviceaccount.com",
                "client_id": "1234567890",
                "token_uri": fake.url + "token",
            }
        ),
        encoding="utf-8",
    )
    return path
