"""Microsoft Graph over requests: sessions whose urllib3 ``Retry`` handles throttling,
the one pager (``@odata.nextLink``), JSON ``$batch``, the per-mailbox bound on requests in
flight (:class:`Slots`), and errors translated in one place.

429 / 503 / 504 (and connection errors) are retried by urllib3's ``Retry``,
honouring ``Retry-After``; batch items that come back 429 / 503 inside a 200
batch are sent again after their ``Retry-After``. Whatever still fails becomes
a :class:`~cadence.errors.GraphError` here.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from cadence.errors import GraphError
from cadence.sources.connector import describe
from cadence.sources.graph.settings import BATCH_SIZE, DEFAULT_GRAPH, MAILBOX_CONCURRENCY


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


class Slots:
    """At most ``limit`` requests in flight per mailbox, across every thread of a connector.

    Outlook allows an app 4 concurrent requests per mailbox, and Graph sends up to 4
    items of a ``$batch`` to Outlook at once: a batch takes ``min(items, limit)`` slots.
    """

    def __init__(self, limit: int = MAILBOX_CONCURRENCY) -> None:
        self.limit = limit
        self._busy: dict[str, int] = defaultdict(int)
        self._free = threading.Condition()

    @contextmanager
    def held(self, mailbox: str | None, count: int = 1) -> Iterator[None]:
        if mailbox is None:  # the directory, not a mailbox
            yield
            return
        count = max(1, min(count, self.limit))
        with self._free:
            self._free.wait_for(lambda: self._busy[mailbox] + count <= self.limit)
            self._busy[mailbox] += count
        try:
            yield
        finally:
            with self._free:
                self._busy[mailbox] -= count
                self._free.notify_all()


@dataclass
class Graph:
    """Authenticated GET / $batch against one Graph base URL, for one mailbox (or none).

    ``session()`` gives the calling thread's session (requests sessions are not
    thread-safe); ``slots`` bounds this mailbox's requests in flight.
    """

    session: Callable[[], requests.Session]
    token: Callable[[], str]
    base: str = DEFAULT_GRAPH
    timeout: float = 60.0
    mailbox: str | None = None
    slots: Slots = field(default_factory=Slots)
    requests: int = 0
    _count: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _sent(self) -> None:
        with self._count:
            self.requests += 1

    def _headers(self, page_size: int | None = None) -> dict[str, str]:
        prefer = ['outlook.timezone="UTC"']
        if page_size:
            prefer.append(f"odata.maxpagesize={page_size}")
        return {"Authorization": f"Bearer {self.token()}", "Prefer": ", ".join(prefer)}

    def get(self, url: str, *, page_size: int | None = None) -> dict[str, Any]:
        full = url if url.startswith("http") else self.base.rstrip("/") + url
        self._sent()
        try:
            with self.slots.held(self.mailbox):
                resp = self.session().get(
                    full, headers=self._headers(page_size), timeout=self.timeout
                )
        except requests.RequestException as exc:
            raise GraphError(describe(exc)) from None
        if resp.status_code != 200:
            raise GraphError(_http_message(resp.status_code, resp.text))
        try:
            data = resp.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise GraphError(f"{full}: {_not_json(resp)}")
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
                self._sent()
                try:
                    with self.slots.held(self.mailbox, len(chunk)):
                        resp = self.session().post(
                            self.base.rstrip("/") + "/$batch",
                            json=body,
                            headers=self._headers(),
                            timeout=self.timeout,
                        )
                except requests.RequestException as exc:
                    raise GraphError(describe(exc)) from None
                if resp.status_code != 200:
                    raise GraphError(_http_message(resp.status_code, resp.text))
                try:
                    answers = resp.json().get("responses", [])
                except (ValueError, AttributeError):
                    raise GraphError(f"$batch: {_not_json(resp)}") from None
                for answer in answers:
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


def _not_json(resp: requests.Response) -> str:
    kind = resp.headers.get("Content-Type", "no Content-Type").split(";")[0]
    html = "html" in kind or resp.text.lstrip()[:1] == "<"
    return f"the answer is not JSON ({kind})" + (
        ": an HTML page from a proxy or sign-in portal? check [microsoft] graph_url" if html else ""
    )
