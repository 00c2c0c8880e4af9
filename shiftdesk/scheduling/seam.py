"""The single seam between scheduling and calendar sync.

Every write that a calendar must reflect (assign, unassign, shift edited or deleted, schedule deactivated or
reactivated, user deactivated) calls `publish()` once, inside the same database transaction as the change,
with what changed before and after. Scheduling never imports calendarsync: calendarsync subscribes here from
its AppConfig.ready() and records its dirty marks in that same transaction, so a change and "calendars must
learn of this" commit or roll back together. A listener must not make network calls.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction


class ChangeKind(enum.StrEnum):
    ASSIGNED = "assigned"
    UNASSIGNED = "unassigned"
    SHIFT_EDITED = "shift_edited"
    SHIFT_DELETED = "shift_deleted"
    SCHEDULE_DEACTIVATED = "schedule_deactivated"
    SCHEDULE_ACTIVATED = "schedule_activated"
    USER_DEACTIVATED = "user_deactivated"


@dataclass(frozen=True)
class ShiftSnapshot:
    """What a calendar event is made of, as it was (before) or is (after) the change. Instants are UTC."""

    shift_id: int
    schedule_id: int
    schedule_name: str
    position_name: str
    location: str
    note: str
    start: datetime
    end: datetime
    time_zone: str
    schedule_active: bool

    def title(self, separator: str = " - ") -> str:
        """The shift's name for people: "Position - Schedule", or just the position when the schedule has the
        same name (a "Reference Desk" position on the "Reference Desk" schedule is not said twice)."""
        return shift_title(self.position_name, self.schedule_name, separator)


def shift_title(position: str, schedule: str, separator: str = " - ") -> str:
    """One rule for every title (events, feeds, pages, sync log): no "Reference Desk - Reference Desk"."""
    if position.strip().casefold() == schedule.strip().casefold():
        return position
    return f"{position}{separator}{schedule}"


@dataclass(frozen=True)
class CalendarChange:
    """One change for one user's calendar about one shift.

    `before` is None when the shift was not on that user's calendar (e.g. ASSIGNED); `after` is None when it
    no longer should be (UNASSIGNED, SHIFT_DELETED, SCHEDULE_DEACTIVATED, USER_DEACTIVATED).
    """

    kind: ChangeKind
    user_id: int
    shift_id: int
    before: ShiftSnapshot | None
    after: ShiftSnapshot | None
    by_user_id: int | None


Listener = Callable[[Sequence[CalendarChange]], None]
_listeners: list[Listener] = []


def subscribe(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def unsubscribe(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def publish(changes: Sequence[CalendarChange]) -> None:
    """Hand a batch of changes to every listener. Must run inside the change's transaction."""
    if not changes:
        return
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("seam.publish() must be called inside the transaction that made the change")
    for listener in list(_listeners):
        listener(changes)
