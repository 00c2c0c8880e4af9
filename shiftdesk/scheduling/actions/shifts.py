"""Actions on shifts: create one, create a weekly repeat (optionally assigned), edit, delete."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction

from shiftdesk.accounts.models import User
from shiftdesk.scheduling import seam
from shiftdesk.scheduling.actions.assignments import do_bulk_assign_staff
from shiftdesk.scheduling.actions.base import by_id
from shiftdesk.scheduling.models import NOTE_MAX_LENGTH, Position, Schedule, Shift, Site, localize
from shiftdesk.scheduling.seam import CalendarChange, ChangeKind
from shiftdesk.scheduling.snapshots import shift_snapshot

# --- Shifts ----------------------------------------------------------------------------------------------


def _validate_shift(*, start: datetime, end: datetime, staff_needed: int, note: str = "") -> None:
    errors = {}
    if len(note.strip()) > NOTE_MAX_LENGTH:
        errors["note"] = f"A note can be at most {NOTE_MAX_LENGTH} characters long."
    if end <= start:
        errors["end"] = "The shift must end after it starts."
    elif end - start > timedelta(hours=24):
        errors["end"] = "A shift cannot be longer than 24 hours."
    if staff_needed < 1:
        errors["staff_needed"] = "At least one staff member is needed."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def do_create_shift(
    schedule: Schedule,
    *,
    position: Position,
    location: str,
    start: datetime,
    end: datetime,
    staff_needed: int,
    note: str,
    by: User | None,
) -> Shift:
    """One shift. Nobody is assigned yet, so no calendar changes."""
    _validate_shift(start=start, end=end, staff_needed=staff_needed, note=note)
    return Shift.objects.create(
        schedule=schedule,
        position=position,
        location=location.strip(),
        start=start,
        end=end,
        staff_needed=staff_needed,
        note=note.strip(),
    )


def weekly_occurrences(
    *,
    first_date: date,
    last_date: date,
    weekdays: Iterable[int],
    start_time: time,
    end_time: time,
    tz: zoneinfo.ZoneInfo,
) -> list[tuple[datetime, datetime]]:
    """(start, end) in UTC for each chosen weekday (0=Monday) between two local dates, inclusive.

    Wall-clock times are kept in the site's zone across DST changes. An end time at or before the start
    time means the shift ends the next day (an overnight shift).
    """
    days = sorted(set(weekdays))
    out = []
    day = first_date
    while day <= last_date:
        if day.weekday() in days:
            start_naive = datetime.combine(day, start_time)
            end_naive = datetime.combine(day + timedelta(days=1) if end_time <= start_time else day, end_time)
            start, end = localize(start_naive, tz), localize(end_naive, tz)
            if end <= start:
                # The start lies in the spring-forward gap and moved forward past an end that exists (a
                # 2:45-3:00 shift on that night): keep the shift's wall-clock length from the moved start
                # rather than create a shift that ends before it starts.
                end = start + (end_naive - start_naive)
            out.append((start, end))
        day += timedelta(days=1)
    return out


MAX_REPEAT_SHIFTS = 2000


@transaction.atomic
def do_create_weekly_shifts(
    schedule: Schedule,
    *,
    position: Position,
    location: str,
    first_date: date,
    last_date: date,
    weekdays: Iterable[int],
    start_time: time,
    end_time: time,
    staff_needed: int,
    note: str,
    assignees: Sequence[User] = (),
    override_conflicts: bool = False,
    by: User | None,
) -> list[Shift]:
    """A weekly pattern over a date range (a semester), optionally with the same staff on every shift.

    All shifts and assignments are created, and one list of ASSIGNED changes published, or none at all.
    """
    weekdays = list(weekdays)
    errors = {}
    if last_date < first_date:
        errors["last_date"] = "The last day must be on or after the first day."
    elif (last_date - first_date).days > 366:
        errors["last_date"] = "A repeat can cover at most one year."
    if not weekdays:
        errors["weekdays"] = "Choose at least one day of the week."
    if len(assignees) > staff_needed:
        errors["assignees"] = f"You chose {len(assignees)} staff for shifts that need {staff_needed}."
    if errors:
        raise ValidationError(errors)
    site = Site.load()
    times = weekly_occurrences(
        first_date=first_date,
        last_date=last_date,
        weekdays=weekdays,
        start_time=start_time,
        end_time=end_time,
        tz=site.tzinfo,
    )
    if not times:
        raise ValidationError({"weekdays": "None of the chosen days falls between the first and last day."})
    if len(times) > MAX_REPEAT_SHIFTS:
        raise ValidationError(
            {"last_date": f"That would create {len(times)} shifts; at most {MAX_REPEAT_SHIFTS}."}
        )
    _validate_shift(start=times[0][0], end=times[0][1], staff_needed=staff_needed, note=note)
    shifts = [
        Shift.objects.create(
            schedule=schedule,
            position=position,
            location=location.strip(),
            start=s,
            end=e,
            staff_needed=staff_needed,
            note=note.strip(),
        )
        for s, e in times
    ]
    if assignees:
        do_bulk_assign_staff(
            [(s, u) for s in shifts for u in assignees], by=by, override_conflicts=override_conflicts
        )
    return shifts


_CALENDAR_FIELDS = ("position_id", "location", "start", "end", "note")


@transaction.atomic
def do_update_shift(
    shift: Shift,
    *,
    position: Position,
    location: str,
    start: datetime,
    end: datetime,
    staff_needed: int,
    note: str,
    by: User | None,
) -> Shift:
    """Edit a shift; publish SHIFT_EDITED for everyone on it when anything a calendar shows changed."""
    shift = Shift.objects.select_for_update().select_related("schedule", "position").get(pk=shift.pk)
    _validate_shift(start=start, end=end, staff_needed=staff_needed, note=note)
    assigned = shift.assignments.count()
    if staff_needed < assigned:
        raise ValidationError(
            {"staff_needed": f"{assigned} staff are assigned; unassign some before needing fewer."}
        )
    tz = Site.load().time_zone
    before = shift_snapshot(shift, time_zone=tz)
    old = {f: getattr(shift, f) for f in _CALENDAR_FIELDS}
    shift.position = position
    shift.location = location.strip()
    shift.start = start
    shift.end = end
    shift.staff_needed = staff_needed
    shift.note = note.strip()
    shift.save()
    if any(getattr(shift, f) != old[f] for f in _CALENDAR_FIELDS):
        after = shift_snapshot(shift, time_zone=tz)
        user_ids = shift.assignments.order_by("user_id").values_list("user_id", flat=True)
        seam.publish(
            [
                CalendarChange(ChangeKind.SHIFT_EDITED, uid, shift.pk, before, after, by_id(by))
                for uid in user_ids
            ]
        )
    return shift


@transaction.atomic
def do_delete_shift(shift: Shift, *, by: User | None) -> None:
    """Delete a shift and its assignments; publish SHIFT_DELETED for everyone who was on it."""
    shift = Shift.objects.select_for_update().select_related("schedule", "position").get(pk=shift.pk)
    before = shift_snapshot(shift)
    user_ids = list(shift.assignments.order_by("user_id").values_list("user_id", flat=True))
    shift_id = shift.pk
    shift.delete()
    seam.publish(
        [CalendarChange(ChangeKind.SHIFT_DELETED, uid, shift_id, before, None, by_id(by)) for uid in user_ids]
    )
