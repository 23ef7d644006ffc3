"""A fake provider server from ``tests/`` in its own process (as a remote service would be),
loaded with the demo organisation; and the figures the connector benchmarks print.

``python benchmarks/_fake.py google|graph`` serves until its stdin closes.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cadence.sources import demo

AS_OF = pd.Timestamp("2026-06-30", tz="UTC")
PEOPLE = 1_000
FAKES = {"google": ("tests.fake_google", "FakeGoogle"), "graph": ("tests.fake_graph", "FakeGraph")}


def organisation() -> demo.DemoOrg:
    return demo.generate(PEOPLE, seed=7, as_of=AS_OF, weeks=26)


@dataclass
class Server:
    """A fake running in a child process: its base URL and its CPU time so far."""

    url: str
    pid: int

    def cpu(self) -> float:
        """User + system CPU seconds of the server process (from /proc)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def fake_server(kind: str) -> Iterator[Server]:
    """Start the ``kind`` fake in a child process; yield it once it serves."""
    server = subprocess.Popen(
        [sys.executable, __file__, kind], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    try:
        yield Server(server.stdout.readline().strip(), server.pid)
    finally:
        server.communicate("", timeout=30)


class ConnectorCPU:
    """Wrap a connector's ``pull_one`` to add up the CPU time its threads spend in it (HTTP,
    JSON, mapping), apart from the sync engine's and the store's."""

    def __init__(self, connector: Any) -> None:
        self.seconds = 0.0
        self._lock = threading.Lock()
        inner = connector.pull_one

        def timed(context: Any) -> Any:
            start = time.thread_time()
            try:
                return inner(context)
            finally:
                with self._lock:
                    self.seconds += time.thread_time() - start

        connector.pull_one = timed


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def figures(
    label: str, wall: float, count: int, noun: str, s: Any, extra: str = "", cpu: str = ""
) -> None:
    """One line: time, rate, requests per calendar, events, rows written, failures, CPU."""
    nouns = noun + ("es" if noun.endswith("x") else "s")
    print(
        f"{label}: {count:,} {nouns} in {wall:.1f} s ({count / wall:,.0f} {nouns}/s), "
        f"{s.requests:,} requests ({s.requests / count:.2f} per {noun}{extra}), "
        f"{s.items:,} events ({s.items / wall:,.0f} events/s), "
        f"{s.rows_written:,} rows written, {len(s.failed)} failed{cpu}",
        flush=True,
    )


def _serve_forever(kind: str) -> None:
    module_name, class_name = FAKES[kind]
    module = importlib.import_module(module_name)
    last = organisation().pulls()[-1]
    with module.serve(getattr(module, class_name)()) as fake:
        fake.load(last.events, last.attendees)
        print(fake.url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    _serve_forever(sys.argv[1])
