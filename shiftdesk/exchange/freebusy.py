"""Read a user's busy times through EWS: FindItem with a CalendarView on their Calendar to Check Free/Busy
Status (the chosen folder, not the mailbox default), as microsoft.freebusy does through Graph's calendarView.

Returns microsoft.freebusy.BusyEvent so the availability code can treat both providers alike: timed events as
UTC instants; all-day events as midnights in UTC standing for local dates (read in the item's own zone).
Only what free/busy needs is asked for: no bodies or attendees leave the server.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from exchangelib import EWSDateTime, EWSTimeZone
from exchangelib.folders import Calendar

from shiftdesk.exchange.client import ServerSettings, account_for, translate_errors
from shiftdesk.exchange.provider import SHOW_AS  # also registers the link property on CalendarItem
from shiftdesk.microsoft.freebusy import BusyEvent

if TYPE_CHECKING:
    from shiftdesk.calendarsync.models import CalendarConnection

FROM_EWS = {value: key for key, value in SHOW_AS.items()} | {"NoData": "unknown"}
FIELDS = ("subject", "start", "end", "legacy_free_busy_status", "is_all_day", "sensitivity", "is_cancelled",
          "shiftdesk_link", "_start_timezone")  # fmt: skip


def _utc(value: dt.datetime) -> dt.datetime:
    return dt.datetime.fromtimestamp(value.timestamp(), dt.UTC)


def _local_midnight_as_utc(value: dt.date | dt.datetime, zone) -> dt.datetime:
    # exchangelib hands all-day items' start/end back as dates; older servers send instants.
    local = value.astimezone(zone or EWSTimeZone("UTC")) if isinstance(value, dt.datetime) else value
    return dt.datetime(local.year, local.month, local.day, tzinfo=dt.UTC)


def read_freebusy(connection: CalendarConnection, start: dt.datetime, end: dt.datetime) -> list[BusyEvent]:
    """The busy events of the connection's free/busy folder in [start, end). Raises client.ExchangeError."""
    server = ServerSettings.from_dict(connection.provider_settings)
    utc = EWSTimeZone("UTC")
    with translate_errors(server):
        account = account_for(server, connection.credentials)
        folder = Calendar(root=account.root, id=connection.freebusy_calendar_id)
        items = folder.view(
            start=EWSDateTime.from_datetime(start.astimezone(dt.UTC)).astimezone(utc),
            end=EWSDateTime.from_datetime(end.astimezone(dt.UTC)).astimezone(utc),
        ).only(*FIELDS)
        events = []
        for item in items:
            if item.is_cancelled:
                continue
            if item.is_all_day:
                zone = item._start_timezone
                begin, finish = (
                    _local_midnight_as_utc(item.start, zone),
                    _local_midnight_as_utc(item.end, zone),
                )
                if not isinstance(item.end, dt.datetime):
                    finish += dt.timedelta(days=1)  # exchangelib makes the end date inclusive; Graph's is not
            else:
                begin, finish = _utc(item.start), _utc(item.end)
            events.append(
                BusyEvent(
                    id=item.id,
                    start=begin,
                    end=finish,
                    show_as=FROM_EWS.get(item.legacy_free_busy_status or "Busy", "busy"),
                    subject=item.subject or "",
                    is_all_day=bool(item.is_all_day),
                    is_private=(item.sensitivity or "Normal") in ("Private", "Confidential"),
                    link_value=item.shiftdesk_link or "",
                )
            )
    return events
