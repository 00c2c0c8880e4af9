"""Actions on time off: ask, approve or deny, withdraw."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from shiftdesk.accounts.models import User
from shiftdesk.scheduling.models import Site, TimeOff

# --- Time off --------------------------------------------------------------------------------------------


@transaction.atomic
def do_request_time_off(
    user: User,
    *,
    start: datetime,
    end: datetime,
    repeat_weekly: bool,
    repeat_until: date | None,
    reason: str,
    by: User | None,
) -> TimeOff:
    """A staff member asks for time off; it waits for an admin unless an admin enters it for themselves."""
    errors = {}
    if end <= start:
        errors["end"] = "Time off must end after it starts."
    if repeat_weekly:
        if repeat_until is None:
            errors["repeat_until"] = "Say until when it repeats."
        elif repeat_until < start.astimezone(Site.load().tzinfo).date():
            errors["repeat_until"] = "The last repeat must be on or after the first day."
        if end - start > timedelta(days=7):
            errors["end"] = "Weekly time off cannot last longer than a week each time."
    if errors:
        raise ValidationError(errors)
    return TimeOff.objects.create(
        user=user,
        start=start,
        end=end,
        repeat_weekly=repeat_weekly,
        repeat_until=repeat_until if repeat_weekly else None,
        reason=reason.strip(),
    )


@transaction.atomic
def do_decide_time_off(time_off: TimeOff, *, approve: bool, by: User) -> TimeOff:
    """Approve or deny. Approval does not touch assignments: the grid warns about them instead."""
    time_off = TimeOff.objects.select_for_update().get(pk=time_off.pk)
    time_off.status = TimeOff.Status.APPROVED if approve else TimeOff.Status.DENIED
    time_off.decided_by = by
    time_off.decided_at = timezone.now()
    time_off.save(update_fields=["status", "decided_by", "decided_at"])
    return time_off


@transaction.atomic
def do_cancel_time_off(time_off: TimeOff, *, by: User) -> None:
    """The requester withdraws their request (any status)."""
    time_off.delete()
