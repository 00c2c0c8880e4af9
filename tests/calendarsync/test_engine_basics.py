"""The step function against the emulator: create, update, delete and the other ways an event must follow."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.calendarsync.conftest import PROVIDERS, link_key_of


@pytest.mark.parametrize("provider", PROVIDERS)
def test_it_creates_the_event_of_a_newly_assigned_shift(sync):
    bob = sync.add_user(0)
    shift = sync.shift(days=3, note="Bring keys\nand badge", location="Branch 2")
    sync.assign(shift, bob)
    assert sync.events(bob) == []  # no remote call in the request path

    assert sync.step(bob) is True
    [event] = sync.events(bob)
    assert event["subject"] == "Reference Desk - Reference"
    assert event["location"] == "Branch 2"
    assert "Bring keys<br>and badge" in event["body"]["content"]
    assert f"http://127.0.0.1:8000/schedules/?shift={shift.pk}" in event["body"]["content"]
    assert event["startTimeZone"] == "America/Chicago"
    assert event["start"].startswith(shift.start.isoformat()[:16])
    assert event["calendarId"] == sync.default_calendar(bob)["id"]
    assert link_key_of(event) == f"shiftdesk-{bob.pk}-{shift.pk}"
    if sync.provider == "microsoft":  # Graph's own fields
        assert event["showAs"] == "busy" and event["attendees"] == [] and event["transactionId"]
    else:  # Google's: busy, nobody invited, the id chosen by ShiftDesk (base32hex)
        raw = event["google"]
        assert raw["transparency"] == "opaque" and not raw.get("attendees")
        assert len(raw["id"]) == 32 and set(raw["id"]) <= set("0123456789abcdefghijklmnopqrstuv")

    from shiftdesk.calendarsync.models import EventLink, SyncLogEntry

    link = EventLink.objects.get()
    assert (link.dirty, link.remote_event_id, link.create_attempted) == (False, event["id"], False)
    assert SyncLogEntry.objects.filter(action="create", outcome="ok", remote_event_id=event["id"]).exists()


def test_it_uses_the_site_reminder_and_immutable_ids(sync):  # Graph-only: reminder fields, immutable ids
    from shiftdesk.scheduling.models import Site

    Site.objects.filter(pk=1).update(reminder_minutes=45)
    bob = sync.add_user(0)
    sync.assign(sync.shift(), bob)
    sync.step(bob)
    state = sync.emulator.state
    [box] = [b for b in state.graph.mailboxes.values() if b.address == sync.upns[bob.pk]]
    [event] = box.events.values()
    assert event.reminder_minutes == 45 and event.is_reminder_on
    log = sync.emulator.control.get("/graph/requests").json()
    graph = [r for r in log.get("value", log) if "/v1.0/" in r.get("path", "")]
    assert graph  # the request log sees our calls


@pytest.mark.parametrize("provider", PROVIDERS)
def test_it_updates_the_event_when_the_shift_changes_and_only_then(sync):
    from shiftdesk.scheduling.actions import do_update_shift

    bob = sync.add_user(0)
    shift = sync.shift()
    sync.assign(shift, bob)
    sync.step(bob)
    [before] = sync.events(bob)

    do_update_shift(shift, position=shift.position, location="Annex", start=shift.start + timedelta(hours=1),
                    end=shift.end + timedelta(hours=1), staff_needed=shift.staff_needed, note="New note", by=sync.admin)  # fmt: skip
    sync.step(bob)
    [after] = sync.events(bob)
    assert after["id"] == before["id"]
    assert after["location"] == "Annex" and "New note" in after["body"]["content"]
    assert after["changeKey"] != before["changeKey"]

    # A mark with nothing changed sends nothing (content hash unchanged).
    from shiftdesk.calendarsync.models import EventLink

    EventLink.objects.update(dirty=True)
    sync.step(bob)
    [again] = sync.events(bob)
    assert again["changeKey"] == after["changeKey"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_it_deletes_the_event_on_unassignment_shift_deletion_and_deactivations(sync):
    from shiftdesk.accounts.actions import do_deactivate_user
    from shiftdesk.scheduling.actions import do_delete_shift, do_set_schedule_active, do_unassign_staff
    from shiftdesk.scheduling.models import Schedule

    bob = sync.add_user(0)
    carol = sync.add_user(1)
    shifts = [sync.shift(days=d) for d in (1, 2, 3)]
    for s in shifts:
        sync.assign(s, bob)
    other = Schedule.objects.create(name="Circulation")
    other.staff.add(bob, carol)
    from shiftdesk.scheduling.actions import do_create_shift

    circ = do_create_shift(other, position=sync.position, location="", start=shifts[0].start + timedelta(days=5),
                           end=shifts[0].end + timedelta(days=5), staff_needed=2, note="", by=sync.admin)  # fmt: skip
    sync.assign(circ, bob)
    carol_shift = sync.shift(days=4)
    sync.assign(carol_shift, carol)
    sync.step(bob)
    sync.step(carol)
    assert len(sync.events(bob)) == 4

    do_unassign_staff(shifts[0], bob, by=sync.admin)
    sync.step(bob)
    assert len(sync.events(bob)) == 3
    do_delete_shift(shifts[1], by=sync.admin)
    sync.step(bob)
    assert len(sync.events(bob)) == 2
    do_set_schedule_active(other, active=False, by=sync.admin)
    sync.step(bob)
    assert [e["subject"] for e in sync.events(bob)] == ["Reference Desk - Reference"]

    from shiftdesk.calendarsync.models import EventLink

    assert EventLink.objects.filter(shift=None, shift_ref=shifts[1].pk).exists()  # survived its shift
    do_deactivate_user(carol, by=sync.admin)
    sync.step(carol)
    assert sync.events(carol) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_it_moves_future_events_when_the_sync_calendar_changes(sync):
    from shiftdesk.calendarsync.actions import do_choose_calendars

    bob = sync.add_user(0)
    for d in (1, 2):
        sync.assign(sync.shift(days=d), bob)
    sync.step(bob)
    work = sync.add_calendar(bob, "Work")["id"]
    do_choose_calendars(sync.connection(bob), sync_calendar_id=work, sync_calendar_name="Work",
                        freebusy_calendar_id=work, freebusy_calendar_name="Work")  # fmt: skip
    sync.drain(bob)
    events = sync.events(bob)
    assert len(events) == 2 and {e["calendarId"] for e in events} == {work}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_it_does_nothing_for_shifts_assigned_before_authorization_or_in_the_past(sync):
    bob = sync.add_user(0, connect=False)
    sync.assign(sync.shift(days=2), bob)
    sync.connect(bob)
    past = sync.shift(days=-2)
    sync.assign(past, bob)
    assert sync.step(bob) is False
    assert sync.events(bob) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_it_waits_for_a_chosen_calendar(sync):
    bob = sync.add_user(0, choose=False)
    sync.assign(sync.shift(), bob)
    assert sync.step(bob) is False
    assert sync.events(bob) == []
