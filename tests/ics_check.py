"""Check Cadence's .ics reading against a plain recurring-ical-events expansion.

For one file and window: per UID, the occurrences (start, end in UTC, STATUS) that
``recurring_ical_events.of(calendar).between(...)`` gives, plus the slots each EXDATE
removes (the same expansion without EXDATEs, less the one with them), which must be
Cadence's cancelled occurrences. A UID named in Cadence's ``problems`` is "explained"
when it differs (Cadence listed what it did not take at face value); any other
difference is a disagreement.

    python tests/ics_check.py FILE_OR_FOLDER ...   # prints one line per file and the figures
"""

from __future__ import annotations

import sys
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import icalendar
import pandas as pd
import recurring_ical_events

from cadence.errors import IcsError
from cadence.sources.ics import load_ics
from cadence.sources.ics.client import earliest_start
from cadence.sources.ics.settings import SUB_DAILY
from cadence.zones import iana_zone

Key = tuple[pd.Timestamp, pd.Timestamp, str]

# Files whose difference from the reference is understood and is not Cadence's bug, keyed by
# "folder/file.ics", each with the reason. Such a file is "allowed", not "disagrees"; an entry
# whose file no longer differs is stale (tests/test_ics_check.py fails on it).
ALLOWED: dict[str, str] = {
    "recurring-ical-events/end_before_start_event.ics": (
        "DTEND before DTSTART (invalid, RFC 5545 3.6.1): recurring-ical-events swaps start and"
        " end, Cadence keeps DTSTART and clamps the end to it (zero length), without a problem"
    ),
    "recurring-ical-events/issue_132_swapped_start_and_end.ics": (
        "DTEND before DTSTART (invalid, RFC 5545 3.6.1): recurring-ical-events swaps start and"
        " end, Cadence keeps DTSTART and clamps the end to it (zero length), without a problem"
    ),
    "recurring-ical-events/issue_148_edge_case_1.ics": (
        "checker artefact: the newest master (SEQUENCE:3) EXDATEs the slot an older override"
        " moved; Cadence cancels the rule's slot (2024-07-15), the reference's EXDATE-less"
        " expansion keeps the override and so names its moved time (2024-07-02)"
    ),
}


@dataclass
class FileCheck:
    path: Path
    outcome: str  # "clean", "clean error", "crash", "disagrees", "allowed" (see ALLOWED)
    seconds: float
    occurrences: int = 0
    disagreements: dict[str, str] = field(default_factory=dict)
    explained: list[str] = field(default_factory=list)
    detail: str = ""


def _utc(value: object, zone: str) -> pd.Timestamp:
    ts = pd.Timestamp(value)  # type: ignore[arg-type]
    if ts.tzinfo is None:
        if not hasattr(value, "hour"):
            return ts.tz_localize("UTC")  # dates: midnight UTC, as Cadence stores them
        return ts.tz_localize(zone, nonexistent="shift_forward", ambiguous=False).tz_convert("UTC")
    return ts.tz_convert("UTC")


def _expand(
    cal: icalendar.Calendar, lo: pd.Timestamp, hi: pd.Timestamp, zone: str
) -> dict[str, set[Key]]:
    out: dict[str, set[Key]] = defaultdict(set)
    for comp in recurring_ical_events.of(cal, skip_bad_series=True).between(
        lo.to_pydatetime(), hi.to_pydatetime()
    ):
        start = _utc(comp["DTSTART"].dt, zone)
        end = _utc(comp["DTEND"].dt, zone) if "DTEND" in comp else start
        if not ((lo <= end and start < hi) or start == end == lo):
            continue
        status = str(comp.get("STATUS", "CONFIRMED")).lower()
        status = status if status in ("tentative", "cancelled") else "confirmed"
        out[str(comp.get("UID"))].add((start, max(end, start), status))
    return out


