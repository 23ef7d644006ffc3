"""Google Calendar constants: scopes, field masks, page sizes, endpoints."""

from __future__ import annotations

import pandas as pd

SOURCE = "google"
CALENDAR_SCOPES = ["https://www.googleapis.com/auth/calendar.events.readonly"]
DIRECTORY_SCOPE = "https://www.googleapis.com/auth/admin.directory.user.readonly"
DEFAULT_ROOT = "https://www.googleapis.com/"
API_PATHS = {"calendar": "calendar/v3/", "admin": "admin/directory/v1/"}
# the discovery document's batchPath, joined to the configured root (the client library would
# join it to www.googleapis.com whatever api_endpoint says)
BATCH_PATH = "batch/calendar/v3"
MASTER_BATCH = 50  # series masters per batch request (Google allows 1,000, recommends <= 50)
PAGE_SIZE = 2500  # the largest page events.list allows
USER_PAGE_SIZE = 500  # the largest page users.list allows
FAR_FUTURE = pd.Timestamp("2200-01-01", tz="UTC")  # a full sync is bounded below only
EVENT_FIELDS = (
    "nextPageToken,nextSyncToken,timeZone,"
    "items(id,status,start,end,originalStartTime,recurringEventId,iCalUID,"
    "organizer(email),attendees(email,responseStatus,organizer,resource,optional),"
    "eventType,created,updated)"
)
MASTER_FIELDS = (
    "id,iCalUID,recurrence,start,end,organizer(email),"
    "attendees(email,responseStatus,organizer,resource,optional)"
)
USER_FIELDS = (
    "nextPageToken,users(primaryEmail,name(fullName),relations,organizations,orgUnitPath,suspended)"
)
