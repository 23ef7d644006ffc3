"""Google connector: 1,000 calendars on the local fake Calendar server, initial and incremental.

The real google-api-python-client talks HTTP to ``tests/fake_google.py``, run
in its own process (as a remote server would be), on the same 2 cores.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from _fake import AS_OF, fake_server, figures, organisation
from tests.fake_google import user_token_file

from cadence import sync
from cadence.sources.google import GoogleConnector, auth
from cadence.store import Store

calendars = sorted(organisation().roster["email"])
with fake_server("google") as url, tempfile.TemporaryDirectory() as tmp:
    token = user_token_file(Path(tmp) / "token.json", SimpleNamespace(url=url))
    creds = auth.user_credentials(token, token_uri=url + "token")
    with Store(Path(tmp) / "bench.sqlite") as db:
        for label in ("initial (full) pull", "incremental pull, nothing changed"):
            start = time.perf_counter()
            connector = GoogleConnector(lambda: lambda _c: creds, calendars=calendars, root=url)
            s = sync.pull(db, connector, now=AS_OF)
            figures(label, time.perf_counter() - start, len(calendars), "calendar", s)
