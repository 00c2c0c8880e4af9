"""The Graph calendar provider: the sync engine's CalendarProvider over Microsoft Graph (async httpx).

Every request asks for immutable ids (`Prefer: IdType="ImmutableId"`) so an event the user moves keeps its
id. Creates carry a `transactionId` and a single-value extended property holding ShiftDesk's link key, so
an event is found again after a crash or a reconnect. Events never get attendees (Outlook would email
invitations); people and notes go in the body. Failures are mapped by microsoft.graph.error_for_response
and become ProviderErrors; short Retry-After waits are honoured here, per mailbox, before trying again.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from django.conf import settings

from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.calendarsync.pacing import Pacer
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
from shiftdesk.lib.http import async_graph_client
from shiftdesk.microsoft.errors import (
    GraphAccessDenied,
    GraphAuthenticationError,
    GraphError,
    GraphNotFound,
    GraphThrottled,
    IntegrationDisabled,
    MicrosoftError,
    ReauthorizationRequired,
)
from shiftdesk.microsoft.graph import error_for_response, utc_param

log = logging.getLogger(__name__)

# The extended property carrying ShiftDesk's link key: a fixed GUID namespace, named, string-valued.
LINK_PROPERTY_ID = "String {8f2c6a51-3b7e-4d0a-9c1f-5e6d7a8b9c0d} Name ShiftDeskLink"
PREFER = 'IdType="ImmutableId"'
# Retries inside one step: a short Retry-After is waited out here (the whole mailbox pauses); a transient
# 5xx or a dropped connection is tried again after a jittered backoff. Anything longer ends the step and
# the engine stores the wait on the connection, so every worker respects it.
_TRANSIENT_TRIES = 3


def graph_event(content: EventContent, link_key: str) -> dict[str, Any]:
    """EventContent as Graph's event JSON. Deliberately no `attendees`."""
    return {
        "subject": content.subject,
        "body": {"contentType": "HTML", "content": content.body_html},
        "start": content.start,
        "end": content.end,
        "location": {"displayName": content.location},
        "showAs": content.show_as,
        "isReminderOn": content.reminder_minutes > 0,
        "reminderMinutesBeforeStart": content.reminder_minutes,
        "singleValueExtendedProperties": [{"id": LINK_PROPERTY_ID, "value": link_key}],
    }


