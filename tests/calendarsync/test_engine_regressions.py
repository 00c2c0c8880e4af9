"""Counterexamples the model test's long profile and the chaos test found after issue 12's rework, each
reproduced deterministically against the emulator."""

from __future__ import annotations

import pytest

from tests.calendarsync.test_convergence_bugs import step_dies_before_recording

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("then", ["assign_again", "assign_again_and_edit", "nothing"])
def test_our_own_unrecorded_delete_is_never_taken_for_the_users(sync, then):
    """A shift is unassigned; the step deletes its event in Outlook and dies before recording it; the shift is
    assigned again. The link still names the deleted event: an update's 404 was taken for "the user deleted
    it in Outlook" and the event never came back (model test, long profile, seed 129). The delete was ours:
    the event must be created anew, exactly once, and nothing blamed on the user."""
    from shiftdesk.calendarsync.models import EventLink
    from shiftdesk.scheduling.actions import do_unassign_staff, do_update_shift

    bob = sync.add_user(0)
    shift = sync.shift()
    sync.assign(shift, bob)
    sync.drain(bob)
    [first] = sync.events(bob)
    do_unassign_staff(shift, bob, by=sync.admin)
    step_dies_before_recording(sync, bob)
    assert sync.events(bob) == []  # the delete reached Outlook
    link = EventLink.objects.get()
    assert (link.remote_event_id, link.delete_attempted, link.dirty) == (first["id"], True, True)

    if then == "nothing":
        sync.drain(bob)
        assert sync.events(bob) == []
        link.refresh_from_db()
        assert (link.remote_event_id, link.delete_attempted, link.deleted_in_outlook) == ("", False, False)
        return
    sync.assign(shift, bob)
    if then == "assign_again_and_edit":
        do_update_shift(shift, position=shift.position, location="Room 9", start=shift.start, end=shift.end,
                        staff_needed=shift.staff_needed, note=shift.note, by=sync.admin)  # fmt: skip
    sync.drain(bob)
    [event] = sync.events(bob)
    link.refresh_from_db()
    assert not link.deleted_in_outlook and not link.dirty
    assert (link.remote_event_id, link.remote_calendar_id) == (event["id"], event["calendarId"])
    assert event["id"] != first["id"]
    if then == "assign_again_and_edit":
        assert "Room 9" in event["location"]
