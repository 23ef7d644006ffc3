"""A real Radicale CalDAV server on 127.0.0.1, for the CalDAV connector's tests and benchmark.

Radicale's own WSGI application (``radicale.Application``, filesystem storage in
a temporary folder, htpasswd accounts) is served by a threading ``wsgiref``
server in a background thread. A thin middleware in front of it counts the
requests per collection and injects faults the way a flaky server or network
would: an HTTP status (503, 500…) for the next requests of a collection, or a
stall (``hang``, seconds) so that a client times out — Radicale answers
everything else itself (PROPFIND, REPORT calendar-query / sync-collection /
multiget, PUT, DELETE, sync tokens).

Calendars are collections ``/<user>/<name>/``; :meth:`RadicaleServer.put_ics`
uploads an ``.ics`` file as one object per UID (master and overrides together,
as CalDAV stores them), with the file's VTIMEZONEs.
"""

from __future__ import annotations

import re
import threading
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import niquests

USER = "cadence"
PASSWORD = "app-specific-password"


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class RadicaleServer:
    """A running Radicale; ``url`` is its root (``http://127.0.0.1:PORT/``)."""

    folder: Path
    url: str = ""
    faults: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    hang: dict[str, float] = field(default_factory=dict)  # collection name → seconds to stall
    log: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: Any = None
    _thread: threading.Thread | None = None

    # -- life -----------------------------------------------------------------------------------

    def start(self) -> RadicaleServer:
        import radicale
        from radicale import config

        users = self.folder / "users"
        users.write_text(f"{USER}:{PASSWORD}\nother:other\n", encoding="utf-8")
        configuration = config.load()
        configuration.update(
            {
                "auth": {
                    "type": "htpasswd",
                    "htpasswd_filename": str(users),
                    "htpasswd_encryption": "plain",
                    "delay": "0",
                },
                "rights": {"type": "owner_only"},
                "storage": {
                    "filesystem_folder": str(self.folder / "collections"),
                    "_filesystem_fsync": "False",  # a throw-away folder: no fsync per file
                },
                "logging": {"level": "critical", "mask_passwords": "True"},
                "web": {"type": "none"},
            },
            "test",
            privileged=True,  # the internal fsync switch
        )
        app = radicale.Application(configuration)
        self._server = make_server(
            "127.0.0.1",
            0,
            self._middleware(app),
            server_class=_Server,
            handler_class=_QuietHandler,
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _middleware(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            path = urllib.parse.unquote(environ.get("PATH_INFO", ""))
            name = self.collection_of(path)
            with self.lock:
                self.log.append((environ["REQUEST_METHOD"], path))
                fault = self.faults[name].pop(0) if name and self.faults.get(name) else None
                stall = self.hang.get(name or "", 0.0)
            if stall:
                time.sleep(stall)
            if fault is not None:
                start_response(f"{fault} Injected", [("Content-Type", "text/plain")])
                return [b"injected fault"]
            return app(environ, start_response)

        return serve

    @staticmethod
    def collection_of(path: str) -> str | None:
        """``/cadence/ann@example.com/x.ics`` → ``ann@example.com``."""
        parts = [p for p in path.split("/") if p]
        return parts[1] if len(parts) >= 2 else None

    def requests_to(self, name: str) -> int:
        with self.lock:
            return sum(1 for _m, p in self.log if self.collection_of(p) == name)

    def requests(self) -> int:
        with self.lock:
            return len(self.log)

    # -- data -----------------------------------------------------------------------------------

    @contextmanager
    def _session(self) -> Iterator[niquests.Session]:
        session = niquests.Session()
        session.auth = (USER, PASSWORD)
        try:
            yield session
        finally:
            session.close()

    def collection_url(self, name: str, user: str = USER) -> str:
        return f"{self.url}{user}/{urllib.parse.quote(name)}/"

    def make_calendar(self, name: str, *, displayname: str | None = None) -> str:
        """Create ``/<user>/<name>/`` (a calendar whose display name is ``displayname``)."""
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            f"<D:set><D:prop><D:displayname>{displayname or name}</D:displayname>"
            "</D:prop></D:set></C:mkcalendar>"
        )
        url = self.collection_url(name)
        with self._session() as s:
            r = s.request("MKCALENDAR", url, data=body.encode())
            assert r.status_code in (201, 405), (r.status_code, r.text)
        return url

    def load_calendar(self, name: str, text: str, *, displayname: str | None = None) -> list[str]:
        """Make calendar ``name`` hold the events of one iCalendar text, as an import does:
        one PUT of the whole calendar (Radicale splits it into one object per UID); when the
        server refuses the whole, object by object. Returns the UIDs the server refused."""
        url = self.collection_url(name)
        with self._session() as s:
            r = s.put(url, data=text.encode(), headers={"Content-Type": "text/calendar"})
            whole = r.status_code in (201, 204)
        if whole:
            self.set_displayname(name, displayname or name)
        else:
            self.make_calendar(name, displayname=displayname)
        zone = re.search(r"^X-WR-TIMEZONE:(.*?)\r?$", text, re.M)
        if zone:  # as a client importing the file would set the calendar's zone
            self.set_timezone(name, zone.group(1).strip())
        return [] if whole else self.put_ics(name, text)

    def set_timezone(self, name: str, tzid: str) -> None:
        vtimezone = (
            "BEGIN:VCALENDAR&#13;\nVERSION:2.0&#13;\nBEGIN:VTIMEZONE&#13;\n"
            f"TZID:{tzid}&#13;\nEND:VTIMEZONE&#13;\nEND:VCALENDAR&#13;\n"
        )
        body = (
            '<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" '
            'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
            f"<C:calendar-timezone>{vtimezone}</C:calendar-timezone></D:prop></D:set>"
            "</D:propertyupdate>"
        )
        with self._session() as s:
            r = s.request("PROPPATCH", self.collection_url(name), data=body.encode())
            assert r.status_code == 207, (r.status_code, r.text)

    def set_displayname(self, name: str, displayname: str) -> None:
        body = (
            '<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:"><D:set>'
            f"<D:prop><D:displayname>{displayname}</D:displayname></D:prop></D:set>"
            "</D:propertyupdate>"
        )
        with self._session() as s:
            r = s.request("PROPPATCH", self.collection_url(name), data=body.encode())
            assert r.status_code == 207, (r.status_code, r.text)

    def put_ics(self, name: str, text: str) -> list[str]:
        """Upload the VEVENTs of one iCalendar text into calendar ``name``, one object per UID;
        return the UIDs the server refused (400: content its parser rejects, which therefore
        cannot exist on a CalDAV server)."""
        objects = split_by_uid(text)
        url = self.collection_url(name)
        refused = []
        with self._session() as s:
            for uid, body in objects.items():
                href = url + urllib.parse.quote(_safe(uid)) + ".ics"
                r = s.put(href, data=body.encode(), headers={"Content-Type": "text/calendar"})
                if r.status_code == 400:
                    refused.append(uid)
                    continue
                assert r.status_code in (201, 204), (r.status_code, r.text, uid)
        return refused

    def delete(self, name: str, uid: str) -> None:
        with self._session() as s:
            r = s.delete(self.collection_url(name) + urllib.parse.quote(_safe(uid)) + ".ics")
            assert r.status_code in (200, 204), r.status_code

    def put_object(self, name: str, uid: str, text: str) -> None:
        with self._session() as s:
            r = s.put(
                self.collection_url(name) + urllib.parse.quote(_safe(uid)) + ".ics",
                data=text.encode(),
                headers={"Content-Type": "text/calendar"},
            )
            assert r.status_code in (201, 204), (r.status_code, r.text)

    def get_object(self, name: str, uid: str) -> str:
        with self._session() as s:
            r = s.get(self.collection_url(name) + urllib.parse.quote(_safe(uid)) + ".ics")
            assert r.status_code == 200, r.status_code
            return str(r.text)


def _safe(uid: str) -> str:
    return re.sub(r"[^A-Za-z0-9@._-]", "_", uid)


_BLOCK = re.compile(r"^BEGIN:(VEVENT|VTIMEZONE)\n.*?^END:\1\n?", re.M | re.S)
_UID = re.compile(r"^UID:(.*?)$", re.M)


def split_by_uid(text: str) -> dict[str, str]:
    """One iCalendar object per UID (its VEVENTs: master and overrides), with every VTIMEZONE
    of the file and its X-WR-TIMEZONE, as a CalDAV client would store them."""
    text = text.replace("\r\n", "\n")
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Cadence tests//EN"]
    wr = re.search(r"^X-WR-TIMEZONE:.*?$", text, re.M)
    if wr:
        head.append(wr.group(0))
    zones = []
    events: dict[str, list[str]] = defaultdict(list)
    for match in _BLOCK.finditer(text):
        block = match.group(0).rstrip("\n")
        if match.group(1) == "VTIMEZONE":
            zones.append(block)
        else:
            uid = _UID.search(re.sub(r"\n[ \t]", "", block))  # unfolded, to read the UID
            events[uid.group(1).strip() if uid else f"no-uid-{len(events)}"].append(block)
    out = {}
    for uid, blocks in events.items():
        lines = [*head, *zones, *blocks, "END:VCALENDAR"]
        out[uid] = "\r\n".join("\r\n".join(b.split("\n")) for b in lines) + "\r\n"
    return out
