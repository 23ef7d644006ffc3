"""Builders for small hand-made frames (fixed dates, never "today")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from cadence.model import ATTENDEES, EVENTS, validate_attendees, validate_events


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def event(**over: object) -> dict[str, object]:
    """One events-frame row with sensible defaults; override any column."""
    row: dict[str, object] = {
        "source": "demo",
        "calendar": "ann@example.com",
        "event_id": "e1",
        "series_id": None,
        "ical_uid": "uid-1",
        "original_start": ts("2026-06-01 09:00"),
        "start": ts("2026-06-01 09:00"),
        "end": ts("2026-06-01 09:30"),
        "timezone": "Europe/Berlin",
        "all_day": False,
        "status": "confirmed",
        "organizer": "ann@example.com",
        "recurrence": None,
        "event_type": "default",
        "created": ts("2026-01-01"),
        "updated": ts("2026-01-01"),
    }
    row.update(over)
    return row


def attendee(**over: object) -> dict[str, object]:
    row: dict[str, object] = {
        "source": "demo",
        "calendar": "ann@example.com",
        "event_id": "e1",
        "email": "ann@example.com",
        "role": "organizer",
        "response": "accepted",
        "is_resource": False,
    }
    row.update(over)
    return row


def frames(
    events: list[dict[str, object]], attendees: list[dict[str, object]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        validate_events(pd.DataFrame(events, columns=EVENTS.names)),
        validate_attendees(pd.DataFrame(attendees, columns=ATTENDEES.names)),
    )


def with_evidence(
    frames_: tuple[pd.DataFrame, pd.DataFrame],
    evidence: dict[tuple[str, str], tuple[str | None, str | None]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``frames_`` with the optional ``cancelled_after`` / ``cancelled_before`` columns.

    ``evidence`` maps (calendar, event_id) to the (after, before) bounds of that copy's
    cancellation (None: that bound unknown); every other row has NaT, as a source that
    knows nothing would give.
    """
    events, attendees = frames_
    events = events.copy()
    for i, col in enumerate(("cancelled_after", "cancelled_before")):
        values = [
            evidence.get((cal, eid), (None, None))[i]
            for cal, eid in zip(events["calendar"], events["event_id"], strict=True)
        ]
        events[col] = pd.to_datetime(pd.Series(values, dtype=object), utc=True).astype(
            "datetime64[us, UTC]"
        )
    return events, attendees


