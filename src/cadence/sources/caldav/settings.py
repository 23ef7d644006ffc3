"""CalDAV constants: the properties asked for, retried statuses, the default window."""

from __future__ import annotations

SOURCE = "caldav"
DEFAULT_WEEKS_BACK = 26
DEFAULT_WEEKS_AHEAD = 8
RETRY_STATUSES = (500, 502, 503, 504)  # 429 too: the caldav library raises it as a rate limit
CTAG = "{http://calendarserver.org/ns/}getctag"  # Apple's collection tag, where no sync token
CURSOR_VERSION = 1
