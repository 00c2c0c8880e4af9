"""Google free/busy, against googleemulator over HTTPS: a Google user's Calendar to Check Free/Busy Status is
read by the refresher (freebusy.query: busy intervals only), shades the week grid, warns "busy in Google
Calendar" on assign and keeps auto-assign away; ShiftDesk's own shift events never count; a calendar deleted
or unshared, and a revoked grant, are said in words (the latter keeps the old data as stale)."""

# ruff: noqa: F811 - the Google fixtures are imported by name (they replace the Outlook ones of conftest.py)
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from shiftdesk.availability import autoassign
from shiftdesk.availability.actions import do_set_show_subjects
from shiftdesk.availability.models import BusyInterval, FreeBusyState
from shiftdesk.availability.refresh import _without_own_shifts, refresh_busy_for_user
from shiftdesk.calendarsync.actions import do_choose_calendars
from shiftdesk.scheduling.actions import ConflictError, do_assign_staff
from shiftdesk.scheduling.grid import week_start
from shiftdesk.scheduling.models import Assignment, Shift
from tests.availability.conftest import CHICAGO, local
from tests.google.conftest import (  # noqa: F401 - fixtures used by name
    connected_bob,
    gemu,
    google_emulator_server,
    google_settings,
    gworld,
)
from tests.google.test_provider_sync import drain

PRIMARY = "bob@example.org"


def soon(days: int) -> date:
    return datetime.now(CHICAGO).date() + timedelta(days=days)


def utc(d: date, hour: int, minute: int = 0) -> str:
    """Site-local (Chicago) wall time on `d` as Google's RFC 3339 in UTC."""
    return local(d.year, d.month, d.day, hour, minute).astimezone(UTC).isoformat().replace("+00:00", "Z")


def add_event(gemu, calendar: str, summary: str, d: date, start: tuple, end: tuple, **extra) -> dict:
    """Bob's own edit in Google Calendar (the control API acts as the calendar's owner)."""
    response = gemu.gcontrol.post(f"/calendars/{calendar}/events", json={
        "summary": summary, "start": {"dateTime": utc(d, *start)}, "end": {"dateTime": utc(d, *end)}, **extra,
    })  # fmt: skip
    response.raise_for_status()
    return response.json()


def spans(user) -> list[tuple[datetime, datetime, str, str]]:
    return [
        (r.start, r.end, r.show_as, r.subject)
        for r in BusyInterval.objects.filter(user=user).order_by("start", "id")
    ]


@pytest.fixture
def availability(gemu, connected_bob):
    """A calendar "Availability" of Bob's, chosen for free/busy; his primary calendar chosen for sync."""
    created = gemu.gcontrol.post("/calendars", json={"owner": PRIMARY, "summary": "Availability"})
    created.raise_for_status()
    calendar_id = created.json()["id"]
    do_choose_calendars(connected_bob, sync_calendar_id=PRIMARY, sync_calendar_name=PRIMARY,
                        freebusy_calendar_id=calendar_id, freebusy_calendar_name="Availability")  # fmt: skip
    return calendar_id


def test_the_refresher_stores_googles_busy_intervals_of_the_chosen_calendar_only(bob, gemu, availability):
    d = soon(2)
    do_set_show_subjects(bob, show=True)  # Google's free/busy has no subjects to show anyway
    add_event(gemu, availability, "Dentist", d, (9, 0), (10, 0))
    add_event(gemu, availability, "Overlapping", d, (9, 30), (11, 0))
    add_event(gemu, availability, "Marked free", d, (14, 0), (15, 0), transparency="transparent")
    add_event(gemu, PRIMARY, "In the primary calendar", d, (16, 0), (17, 0))
    assert refresh_busy_for_user(bob.pk) is True
    # Merged by Google, stored as "busy" (freebusy.query answers busy intervals only: no show-as, no subject).
    assert spans(bob) == [(local(d.year, d.month, d.day, 9), local(d.year, d.month, d.day, 11), "busy", "")]
    state = FreeBusyState.objects.get(user=bob)
    assert state.status == "ok" and state.last_refreshed_at is not None
    # Removed in Google: gone after the next refresh.
    events = gemu.gcontrol.get(f"/calendars/{availability}").json()["events"]
    for event_id in events if isinstance(events, dict) else [e["id"] for e in events]:
        gemu.gcontrol.delete(f"/calendars/{availability}/events/{event_id}").raise_for_status()
    assert refresh_busy_for_user(bob.pk) is True
    assert spans(bob) == []


