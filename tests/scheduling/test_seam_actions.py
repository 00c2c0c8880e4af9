"""Every change a calendar must reflect publishes once through the seam, with the right before/after data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from shiftdesk.scheduling import actions
from shiftdesk.scheduling.models import Assignment, Shift
from shiftdesk.scheduling.seam import ChangeKind


def test_it_publishes_assigned_with_after_snapshot(recorder, shift, bob, alice):
    actions.do_assign_staff(shift, bob, by=alice)
    assert len(recorder.calls) == 1
    [change] = recorder.calls[0]
    assert change.kind == ChangeKind.ASSIGNED
    assert (change.user_id, change.shift_id, change.by_user_id) == (bob.pk, shift.pk, alice.pk)
    assert change.before is None
    snap = change.after
    assert snap.shift_id == shift.pk
    assert snap.schedule_name == "Reference"
    assert snap.position_name == "Reference Desk"
    assert snap.location == "2nd floor"
    assert snap.note == "Bring keys"
    assert snap.start == shift.start and snap.end == shift.end
    assert snap.time_zone == "America/Chicago"
    assert snap.schedule_active is True


def test_it_publishes_unassigned_with_before_snapshot(recorder, shift, bob, alice):
    actions.do_assign_staff(shift, bob, by=alice)
    actions.do_unassign_staff(shift, bob, by=alice)
    assert len(recorder.calls) == 2
    [change] = recorder.calls[1]
    assert change.kind == ChangeKind.UNASSIGNED
    assert change.before.shift_id == shift.pk and change.after is None
    assert not Assignment.objects.exists()


def test_it_publishes_shift_edited_for_every_assignee(
    recorder, shift, schedule, bob, charlie, alice, position
):
    schedule.staff.add(charlie)
    actions.do_bulk_assign_staff([(shift, bob), (shift, charlie)], by=alice)
    new_start = shift.start + timedelta(hours=1)
    actions.do_update_shift(
        shift,
        position=position,
        location="Lobby",
        start=new_start,
        end=shift.end,
        staff_needed=2,
        note="Bring keys",
        by=alice,
    )
    assert len(recorder.calls) == 2
    edited = recorder.calls[1]
    assert [c.user_id for c in edited] == sorted([bob.pk, charlie.pk])
    for c in edited:
        assert c.kind == ChangeKind.SHIFT_EDITED
        assert c.before.location == "2nd floor" and c.before.start == shift.start
        assert c.after.location == "Lobby" and c.after.start == new_start


def test_it_does_not_publish_when_only_staff_needed_changes(recorder, shift, bob, alice, position):
    actions.do_assign_staff(shift, bob, by=alice)
    actions.do_update_shift(
        shift,
        position=position,
        location=shift.location,
        start=shift.start,
        end=shift.end,
        staff_needed=3,
        note=shift.note,
        by=alice,
    )
    assert len(recorder.calls) == 1


def test_it_publishes_shift_deleted(recorder, shift, bob, alice):
    actions.do_assign_staff(shift, bob, by=alice)
    shift_id = shift.pk
    actions.do_delete_shift(shift, by=alice)
    [change] = recorder.calls[1]
    assert change.kind == ChangeKind.SHIFT_DELETED
    assert change.shift_id == shift_id and change.before.shift_id == shift_id and change.after is None
    assert not Shift.objects.filter(pk=shift_id).exists()


def test_it_publishes_schedule_deactivated_and_activated(recorder, shift, schedule, bob, alice):
    actions.do_assign_staff(shift, bob, by=alice)
    actions.do_set_schedule_active(schedule, active=False, by=alice)
    [off] = recorder.calls[1]
    assert off.kind == ChangeKind.SCHEDULE_DEACTIVATED
    assert off.before.schedule_active is True and off.after is None
    actions.do_set_schedule_active(schedule, active=True, by=alice)
    [on] = recorder.calls[2]
    assert on.kind == ChangeKind.SCHEDULE_ACTIVATED
    assert on.before is None and on.after.schedule_active is True


def test_it_skips_past_shifts_when_a_schedule_is_deactivated(recorder, shift, schedule, bob, alice):
    actions.do_assign_staff(shift, bob, by=alice)
    Shift.objects.filter(pk=shift.pk).update(
        start=shift.start - timedelta(days=30), end=shift.end - timedelta(days=30)
    )
    actions.do_set_schedule_active(schedule, active=False, by=alice)
    assert len(recorder.calls) == 1


def test_it_publishes_edits_when_schedule_or_position_is_renamed(
    recorder, shift, schedule, position, bob, alice
):
    actions.do_assign_staff(shift, bob, by=alice)
    actions.do_rename_schedule(schedule, name="Reference & Research", by=alice)
    [c] = recorder.calls[1]
    assert c.kind == ChangeKind.SHIFT_EDITED
    assert (c.before.schedule_name, c.after.schedule_name) == ("Reference", "Reference & Research")
    actions.do_rename_position(position, name="Info Desk", by=alice)
    [c] = recorder.calls[2]
    assert (c.before.position_name, c.after.position_name) == ("Reference Desk", "Info Desk")


def test_bulk_assign_publishes_one_list(recorder, schedule, position, bob, charlie, alice, future_start):
    schedule.staff.add(charlie)
    shifts = actions.do_create_weekly_shifts(
        schedule,
        position=position,
        location="",
        first_date=future_start.date(),
        last_date=future_start.date() + timedelta(days=20),
        weekdays=[future_start.weekday()],
        start_time=future_start.time(),
        end_time=(future_start + timedelta(hours=3)).time(),
        staff_needed=2,
        note="",
        assignees=[bob, charlie],
        by=alice,
    )
    assert len(shifts) == 3
    assert len(recorder.calls) == 1
    assert len(recorder.calls[0]) == 6
    assert {(c.user_id, c.shift_id) for c in recorder.calls[0]} == {
        (u.pk, s.pk) for s in shifts for u in (bob, charlie)
    }


def test_it_publishes_nothing_when_the_action_fails(recorder, shift, charlie, alice):
    with pytest.raises(ValidationError, match="not on the Reference roster"):
        actions.do_assign_staff(shift, charlie, by=alice)
    assert recorder.calls == []
    assert not Assignment.objects.exists()


def test_a_failing_listener_rolls_the_change_back(shift, bob, alice):
    from shiftdesk.scheduling import seam

    def broken(changes):
        raise RuntimeError("sync bookkeeping failed")

    seam.subscribe(broken)
    try:
        with pytest.raises(RuntimeError):
            actions.do_assign_staff(shift, bob, by=alice)
    finally:
        seam.unsubscribe(broken)
    assert not Assignment.objects.exists()


def test_user_deactivated_publishes_for_upcoming_assignments_only(
    recorder, shift, schedule, bob, alice, position
):
    from shiftdesk.accounts.actions import do_deactivate_user

    past = Shift.objects.create(
        schedule=schedule,
        position=position,
        start=shift.start - timedelta(days=10),
        end=shift.end - timedelta(days=10),
    )
    actions.do_bulk_assign_staff([(shift, bob), (past, bob)], by=alice, override_conflicts=False)
    schedule.admins.add(bob)
    taken_off = do_deactivate_user(bob, by=alice)
    assert taken_off == 1
    [change] = recorder.calls[1]
    assert change.kind == ChangeKind.USER_DEACTIVATED
    assert change.user_id == bob.pk and change.shift_id == shift.pk
    assert change.before.shift_id == shift.pk and change.after is None
    bob.refresh_from_db()
    assert not bob.is_active
    assert list(Assignment.objects.values_list("shift_id", flat=True)) == [past.pk]
    assert not schedule.admins.exists()


def test_a_new_site_time_zone_or_reminder_republishes_upcoming_events(recorder, site, shift, bob, alice):
    actions.do_assign_staff(shift, bob, by=alice)
    actions.do_update_site(site, name="Renamed", time_zone=site.time_zone, reminder_minutes=15, by=alice)
    assert len(recorder.calls) == 1  # the name is not on calendars
    actions.do_update_site(site, name="Renamed", time_zone="America/New_York", reminder_minutes=15, by=alice)
    [change] = recorder.calls[1]
    assert change.kind == ChangeKind.SHIFT_EDITED
    assert (change.before.time_zone, change.after.time_zone) == ("America/Chicago", "America/New_York")
    assert change.before.start == change.after.start  # instants do not move
    actions.do_update_site(site, name="Renamed", time_zone="America/New_York", reminder_minutes=30, by=alice)
    assert [c.shift_id for c in recorder.calls[2]] == [shift.pk]
