""".ics constants: what a file must contain, how far the default window reaches."""

from __future__ import annotations

SOURCE = "ics"
DEFAULT_WEEKS_BACK = 26
DEFAULT_WEEKS_AHEAD = 8
HEADER_BYTES = 65_536  # where a file's X-WR-CALNAME is looked for
