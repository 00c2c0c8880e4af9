"""The free/busy refresh step: read users' busy times from Outlook or Google Calendar and store them, or say why not.

`refresh_busy_for_users(user_ids)` is the step (style.md habit 6) the worker runs for everyone due, and
`refresh_busy_for_user(user_id)` ("Refresh now") is the same step for one user. Idempotent and safe to run
concurrently. In order:

1. Claim: one conditional UPDATE takes every given user whose FreeBusyState no worker holds, setting
   `claimed_until` to this run's own instant, which is read back to learn who was won. So two workers, or a
   worker and a "Refresh now" click, never read the same user at once.
2. Load the connections, the site and the settings once; decide what needs no Outlook (no connection,
   reauthorization needed, no calendar chosen).
3. Get each Outlook user's access token (MSAL, from the cache stored on the connection) and start the Graph
   read: calendarView on the user's Calendar to Check Free/Busy Status over the rolling horizon, on
   microsoft.freebusy.CalendarReads (an event loop of its own: at most `connections` requests in flight, 4
   per mailbox, a short Retry-After waited out for that mailbox only). Tokens are got a window ahead of
   the reads under way, in this thread while MSAL has them cached; a token MSAL must refresh, and a
   Password Authentication (EWS) read (exchange/freebusy.py, the same BusyEvent), wait on a server, so with
   `threads` > 1 they go to that many threads of their own. A Google user is read the same way as an EWS
   user (a blocking call, in a starter thread when there are threads): google.calendar_api.busy_times, one
   freebusy.query on the Calendar to Check Free/Busy Status (see _read_google for what Google tells).
4. Store results as they arrive, STORE_EVERY users per transaction: re-read the states still held (the
   privacy choice may have changed meanwhile; a user whose claim ran out is left to whoever holds it now),
   delete their old intervals in one statement, insert the new ones in one statement, and record the
   outcomes (one UPDATE per distinct outcome), which also releases the claims. About 8 queries, plus 5 for
   each STORE_EVERY users, whatever their calendars hold.

Outcomes, and what the grid and the conflict check make of them:
- ok: intervals replaced; "no interval" means free.
- stale (reauthorization needed, integration disabled, Graph throttled or unreachable): the old intervals are
  kept and still warn, and the grid says the data is stale: never silently "free".
- error (free/busy calendar deleted in Outlook, none chosen): the intervals are cleared, the state says why.
- no calendar connection: the user's free/busy rows are removed; Outlook says nothing about them.

Access tokens are kept in memory only for the run (a CalendarRead on its way to Graph) and are never logged.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import functools
import logging
import queue
import secrets
import threading
import time
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import httpx
from django.conf import settings as django_settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from shiftdesk.availability.busy import GOOGLE, calendar_word
from shiftdesk.availability.models import AvailabilitySettings, BusyInterval, FreeBusyState
from shiftdesk.calendarsync.models import CalendarConnection, EventLink
from shiftdesk.google import calendar_api
from shiftdesk.google import errors as google_errors
from shiftdesk.google import oauth as google_oauth
from shiftdesk.lib.http import async_graph_client, ssl_context
from shiftdesk.microsoft import freebusy
from shiftdesk.microsoft.auth import acquire_access_token, without_access_tokens
from shiftdesk.microsoft.errors import (
    GraphAccessDenied,
    GraphAuthenticationError,
    GraphError,
    GraphNotFound,
    IntegrationDisabled,
    MicrosoftError,
    ReauthorizationRequired,
)
from shiftdesk.microsoft.models import AzureADSettings
from shiftdesk.microsoft.provider import LINK_PROPERTY_ID
from shiftdesk.scheduling.models import Site, localize

log = logging.getLogger(__name__)

CLAIM_SECONDS = 300  # longer than any read (30 s timeout x a few pages); a crashed worker's claim expires
MAX_BACKOFF = dt.timedelta(minutes=15)
CONNECTIONS = 64  # Graph requests in flight at once, all mailboxes together (the worker's --connections)
STORE_EVERY = 100  # users per storing transaction: results are stored while later reads are under way
READS_TOGETHER = 16  # Graph reads handed to the event loop at once (one wake-up of its thread)
WAKE_EVERY = 32  # results that wake the storing thread (to start more reads, and store every STORE_EVERY)
UNEXPECTED = "Outlook could not be read (unexpected error)."
Status = FreeBusyState.Status


def horizon(
    now: dt.datetime, tz: zoneinfo.ZoneInfo, settings: AvailabilitySettings
) -> tuple[dt.datetime, dt.datetime]:
    """[local midnight a week ago, the local midnight after now + horizon): the whole current grid week
    stays shaded whichever day it starts on, and the horizon ends on a day boundary."""
    today = now.astimezone(tz).date()
    first = today - dt.timedelta(days=7)
    last = (now + settings.horizon).astimezone(tz).date() + dt.timedelta(days=1)
    return localize(dt.datetime.combine(first, dt.time()), tz), localize(
        dt.datetime.combine(last, dt.time()), tz
    )


@dataclass
class Outcome:
    """What one user's refresh came to; `_store` writes it."""

    status: str
    reason: str = ""
    events: list[freebusy.BusyEvent] | None = None  # ok: the calendar's events, to be filtered and stored
    clear: bool = False  # error: forget the stored intervals
    forget: bool = False  # no connection: remove the intervals and the state
    failed: bool = False  # counts as a failure: backoff instead of the refresh interval
    retry_after: float | None = None

    @classmethod
    def ok(cls, events: list[freebusy.BusyEvent]) -> Outcome:
        return cls(Status.OK, events=events)

    @classmethod
    def stale(cls, reason: str, retry_after: float | None = None) -> Outcome:
        return cls(Status.STALE, reason, failed=True, retry_after=retry_after)

    @classmethod
    def error(cls, reason: str) -> Outcome:
        return cls(Status.ERROR, reason, clear=True)


