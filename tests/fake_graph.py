"""A local fake of Microsoft Graph v1.0 calendars and of an Entra ID authority, over real HTTP.

Graph: ``/users/{mailbox}/calendarView`` (``$select`` required, ``Prefer:
odata.maxpagesize`` honoured up to the server's cap, a default page of 10,
``@odata.nextLink`` paging; times in UTC only when ``Prefer:
outlook.timezone="UTC"`` asks), ``/users/{mailbox}/events/{master}`` (series
masters with ``recurrence`` and ``cancelledOccurrences`` ids
``OID.{master}.{date}``), ``POST /$batch`` (≤ 20 requests, items answered out
of order, throttled items inside a 200), ``/users`` with ``$expand=manager``.
Cancelled occurrences are not in calendarView, as on the real service. Faults:
429 with ``Retry-After``, 503, hangs. It serves requests at once (a thread each;
a batch's items 4 at a time, as Graph sends them to Outlook) and counts how many
are in flight per mailbox (``most_in_flight``; ``most_own_in_flight`` for those
that came as requests of their own, not batch items).

Authority: OpenID configuration, device code and token endpoints enough for
msal's ``PublicClientApplication`` (device flow, refresh) and
``ConfidentialClientApplication`` (client credentials). msal insists on an
https authority: :class:`Rewrite` is a requests session that sends
``https://login.fake.test`` to this server.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import requests

AUTHORITY_HOST = "https://login.fake.test"
TENANT = "contoso-tenant"
CLIENT_ID = "00000000-0000-0000-0000-00000000c0de"
SECRET = "fake-client-secret"
WINDOWS = {  # IANA → Windows names Outlook writes (each maps back to the same IANA zone)
    "Europe/Berlin": "W. Europe Standard Time",
    "America/Los_Angeles": "Pacific Standard Time",
    "America/New_York": "Eastern Standard Time",
    "America/Chicago": "Central Standard Time",
    "Asia/Kolkata": "India Standard Time",
    "Australia/Sydney": "AUS Eastern Standard Time",
}
RESPONSE = {"accepted": "accepted", "declined": "declined", "tentative": "tentativelyAccepted"}
DAYS = {
    "MO": "monday",
    "TU": "tuesday",
    "WE": "wednesday",
    "TH": "thursday",
    "FR": "friday",
    "SA": "saturday",
    "SU": "sunday",
}


def _jwt(claims: dict[str, Any]) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.sig"


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _iso(ts: pd.Timestamp) -> str:
    return ts.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.0000000")


def _pattern(rule: str) -> dict[str, Any]:
    parts = dict(p.split("=", 1) for p in rule.split(";"))
    interval = int(parts.get("INTERVAL", "1"))
    if parts["FREQ"] == "WEEKLY":
        pattern = {
            "type": "weekly",
            "interval": interval,
            "daysOfWeek": [DAYS[d] for d in parts.get("BYDAY", "MO").split(",")],
        }
    elif parts["FREQ"] == "MONTHLY":
        pattern = {
            "type": "absoluteMonthly",
            "interval": interval,
            "dayOfMonth": int(parts.get("BYMONTHDAY", "1")),
        }
    else:
        pattern = {"type": "daily", "interval": interval}
    rng: dict[str, Any] = {"type": "noEnd"}
    if "UNTIL" in parts:
        rng = {
            "type": "endDate",
            "endDate": f"{parts['UNTIL'][:4]}-{parts['UNTIL'][4:6]}-{parts['UNTIL'][6:8]}",
        }
    return {"pattern": pattern, "range": rng}


@dataclass
class FakeGraph:
    page_size: int = 1000  # the server's cap on odata.maxpagesize
    mailboxes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    masters: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    users: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    batch_faults: list[int] = field(default_factory=list)  # statuses for the next batch items
    hang: dict[str, float] = field(default_factory=dict)
    html: set[str] = field(default_factory=set)  # mailboxes answered with a proxy's HTML page
    bad_items: dict[str, list[Any]] = field(default_factory=dict)  # put first in calendarView
    log: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    sessions: list[Any] = field(default_factory=list)  # the Rewrite sessions made for this fake
    tokens: dict[str, str] = field(default_factory=dict)  # access token → "user" / "app"
    refresh_tokens: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # requests being served per mailbox (batch items too: Graph runs up to 4 of a batch at
    # once), and the most seen at once: all of them, and those sent as requests of their own
    in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    most_in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    own_in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    most_own_in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    url: str = ""
    ca: Path | None = None
    expires_in: int = 3599

    @property
    def authority_host(self) -> str:
        """The authority msal should use: the rewritten fake host, or this server over https."""
        return self.url.rstrip("/") if self.url.startswith("https") else AUTHORITY_HOST

    @property
    def graph(self) -> str:
        return self.url + "v1.0"

    def load(self, events: pd.DataFrame, attendees: pd.DataFrame) -> None:
        """Make each mailbox in ``events`` hold exactly these occurrences, as Graph shows them."""
        people: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for a in attendees.to_dict("records"):
            people[(a["calendar"], a["event_id"])].append(a)
        boxes: dict[str, list[dict[str, Any]]] = defaultdict(list)
        masters: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        rows = events.sort_values(["calendar", "original_start"]).to_dict("records")
        for e in rows:
            series = e["series_id"] if isinstance(e["series_id"], str) else None
            who = people[(e["calendar"], e["event_id"])]
            if series and series not in masters[e["calendar"]]:
                masters[e["calendar"]][series] = self._master(e, who)
            if series and e["status"] == "cancelled":
                zone = e["timezone"] if isinstance(e["timezone"], str) else "UTC"
                day = e["original_start"].tz_convert(zone).strftime("%Y-%m-%d")
                masters[e["calendar"]][series]["cancelledOccurrences"].append(f"OID.{series}.{day}")
                continue
            boxes[e["calendar"]].append(self._event(e, who, series))
        with self.lock:
            for cal in set(events["calendar"]):
                self.mailboxes[cal] = boxes[cal]
                self.masters[cal] = masters[cal]

    @staticmethod
    def _zone(e: dict[str, Any]) -> str:
        zone = e["timezone"] if isinstance(e["timezone"], str) else "UTC"
        return WINDOWS.get(zone, zone)

    def _people(self, who: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                "type": "resource"
                if a["is_resource"]
                else "optional"
                if a["role"] == "optional"
                else "required",
                "status": {
                    "response": "organizer"
                    if a["role"] == "organizer"
                    else RESPONSE.get(a["response"], "none")
                },
                "emailAddress": {"address": a["email"], "name": a["email"].split("@")[0]},
            }
            for a in who
        ]

    def _event(
        self, e: dict[str, Any], who: list[dict[str, Any]], series: str | None
    ) -> dict[str, Any]:
        me = next((a for a in who if a["email"] == e["calendar"]), None)
        ev = {
            "id": e["event_id"],
            "iCalUId": f"{e['ical_uid']}|{e['original_start']:%Y%m%dT%H%M}"
            if series
            else e["ical_uid"],
            "type": "singleInstance",
            "start": {"dateTime": _iso(e["start"]), "timeZone": "UTC"},
            "end": {"dateTime": _iso(e["end"]), "timeZone": "UTC"},
            "originalStartTimeZone": self._zone(e),
            "isAllDay": bool(e["all_day"]),
            "isCancelled": e["status"] == "cancelled",
            "showAs": {"out_of_office": "oof", "working_location": "workingElsewhere"}.get(
                e["event_type"], "busy"
            ),
            "organizer": {"emailAddress": {"address": e["organizer"]}}
            if isinstance(e["organizer"], str)
            else None,
            "attendees": self._people(who),
            "responseStatus": {
                "response": "organizer"
                if me is not None and me["role"] == "organizer"
                else RESPONSE.get(me["response"], "none")
                if me is not None
                else "none"
            },
            "createdDateTime": _iso(e["created"]) + "Z",
            "lastModifiedDateTime": _iso(e["updated"]) + "Z",
            "subject": "never selected by the connector",
            "body": {"content": "never selected by the connector"},
        }
        if series:
            ev["seriesMasterId"] = series
            ev["type"] = "exception" if e["start"] != e["original_start"] else "occurrence"
            ev["originalStart"] = e["original_start"].strftime("%Y-%m-%dT%H:%M:%SZ")
        return ev

    def _master(self, e: dict[str, Any], who: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": e["series_id"],
            "iCalUId": e["ical_uid"],
            "type": "seriesMaster",
            "recurrence": _pattern(e["recurrence"]) if isinstance(e["recurrence"], str) else None,
            "cancelledOccurrences": [],
            "start": {"dateTime": _iso(e["original_start"]), "timeZone": "UTC"},
            "end": {
                "dateTime": _iso(e["original_start"] + (e["end"] - e["start"])),
                "timeZone": "UTC",
            },
            "originalStartTimeZone": self._zone(e),
            "isAllDay": bool(e["all_day"]),
            "showAs": "busy",
            "organizer": {"emailAddress": {"address": e["organizer"]}}
            if isinstance(e["organizer"], str)
            else None,
            "attendees": self._people(who),
        }

    def requests_to(self, mailbox: str) -> int:
        quoted = urllib.parse.quote(mailbox, safe="@")
        return sum(
            1 for _, p, _ in self.log if f"/users/{quoted}/" in p or f"/users/{mailbox}/" in p
        )

    # -- Graph --------------------------------------------------------------------------------

    @contextmanager
    def serving(self, mailbox: str, own: bool) -> Iterator[None]:
        """Count a request to ``mailbox`` as in flight while it is served."""
        with self.lock:
            self.in_flight[mailbox] += 1
            self.most_in_flight[mailbox] = max(
                self.most_in_flight[mailbox], self.in_flight[mailbox]
            )
            if own:
                self.own_in_flight[mailbox] += 1
                self.most_own_in_flight[mailbox] = max(
                    self.most_own_in_flight[mailbox], self.own_in_flight[mailbox]
                )
        try:
            yield
        finally:
            with self.lock:
                self.in_flight[mailbox] -= 1
                if own:
                    self.own_in_flight[mailbox] -= 1

    def graph_get(
        self, path: str, q: dict[str, str], prefer: str, token: str, *, own: bool = True
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
        if len(parts) >= 4 and parts[:2] == ["v1.0", "users"]:
            with self.serving(parts[2], own):
                return self._graph_get(path, q, prefer, token)
        return self._graph_get(path, q, prefer, token)

    def _graph_get(
        self, path: str, q: dict[str, str], prefer: str, token: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if self.tokens.get(token) is None:
            return (
                401,
                _error("InvalidAuthenticationToken", "Access token is empty or invalid."),
                {},
            )
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
        if parts == ["v1.0", "users"]:
            return self._users(q, prefer)
        if len(parts) < 4 or parts[:2] != ["v1.0", "users"]:
            return 404, _error("ResourceNotFound", path), {}
        mailbox = parts[2]
        with self.lock:
            fault = self.faults[mailbox].pop(0) if self.faults[mailbox] else None
            stall = self.hang.get(mailbox, 0.0)
        if stall:
            threading.Event().wait(stall)
        if fault is not None:
            return (
                fault,
                _error("TooManyRequests" if fault == 429 else "ServiceUnavailable", "injected"),
                {"Retry-After": "1"},
            )
        if mailbox not in self.mailboxes:
            return 404, _error("ErrorItemNotFound", "mailbox not found"), {}
        if parts[3] == "calendarView":
            return self._view(mailbox, q, prefer)
        if parts[3] == "events" and len(parts) == 5:
            master = self.masters.get(mailbox, {}).get(parts[4])
            if master is None:
                return 404, _error("ErrorItemNotFound", "not found"), {}
            chosen = set(q.get("$select", "").split(","))
            body = {k: v for k, v in master.items() if k in chosen or k == "id"}
            return 200, body, {}
        return 404, _error("ResourceNotFound", path), {}

    def _view(
        self, mailbox: str, q: dict[str, str], prefer: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        select = q.get("$select")
        if not select or "body" in select or "subject" in select:
            return (
                400,
                _error("BadRequest", "the fake insists on a $select without body/subject"),
                {},
            )
        if 'outlook.timezone="UTC"' not in prefer:
            return 400, _error("BadRequest", "the fake only speaks UTC"), {}
        lo, hi = pd.Timestamp(q["startDateTime"]), pd.Timestamp(q["endDateTime"])
        chosen = set(select.split(","))
        events = [
            e
            for e in self.mailboxes[mailbox]
            if pd.Timestamp(e["end"]["dateTime"], tz="UTC") > lo
            and pd.Timestamp(e["start"]["dateTime"], tz="UTC") < hi
        ]
        order = q.get("$orderby")
        if order == "start/dateTime":
            events.sort(key=lambda e: (e["start"]["dateTime"], e["id"]))
        elif order is not None:
            return 400, _error("BadRequest", f"the fake cannot order by {order}"), {}
        items = [{k: v for k, v in e.items() if k in chosen or k == "id"} for e in events]
        size = 10
        for part in prefer.split(","):
            if "odata.maxpagesize=" in part:
                size = int(part.split("=")[1])
        size = min(size, self.page_size)
        skip = int(q.get("$skiptoken", "0"))
        body: dict[str, Any] = {"value": items[skip : skip + size]}
        if skip == 0:
            body["value"] = list(self.bad_items.get(mailbox, [])) + body["value"]
        if skip + size < len(items):
            nq = {k: v for k, v in q.items() if k != "$skiptoken"} | {
                "$skiptoken": str(skip + size)
            }
            body["@odata.nextLink"] = (
                f"{self.graph}/users/{mailbox}/calendarView?{urllib.parse.urlencode(nq)}"
            )
        return 200, body, {}

    def _users(self, q: dict[str, str], prefer: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        size = 100
        for part in prefer.split(","):
            if "odata.maxpagesize=" in part:
                size = int(part.split("=")[1])
        size = min(size, self.page_size)
        skip = int(q.get("$skiptoken", "0"))
        body: dict[str, Any] = {"value": self.users[skip : skip + size]}
        if skip + size < len(self.users):
            nq = {k: v for k, v in q.items() if k != "$skiptoken"} | {
                "$skiptoken": str(skip + size)
            }
            body["@odata.nextLink"] = f"{self.graph}/users?{urllib.parse.urlencode(nq)}"
        return 200, body, {}


def _handler(fake: FakeGraph) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args: object) -> None:
            pass

        def _send(
            self, code: int, body: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _token(self) -> str:
            return self.headers.get("Authorization", "").removeprefix("Bearer ")

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(url.query))
            fake.log.append(("GET", url.path, {**q, "Prefer": self.headers.get("Prefer", "")}))
            if url.path == "/_fake/in_flight":  # for a benchmark with the fake in its process
                with fake.lock:
                    self._send(
                        200,
                        {
                            "most": dict(fake.most_in_flight),
                            "most_own": dict(fake.most_own_in_flight),
                        },
                    )
                return
            if url.path.endswith("/.well-known/openid-configuration"):
                tenant = url.path.strip("/").split("/")[0]
                base = f"{fake.authority_host}/{tenant}"
                self._send(
                    200,
                    {
                        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                        "token_endpoint": f"{base}/oauth2/v2.0/token",
                        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                        "issuer": f"{base}/v2.0",
                    },
                )
                return
            if any(f"/users/{box}/" in urllib.parse.unquote(url.path) for box in fake.html):
                page = b"<html><body>Proxy login required</body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)
                return
            code, body, headers = fake.graph_get(
                url.path, q, self.headers.get("Prefer", ""), self._token()
            )
            self._send(code, body, headers)

        def do_POST(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length", 0))
            raw = self.rfile.read(length).decode()
            if url.path == "/v1.0/$batch":
                fake.log.append(("POST", url.path, {}))
                self._batch(json.loads(raw))
                return
            form = dict(urllib.parse.parse_qsl(raw))
            fake.log.append(
                ("POST", url.path, {k: v for k, v in form.items() if k != "client_secret"})
            )
            if url.path.endswith("/devicecode"):
                self._send(
                    200,
                    {
                        "user_code": "FAKE-CODE",
                        "device_code": "device-1",
                        "verification_uri": "https://microsoft.com/devicelogin",
                        "expires_in": 900,
                        "interval": 1,
                        "message": "Open https://microsoft.com/devicelogin, enter FAKE-CODE",
                    },
                )
                return
            if url.path.endswith("/token"):
                self._token_grant(form)
                return
            self._send(404, _error("NotFound", url.path))

        def _token_grant(self, form: dict[str, str]) -> None:
            grant = form.get("grant_type", "")
            n = len(fake.tokens)
            if grant == "client_credentials":
                if form.get("client_secret") != SECRET and "client_assertion" not in form:
                    self._send(
                        401,
                        {
                            "error": "invalid_client",
                            "error_description": "AADSTS7000215: Invalid client secret provided.",
                        },
                    )
                    return
                fake.tokens[f"app-{n}"] = "app"
                self._send(
                    200, {"token_type": "Bearer", "expires_in": 3599, "access_token": f"app-{n}"}
                )
                return
            if grant == "refresh_token" and form.get("refresh_token") not in fake.refresh_tokens:
                self._send(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "AADSTS70008: The refresh token has expired.",
                    },
                )
                return
            if grant not in ("urn:ietf:params:oauth:grant-type:device_code", "refresh_token"):
                self._send(400, {"error": "unsupported_grant_type"})
                return
            refresh = f"refresh-{n}"
            fake.refresh_tokens.add(refresh)
            fake.tokens[f"user-{n}"] = "user"
            now = int(time.time())
            self._send(
                200,
                {
                    "token_type": "Bearer",
                    "expires_in": fake.expires_in,
                    "access_token": f"user-{n}",
                    "refresh_token": refresh,
                    "scope": "Calendars.ReadBasic openid profile offline_access",
                    "id_token": _jwt(
                        {
                            "aud": CLIENT_ID,
                            "iss": f"{AUTHORITY_HOST}/{TENANT}/v2.0",
                            "tid": TENANT,
                            "oid": "leader-oid",
                            "sub": "leader-sub",
                            "preferred_username": "leader@example.com",
                            "iat": now,
                            "exp": now + 3600,
                            "ver": "2.0",
                        }
                    ),
                    "client_info": base64.urlsafe_b64encode(
                        json.dumps({"uid": "leader-oid", "utid": TENANT}).encode()
                    )
                    .rstrip(b"=")
                    .decode(),
                },
            )

        def _batch(self, body: dict[str, Any]) -> None:
            reqs = body.get("requests", [])
            if len(reqs) > 20:
                self._send(400, _error("BadRequest", "A batch may hold at most 20 requests"))
                return
            token = self._token()

            def answer(r: dict[str, Any]) -> dict[str, Any]:
                with fake.lock:
                    fault = fake.batch_faults.pop(0) if fake.batch_faults else None
                if fault:
                    return {
                        "id": r["id"],
                        "status": fault,
                        "headers": {"Retry-After": "1"},
                        "body": _error("TooManyRequests", "injected"),
                    }
                url = urllib.parse.urlsplit("/v1.0" + r["url"])
                q = dict(urllib.parse.parse_qsl(url.query))
                code, b, headers = fake.graph_get(url.path, q, "", token, own=False)
                return {"id": r["id"], "status": code, "headers": headers, "body": b}

            # Graph sends up to 4 items of a batch to Outlook at once, and answers in any order
            with ThreadPoolExecutor(4) as pool:
                answers = list(pool.map(answer, reqs))[::-1]
            self._send(200, {"responses": answers})

    return Handler


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (PEM files) — the CA bundle for clients."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "fake-graph.crt", folder / "fake-graph.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextmanager
def serve(fake: FakeGraph | None = None, *, tls: Path | None = None) -> Iterator[FakeGraph]:
    """Serve ``fake`` on 127.0.0.1; with ``tls`` (a folder) over https with a self-signed
    certificate whose path is ``fake.ca`` (point ``REQUESTS_CA_BUNDLE`` at it)."""
    fake = fake or FakeGraph()
    server = _QuietServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    scheme = "http"
    if tls is not None:
        import ssl

        cert, key = self_signed(tls)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        fake.ca = cert
        scheme = "https"
    fake.url = f"{scheme}://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        for session in fake.sessions:  # the tests' msal sessions: closed, not left to the GC
            session.close()
        server.shutdown()
        server.server_close()


class Rewrite(requests.Session):
    """A requests session that sends the fake authority's https URLs to the local fake."""

    def __init__(self, fake: FakeGraph) -> None:
        super().__init__()
        self.fake = fake
        fake.sessions.append(self)

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:  # type: ignore[override]
        text = url.decode() if isinstance(url, bytes) else url
        if text.startswith(AUTHORITY_HOST):
            text = self.fake.url + text[len(AUTHORITY_HOST) + 1 :]
        return super().request(method, text, *args, **kwargs)
