"""Four ways Outlook used to drift from the schedule for good (issue 12), each reproduced against the emulator:
a re-assigned shift whose event the user had deleted never came back; a `$batch` create that landed but was
never answered was recorded as "never sent" when its lane stopped early; the probe looked only in the default
calendar; a user action committed while a step's requests were in flight was overwritten by the recording."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.calendarsync.conftest import PROVIDERS, link_key_of

pytestmark = [pytest.mark.django_db, pytest.mark.parametrize("provider", PROVIDERS)]


def verify_now(sync, user) -> None:
    """Make the verification due and run it (a first change-tracking round)."""
    from shiftdesk.calendarsync.models import CalendarConnection

    CalendarConnection.objects.filter(user=user).update(
        last_verified_at=timezone.now() - timedelta(hours=7), delta_state={}
    )
    sync.step(user)


def delete_in_outlook(sync, user, event_id: str) -> None:
    sync.user_deletes(user, {"id": event_id})


def add_calendar(sync, user, name: str) -> dict:
    return sync.add_calendar(user, name)


def choose(sync, user, calendar: dict) -> None:
    from shiftdesk.calendarsync.actions import do_choose_calendars

    do_choose_calendars(sync.connection(user), sync_calendar_id=calendar["id"], sync_calendar_name=calendar["name"],
                        freebusy_calendar_id=calendar["id"], freebusy_calendar_name=calendar["name"])  # fmt: skip


def step_dies_before_recording(sync, user) -> None:
    """One step sends its requests (Outlook carries them out), then the worker dies before recording them."""
    from shiftdesk.calendarsync import step as engine
    from shiftdesk.calendarsync.models import CalendarConnection

    real = engine.record_step

    def crash(record):
        raise RuntimeError("worker died before recording")

    engine.record_step = crash
    try:
        with pytest.raises(RuntimeError):
            sync.step(user)
    finally:
        engine.record_step = real
    CalendarConnection.objects.filter(user=user).update(lease_owner="", lease_expires_at=None)


def test_a_shift_assigned_again_after_its_event_was_deleted_in_outlook_comes_back(sync):
    from shiftdesk.calendarsync.models import EventLink
    from shiftdesk.scheduling.actions import do_unassign_staff

    bob = sync.add_user(0)
    shift = sync.shift()
    sync.assign(shift, bob)
    sync.drain(bob)
    [event] = sync.events(bob)
    delete_in_outlook(sync, bob, event["id"])
    verify_now(sync, bob)
    assert EventLink.objects.get().deleted_in_outlook

    do_unassign_staff(shift, bob, by=sync.admin)
    sync.drain(bob)
    sync.assign(shift, bob)
    sync.drain(bob)
    [again] = sync.events(bob)
    assert again["id"] != event["id"]  # created anew
    if sync.provider == "microsoft":  # Graph's transactionId; on Google the id itself is derived from it
        assert again["transactionId"] != event["transactionId"]
    link = EventLink.objects.get()
    assert (link.remote_event_id, link.deleted_in_outlook, link.dirty) == (again["id"], False, False)


def test_a_batch_create_that_landed_unanswered_stays_fate_unknown_when_its_lane_stops_early(sync, settings):
    """SYNC_LEASE_SECONDS=1: the step's deadline is 0.5 s. The emulator carries each $batch out and drops the
    answer; the lane backs off and stops at the deadline with the create on its retry list. That create did
    land: the link must stay "create attempted" so an unassignment deletes the event instead of orphaning it."""
    from shiftdesk.calendarsync.models import EventLink
    from shiftdesk.scheduling.actions import do_unassign_staff

    settings.SYNC_LEASE_SECONDS = 1
    bob = sync.add_user(0)
    shift = sync.shift()
    sync.assign(shift, bob)
    sync.faults(lost_response_rate=1.0)
    sync.step(bob)
    sync.clear_faults()
    [event] = sync.events(bob)  # it landed; nobody heard
    link = EventLink.objects.get()
    assert (link.remote_event_id, link.create_attempted, link.dirty) == ("", True, True)

    settings.SYNC_LEASE_SECONDS = 60
    do_unassign_staff(shift, bob, by=sync.admin)
    sync.drain(bob)
    assert sync.events(bob) == []
    link.refresh_from_db()
    assert (link.remote_event_id, link.create_attempted, link.dirty) == ("", False, False)


def test_the_probe_finds_our_event_in_a_non_default_calendar_and_moves_it_without_blaming_the_user(sync):
    """Sync calendar "Work"; the create lands unanswered; the user switches to the default calendar. The probe
    must find the event in Work (not only in /me/events, the default calendar), move it, and record where it
    is; verification must then find nothing the user did."""
    from shiftdesk.calendarsync.models import EventLink

    bob = sync.add_user(0)
    work = add_calendar(sync, bob, "Work")
    choose(sync, bob, work)
    shift = sync.shift()
    sync.assign(shift, bob)
    sync.faults(lost_response_rate=1.0)
    sync.step(bob)
    sync.clear_faults()
    [landed] = sync.events(bob)
    assert landed["calendarId"] == work["id"]

    default = sync.default_calendar(bob)
    choose(sync, bob, default)
    sync.drain(bob)
    [event] = sync.events(bob)
    assert event["calendarId"] == default["id"] and link_key_of(event) == link_key_of(landed)
    link = EventLink.objects.get()
    assert (link.remote_event_id, link.remote_calendar_id) == (event["id"], default["id"])
    verify_now(sync, bob)
    link.refresh_from_db()
    assert not link.moved_in_outlook and not link.deleted_in_outlook


def test_the_probe_finds_an_unrecorded_event_left_in_a_calendar_no_longer_chosen(sync):
    """A crash after the create landed in Work (nothing recorded, not even a lost answer's error); then the
    user chose the default calendar. Nothing recorded says "Work" except the calendar itself: the probe must
    look through the mailbox's calendars by their documented paths and move the event."""
    from shiftdesk.calendarsync.models import EventLink

    bob = sync.add_user(0)
    work = add_calendar(sync, bob, "Work")
    choose(sync, bob, work)
    sync.assign(sync.shift(), bob)
    step_dies_before_recording(sync, bob)
    default = sync.default_calendar(bob)
    choose(sync, bob, default)
    sync.drain(bob)
    [event] = sync.events(bob)
    assert event["calendarId"] == default["id"]
    assert EventLink.objects.get().remote_calendar_id == default["id"]


@pytest.fixture
def deleted_one(sync):
    """bob with two synced shifts; he deleted the first one's event in Outlook and verification noticed."""
    bob = sync.add_user(0)
    first, second = sync.shift(days=1), sync.shift(days=2)
    sync.assign(first, bob)
    sync.assign(second, bob)
    sync.drain(bob)
    by_key = {link_key_of(e): e for e in sync.events(bob)}
    gone = by_key[f"shiftdesk-{bob.pk}-{first.pk}"]
    delete_in_outlook(sync, bob, gone["id"])
    verify_now(sync, bob)
    return bob, first, second, gone


def edit(sync, shift, note: str) -> None:
    from shiftdesk.scheduling.actions import do_update_shift

    do_update_shift(shift, position=shift.position, location=shift.location, start=shift.start, end=shift.end,
                    staff_needed=shift.staff_needed, note=note, by=sync.admin)  # fmt: skip


@pytest.mark.parametrize("action", ["restore", "assign_again", "export_all"])
def test_a_user_action_committed_while_a_step_sends_wins_over_the_recording(
    sync, deleted_one, action, monkeypatch
):
    """The step plans from both links (both shifts were edited), sends, and while its requests are in flight
    the user (or an admin) acts on the link whose event was deleted in Outlook. After the drain that event is
    back: the step's recording never wrote its stale copy of the link over the action."""
    from shiftdesk.calendarsync import step as engine
    from shiftdesk.calendarsync.actions import do_restore_deleted_events, do_start_export
    from shiftdesk.calendarsync.exports import run_export
    from shiftdesk.calendarsync.models import EventLink
    from shiftdesk.scheduling.actions import do_unassign_staff

    bob, first, second, gone = deleted_one
    if action == "assign_again":
        do_unassign_staff(first, bob, by=sync.admin)
    edit(sync, first, "changed")
    edit(sync, second, "changed")
    assert EventLink.objects.filter(dirty=True).count() == 2

    def user_acts():
        if action == "restore":
            assert do_restore_deleted_events(sync.connection(bob)) == 1
        elif action == "assign_again":
            sync.assign(first, bob)
        else:
            run_export(do_start_export(bob, option="all", by=sync.admin).id, worker_id="page")

    real_send = engine._send_requests

    def send_while_the_user_acts(*args, **kwargs):
        real_send(*args, **kwargs)
        user_acts()  # committed after the step planned, before it records

    monkeypatch.setattr(engine, "_send_requests", send_while_the_user_acts)
    sync.step(bob)
    monkeypatch.undo()
    sync.drain(bob)
    events = sync.events(bob)
    assert sorted(link_key_of(e) for e in events) == sorted(
        [f"shiftdesk-{bob.pk}-{first.pk}", f"shiftdesk-{bob.pk}-{second.pk}"]
    )
    back = next(e for e in events if link_key_of(e) == f"shiftdesk-{bob.pk}-{first.pk}")
    assert back["id"] != gone["id"] and "changed" in back["body"]["content"]
    assert not EventLink.objects.filter(deleted_in_outlook=True).exists()


def test_no_request_leaves_after_the_step_lease_could_have_passed(sync, settings):
    """Late writers cannot win: Graph documents no If-Match for events, so a step sends nothing after half
    its lease (pacing.Pacer). SYNC_LEASE_SECONDS=1, one request per write, every answer a 503 with the
    emulator's Retry-After of 1 s: the step's own retries would wait it out and try twice more, the last
    well after the lease ended. Google sends no Retry-After: its retries wait the in-step back-off, here at its
    production pace (0.2-0.4 s, then 0.4-0.8 s), so the third try falls after half the lease. A 503 may come
    after the create ran: it stays "attempted"."""
    from shiftdesk.calendarsync.models import EventLink

    settings.SYNC_LEASE_SECONDS = 1
    settings.SYNC_RETRY_BACKOFF_BASE_SECONDS = 0.2
    settings.SYNC_GRAPH_BATCH_SIZE = settings.SYNC_GOOGLE_BATCH_SIZE = 1
    bob = sync.add_user(0)
    sync.assign(sync.shift(), bob)
    before = len(sync.requests())
    sync.faults(status_rates={"503": 1.0}, retry_after=1)
    sync.step(bob)
    sync.clear_faults()
    rows = sync.requests()[before:]
    posts = [r for r in rows if r["method"] == "POST" and r["path"].endswith("/events")]
    assert 1 <= len(posts) <= 2
    link = EventLink.objects.get()
    assert (link.remote_event_id, link.create_attempted, link.dirty) == ("", True, True)  # 503: may have run

    settings.SYNC_LEASE_SECONDS = 60
    sync.drain(bob)
    assert len(sync.events(bob)) == 1


def test_a_move_whose_create_went_unanswered_is_probed_not_orphaned(sync, settings):
    """The sync calendar changes: the step deletes the event in the old calendar (answered) and creates it in
    the new one, whose answer is lost. The link must stay "create attempted" after forgetting the old event,
    so an unassignment before the next step deletes the new event instead of leaving it in Outlook."""
    from shiftdesk.calendarsync.models import EventLink
    from shiftdesk.scheduling.actions import do_unassign_staff

    settings.SYNC_GRAPH_BATCH_SIZE = settings.SYNC_GOOGLE_BATCH_SIZE = (
        1  # single requests: the fault hits only
    )
    # the create (a calendar path)
    bob = sync.add_user(0)
    shift = sync.shift()
    sync.assign(shift, bob)
    sync.drain(bob)
    work = add_calendar(sync, bob, "Work")
    choose(sync, bob, work)
    sync.faults(lost_response_rate=1.0, paths=[sync.events_path(work["id"])])
    sync.step(bob)
    sync.clear_faults()
    [landed] = sync.events(bob)
    assert landed["calendarId"] == work["id"]  # the old one deleted, the new one there but never heard of
    link = EventLink.objects.get()
    assert (link.remote_event_id, link.create_attempted) == ("", True)

    do_unassign_staff(shift, bob, by=sync.admin)
    sync.drain(bob)
    assert sync.events(bob) == []


def test_a_create_is_never_answered_with_an_event_left_in_another_calendar(sync):
    """Remove Authorization keeping the events, authorize again with "Work" chosen, assign the shift again: the
    create must not be answered with the old event (same link key and generation) still in "Calendar", which
    the link would then record as being in Work. Graph answers a repeated transactionId with the first event."""
    from shiftdesk.calendarsync.actions import do_disconnect_calendar
    from shiftdesk.calendarsync.models import EventLink
    from shiftdesk.scheduling.actions import do_unassign_staff

    bob = sync.add_user(0)
    shift = sync.shift()
    sync.assign(shift, bob)
    sync.drain(bob)
    [old] = sync.events(bob)
    do_disconnect_calendar(sync.connection(bob))  # the events stay
    sync.connect(bob)
    work = add_calendar(sync, bob, "Work")
    choose(sync, bob, work)
    do_unassign_staff(shift, bob, by=sync.admin)
    sync.assign(shift, bob)
    sync.drain(bob)
    link = EventLink.objects.get()
    where = {e["id"]: e["calendarId"] for e in sync.events(bob)}
    assert where[link.remote_event_id] == link.remote_calendar_id == work["id"]
    assert where[old["id"]] == sync.default_calendar(bob)["id"]  # left behind, as the user chose


def test_a_verification_that_lost_its_lease_marks_nothing(sync, monkeypatch):
    """Another worker took the connection over while the verification read Outlook: what it saw may be older
    than what that worker wrote since, so it must not mark events deleted or moved."""
    from shiftdesk.calendarsync import verify
    from shiftdesk.calendarsync.models import CalendarConnection, EventLink

    bob = sync.add_user(0)
    sync.assign(sync.shift(), bob)
    sync.drain(bob)
    [event] = sync.events(bob)
    delete_in_outlook(sync, bob, event["id"])
    real_record = verify._record

    def lose_the_lease_then_record(connection, *args):
        CalendarConnection.objects.filter(id=connection.id).update(lease_owner="another-worker")
        return real_record(connection, *args)

    monkeypatch.setattr(verify, "_record", lose_the_lease_then_record)
    verify_now(sync, bob)
    monkeypatch.undo()
    assert not EventLink.objects.get().deleted_in_outlook
    assert CalendarConnection.objects.get(user=bob).lease_owner == "another-worker"


def test_save_calendars_committed_while_a_step_reads_its_work_is_not_lost(sync, monkeypatch):
    """The step has loaded the connection (sync calendar "Calendar") when Save Calendars commits "Work", just
    before it reads its dirty links (found by the chaos test: events left in the old calendar for good)."""
    from shiftdesk.calendarsync import engine
    from shiftdesk.calendarsync.models import EventLink

    bob = sync.add_user(0)
    for d in range(3):
        sync.assign(sync.shift(days=1 + d), bob)
    work = add_calendar(sync, bob, "Work")
    real = engine.retire_previous_connections

    def choose_work_meanwhile(connection, now):
        choose(sync, bob, work)  # committed between the step's read of the connection and of its links
        return real(connection, now)

    monkeypatch.setattr(engine, "retire_previous_connections", choose_work_meanwhile)
    sync.step(bob)
    monkeypatch.undo()
    sync.drain(bob)
    assert [e["calendarId"] for e in sync.events(bob)] == [work["id"]] * 3
    assert set(EventLink.objects.values_list("remote_calendar_id", flat=True)) == {work["id"]}


@pytest.mark.parametrize("then", ["unassign", "choose_back"])
def test_a_move_killed_after_its_create_is_never_orphaned(sync, then):
    """The sync calendar changes; a step deletes the event in the old calendar and creates it in the new one,
    then dies before recording: the link still names the deleted event, with a create attempted. Whatever
    comes next (an unassignment, the old calendar chosen again), the new event is found, never left behind,
    and nothing is blamed on the user (found by the model test's long profile)."""
    from shiftdesk.calendarsync.models import EventLink
    from shiftdesk.scheduling.actions import do_unassign_staff

    bob = sync.add_user(0)
    shift = sync.shift()
    sync.assign(shift, bob)
    sync.drain(bob)
    default = sync.default_calendar(bob)
    work = add_calendar(sync, bob, "Work")
    choose(sync, bob, work)
    step_dies_before_recording(sync, bob)
    [moved] = sync.events(bob)
    assert moved["calendarId"] == work["id"]
    link = EventLink.objects.get()
    assert link.remote_event_id != moved["id"] and link.create_attempted

    if then == "unassign":
        do_unassign_staff(shift, bob, by=sync.admin)
        sync.drain(bob)
        assert sync.events(bob) == []
    else:
        choose(sync, bob, default)
        sync.drain(bob)
        [event] = sync.events(bob)
        link.refresh_from_db()
        assert event["calendarId"] == default["id"] == link.remote_calendar_id
        assert link.remote_event_id == event["id"] and not link.deleted_in_outlook
