"""Google connector: 1,000 calendars on the local fake Calendar server, initial and incremental.

The real google-api-python-client talks HTTP to ``tests/fake_google.py``, run
in its own process (as a remote server would be), on the same 2 cores. Series
masters come in batch requests: the initial pull's target is <= 2 HTTP requests
per calendar (one list page and one batch; 4.25 before batching). CPU time is
printed for this process (connector + store) and the fake's, as wall time on a
shared machine is inflated.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from _fake import AS_OF, ConnectorCPU, fake_server, figures, organisation, verdict
from tests.fake_google import user_token_file

from cadence import sync
from cadence.sources.google import GoogleConnector, auth
from cadence.store import Store

TARGET = 2.0  # HTTP requests per calendar, initial pull

calendars = sorted(organisation().roster["email"])
with fake_server("google") as server, tempfile.TemporaryDirectory() as tmp:
    url = server.url
    token = user_token_file(Path(tmp) / "token.json", SimpleNamespace(url=url))
    creds = auth.user_credentials(token, token_uri=url + "token")
    with Store(Path(tmp) / "bench.sqlite") as db:
        for label in ("initial (full) pull", "incremental pull, nothing changed"):
            start, cpu, served = time.perf_counter(), time.process_time(), server.cpu()
            connector = GoogleConnector(lambda: lambda _c: creds, calendars=calendars, root=url)
            inside = ConnectorCPU(connector)
            s = sync.pull(db, connector, now=AS_OF)
            wall = time.perf_counter() - start
            calls = s.requests - s.stats.get("batches", 0) + s.stats.get("masters_fetched", 0)
            extra = f", {s.stats.get('masters_fetched', 0):,} series masters in batches"
            if label.startswith("initial"):
                ok = s.requests / len(calendars) <= TARGET
                extra += f"; target <= {TARGET:.0f}: {verdict(ok)}"
            cpu_line = (
                f"; CPU {time.process_time() - cpu:.1f} s here ({inside.seconds:.1f} s in the "
                f"connector), {server.cpu() - served:.1f} s in the fake; "
                f"{calls / len(calendars):.2f} quota calls per calendar"
            )
            figures(label, wall, len(calendars), "calendar", s, extra, cpu_line)
