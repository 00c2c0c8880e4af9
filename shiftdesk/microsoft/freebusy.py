"""Read a user's busy times from Graph: `calendarView` on their Calendar to Check Free/Busy Status.

Why calendarView and not getSchedule: getSchedule reads only the mailbox's default calendar and does not
serve personal accounts, while the user chose a calendar. calendarView expands recurring meetings into
occurrences, pages with @odata.nextLink (followed here), and with `Prefer: outlook.timezone="UTC"` gives
every time in UTC, so no Windows zone names need mapping back. All-day events come back as local dates
(midnight to midnight): they are returned as dates and the caller places them in the site's zone.

Only what free/busy needs is asked for ($select): no bodies, attendees or locations ever leave Graph.
One request reads a typical calendar. A calendar with more than a page is read in up to four parts at the
same time (Outlook allows 4 concurrent requests per mailbox), not page after page.
"""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from shiftdesk.microsoft.errors import GraphAuthenticationError
from shiftdesk.microsoft.graph import GraphClient

if TYPE_CHECKING:
    from shiftdesk.calendarsync.models import CalendarConnection

MAX_CONCURRENCY_PER_MAILBOX = 4
PAGE_SIZE = 100
SELECT = "subject,start,end,showAs,isAllDay,isCancelled,sensitivity,type"
# Immutable ids, as the Graph provider asks for: ShiftDesk's own shift events are recognised by the id the
# sync engine stored (EventLink.remote_event_id), which is an immutable one.
PREFER = f'outlook.timezone="UTC", odata.maxpagesize={PAGE_SIZE}, IdType="ImmutableId"'


@dataclass(frozen=True)
class BusyEvent:
    """One event (or occurrence) as free/busy sees it. For all-day events `start`/`end` are midnights in
    UTC that stand for local dates (see `start_date`/`end_date`); for others they are true UTC instants."""

    id: str
    start: dt.datetime
    end: dt.datetime
    show_as: str
    subject: str
    is_all_day: bool
    is_private: bool
    link_value: str  # the ShiftDesk link extended property's value, when the event is one of ours

    @property
    def start_date(self) -> dt.date:
        return self.start.date()

    @property
    def end_date(self) -> dt.date:
        return self.end.date()


def _instant(value: dict | None) -> dt.datetime:
    """Graph's dateTimeTimeZone (asked for in UTC) as an aware UTC datetime; 7-digit fractions allowed."""
    raw = str((value or {}).get("dateTime") or "")
    zone = str((value or {}).get("timeZone") or "UTC")
    if zone.upper() not in ("UTC", "Z", "COORDINATED UNIVERSAL TIME"):
        raise ValueError(f"expected UTC times from Graph, got {zone!r}")
    main, _, fraction = raw.partition(".")
    parsed = dt.datetime.fromisoformat(main.rstrip("Z"))
    micro = int((fraction.rstrip("Z") + "000000")[:6]) if fraction else 0
    return parsed.replace(microsecond=micro, tzinfo=dt.UTC)


def parse_event(item: dict, link_property_id: str | None = None) -> BusyEvent | None:
    """A calendarView item as a BusyEvent; None for items free/busy ignores (cancelled, series masters)."""
    if item.get("isCancelled") or item.get("type") == "seriesMaster" or not item.get("id"):
        return None
    link_value = ""
    for prop in item.get("singleValueExtendedProperties") or []:
        if link_property_id and str(prop.get("id", "")).lower() == link_property_id.lower():
            link_value = str(prop.get("value") or "")
    start, end = _instant(item.get("start")), _instant(item.get("end"))
    return BusyEvent(
        id=str(item["id"]),
        start=start,
        end=end,
        show_as=str(item.get("showAs") or "busy"),
        subject=str(item.get("subject") or ""),
        is_all_day=bool(item.get("isAllDay")),
        is_private=str(item.get("sensitivity") or "normal") in ("private", "confidential"),
        link_value=link_value,
    )


