""".ics constants: what a file must contain, how far the default window reaches, the bounds."""

from __future__ import annotations

SOURCE = "ics"
DEFAULT_WEEKS_BACK = 26
DEFAULT_WEEKS_AHEAD = 8
HEADER_BYTES = 65_536  # where a file's X-WR-CALNAME is looked for
MAX_FILE_MB = 200  # [ics] max_file_mb: a bigger file is refused, never read into memory
MAX_OCCURRENCES_PER_SERIES = 3_000  # [ics] max_occurrences_per_series, per import window
# No 1:1 repeats more often than daily: these rules are refused, not expanded.
SUB_DAILY = frozenset({"SECONDLY", "MINUTELY", "HOURLY"})
# The properties that say when a meeting is: broken ones make the event wrong. Any other
# broken property (CREATED, DTSTAMP, LAST-MODIFIED, X-…) is dropped and listed, never fatal.
TIME_PROPERTIES = frozenset(
    {"UID", "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"}
)
