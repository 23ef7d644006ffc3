"""The demo organisation as a source: synthetic calendars with known truth, no credentials.

:func:`generate` (in :mod:`.generator`) builds the organisation; the
:class:`DemoConnector` serves its calendars to the sync engine as a provider
would show them at the moment of the pull, one target per person, so the demo
travels the same path as every real source.
"""

from __future__ import annotations

import pandas as pd

from cadence.model import CalendarPull, Frames
from cadence.sources.connector import PullContext
from cadence.sources.demo.generator import SOURCE, DemoOrg, generate

__all__ = ["DemoConnector", "DemoOrg", "generate"]


class DemoConnector:
    """Every calendar of a generated organisation, as seen at each pull's ``now`` (or at
    ``at``, when given)."""

    source = SOURCE
    section = "demo"
    unit = "calendars"
    workers = 1

    def __init__(self, org: DemoOrg, *, at: pd.Timestamp | None = None) -> None:
        self.org = org
        self.at = at
        self._seen: tuple[pd.Timestamp, dict[str, Frames]] | None = None

    def _calendar(self, at: pd.Timestamp, calendar: str) -> Frames:
        """One calendar's rows of the snapshot at ``at`` (computed once per ``at``)."""
        if self._seen is None or self._seen[0] != at:
            events, attendees = self.org.snapshot(at)
            people = dict(tuple(attendees.groupby("calendar", sort=False)))
            split = {
                str(c): Frames(part, people.get(c, attendees.iloc[:0]))
                for c, part in events.groupby("calendar", sort=False)
            }
            split[""] = Frames(events.iloc[:0], attendees.iloc[:0])
            self._seen = (at, split)
        split = self._seen[1]
        return split.get(calendar, split[""])  # nothing in the window: empty frames

    def open(self) -> None:
        pass

    def targets(self, roster: pd.DataFrame | None) -> list[str]:
        return sorted(self.org.calendars)

    def pull_one(self, context: PullContext) -> CalendarPull:
        at = self.at if self.at is not None else context.now
        frames = self._calendar(at, context.calendar)
        return CalendarPull(
            context.calendar,
            frames.events,
            frames.attendees,
            window=self.org.pull_window(at),
            items=len(frames.events),
        )

    def directory_roster(self) -> pd.DataFrame | None:
        """The organisation's own roster: its reports are real leader / report pairs."""
        return self.org.roster

    def check(self, *, offline: bool) -> str:
        return f"{len(self.org.calendars)} synthetic calendars"

    def close(self) -> None:
        self._seen = None