def graph_instant(value: Any) -> datetime | None:
    """Graph's dateTimeTimeZone ({"dateTime": "2026-12-01T14:00:00.0000000", "timeZone": "UTC"}) as an
    aware datetime; None when absent or in a zone this does not know (then nothing is compared)."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        return None
    text, zone = value["dateTime"], value.get("timeZone") or "UTC"
    head, _, fraction = text.partition(".")
    try:
        wall = datetime.fromisoformat(head + ("." + fraction[:6] if fraction else ""))
        tz = UTC if zone in ("UTC", "Etc/UTC") else ZoneInfo(zone)
    except (ValueError, KeyError, ZoneInfoNotFoundError):
        return None
    return wall.replace(tzinfo=tz) if wall.tzinfo is None else wall


def provider_error(error: MicrosoftError) -> ProviderError:
    status = getattr(error, "status", 0)
    if isinstance(error, GraphThrottled):
        return ProviderError(error.message, retry_after=error.retry_after or 1.0, status=status)
    if isinstance(error, GraphAuthenticationError):
        return ProviderError(error.message, auth_expired=True, status=status)
    if isinstance(error, GraphNotFound):
        return ProviderError(error.message, permanent=True, not_found=True, status=status)
    if isinstance(error, GraphAccessDenied):
        return ProviderError(
            "Microsoft denied ShiftDesk access to this calendar (ErrorAccessDenied). "
            "Authorize with Microsoft Account again, or ask an administrator to check the app's permissions.",
            permanent=True,
            status=status,
        )
    if isinstance(error, ReauthorizationRequired):
        return ProviderError(error.message, permanent=True, reauthorize=True)
    return ProviderError(
        error.message, permanent=error.permanent, retry_after=error.retry_after, status=status
    )


def shared_calendar_refused(owner: str, calendar_name: str, status: int) -> ProviderError:
    """A 403 on a calendar another person shared: the share was withdrawn or is read-only. Only the user can
    fix it (choose another calendar, or ask the owner), so the connection stops (`stops_connection`)."""
    name = f"“{calendar_name}”" if calendar_name else "the calendar chosen to sync shifts with"
    return ProviderError(
        f"{owner} no longer shares the calendar {name} with you, or shares it read-only. "
        "Choose another Calendar to Sync shifts with.",
        permanent=True,
        status=status,
    )


class GraphCalendarProvider(CalendarProvider):
    """One connection's calendars over Graph.

    Calendars another person shared with the user (Calendars.ReadWrite.Shared) are reached through the user's
    own path with the id the user's GET /me/calendars lists, the only path Microsoft documents for a shared
    custom calendar: `/me/calendars/{id}/events[/{event-id}]`, `.../calendarView/delta`
    (concepts/outlook-get-shared-events-calendars.md, "Sharee: Get shared, custom calendar or its events from
    sharee's mailbox"; outlook-create-event-in-shared-delegated-calendar.md, step 2; event-update.md and
    event-delete.md list `/me/calendars/{id}/events/{id}`). The owner's mailbox path
    `/users/{owner}/calendars/{id}` is never used: its ids are the owner's, not the ones the user's list gives
    (the same page), so nothing documents it for them. The owner (the `owner.address` GET /me/calendars gave
    when the user saved calendars, CalendarConnection.*_owner, or the one the calendar list gives now) is kept
    to tell a shared calendar from the user's own, and to name it when the share is withdrawn."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        access_token: str,
        *,
        owns_client: bool,
        owners: dict[str, str] | None = None,
        names: dict[str, str] | None = None,
        sync_calendar_id: str = "",
    ) -> None:
        self.http = http
        self.max_concurrency = settings.SYNC_MAX_CONCURRENCY_PER_MAILBOX
        self._headers = {
            "Authorization": f"Bearer {access_token}",
            "Prefer": PREFER,
            "Content-Type": "application/json",
        }
        self._owns_client = owns_client
        self.pacer = Pacer()  # this mailbox's Retry-After and the backoff of retries (one for every request)
        self.prefer = PREFER
        self._calendar_ids: list[str] | None = None  # the mailbox's calendars, listed once per step
        # calendar id -> the address of the mailbox it lives in when another person shared it, '' for the
        # user's own; calendars not in here are learnt from the calendar list (owner_of).
        self._owners: dict[str, str] = dict(owners or {})
        self._names: dict[str, str] = dict(names or {})  # calendar id -> name, for messages
        self.sync_calendar_id = sync_calendar_id

    async def owner_of(self, calendar_id: str) -> str:
        """Whose mailbox the calendar is in ('' = the user's own), listing the calendars once if unknown."""
        if not calendar_id:
            return ""
        if calendar_id not in self._owners and self._calendar_ids is None:
            try:
                await self._mailbox_calendars()
            except ProviderError:
                return ""  # the request itself will say what is wrong
        return self._owners.get(calendar_id, "")

    def known_owner(self, calendar_id: str) -> str:
        """owner_of without a request: what Save Calendars recorded or the calendar list said."""
        return self._owners.get(calendar_id, "")

    def _unlisted(self, calendar_id: str) -> bool:
        """A calendar other than the one chosen to sync with that the calendar list (read this step) lacks."""
        return bool(
            calendar_id
            and calendar_id != self.sync_calendar_id
            and self._calendar_ids is not None
            and calendar_id not in self._calendar_ids
        )

    def calendar_path(self, calendar_id: str) -> str:
        """user-post-events.md / calendar-list-events.md / calendar-list-calendarview.md:
        `/me/calendars/{id}`, for the user's own calendars and for those shared with the user alike."""
        return f"/me/calendars/{quote(calendar_id, safe='')}"

    def event_path(self, event_id: str, calendar_id: str = "") -> str:
        """event-update.md / event-delete.md / event-get.md: `/me/events/{id}` for an event in the user's own
        mailbox; `/me/calendars/{id}/events/{id}` for one in a calendar another person shared (the documented
        sharee path; `/me/events` is the user's own mailbox)."""
        if calendar_id and self.known_owner(calendar_id):
            return f"{self.calendar_path(calendar_id)}/events/{quote(event_id, safe='')}"
        return f"/me/events/{quote(event_id, safe='')}"

    def refusal(self, error: ProviderError, calendar_id: str, owner: str) -> ProviderError:
        """A 403 on another person's calendar: the share is gone or read-only. On the calendar chosen to sync
        shifts with (or one we do not know), the connection stops with a message naming the calendar and its
        owner. On a calendar no longer chosen (an event left there when the user switched), ShiftDesk can no
        longer reach the event: it is forgotten like a deleted one (not_found), so choosing another calendar
        after a withdrawn share does not stop the connection again. Other errors are left as they are.

        A 403 for a calendar whose owner is not known and that the user's calendar list no longer shows (a link
        left in a shared calendar after the share was withdrawn and the user chose another: nothing says whose
        it was, so its event is reached through /me/events/{id}, where Graph's answer is not documented) is
        taken the same way: the user's own calendars are always listed, so it was another person's."""
        if error.status == 403 and not owner and self._unlisted(calendar_id):
            return ProviderError(
                "The calendar this event is in is no longer shared with you; the event is left there.",
                permanent=True, not_found=True, status=error.status,
            )  # fmt: skip
        if not owner or error.status != 403:
            return error
        if calendar_id and self.sync_calendar_id and calendar_id != self.sync_calendar_id:
            return ProviderError(
                f"{owner} no longer lets you change the calendar this event is in; it is left there.",
                permanent=True, not_found=True, status=error.status,
            )  # fmt: skip
        return shared_calendar_refused(owner, self._names.get(calendar_id, ""), error.status)

    async def _on(self, calendar_id: str, owner: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._request(method, url, **kwargs)
        except ProviderError as error:
            refused = self.refusal(error, calendar_id, owner)
            if refused is not error:
                refused.unanswered = error.unanswered
                raise refused from None
            raise

    async def run_one(self, op: Operation) -> None:
        """As CalendarProvider.run_one; an update or delete goes to the mailbox its calendar is in
        (op.calendar_id: the calendar the link recorded)."""
        if op.kind not in ("update", "delete"):
            await super().run_one(op)
            return
        await self.owner_of(op.calendar_id)
        started = time.perf_counter()
        before = op.sending()
        error: ProviderError | None = None
        try:
            if op.kind == "update":
                assert op.content is not None
                op.result = await self.update_event(
                    op.event_id, op.content, link_key=op.link_key, calendar_id=op.calendar_id
                )
            else:
                await self.delete_event(op.event_id, calendar_id=op.calendar_id)
        except ProviderError as failure:
            error = failure
        finally:
            op.ms = int((time.perf_counter() - started) * 1000)
        op.answered(error, before)

    async def run(self, ops: Sequence[Operation], *, deadline: float | None = None) -> None:
        """Lookups one by one (rare: after a crash or for an export), writes through $batch lanes."""
        from shiftdesk.microsoft.provider_batch import BATCHABLE, Lanes

        if settings.SYNC_GRAPH_BATCH_SIZE <= 1:
            await super().run(ops, deadline=deadline)
            return
        single = [op for op in ops if op.kind not in BATCHABLE]
        if single:
            await super().run(single, deadline=deadline)
        await Lanes(self, deadline).run([op for op in ops if op.kind in BATCHABLE])

    def __repr__(self) -> str:  # never the token
        return "<GraphCalendarProvider>"

    async def aclose(self) -> None:
        if self._owns_client:
            await self.http.aclose()

    async def _request(
        self, method: str, url: str, *, extra_headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One Graph request with the step's retries (pacing.Pacer). A failure raised after any try went
        unanswered (timeout, dropped connection, 5xx) says so (`unanswered`): it may have been carried out."""
        pacer = self.pacer
        unanswered = False
        for attempt in range(1, _TRANSIENT_TRIES + 1):
            if not await pacer.wait_for_mailbox():
                raise ProviderError(
                    "Not sent: the step ran out of time before its lease could pass to another worker.",
                    sent=False, unanswered=unanswered,
                )  # fmt: skip
            try:
                headers = {**self._headers, **extra_headers} if extra_headers else self._headers
                timeout = pacer.request_timeout(settings.HTTP_TIMEOUT_SECONDS)
                response = await self.http.request(method, url, headers=headers, timeout=timeout, **kwargs)
            except httpx.TimeoutException:
                error: ProviderError = ProviderError(
                    "Microsoft Graph did not answer in time.", unanswered=True
                )
            except httpx.TransportError as exc:
                log.info("Graph connection failed: %s", type(exc).__name__)
                error = ProviderError(
                    "Microsoft Graph could not be reached (connection failed).", unanswered=True
                )
            else:
                if response.status_code < 400:
                    return response
                error = provider_error(error_for_response(response))
                if response.status_code >= 500:
                    error.unanswered = True  # a server error may come after the request was carried out
            unanswered = unanswered or error.unanswered
            error.unanswered = unanswered
            verdict = pacer.after_failure(error, attempt, _TRANSIENT_TRIES)
            if verdict is None:
                raise error
            await pacer.sleep(verdict)
        raise AssertionError("unreachable")

    async def create_event(
        self, calendar_id: str, content: EventContent, *, link_key: str, transaction_id: str
    ) -> RemoteEvent:
        body = graph_event(content, link_key)
        body["transactionId"] = transaction_id
        owner = await self.owner_of(calendar_id)
        response = await self._on(calendar_id, owner, "POST", f"{self.calendar_path(calendar_id)}/events",
                                  content=json.dumps(body), params={"$select": "id,changeKey"})  # fmt: skip
        data = response.json()
        return RemoteEvent(id=data["id"], change_key=data.get("changeKey", ""), calendar_id=calendar_id)

    async def update_event(
        self, event_id: str, content: EventContent, *, link_key: str, calendar_id: str = ""
    ) -> RemoteEvent:
        """`calendar_id`: the calendar the event is in, so an event in a calendar another person shared is
        patched through that calendar (the engine's operations carry it; run_one learns its owner)."""
        owner = self.known_owner(calendar_id)
        response = await self._on(calendar_id, owner, "PATCH", self.event_path(event_id, calendar_id),
                                  content=json.dumps(graph_event(content, link_key)),
                                  params={"$select": "id,changeKey"})  # fmt: skip
        data = response.json()
        return RemoteEvent(id=data.get("id", event_id), change_key=data.get("changeKey", ""))

    async def delete_event(self, event_id: str, *, calendar_id: str = "") -> None:
        owner = self.known_owner(calendar_id)
        await self._on(calendar_id, owner, "DELETE", self.event_path(event_id, calendar_id))

    async def _mailbox_calendars(self) -> list[str]:
        if self._calendar_ids is None:
            self._calendar_ids = [c.id for c in await self.list_calendars()]
        return self._calendar_ids

    async def find_by_link(self, link_key: str, *, calendar_ids: Sequence[str] = ()) -> RemoteEvent | None:
        """Search `calendar_ids` (the chosen calendar, then those a link or the connection recorded), then
        every other calendar of the mailbox, each through its documented path
        `GET /me/calendars/{id}/events?$filter=singleValueExtendedProperties/Any(...)`: `/me/events` is the
        default calendar only (https://learn.microsoft.com/graph/api/user-list-events). The first calendar
        holding it says where it is. If a crash ever left two events with one key in that calendar, the
        first is kept and the others deleted."""
        escaped = link_key.replace("'", "''")
        params = {
            "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{LINK_PROPERTY_ID}' and ep/value eq '{escaped}')",
            "$select": "id,changeKey",
        }
        searched: set[str] = set()
        order = [c for c in calendar_ids if c]
        rest: list[str] | None = None
        while True:
            if not order:
                if rest is not None:
                    return None
                rest = [c for c in await self._mailbox_calendars() if c not in searched]
                order = rest
                if not order:
                    return None
            calendar_id = order.pop(0)
            if calendar_id in searched:
                continue
            searched.add(calendar_id)
            owner = await self.owner_of(calendar_id)
            try:
                response = await self._request(
                    "GET", f"{self.calendar_path(calendar_id)}/events", params=params
                )
            except ProviderError as error:
                refused = self.refusal(error, calendar_id, owner)
                if refused.not_found:
                    continue  # a recorded calendar deleted since, or another person's no longer shared
                raise refused from None
            found = response.json().get("value", [])
            if found:
                break
        for extra in found[1:]:
            try:
                await self.delete_event(extra["id"], calendar_id=calendar_id)
            except ProviderError as error:
                if not error.not_found:
                    raise
        first = found[0]
        return RemoteEvent(first["id"], first.get("changeKey", ""), calendar_id)

    async def exists(self, event_id: str, *, calendar_id: str = "") -> RemoteEvent | None:
        """Whether the event still exists, which calendar it is in, and its start/end (UTC: no
        outlook.timezone preference is sent), so the engine can tell an event the user moved.

        The calendar is learnt through documented paths only: `GET /me/calendars/{id}/events/{event-id}`
        answers for the calendar we wrote it to, then for each other calendar of the mailbox. Nothing
        documents that the id `$expand=calendar` returns equals the ids of `/me/calendars` (issue 13), so it
        is never compared with them. An event of ours in none of them (a calendar group Graph does not list)
        is found through `/me/events/{id}` and reported with an empty calendar. An event we wrote into a
        calendar another person shared is looked for through that calendar, then the user's other calendars:
        nothing documented reaches the rest of the owner's mailbox, so one the owner moved to a calendar not
        shared with the user is reported missing."""
        select = {"$select": "id,changeKey,start,end"}
        candidates = [calendar_id] if calendar_id else []
        listed = False
        found: dict[str, Any] | None = None
        while True:
            for candidate in candidates:
                owner = await self.owner_of(candidate)
                try:
                    response = await self._request(
                        "GET",
                        f"{self.calendar_path(candidate)}/events/{quote(event_id, safe='')}",
                        params=select,
                    )
                except ProviderError as error:
                    refused = self.refusal(error, candidate, owner)
                    if refused.not_found:
                        continue
                    raise refused from None
                return self._event(response.json(), candidate)
            if listed:
                break
            if calendar_id and not await self.owner_of(calendar_id):
                # Not where we wrote it: does it still exist at all? (One request when it was deleted.)
                try:
                    response = await self._request("GET", self.event_path(event_id), params=select)
                except ProviderError as error:
                    if error.not_found:
                        return None
                    raise
                found = response.json()
            listed = True
            candidates = [c for c in await self._mailbox_calendars() if c != calendar_id]
        return self._event(found, "") if found is not None else None

    @staticmethod
    def _event(data: dict[str, Any], calendar_id: str) -> RemoteEvent:
        return RemoteEvent(data["id"], data.get("changeKey", ""), calendar_id,
                           graph_instant(data.get("start")), graph_instant(data.get("end")))  # fmt: skip

    async def changes(
        self, calendar_id: str, start: datetime, end: datetime, next_link: str = ""
    ) -> ChangeSet | None:
        """calendarView/delta on the sync calendar (https://learn.microsoft.com/graph/delta-query-events):
        a first round lists every event in the window, later rounds (the deltaLink) what changed since, and
        `@removed` for the ones that left. Times come in UTC (no outlook.timezone preference is sent)."""
        owner = await self.owner_of(calendar_id)
        if next_link:
            url, params = next_link, None
        else:
            # A calendar another person shared too: /me/calendars/{id}/calendarView/delta with the id the
            # user's calendar list gives (outlook-get-shared-events-calendars.md, from sharee's mailbox).
            url = f"{self.calendar_path(calendar_id)}/calendarView/delta"
            params = {"startDateTime": utc_param(start), "endDateTime": utc_param(end)}
        changed: list[RemoteEvent] = []
        removed: list[str] = []
        headers = {"Prefer": f"{self.prefer}, odata.maxpagesize=200"}
        while True:
            response = await self._on(calendar_id, owner, "GET", url, params=params, extra_headers=headers)
            data = response.json()
            for item in data.get("value", []):
                if "@removed" in item:
                    removed.append(item["id"])
                else:
                    changed.append(RemoteEvent(item["id"], item.get("changeKey", ""), calendar_id,
                                               graph_instant(item.get("start")), graph_instant(item.get("end"))))  # fmt: skip
            if data.get("@odata.nextLink"):
                url, params = data["@odata.nextLink"], None
                continue
            return ChangeSet(changed, removed, data.get("@odata.deltaLink", ""))

    async def list_calendars(self) -> list[RemoteCalendar]:
        """GET /me/calendars (with Calendars.ReadWrite.Shared it also lists calendars others shared with the
        user, each with its `owner`). One whose owner is not the default calendar's is another person's:
        its owner is remembered for the paths above (microsoft.graph.GraphClient.list_calendars does the same)."""
        response = await self._request("GET", "/me/calendars")
        rows = response.json().get("value", [])
        own = {
            str((c.get("owner") or {}).get("address") or "").lower()
            for c in rows
            if c.get("isDefaultCalendar")
        } - {""}
        for c in rows:
            address = str((c.get("owner") or {}).get("address") or "")
            shared = bool(own and address and address.lower() not in own)
            if c["id"] not in self._owners or shared:
                self._owners[c["id"]] = address if shared else ""
        return [
            RemoteCalendar(
                c["id"], c.get("name", ""), bool(c.get("isDefaultCalendar")), bool(c.get("canEdit", True))
            )
            for c in rows
        ]


class GraphBackend(ProviderBackend):
    """How the engine reaches Graph: the Azure AD OAuth 2 switch, MSAL tokens, an async client."""

    def disabled_reason(self) -> str:
        from shiftdesk.microsoft.models import AzureADSettings

        if not AzureADSettings.load().is_active:
            return "Calendar Sync with Azure AD OAuth 2 is not enabled on this ShiftDesk system."
        return ""

    def credentials(self, connection: CalendarConnection, *, force_refresh: bool = False) -> str:
        from shiftdesk.microsoft.auth import acquire_access_token, without_access_tokens

        if force_refresh:
            # Graph refused the cached access token (401): hand MSAL the cache without access tokens so
            # it must use the refresh token; the rotated cache is stored by acquire_access_token.
            connection.credentials = without_access_tokens(connection.credentials)
        try:
            return acquire_access_token(connection)
        except IntegrationDisabled as error:
            raise ProviderError(error.message) from None
        except MicrosoftError as error:
            raise provider_error(error) from None

    def open(
        self, connection: CalendarConnection, credential: str, *, client: Any = None
    ) -> CalendarProvider:
        # The chosen calendars and whose mailbox each is in ('' = the user's own), as saved by Save Calendars.
        owners = {
            connection.freebusy_calendar_id: connection.freebusy_calendar_owner,
            connection.sync_calendar_id: connection.sync_calendar_owner,
        }
        owners.pop("", None)
        names = {connection.sync_calendar_id: connection.sync_calendar_name}
        options = {"owners": owners, "names": names, "sync_calendar_id": connection.sync_calendar_id}
        if client is None:
            return GraphCalendarProvider(async_graph_client(), credential, owns_client=True, **options)
        return GraphCalendarProvider(client, credential, owns_client=False, **options)

    def requests_in_flight(self, operations: int) -> int:
        """Writes go in $batch lanes of up to SYNC_GRAPH_BATCH_SIZE chained items, one request in flight
        each: a lane per full batch, so each $batch request's own round trip is spread over as many writes
        as it can carry (40 writes: 2 lanes of 20, not 4 of 10), and the worker's budget of requests in
        flight goes to other mailboxes. bench/sync_bulk.py: drain ratio 1.23 with 4 lanes of 10."""
        size = settings.SYNC_GRAPH_BATCH_SIZE
        if size <= 1:
            return super().requests_in_flight(operations)
        return max(1, min(settings.SYNC_MAX_CONCURRENCY_PER_MAILBOX, math.ceil(operations / size)))

    def new_client(self) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=settings.SYNC_MAX_CONCURRENCY_PER_MAILBOX * 4)
        return async_graph_client(limits=limits)


__all__ = ["GraphBackend", "GraphCalendarProvider", "LINK_PROPERTY_ID", "Operation", "GraphError"]
