"""What every scheduling action shares: the conflict error and the helpers that build seam changes."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils import timezone

from shiftdesk.accounts.models import User
from shiftdesk.scheduling.conflicts import Conflict
from shiftdesk.scheduling.models import Assignment


class ConflictError(Exception):
    """Assigning would create conflicts and the caller did not say "Assign anyway"."""

    def __init__(self, conflicts: Sequence[Conflict]):
        super().__init__("; ".join(c.message for c in conflicts))
        self.conflicts = list(conflicts)


def by_id(by: User | None) -> int | None:
    return by.pk if by is not None else None


def future_assignments(**filters) -> list[Assignment]:
    return list(
        Assignment.objects.filter(shift__end__gt=timezone.now(), **filters)
        .select_related("shift__schedule", "shift__position")
        .order_by("shift__start", "shift_id", "user_id")
    )
