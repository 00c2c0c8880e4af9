"""The Google Calendar provider: the sync engine's CalendarProvider over the Calendar API v3 (async httpx,
through shiftdesk.lib.http's Google client; why httpx and not google-api-python-client: calendar_api.py).

- Creates are idempotent by construction: the event id is chosen by us, base32hex of a hash of the engine's
  transaction id (link key + generation), so a retried insert whose first answer was lost gets 409 and the
  event is adopted, never duplicated. The link key also goes in `extendedProperties.private` (find_by_link).
- Google addresses an event by calendar and id, while the engine's update/delete/exists pass an event id
  alone: our remote event id is "<calendar id>/<event id>" (Google's event ids never contain "/"; the
  calendar part is split off at the last "/").
- Change tracking: events.list with sync tokens on the sync calendar (`changes`), as Graph's delta on Outlook.
- Errors: 401 → the token is refreshed once by the engine; 403 rateLimitExceeded / userRateLimitExceeded and
  429 → not carried out, waited out with exponential back-off through the engine's Pacer (Google sends no
  Retry-After); 404 / 410 → gone; 412 → stale (not permanent); other 403/400 → permanent, in Google's words.
- Google's per-project quota (10,000 calls per sliding minute by default) is one budget for every connection,
  so it is paced for the whole worker process, not per connection: ProjectQuota below.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
from django.conf import settings

from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.calendarsync.pacing import Pacer, backoff_seconds
from shiftdesk.calendarsync.providers.base import (
    CalendarProvider,
    ChangeSet,
    EventContent,
    Operation,
    ProviderBackend,
    ProviderError,
    RemoteCalendar,
    RemoteEvent,
)
from shiftdesk.google.calendar_api import WRITE_ROLES
from shiftdesk.google.errors import GoogleError, IntegrationDisabled, ReauthorizationRequired
from shiftdesk.lib.http import async_google_client

log = logging.getLogger(__name__)

LINK_PROPERTY = "shiftdeskLink"  # the key in extendedProperties.private
RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
GONE_REASONS = {"notFound", "deleted"}
_TRIES = 3


class ProjectQuota:
    """Google's per-project quota as this worker process spends it: one for the process, shared by the steps
    of every Google connection on all of the worker's threads (each thread has its own event loop, hence a
    lock and no asyncio primitives).

    Why (issue 15): the Usage limits page counts calls per project per minute over a sliding window (10,000
    by default, each batch part one call) and answers 403 / 429 when it is spent. Paced per connection, 500
    connections overshot together, were refused together and backed off independently, so the minute's
    room was found again late and unevenly (bench/sync_bulk.py --provider google: ratio 2.60 to its bound).
    Two parts, decided here:
    - a client-side sliding window of SYNC_GOOGLE_PROJECT_QUOTA_PER_MINUTE calls (default: Google's documented
      default). A batch whose calls do not fit waits inline for the room while the step may still send (its
      Pacer's send_by, half the lease; SYNC_INLINE_RETRY_AFTER_MAX_SECONDS without a lease), else its calls
      end "not sent, retry after <the wait>" and the step ends. Waiting inline, not ending the step at once,
      because the engine leaves a connection whose first operations were never sent due again at once
      (recording._apply returns before _fail for Fate.NOT_SENT, so no retry_after_until is stored): ending
      each step made every worker thread claim, plan and end steps in a loop (4,701 steps for 100
      connections in bench/sync_bulk.py --users 100 --project-quota 2000). The waiting steps hold their
      network slots; while the project's minute is spent no Google request could use them anyway.
      Calls are counted when they leave and their count is stamped again when the answer comes (Google counts
      them on arrival, which lies between), so our minute never ends before Google's. Refused calls count
      too: whether Google counts them is not documented, and counting them only errs on the slow side.
      The window is this process's: with N workers, set the setting to the project's quota / N (a refusal
      still pauses each worker, below).
    - a refusal that may be the project's (403 rateLimitExceeded, any 429: the Usage limits page says either
      quota answers "403 usageLimits or 429", the errors page gives rateLimitExceeded for "per calendar or per
      authenticated user" too) pauses every Google connection of this worker, not only the refused one, when
      the evidence says the project's minute is spent: our own window is nearly full (NEARLY_SPENT of the
      setting), or PAUSE_AFTER answers in a row were mostly refusals (at least half of each answer's calls:
      a spent project minute refuses every call, from every connection, whatever our window says, e.g. when
      other workers share the project). A lone refusal amid answered calls (a per-calendar or per-user limit
      reported as rateLimitExceeded, one refused part of a batch) stays the refused connection's: it backs
      off through its Pacer, as for 403 userRateLimitExceeded. Why not pause on every such refusal (the first
      version did): at 2% refusals spread over many connections (the chaos test), nearly every batch of 50
      held one, so the whole worker sat in pauses that grew to PAUSE_MAX_SECONDS and a run failed to drain in
      200 s under load. The pause is an exponential, jittered back-off (the engine's backoff_seconds: 1-2 s
      first), at most PAUSE_MAX_SECONDS: the sliding minute gives room back as fast as it was spent a minute
      before, so a longer pause leaves it unused (a version capped at the whole minute sent nothing for 50 s
      while the minute had room, in the bench's timeline); refusals of requests already in flight while
      paused do not lengthen it; an answer without any such refusal resets it."""

    WINDOW_SECONDS = 60.0
    PAUSE_MAX_SECONDS = 8.0
    NEARLY_SPENT = 0.9  # of the setting: a refusal with our window this full is the project's minute
    PAUSE_AFTER = 2  # answers in a row mostly refused: the project's minute, whatever our window says

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._sent: deque[list[float]] = deque()  # [monotonic time, calls], oldest first
            self._in_window = 0
            self.paused_until = 0.0
            self._refusals = 0  # pauses in a row (the back-off's exponent)
            self._refusing = 0  # answers in a row whose calls were mostly refused

    def _expire(self, now: float) -> None:
        while self._sent and now - self._sent[0][0] >= self.WINDOW_SECONDS:
            self._in_window -= int(self._sent.popleft()[1])

    def take(self, calls: int) -> tuple[float, list[float] | None]:
        """(0, a ticket) when `calls` may leave now (they are counted), else (seconds to wait, None)."""
        limit = settings.SYNC_GOOGLE_PROJECT_QUOTA_PER_MINUTE
        with self._lock:
            now = time.monotonic()
            if now < self.paused_until:
                return self.paused_until - now, None
            if limit <= 0:  # no client-side window (refusals still pause)
                return 0.0, None
            self._expire(now)
            calls = max(1, min(calls, limit))
            excess = self._in_window + calls - limit
            if excess <= 0:
                ticket = [now, float(calls)]
                self._sent.append(ticket)
                self._in_window += calls
                return 0.0, ticket
            for at, counted in self._sent:  # the moment enough of the oldest calls leave the window
                excess -= int(counted)
                if excess <= 0:
                    return at + self.WINDOW_SECONDS - now, None
            return self.WINDOW_SECONDS, None  # unreachable while calls <= limit

    def answered(self, ticket: list[float] | None, *, calls: int = 1, refused: int = 0) -> None:
        """The answer to `calls` calls counted with `ticket` came; Google refused `refused` of them for a quota
        that may be the project's (is_project_refusal). Pauses the worker's Google connections when that
        says the project's minute is spent (the class's docstring)."""
        limit = settings.SYNC_GOOGLE_PROJECT_QUOTA_PER_MINUTE
        with self._lock:
            now = time.monotonic()
            if ticket is not None:
                ticket[0] = now  # counted from the answer on (expiry stays oldest-first, off by a latency)
            if not refused:
                self._refusals = self._refusing = 0
                return
            self._expire(now)
            self._refusing = self._refusing + 1 if 2 * refused >= calls else 0
            spent = limit > 0 and self._in_window >= self.NEARLY_SPENT * limit
            if not (spent or self._refusing >= self.PAUSE_AFTER):
                return  # the refused connection backs off alone (its Pacer)
            if now >= self.paused_until:  # a refusal of a call sent during the pause does not lengthen it
                self._refusals += 1
                pause = min(self.PAUSE_MAX_SECONDS, backoff_seconds(self._refusals))
                self.paused_until = now + pause
                log.info("Google refused calls for the project's quota: every Google connection of this worker "
                         "waits %.1f s", pause)  # fmt: skip


PROJECT_QUOTA = ProjectQuota()


async def spend_project_quota(pacer: Pacer, calls: int) -> tuple[list[float] | None, ProviderError | None]:
    """Wait until `calls` more calls fit this worker's share of Google's project quota (PROJECT_QUOTA) and
    count them: (ticket, None). Within a lease the step waits while it may still send (its Pacer's send_by),
    also when the room comes later (then it ends at send_by, not at once: an ended step is claimed again at
    once, see ProjectQuota); without a lease it waits up to SYNC_INLINE_RETRY_AFTER_MAX_SECONDS. Else
    (None, an error "not sent, retry after <the wait>")."""
    while True:
        wait, ticket = PROJECT_QUOTA.take(calls)
        if wait <= 0:
            return ticket, None
        if pacer.send_by is None:
            nap = wait if wait <= settings.SYNC_INLINE_RETRY_AFTER_MAX_SECONDS else 0.0
        else:
            nap = min(wait, pacer.send_by - time.monotonic() - _SEND_MARGIN_SECONDS)
        if nap <= 0:
            return None, ProviderError(
                "Not sent: Google's per-project quota for this minute is spent; sent when it has room.",
                retry_after=wait, status=429, sent=False,
            )  # fmt: skip
        await Pacer.sleep(nap)


_SEND_MARGIN_SECONDS = 0.5  # a wait within a lease ends this long before send_by, to send before it


def is_project_refusal(response: httpx.Response) -> bool:
    """A refusal that may be for the project's quota: 403 or 429 rateLimitExceeded, a 429 of another reason
    than userRateLimitExceeded (ProjectQuota)."""
    if response.status_code not in (403, 429):
        return False
    reason = _reason(response)
    return reason == "rateLimitExceeded" or (
        response.status_code == 429 and reason != "userRateLimitExceeded"
    )


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return ""
    errors = body.get("errors") if isinstance(body, dict) else None
    return str(errors[0].get("reason", "")) if errors and isinstance(errors[0], dict) else ""


def event_id_for(transaction_id: str) -> str:
    """A client-chosen Google event id: base32hex (0-9, a-v), 32 characters (Google allows 5 to 1024), the same
    for every retry of one create and new for each generation of the link."""
    digest = hashlib.sha256(("shiftdesk:" + transaction_id).encode()).digest()[:20]
    return base64.b32hexencode(digest).decode().lower()


def remote_id(calendar_id: str, event_id: str) -> str:
    return f"{calendar_id}/{event_id}"


def split_remote_id(value: str) -> tuple[str, str]:
    calendar_id, _, event_id = value.rpartition("/")
    return calendar_id, event_id


def event_address(event_id: str, calendar_id: str = "") -> tuple[str, str]:
    """(calendar, Google event id) to reach an event of ours: `calendar_id` is where the link records it now
    (the engine's update and delete operations carry it): the user may have moved it there (events.move keeps
    the id), and the calendar in our remote id, where we wrote it, then holds only its cancelled copy."""
    written_in, gid = split_remote_id(event_id)
    return calendar_id or written_in, gid


def google_event(content: EventContent, link_key: str) -> dict[str, Any]:
    """EventContent as Google's event JSON. Deliberately no attendees (Google would email invitations)."""
    return {
        "summary": content.subject,
        "description": content.body_html,
        "location": content.location,
        "start": {"dateTime": content.start["dateTime"], "timeZone": content.start["timeZone"]},
        "end": {"dateTime": content.end["dateTime"], "timeZone": content.end["timeZone"]},
        "transparency": "transparent" if content.show_as == "free" else "opaque",
        "reminders": {
            "useDefault": False,
            "overrides": [{"method": "popup", "minutes": content.reminder_minutes}]
            if content.reminder_minutes > 0
            else [],
        },
        "extendedProperties": {"private": {LINK_PROPERTY: link_key}},
    }


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def google_instant(value: Any) -> datetime | None:
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        return None
    try:
        parsed = datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def provider_error(response: httpx.Response, attempt: int) -> ProviderError:
    """Google's error body as a ProviderError (messages are Google's own words, never a token)."""
    try:
        body = response.json().get("error") or {}
    except (ValueError, AttributeError):
        body = {}
    errors = body.get("errors") if isinstance(body, dict) else None
    reason = errors[0].get("reason", "") if errors and isinstance(errors[0], dict) else ""
    message = str(body.get("message") or response.reason_phrase) if isinstance(body, dict) else ""
    status = response.status_code
    if status == 429 or (status == 403 and reason in RATE_LIMIT_REASONS):
        header = response.headers.get("Retry-After", "")
        wait = float(header) if header.isdigit() else backoff_seconds(attempt)
        # status 429 for both: the answer says the request was not carried out (ProviderError.not_carried_out).
        return ProviderError(
            f"Google Calendar asked to slow down ({reason or 429}).", retry_after=wait, status=429
        )
    if status == 401:
        return ProviderError("Google refused the access token.", auth_expired=True, status=status)
    if status in (404, 410) or reason in GONE_REASONS:
        return ProviderError(f"Not found in Google Calendar ({reason or status}).", permanent=True,
                             not_found=True, status=status)  # fmt: skip
    if status == 412:
        return ProviderError("The event changed in Google Calendar meanwhile (412).", status=status)
    if status >= 500:
        return ProviderError(f"Google Calendar failed ({status}).", status=status, unanswered=True)
    if status == 403:
        return ProviderError(
            f"Google refused ShiftDesk access to this calendar: {message} ({reason or status}). Choose another "
            "calendar or authorize with Google Account again.",
            permanent=True, status=status,
        )  # fmt: skip
    return ProviderError(f"Google Calendar refused the request: {message} ({reason or status}).",
                         permanent=True, status=status)  # fmt: skip


def deleted_in_google() -> ProviderError:
    """A patch of an event the user deleted: Google answers 200 with the event, status "cancelled"."""
    return ProviderError(
        "The event was deleted in Google Calendar.", permanent=True, not_found=True, status=410
    )


class GoogleCalendarProvider(CalendarProvider):
    def __init__(self, http: httpx.AsyncClient, access_token: str, *, owns_client: bool) -> None:
        self.http = http
        self.max_concurrency = settings.SYNC_MAX_CONCURRENCY_PER_MAILBOX
        self._headers = {"Authorization": f"Bearer {access_token}", "Content-Type": "application/json"}
        self._owns_client = owns_client
        self.pacer = Pacer()
        self._calendars: list[RemoteCalendar] | None = None
        self._recorded_calendar: dict[str, str] = {}  # remote id -> the calendar its link records (run_one)

    def __repr__(self) -> str:  # never the token
        return "<GoogleCalendarProvider>"

    async def run(self, ops: Sequence[Operation], *, deadline: float | None = None) -> None:
        """Lookups one by one (rare: after a crash, for verification or an export); writes through Google's
        batch endpoint in lanes (provider_batch.py) unless SYNC_GOOGLE_BATCH_SIZE is 1."""
        from shiftdesk.google.provider_batch import BATCHABLE, Lanes

        if settings.SYNC_GOOGLE_BATCH_SIZE <= 1:
            await super().run(ops, deadline=deadline)
            return
        single = [op for op in ops if op.kind not in BATCHABLE]
        if single:
            await super().run(single, deadline=deadline)
        await Lanes(self, deadline).run([op for op in ops if op.kind in BATCHABLE])

    async def aclose(self) -> None:
        if self._owns_client:
            await self.http.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One Calendar API request with the step's retries through the engine's Pacer. A failure after any
        unanswered try (timeout, dropped connection, 5xx) says so: it may have been carried out."""
        unanswered = False
        for attempt in range(1, _TRIES + 1):
            if not await self.pacer.wait_for_mailbox():
                raise ProviderError("Not sent: the step ran out of time before its lease could pass.",
                                    sent=False, unanswered=unanswered)  # fmt: skip
            ticket, not_sent = await spend_project_quota(self.pacer, 1)
            if not_sent is not None:
                not_sent.unanswered = unanswered
                raise not_sent
            try:
                timeout = self.pacer.request_timeout(settings.HTTP_TIMEOUT_SECONDS)
                response = await self.http.request(
                    method, "/calendar/v3" + path, headers=self._headers, timeout=timeout, **kwargs
                )
                PROJECT_QUOTA.answered(ticket, refused=int(is_project_refusal(response)))
            except httpx.TimeoutException:
                error = ProviderError("Google Calendar did not answer in time.", unanswered=True)
            except httpx.TransportError as exc:
                log.info("Google Calendar connection failed: %s", type(exc).__name__)
                error = ProviderError("Google Calendar could not be reached.", unanswered=True)
            else:
                if response.status_code < 400:
                    return response
                error = provider_error(response, attempt)
            unanswered = unanswered or error.unanswered
            error.unanswered = unanswered
            verdict = self.pacer.after_failure(error, attempt, _TRIES)
            if verdict is None:
                raise error
            await self.pacer.sleep(verdict)
        raise AssertionError("unreachable")

    @staticmethod
    def _path(calendar_id: str, event_id: str = "") -> str:
        path = f"/calendars/{quote(calendar_id, safe='')}/events"
        return path + (f"/{quote(event_id, safe='')}" if event_id else "")

    def _remote(self, data: dict[str, Any], calendar_id: str, written_in: str = "") -> RemoteEvent:
        """The event in `calendar_id`; its remote id keeps the calendar we wrote it in (`written_in`), so the
        link's id stays the same when the user moves the event (as Graph's immutable ids do)."""
        return RemoteEvent(remote_id(written_in or calendar_id, data["id"]), data.get("etag", ""), calendar_id,
                           google_instant(data.get("start")), google_instant(data.get("end")))  # fmt: skip

    async def run_one(self, op: Operation) -> None:
        """As CalendarProvider.run_one; an update or delete goes to the calendar the link records the event in
        (op.calendar_id), not only the one in its remote id (event_address)."""
        if op.kind in ("update", "delete") and op.calendar_id:
            self._recorded_calendar[op.event_id] = op.calendar_id
        await super().run_one(op)

    async def create_event(
        self, calendar_id: str, content: EventContent, *, link_key: str, transaction_id: str
    ) -> RemoteEvent:
        event_id = event_id_for(transaction_id)
        body = {"id": event_id, **google_event(content, link_key)}
        try:
            response = await self._request("POST", self._path(calendar_id), content=json.dumps(body))
        except ProviderError as error:
            if error.status != 409:
                raise
            # 409 duplicate: this very create was carried out before (its answer was lost): adopt it, with
            # the content brought up to date (it may have been an earlier try of other content).
            return await self.update_event(remote_id(calendar_id, event_id), content, link_key=link_key)
        return self._remote(response.json(), calendar_id)

    async def update_event(
        self, event_id: str, content: EventContent, *, link_key: str, calendar_id: str = ""
    ) -> RemoteEvent:
        where, gid = event_address(event_id, calendar_id or self._recorded_calendar.get(event_id, ""))
        response = await self._request(
            "PATCH", self._path(where, gid), content=json.dumps(google_event(content, link_key))
        )
        data = response.json()
        if data.get("status") == "cancelled":
            raise deleted_in_google()
        return self._remote(data, where, split_remote_id(event_id)[0])

    async def delete_event(self, event_id: str, *, calendar_id: str = "") -> None:
        where, gid = event_address(event_id, calendar_id or self._recorded_calendar.get(event_id, ""))
        await self._request("DELETE", self._path(where, gid))

    async def list_calendars(self) -> list[RemoteCalendar]:
        if self._calendars is None:
            calendars: list[RemoteCalendar] = []
            params: dict[str, str] = {"maxResults": "250"}
            for _ in range(40):
                data = (await self._request("GET", "/users/me/calendarList", params=params)).json()
                for item in data.get("items") or []:
                    calendars.append(RemoteCalendar(
                        str(item["id"]), str(item.get("summaryOverride") or item.get("summary") or item["id"]),
                        bool(item.get("primary")), item.get("accessRole") in WRITE_ROLES,
                    ))  # fmt: skip
                if not data.get("nextPageToken"):
                    break
                params["pageToken"] = data["nextPageToken"]
            self._calendars = calendars
        return list(self._calendars)

    async def _order(self, first: Sequence[str]) -> list[str]:
        order = [c for c in first if c]
        rest = [c.id for c in await self.list_calendars() if c.can_edit and c.id not in order]
        return list(dict.fromkeys(order + rest))

    async def find_by_link(self, link_key: str, *, calendar_ids: Sequence[str] = ()) -> RemoteEvent | None:
        """events.list with `privateExtendedProperty=shiftdeskLink=<key>` in the given calendars, then every
        other calendar the user can write to. Extra events with the same key (none should exist: ids are
        chosen by us) are deleted, the first kept."""
        order = [c for c in calendar_ids if c]
        searched: set[str] = set()
        listed = False
        while True:
            for calendar_id in order:
                if calendar_id in searched:
                    continue
                searched.add(calendar_id)
                try:
                    response = await self._request("GET", self._path(calendar_id), params={
                        "privateExtendedProperty": f"{LINK_PROPERTY}={link_key}", "maxResults": "10",
                        "showDeleted": "false",
                    })  # fmt: skip
                except ProviderError as error:
                    if error.not_found:
                        continue
                    raise
                found = [e for e in response.json().get("items") or [] if e.get("status") != "cancelled"]
                if found:
                    for extra in found[1:]:
                        try:
                            await self.delete_event(remote_id(calendar_id, extra["id"]))
                        except ProviderError as error:
                            if not error.not_found:
                                raise
                    return self._remote(found[0], calendar_id)
            if listed:
                return None
            listed = True
            order = await self._order(())

    async def changes(
        self, calendar_id: str, start: datetime, end: datetime, next_link: str = ""
    ) -> ChangeSet | None:
        """Change tracking with events.list and sync tokens: a first round lists the window [start, end) and
        keeps the last page's nextSyncToken; later rounds ask with `syncToken` alone (Google refuses it with
        timeMin/timeMax) and get what changed since, deletions (and moves out of the calendar) as cancelled
        items. An expired token answers 410 fullSyncRequired: ProviderError(status=410), the engine starts a
        first round again. Our "next link" is the sync token (Google's sync state, not a credential)."""
        if next_link:
            params: dict[str, str] = {"syncToken": next_link, "showDeleted": "true", "maxResults": "250"}
        else:
            params = {"timeMin": _rfc3339(start), "timeMax": _rfc3339(end), "maxResults": "250"}
        changed: list[RemoteEvent] = []
        removed: list[str] = []
        for _ in range(400):  # 100,000 events at most: a bound, never a loop forever
            data = (await self._request("GET", self._path(calendar_id), params=params)).json()
            for item in data.get("items") or []:
                if item.get("status") == "cancelled":
                    removed.append(remote_id(calendar_id, item["id"]))
                else:
                    changed.append(self._remote(item, calendar_id))
            if data.get("nextPageToken"):
                params = {**params, "pageToken": data["nextPageToken"]}
                continue
            return ChangeSet(changed, removed, str(data.get("nextSyncToken") or ""))
        raise ProviderError("Too many changes in Google Calendar to list in one round.")

    async def exists(self, event_id: str, *, calendar_id: str = "") -> RemoteEvent | None:
        """The event in the calendar we wrote it to, else (events.move keeps the id) in another calendar the
        user can write to; None when it is deleted (404, 410, or status cancelled) everywhere."""
        written_in, gid = split_remote_id(event_id)
        for candidate in await self._order([calendar_id, written_in]):
            try:
                response = await self._request("GET", self._path(candidate, gid))
            except ProviderError as error:
                if error.not_found:
                    continue
                raise
            data = response.json()
            if data.get("status") != "cancelled":
                return self._remote(data, candidate, written_in)
        return None


class GoogleBackend(ProviderBackend):
    """How the engine reaches Google: the Google OAuth 2 switch, google-auth tokens, an async client."""

    def disabled_reason(self) -> str:
        from shiftdesk.google.models import GoogleOAuthSettings

        if not GoogleOAuthSettings.load().is_active:
            return "Calendar Sync with Google OAuth 2 is not enabled on this ShiftDesk system."
        return ""

    def credentials(self, connection: CalendarConnection, *, force_refresh: bool = False) -> str:
        from shiftdesk.google.oauth import access_token

        try:
            return access_token(connection, force_refresh=force_refresh)
        except IntegrationDisabled as error:
            raise ProviderError(error.message) from None
        except ReauthorizationRequired as error:
            raise ProviderError(error.message, permanent=True, reauthorize=True) from None
        except GoogleError as error:
            raise ProviderError(error.message, permanent=error.permanent) from None

    def open(
        self, connection: CalendarConnection, credential: str, *, client: Any = None
    ) -> CalendarProvider:
        if client is None:
            return GoogleCalendarProvider(async_google_client(), credential, owns_client=True)
        return GoogleCalendarProvider(client, credential, owns_client=False)

    def requests_in_flight(self, operations: int) -> int:
        """Writes go in batch lanes of up to SYNC_GOOGLE_BATCH_SIZE calls, one request in flight each."""
        size = settings.SYNC_GOOGLE_BATCH_SIZE
        if size <= 1:
            return super().requests_in_flight(operations)
        return max(1, min(settings.SYNC_MAX_CONCURRENCY_PER_MAILBOX, math.ceil(operations / size)))

    def new_client(self) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=settings.SYNC_MAX_CONCURRENCY_PER_MAILBOX * 4)
        return async_google_client(limits=limits)
