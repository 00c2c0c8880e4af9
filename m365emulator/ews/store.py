"""EWS's view of the Graph mailboxes: the same Mailbox/Calendar/Event objects, seen through EWS ids and folders.

Nothing here keeps a second copy of a calendar: an item created through EWS is a Graph Event (so GET
/me/events and the Outlook viewer show it) and vice versa. What EWS adds:
- ids: an EWS ItemId/FolderId is the Graph id in standard base64 (Exchange's EwsId vs RestId differ the same
  way: '+' and '/' instead of '-' and '_'); the ChangeKey is the Graph change key;
- the folder tree: a per-mailbox root ("root") holding "Top of Information Store" ("msgfolderroot"), which
  holds the default calendar ("calendar"); other calendars are its subfolders, as Outlook creates them;
- per-emulator EWS settings (EWS switched off, injected ErrorServerBusy), kept beside the state object
  without changing it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime

from m365emulator.graph import exceptions as graph_exc
from m365emulator.graph import timezones as tz
from m365emulator.graph.models import Calendar, Event, Mailbox

from . import exceptions as exc

ROOT = "root"
TOP = "msgfolderroot"
CALENDAR = "calendar"
PUBLIC_STRINGS = "{00020329-0000-0000-C000-000000000046}"


@dataclass
class EwsSettings:
    """Switches a test or demo flips on a running emulator (in process: `ews_settings(state)`)."""

    enabled: bool = (
        True  # False: every EWS request gets 403, as with Set-OrganizationConfig -EwsEnabled $false
    )
    disabled_users: set[str] = field(default_factory=set)  # oids with Set-CASMailbox -EwsEnabled $false
    busy_requests: int = 0  # the next N authenticated requests get the ErrorServerBusy fault
    busy_back_off_ms: int = 5000
    basic_auth: bool = True
    ntlm_auth: bool = True
    requests: int = 0  # authenticated requests served (tests read it to prove "no probe request")

    def take_busy(self) -> int | None:
        if self.busy_requests > 0:
            self.busy_requests -= 1
            return self.busy_back_off_ms
        return None


_settings: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def ews_settings(state: object) -> EwsSettings:
    found = _settings.get(state)
    if found is None:
        found = _settings[state] = EwsSettings()
    return found


# ---- ids -------------------------------------------------------------------------------------------------
def to_ews_id(graph_id: str) -> str:
    return graph_id.replace("-", "+").replace("_", "/")


def to_graph_id(ews_id: str) -> str:
    text = (ews_id or "").strip()
    body = text.rstrip("=")
    if len(body) < 12 or not all(ch.isascii() and (ch.isalnum() or ch in "+/") for ch in body):
        raise exc.EWSError("ErrorInvalidIdMalformed")
    return body.replace("+", "-").replace("/", "_")


def check_change_key(change_key: str) -> None:
    try:
        base64.b64decode(change_key, validate=True)
    except (binascii.Error, ValueError):
        raise exc.EWSError("ErrorInvalidChangeKey") from None


def special_folder_id(mailbox: Mailbox, name: str) -> str:
    raw = b"\x01" + hashlib.sha256(f"{mailbox.oid}:{name}".encode()).digest() + b"\x00" * 9
    return base64.b64encode(raw).decode()


@dataclass
class Folder:
    """A folder as EWS shows it: the two special parents, or a calendar."""

    id: str
    change_key: str
    name: str
    parent_id: str
    calendar: Calendar | None = None
    distinguished: str | None = None

    @property
    def is_calendar(self) -> bool:
        return self.calendar is not None


def _special(mailbox: Mailbox, name: str) -> Folder:
    parent = "" if name == ROOT else special_folder_id(mailbox, ROOT)
    display = "" if name == ROOT else "Top of Information Store"
    key = base64.b64encode(hashlib.sha256(f"ck:{mailbox.oid}:{name}".encode()).digest()[:18]).decode()
    return Folder(special_folder_id(mailbox, name), key, display, parent, None, name)


def folder_of(mailbox: Mailbox, cal: Calendar) -> Folder:
    parent = special_folder_id(mailbox, TOP) if cal.is_default else to_ews_id(mailbox.default_calendar.id)
    return Folder(
        to_ews_id(cal.id), cal.change_key, cal.name, parent, cal, CALENDAR if cal.is_default else None
    )


def distinguished_folder(mailbox: Mailbox, name: str) -> Folder:
    if name in (ROOT, TOP):
        return _special(mailbox, name)
    if name == CALENDAR:
        return folder_of(mailbox, mailbox.default_calendar)
    # A real mailbox has inbox, contacts, tasks...; the emulator serves calendars only.
    raise exc.folder_not_found()


def folder_by_id(mailbox: Mailbox, ews_id: str) -> Folder:
    for name in (ROOT, TOP):
        if ews_id == special_folder_id(mailbox, name):
            return _special(mailbox, name)
    cal = mailbox.calendars.get(to_graph_id(ews_id))
    if cal is None:
        raise exc.folder_not_found()
    return folder_of(mailbox, cal)


def all_folders(mailbox: Mailbox) -> list[Folder]:
    default = mailbox.default_calendar
    others = [c for c in mailbox.calendars.values() if not c.is_default]
    return [
        _special(mailbox, TOP),
        folder_of(mailbox, default),
        *(folder_of(mailbox, c) for c in others),
    ]


def child_folders(mailbox: Mailbox, parent: Folder, deep: bool) -> list[Folder]:
    found = [f for f in all_folders(mailbox) if f.parent_id == parent.id]
    if deep:
        for child in list(found):
            found += child_folders(mailbox, child, deep=True)
    return found


def child_count(mailbox: Mailbox, folder: Folder) -> int:
    return len(child_folders(mailbox, folder, deep=False))


# ---- items -----------------------------------------------------------------------------------------------
def find_event(mailbox: Mailbox, ews_id: str) -> Event:
    event = mailbox.events.get(to_graph_id(ews_id))
    if event is None:
        raise exc.item_not_found()
    return event


def calendar_of(folder: Folder) -> Calendar:
    if folder.calendar is None:
        # Items other than calendar items are not emulated: a non-calendar folder holds nothing we can store.
        raise exc.EWSError("ErrorInvalidOperation", "Only calendar folders can hold items in this emulator.")
    return folder.calendar


def _graph_call(func, *args):
    try:
        return func(*args)
    except graph_exc.GraphError as err:
        if err.status == 404:
            raise exc.item_not_found() from None
        if err.code == "ErrorCalendarEndDateIsEarlierThanStartDate":
            raise exc.EWSError(err.code) from None
        if err.code == "TimeZoneNotSupportedException":
            raise exc.EWSError("ErrorTimeZone", err.message) from None
        raise exc.EWSError("ErrorInvalidPropertySet", err.message) from None


def create_event(mailbox: Mailbox, cal: Calendar, body: dict) -> Event:
    body.setdefault("subject", "")
    if "start" not in body or "end" not in body:
        raise exc.EWSError("ErrorMissingInformation", "Calendar items need a Start and an End.")
    event, _ = _graph_call(mailbox.create_event, cal.id, body)
    return event


def update_event(
    mailbox: Mailbox, event: Event, change_key: str | None, body: dict, conflict_resolution: str
) -> Event:
    """UpdateItem's rules for the ChangeKey: a malformed key is ErrorInvalidChangeKey; a stale one is
    ErrorIrresolvableConflict unless ConflictResolution="AlwaysOverwrite" (the emulator does not merge)."""
    if change_key:
        check_change_key(change_key)
        if change_key != event.change_key and conflict_resolution != "AlwaysOverwrite":
            raise exc.EWSError("ErrorIrresolvableConflict")
    elif conflict_resolution != "AlwaysOverwrite":
        # Exchange needs the ChangeKey for updates unless told to overwrite.
        raise exc.EWSError("ErrorChangeKeyRequiredForWriteOperations", "A change key is required.")
    return _graph_call(mailbox.update_event, event.id, body)


def delete_event(mailbox: Mailbox, event: Event) -> None:
    _graph_call(mailbox.delete_event, event.id)


def move_event(mailbox: Mailbox, event: Event, target: Calendar) -> Event:
    """MoveItem: Outlook gives the moved item a new id in its new folder; so do we (a new Graph event)."""
    body = {
        "subject": event.subject,
        "body": {"contentType": event.body_type, "content": event.body_content},
        "start": {"dateTime": tz.format_local(event.start, event.start_tz), "timeZone": event.start_tz},
        "end": {"dateTime": tz.format_local(event.end, event.end_tz), "timeZone": event.end_tz},
        "location": event.location or None,
        "showAs": event.show_as,
        "isAllDay": event.is_all_day,
        "isReminderOn": event.is_reminder_on,
        "reminderMinutesBeforeStart": event.reminder_minutes,
        "categories": list(event.categories),
        "importance": event.importance,
        "sensitivity": event.sensitivity,
        "singleValueExtendedProperties": [{"id": k, "value": v} for k, v in event.extended.values()],
    }
    moved = create_event(mailbox, target, body)
    delete_event(mailbox, event)
    return moved


def view(mailbox: Mailbox, cal: Calendar, start: datetime, end: datetime) -> list[Event]:
    """FindItem with a CalendarView: single instances overlapping [start, end). Series occurrences are
    not expanded for EWS (the emulator's EWS side serves single calendar items only)."""
    return [item for item in mailbox.view(cal.id, start, end) if isinstance(item, Event)]


def items_in(mailbox: Mailbox, cal: Calendar) -> list[Event]:
    return sorted(mailbox.events_in(cal.id), key=lambda e: (e.start, e.id))


# ---- extended properties -----------------------------------------------------------------------------------
def extended_key(
    set_id: str | None,
    distinguished_set: str | None,
    name: str | None,
    tag: str | None,
    prop_id: str | None,
    prop_type: str,
) -> str:
    """An EWS ExtendedFieldURI as Graph's extended property id ("String {guid} Name X"), so the same property
    is one value whether written through EWS or Graph."""
    if tag:
        return f"{prop_type} {tag}"
    guid = set_id
    if distinguished_set == "PublicStrings" or (guid is None and distinguished_set):
        guid = PUBLIC_STRINGS if distinguished_set == "PublicStrings" else distinguished_set
    guid = "{" + (guid or "").strip("{}") + "}"
    if name is not None:
        return f"{prop_type} {guid} Name {name}"
    return f"{prop_type} {guid} Id {prop_id}"


def utc_stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
