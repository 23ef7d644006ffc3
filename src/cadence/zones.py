"""Time zone names as calendars write them (IANA, Windows, quoted) → IANA names.

Exchange and Outlook (Graph ``timeZone`` fields, ``.ics`` TZIDs) use Windows
names such as ``"Pacific Standard Time"``; icalendar ships the CLDR mapping.
"""

from __future__ import annotations

import zoneinfo

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

_IANA = zoneinfo.available_timezones()


def iana_zone(tzid: str | None) -> str | None:
    """An IANA name for a TZID as exports write them (IANA, Windows, quoted), or None.

    >>> iana_zone('"Pacific Standard Time"'), iana_zone("Europe/Berlin"), iana_zone("Mars")
    ('America/Los_Angeles', 'Europe/Berlin', None)
    """
    if not tzid:
        return None
    name = tzid.strip().strip('"').strip()
    if name in _IANA:
        return name
    if name in WINDOWS_TO_OLSON:
        return str(WINDOWS_TO_OLSON[name])
    if name.upper() in ("UTC", "GMT", "Z"):
        return "UTC"
    return None