def _utc_param(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def split_window(start: dt.datetime, end: dt.datetime, parts: int) -> list[tuple[dt.datetime, dt.datetime]]:
    """`parts` consecutive windows covering [start, end), on whole seconds."""
    parts = max(1, parts)
    step = (end - start) / parts
    edges = [start] + [(start + step * i).replace(microsecond=0) for i in range(1, parts)] + [end]
    return [(a, b) for a, b in zip(edges, edges[1:], strict=False) if b > a]


def read_window(
    graph: GraphClient,
    calendar_id: str,
    start: dt.datetime,
    end: dt.datetime,
    *,
    link_property_id: str | None = None,
    max_pages: int | None = None,
) -> tuple[list[BusyEvent], bool]:
    """The events of one calendar overlapping [start, end), following @odata.nextLink (at most `max_pages`
    pages), and whether pages were left unread. Raises GraphError (GraphNotFound: the calendar is gone)."""
    params = {"startDateTime": _utc_param(start), "endDateTime": _utc_param(end), "$select": SELECT}
    if link_property_id:
        params["$expand"] = f"singleValueExtendedProperties($filter=id eq '{link_property_id}')"
    url: str | None = f"/me/calendars/{calendar_id}/calendarView"
    query: dict[str, str] | None = params
    events: list[BusyEvent] = []
    pages = 0
    while url and (max_pages is None or pages < max_pages):
        body = graph.request("GET", url, params=query, headers={"Prefer": PREFER}).json()
        pages += 1
        for item in body.get("value", []):
            event = parse_event(item, link_property_id)
            if event is not None:
                events.append(event)
        url = body.get("@odata.nextLink")
        query = None  # the next link carries its own query
    return events, bool(url)


def read_busy_events(
    graph: GraphClient,
    calendar_id: str,
    start: dt.datetime,
    end: dt.datetime,
    *,
    link_property_id: str | None = None,
    concurrency: int = MAX_CONCURRENCY_PER_MAILBOX,
) -> list[BusyEvent]:
    """Every event overlapping [start, end). Most calendars fit one page: one request. When the first page
    says there is more, the window is read again in up to `concurrency` parallel parts (never more than 4:
    Outlook's per-mailbox limit), each following its own next links, so a full calendar costs about a
    quarter of the sequential round trips. An event spanning two parts is returned once."""
    events, more = read_window(graph, calendar_id, start, end, link_property_id=link_property_id, max_pages=1)
    windows = split_window(start, end, min(concurrency, MAX_CONCURRENCY_PER_MAILBOX))
    if more and len(windows) == 1:
        events, _ = read_window(graph, calendar_id, start, end, link_property_id=link_property_id)
    elif more:

        def read(window: tuple[dt.datetime, dt.datetime]) -> list[BusyEvent]:
            return read_window(graph, calendar_id, *window, link_property_id=link_property_id)[0]

        with ThreadPoolExecutor(max_workers=len(windows), thread_name_prefix="freebusy") as pool:
            events = [e for chunk in pool.map(read, windows) for e in chunk]  # re-raises a part's error
    seen: dict[str, BusyEvent] = {}
    for event in events:
        seen.setdefault(event.id, event)
    return sorted(seen.values(), key=lambda e: (e.start, e.end, e.id))


def read_freebusy(
    connection: CalendarConnection,
    start: dt.datetime,
    end: dt.datetime,
    *,
    link_property_id: str | None = None,
    http: httpx.Client | None = None,
) -> list[BusyEvent]:
    """The busy events of the connection's free/busy calendar in [start, end). `http`: a client to reuse
    (a worker refreshing many users keeps one pool); by default one is made from settings for this read.

    Raises what auth.acquire_access_token raises (ReauthorizationRequired, IntegrationDisabled, ...) and the
    GraphErrors of the reads."""
    from shiftdesk.lib.http import graph_client
    from shiftdesk.microsoft.auth import acquire_access_token

    def read(client: httpx.Client) -> list[BusyEvent]:
        graph = GraphClient(acquire_access_token(connection), client)
        return read_busy_events(
            graph, connection.freebusy_calendar_id, start, end, link_property_id=link_property_id
        )

    def read_once_more(client: httpx.Client) -> list[BusyEvent]:
        try:
            return read(client)
        except GraphAuthenticationError:
            # Graph refused the cached access token (revoked or expired early). MSAL would hand back the same
            # one, so drop access tokens from the cache: the refresh token must be used (and if it is dead,
            # acquire_access_token marks the connection and raises ReauthorizationRequired).
            connection.credentials = without_access_tokens(connection.credentials)
            return read(client)

    if http is not None:
        return read_once_more(http)
    with graph_client() as own:
        return read_once_more(own)


def without_access_tokens(serialized: str) -> str:
    """An MSAL SerializableTokenCache without its access tokens (the refresh token is kept)."""
    try:
        data = json.loads(serialized) if serialized else None
    except ValueError:
        return serialized
    if not isinstance(data, dict):
        return serialized
    data["AccessToken"] = {}
    return json.dumps(data)
