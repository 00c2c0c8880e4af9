"""Actions on the site, schedules (name, active, roster, schedule admins) and positions."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction

from shiftdesk.accounts.models import User
from shiftdesk.scheduling import seam
from shiftdesk.scheduling.actions.base import by_id, future_assignments
from shiftdesk.scheduling.models import Position, Schedule, Site
from shiftdesk.scheduling.seam import CalendarChange, ChangeKind
from shiftdesk.scheduling.snapshots import shift_snapshot

# --- Site ------------------------------------------------------------------------------------------------


@transaction.atomic
def do_update_site(site: Site, *, name: str, time_zone: str, reminder_minutes: int, by: User | None) -> Site:
    """Admin > Schedules Settings. Shifts keep their instants when the zone changes (they are UTC).

    A new time zone or reminder changes every upcoming event as written to calendars (events carry an
    explicit zone and the site's reminder), so both publish SHIFT_EDITED for every upcoming assignment of an
    active schedule. Snapshots carry the zone but not the reminder: for a reminder-only change `before` and
    `after` are equal and the engine re-renders with the site's current reminder.
    """
    try:
        zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError({"time_zone": f"“{time_zone}” is not an IANA time zone."}) from None
    site = Site.objects.select_for_update().get(pk=site.pk)
    old_zone, old_reminder = site.time_zone, site.reminder_minutes
    site.name = name
    site.time_zone = time_zone
    site.reminder_minutes = reminder_minutes
    site.full_clean()
    site.save()
    if (old_zone, old_reminder) != (time_zone, reminder_minutes):
        assignments = future_assignments(shift__schedule__active=True)
        seam.publish(
            [
                CalendarChange(
                    ChangeKind.SHIFT_EDITED,
                    a.user_id,
                    a.shift_id,
                    shift_snapshot(a.shift, time_zone=old_zone),
                    shift_snapshot(a.shift, time_zone=time_zone),
                    by_id(by),
                )
                for a in assignments
            ]
        )
    return site


# --- Schedules, roster, schedule admins -------------------------------------------------------------------


@transaction.atomic
def do_create_schedule(*, name: str, by: User | None) -> Schedule:
    schedule = Schedule(name=name.strip())
    schedule.full_clean()
    schedule.save()
    return schedule


@transaction.atomic
def do_rename_schedule(schedule: Schedule, *, name: str, by: User | None) -> Schedule:
    """The schedule's name is in every event's text: publish SHIFT_EDITED for its upcoming assignments."""
    return _rename_publishing_edits(schedule, "schedule", name=name, by=by)


@transaction.atomic
def do_set_schedule_active(schedule: Schedule, *, active: bool, by: User | None) -> Schedule:
    """Deactivating takes its upcoming shifts off calendars; reactivating puts them back."""
    schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
    if schedule.active == active:
        return schedule
    tz = Site.load().time_zone
    assignments = future_assignments(shift__schedule=schedule)
    before = {a.shift_id: shift_snapshot(a.shift, time_zone=tz) for a in assignments}
    schedule.active = active
    schedule.save(update_fields=["active"])
    changes = []
    for a in assignments:
        a.shift.schedule = schedule
        if active:
            after = shift_snapshot(a.shift, time_zone=tz)
            changes.append(
                CalendarChange(ChangeKind.SCHEDULE_ACTIVATED, a.user_id, a.shift_id, None, after, by_id(by))
            )
        else:
            changes.append(
                CalendarChange(
                    ChangeKind.SCHEDULE_DEACTIVATED,
                    a.user_id,
                    a.shift_id,
                    before[a.shift_id],
                    None,
                    by_id(by),
                )
            )
    seam.publish(changes)
    return schedule


@transaction.atomic
def do_set_schedule_roster(schedule: Schedule, *, staff: Iterable[User], by: User | None) -> None:
    """Who works on this schedule. Leaving the roster keeps existing assignments (the grid still shows them);
    only new assignments need roster membership."""
    schedule.staff.set(list(staff))


@transaction.atomic
def do_set_schedule_admins(schedule: Schedule, *, admins: Iterable[User], by: User | None) -> None:
    """Regular users who administer this schedule (add/edit/delete its shifts, assign its staff)."""
    admins = list(admins)
    inactive = [u for u in admins if not u.is_active]
    if inactive:
        raise ValidationError({"admins": f"{inactive[0]} is deactivated and cannot administer a schedule."})
    schedule.admins.set(admins)


@transaction.atomic
def do_set_user_administered_schedules(user: User, *, schedules: Iterable[Schedule], by: User | None) -> None:
    """The same relation seen from Admin > Accounts > edit user."""
    user.administered_schedules.set(list(schedules))


# --- Positions -------------------------------------------------------------------------------------------


@transaction.atomic
def do_create_position(*, name: str, by: User | None) -> Position:
    position = Position(name=name.strip())
    position.full_clean()
    position.save()
    return position


@transaction.atomic
def do_rename_position(position: Position, *, name: str, by: User | None) -> Position:
    """The position's name is the event's subject: publish SHIFT_EDITED for its upcoming assignments."""
    return _rename_publishing_edits(position, "position", name=name, by=by)


@transaction.atomic
def do_delete_position(position: Position, *, by: User | None) -> None:
    if position.shifts.exists():
        raise ValidationError(f"“{position}” is used by shifts; delete or change those shifts first.")
    position.delete()


def _rename_publishing_edits(obj: Schedule | Position, field: str, *, name: str, by: User | None):
    """Rename a schedule or position. Its name is in the text of every event of its shifts, so publish
    SHIFT_EDITED (before/after snapshots) for each upcoming assignment on them."""
    obj = type(obj).objects.select_for_update().get(pk=obj.pk)
    name = name.strip()
    if name == obj.name:
        return obj
    tz = Site.load().time_zone
    assignments = future_assignments(**{f"shift__{field}": obj})
    before = {a.shift_id: shift_snapshot(a.shift, time_zone=tz) for a in assignments}
    obj.name = name
    obj.full_clean()
    obj.save()
    changes = []
    for a in assignments:
        setattr(a.shift, field, obj)
        after = shift_snapshot(a.shift, time_zone=tz)
        changes.append(
            CalendarChange(
                ChangeKind.SHIFT_EDITED, a.user_id, a.shift_id, before[a.shift_id], after, by_id(by)
            )
        )
    seam.publish(changes)
    return obj
