"""The EWS calendar provider: the sync engine's CalendarProvider over exchangelib (mirrors microsoft/provider.py).

exchangelib is synchronous, so each call runs in a worker thread; the base class keeps at most
`max_concurrency` in flight per mailbox. The connection's provider_settings carry the negotiated auth type and
server version, so exchangelib makes no probe request. Every event carries ShiftDesk's link key in the same
named extended property the Graph provider writes (same property set GUID and name), so an event written
through either API is found again through the other: a user who switches between OAuth and password on one
mailbox has their events adopted, not duplicated. EWS has no transactionId; creates are made idempotent by the
engine's find-before-create after an uncertain create (EventLink.create_attempted) and this property.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from exchangelib import CalendarItem, EWSDateTime, EWSTimeZone, ExtendedProperty, HTMLBody
from exchangelib.errors import ErrorItemNotFound
from exchangelib.folders import Calendar, FolderCollection

from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.calendarsync.pacing import Pacer
from shiftdesk.calendarsync.providers.base import (
    CalendarProvider,
    EventContent,
    ProviderBackend,
    ProviderError,
    RemoteCalendar,
    RemoteEvent,
)
from shiftdesk.exchange.client import (
    ExchangeError,
    ServerSettings,
    account_for,
    describe,
    is_exchange_failure,
    list_calendar_folders,
)

log = logging.getLogger(__name__)
PROVIDER = "exchange"
# Graph's "String {8f2c6a51-3b7e-4d0a-9c1f-5e6d7a8b9c0d} Name ShiftDeskLink" (microsoft.provider.LINK_PROPERTY_ID).
LINK_PROPERTY_SET = "8f2c6a51-3b7e-4d0a-9c1f-5e6d7a8b9c0d"
LINK_PROPERTY_NAME = "ShiftDeskLink"
SHOW_AS = {"free": "Free", "tentative": "Tentative", "busy": "Busy", "oof": "OOF",
           "workingElsewhere": "WorkingElsewhere"}  # fmt: skip
UPDATE_FIELDS = ["subject", "body", "start", "end", "location", "legacy_free_busy_status", "reminder_is_set",
                 "reminder_minutes_before_start", "shiftdesk_link"]  # fmt: skip
T = TypeVar("T")


class ShiftDeskLink(ExtendedProperty):
    property_set_id = LINK_PROPERTY_SET
    property_name = LINK_PROPERTY_NAME
    property_type = "String"


if "shiftdesk_link" not in {f.name for f in CalendarItem.FIELDS}:
    CalendarItem.register("shiftdesk_link", ShiftDeskLink)


def ews_datetime(value: dict[str, str]) -> EWSDateTime:
    """EventContent's {"dateTime": local wall time, "timeZone": IANA} as an aware EWSDateTime in that zone:
    exchangelib then sends the zone as StartTimeZone, so Outlook keeps the wall time across DST."""
    zone = EWSTimeZone(value["timeZone"])
    naive = dt.datetime.fromisoformat(value["dateTime"][:19])
    return EWSDateTime.from_datetime(naive.replace(tzinfo=zone))


def provider_error(error: ExchangeError) -> ProviderError:
    if error.kind == "unauthorized":
        return ProviderError(
            "The Exchange server refused the saved password (401). Enter your password again in Manage Account "
            "> Calendar Sync > Password Authentication.",
            permanent=True, reauthorize=True, status=401,
        )  # fmt: skip
    if error.kind in ("no_mailbox", "access_denied"):
        return ProviderError(error.message, permanent=True, reauthorize=True)
    if error.kind == "ews_disabled":
        return ProviderError(error.message, permanent=True, status=403)
    if error.kind == "busy":
        return ProviderError(error.message, retry_after=error.retry_after or 30.0)
    if error.kind == "not_found":
        return ProviderError(error.message, permanent=True, not_found=True, status=404)
    return ProviderError(error.message, permanent=error.kind in ("tls", "not_ews"))


class EwsCalendarProvider(CalendarProvider):
    def __init__(self, server: ServerSettings, password: str) -> None:
        self.server = server
        self.account = account_for(server, password)
        self.max_concurrency = 4
        # The step's lease budget (calendarsync.pacing.Pacer, armed by the engine): no call leaves after half
        # the lease, so a late step cannot write over the worker that took the connection over.
        self.pacer = Pacer()

    def __repr__(self) -> str:  # never the password
        return f"<EwsCalendarProvider {self.server.endpoint}>"

    async def _call(self, func: Callable[[], T]) -> T:
        if not self.pacer.may_send():
            raise ProviderError(
                "Not sent: the step ran out of time before its lease could pass to another worker.",
                sent=False,
            )

        def guarded() -> T:
            try:
                return func()
            except ErrorItemNotFound:
                raise ProviderError("The event no longer exists in Exchange.", permanent=True, not_found=True,
                                    status=404) from None  # fmt: skip
            except ProviderError:
                raise
            except Exception as exc:
                if not is_exchange_failure(exc):
                    raise
                raise provider_error(describe(exc, self.server)) from None

        return await asyncio.to_thread(guarded)

    def _folder(self, calendar_id: str) -> Calendar:
        return Calendar(root=self.account.root, id=calendar_id)

    def _fill(self, item: CalendarItem, content: EventContent, link_key: str) -> None:
        item.subject = content.subject
        item.body = HTMLBody(content.body_html)
        item.start = ews_datetime(content.start)
        item.end = ews_datetime(content.end)
        item.location = content.location or None
        item.legacy_free_busy_status = SHOW_AS.get(content.show_as, "Busy")
        item.reminder_is_set = content.reminder_minutes > 0
        item.reminder_minutes_before_start = content.reminder_minutes
        item.shiftdesk_link = link_key

    async def create_event(
        self, calendar_id: str, content: EventContent, *, link_key: str, transaction_id: str
    ) -> RemoteEvent:
        def create() -> RemoteEvent:
            item = CalendarItem(account=self.account, folder=self._folder(calendar_id))
            self._fill(item, content, link_key)
            item.save(send_meeting_invitations="SendToNone")  # no attendees: nobody is emailed
            return RemoteEvent(item.id, item.changekey, calendar_id)

        return await self._call(create)

    async def update_event(self, event_id: str, content: EventContent, *, link_key: str) -> RemoteEvent:
        def update() -> RemoteEvent:
            (current,) = self.account.fetch(
                ids=[(event_id, None)], only_fields=["changekey", "parent_folder_id"]
            )
            if isinstance(current, Exception):
                raise current
            self._fill(current, content, link_key)
            # ShiftDesk owns these events: its content wins over an edit made in Outlook meanwhile.
            current.save(update_fields=UPDATE_FIELDS, conflict_resolution="AlwaysOverwrite",
                         send_meeting_invitations="SendToNone")  # fmt: skip
            return RemoteEvent(current.id, current.changekey, current.parent_folder_id.id)

        return await self._call(update)

    async def delete_event(self, event_id: str) -> None:
        def delete() -> None:
            (result,) = self.account.bulk_delete(
                ids=[(event_id, None)], send_meeting_cancellations="SendToNone"
            )
            if isinstance(result, Exception):
                raise result

        await self._call(delete)

    async def find_by_link(self, link_key: str, *, calendar_ids: Sequence[str] = ()) -> RemoteEvent | None:
        """The given calendars first (the chosen one, then those recorded), then every other calendar folder
        of the mailbox. Duplicates (a create that reached Exchange twice) beyond the first are deleted."""

        def find() -> RemoteEvent | None:
            given = [c for c in dict.fromkeys(calendar_ids) if c]
            folders: list[Any] = [self._folder(c) for c in given]
            found: list[Any] = []
            for pass_folders in (folders, None):
                if pass_folders is None:
                    pass_folders = [f for f, _ in list_calendar_folders(self.account) if f.id not in given]
                for folder in pass_folders:
                    hits = list(FolderCollection(account=self.account, folders=[folder])
                                .filter(shiftdesk_link=link_key).only("changekey", "parent_folder_id"))  # fmt: skip
                    found += [(hit, folder.id) for hit in hits]
                if found:
                    break
            if not found:
                return None
            extras = [(hit.id, hit.changekey) for hit, _ in found[1:]]
            if extras:
                self.account.bulk_delete(ids=extras, send_meeting_cancellations="SendToNone")
            hit, folder_id = found[0]
            return RemoteEvent(hit.id, hit.changekey, folder_id)

        return await self._call(find)

    async def exists(self, event_id: str, *, calendar_id: str = "") -> RemoteEvent | None:
        """EWS says which folder an item is in (its parent folder id, from GetItem)."""

        def get() -> RemoteEvent | None:
            (item,) = self.account.fetch(
                ids=[(event_id, None)], only_fields=["changekey", "parent_folder_id"]
            )
            if isinstance(item, ErrorItemNotFound):
                return None
            if isinstance(item, Exception):
                raise item
            return RemoteEvent(item.id, item.changekey, item.parent_folder_id.id)

        return await self._call(get)

    async def list_calendars(self) -> list[RemoteCalendar]:
        def calendars() -> list[RemoteCalendar]:
            return [
                RemoteCalendar(f.id, f.name, default) for f, default in list_calendar_folders(self.account)
            ]

        return await self._call(calendars)


class ExchangeBackend(ProviderBackend):
    """How the engine reaches EWS: the Password Authentication switch, the stored password, a provider."""

    def disabled_reason(self) -> str:
        from shiftdesk.exchange.models import ExchangeSettings

        if not ExchangeSettings.load().enabled:
            return "Calendar Sync with Password Authentication is not enabled on this ShiftDesk system."
        return ""

    def credentials(self, connection: CalendarConnection, *, force_refresh: bool = False) -> str:
        # A password cannot be refreshed: a refused one needs the user (ProviderError(reauthorize=True)).
        if not connection.credentials:
            raise ProviderError("No password is saved for this connection.", permanent=True, reauthorize=True)
        return connection.credentials

    def open(
        self, connection: CalendarConnection, credential: str, *, client: Any = None
    ) -> CalendarProvider:
        return EwsCalendarProvider(ServerSettings.from_dict(connection.provider_settings), credential)


__all__ = ["EwsCalendarProvider", "ExchangeBackend", "LINK_PROPERTY_NAME", "LINK_PROPERTY_SET", "PROVIDER"]
