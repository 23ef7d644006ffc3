"""Analysis: from normalized calendar rows to the truth about each pair's 1:1s.

:func:`analyze` is the entry point; it returns an :class:`Analysis` whose
attributes are DataFrames. This is the walking skeleton's first cut: 1:1
detection, merged occurrences with their outcome, and per-pair counts. Cadence
targets, gaps, drift and health come with the full engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import pandas as pd

from cadence.analysis.outcomes import OUTCOMES, classify
from cadence.analysis.pairs import one_on_ones
from cadence.errors import CadenceError
from cadence.model import validate_attendees, validate_events

__all__ = ["Analysis", "analyze", "parse_window"]


class HasFrames(Protocol):
    events: pd.DataFrame
    attendees: pd.DataFrame


@dataclass
class Analysis:
    """The result of :func:`analyze`: every attribute is a DataFrame (plus the parameters)."""

    occurrences: pd.DataFrame
    pairs: pd.DataFrame
    as_of: pd.Timestamp
    window: tuple[pd.Timestamp, pd.Timestamp]
    roster: pd.DataFrame | None = None
    settings: dict[str, Any] = field(default_factory=dict)


def parse_window(window: str | pd.Timedelta) -> pd.Timedelta:
    """``"13w"``, ``"90d"`` or a Timedelta → a positive Timedelta.

    >>> parse_window("13w")
    Timedelta('91 days 00:00:00')
    """
    if isinstance(window, pd.Timedelta):
        delta = window
    else:
        text = str(window).strip().lower()
        units: dict[str, Literal["W", "D"]] = {"w": "W", "d": "D"}
        if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
            raise CadenceError(
                f"window must look like '13w' (weeks) or '90d' (days), got {window!r}"
            )
        delta = pd.Timedelta(int(text[:-1]), unit=units[text[-1]])
    if delta <= pd.Timedelta(0):
        raise CadenceError(f"window must be positive, got {window!r}")
    return delta


def analyze(
    data: HasFrames | tuple[pd.DataFrame, pd.DataFrame],
    roster: pd.DataFrame | None = None,
    *,
    as_of: pd.Timestamp | str | None = None,
    window: str | pd.Timedelta = "13w",
    include_peers: bool = False,
) -> Analysis:
    """Find the 1:1s in ``data`` and classify every occurrence in the window.

    ``data`` is ``(events, attendees)`` or anything with ``.events`` and
    ``.attendees`` (a demo organisation, loaded frames). Occurrences are kept
    from ``as_of - window`` on, including those still scheduled after ``as_of``.

    Examples
    --------
    >>> from cadence.sources.demo import generate
    >>> org = generate(30, seed=3, as_of="2026-06-30")
    >>> result = analyze(org, org.roster, as_of="2026-06-30")
    >>> sorted(result.occurrences["outcome"].unique().tolist())
    ['cancelled', 'declined', 'held', 'scheduled']
    """
    events, attendees = data if isinstance(data, tuple) else (data.events, data.attendees)
    events = validate_events(events)
    attendees = validate_attendees(attendees)
    as_of_ts = _as_of(as_of)
    lo = as_of_ts - parse_window(window)
    copies = one_on_ones(events, attendees, roster, include_peers=include_peers)
    occ = classify(copies, attendees, as_of_ts)
    occ = occ[occ["start"] >= lo].reset_index(drop=True)
    return Analysis(
        occurrences=occ,
        pairs=pair_counts(occ),
        as_of=as_of_ts,
        window=(lo, as_of_ts),
        roster=roster,
        settings={"window": str(window), "include_peers": include_peers},
    )


def pair_counts(occurrences: pd.DataFrame) -> pd.DataFrame:
    """Per pair: how many occurrences were held, cancelled, declined, scheduled, moved."""
    by = [c for c in ("manager", "report") if c in occurrences.columns] or ["person_a", "person_b"]
    flags = pd.DataFrame({o: occurrences["outcome"] == o for o in OUTCOMES})
    flags["moved"] = occurrences["moved"]
    flags["total"] = True
    flags["past"] = occurrences["outcome"] != "scheduled"
    for c in by:
        flags[c] = occurrences[c]
    out = flags.groupby(by, observed=True, sort=False).sum().astype("int64")
    last_held = (
        occurrences[occurrences["outcome"] == "held"].groupby(by, observed=True)["start"].max()
    )
    out = out.join(last_held.rename("last_held"))
    out["held_share"] = (out["held"] / out["past"].where(out["past"] > 0)).astype("Float64")
    out = out.reset_index()
    return out.sort_values(["held_share", *by], na_position="first", ignore_index=True)


def _as_of(value: pd.Timestamp | str | None) -> pd.Timestamp:
    if value is None:
        return pd.Timestamp.now(tz="UTC")
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
