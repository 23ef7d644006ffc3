"""Google connector: 1,000 calendars on the local fake Calendar server, initial and incremental.

The real google-api-python-client talks HTTP to ``tests/fake_google.py``, run
in its own process (as a remote server would be), on the same 2 cores.
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

from tests.fake_google import FakeGoogle, serve, user_token_file  # noqa: E402

from cadence.sources import demo, google  # noqa: E402
from cadence.store import Store  # noqa: E402

AS_OF = pd.Timestamp("2026-06-30", tz="UTC")
PEOPLE = 1_000


def serve_forever() -> None:
    """Child process: load the demo organisation into the fake and serve until stdin closes."""
    last = demo.generate(PEOPLE, seed=7, as_of=AS_OF, weeks=26).pulls()[-1]
    with serve(FakeGoogle()) as fake:
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
    calendars = sorted(demo.generate(PEOPLE, seed=7, as_of=AS_OF, weeks=26).roster["email"])

    class Url:  # what user_token_file needs of the fake
        pass

    fake = Url()
    fake.url = url  # type: ignore[attr-defined]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            token = user_token_file(Path(tmp) / "token.json", fake)  # type: ignore[arg-type]
            creds = google.user_credentials(token, token_uri=url + "token")
            with Store(Path(tmp) / "bench.sqlite") as db:
                for label in ("initial (full) pull", "incremental pull, nothing changed"):
                    start = time.perf_counter()
                    s = google.pull_all(db, calendars, lambda _c: creds, root=url, now=AS_OF)
                    wall = time.perf_counter() - start
                    print(
                        f"{label}: {len(calendars):,} calendars in {wall:.1f} s "
                        f"({len(calendars) / wall:,.0f} calendars/s), {s.requests:,} requests "
                        f"({s.requests / len(calendars):.2f} per calendar), {s.items:,} events "
                        f"({s.items / wall:,.0f} events/s), {s.rows_written:,} rows written, "
                        f"{len(s.failed)} failed",
                        flush=True,
                    )
    finally:
        server.communicate("", timeout=30)


if __name__ == "__main__":
    serve_forever() if "--serve" in sys.argv else main()
