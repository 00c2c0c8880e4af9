"""The refresh step for an Exchange (EWS) connection, against the emulator's EWS over HTTPS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shiftdesk.availability.models import BusyInterval, FreeBusyState
from shiftdesk.availability.refresh import refresh_busy_for_user
from tests.exchange.conftest import mailbox


def _choose(conn, calendar):
    from shiftdesk.calendarsync.actions import do_choose_calendars

    do_choose_calendars(
        conn, sync_calendar_id=conn.sync_calendar_id, sync_calendar_name="Calendar",
        freebusy_calendar_id=calendar.id.replace("-", "+").replace("_", "/"), freebusy_calendar_name=calendar.name,
    )  # fmt: skip


def test_it_reads_an_exchange_users_chosen_folder(bob_client, bob, emulator, connect):
    box = mailbox(emulator)
    work = box.create_calendar("Work")
    conn = connect(bob_client)
    _choose(conn, work)
    day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    box.create_event(work.id, {"subject": "Dentist", "start": {"dateTime": f"{day}T15:00:00", "timeZone": "UTC"},
                               "end": {"dateTime": f"{day}T16:00:00", "timeZone": "UTC"}, "showAs": "oof"})  # fmt: skip
    box.create_event(box.default_calendar.id, {"subject": "Elsewhere", "start": {"dateTime": f"{day}T09:00:00", "timeZone": "UTC"},
                                               "end": {"dateTime": f"{day}T10:00:00", "timeZone": "UTC"}})  # fmt: skip
    assert refresh_busy_for_user(bob.pk) is True
    (row,) = BusyInterval.objects.filter(user=bob)
    assert row.show_as == "oof" and row.start.hour == 15 and row.subject == ""
    assert FreeBusyState.objects.get(user=bob).status == "ok"


def test_a_deleted_exchange_folder_clears_busy_data_and_says_why(bob_client, bob, emulator, connect):
    box = mailbox(emulator)
    work = box.create_calendar("Work")
    conn = connect(bob_client)
    _choose(conn, work)
    box.delete_calendar(work.id)
    assert refresh_busy_for_user(bob.pk) is False
    state = FreeBusyState.objects.get(user=bob)
    assert state.status == "error" and "“Work” no longer exists" in state.reason
