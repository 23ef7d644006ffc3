"""Microsoft Graph constants: endpoints, scopes, ``$select`` lists, page and batch sizes."""

from __future__ import annotations

SOURCE = "graph"
DEFAULT_GRAPH = "https://graph.microsoft.com/v1.0"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
DELEGATED_SCOPES = ["Calendars.ReadBasic"]
PAGE_SIZE = 500
USER_PAGE_SIZE = 999  # the largest page /users allows
BATCH_SIZE = 20  # Graph's JSON batching limit
MAILBOX_CONCURRENCY = 4  # Outlook: concurrent requests per app per mailbox (batch items count)
VIEW_SLICES = 3  # a calendarView longer than a page: the rest of the window, read at once
EVENT_SELECT = (
    "id,iCalUId,type,seriesMasterId,originalStart,originalStartTimeZone,start,end,isAllDay,"
    "isCancelled,showAs,organizer,attendees,responseStatus,createdDateTime,lastModifiedDateTime"
)
MASTER_SELECT = (
    "id,iCalUId,type,recurrence,cancelledOccurrences,start,end,originalStartTimeZone,isAllDay,"
    "organizer,attendees,showAs"
)
# job titles are not read: no report shows them
USER_QUERY = "$select=mail,displayName,department,accountEnabled&$expand=manager($select=mail)"
