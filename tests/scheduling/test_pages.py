"""Scheduling pages through the HTTP client: forms answer bad input next to the field, keep what was typed,
and save nothing half-way; the dashboard, time off and settings pages do what they say."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.urls import reverse

from shiftdesk.scheduling import actions
from shiftdesk.scheduling.models import Assignment, Position, Schedule, Shift, Site, TimeOff
from shiftdesk.scheduling.seam import ChangeKind
from tests.scheduling.conftest import CHICAGO, local


def test_it_creates_a_shift_in_site_local_time(alice_client, schedule, position):
    response = alice_client.post(
        reverse("shift_create", args=[schedule.pk]),
        {
            "position": position.pk,
            "date": "2026-07-06",
            "start_time": "09:00",
            "end_time": "13:30",
            "location": "Lobby",
            "staff_needed": "2",
            "note": "",
        },
    )
    assert response.status_code == 302
    shift = Shift.objects.get()
    assert shift.start == local(2026, 7, 6, 9) and shift.end == local(2026, 7, 6, 13, 30)
    assert shift.start.utcoffset() is not None


def test_bad_shift_input_is_answered_next_to_the_field_and_kept(alice_client, schedule, position):
    response = alice_client.post(
        reverse("shift_create", args=[schedule.pk]),
        {
            "position": position.pk,
            "date": "2026-07-06",
            "start_time": "25:00",
            "end_time": "13:30",
            "location": "Kept location",
            "staff_needed": "0",
            "note": "kept note",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Enter a valid time." in html
    assert "Ensure this value is greater than or equal to 1." in html
    assert 'value="Kept location"' in html and "kept note" in html
    assert not Shift.objects.exists()


def test_an_overnight_shift_ends_the_next_day(alice_client, schedule, position):
    alice_client.post(
        reverse("shift_create", args=[schedule.pk]),
        {
            "position": position.pk,
            "date": "2026-07-06",
            "start_time": "22:00",
            "end_time": "02:00",
            "staff_needed": "1",
        },
    )
    shift = Shift.objects.get()
    assert shift.end - shift.start == timedelta(hours=4)


def test_editing_a_shift_publishes_for_its_staff(alice_client, shift, bob, alice, position, recorder):
    actions.do_assign_staff(shift, bob, by=alice)
    response = alice_client.get(reverse("shift_edit", args=[shift.pk]))
    assert 'value="09:00"' in response.content.decode()
    day = shift.start.astimezone(CHICAGO).date().isoformat()
    response = alice_client.post(
        reverse("shift_edit", args=[shift.pk]),
        {
            "position": position.pk,
            "date": day,
            "start_time": "10:00",
            "end_time": "13:00",
            "location": "Lobby",
            "staff_needed": "2",
            "note": "Bring keys",
        },
    )
    assert response.status_code == 302
    [change] = recorder.calls[-1]
    assert change.kind == ChangeKind.SHIFT_EDITED
    assert change.after.start.astimezone(CHICAGO).hour == 10 and change.after.location == "Lobby"


def test_needing_fewer_staff_than_assigned_is_refused(
    alice_client, shift, schedule, bob, charlie, alice, position
):
    schedule.staff.add(charlie)
    actions.do_bulk_assign_staff([(shift, bob), (shift, charlie)], by=alice)
    day = shift.start.astimezone(CHICAGO).date().isoformat()
    response = alice_client.post(
        reverse("shift_edit", args=[shift.pk]),
        {
            "position": position.pk,
            "date": day,
            "start_time": "09:00",
            "end_time": "13:00",
            "staff_needed": "1",
        },
    )
    assert response.status_code == 400
    assert "2 staff are assigned" in response.content.decode()
    shift.refresh_from_db()
    assert shift.staff_needed == 2


def test_deleting_a_shift_asks_first(alice_client, shift, bob, alice, recorder):
    actions.do_assign_staff(shift, bob, by=alice)
    page = alice_client.get(reverse("shift_delete", args=[shift.pk])).content.decode()
    assert "taken off the calendars of Bob Staff" in page
    alice_client.post(reverse("shift_delete", args=[shift.pk]))
    assert not Shift.objects.exists()
    assert recorder.calls[-1][0].kind == ChangeKind.SHIFT_DELETED


def test_weekly_repeat_form_creates_a_semester_with_assignments(
    alice_client, schedule, position, bob, recorder
):
    response = alice_client.post(
        reverse("shift_repeat", args=[schedule.pk]),
        {
            "position": position.pk,
            "first_date": "2026-08-24",
            "last_date": "2026-12-04",
            "weekdays": ["0", "2"],
            "start_time": "09:00",
            "end_time": "12:00",
            "staff_needed": "1",
            "assignees": [bob.pk],
        },
    )
    assert response.status_code == 302
    assert Shift.objects.count() == 30  # 15 weeks x Mon+Wed
    assert Assignment.objects.filter(user=bob).count() == 30
    assert len(recorder.calls) == 1 and len(recorder.calls[0]) == 30
    assert {s.start.astimezone(CHICAGO).hour for s in Shift.objects.all()} == {9}  # across Nov 1 fall back


def test_weekly_repeat_form_keeps_input_on_errors(alice_client, schedule, position):
    response = alice_client.post(
        reverse("shift_repeat", args=[schedule.pk]),
        {
            "position": position.pk,
            "first_date": "2026-08-24",
            "last_date": "2026-08-01",
            "start_time": "09:00",
            "end_time": "12:00",
            "staff_needed": "1",
            "location": "Kept",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "This field is required." in html  # weekdays
    assert 'value="Kept"' in html and 'value="2026-08-01"' in html
    assert not Shift.objects.exists()


def test_dashboard_shows_my_upcoming_shifts_with_a_selectable_range(
    bob_client, shift, schedule, position, bob, alice
):
    later = Shift.objects.create(
        schedule=schedule,
        position=Position.objects.create(name="Story Time"),
        start=shift.start + timedelta(days=10),
        end=shift.end + timedelta(days=10),
    )
    actions.do_bulk_assign_staff([(shift, bob), (later, bob)], by=alice)
    html = bob_client.get(reverse("dashboard")).content.decode()
    assert "My Upcoming Shifts" in html and "Reference Desk" in html and "Story Time" not in html
    html = bob_client.get(reverse("dashboard") + "?days=14").content.decode()
    assert "Story Time" in html
    assert bob_client.get(reverse("dashboard") + "?days=abc").status_code == 200
    actions.do_set_schedule_active(schedule, active=False, by=alice)
    assert "Reference Desk" not in bob_client.get(reverse("dashboard")).content.decode()


def test_dashboard_does_not_show_other_peoples_shifts(client, charlie, shift, bob, alice):
    actions.do_assign_staff(shift, bob, by=alice)
    client.force_login(charlie)
    assert "Reference Desk" not in client.get(reverse("dashboard")).content.decode()


def test_staff_ask_for_time_off_and_admins_decide(bob_client, client, alice, bob, site):
    tomorrow = (datetime.now(CHICAGO) + timedelta(days=1)).date()
    response = bob_client.post(
        reverse("time_off_list"),
        {"start_date": tomorrow.isoformat(), "end_date": tomorrow.isoformat(), "reason": "Doctor"},
    )
    assert response.status_code == 302
    time_off = TimeOff.objects.get()
    assert time_off.status == TimeOff.Status.PENDING
    # The whole local day, midnight to midnight in the site's zone (23 or 25 hours on a DST change day).
    assert time_off.start == datetime.combine(tomorrow, time(0), tzinfo=CHICAGO)
    assert time_off.end == datetime.combine(tomorrow + timedelta(days=1), time(0), tzinfo=CHICAGO)
    assert "Doctor" in bob_client.get(reverse("dashboard")).content.decode()
    client.force_login(alice)
    page = client.get(reverse("time_off_list")).content.decode()
    assert "Waiting for a decision" in page and "Bob Staff" in page
    client.post(reverse("time_off_decide", args=[time_off.pk]), {"decision": "approve"})
    time_off.refresh_from_db()
    assert time_off.status == TimeOff.Status.APPROVED and time_off.decided_by == alice


def test_weekly_time_off_needs_an_end_date(bob_client):
    response = bob_client.post(
        reverse("time_off_list"),
        {
            "start_date": "2026-09-01",
            "start_time": "13:00",
            "end_date": "2026-09-01",
            "end_time": "15:00",
            "repeat_weekly": "on",
            "reason": "Class",
        },
    )
    assert response.status_code == 400
    assert "Say until when it repeats." in response.content.decode()
    assert 'value="Class"' in response.content.decode()
    assert not TimeOff.objects.exists()


def test_schedules_settings_saves_site_and_refuses_bad_values(alice_client, site):
    response = alice_client.post(
        reverse("admin_schedules"),
        {"name": "Riverside", "time_zone": "Mars/Olympus", "reminder_minutes": "-5"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Select a valid choice." in html and 'value="Riverside"' in html
    response = alice_client.post(
        reverse("admin_schedules"),
        {"name": "Riverside", "time_zone": "America/New_York", "reminder_minutes": "30"},
    )
    assert response.status_code == 302
    site = Site.load()
    assert (site.name, site.time_zone, site.reminder_minutes) == ("Riverside", "America/New_York", 30)


def test_schedule_settings_deactivate_and_name_admins(
    alice_client, schedule, shift, bob, charlie, alice, recorder
):
    actions.do_assign_staff(shift, bob, by=alice)
    response = alice_client.post(
        reverse("schedule_edit", args=[schedule.pk]), {"name": "Reference", "admins": [charlie.pk]}
    )
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert not schedule.active and list(schedule.admins.all()) == [charlie]
    assert recorder.calls[-1][0].kind == ChangeKind.SCHEDULE_DEACTIVATED


def test_duplicate_schedule_name_is_refused_and_nothing_saved(alice_client, schedule, charlie):
    response = alice_client.post(
        reverse("schedule_create"), {"name": "Reference", "active": "on", "admins": [charlie.pk]}
    )
    assert response.status_code == 400
    assert "Schedule with this Name already exists." in response.content.decode()
    assert Schedule.objects.count() == 1


def test_roster_and_positions(alice_client, schedule, bob, charlie, position, shift):
    alice_client.post(reverse("schedule_roster", args=[schedule.pk]), {"staff": [charlie.pk]})
    assert list(schedule.staff.all()) == [charlie]
    alice_client.post(reverse("position_list"), {"name": "Circulation"})
    assert Position.objects.filter(name="Circulation").exists()
    response = alice_client.post(reverse("position_list"), {"name": "Circulation"})
    assert "Position with this Name already exists." in response.content.decode()
    response = alice_client.post(reverse("position_edit", args=[position.pk]), {"delete": "1"})
    assert "used by shifts" in response.content.decode()
    assert Position.objects.filter(pk=position.pk).exists()


def test_schedule_list_shows_only_my_schedules(client, bob, charlie, schedule, other_schedule):
    client.force_login(bob)
    html = client.get(reverse("schedule_list")).content.decode()
    assert "Reference" in html and "Circulation" not in html


def test_pages_carry_no_inline_styles_or_scripts(alice_client, shift):
    for url in [
        reverse("dashboard"),
        reverse("schedule_week", args=[shift.schedule_id]),
        reverse("shift_edit", args=[shift.pk]),
        reverse("time_off_list"),
        reverse("admin_schedules"),
        reverse("shift_repeat", args=[shift.schedule_id]),
    ]:
        html = alice_client.get(url).content.decode()
        assert "style=" not in html, url
        assert "<script>" not in html and "<style" not in html, url
        assert "scheduling/scheduling.css" in html


def test_dst_dates_are_what_the_issue_says():
    # Second Sunday of March and first Sunday of November 2026 in America/Chicago.
    assert date(2026, 3, 8).weekday() == 6 and date(2026, 11, 1).weekday() == 6
    assert local(2026, 3, 7, 12).utcoffset() != local(2026, 3, 9, 12).utcoffset()
    assert local(2026, 10, 31, 12).utcoffset() != local(2026, 11, 2, 12).utcoffset()
