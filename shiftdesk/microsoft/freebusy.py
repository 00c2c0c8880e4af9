"""Read users' busy times from Graph: `calendarView` on each one's Calendar to Check Free/Busy Status.

Why calendarView and not getSchedule: getSchedule reads only the mailbox's default calendar and does not
serve personal accounts, while the user chose a calendar. calendarView expands recurring meetings into
occurrences, pages with @odata.nextLink (followed here), and with `Prefer: outlook.timezone="UTC"` gives
every time in UTC, so no Windows zone names need mapping back. All-day events come back as local dates
(midnight to midnight): they are returned as dates and the caller places them in the site's zone.

Only what free/busy needs is asked for ($select): no bodies, attendees or locations ever leave Graph.
One request reads a typical calendar. A calendar with more than a page is read in up to four parts at the
same time (Outlook allows 4 concurrent requests per mailbox), not page after page.

`CalendarReads` runs many users' reads at once on an event loop in its own thread: at most `max_connections`
requests in flight overall and 4 per mailbox, a short Retry-After waited out for that mailbox only. Callers
(availability/refresh.py) submit reads from ordinary threads and get futures back, so their database work goes
on while the reads are under way. No Django here: the caller hands in how to make an httpx.AsyncClient.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import functools
import json
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx

from shiftdesk.microsoft.errors import GraphThrottled, GraphUnavailable
from shiftdesk.microsoft.graph import error_for_response, utc_param

MAX_CONCURRENCY_PER_MAILBOX = 4
PAGE_SIZE = 100
SELECT = "subject,start,end,showAs,isAllDay,isCancelled,sensitivity,type"
# Immutable ids, as the Graph provider asks for: ShiftDesk's own shift events are recognised by the id the
# sync engine stored (EventLink.remote_event_id), which is an immutable one.
PREFER = f'outlook.timezone="UTC", odata.maxpagesize={PAGE_SIZE}, IdType="ImmutableId"'
THROTTLED_TRIES = 3  # a mailbox that keeps answering 429 is left for the next pass (its state says when)
# Connections per AsyncClient. httpcore's pool walks all its connections (with a getpeername per idle one)
# whenever a request starts or ends, so one pool of 64 costs far more CPU per request than 8 pools of 8.
CONNECTIONS_PER_CLIENT = 8


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


def split_window(start: dt.datetime, end: dt.datetime, parts: int) -> list[tuple[dt.datetime, dt.datetime]]:
    """`parts` consecutive windows covering [start, end), on whole seconds."""
    parts = max(1, parts)
    step = (end - start) / parts
    edges = [start] + [(start + step * i).replace(microsecond=0) for i in range(1, parts)] + [end]
    return [(a, b) for a, b in zip(edges, edges[1:], strict=False) if b > a]


@dataclass(frozen=True)
class CalendarRead:
    """One user's read: whose mailbox (for the per-mailbox limit), with which token, which calendar, when."""

    mailbox: str
    access_token: str = field(repr=False)
    calendar_id: str
    start: dt.datetime
    end: dt.datetime
    link_property_id: str | None = None
    # The address of the mailbox the calendar lives in when another person shared it with the user ('' =
    # the user's own), for messages and the per-mailbox limit. Either way the calendar is read through the
    # user's own path, /me/calendars/{id}/calendarView, with the id the user's calendar list gives: the path
    # Microsoft documents for a shared calendar (calendar-list-calendarview.md;
    # concepts/outlook-get-shared-events-calendars.md, "Sharee: Get shared, custom calendar or its events from
    # sharee's mailbox"); /users/{owner}/calendars/{id} would name the owner's ids, which the user does not hold.
    owner: str = ""


class _Mailbox:
    """Outlook's limits for one mailbox, on the reader's event loop: 4 requests in flight, and a pause
    after it said Retry-After."""

    def __init__(self) -> None:
        self.slots = asyncio.Semaphore(MAX_CONCURRENCY_PER_MAILBOX)
        self.resume_at = 0.0  # loop time before which nothing is sent to this mailbox