def one_on_one_copies(
    a: str = "ann@example.com",
    b: str = "bob@example.com",
    *,
    event_id: str = "e1",
    uid: str = "uid-1",
    start: str = "2026-06-01 09:00",
    original: str | None = None,
    a_status: str = "confirmed",
    b_status: str = "confirmed",
    a_sees_b: str = "accepted",
    b_sees_b: str = "accepted",
    minutes: int = 30,
    series: str | None = None,
    rrule: str | None = None,
    updated: str | pd.Timestamp = "2026-01-01",
    tz: str = "Europe/Berlin",
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Both calendar copies of one 1:1 organized by ``a`` with ``b``.

    ``start``/``original`` are UTC unless they carry an offset; ``series`` and
    ``rrule`` make it an occurrence of a recurring series.
    """
    s = pd.Timestamp(start)
    s = s.tz_localize("UTC") if s.tzinfo is None else s.tz_convert("UTC")
    o = pd.Timestamp(original) if original else s
    o = o.tz_localize("UTC") if o.tzinfo is None else o.tz_convert("UTC")
    evs, ats = [], []
    for cal, status, b_resp in ((a, a_status, a_sees_b), (b, b_status, b_sees_b)):
        evs.append(
            event(
                calendar=cal,
                event_id=event_id,
                ical_uid=uid,
                original_start=o,
                start=s,
                end=s + pd.Timedelta(minutes=minutes),
                organizer=a,
                status=status,
                series_id=series,
                recurrence=rrule,
                updated=pd.Timestamp(updated).tz_localize("UTC")
                if pd.Timestamp(updated).tzinfo is None
                else pd.Timestamp(updated),
                timezone=tz,
            )
        )
        ats.append(attendee(calendar=cal, event_id=event_id, email=a, role="organizer"))
        ats.append(
            attendee(calendar=cal, event_id=event_id, email=b, role="required", response=b_resp)
        )
    return evs, ats


def weekly_series(
    a: str,
    b: str,
    first: str,
    count: int,
    *,
    every_days: int = 7,
    uid: str = "weekly",
    rrule: str = "FREQ=WEEKLY;BYDAY=MO",
    tz: str = "UTC",
    local_time: str | None = None,
    skip: tuple[int, ...] = (),
    **override: object,
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """``count`` occurrences of a recurring 1:1, ``every_days`` apart, both copies each.

    With ``local_time`` (e.g. "10:00") the slots keep that wall-clock time in ``tz``
    across DST changes. Slots listed in ``skip`` are left out entirely.
    """
    evs: list[dict[str, object]] = []
    ats: list[dict[str, object]] = []
    day0 = pd.Timestamp(first)
    for k in range(count):
        if k in skip:
            continue
        if local_time:
            when = (
                pd.Timestamp(f"{(day0 + pd.Timedelta(days=k * every_days)).date()} {local_time}")
                .tz_localize(tz)
                .tz_convert("UTC")
            )
        else:
            when = (day0 + pd.Timedelta(days=k * every_days)).tz_localize("UTC")
        e, a_ = one_on_one_copies(
            a,
            b,
            event_id=f"{uid}_{k}",
            uid=f"{uid}@x",
            start=str(when),
            series=uid,
            rrule=rrule,
            tz=tz,
            **override,
        )
        evs += e
        ats += a_
    return evs, ats


def kill_mid_pull_then_resume(fake: Any, config: Path, calendars: list[str], folder: Path) -> None:
    """Run `cadence pull` whole; run it again killed (SIGKILL) while the fifth calendar is
    on the wire, re-run it, and assert the store equals the uninterrupted one.

    ``fake`` is a fake provider server with ``hang`` (calendar → seconds to stall) and
    ``requests_to(calendar)``; the config must use one worker so calendars go in order.
    """
    import os
    import signal
    import subprocess
    import sys
    import time

    from cadence.store import Store

    env = {**os.environ, "CADENCE_CONFIG": str(config)}
    cmd = [sys.executable, "-m", "cadence", "--quiet", "pull", "--store"]
    subprocess.run([*cmd, str(folder / "whole.sqlite")], env=env, check=True, timeout=120)
    fake.hang[calendars[4]] = 60.0
    crashed = folder / "crashed.sqlite"
    seen = fake.requests_to(calendars[4])
    proc = subprocess.Popen([*cmd, str(crashed)], env=env)
    deadline = time.monotonic() + 60
    while fake.requests_to(calendars[4]) == seen and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)  # finished calendars are written at least every second
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    fake.hang.clear()
    with Store(crashed) as db:
        landed = set(db.events()["calendar"])
    assert 0 < len(landed) < len(calendars)  # it really stopped half-way
    subprocess.run([*cmd, str(crashed)], env=env, check=True, timeout=120)
    with Store(folder / "whole.sqlite") as a, Store(crashed) as b:
        pd.testing.assert_frame_equal(a.events(), b.events())
        pd.testing.assert_frame_equal(a.attendees(), b.attendees())
        assert a.sync_states()["calendar"].tolist() == b.sync_states()["calendar"].tolist()


def mail_section(port: int) -> str:
    return (
        '[delivery.email]\nenabled = true\nhost = "127.0.0.1"\n'
        f'port = {port}\nstarttls = false\nusername = "cadence"\n'
        'sender = "cadence@example.com"\nrecipients = ["hr@example.com", "ada@example.com"]\n'
    )


def job_config(tmp_path: Path, *sections: str) -> Path:
    """A config for the weekly job: the demo source (24 people), reports in ``tmp_path``, the
    HR review on; ``sections`` are appended as written."""
    path = tmp_path / "config.toml"
    base = [
        "[demo]\nenabled = true\npeople = 24\nseed = 5\n",
        f'[report]\nout_dir = "{tmp_path / "reports"}"\norg = true\n',
    ]
    path.write_text("\n".join(base + list(sections)), encoding="utf-8")
    return path
