"""CalDAV connector: calendars on a real Radicale (its own process), a first and an unchanged pull.

Radicale (``tests/radicale_server.py``) runs in a child process, as a remote
server would, on the same 2 cores. Its storage folder is filled directly (one
collection per person: a weekly 1:1 series with an EXDATE and a moved
override, and three one-off meetings) — uploading 1,000 calendars over HTTP
would time Radicale's PUT, not the connector. Figures are printed next to
their targets, with the CPU time of this process (and of the connector in it) and of
Radicale's. ``python benchmarks/bench_caldav.py [COUNT]`` (default 1,000).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd
from _fake import ConnectorCPU, Server, verdict

from cadence import sync
from cadence.sources.caldav import CaldavConnector
from cadence.store import Store

AS_OF = pd.Timestamp("2026-06-30", tz="UTC")
TARGETS = {  # what a pull should cost at most
    "first": (2.0, 20.0),  # requests per calendar, seconds per 1,000 calendars
    "unchanged": (1.0, 10.0),
}

SERIES = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
    "DTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20260105T{h:02d}0000\r\n"
    "DTEND;TZID=Europe/Berlin:20260105T{h:02d}3000\r\nRRULE:FREQ=WEEKLY\r\n"
    "EXDATE;TZID=Europe/Berlin:20260302T{h:02d}0000\r\n"
    "ORGANIZER:mailto:{boss}\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:{boss}\r\n"
    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:{me}\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
    "DTSTAMP:20260101T000000Z\r\nRECURRENCE-ID;TZID=Europe/Berlin:20260406T{h:02d}0000\r\n"
    "DTSTART;TZID=Europe/Berlin:20260407T{h:02d}0000\r\n"
    "DTEND;TZID=Europe/Berlin:20260407T{h:02d}3000\r\nORGANIZER:mailto:{boss}\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)
ONE_OFF = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
    "DTSTAMP:20260101T000000Z\r\nDTSTART:{day}T140000Z\r\nDTEND:{day}T150000Z\r\n"
    "ORGANIZER:mailto:{me}\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:{me}\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)


def fill(storage: Path, user: str, count: int) -> list[str]:
    """``count`` calendars written straight into Radicale's storage folder."""
    owners = []
    root = storage / "collection-root" / user
    for i in range(count):
        me = f"p{i:04d}@example.com"
        boss = f"p{i // 8:04d}@example.com"
        folder = root / me
        folder.mkdir(parents=True)
        props = {"tag": "VCALENDAR", "D:displayname": me}
        (folder / ".Radicale.props").write_text(json.dumps(props), encoding="utf-8")
        (folder / "series.ics").write_text(
            SERIES.format(uid=f"s-{i}", h=9 + i % 8, boss=boss, me=me), encoding="utf-8"
        )
        for j, day in enumerate(("20260415", "20260610", "20260720")):
            (folder / f"o{j}.ics").write_text(
                ONE_OFF.format(uid=f"o-{i}-{j}", day=day, me=me), encoding="utf-8"
            )
        owners.append(me)
    return owners


SERVE = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
import niquests
from tests.radicale_server import PASSWORD, USER, RadicaleServer
server = RadicaleServer(Path({folder!r})).start()
# Radicale caches each object it has parsed (and the span its series cover) when the object
# is uploaded; these were written straight into its folder, so read each calendar once, as
# a server that was given them by PUT would already have done (not timed)
with niquests.Session() as http:
    for owner in {owners!r}:
        http.get(f"{{server.url}}{{USER}}/{{owner}}/", auth=(USER, PASSWORD)).raise_for_status()
print(server.url, flush=True)
sys.stdin.read()
server.stop()
"""


def main(count: int) -> None:
    root = str(Path(__file__).resolve().parent.parent)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "radicale"
        folder.mkdir()
        start = time.perf_counter()
        owners = fill(folder / "collections", "cadence", count)
        server = subprocess.Popen(
            [sys.executable, "-c", SERVE.format(root=root, folder=str(folder), owners=owners)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        print(
            f"set-up: {count:,} calendars written and read once by Radicale (its cache, as "
            f"uploads fill it) in {time.perf_counter() - start:.1f} s"
        )
        try:
            from tests.radicale_server import PASSWORD, USER

            with Store(Path(tmp) / "bench.sqlite") as db:
                for key, label in (("first", "first pull"), ("unchanged", "unchanged pull")):
                    connector = CaldavConnector(url, USER, lambda: PASSWORD, workers=4)
                    inside = ConnectorCPU(connector)
                    radicale = Server(url, server.pid)
                    began, cpu, served = time.perf_counter(), time.process_time(), radicale.cpu()
                    s = sync.pull(db, connector, now=AS_OF)
                    wall = time.perf_counter() - began
                    per, secs = TARGETS[key]
                    most = secs * count / 1000
                    print(
                        f"{label}: {count:,} calendars in {wall:.1f} s "
                        f"({count / wall:,.0f} calendars/s; target ≤ {most:g} s: "
                        f"{verdict(wall <= most)}), "
                        f"{s.requests:,} requests ({s.requests / count:.2f} per calendar; "
                        f"target ≤ {per:.0f}: {verdict(s.requests <= per * count)}), "
                        f"{s.items:,} objects, "
                        f"{s.stats.get('occurrences', 0):,} occurrences "
                        f"({s.stats.get('occurrences', 0) / wall:,.0f} events/s), "
                        f"{s.rows_written:,} rows written, {len(s.failed)} failed; CPU "
                        f"{time.process_time() - cpu:.1f} s here ({inside.seconds:.1f} s in the "
                        f"connector), {radicale.cpu() - served:.1f} s in Radicale",
                        flush=True,
                    )
        finally:
            server.communicate("", timeout=60)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000)
