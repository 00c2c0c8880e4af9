"""The refresh step against the real emulator over HTTPS: what is stored from each kind of Outlook event, and
what happens when the calendar or the connection goes wrong."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from shiftdesk.availability.models import AvailabilitySettings, BusyInterval, FreeBusyState
from shiftdesk.availability.refresh import refresh_busy_for_user
from tests.availability.conftest import CHICAGO, local
from tests.dst import next_dst_changes


def soon(days: int) -> date:
    return datetime.now(CHICAGO).date() + timedelta(days=days)


def at(d: date, hh: int, mm: int = 0) -> str:
    return f"{d.isoformat()}T{hh:02d}:{mm:02d}:00"


def intervals(user):
    return list(BusyInterval.objects.filter(user=user).order_by("start", "id"))


@pytest.fixture
def bob_refresh(bob, freebusy_calendar):
    def run() -> bool:
        return refresh_busy_for_user(bob.pk)

    return run


def test_it_stores_every_status_but_free_and_nothing_else_of_the_event(
    bob, outlook, freebusy_calendar, bob_refresh
):
    d = soon(2)
    for hour, show_as in zip(
        range(8, 14), ["busy", "oof", "workingElsewhere", "tentative", "free", "unknown"], strict=True
    ):
        outlook.add_event(
            freebusy_calendar, f"{show_as} meeting", at(d, hour), at(d, hour, 45), showAs=show_as
        )
    assert bob_refresh() is True
    rows = intervals(bob)
    assert [r.show_as for r in rows] == ["busy", "oof", "workingElsewhere", "tentative", "unknown"]
    assert rows[0].start == local(d.year, d.month, d.day, 8) and rows[0].end == local(
        d.year, d.month, d.day, 8, 45
    )
    # Subjects only when Bob allows it; bodies and attendees are never stored anywhere.
    assert all(r.subject == "" for r in rows)
    state = FreeBusyState.objects.get(user=bob)
    assert state.status == "ok" and state.last_refreshed_at is not None
    field_names = {f.name for f in BusyInterval._meta.get_fields()}
    assert not field_names & {"body", "attendees", "location"}


def test_it_reads_only_the_chosen_calendar(bob, outlook, freebusy_calendar, bob_refresh):
    d = soon(3)
    outlook.add_event(outlook.default_calendar(), "In the default calendar", at(d, 9), at(d, 10))
    outlook.add_event(freebusy_calendar, "In Availability", at(d, 11), at(d, 12))
    assert bob_refresh()
    assert [r.start for r in intervals(bob)] == [local(d.year, d.month, d.day, 11)]


def test_it_keeps_subjects_only_when_the_user_allows_and_never_of_private_events(
    bob, outlook, freebusy_calendar, bob_refresh
):
    from shiftdesk.availability.actions import do_set_show_subjects

    d = soon(2)
    outlook.add_event(freebusy_calendar, "Dentist", at(d, 9), at(d, 10))
    outlook.add_event(freebusy_calendar, "Therapy", at(d, 11), at(d, 12), sensitivity="private")
    do_set_show_subjects(bob, show=True)
    assert bob_refresh()
    assert [r.subject for r in intervals(bob)] == ["Dentist", ""]
    do_set_show_subjects(bob, show=False)  # forgotten at once, before any refresh
    assert [r.subject for r in intervals(bob)] == ["", ""]


def test_it_places_all_day_events_on_the_sites_local_days(bob, outlook, freebusy_calendar, bob_refresh):
    d = soon(4)
    outlook.add_event(
        freebusy_calendar, "Conference", f"{d}T00:00:00", f"{d + timedelta(days=2)}T00:00:00",
        isAllDay=True, showAs="oof", zone="Europe/Paris",
    )  # fmt: skip
    assert bob_refresh()
    (row,) = intervals(bob)
    assert row.is_all_day
    assert row.start == local(d.year, d.month, d.day)
    end = d + timedelta(days=2)
    assert row.end == local(end.year, end.month, end.day)


def test_it_keeps_events_that_cross_midnight_whole(bob, outlook, freebusy_calendar, bob_refresh):
    d = soon(5)
    outlook.add_event(freebusy_calendar, "Night shift elsewhere", at(d, 22), at(d + timedelta(days=1), 2, 30))
    assert bob_refresh()
    (row,) = intervals(bob)
    assert row.start == local(d.year, d.month, d.day, 22)
    n = d + timedelta(days=1)
    assert row.end == local(n.year, n.month, n.day, 2, 30)
    assert row.end - row.start == timedelta(hours=4, minutes=30)


def test_it_reads_true_instants_across_a_dst_change(bob, outlook, freebusy_calendar, bob_refresh):
    # The next day US DST starts (a Sunday in March, at 2:00): 01:00-04:00 Chicago wall time lasts two real
    # hours. It can be up to a year and a week ahead, so the horizon reaches past it.
    spring, _ = next_dst_changes(CHICAGO, soon(1))
    settings = AvailabilitySettings.load()
    settings.horizon_weeks = 54
    settings.save()
    outlook.add_event(freebusy_calendar, "Across spring forward", at(spring, 1), at(spring, 4))
    # (Written in UTC: the emulator refuses a 23-hour all-day event written in America/Chicago.)
    outlook.add_event(
        freebusy_calendar,
        "DST day off",
        f"{spring.isoformat()}T00:00:00",
        f"{(spring + timedelta(days=1)).isoformat()}T00:00:00",
        isAllDay=True,
        zone="UTC",
    )
    assert bob_refresh()
    timed, all_day = sorted(intervals(bob), key=lambda r: r.is_all_day)
    assert timed.start == datetime.combine(spring, time(7), UTC)  # 01:00 CST = UTC-6
    assert timed.end == datetime.combine(spring, time(9), UTC)  # 04:00 CDT = UTC-5
    assert all_day.start == datetime.combine(spring, time(6), UTC)
    assert all_day.end - all_day.start == timedelta(hours=23)  # the short local day


def test_it_stores_each_occurrence_of_a_recurring_meeting(bob, outlook, freebusy_calendar, bob_refresh):
    d = soon(1)
    outlook.add_event(
        freebusy_calendar, "Standup", at(d, 9), at(d, 9, 15),
        recurrence={
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": d.isoformat(), "numberOfOccurrences": 5},
        },
    )  # fmt: skip
    assert bob_refresh()
    rows = intervals(bob)
    assert len(rows) == 5
    assert len({r.remote_id for r in rows}) == 5
    assert [r.start.astimezone(CHICAGO).date() for r in rows] == [d + timedelta(days=i) for i in range(5)]


def test_it_follows_next_links_past_the_first_page(bob, emulator, outlook, freebusy_calendar, bob_refresh):
    d = soon(6)
    bodies = [
        {"subject": f"Slot {i}", "start": {"dateTime": at(d, 8 + i // 30, (i % 30) * 2), "timeZone": "America/Chicago"},
         "end": {"dateTime": at(d, 8 + i // 30, (i % 30) * 2 + 1), "timeZone": "America/Chicago"}, "showAs": "busy"}
        for i in range(240)
    ]  # fmt: skip
    outlook.add_events(freebusy_calendar, bodies)
    assert bob_refresh()
    assert BusyInterval.objects.filter(user=bob).count() == 240
    views = [e for e in emulator.state.request_log if e["path"].endswith("/calendarView")]
    assert any("skip" in e["query"] for e in views)  # a next link was followed
    assert all(e["status"] == 200 for e in views)


def test_it_never_counts_shift_events_the_engine_recorded(
    bob, outlook, freebusy_calendar, connected_bob, bob_refresh, schedule, position
):
    from shiftdesk.calendarsync.models import EventLink
    from shiftdesk.scheduling.models import Shift

    d = soon(2)
    recorded = outlook.add_event(freebusy_calendar, "Reference Desk - Reference", at(d, 14), at(d, 16))
    shift = Shift.objects.create(
        schedule=schedule,
        position=position,
        start=local(d.year, d.month, d.day, 14),
        end=local(d.year, d.month, d.day, 16),
    )
    EventLink.objects.create(
        connection=connected_bob, shift=shift, shift_ref=shift.pk, link_key=EventLink.key_for(bob.pk, shift.pk),
        remote_event_id=recorded["id"], remote_calendar_id=freebusy_calendar, dirty=False,
    )  # fmt: skip
    outlook.add_event(freebusy_calendar, "A real meeting", at(d, 17), at(d, 18))
    assert bob_refresh()
    assert [r.start for r in intervals(bob)] == [local(d.year, d.month, d.day, 17)]


def test_it_never_counts_events_carrying_the_shiftdesk_link_property(
    bob, outlook, freebusy_calendar, bob_refresh
):
    from shiftdesk.microsoft.provider import LINK_PROPERTY_ID

    d = soon(2)
    outlook.add_event(
        freebusy_calendar, "Reference Desk - Reference", at(d, 9), at(d, 13),
        singleValueExtendedProperties=[{"id": LINK_PROPERTY_ID, "value": "shiftdesk-1-1"}],
    )  # fmt: skip
    outlook.add_event(freebusy_calendar, "A real meeting", at(d, 17), at(d, 18))
    assert bob_refresh()
    assert [r.start for r in intervals(bob)] == [local(d.year, d.month, d.day, 17)]


def test_it_clears_busy_data_and_says_why_when_the_calendar_is_deleted(
    bob, outlook, freebusy_calendar, bob_refresh
):
    d = soon(2)
    outlook.add_event(freebusy_calendar, "Meeting", at(d, 9), at(d, 10))
    assert bob_refresh()
    assert len(intervals(bob)) == 1
    outlook.delete_calendar(freebusy_calendar)
    assert bob_refresh() is False
    state = FreeBusyState.objects.get(user=bob)
    assert state.status == "error"
    assert "“Availability” no longer exists in Outlook" in state.reason
    assert intervals(bob) == []
    assert state.claimed_until is None  # released: the next pass may try again


def test_it_marks_busy_data_stale_and_keeps_it_when_reauthorization_is_needed(
    bob, emulator, app_id, outlook, freebusy_calendar, bob_refresh
):
    from shiftdesk.calendarsync.models import CalendarConnection

    d = soon(2)
    outlook.add_event(freebusy_calendar, "Meeting", at(d, 9), at(d, 10))
    assert bob_refresh()
    # Megan removes the app and her tokens stop working: Graph says 401, the refresh token is refused.
    emulator.control.post(
        "/revoke", json={"client_id": app_id, "user": "megan@contoso.onmicrosoft.com"}
    ).raise_for_status()
    emulator.control.post("/tokens/expire", json={"user": "megan@contoso.onmicrosoft.com"}).raise_for_status()
    assert bob_refresh() is False
    state = FreeBusyState.objects.get(user=bob)
    assert state.status == "stale"
    assert state.is_trustworthy is False
    assert len(intervals(bob)) == 1  # the last known busy times still warn
    assert CalendarConnection.objects.get(user=bob).status == "needs_reauthorization"
    # While marked, no network call is made and the data stays stale.
    assert bob_refresh() is False
    assert FreeBusyState.objects.get(user=bob).status == "stale"


def test_it_forgets_everything_when_the_user_has_no_connection(
    bob, outlook, freebusy_calendar, connected_bob, bob_refresh
):
    from shiftdesk.calendarsync.actions import do_disconnect_calendar

    d = soon(2)
    outlook.add_event(freebusy_calendar, "Meeting", at(d, 9), at(d, 10))
    assert bob_refresh()
    do_disconnect_calendar(connected_bob)
    assert bob_refresh() is False
    assert intervals(bob) == []
    assert not FreeBusyState.objects.filter(user=bob).exists()


def test_it_does_not_run_while_another_worker_holds_the_user(bob, outlook, freebusy_calendar, bob_refresh):
    from django.utils import timezone

    FreeBusyState.objects.create(user=bob, claimed_until=timezone.now() + timedelta(minutes=1))
    assert bob_refresh() is False
    assert FreeBusyState.objects.get(user=bob).last_refreshed_at is None
