"""Microsoft Graph connector: 1,000 mailboxes on the local fake Graph, a first and a second pull.

The real requests/urllib3 stack and msal talk HTTP to ``tests/fake_graph.py``,
run in its own process (as a remote service would be), on the same 2 cores.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from _fake import AS_OF, fake_server, figures, organisation
from tests.fake_graph import CLIENT_ID, SECRET, TENANT, FakeGraph, Rewrite

from cadence import sync
from cadence.sources.graph import GraphConnector, auth
from cadence.store import Store

mailboxes = sorted(organisation().roster["email"])
with fake_server("graph") as url, tempfile.TemporaryDirectory() as tmp:
    fake = FakeGraph(url=url)
    token = auth.application_token(
        CLIENT_ID,
        TENANT,
        SECRET,
        graph_url=fake.graph,
        authority_host=fake.authority_host,
        http_client=Rewrite(fake),
    )
    with Store(Path(tmp) / "bench.sqlite") as db:
        for label in ("first pull", "second pull, nothing changed"):
            start = time.perf_counter()
            connector = GraphConnector(lambda: token, mailboxes=mailboxes, graph_url=fake.graph)
            s = sync.pull(db, connector, now=AS_OF)
            extra = f", {s.stats['masters_fetched']:,} series masters in $batch"
            figures(label, time.perf_counter() - start, len(mailboxes), "mailbox", s, extra)