def test_shiftdesks_own_shift_events_in_the_free_busy_calendar_are_not_busy(
    bob, alice, gemu, connected_bob, schedule, position, settings
):
    settings.SYNC_BACKOFF_BASE_SECONDS = 0
    do_choose_calendars(connected_bob, sync_calendar_id=PRIMARY, sync_calendar_name=PRIMARY,
                        freebusy_calendar_id=PRIMARY, freebusy_calendar_name=PRIMARY)  # fmt: skip
    d = soon(2)
    shift = Shift.objects.create(schedule=schedule, position=position, staff_needed=1,
                                 start=local(d.year, d.month, d.day, 9), end=local(d.year, d.month, d.day, 13))  # fmt: skip
    do_assign_staff(shift, bob, by=alice)
    drain(bob)  # the shift's event is now in Bob's primary calendar: Google counts it busy
    add_event(gemu, PRIMARY, "Meeting", d, (12, 0), (14, 0))  # half inside the shift
    assert refresh_busy_for_user(bob.pk) is True
    # Only the meeting's time outside Bob's own shift is busy; the shift's event itself is not.
    assert spans(bob) == [(local(d.year, d.month, d.day, 13), local(d.year, d.month, d.day, 14), "busy", "")]


def test_cutting_own_shifts_out_of_busy_intervals():
    t = [datetime(2030, 1, 1, h, tzinfo=UTC) for h in range(24)]
    assert _without_own_shifts([(t[9], t[17])], [(t[10], t[11]), (t[13], t[14])]) == [
        (t[9], t[10]), (t[11], t[13]), (t[14], t[17]),
    ]  # fmt: skip
    assert _without_own_shifts([(t[9], t[10])], [(t[8], t[12])]) == []
    assert _without_own_shifts([(t[9], t[10])], [(t[10], t[12])]) == [(t[9], t[10])]


def test_a_meeting_in_google_needs_assign_anyway_and_says_busy_in_google_calendar(
    bob, alice, gemu, availability, schedule, position
):
    d = soon(3)
    shift = Shift.objects.create(schedule=schedule, position=position, staff_needed=1,
                                 start=local(d.year, d.month, d.day, 9), end=local(d.year, d.month, d.day, 13))  # fmt: skip
    add_event(gemu, availability, "Dentist", d, (10, 0), (11, 0))
    assert refresh_busy_for_user(bob.pk)
    with pytest.raises(ConflictError) as caught:
        do_assign_staff(shift, bob, by=alice)
    (conflict,) = caught.value.conflicts
    assert conflict.kind == "outlook_busy"
    assert "Bob Staff is busy in Google Calendar, " in conflict.message
    assert "(Google shares busy times only)" in conflict.message and "Outlook" not in conflict.message
    assert not Assignment.objects.exists()
    do_assign_staff(shift, bob, by=alice, override_conflicts=True)
    assert Assignment.objects.filter(shift=shift, user=bob).exists()


def test_the_week_grid_shades_google_busy_times(alice_client, alice, bob, gemu, availability, schedule):
    alice_client.force_login(alice)  # connected_bob logged the shared test client in as Bob
    d = soon(2)
    add_event(gemu, availability, "Dentist", d, (10, 0), (11, 30))
    assert refresh_busy_for_user(bob.pk)
    url = reverse("schedule_week", args=[schedule.pk]) + f"?week={week_start(d).isoformat()}"
    html = alice_client.get(url).content.decode()
    assert "Google Calendar busy times" in html and "Outlook busy times" not in html
    assert '<td class="busy"><ul><li>10 AM–11:30 AM busy</li>' in html
    assert "Dentist" not in html