class _Client:
    """One of the reader's AsyncClients and how many requests it has in flight."""

    def __init__(self, http: httpx.AsyncClient, capacity: int) -> None:
        self.http = http
        self.capacity = capacity
        self.in_flight = 0


class CalendarReads:
    """Concurrent calendarView reads on an event loop in a thread of its own.

        with CalendarReads(make_client, max_connections=64) as reads:
            futures = reads.submit([CalendarRead(...), ...])   # from any thread
            events = futures[0].result()                       # list[BusyEvent], or raises a GraphError

    `make_client(n)` returns an httpx.AsyncClient with a pool of n connections; the reader makes as few as
    hold `max_connections` at CONNECTIONS_PER_CLIENT each, sends each request on the least busy one, never
    has more than `max_connections` requests in flight (so none waits for a connection under its timeout),
    and closes them. `inline_retry_after_max`: a 429/503 asking to wait at most this long is waited out (for
    that mailbox only, up to THROTTLED_TRIES tries); a longer one fails the read with its retry_after."""

    def __init__(
        self,
        make_client: Callable[[int], httpx.AsyncClient],
        *,
        max_connections: int,
        inline_retry_after_max: float = 5.0,
    ) -> None:
        self._max_connections = total = max(1, max_connections)
        count = math.ceil(total / CONNECTIONS_PER_CLIENT)
        sizes = [total // count + (1 if i < total % count else 0) for i in range(count)]
        self._clients = [_Client(make_client(size), size) for size in sizes]
        self._inline_max = inline_retry_after_max
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="freebusy-reads", daemon=True)
        self._slots: asyncio.Semaphore | None = None
        self._mailboxes: dict[str, _Mailbox] = {}
        self._tasks: set[asyncio.Task] = set()

    def __enter__(self) -> CalendarReads:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def submit(self, reads: Sequence[CalendarRead]) -> list[concurrent.futures.Future[list[BusyEvent]]]:
        """Start these reads (thread-safe; the loop is woken once for all of them). A future's exception is
        a GraphError (GraphNotFound: the calendar is gone; GraphAuthenticationError: the token was refused)
        or ValueError for data that cannot be read."""
        jobs: list[tuple[CalendarRead, concurrent.futures.Future[list[BusyEvent]]]] = [
            (read, concurrent.futures.Future()) for read in reads
        ]
        self._loop.call_soon_threadsafe(self._start, jobs)
        return [future for _, future in jobs]

    def close(self) -> None:
        """Cancel unfinished reads, close the clients, stop the loop. Idempotent."""
        if self._loop.is_closed():
            return
        if self._thread.is_alive():

            async def shutdown() -> None:
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)
                await asyncio.gather(*(c.http.aclose() for c in self._clients), return_exceptions=True)

            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
        self._loop.close()

    # --- on the loop ---------------------------------------------------------------------------------
    def _start(self, jobs: list[tuple[CalendarRead, concurrent.futures.Future]]) -> None:
        for read, future in jobs:
            if future.set_running_or_notify_cancel():
                task = self._loop.create_task(self._read_calendar(read))
                self._tasks.add(task)
                task.add_done_callback(functools.partial(self._settle, future))

    def _settle(self, future: concurrent.futures.Future, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            future.set_exception(concurrent.futures.CancelledError())
        elif task.exception() is not None:
            future.set_exception(task.exception())
        else:
            future.set_result(task.result())

    async def _send(self, url: httpx.URL, headers: dict[str, str]) -> httpx.Response:
        """One GET on the least busy client, within the overall limit; network failures become
        GraphUnavailable."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._max_connections)
        async with self._slots:
            client = min(self._clients, key=lambda c: c.in_flight - c.capacity)
            client.in_flight += 1
            try:
                return await client.http.get(url, headers=headers)
            except httpx.TimeoutException:
                raise GraphUnavailable("Microsoft Graph did not answer in time.") from None
            except httpx.TransportError:
                raise GraphUnavailable("Microsoft Graph could not be reached.") from None
            finally:
                client.in_flight -= 1

    async def _get(self, read: CalendarRead, url: httpx.URL) -> dict:
        """One GET within the mailbox's limits; a short Retry-After pauses the mailbox and tries again."""
        box = self._mailboxes.get(read.mailbox)
        if box is None:
            box = self._mailboxes[read.mailbox] = _Mailbox()
        headers = {"Authorization": f"Bearer {read.access_token}", "Prefer": PREFER}
        loop = asyncio.get_running_loop()
        for attempt in range(1, THROTTLED_TRIES + 1):
            async with box.slots:
                wait = box.resume_at - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                response = await self._send(url, headers)
            if response.status_code < 400:
                return response.json()
            error = error_for_response(response)
            if not isinstance(error, GraphThrottled) or attempt == THROTTLED_TRIES:
                raise error
            wait = error.retry_after if error.retry_after is not None else 1.0
            if wait > self._inline_max:
                raise error
            box.resume_at = max(box.resume_at, loop.time() + wait)
        raise AssertionError("unreachable")

    async def _read_window(
        self,
        read: CalendarRead,
        start: dt.datetime,
        end: dt.datetime,
        *,
        max_pages: int | None = None,
    ) -> tuple[list[BusyEvent], bool]:
        """The events overlapping [start, end), following @odata.nextLink (at most `max_pages` pages),
        and whether pages were left unread."""
        params = {"startDateTime": utc_param(start), "endDateTime": utc_param(end), "$select": SELECT}
        if read.link_property_id:
            params["$expand"] = f"singleValueExtendedProperties($filter=id eq '{read.link_property_id}')"
        # An absolute URL made once: given a relative one and params, httpx would parse it three times.
        base = str(self._clients[0].http.base_url).rstrip("/")
        path = f"{base}/me/calendars/{quote(read.calendar_id, safe='')}/calendarView"
        url: httpx.URL | None = httpx.URL(path, params=params)
        events: list[BusyEvent] = []
        pages = 0
        while url is not None and (max_pages is None or pages < max_pages):
            body = await self._get(read, url)
            pages += 1
            for item in body.get("value", []):
                event = parse_event(item, read.link_property_id)
                if event is not None:
                    events.append(event)
            next_link = body.get("@odata.nextLink")  # absolute, carrying its own query
            url = httpx.URL(next_link) if next_link else None
        return events, url is not None

    async def _read_calendar(self, read: CalendarRead) -> list[BusyEvent]:
        """Every event overlapping the read's window. Most calendars fit one page: one request. When the
        first page says there is more, the window is read again in up to 4 parallel parts (Outlook's
        per-mailbox limit), each following its own next links, so a full calendar costs about a quarter of
        the sequential round trips. An event spanning two parts is returned once."""
        events, more = await self._read_window(read, read.start, read.end, max_pages=1)
        if more:
            windows = split_window(read.start, read.end, MAX_CONCURRENCY_PER_MAILBOX)
            parts = [asyncio.ensure_future(self._read_window(read, *window)) for window in windows]
            try:
                chunks = await asyncio.gather(*parts)
            except BaseException:
                for part in parts:
                    part.cancel()
                raise
            events = [event for chunk, _ in chunks for event in chunk]
        seen: dict[str, BusyEvent] = {}
        for event in events:
            seen.setdefault(event.id, event)
        return sorted(seen.values(), key=lambda e: (e.start, e.end, e.id))


def has_cached_access_token(serialized: str, now: float) -> bool:
    """Whether MSAL will answer from this serialized token cache without asking the identity platform: an
    access token more than 5 minutes from expiring and not past its `refresh_on` (MSAL's own test). Read
    from the cache's JSON (MSAL's documented cache schema, which auth.without_access_tokens edits too); a wrong
    answer only decides on which thread MSAL is called, never what it returns."""
    try:
        data = json.loads(serialized) if serialized else None
    except ValueError:
        return False
    tokens = data.get("AccessToken") if isinstance(data, dict) else None
    if not isinstance(tokens, dict):
        return False
    for entry in tokens.values():
        try:
            fresh = int(entry["expires_on"]) - now >= 5 * 60
            aging = "refresh_on" in entry and int(entry["refresh_on"]) < now
        except (KeyError, TypeError, ValueError):
            continue
        if fresh and not aging:
            return True
    return False
