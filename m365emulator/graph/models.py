"""Graph state: per-mailbox calendars and events with Outlook's rules (ids, change keys, transactionId, If-Match)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..faults import FaultConfig
from . import exceptions as exc
from . import recurrence as rec
from . import timezones as tz
from .eventfields import apply_event_body
from .throttling import Throttle

ID_PREFIX = "AAMkA"
OTHER_ENCODING_PREFIX = "AQMkA"  # variants.expand_calendar_id "different_encoding": same folder, other string


def other_encoding(calendar_id: str) -> str:
    """The same calendar folder's id in the other encoding some Graph answers use (variant, point 3)."""
    if calendar_id.startswith(ID_PREFIX):
        return OTHER_ENCODING_PREFIX + calendar_id[len(ID_PREFIX) :]
    return calendar_id


def sharee_mark(sharee_oid: str) -> bytes:
    """The last 9 bytes of every id a sharee's mailbox gives an item of a shared calendar (GraphState.new_id
    ends a mailbox's own ids with another mark), so an id that cannot be one is told without a look at the
    shares."""
    return hashlib.sha256(f"sharee:{sharee_oid}".encode()).digest()[:9]


def now_utc() -> datetime:
    return datetime.now(UTC)


def looks_like_id(value: str) -> bool:
    """Graph ids are base64url text starting with AA; anything else is 'malformed', not 'not found'."""
    if len(value) < 12 or not value.startswith("AA"):
        return False
    body = value.rstrip("=")
    return all(ch.isalnum() or ch in "-_" for ch in body)


@dataclass
class GraphSettings:
    subscription_max_minutes: int = 10080
    notification_ca_file: str | None = None
    validation_timeout_seconds: float = 10.0
    allow_http_notifications: bool = False  # Graph demands https; a local demo may opt out


@dataclass
class Calendar:
    id: str
    name: str
    change_key: str
    is_default: bool = False
    color: str = "auto"
    hex_color: str = ""
    # Shared with other mailboxes of the tenant: recipient oid -> "read" | "write" (the owner shares it in
    # Outlook; concepts/outlook-share-or-delegate-calendar.md). Withdrawn = removed from here.
    shares: dict[str, str] = field(default_factory=dict)


@dataclass
class Event:
    id: str
    calendar_id: str
    created: datetime
    modified: datetime
    change_key: str
    ical_uid: str
    seq: int = 0
    subject: str = ""
    body_type: str = "html"
    body_content: str = ""
    start: datetime = field(default_factory=now_utc)
    end: datetime = field(default_factory=now_utc)
    start_tz: str = "UTC"
    end_tz: str = "UTC"
    is_all_day: bool = False
    show_as: str = "busy"
    importance: str = "normal"
    sensitivity: str = "normal"
    is_reminder_on: bool = True
    reminder_minutes: int = 15
    response_requested: bool = True
    location: dict = field(default_factory=dict)
    locations: list = field(default_factory=list)
    categories: list = field(default_factory=list)
    attendees: list = field(default_factory=list)
    recurrence: dict | None = None
    transaction_id: str | None = None
    extended: dict[str, list[str]] = field(default_factory=dict)  # lower(id) -> [id, value]
    cancelled_dates: list[str] = field(default_factory=list)  # deleted occurrences of a series (ISO dates)
    exceptions: dict[str, dict] = field(default_factory=dict)  # ISO date -> changed fields of that occurrence
    # The id Graph shows without `Prefer: IdType="ImmutableId"` ("" = the same as `id`). Outlook's regular ids
    # change when an item moves to another folder (concepts/outlook-immutable-id.md); `id` is the immutable id.
    regular_id: str = ""

    @property
    def etag(self) -> str:
        return f'W/"{self.change_key}"'

    def matches_etag(self, if_match: str | None) -> bool:
        if not if_match or if_match.strip() == "*":
            return True
        tag = if_match.strip().removeprefix("W/").strip('"')
        return tag == self.change_key


@dataclass
class Occurrence:
    """One expanded instance of a series master in a calendar view."""

    id: str
    master: Event
    start: datetime
    end: datetime
    overrides: dict = field(default_factory=dict)  # an exception: fields changed on this occurrence only

    def view(self) -> Event:
        """The master as this occurrence shows it (with an exception's changes applied)."""
        if not self.overrides:
            return self.master
        fields = {k: v for k, v in self.overrides.items() if k in OCCURRENCE_FIELDS}
        return dataclasses.replace(self.master, **fields)


