"""The week grid shades each staff member's Outlook busy times, says when busy data is stale, and keeps its
constant query count."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.urls import reverse
from django.utils import timezone

from shiftdesk.accounts.models import User
from shiftdesk.availability.models import BusyInterval, FreeBusyState
from shiftdesk.availability.refresh import refresh_busy_for_user
from shiftdesk.scheduling.grid import week_start
from shiftdesk.scheduling.models import Shift
from tests.availability.conftest import CHICAGO
from tests.availability.test_refresh import at, soon


def week_url(schedule, day: date) -> str:
    return reverse("schedule_week", args=[schedule.pk]) + f"?week={week_start(day).isoformat()}"


def one_busy_hour(user, day: date, hour: int, subject: str) -> None:
    """A fresh free/busy state with subjects shown, and one busy hour from `hour` (site time) on `day`."""
    FreeBusyState.objects.create(user=user, last_refreshed_at=timezone.now(), show_subjects=True)
    start = datetime(day.year, day.month, day.day, hour, tzinfo=CHICAGO)
    BusyInterval.objects.create(
        user=user,
        start=start,
        end=start + timedelta(hours=1),
        show_as="busy",
        subject=subject,
        remote_id="AAMk1",
    )


def test_a_meeting_added_in_outlook_shades_the_grid_after_a_refresh(
    alice_client, alice, bob, schedule, outlook, freebusy_calendar
):
    alice_client.force_login(alice)  # connected_bob logged the shared test client in as Bob
    d = soon(2)
    before = alice_client.get(week_url(schedule, d)).content.decode()
    assert "Dentist" not in before
    from shiftdesk.availability.actions import do_set_show_subjects

    do_set_show_subjects(bob, show=True)
    outlook.add_event(freebusy_calendar, "Dentist", at(d, 10), at(d, 11, 30))
    assert refresh_busy_for_user(bob.pk)
    html = alice_client.get(week_url(schedule, d)).content.decode()
    assert "Outlook busy times" in html
    assert '<td class="busy"><ul><li>10 AM–11:30 AM Dentist</li>' in html


def test_tentative_is_shaded_apart_and_subjects_stay_hidden_when_private(alice_client, bob, schedule):
    d = soon(3)
    FreeBusyState.objects.create(user=bob, last_refreshed_at=timezone.now())
    start = datetime(d.year, d.month, d.day, 13, tzinfo=CHICAGO)
    BusyInterval.objects.create(
        user=bob, start=start, end=start + timedelta(hours=1), show_as="tentative", remote_id="AAMk1"
    )
    html = alice_client.get(week_url(schedule, d)).content.decode()
    assert '<td class="tentative"><ul><li>1 PM–2 PM tentative</li>' in html


def test_the_grid_says_when_busy_data_is_stale(alice_client, bob, schedule):
    FreeBusyState.objects.create(
        user=bob, status="stale", reason="the Outlook connection needs reauthorization."
    )
    html = alice_client.get(week_url(schedule, soon(0))).content.decode()
    assert '<tr class="stale">' in html
    assert "busy data is stale: the Outlook connection needs reauthorization." in html


def test_names_and_subjects_are_escaped(alice_client, bob, schedule):
    bob.first_name = "<b>Bob</b>"
    bob.save()
    d = soon(2)
    one_busy_hour(bob, d, 9, "<script>x</script>")
    html = alice_client.get(week_url(schedule, d)).content.decode()
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "<b>Bob</b>" not in html


def test_the_grid_keeps_a_constant_query_count_with_busy_shading(
    alice_client, schedule, position, django_assert_max_num_queries
):
    d = soon(7)
    first = week_start(d)
    counts = []
    for people in (3, 40):
        User.objects.filter(email__startswith="staff").delete()
        Shift.objects.all().delete()
        users = [
            User.objects.create_user(f"staff{n}@example.org", None, first_name=f"S{n}") for n in range(people)
        ]
        schedule.staff.set(users)
        for n, user in enumerate(users):
            FreeBusyState.objects.create(
                user=user, last_refreshed_at=timezone.now(), status="stale" if n % 5 == 0 else "ok"
            )
            for day in range(7):
                start = datetime(first.year, first.month, first.day, 9, tzinfo=CHICAGO) + timedelta(days=day)
                BusyInterval.objects.create(
                    user=user,
                    start=start,
                    end=start + timedelta(hours=2),
                    show_as="busy",
                    remote_id=f"AAMk{n}-{day}",
                )
            start = datetime(first.year, first.month, first.day, 8, tzinfo=CHICAGO) + timedelta(days=n % 7)
            Shift.objects.create(
                schedule=schedule, position=position, start=start, end=start + timedelta(hours=4)
            )
        with django_assert_max_num_queries(12) as ctx:
            response = alice_client.get(week_url(schedule, d))
        assert response.status_code == 200
        assert response.content.decode().count('<td class="busy">') == 7 * people
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_managers_see_the_auto_assign_button_when_slots_are_open(client, alice, bob, schedule, position):
    d = soon(2)
    start = datetime(d.year, d.month, d.day, 9, tzinfo=CHICAGO)
    Shift.objects.create(schedule=schedule, position=position, start=start, end=start + timedelta(hours=3))
    client.force_login(alice)
    assert 'id="auto-assign"' in client.get(week_url(schedule, d)).content.decode()
    client.force_login(bob)  # roster staff see the week, not the button
    assert 'id="auto-assign"' not in client.get(week_url(schedule, d)).content.decode()


def test_busy_times_are_shown_to_those_who_schedule_not_to_colleagues(client, alice, bob, charlie, schedule):
    schedule.staff.add(charlie)
    d = soon(2)
    one_busy_hour(bob, d, 13, "Therapy")
    client.force_login(alice)
    assert "1 PM–2 PM Therapy" in client.get(week_url(schedule, d)).content.decode()
    schedule.admins.add(charlie)
    client.force_login(charlie)  # a schedule admin schedules Bob too
    assert "1 PM–2 PM Therapy" in client.get(week_url(schedule, d)).content.decode()
    schedule.admins.remove(charlie)
    html = client.get(week_url(schedule, d)).content.decode()  # a colleague on the same roster
    assert "Outlook busy times" not in html and "Therapy" not in html
