"""Microsoft Graph connector: 1,000 mailboxes on the local fake Graph, a first and a second pull.

The real requests/urllib3 stack and msal talk HTTP to ``tests/fake_graph.py``,
run in its own process (as a remote service would be), on the same 2 cores.
Printed: requests per mailbox, events/s, wall and CPU time (here and in the
fake), and the most requests the fake saw in flight for one mailbox (batch
items counted; Outlook's limit is 4) — once with the default page (500), once
with 50-event pages so that calendarView is read in slices at once.
"""

from __future__ import annotations

import json
import tempfile
import time
import urllib.request
from pathlib import Path

from _fake import AS_OF, ConnectorCPU, fake_server, figures, organisation, verdict
from tests.fake_graph import CLIENT_ID, SECRET, TENANT, FakeGraph, Rewrite

from cadence import sync
from cadence.sources.graph import GraphConnector, auth
from cadence.store import Store

LIMIT = 4  # Outlook: concurrent requests per app per mailbox

mailboxes = sorted(organisation().roster["email"])
with fake_server("graph") as server, tempfile.TemporaryDirectory() as tmp:
    fake = FakeGraph(url=server.url)
    token = auth.application_token(
        CLIENT_ID,
        TENANT,
        SECRET,
        graph_url=fake.graph,
        authority_host=fake.authority_host,
        http_client=Rewrite(fake),
    )
    runs = [
        ("first pull", 500, "first.sqlite"),
        ("second pull, nothing changed", 500, "first.sqlite"),
        ("first pull, 50-event pages", 50, "small.sqlite"),
    ]
    for label, page, name in runs:
        with Store(Path(tmp) / name) as db:
            start, cpu, served = time.perf_counter(), time.process_time(), server.cpu()
            connector = GraphConnector(
                lambda: token, mailboxes=mailboxes, graph_url=fake.graph, page_size=page
            )
            inside = ConnectorCPU(connector)
            s = sync.pull(db, connector, now=AS_OF)
            wall = time.perf_counter() - start
            extra = f", {s.stats['masters_fetched']:,} series masters in $batch"
            cpu_line = (
                f"; CPU {time.process_time() - cpu:.1f} s here ({inside.seconds:.1f} s in the "
                f"connector), {server.cpu() - served:.1f} s in the fake"
            )
            figures(label, wall, len(mailboxes), "mailbox", s, extra, cpu_line)
    with urllib.request.urlopen(server.url + "_fake/in_flight") as answer:
        seen = json.load(answer)
    most, overlapped = max(seen["most"].values()), sum(v > 1 for v in seen["most_own"].values())
    print(
        f"requests in flight for one mailbox: at most {most} (target <= {LIMIT}: "
        f"{verdict(most <= LIMIT)}); {overlapped:,} mailboxes had calendarView slices in flight "
        f"at once (most {max(seen['most_own'].values())})",
        flush=True,
    )