def test_auto_assign_keeps_a_google_busy_person_off_the_shift(bob, gemu, availability, schedule, position):
    d = week_start(soon(7)) + timedelta(days=1)
    busy_shift = Shift.objects.create(schedule=schedule, position=position, staff_needed=1,
                                      start=local(d.year, d.month, d.day, 9), end=local(d.year, d.month, d.day, 13))  # fmt: skip
    free_day = d + timedelta(days=1)
    free_shift = Shift.objects.create(schedule=schedule, position=position, staff_needed=1,
                                      start=local(free_day.year, free_day.month, free_day.day, 9),
                                      end=local(free_day.year, free_day.month, free_day.day, 13))  # fmt: skip
    add_event(gemu, availability, "Workshop", d, (11, 0), (12, 0))
    assert refresh_busy_for_user(bob.pk)
    proposal = autoassign.propose(schedule, week_start(d))
    got = {(p.shift.pk, p.user.pk) for p in proposal.assignments}
    assert got == {(free_shift.pk, bob.pk)}
    assert (busy_shift.pk, bob.pk) not in got


def test_a_calendar_deleted_in_google_clears_the_data_and_says_so(bob, gemu, availability):
    d = soon(2)
    add_event(gemu, availability, "Dentist", d, (9, 0), (10, 0))
    assert refresh_busy_for_user(bob.pk)
    assert len(spans(bob)) == 1
    gemu.gcontrol.delete(f"/calendars/{availability}").raise_for_status()
    assert refresh_busy_for_user(bob.pk) is False
    state = FreeBusyState.objects.get(user=bob)
    assert state.status == "error"
    assert "“Availability” no longer exists in Google Calendar or is no longer shared" in state.reason
    assert spans(bob) == []


def test_a_revoked_grant_keeps_the_old_busy_times_as_stale_and_warns(
    bob, alice, gemu, availability, schedule, position
):
    from tests.google.conftest import CLIENT_ID

    d = soon(2)
    add_event(gemu, availability, "Dentist", d, (9, 0), (10, 0))
    assert refresh_busy_for_user(bob.pk)
    gemu.gcontrol.post("/revoke", json={"client_id": CLIENT_ID, "email": PRIMARY}).raise_for_status()
    # The revoked grant's access token is refused (401); the refresh token is dead too: reauthorization.
    FreeBusyState.objects.filter(user=bob).update(next_refresh_at=timezone.now())
    assert refresh_busy_for_user(bob.pk) is False
    state = FreeBusyState.objects.get(user=bob)
    assert state.status == "stale"
    assert "Google no longer accepts ShiftDesk's authorization" in state.reason, state.reason
    assert len(spans(bob)) == 1  # never silently "free"
    shift = Shift.objects.create(schedule=schedule, position=position, staff_needed=1,
                                 start=local(d.year, d.month, d.day, 14), end=local(d.year, d.month, d.day, 16))  # fmt: skip
    with pytest.raises(ConflictError) as caught:
        do_assign_staff(shift, bob, by=alice)
    (conflict,) = caught.value.conflicts
    assert conflict.kind == "outlook_stale"
    assert "Bob Staff's Google Calendar busy data is stale" in conflict.message


def test_the_calendar_sync_box_says_google_calendar_free_busy(client, bob, gemu, availability):
    add_event(gemu, availability, "Dentist", soon(2), (9, 0), (10, 0))
    assert refresh_busy_for_user(bob.pk)
    client.force_login(bob)
    page = client.get(reverse("calendar_sync")).content.decode()
    assert "Google Calendar Free/Busy</h2>" in page and "Outlook Free/Busy</h2>" not in page
    assert "Availability" in page and "1 busy time stored" in page
    assert "Google Calendar shares busy times only" in page
