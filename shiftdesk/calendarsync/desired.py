"""Desired state: what each dirty link's event should be right now, derived from scheduling's tables.

Level-triggered: the seam only says "look at this link again"; what to do is always decided from the
current database, so a lost, repeated or reordered mark cannot make the calendar wrong.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Q

from shiftdesk.calendarsync.models import CalendarConnection, EventLink
from shiftdesk.calendarsync.providers.base import EventContent
from shiftdesk.calendarsync.render import content_hash, render_event
from shiftdesk.scheduling.models import Assignment, Shift, Site
from shiftdesk.scheduling.snapshots import shift_snapshot


class Want(enum.Enum):
    PRESENT = "present"  # the event must exist with `content`
    ABSENT = "absent"  # the event must not exist
    LEAVE = "leave"  # history (the shift has ended): leave whatever is there alone


@dataclass
class Desired:
    want: Want
    content: EventContent | None = None
    hash: str = ""
    shift_end: datetime | None = None


def desired_for_links(
    connection: CalendarConnection, links: Sequence[EventLink], now: datetime
) -> dict[int, Desired]:
    """Desired state of each link (by link id), with three queries whatever the number of links."""
    shift_ids = [link.shift_id for link in links if link.shift_id is not None]
    shifts = Shift.objects.select_related("schedule", "position").in_bulk(shift_ids)
    assigned = set(
        Assignment.objects.filter(user_id=connection.user_id, shift_id__in=shift_ids).values_list(
            "shift_id", flat=True
        )
    )
    site = Site.load()
    user_active = connection.user.is_active
    out: dict[int, Desired] = {}
    for link in links:
        shift = shifts.get(link.shift_id) if link.shift_id is not None else None
        if shift is None:
            # Deleted shift: delete its event if it was still upcoming; a past one is history.
            upcoming = link.shift_end is None or link.shift_end > now
            out[link.id] = Desired(Want.ABSENT if upcoming else Want.LEAVE, shift_end=link.shift_end)
            continue
        if shift.end <= now:
            out[link.id] = Desired(Want.LEAVE, shift_end=shift.end)
            continue
        wanted = link.tracked and user_active and shift.schedule.active and shift.pk in assigned
        if not wanted:
            out[link.id] = Desired(Want.ABSENT, shift_end=shift.end)
            continue
        content = render_event(
            shift_snapshot(shift, time_zone=site.time_zone), reminder_minutes=site.reminder_minutes
        )
        out[link.id] = Desired(Want.PRESENT, content, content_hash(content), shift.end)
    return out


def pending_deletes_and_events(connection: CalendarConnection, now: datetime) -> tuple[int, int]:
    """(upcoming events a full pass over the dirty links would delete, upcoming events we have written).

    For the safety brake: counted over all dirty links, not one step's slice, so a mass delete is caught
    before its first request, whatever the step size."""
    written = EventLink.objects.filter(
        connection=connection, deleted_in_outlook=False, shift_end__gt=now
    ).exclude(remote_event_id="")
    total = written.count()
    if not connection.user.is_active:
        return total, total
    assigned = Assignment.objects.filter(shift_id=OuterRef("shift_id"), user_id=connection.user_id)
    doomed = (
        written.filter(dirty=True)
        .filter(Q(shift__isnull=True) | Q(shift__schedule__active=False) | ~Exists(assigned))
        .count()
    )
    return doomed, total
