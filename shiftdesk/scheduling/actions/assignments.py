"""Actions that put staff on shifts and take them off, with the conflict check before assigning."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from shiftdesk.accounts.models import User
from shiftdesk.scheduling import seam
from shiftdesk.scheduling.actions.base import ConflictError, by_id
from shiftdesk.scheduling.conflicts import Conflict, find_conflicts_many
from shiftdesk.scheduling.models import Assignment, Schedule, Shift, Site
from shiftdesk.scheduling.seam import CalendarChange, ChangeKind, ShiftSnapshot
from shiftdesk.scheduling.snapshots import shift_snapshot

# --- Assignments -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssignResult:
    assignments: list[Assignment]
    conflicts: list[Conflict]  # the ones overridden by "Assign anyway"


@transaction.atomic
def do_bulk_assign_staff(
    pairs: Sequence[tuple[Shift, User]], *, by: User | None, override_conflicts: bool = False
) -> AssignResult:
    """Assign each (shift, user); all or nothing, one ASSIGNED change each in one publish.

    Refuses inactive users, users not on the shift's schedule roster, double assignment and a full shift
    (ValidationError); refuses conflicts (ConflictError) unless `override_conflicts`.
    """
    if not pairs:
        return AssignResult([], [])
    shift_ids = sorted({s.pk for s, _ in pairs})
    # Lock the shifts so two admins filling the last slot at once cannot both succeed.
    shifts = {
        s.pk: s
        for s in Shift.objects.select_for_update()
        .select_related("schedule", "position")
        .filter(pk__in=shift_ids)
    }
    # One read gives both who is on each shift and how many (one_assignment_per_user: a pair is one person).
    existing = set(Assignment.objects.filter(shift_id__in=shift_ids).values_list("shift_id", "user_id"))
    counts: dict[int, int] = {sid: 0 for sid in shift_ids}
    for shift_id, _user_id in existing:
        counts[shift_id] += 1
    roster = {
        (schedule_id, user_id)
        for schedule_id, user_id in Schedule.staff.through.objects.filter(
            schedule_id__in={s.schedule_id for s in shifts.values()}
        ).values_list("schedule_id", "user_id")
    }
    conflicts: list[Conflict] = []
    seen = set()
    for pair_shift, user in pairs:
        shift = shifts.get(pair_shift.pk)
        if shift is None:
            raise ValidationError("That shift no longer exists.")
        key = (shift.pk, user.pk)
        if not user.is_active:
            raise ValidationError({"user": f"{user} is deactivated."})
        if (shift.schedule_id, user.pk) not in roster:
            raise ValidationError({"user": f"{user} is not on the {shift.schedule} roster."})
        if key in existing or key in seen:
            raise ValidationError({"user": f"{user} is already assigned to this shift."})
        seen.add(key)
        counts[shift.pk] += 1
        if counts[shift.pk] > shift.staff_needed:
            raise ValidationError({"user": f"This shift is full ({shift.staff_needed} needed)."})
    by_shift: dict[int, list[User]] = {}
    for pair_shift, user in pairs:
        by_shift.setdefault(pair_shift.pk, []).append(user)
    conflicts.extend(find_conflicts_many([(shifts[shift_id], users) for shift_id, users in by_shift.items()]))
    # Within one bulk request, the new shifts may overlap each other for the same person.
    new_by_user: dict[int, list[Shift]] = {}
    for pair_shift, user in pairs:
        shift = shifts[pair_shift.pk]
        for other in new_by_user.get(user.pk, []):
            if other.overlaps(shift.start, shift.end):
                conflicts.append(
                    Conflict("overlap", user.pk, shift.pk, f"{user} would work two overlapping shifts.")
                )
        new_by_user.setdefault(user.pk, []).append(shift)
    if conflicts and not override_conflicts:
        raise ConflictError(conflicts)
    now = timezone.now()
    created = Assignment.objects.bulk_create(
        [Assignment(shift=shifts[s.pk], user=u, assigned_at=now, assigned_by=by) for s, u in pairs]
    )
    tz = Site.load().time_zone
    snaps: dict[int, ShiftSnapshot] = {}
    changes = []
    for s, u in pairs:
        if s.pk not in snaps:
            snaps[s.pk] = shift_snapshot(shifts[s.pk], time_zone=tz)
        changes.append(CalendarChange(ChangeKind.ASSIGNED, u.pk, s.pk, None, snaps[s.pk], by_id(by)))
    seam.publish(changes)
    return AssignResult(created, conflicts)


def do_assign_staff(
    shift: Shift, user: User, *, by: User | None, override_conflicts: bool = False
) -> Assignment:
    """Assign one person to one shift (the week grid's Assign)."""
    return do_bulk_assign_staff([(shift, user)], by=by, override_conflicts=override_conflicts).assignments[0]


@transaction.atomic
def do_unassign_staff(shift: Shift, user: User, *, by: User | None) -> None:
    shift = Shift.objects.select_for_update().select_related("schedule", "position").get(pk=shift.pk)
    deleted, _ = Assignment.objects.filter(shift=shift, user=user).delete()
    if not deleted:
        raise ValidationError({"user": f"{user} is not assigned to this shift."})
    before = shift_snapshot(shift)
    seam.publish([CalendarChange(ChangeKind.UNASSIGNED, user.pk, shift.pk, before, None, by_id(by))])
