"""The engine over EWS where EWS differs from Graph: ids, no probe requests, crash adoption without a
transactionId, moves between calendar folders, a refused password, ErrorServerBusy, the site switch, and
switching a mailbox from OAuth to password without duplicating its events."""

from __future__ import annotations

import pytest

from m365emulator.ews.store import ews_settings
from tests.calendarsync.conftest import Sync, link_key_of


def test_it_creates_the_event_with_the_link_property_and_no_probe(sync):
    from shiftdesk.calendarsync.models import EventLink, SyncLogEntry

    bob = sync.add_user(0)
    shift = sync.shift(days=3, note="Bring keys", location="Branch 2")
    sync.assign(shift, bob)
    sync.emulator.state.request_log.clear()
    assert sync.step(bob) is True
    [event] = sync.events(bob)
    assert event["subject"] == "Reference Desk - Reference"
    assert event["location"] == "Branch 2"
    assert "Bring keys" in event["body"]["content"]
    assert event["attendees"] == []
    assert event["start"].startswith(shift.start.isoformat()[:16])
    assert link_key_of(event) == f"shiftdesk-{bob.pk}-{shift.pk}"  # the same property Graph writes
    link = EventLink.objects.get()
    assert link.remote_event_id == sync.ews_calendar_id(event["id"])
    assert not link.dirty and link.change_key == event["changeKey"]
    assert SyncLogEntry.objects.filter(action="create", outcome="ok").exists()
    operations = [e.get("operation") for e in sync.ews_requests()]
    assert "ConvertId" not in operations and operations.count("CreateItem") == 1


def test_it_adopts_an_event_created_before_a_crash(sync, monkeypatch):
    from shiftdesk.calendarsync import step as engine
    from shiftdesk.calendarsync.models import EventLink, SyncLogEntry

    bob = sync.add_user(0)
    sync.assign(sync.shift(), bob)

    def crash(record):
        raise RuntimeError("worker died before recording")

    monkeypatch.setattr(engine, "record_step", crash)
    with pytest.raises(RuntimeError):
        sync.step(bob)
    monkeypatch.undo()
    [event] = sync.events(bob)
    sync.step(bob)
    [again] = sync.events(bob)
    assert again["id"] == event["id"]
    assert EventLink.objects.get().remote_event_id == sync.ews_calendar_id(event["id"])
    assert SyncLogEntry.objects.filter(action="adopt", outcome="ok").exists()


def test_it_moves_future_events_to_another_calendar_folder(sync):
    from shiftdesk.calendarsync.actions import do_choose_calendars

    bob = sync.add_user(0)
    for d in (1, 2):
        sync.assign(sync.shift(days=d), bob)
    sync.step(bob)
    created = sync.emulator.control.post(
        f"/graph/mailboxes/{sync.upns[bob.pk]}/calendars", json={"name": "Work"}
    )
    work = created.json()["id"]
    ews_work = sync.ews_calendar_id(work)
    do_choose_calendars(sync.connection(bob), sync_calendar_id=ews_work, sync_calendar_name="Work",
                        freebusy_calendar_id=ews_work, freebusy_calendar_name="Work")  # fmt: skip
    sync.drain(bob)
    events = sync.events(bob)
    assert len(events) == 2 and {e["calendarId"] for e in events} == {work}


def test_a_refused_password_needs_reauthorization_and_is_not_retried(sync):
    from shiftdesk.calendarsync.models import CalendarConnection

    bob = sync.add_user(0)
    sync.assign(sync.shift(), bob)
    sync.emulator.control.post(f"/users/{sync.upns[bob.pk]}/password", json={"password": "Changed-pw9"})
    sync.step(bob)
    conn = sync.connection(bob)
    assert conn.status == CalendarConnection.Status.NEEDS_REAUTHORIZATION
    assert "refused the saved password" in conn.last_error
    before = len(sync.ews_requests())
    assert sync.step(bob) is False
    assert len(sync.ews_requests()) == before
    assert sync.events(bob) == []


def test_server_busy_backs_off_and_then_succeeds(sync):
    from shiftdesk.calendarsync.models import CalendarConnection, EventLink

    bob = sync.add_user(0)
    sync.assign(sync.shift(), bob)
    settings = ews_settings(sync.emulator.state)
    settings.busy_requests, settings.busy_back_off_ms = 1, 120_000
    sync.step(bob)
    conn = sync.connection(bob)
    assert conn.status == CalendarConnection.Status.CONNECTED
    assert conn.retry_after_until is not None  # the server's back-off hint is kept for every worker
    assert EventLink.objects.get().dirty
    assert sync.events(bob) == []
    sync.drain(bob)
    assert len(sync.events(bob)) == 1


def test_the_site_switch_stops_and_resumes_password_sync(sync):
    from shiftdesk.calendarsync.worker import claim_due_connections
    from shiftdesk.exchange.actions import do_set_exchange_enabled

    bob = sync.add_user(0)
    sync.assign(sync.shift(), bob)
    do_set_exchange_enabled(False, by=sync.admin)
    assert claim_due_connections("w", 10) == []
    assert sync.step(bob) is False
    assert sync.events(bob) == []
    do_set_exchange_enabled(True, by=sync.admin)
    assert sync.step(bob) is True
    assert len(sync.events(bob)) == 1


def test_switching_a_mailbox_from_oauth_to_password_adopts_its_events(sync):
    from shiftdesk.calendarsync.actions import do_start_export
    from shiftdesk.calendarsync.models import ExportJob
    from shiftdesk.calendarsync.worker import Worker

    bob = sync.add_user(0, connect=False)
    Sync.connect(sync, bob)  # OAuth 2 first
    for d in (1, 2):
        sync.assign(sync.shift(days=d), bob)
    sync.drain(bob)
    ids = sorted(e["id"] for e in sync.events(bob))
    assert sync.connection(bob).provider == "microsoft"

    sync.connect(bob)  # then Password Authentication on the same mailbox: replaces the connection
    assert sync.connection(bob).provider == "exchange"
    do_start_export(bob, option=ExportJob.Option.ALL, by=bob)
    Worker(concurrency=1, worker_id="w1").run(once=True)
    assert sorted(e["id"] for e in sync.events(bob)) == ids  # found by the shared link property, not copied


@pytest.mark.parametrize(
    "change, days, utc_hour",
    # 09:00 in Chicago on the Saturday before and the Sunday of the next spring-forward and fall-back weekends.
    [("spring", -1, 15), ("spring", 0, 14), ("fall", -1, 14), ("fall", 0, 15)],
)
def test_events_keep_the_wall_clock_time_across_dst_weekends(sync, change, days, utc_hour):
    from datetime import UTC, datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from shiftdesk.scheduling.actions import do_create_shift
    from tests.dst import next_dst_changes

    bob = sync.add_user(0)
    chicago = ZoneInfo("America/Chicago")
    spring, fall = next_dst_changes(chicago, datetime.now(chicago).date() + timedelta(days=2))
    day = (spring if change == "spring" else fall) + timedelta(days=days)
    start = datetime.combine(day, time(9), chicago)
    shift = do_create_shift(sync.schedule, position=sync.position, location="", start=start,
                            end=start + timedelta(hours=4), staff_needed=1, note="", by=sync.admin)  # fmt: skip
    sync.assign(shift, bob)
    sync.step(bob)
    [event] = sync.events(bob)
    assert datetime.fromisoformat(event["start"]).astimezone(UTC).hour == utc_hour  # 09:00 local either side
    assert event["startTimeZone"] in ("Central Standard Time", "America/Chicago")  # explicit zone, not UTC