def refresh_busy_for_user(user_id: int, *, transport: httpx.AsyncBaseTransport | None = None) -> bool:
    """Refresh one user's busy intervals. True when fresh data was stored; False otherwise (another worker
    holds the user, no connection, stale or error: the state row says which and why)."""
    return refresh_busy_for_users(
        [user_id], connections=freebusy.MAX_CONCURRENCY_PER_MAILBOX, transport=transport
    ).get(user_id, False)


def refresh_busy_for_users(
    user_ids: Sequence[int],
    *,
    connections: int = CONNECTIONS,
    threads: int = 1,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[int, bool]:
    """Refresh these users' busy intervals: {user id: fresh data stored} for each user claimed (users
    another worker holds are left out). `transport`: an httpx transport for Graph (tests)."""
    now = timezone.now()
    run = _Run(now)
    held = run.claim(list(dict.fromkeys(user_ids)))
    if not held:
        return {}
    try:
        run.refresh(held, connections=connections, threads=threads, transport=transport)
    except Exception:  # noqa: BLE001 - a surprise must not stop the worker's pass or hold the claims
        log.exception("free/busy refresh of %s users failed unexpectedly", len(held))
        run.store_safely([(uid, Outcome.stale(UNEXPECTED)) for uid in held if uid not in run.results])
    return {uid: run.results.get(uid, False) for uid in held}


class _Run:
    """One refresh of some users: their claim, what was loaded once for all of them, and what was stored."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        # This run's claim: an instant of its own (a random part of a second on top of the claim time), so
        # the rows it won can be read back after the UPDATE, and so storing can tell it still holds them.
        self.marker = now + dt.timedelta(seconds=CLAIM_SECONDS, microseconds=secrets.randbelow(10**6))
        self.results: dict[int, bool] = {}
        self.settings = AvailabilitySettings.load()
        self.tz = zoneinfo.ZoneInfo("UTC")  # the site's zone, and the horizon, once someone is read
        self.start = self.end = now
        self.azure: AzureADSettings | None = None  # once someone is read through Graph
        self.connections: dict[int, CalendarConnection] = {}
        self.renewed: set[int] = set()  # users whose access token Graph refused and was renewed

    # --- 1. claim -----------------------------------------------------------------------------------
    def claim(self, user_ids: list[int]) -> list[int]:
        """The users this run won, in the order given. Users without a state get one (due now) first."""
        if not user_ids:
            return []
        have = set(FreeBusyState.objects.filter(user_id__in=user_ids).values_list("user_id", flat=True))
        missing = [uid for uid in user_ids if uid not in have]
        if missing:
            FreeBusyState.objects.bulk_create(
                [FreeBusyState(user_id=uid) for uid in missing], ignore_conflicts=True
            )
        FreeBusyState.objects.filter(user_id__in=user_ids).filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lte=self.now)
        ).update(claimed_until=self.marker)
        won = set(
            FreeBusyState.objects.filter(user_id__in=user_ids, claimed_until=self.marker).values_list(
                "user_id", flat=True
            )
        )
        return [uid for uid in user_ids if uid in won]

    # --- 2.-4. -----------------------------------------------------------------------------------------
    def refresh(
        self,
        user_ids: list[int],
        *,
        connections: int,
        threads: int,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.connections = {
            c.user_id: c
            for c in CalendarConnection.objects.filter(user_id__in=user_ids).select_related("user")
        }
        outcomes: list[tuple[int, Outcome]] = []
        to_read: list[CalendarConnection] = []
        for uid in user_ids:
            conn = self.connections.get(uid)
            early = _without_outlook(conn)
            if early is not None:
                outcomes.append((uid, early))
            else:
                to_read.append(conn)  # type: ignore[arg-type]
        if outcomes:
            self.store_safely(outcomes)
        if not to_read:
            return
        self.tz = Site.load().tzinfo
        self.start, self.end = horizon(self.now, self.tz, self.settings)
        if any(c.provider == CalendarConnection.Provider.MICROSOFT for c in to_read):
            self.azure = AzureADSettings.load()

        tls = ssl_context()  # one for all the clients: each would load the CA bundle again

        def make_client(size: int) -> httpx.AsyncClient:
            limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
            return async_graph_client(transport=transport, verify=tls, limits=limits)

        with freebusy.CalendarReads(
            make_client,
            max_connections=connections,
            inline_retry_after_max=django_settings.SYNC_INLINE_RETRY_AFTER_MAX_SECONDS,
        ) as reads:
            self._read_and_store(to_read, reads, threads, connections)

    def _read_and_store(
        self, to_read: list[CalendarConnection], reads: freebusy.CalendarReads, threads: int, connections: int
    ) -> None:
        """Start users' reads as the reads free up, and store what comes of them.

        Tokens are got a window ahead of the reads under way (the connection limit plus two wake-ups'
        worth), not all at once: the reads always have work queued, tokens are fresh when used, and the
        token and storing work falls in the time the reads wait on Graph rather than in the burst of
        connections opening at the start."""
        inbox = _Inbox(len(to_read))
        waiting = list(reversed(to_read))  # popped from the end: the longest-due first
        window = max(1, connections) + 2 * WAKE_EVERY
        work: queue.SimpleQueue[list[CalendarConnection] | None] = queue.SimpleQueue()

        def start(conns: list[CalendarConnection]) -> None:
            """Get tokens and start the Graph reads (handed over together), or read EWS mailboxes;
            whatever comes of each user arrives in the inbox."""
            ready: list[tuple[int, freebusy.CalendarRead]] = []

            def hand_over() -> None:
                if not ready:
                    return
                try:
                    futures = reads.submit([read for _, read in ready])
                except Exception:  # noqa: BLE001 - the reads' loop is gone: nobody would answer
                    log.exception("free/busy reads could not be started")
                    for user_id, _ in ready:
                        inbox.put((user_id, Outcome.stale(UNEXPECTED)))
                else:
                    for (user_id, _), future in zip(ready, futures, strict=True):
                        future.add_done_callback(functools.partial(_deliver, inbox, user_id))
                ready.clear()

            for conn in conns:
                try:
                    if conn.provider == CalendarConnection.Provider.EXCHANGE:
                        hand_over()  # an EWS read takes a while: let the Graph reads already due go first
                        inbox.put((conn.user_id, self._read_exchange(conn)))
                        continue
                    if conn.provider == GOOGLE:
                        hand_over()  # a blocking Google read, as for EWS
                        inbox.put((conn.user_id, self._read_google(conn)))
                        continue
                    try:
                        ready.append((conn.user_id, self._graph_read(conn)))
                    except MicrosoftError as error:
                        inbox.put((conn.user_id, _graph_outcome(error, conn)))
                except Exception:  # noqa: BLE001 - one user's surprise must not stop the others
                    log.exception("free/busy refresh of user %s failed unexpectedly", conn.user_id)
                    inbox.put((conn.user_id, Outcome.stale(UNEXPECTED)))
            hand_over()

        def starter() -> None:
            """A thread of its own that starts groups of users; it closes its database connection at the end."""
            try:
                while (group := work.get()) is not None:
                    start(group)
            finally:
                db_connection.close()

        starters: list[threading.Thread] = []

        def here(conn: CalendarConnection) -> bool:
            """Started in this thread: everyone when there are no threads to spare, else those whose token
            MSAL has in its cache (no network call). A token refresh and an EWS read wait on a server: a
            starter thread's job."""
            return threads <= 1 or (
                conn.provider == CalendarConnection.Provider.MICROSOFT
                and freebusy.has_cached_access_token(conn.credentials, time.time())
            )

        def feed() -> None:
            while waiting and inbox.under_way < window:
                group = [waiting.pop() for _ in range(min(READS_TOGETHER, len(waiting)))]
                inbox.started(len(group))
                local = [here(conn) for conn in group]
                elsewhere = [conn for conn, is_local in zip(group, local, strict=True) if not is_local]
                if elsewhere:
                    if not starters:
                        starters.extend(
                            threading.Thread(target=starter, name=f"refreshbusy-{i}", daemon=True)
                            for i in range(threads)
                        )
                        for thread in starters:
                            thread.start()
                    work.put(elsewhere)
                start([conn for conn, is_local in zip(group, local, strict=True) if is_local])

        try:
            feed()
            arrived: list[tuple[int, Outcome]] = []
            while not inbox.done:
                for user_id, item in inbox.take(timeout=CLAIM_SECONDS):
                    outcome = self._outcome(user_id, item, reads, inbox)
                    if outcome is not None:
                        arrived.append((user_id, outcome))
                feed()  # before storing: the reads need work more than the database needs rows
                if len(arrived) >= STORE_EVERY or inbox.done:
                    self.store_safely(arrived)
                    arrived = []
        finally:
            for _ in starters:
                work.put(None)
            for thread in starters:
                thread.join()

    def _outcome(
        self,
        user_id: int,
        item: Outcome | concurrent.futures.Future,
        reads: freebusy.CalendarReads,
        inbox: _Inbox,
    ) -> Outcome | None:
        """What an arrived item means; None when the read was started again (a refused token renewed)."""
        if not isinstance(item, concurrent.futures.Future):
            return item
        conn = self.connections[user_id]
        try:
            return Outcome.ok(item.result())
        except GraphAuthenticationError as error:
            if user_id in self.renewed:
                return _graph_outcome(error, conn)
            # Graph refused the cached access token (revoked or expired early). MSAL would hand back the same
            # one, so drop access tokens from the cache: the refresh token must be used (if it is dead, the
            # connection is marked and ReauthorizationRequired raised).
            self.renewed.add(user_id)
            conn.credentials = without_access_tokens(conn.credentials)
            try:
                read = self._graph_read(conn)
            except MicrosoftError as again:
                return _graph_outcome(again, conn)
            inbox.started_again()
            (future,) = reads.submit([read])
            future.add_done_callback(functools.partial(_deliver, inbox, user_id))
            return None
        except MicrosoftError as error:
            return _graph_outcome(error, conn)
        except Exception:  # noqa: BLE001 - e.g. data Graph sent that cannot be read
            log.exception("free/busy refresh of user %s failed unexpectedly", user_id)
            return Outcome.stale(UNEXPECTED)

    def _graph_read(self, conn: CalendarConnection) -> freebusy.CalendarRead:
        owner = conn.freebusy_calendar_owner  # another person's calendar shared with the user, or ''
        return freebusy.CalendarRead(
            # Outlook's limits are per mailbox: a shared calendar's reads count against its owner's.
            mailbox=owner.lower() or conn.account_id or f"connection-{conn.pk}",
            owner=owner,
            access_token=acquire_access_token(conn, azure=self.azure),
            calendar_id=conn.freebusy_calendar_id,
            start=self.start,
            end=self.end,
            link_property_id=LINK_PROPERTY_ID,
        )

    def _read_exchange(self, conn: CalendarConnection) -> Outcome:
        """A Password Authentication (EWS) user's read, through exchange.freebusy."""
        from shiftdesk.exchange.client import ExchangeError
        from shiftdesk.exchange.freebusy import read_freebusy

        try:
            return Outcome.ok(read_freebusy(conn, self.start, self.end))
        except ExchangeError as error:
            if error.kind == "not_found":
                name = conn.freebusy_calendar_name or "chosen for free/busy"
                return Outcome.error(
                    f"The calendar “{name}” no longer exists in the Exchange mailbox. Choose another Calendar "
                    "to Check Free/Busy Status in Manage Account > Calendar Sync."
                )
            return Outcome.stale(f"Exchange could not be read: {error}", retry_after=error.retry_after)

    def _read_google(self, conn: CalendarConnection) -> Outcome:
        """A Google user's read: freebusy.query on the Calendar to Check Free/Busy Status over the horizon.

        Google's free/busy answers merged busy intervals only: no subject, no show-as (Outlook's tentative,
        oof, workingElsewhere have no counterpart; events marked "Free"/transparent and cancelled ones are
        simply not busy), no event ids. So every interval is stored as show_as "busy" with no subject, and
        ShiftDesk's own shift events cannot be skipped by id or link property as on Outlook: when they sit in
        this calendar (the same calendar chosen for sync), their shifts' times are cut out of the busy
        intervals instead (_without_own_shifts). A 401 (access token revoked or expired early) is retried once
        with a refreshed token; a dead grant marks the connection (oauth.access_token) and keeps the old data
        as stale."""
        try:
            try:
                busy = calendar_api.busy_times(
                    google_oauth.access_token(conn), conn.freebusy_calendar_id, self.start, self.end
                )
            except google_errors.GoogleError as error:
                if error.status != 401:
                    raise
                busy = calendar_api.busy_times(
                    google_oauth.access_token(conn, force_refresh=True),
                    conn.freebusy_calendar_id,
                    self.start,
                    self.end,
                )
        except (google_errors.ReauthorizationRequired, google_errors.IntegrationDisabled) as error:
            return Outcome.stale(str(error))
        except google_errors.GoogleUnavailable as error:
            return Outcome.stale(f"Google Calendar could not be read: {error}")
        except google_errors.GoogleError as error:
            if error.code == "notFound" or error.status == 404:
                name = conn.freebusy_calendar_name or "chosen for free/busy"
                return Outcome.error(
                    f"The calendar “{name}” no longer exists in Google Calendar or is no longer shared with you. "
                    "Choose another Calendar to Check Free/Busy Status in Manage Account > Calendar Sync."
                )
            log.info(
                "free/busy refresh of user %s: Google refused: %s", conn.user_id, error.code or error.status
            )
            return Outcome.stale(f"Google Calendar refused to show the calendar ({error}).")
        intervals = [(b.start, b.end) for b in busy]
        intervals = _without_own_shifts(intervals, self._own_shift_times(conn))
        return Outcome.ok([
            freebusy.BusyEvent(
                id=f"freebusy:{start.isoformat()}",  # Google gives no event id: the interval's start stands in
                start=start, end=end, show_as="busy", subject="", is_all_day=False, is_private=True,
                link_value="",
            )
            for start, end in intervals
        ])  # fmt: skip

    def _own_shift_times(self, conn: CalendarConnection) -> list[tuple[dt.datetime, dt.datetime]]:
        """The shifts whose events ShiftDesk keeps in the user's Calendar to Check Free/Busy Status (when it is
        also the sync calendar): Google counts them busy, ShiftDesk must not."""
        prefix = conn.freebusy_calendar_id + "/"  # Google remote ids are "<calendar id>/<event id>"
        return [
            (start, end)
            for start, end, remote in EventLink.objects.filter(
                connection=conn, shift__isnull=False, deleted_in_outlook=False
            )
            .exclude(remote_event_id="")
            .values_list("shift__start", "shift__end", "remote_event_id")
            if remote.startswith(prefix)
        ]

    # --- 4. store ---------------------------------------------------------------------------------------
    def store_safely(self, outcomes: list[tuple[int, Outcome]]) -> None:
        """Store a chunk in one transaction; if that fails, each user alone, and a user whose own store
        fails as stale (unexpected error). If even that fails, the claim runs out and a later pass retries."""
        if not outcomes:
            return
        try:
            with transaction.atomic():
                stored = self._store(outcomes)
        except Exception:  # noqa: BLE001
            log.exception("storing the free/busy of %s user(s) failed", len(outcomes))
            if len(outcomes) > 1:
                for one in outcomes:
                    self.store_safely([one])
            elif outcomes[0][1].reason != UNEXPECTED:
                self.store_safely([(outcomes[0][0], Outcome.stale(UNEXPECTED))])
            return
        self.results.update(stored)

    def _store(self, outcomes: list[tuple[int, Outcome]]) -> dict[int, bool]:
        """The chunk's intervals replaced or cleared, outcomes recorded, claims released (in the caller's
        transaction); {user id: fresh data stored} for the users still held."""
        user_ids = [uid for uid, _ in outcomes]
        held = {
            uid: (pk, show_subjects, failures)
            for pk, uid, show_subjects, failures in FreeBusyState.objects.select_for_update()
            .filter(user_id__in=user_ids, claimed_until=self.marker)
            .values_list("pk", "user_id", "show_subjects", "consecutive_failures")
        }
        outcomes = [(uid, o) for uid, o in outcomes if uid in held]  # a claim that ran out: not ours now
        if not outcomes:
            return {}
        stored = [(uid, o) for uid, o in outcomes if o.events is not None]
        own = self._own_event_ids([uid for uid, _ in stored])
        rows = [
            (uid, interval)
            for uid, o in stored
            for interval in intervals_for(
                o.events or [], own_event_ids=own.get(uid, set()), show_subjects=held[uid][1], tz=self.tz
            )
        ]
        replace = [uid for uid, o in outcomes if o.events is not None or o.clear or o.forget]
        if replace:
            BusyInterval.objects.filter(user_id__in=replace).delete()
        _insert_intervals(rows, self.now)
        forget = [held[uid][0] for uid, o in outcomes if o.forget]
        if forget:
            FreeBusyState.objects.filter(pk__in=forget).delete()
        groups: dict[tuple, list[int]] = defaultdict(list)
        for uid, o in outcomes:
            if not o.forget:
                values = self._state_values(o, held[uid][2])
                groups[tuple(sorted(values.items()))].append(held[uid][0])
        for values, pks in groups.items():
            FreeBusyState.objects.filter(pk__in=pks).update(**dict(values))
        return {uid: o.status == Status.OK and o.events is not None for uid, o in outcomes}

    def _own_event_ids(self, user_ids: list[int]) -> dict[int, set[str]]:
        """ShiftDesk's own shift events in each user's calendar (the sync engine's ids): never busy."""
        conn_users = {self.connections[uid].pk: uid for uid in user_ids if uid in self.connections}
        own: dict[int, set[str]] = defaultdict(set)
        if conn_users:
            for conn_id, remote_id in (
                EventLink.objects.filter(connection_id__in=list(conn_users))
                .exclude(remote_event_id="")
                .values_list("connection_id", "remote_event_id")
            ):
                own[conn_users[conn_id]].add(remote_id)
        return own

    def _state_values(self, outcome: Outcome, failures_so_far: int) -> dict:
        """The state's new values for an outcome (the claim released)."""
        failures = failures_so_far + 1 if outcome.failed else 0
        if outcome.failed:
            backoff = min(
                MAX_BACKOFF, dt.timedelta(minutes=2 ** min(failures - 1, 6)), self.settings.refresh_interval
            )
            if outcome.retry_after:
                backoff = max(backoff, dt.timedelta(seconds=outcome.retry_after))
            next_at = self.now + backoff
        else:
            next_at = self.now + self.settings.refresh_interval
        values = {
            "status": outcome.status,
            "reason": outcome.reason[:2000],
            "last_attempt_at": self.now,
            "next_refresh_at": next_at,
            "claimed_until": None,
            "consecutive_failures": failures,
        }
        if outcome.status == Status.OK and outcome.events is not None:
            values["last_refreshed_at"] = self.now
        return values


class _Inbox:
    """What came of each user, put by the threads that start reads and by the reads' event loop, taken by
    the storing thread WAKE_EVERY at a time (or all that is left): it is woken once per handful of users
    rather than once per user, so it takes the GIL from the event loop as seldom as possible. It also counts
    the users under way (started, not yet taken) for the window of tokens got ahead."""

    def __init__(self, expected: int) -> None:
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._items: list[tuple[int, Outcome | concurrent.futures.Future]] = []
        self._waiting = expected  # items not yet taken, arrived or not
        self.under_way = 0

    @property
    def done(self) -> bool:
        return self._waiting == 0

    def started(self, count: int) -> None:
        with self._lock:
            self.under_way += count

    def started_again(self) -> None:
        """A user's read started again (its token renewed): one more item will come for it."""
        with self._lock:
            self.under_way += 1
            self._waiting += 1

    def put(self, item: tuple[int, Outcome | concurrent.futures.Future]) -> None:
        with self._lock:
            self._items.append(item)
            if len(self._items) >= min(WAKE_EVERY, self._waiting):
                self._ready.set()

    def take(self, timeout: float) -> list[tuple[int, Outcome | concurrent.futures.Future]]:
        if not self._ready.wait(timeout):
            raise TimeoutError(f"no free/busy read finished in {timeout} s")
        with self._lock:
            items, self._items = self._items, []
            self._waiting -= len(items)
            self.under_way -= len(items)
            self._ready.clear()
        return items


def _deliver(inbox: _Inbox, user_id: int, future: concurrent.futures.Future) -> None:
    inbox.put((user_id, future))


def _without_own_shifts(
    busy: list[tuple[dt.datetime, dt.datetime]], own: list[tuple[dt.datetime, dt.datetime]]
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Google's busy intervals minus the times of ShiftDesk's own shift events. Only the user's own shift
    times are cut out: a meeting overlapping one of their shifts is then hidden only while that shift runs,
    where the overlapping-shift conflict already warns for any other shift."""
    result = []
    for start, end in busy:
        pieces = [(start, end)]
        for o_start, o_end in own:
            cut = []
            for a, b in pieces:
                if o_end <= a or b <= o_start:
                    cut.append((a, b))
                    continue
                if a < o_start:
                    cut.append((a, o_start))
                if o_end < b:
                    cut.append((o_end, b))
            pieces = cut
        result.extend(pieces)
    return result


def _without_outlook(conn: CalendarConnection | None) -> Outcome | None:
    """The outcome when the connection alone decides it (no network call), else None."""
    if conn is None:
        return Outcome(Status.OK, forget=True)  # Outlook says nothing about this user any more: keep nothing
    if conn.status == CalendarConnection.Status.NEEDS_REAUTHORIZATION:
        return Outcome.stale(
            f"the {calendar_word(conn.provider)} connection needs reauthorization"
            + (f" ({conn.last_error})" if conn.last_error else ".")
        )
    if not conn.freebusy_calendar_id:
        return Outcome.error(
            "No Calendar to Check Free/Busy Status is saved yet: pick one in Manage Account > Calendar Sync "
            "and save your calendars."
        )
    return None


def _graph_outcome(error: MicrosoftError, conn: CalendarConnection) -> Outcome:
    """What a failed token or Graph read means for the user's busy data."""
    if isinstance(error, (ReauthorizationRequired, IntegrationDisabled)):
        return Outcome.stale(str(error))
    if isinstance(error, GraphNotFound):
        name = conn.freebusy_calendar_name or "chosen for free/busy"
        return Outcome.error(
            f"The calendar “{name}” no longer exists in Outlook. Choose another Calendar to Check Free/Busy "
            "Status in Manage Account > Calendar Sync."
        )
    if isinstance(error, GraphAccessDenied) and conn.freebusy_calendar_owner:
        name = conn.freebusy_calendar_name or "chosen for free/busy"
        return Outcome.error(
            f"{conn.freebusy_calendar_owner} no longer shares the calendar “{name}” with you. Choose another "
            "Calendar to Check Free/Busy Status in Manage Account > Calendar Sync."
        )
    if isinstance(error, (GraphAccessDenied, GraphAuthenticationError)):
        return Outcome.stale(f"Outlook refused to show the calendar ({error}).")
    if isinstance(error, GraphError):
        log.info("free/busy refresh of user %s failed: %s", conn.user_id, error)
    else:
        log.info("free/busy refresh of user %s: no token: %s", conn.user_id, error)
    return Outcome.stale(f"Outlook could not be read: {error}", retry_after=error.retry_after)


class Interval(NamedTuple):
    """One BusyInterval row to be stored for a user."""

    start: dt.datetime
    end: dt.datetime
    show_as: str
    subject: str
    is_all_day: bool
    remote_id: str


def intervals_for(
    events: Iterable[freebusy.BusyEvent],
    *,
    own_event_ids: set[str],
    show_subjects: bool,
    tz: zoneinfo.ZoneInfo,
) -> list[Interval]:
    """The intervals of the events that make someone less available: not free, not ShiftDesk's own
    shift events. All-day events cover their local dates in the site's zone (midnight to midnight, DST
    included); a subject is kept only when the user allows it and the event is not private."""
    rows = []
    for event in events:
        if event.show_as == "free" or event.link_value or event.id in own_event_ids:
            continue
        if event.is_all_day:
            start = localize(dt.datetime.combine(event.start_date, dt.time()), tz)
            end = localize(
                dt.datetime.combine(max(event.end_date, event.start_date + dt.timedelta(days=1)), dt.time()),
                tz,
            )
        else:
            start, end = event.start, event.end
        if end <= start:
            continue  # a zero-length event blocks nothing
        subject = event.subject[:255] if show_subjects and not event.is_private else ""
        rows.append(Interval(start, end, event.show_as, subject, event.is_all_day, event.id))
    return rows


_INSERTED = ("user", "start", "end", "show_as", "subject", "is_all_day", "remote_id", "refreshed_at")


def _insert_intervals(rows: list[tuple[int, Interval]], now: dt.datetime) -> None:
    """Insert BusyInterval rows with one statement run for all of them (executemany). This is what
    bulk_create does, minus building a model instance and preparing each field of each row through the
    field machinery: for the worker's thousands of rows that cost more CPU than all its Graph requests.
    Values are adapted as Django adapts them (datetimes through the backend's operations); a test that
    stores every kind of event and reads it back through the ORM guards the column list."""
    if not rows:
        return
    meta = BusyInterval._meta
    qn = db_connection.ops.quote_name
    columns = ", ".join(qn(meta.get_field(name).column) for name in _INSERTED)
    marks = ", ".join(["%s"] * len(_INSERTED))
    # Identifiers from the model's own metadata, quoted; every value is a parameter.
    sql = f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608
    adapt = db_connection.ops.adapt_datetimefield_value
    refreshed_at = adapt(now)
    params = [
        (uid, adapt(r.start), adapt(r.end), r.show_as, r.subject, r.is_all_day, r.remote_id, refreshed_at)
        for uid, r in rows
    ]
    with db_connection.cursor() as cursor:
        cursor.executemany(sql, params)


# --- the worker's side ---------------------------------------------------------------------------------
def enroll_connected_users() -> int:
    """Give every user with a calendar connection (Outlook or Exchange) a FreeBusyState, due now, so the
    worker finds them. Cheap: one query for the missing ones and one bulk insert."""
    missing = (
        CalendarConnection.objects.all()
        .exclude(user__freebusy_state__isnull=False)
        .values_list("user_id", flat=True)
    )
    created = FreeBusyState.objects.bulk_create(
        [FreeBusyState(user_id=uid) for uid in missing], ignore_conflicts=True
    )
    return len(created)


def due_user_ids(now: dt.datetime, limit: int = 500) -> list[int]:
    """Users whose refresh is due and whom no worker holds, the longest-waiting first."""
    return list(
        FreeBusyState.objects.filter(Q(next_refresh_at__isnull=True) | Q(next_refresh_at__lte=now))
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .order_by(F("next_refresh_at").asc(nulls_first=True), "user_id")
        .values_list("user_id", flat=True)[:limit]
    )