# What a single occurrence's PATCH may change (an Outlook "exception"); times are stored separately.
OCCURRENCE_FIELDS = (
    "subject", "body_type", "body_content", "show_as", "importance", "sensitivity", "is_reminder_on",
    "reminder_minutes", "location", "locations", "categories",
)  # fmt: skip


@dataclass
class SyncState:
    calendar_id: str
    start: datetime
    end: datetime
    known: set[str]
    seq: int = -1  # the state's change sequence when this round was answered


class Mailbox:
    def __init__(
        self, graph: GraphState, oid: str, display_name: str, address: str, time_zone: str, personal: bool
    ):
        self.graph = graph
        self.oid = oid
        self.display_name = display_name
        self.address = address
        self.time_zone = time_zone if tz.is_known(time_zone) else "UTC"
        self.is_personal = personal
        self.calendars: dict[str, Calendar] = {}
        self.events: dict[str, Event] = {}
        self.transactions: dict[str, str] = {}
        self.occurrences: dict[str, tuple[str, str]] = {}  # occurrence id -> (master id, ISO date)
        self.sync_states: dict[str, SyncState] = {}
        self.pages: dict[str, tuple[list[dict], str]] = {}  # delta skiptoken -> (remaining items, deltatoken)
        self.regular_ids: dict[str, str] = {}  # regular id of a moved event -> its immutable id
        self.create_calendar("Calendar", default=True)

    # ---- calendars -------------------------------------------------------------------------------
    @property
    def default_calendar(self) -> Calendar:
        return next(c for c in self.calendars.values() if c.is_default)

    def create_calendar(self, name: object, default: bool = False) -> Calendar:
        if not isinstance(name, str) or not name.strip():
            raise exc.GraphError(400, "ErrorInvalidRequest", "The calendar name is missing.")
        if any(c.name.lower() == name.lower() for c in self.calendars.values()):
            raise exc.GraphError(409, "ErrorFolderExists", "A folder with the specified name already exists.")
        cal = Calendar(self.graph.new_id(self.oid, "calendar"), name, self.graph.new_change_key(), default)
        self.calendars[cal.id] = cal
        return cal

    def calendar(self, calendar_id: str) -> Calendar:
        if calendar_id in self.calendars:
            return self.calendars[calendar_id]
        if calendar_id.startswith(OTHER_ENCODING_PREFIX):  # the other encoding names the same folder
            same = ID_PREFIX + calendar_id[len(OTHER_ENCODING_PREFIX) :]
            if same in self.calendars:
                return self.calendars[same]
        if not looks_like_id(calendar_id):
            raise exc.id_malformed()
        raise exc.item_not_found()

    def rename_calendar(self, calendar_id: str, body: dict) -> Calendar:
        cal = self.calendar(calendar_id)
        for key, value in body.items():
            if key == "name":
                if not isinstance(value, str) or not value.strip():
                    raise exc.GraphError(400, "ErrorInvalidRequest", "The calendar name is missing.")
                cal.name = value
            elif key == "color":
                cal.color = str(value)
            elif key not in ("id", "changeKey", "@odata.etag", "@odata.context"):
                raise exc.unknown_property(key, "microsoft.graph.calendar")
        cal.change_key = self.graph.new_change_key()
        return cal

    def delete_calendar(self, calendar_id: str) -> None:
        cal = self.calendar(calendar_id)
        if cal.is_default:
            raise exc.GraphError(
                400, "ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted."
            )
        for event in [e for e in self.events.values() if e.calendar_id == cal.id]:
            self._remove(event)
        del self.calendars[cal.id]

    # ---- events ----------------------------------------------------------------------------------
    def move_event(self, event: Event, calendar_id: str) -> None:
        """The user moves the event to another calendar: its immutable id stays; its regular id changes, and
        the old regular id no longer finds it (concepts/outlook-immutable-id.md)."""
        cal = self.calendar(calendar_id)
        if event.calendar_id == cal.id:
            return
        self.regular_ids.pop(event.regular_id, None)
        event.calendar_id = cal.id
        raw = hashlib.sha256(f"{event.id}:{cal.id}".encode()).digest() + b"\x02" * 9
        event.regular_id = ID_PREFIX + base64.urlsafe_b64encode(b"\x00" + raw).decode()
        self.regular_ids[event.regular_id] = event.id
        self.touch(event)
        self.graph.changed(self, event, "updated")

    def shown_id(self, event_id: str) -> str:
        """The id shown without the ImmutableId preference."""
        event = self.events.get(event_id)
        return event.regular_id if event is not None and event.regular_id else event_id

    def event(self, event_id: str) -> Event:
        event_id = self.regular_ids.get(event_id, event_id)
        found = self.events.get(event_id)
        if found is not None:
            return found
        if not looks_like_id(event_id):
            raise exc.id_malformed()
        raise exc.item_not_found()

    def find(self, event_id: str) -> Event | Occurrence:
        """An event, or an occurrence of a series by its occurrence id (a regular id of a moved event too)."""
        if event_id in self.occurrences:
            master_id, day = self.occurrences[event_id]
            master = self.events.get(master_id)
            if master is not None and day not in master.cancelled_dates:
                return self._occurrence(master, datetime.fromisoformat(day).date())
            raise exc.item_not_found()
        return self.event(event_id)

    def create_event(self, calendar_id: str | None, body: object) -> tuple[Event, bool]:
        """Create an event; returns (event, created). A repeated transactionId returns the first event."""
        cal = self.calendar(calendar_id) if calendar_id else self.default_calendar
        if not isinstance(body, dict):
            raise exc.bad_request("Empty Payload. JSON content expected.")
        txn = body.get("transactionId")
        if txn is not None and not isinstance(txn, str):
            raise exc.bad_request("Cannot convert a primitive value to the expected type 'Edm.String'.")
        if txn and txn in self.transactions and self.transactions[txn] in self.events:
            return self.events[self.transactions[txn]], False
        if "start" not in body or "end" not in body:
            raise exc.GraphError(
                400,
                "ErrorInvalidRequest",
                "Your request can't be completed. An event needs a start and an end.",
            )
        stamp = now_utc()
        event = Event(
            id=self.graph.new_id(self.oid, "event"),
            calendar_id=cal.id,
            created=stamp,
            modified=stamp,
            change_key=self.graph.new_change_key(),
            ical_uid="",
            start_tz=self.time_zone,
            end_tz=self.time_zone,
        )
        event.ical_uid = (
            "040000008200E00074C5B7101A82E008" + hashlib.sha256(event.id.encode()).hexdigest()[:80].upper()
        )
        apply_event_body(event, body, creating=True)
        if event.recurrence is not None:
            self._check_series_start(event)
        event.transaction_id = txn or None
        if txn:
            self.transactions[txn] = event.id
        self.graph.seq += 1
        event.seq = self.graph.seq
        self.events[event.id] = event
        self.graph.changed(self, event, "created")
        return event, True

    def update_event(self, event_id: str, body: object, if_match: str | None = None) -> Event | Occurrence:
        target = self.find(event_id)
        if not isinstance(body, dict):
            raise exc.bad_request("Empty Payload. JSON content expected.")
        if isinstance(target, Occurrence):
            return self._update_occurrence(event_id, target, body, if_match)
        if not target.matches_etag(if_match):
            raise exc.irresolvable_conflict()
        txn = body.get("transactionId")
        if txn is not None and txn != target.transaction_id:
            raise exc.GraphError(
                400, "ErrorInvalidPropertySet", "The transactionId of an event cannot be changed."
            )
        apply_event_body(target, body, creating=False)
        if target.recurrence is not None:
            self._check_series_start(target)
        self.touch(target)
        self.graph.changed(self, target, "updated")
        return target

    def _update_occurrence(
        self, occ_id: str, occ: Occurrence, body: dict, if_match: str | None
    ) -> Occurrence:
        """PATCH on one occurrence makes it an exception: the series keeps its pattern."""
        master = occ.master
        if not master.matches_etag(if_match):
            raise exc.irresolvable_conflict()
        for key in ("recurrence", "singleValueExtendedProperties", "transactionId", "isAllDay", "attendees"):
            if key in body:
                raise exc.GraphError(
                    400,
                    "ErrorInvalidRequest",
                    f"The property '{key}' cannot be changed on a single occurrence.",
                )
        copy = dataclasses.replace(occ.view(), start=occ.start, end=occ.end, recurrence=None, exceptions={})
        apply_event_body(copy, body, creating=False)
        day = self.occurrences[occ_id][1]
        changed = {
            name: getattr(copy, name)
            for name in OCCURRENCE_FIELDS
            if getattr(copy, name) != getattr(master, name)
        }
        changed.update(start=copy.start.isoformat(), end=copy.end.isoformat())
        master.exceptions[day] = changed
        self.touch(master)
        self.graph.changed(self, master, "updated")
        return self._occurrence(master, datetime.fromisoformat(day).date())

    def touch(self, event: Event) -> None:
        event.modified = now_utc()
        event.change_key = self.graph.new_change_key()
        self.graph.seq += 1
        event.seq = self.graph.seq

    def delete_event(self, event_id: str, if_match: str | None = None) -> None:
        target = self.find(event_id)
        if isinstance(target, Occurrence):
            day = self.occurrences[event_id][1]
            target.master.cancelled_dates.append(day)
            target.master.exceptions.pop(day, None)
            self.touch(target.master)
            self.graph.changed(self, target.master, "updated")
            return
        if not target.matches_etag(if_match):
            raise exc.irresolvable_conflict()
        self._remove(target)

    def _remove(self, event: Event) -> None:
        self.events.pop(event.id, None)
        self.regular_ids.pop(event.regular_id, None)
        if event.transaction_id:
            self.transactions.pop(event.transaction_id, None)
        self.graph.seq += 1
        self.graph.changed(self, event, "deleted")

    def _check_series_start(self, event: Event) -> None:
        assert event.recurrence is not None
        local_start = event.start.astimezone(tz.zone(event.start_tz)).date()
        event.recurrence["range"]["startDate"] = (
            event.recurrence["range"]["startDate"] or local_start.isoformat()
        )
        if event.recurrence["range"].get("recurrenceTimeZone") in ("", None):
            event.recurrence["range"]["recurrenceTimeZone"] = event.start_tz

    # ---- views -----------------------------------------------------------------------------------
    def events_in(self, calendar_id: str | None) -> list[Event]:
        cal_id = calendar_id or self.default_calendar.id
        return [e for e in self.events.values() if e.calendar_id == cal_id]

    def _occurrence(self, master: Event, day: Any) -> Occurrence:
        zone = tz.zone(master.start_tz)
        local_start = master.start.astimezone(zone)
        duration = master.end - master.start
        start = (
            datetime.combine(day, local_start.timetz().replace(tzinfo=None))
            .replace(tzinfo=zone)
            .astimezone(UTC)
        )
        occ_id = self.graph.occurrence_id(master.id, day.isoformat())
        self.occurrences[occ_id] = (master.id, day.isoformat())
        changed = master.exceptions.get(day.isoformat())
        if changed:
            start, end = datetime.fromisoformat(changed["start"]), datetime.fromisoformat(changed["end"])
            return Occurrence(occ_id, master, start, end, changed)
        return Occurrence(occ_id, master, start, start + duration)

    def view(self, calendar_id: str | None, start: datetime, end: datetime) -> list[Event | Occurrence]:
        """calendarView: single instances and expanded occurrences overlapping [start, end), by start time."""
        items: list[Event | Occurrence] = []
        for event in self.events_in(calendar_id):
            if event.recurrence is None:
                if (
                    event.start < end
                    and event.end > start
                    and (event.end > event.start or event.start >= start)
                ):
                    items.append(event)
                continue
            zone = tz.zone(event.start_tz)
            first = event.start.astimezone(zone).date()
            until = (end.astimezone(zone) + timedelta(days=1)).date()
            for day in rec.occurrence_dates(event.recurrence, first, until):
                if day.isoformat() in event.cancelled_dates:
                    continue
                occ = self._occurrence(event, day)
                if occ.start < end and occ.end > start:
                    items.append(occ)
        items.sort(key=lambda item: (item.start, item.id))
        return items


