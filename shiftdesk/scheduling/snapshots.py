"""Build the seam's ShiftSnapshot from a Shift: what a calendar event of that shift is made of.

The calendar sync engine uses the same function to derive desired state, so "what we published" and "what we
would render now" never disagree.
"""

from __future__ import annotations

from shiftdesk.scheduling.models import Shift, Site
from shiftdesk.scheduling.seam import ShiftSnapshot


def shift_snapshot(shift: Shift, *, time_zone: str | None = None) -> ShiftSnapshot:
    """Snapshot of `shift` as it is now. Pass `time_zone` to skip the Site lookup in loops.

    Reads shift.schedule and shift.position: select_related them when snapshotting many shifts.
    """
    return ShiftSnapshot(
        shift_id=shift.pk,
        schedule_id=shift.schedule_id,
        schedule_name=shift.schedule.name,
        position_name=shift.position.name,
        location=shift.location,
        note=shift.note,
        start=shift.start,
        end=shift.end,
        time_zone=time_zone or Site.load().time_zone,
        schedule_active=shift.schedule.active,
    )
