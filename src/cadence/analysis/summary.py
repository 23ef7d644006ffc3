"""The figures a report leads with, computed once: one function, one rounding.

:func:`summary` adds up ``analysis.pairs`` (so every figure is the sum of the
pairs export) and :class:`Summary` says it: the report's cards, the CLI's
summary lines, the email body and the stored snapshot all read from it, never
from their own count of the occurrences. Past means *started before as_of*: a
future slot cancelled ahead of time is not a past cancellation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from cadence.analysis import display
from cadence.analysis.engine import Analysis

STATUSES = ("lapsed", "at_risk", "watch", "healthy")


@dataclass(frozen=True)
class Summary:
    """The summary figures of one analysis (or one leader's part of it).

    Counts are of past 1:1 slots in the window (``past`` = ``held`` +
    ``cancelled`` + ``declined`` + ``excused``); ``moved`` counts past slots that moved;
    ``late_cancelled`` the cancellations known to be late and ``late_unknown``
    those whose timing the sources (``late_unknown_sources``, codes) cannot
    show. ``expected`` is the sum of the pairs' (one-decimal) expectations.
    ``gap_ratio`` is the median over pairs of each pair's median gap ÷ its target.
    """

    pairs: int
    people: int
    past: int
    held: int
    cancelled: int
    declined: int
    moved: int
    late_cancelled: int
    late_unknown: int
    late_unknown_sources: str | None
    upcoming: int
    expected: float
    gap_ratio: float | None
    median_gap_days: float | None
    median_target_days: float | None
    lapsed: int
    at_risk: int
    watch: int
    healthy: int
    # slots cancelled or declined while someone was away (in ``past``, not in ``expected``),
    # and pairs one of whose people is on leave (not among the four statuses above)
    excused: int = 0
    on_leave: int = 0

    @property
    def held_share(self) -> float | None:
        """Held ÷ expected."""
        return self.held / self.expected if self.expected else None

    def rate(self, count: int) -> float | None:
        """``count`` as a share of past slots."""
        return count / self.past if self.past else None

    @property
    def late_cancel_rate(self) -> float | None:
        """Known late cancellations ÷ past slots; ``None`` when none is known and some are
        unknown (a lower bound while ``late_unknown`` > 0)."""
        if self.late_unknown and not self.late_cancelled:
            return None
        return self.rate(self.late_cancelled)

    def held_text(self) -> str:
        """``"430 of 450.5"``."""
        return f"{self.held} of {display.count_text(self.expected)}"

    def late_text(self) -> str:
        """Late cancellations in words: ``"3 % late"``, or what is not known, and from where."""
        return str(
            display.late_shares(
                pd.Series([self.late_cancelled]),
                pd.Series([self.late_unknown]),
                pd.Series([self.cancelled]),
                pd.Series([self.past]),
                pd.Series([self.late_unknown_sources], dtype=object),
            ).iloc[0]
        )

    def lines(self) -> list[str]:
        """What a terminal or an email says about this analysis, line by line.

        >>> s = summary(result)
        >>> s.lines()[0].startswith(f"1:1s held: {s.held} of ")
        True
        """
        statuses = " · ".join(
            f"{getattr(self, s)} {'to watch' if s == 'watch' else s.replace('_', ' ')}"
            for s in STATUSES
        ) + (f" · {self.on_leave} on leave" if self.on_leave else "")
        return [
            f"1:1s held: {self.held_text()} expected ({display.pct_text(self.held_share)})",
            f"past 1:1 slots: {self.past} · held {self.held} · cancelled {self.cancelled} "
            f"({self.late_text()}) · declined {self.declined} · moved {self.moved}"
            + (f" · excused {self.excused}" if self.excused else ""),
            f"{self.pairs} pairs: {statuses}",
        ]

    def cards(self) -> dict[str, Any]:
        """Plain JSON-ready numbers (what a snapshot stores; the report's cards read them)."""
        return {
            **asdict(self),
            "held_share": self.held_share,
            "cancellation_rate": self.rate(self.cancelled),
            "late_cancel_rate": self.late_cancel_rate,
            "decline_rate": self.rate(self.declined),
            "moved_rate": self.rate(self.moved),
        }


def summary(analysis: Analysis) -> Summary:
    """Add up the pairs of ``analysis`` into its :class:`Summary`.

    Examples
    --------
    >>> import cadence
    >>> org = cadence.load_demo(30, seed=3, as_of="2026-06-30")
    >>> s = cadence.summary(cadence.analyze(org, org.roster, as_of="2026-06-30"))
    >>> s.past == s.held + s.cancelled + s.declined + s.excused
    True
    >>> s.lapsed + s.at_risk + s.watch + s.healthy + s.on_leave == s.pairs
    True
    """
    p = analysis.pairs

    def total(col: str) -> int:
        return int(p[col].sum())

    ratio = (p["median_gap_days"] / p["target_days"]).dropna()
    status = p["status"].astype(str).value_counts()
    sources = display.source_codes(
        p["late_unknown_sources"], pd.Series(0, index=p.index), pd.Index([0])
    ).iloc[0]
    return Summary(
        pairs=len(p),
        people=int(pd.concat([p["person_a"], p["person_b"]]).nunique()),
        past=total("past"),
        held=total("held"),
        cancelled=total("cancelled"),
        declined=total("declined"),
        moved=total("moved"),
        late_cancelled=total("late_cancelled"),
        late_unknown=total("late_unknown"),
        late_unknown_sources=None if pd.isna(sources) else str(sources),
        upcoming=total("upcoming"),
        expected=round(float(p["expected"].sum()), 1),
        gap_ratio=float(ratio.median()) if len(ratio) else None,
        median_gap_days=_median(p["median_gap_days"]),
        median_target_days=_median(p["target_days"]),
        **{s: int(status.get(s, 0)) for s in STATUSES},
        excused=total("excused") if "excused" in p.columns else 0,
        on_leave=int(status.get("on_leave", 0)),
    )


def cards(analysis: Analysis) -> dict[str, Any]:
    """:meth:`Summary.cards` of :func:`summary` (what the report's cards and snapshots use).

    >>> import cadence
    >>> c = cadence.report.cards(result)
    >>> 0 < c["held"] <= c["past"] and 0 <= c["cancellation_rate"] <= 1
    True
    """
    return summary(analysis).cards()


def _median(values: pd.Series) -> float | None:
    values = values.dropna()
    return float(values.median()) if len(values) else None
