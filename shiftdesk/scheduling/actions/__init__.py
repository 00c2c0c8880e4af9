"""Every write to the scheduling domain, one `do_<verb>_<noun>()` each, inside one transaction.

Views parse, call one of these, render. Each function that changes what a calendar must show builds the
before/after ShiftSnapshots of every affected (user, shift) and calls `seam.publish()` exactly once, inside
the same transaction, so calendar sync learns of the change if and only if it commits.

Which assignments a bulk change publishes for: changes to one shift publish for everyone on it (past or
future: the sync engine decides what it tracks); changes that sweep many shifts (schedule deactivated or
renamed, position renamed) publish for shifts that have not ended yet, because past events are history and
rewriting hundreds of them would only spend the Graph throttle budget.
"""

from shiftdesk.scheduling.actions.assignments import (
    AssignResult,
    do_assign_staff,
    do_bulk_assign_staff,
    do_unassign_staff,
)
from shiftdesk.scheduling.actions.base import ConflictError
from shiftdesk.scheduling.actions.setup import (
    do_create_position,
    do_create_schedule,
    do_delete_position,
    do_rename_position,
    do_rename_schedule,
    do_set_schedule_active,
    do_set_schedule_admins,
    do_set_schedule_roster,
    do_set_user_administered_schedules,
    do_update_site,
)
from shiftdesk.scheduling.actions.shifts import (
    MAX_REPEAT_SHIFTS,
    do_create_shift,
    do_create_weekly_shifts,
    do_delete_shift,
    do_update_shift,
    weekly_occurrences,
)
from shiftdesk.scheduling.actions.time_off import do_cancel_time_off, do_decide_time_off, do_request_time_off

__all__ = [
    "MAX_REPEAT_SHIFTS",
    "AssignResult",
    "ConflictError",
    "do_assign_staff",
    "do_bulk_assign_staff",
    "do_cancel_time_off",
    "do_create_position",
    "do_create_schedule",
    "do_create_shift",
    "do_create_weekly_shifts",
    "do_decide_time_off",
    "do_delete_position",
    "do_delete_shift",
    "do_rename_position",
    "do_rename_schedule",
    "do_request_time_off",
    "do_set_schedule_active",
    "do_set_schedule_admins",
    "do_set_schedule_roster",
    "do_set_user_administered_schedules",
    "do_unassign_staff",
    "do_update_shift",
    "do_update_site",
    "weekly_occurrences",
]