class GraphState:
    """All mailboxes, subscriptions, settings, throttling counters and the change listeners."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.settings = GraphSettings()
        self.throttle = Throttle()
        self.listeners: list[Any] = []
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.mailboxes: dict[str, Mailbox] = {}
            self.subscriptions: dict[str, Any] = {}
            self.counter = 0
            self.seq = 0
            self.settings = GraphSettings()
            self.faults = FaultConfig()
            # Mailboxes whose owner (or an Exchange admin) denied the app: every request for them is a
            # 403 ErrorAccessDenied (set through PUT /_emulator/graph/mailboxes/{user}/access).
            self.denied_mailboxes: set[str] = set()
            self.notification_log: Any = __import__("collections").deque(maxlen=1000)
            self.notification_tasks: set = set()
            self.notify_loop: Any = None  # the server's event loop, where notifications are POSTed from
            # Variant shared_calendar_ids=per_mailbox: sharee oid -> {sharee's id -> (owner oid, owner's id)}
            # for the ids given out so far (recomputed from the shares when an id is not found: not saved).
            self.sharee_ids: dict[str, dict[str, tuple[str, str]]] = {}
            self.throttle.reset()

    # ---- ids -------------------------------------------------------------------------------------
    def _digest(self, *parts: str) -> bytes:
        self.counter += 1
        return hashlib.sha256(":".join((*parts, str(self.counter))).encode()).digest()

    def new_id(self, oid: str, kind: str) -> str:
        raw = b"\x00" + self._digest(oid, kind) + hashlib.sha256(oid.encode()).digest()[:9]
        return ID_PREFIX + base64.urlsafe_b64encode(raw).decode()

    def occurrence_id(self, master_id: str, day: str) -> str:
        raw = hashlib.sha256(f"{master_id}:{day}".encode()).digest() + b"\x01" * 9
        return "AAMkAE" + base64.urlsafe_b64encode(raw).decode()

    def sharee_id(self, sharee_oid: str, owner_oid: str, owner_id: str) -> str:
        """The id a sharee's mailbox gives an item of a calendar shared with it (variant
        shared_calendar_ids=per_mailbox): "the IDs of the shared calendar and its event correspond to the local
        copy of Alex' calendar in Adele's mailbox" (concepts/outlook-get-shared-events-calendars.md). A pure
        function of (sharee, owner's id), so it is stable across list, get, delta and writes; an id in the other
        encoding (variant expand_calendar_id) keeps that encoding."""
        if owner_id.startswith(OTHER_ENCODING_PREFIX):
            base = self.sharee_id(sharee_oid, owner_oid, ID_PREFIX + owner_id[len(OTHER_ENCODING_PREFIX) :])
            return other_encoding(base)
        digest = hashlib.sha256(f"sharee:{sharee_oid}:{owner_id}".encode()).digest()
        local = ID_PREFIX + base64.urlsafe_b64encode(b"\x00" + digest + sharee_mark(sharee_oid)).decode()
        self.sharee_ids.setdefault(sharee_oid, {})[local] = (owner_oid, owner_id)
        return local

    def owner_of_sharee_id(self, sharee_oid: str, local: str) -> tuple[str, str] | None:
        """(owner oid, owner's id) of an id the sharee's mailbox gave out, or None. Ids not yet given out since
        the emulator started (the table is not saved) are found by recomputing over what is shared now."""
        if local.startswith(OTHER_ENCODING_PREFIX):
            found = self.owner_of_sharee_id(sharee_oid, ID_PREFIX + local[len(OTHER_ENCODING_PREFIX) :])
            return (found[0], other_encoding(found[1])) if found else None
        found = self.sharee_ids.get(sharee_oid, {}).get(local)
        mark = base64.urlsafe_b64encode(sharee_mark(sharee_oid)).decode()
        if found is None and local.endswith(mark):  # no other id ends so: the shares are looked at only then
            self.sharee_id_table(sharee_oid)
            found = self.sharee_ids.get(sharee_oid, {}).get(local)
        return found

    def sharee_id_table(self, sharee_oid: str) -> dict[str, str]:
        """Owner's id -> sharee's id for every calendar shared with the sharee now, its events (their regular ids
        too) and the occurrences given out so far."""
        table: dict[str, str] = {}
        for box, cal, _role in self.shared_with(sharee_oid):
            ids = [cal.id]
            for event in box.events_in(cal.id):
                ids += [event.id, event.regular_id] if event.regular_id else [event.id]
            ids += [occ for occ, (master, _day) in box.occurrences.items() if master in box.events
                    and box.events[master].calendar_id == cal.id]  # fmt: skip
            for owner_id in ids:
                table[owner_id] = self.sharee_id(sharee_oid, box.oid, owner_id)
        return table

    def new_change_key(self) -> str:
        return base64.b64encode(self._digest("changekey")[:18]).decode()

    # ---- mailboxes -------------------------------------------------------------------------------
    def ensure_mailbox(self, user: Any) -> Mailbox:
        with self.lock:
            box = self.mailboxes.get(user.oid)
            if box is None:
                box = Mailbox(
                    self,
                    user.oid,
                    user.display_name,
                    user.mail or user.user_principal_name,
                    getattr(user, "time_zone", "UTC"),
                    bool(getattr(user, "is_personal", False)),
                )
                self.mailboxes[user.oid] = box
            return box

    mailbox = ensure_mailbox

    def shared_with(self, oid: str) -> list[tuple[Mailbox, Calendar, str]]:
        """Calendars of other mailboxes shared with this user: (owner's mailbox, calendar, role)."""
        return [
            (box, cal, cal.shares[oid])
            for box in self.mailboxes.values()
            if box.oid != oid
            for cal in box.calendars.values()
            if oid in cal.shares
        ]

    def changed(self, mailbox: Mailbox, event: Event, change_type: str) -> None:
        for listener in list(self.listeners):
            listener(mailbox, event, change_type)

    # ---- persistence -----------------------------------------------------------------------------
    def dump(self) -> dict:
        from .persist import dump_graph

        return dump_graph(self)  # takes the lock one mailbox at a time

    def load(self, data: dict) -> None:
        from .persist import load_graph

        with self.lock:
            self.reset()
            load_graph(self, data or {})