def reference(raw: bytes, lo: pd.Timestamp, hi: pd.Timestamp, zone: str) -> dict[str, set[Key]]:
    """The independent expansion: every occurrence, and each EXDATE'd slot as cancelled."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Cadence lists icalendar's guesses; here they are noise
        calendars = icalendar.Calendar.from_ical(raw, multiple=True)
    for cal in calendars:  # no reference either for rules Cadence refuses (sub-daily)
        for comp in list(cal.subcomponents):
            rules = comp.get("RRULE")
            for rule in rules if isinstance(rules, list) else [rules] if rules else []:
                if {str(f).upper() for f in rule.get("FREQ", [])} & SUB_DAILY:
                    cal.subcomponents.remove(comp)
                    break
    expected: dict[str, set[Key]] = defaultdict(set)
    for cal in calendars:
        wr = iana_zone(str(cal.get("X-WR-TIMEZONE", ""))) or zone
        plain = _expand(cal, lo, hi, wr)
        bare = icalendar.Calendar.from_ical(cal.to_ical())
        for comp in bare.walk("VEVENT"):
            comp.pop("EXDATE", None)
        unexcluded = _expand(bare, lo, hi, wr)
        for uid, keys in plain.items():
            expected[uid] |= keys
        for uid, keys in unexcluded.items():
            plain_starts = {k[0] for k in plain.get(uid, set())}
            expected[uid] |= {(s, e, "cancelled") for s, e, _ in keys if s not in plain_starts}
    return expected


def check_file(path: Path, zone: str = "UTC") -> FileCheck:
    started = time.perf_counter()
    first = earliest_start([path]) or pd.Timestamp("2020-01-01", tz="UTC")
    lo = max(first - pd.Timedelta(days=1), pd.Timestamp("1970-01-01", tz="UTC"))
    hi = lo + pd.DateOffset(years=3)
    try:
        ours = load_ics(
            path,
            calendar="check@example.com",
            start=lo,
            end=hi,
            strict=False,
            default_timezone=zone,
        )
    except IcsError as exc:
        return FileCheck(path, "clean error", time.perf_counter() - started, detail=str(exc))
    except Exception as exc:  # what the checker exists to find
        return FileCheck(
            path, "crash", time.perf_counter() - started, detail=f"{type(exc).__name__}: {exc}"
        )
    seconds = time.perf_counter() - started
    try:
        expected = reference(path.read_bytes(), lo, hi, zone)
    except Exception as exc:  # the reference cannot read it: nothing to compare
        return FileCheck(
            path, "clean", seconds, len(ours.events), detail=f"reference failed: {exc}"
        )
    got: dict[str, set[Key]] = defaultdict(set)
    for row in ours.events.itertuples():
        got[str(row.ical_uid)].add((row.start, row.end, str(row.status)))
    listed = {p.uid for p in ours.problems} | (
        {None} if any(p.uid is None for p in ours.problems) else set()
    )
    result = FileCheck(path, "clean", seconds, len(ours.events))
    for uid in sorted(set(got) | set(expected)):
        if got.get(uid, set()) == expected.get(uid, set()):
            continue
        if uid in listed or None in listed:
            result.explained.append(uid)
            continue
        only_ours = sorted(got.get(uid, set()) - expected.get(uid, set()))[:2]
        only_ref = sorted(expected.get(uid, set()) - got.get(uid, set()))[:2]
        result.disagreements[uid] = f"only Cadence {only_ours}, only reference {only_ref}"
    if result.disagreements:
        reason = ALLOWED.get(f"{path.parent.name}/{path.name}")
        result.outcome = "allowed" if reason else "disagrees"
        result.detail = reason or ""
    return result


def check_all(paths: list[Path]) -> list[FileCheck]:
    files: list[Path] = []
    for p in paths:
        files.extend(sorted(p.rglob("*.ics")) if p.is_dir() else [p])
    return [check_file(f) for f in files]


def figures(results: list[FileCheck]) -> dict[str, object]:
    slowest = max(results, key=lambda r: r.seconds)
    return {
        "files": len(results),
        "clean": sum(r.outcome == "clean" for r in results),
        "clean errors": sum(r.outcome == "clean error" for r in results),
        "crashes": sum(r.outcome == "crash" for r in results),
        "disagreements": sum(r.outcome == "disagrees" for r in results),
        "allowed (ALLOWED)": sum(r.outcome == "allowed" for r in results),
        "explained differences": sum(len(r.explained) for r in results),
        "slowest file": f"{slowest.path.name} {slowest.seconds:.2f} s",
    }


if __name__ == "__main__":
    done = check_all([Path(a) for a in sys.argv[1:]])
    for r in done:
        extra = "; ".join(f"{u}: {m}" for u, m in r.disagreements.items()) or r.detail
        print(f"{r.outcome:12} {r.seconds:6.2f}s {r.path}  {extra[:300]}")
    for name, value in figures(done).items():
        print(f"{name}: {value}")
