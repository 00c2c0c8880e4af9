"""Permission-scoped lookups. Views never fetch schedules, shifts or time off by a raw id: they call these.

Who may do what:
- system admins: everything;
- schedule admins (Regular users listed in Schedule.admins): see the schedule, add/edit/delete its shifts,
  assign and unassign its staff;
- roster staff: see the schedule's week grid;
- anyone else: the schedule does not exist for them (404, so ids cannot be probed).
Roster, schedule settings, positions, time-off decisions and accounts are for system admins only.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from shiftdesk.accounts.models import User
from shiftdesk.scheduling.models import Position, Schedule, Shift, TimeOff


def schedules_for_user(user: User) -> QuerySet[Schedule]:
    """Schedules the user may see: all for system admins, else those they work on or administer."""
    qs = Schedule.objects.all()
    if user.is_system_admin:
        return qs
    return qs.filter(Q(staff=user) | Q(admins=user)).distinct()


def can_manage_schedule(user: User, schedule: Schedule) -> bool:
    """May add/edit/delete the schedule's shifts and assign its staff."""
    if user.is_system_admin:
        return True
    return user.is_active and schedule.admins.filter(pk=user.pk).exists()


def get_schedule_for_user(user: User, schedule_id: int, *, manage: bool = False) -> Schedule:
    """The schedule if the user may see it (404 otherwise); with manage=True, 403 unless they may manage it."""
    try:
        schedule = schedules_for_user(user).get(pk=schedule_id)
    except Schedule.DoesNotExist:
        raise Http404("No such schedule") from None
    if manage and not can_manage_schedule(user, schedule):
        raise PermissionDenied("Only admins of this schedule may change it.")
    return schedule


def get_shift_for_user(user: User, shift_id: int, *, manage: bool = False) -> Shift:
    try:
        shift = Shift.objects.select_related("schedule", "position").get(pk=shift_id)
    except Shift.DoesNotExist:
        raise Http404("No such shift") from None
    get_schedule_for_user(user, shift.schedule_id, manage=manage)
    return shift


def get_user_for_schedule(schedule: Schedule, user_id: int) -> User:
    """A staff member on the schedule's roster (the assign form's choice)."""
    try:
        return schedule.staff.get(pk=user_id, is_active=True)
    except User.DoesNotExist:
        raise Http404("No such staff member on this schedule") from None


def get_time_off_for_user(user: User, time_off_id: int, *, decide: bool = False) -> TimeOff:
    """Own time off, or anyone's for system admins; deciding (approve/deny) is for system admins only."""
    qs = TimeOff.objects.select_related("user")
    if not user.is_system_admin:
        if decide:
            raise PermissionDenied("Only admins may approve or deny time off.")
        qs = qs.filter(user=user)
    try:
        return qs.get(pk=time_off_id)
    except TimeOff.DoesNotExist:
        raise Http404("No such time off") from None


def get_position_for_user(user: User, position_id: int) -> Position:
    if not user.is_system_admin:
        raise PermissionDenied("Only admins may change positions.")
    try:
        return Position.objects.get(pk=position_id)
    except Position.DoesNotExist:
        raise Http404("No such position") from None
