"""Rows the Calendar Sync UI tests start from: a connection, shifts assigned to a user, links in given states.

Plain functions rather than fixtures, so each test says exactly what exists; links are written directly
because these tests are about what the pages show and which rows their buttons change, not the engine.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import count

from django.utils import timezone

from shiftdesk.calendarsync.models import CalendarConnection, EventLink, SyncLogEntry

_serial = count(1)


def make_connection(user, *, status=CalendarConnection.Status.CONNECTED, calendar="cal-shifts", **fields):
    return CalendarConnection.objects.create(
        user=user,
        provider=CalendarConnection.Provider.MICROSOFT,
        status=status,
        account_email=fields.pop("account_email", f"{user.email.split('@')[0]}@contoso.example"),
        account_id=fields.pop("account_id", f"oid-{user.pk}"),
        sync_calendar_id=calendar,
        sync_calendar_name=fields.pop("sync_calendar_name", "Shifts" if calendar else ""),
        **fields,
    )


def make_shift(
    *, days_ahead: int = 1, hours: int = 4, position: str = "Reference Desk", schedule: str = "Reference"
):
    from shiftdesk.scheduling.models import Position, Schedule, Shift, Site

    Site.load()
    start = (timezone.now() + timedelta(days=days_ahead)).replace(minute=0, second=0, microsecond=0)
    return Shift.objects.create(
        schedule=Schedule.objects.get_or_create(name=schedule)[0],
        position=Position.objects.get_or_create(name=position)[0],
        start=start,
        end=start + timedelta(hours=hours),
        location="2nd floor",
    )


def assign(shift, user):
    """An assignment row without the seam (these tests set the sync rows they need themselves)."""
    from shiftdesk.scheduling.models import Assignment

    shift.schedule.staff.add(user)
    return Assignment.objects.create(shift=shift, user=user)


def make_link(connection, shift, **fields) -> EventLink:
    defaults = {
        "shift": shift,
        "shift_ref": shift.pk,
        "link_key": EventLink.key_for(connection.user_id, shift.pk),
        "tracked": True,
        "dirty": False,
        "remote_event_id": f"evt-{next(_serial)}",
        "remote_calendar_id": connection.sync_calendar_id,
        "shift_end": shift.end,
    }
    defaults.update(fields)
    return EventLink.objects.create(connection=connection, **defaults)


def deleted_in_outlook(connection, shift, **fields) -> EventLink:
    return make_link(
        connection, shift, deleted_in_outlook=True, deleted_in_outlook_at=timezone.now(), **fields
    )


def log(connection, message, *, action=SyncLogEntry.Action.CREATE, outcome=SyncLogEntry.Outcome.OK, **fields):
    return SyncLogEntry.objects.create(
        connection=connection, action=action, outcome=outcome, message=message, **fields
    )
