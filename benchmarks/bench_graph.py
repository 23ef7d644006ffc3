"""Microsoft Graph connector: 1,000 mailboxes on the local fake Graph, a first and a second pull.

The real requests/urllib3 stack and msal talk HTTP to ``tests/fake_graph.py``,
run in its own process (as a remote service would be), on the same 2 cores.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_graph import CLIENT_ID, SECRET, TENANT, FakeGraph, Rewrite, serve  # noqa: E402

from cadence.sources import demo  # noqa: E402
from cadence.sources import graph as ms  # noqa: E402
from cadence.store import Store  # noqa: E402

AS_OF = pd.Timestamp("2026-06-30", tz="UTC")
PEOPLE = 1_000


def serve_forever() -> None:
    last = demo.generate(PEOPLE, seed=7, as_of=AS_OF, weeks=26).pulls()[-1]
    with serve(FakeGraph()) as fake:
        fake.load(last.events, last.attendees)
        print(fake.url, flush=True)
        sys.stdin.read()


def main() -> None:
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    fake = FakeGraph(url=url)
    mailboxes = sorted(demo.generate(PEOPLE, seed=7, as_of=AS_OF, weeks=26).roster["email"])
    token = ms.application_token(
        CLIENT_ID,
        TENANT,
        SECRET,
        graph_url=fake.graph,
        authority_host=fake.authority_host,
        http_client=Rewrite(fake),
    )
    try:
        with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.sqlite") as db:
            for label in ("first pull", "second pull, nothing changed"):
                start = time.perf_counter()
                s = ms.pull_all(db, mailboxes, token, graph_url=fake.graph, now=AS_OF)
                wall = time.perf_counter() - start
                print(
                    f"{label}: {len(mailboxes):,} mailboxes in {wall:.1f} s "
                    f"({len(mailboxes) / wall:,.0f} mailboxes/s), {s.requests:,} requests "
                    f"({s.requests / len(mailboxes):.2f} per mailbox, {s.masters_fetched:,} "
                    f"series masters in $batch), {s.items:,} events ({s.items / wall:,.0f} "
                    f"events/s), {s.rows_written:,} rows written, {len(s.failed)} failed",
                    flush=True,
                )
    finally:
        server.communicate("", timeout=30)


if __name__ == "__main__":
    serve_forever() if "--serve" in sys.argv else main()
