"""Assigning into Outlook busy times: "busy in Outlook: <subject or busy>" needs "Assign anyway"; tentative
warns; stale busy data is never read as free."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shiftdesk.availability.actions import do_set_show_subjects, do_update_availability_settings
from shiftdesk.availability.models import BusyInterval, FreeBusyState
from shiftdesk.availability.refresh import refresh_busy_for_user
from shiftdesk.scheduling.actions import ConflictError, do_assign_staff
from shiftdesk.scheduling.models import Assignment, Shift
from tests.availability.conftest import local
from tests.availability.test_refresh import at, soon


@pytest.fixture
def day():
    return soon(3)


@pytest.fixture
def shift(schedule, position, day):
    return Shift.objects.create(
        schedule=schedule, position=position, start=local(day.year, day.month, day.day, 9),
        end=local(day.year, day.month, day.day, 13), staff_needed=1,
    )  # fmt: skip


def busy(user, shift, show_as="busy", subject="", minutes=(60, 120)):
    return BusyInterval.objects.create(
        user=user, start=shift.start + timedelta(minutes=minutes[0]), end=shift.start + timedelta(minutes=minutes[1]),
        show_as=show_as, subject=subject, remote_id=f"AAMk-{show_as}-{minutes[0]}",
    )  # fmt: skip


def fresh(user):
    from django.utils import timezone

    FreeBusyState.objects.update_or_create(
        user=user, defaults={"status": "ok", "last_refreshed_at": timezone.now()}
    )


def test_it_refuses_a_meeting_added_in_outlook_until_assign_anyway(
    bob, alice, outlook, freebusy_calendar, shift, day
):
    outlook.add_event(freebusy_calendar, "Dentist", at(day, 10), at(day, 11))
    do_set_show_subjects(bob, show=True)
    assert refresh_busy_for_user(bob.pk)
    with pytest.raises(ConflictError) as caught:
        do_assign_staff(shift, bob, by=alice)
    (conflict,) = caught.value.conflicts
    assert conflict.kind == "outlook_busy"
    assert "busy in Outlook: Dentist" in conflict.message
    assert not Assignment.objects.exists()
    do_assign_staff(shift, bob, by=alice, override_conflicts=True)
    assert Assignment.objects.filter(shift=shift, user=bob).exists()


def test_it_says_only_busy_when_the_user_keeps_subjects_private(bob, alice, shift):
    fresh(bob)
    busy(bob, shift, subject="")
    with pytest.raises(ConflictError) as caught:
        do_assign_staff(shift, bob, by=alice)
    message = caught.value.conflicts[0].message
    assert "Bob Staff is busy in Outlook, " in message and "(subject not shared)" in message
    assert "busy in Outlook: busy" not in message  # issue 14: a useful word instead


@pytest.mark.parametrize("show_as", ["busy", "oof", "workingElsewhere"])
def test_it_treats_the_unavailable_statuses_as_busy(bob, alice, shift, show_as):
    fresh(bob)
    busy(bob, shift, show_as=show_as)
    with pytest.raises(ConflictError) as caught:
        do_assign_staff(shift, bob, by=alice)
    assert [c.kind for c in caught.value.conflicts] == ["outlook_busy"]


def test_it_warns_about_tentative_meetings(bob, alice, shift):
    fresh(bob)
    busy(bob, shift, show_as="tentative", subject="Maybe lunch")
    with pytest.raises(ConflictError) as caught:
        do_assign_staff(shift, bob, by=alice)
    (conflict,) = caught.value.conflicts
    assert conflict.kind == "outlook_tentative"
    assert "tentative in Outlook: Maybe lunch" in conflict.message


@pytest.mark.parametrize("show_as", ["free", "unknown"])
def test_it_lets_other_statuses_through(bob, alice, shift, show_as):
    fresh(bob)
    busy(bob, shift, show_as=show_as)
    do_assign_staff(shift, bob, by=alice)


def test_it_follows_the_site_settings(bob, alice, shift):
    fresh(bob)
    busy(bob, shift, show_as="tentative")
    do_update_availability_settings(
        horizon_weeks=8, refresh_minutes=15, unavailable_show_as=["busy"], warning_show_as=[], by=alice
    )
    do_assign_staff(shift, bob, by=alice)


def test_it_ignores_busy_times_outside_the_shift(bob, alice, shift):
    fresh(bob)
    busy(bob, shift, minutes=(-120, 0))  # ends exactly when the shift starts
    busy(bob, shift, minutes=(240, 300))  # starts exactly when it ends
    do_assign_staff(shift, bob, by=alice)


def test_it_does_not_read_stale_busy_data_as_free(bob, alice, shift):
    FreeBusyState.objects.create(
        user=bob, status="stale", reason="the Outlook connection needs reauthorization."
    )
    with pytest.raises(ConflictError) as caught:
        do_assign_staff(shift, bob, by=alice)
    (conflict,) = caught.value.conflicts
    assert conflict.kind == "outlook_stale"
    assert "stale" in conflict.message and "reauthorization" in conflict.message


def test_the_assign_page_shows_the_outlook_warning(bob, alice, client, shift):
    fresh(bob)
    busy(bob, shift, subject="")
    client.force_login(alice)
    response = client.post(f"/shifts/{shift.pk}/assign/", {"staff": bob.email})
    assert response.status_code == 409
    assert "busy in Outlook, " in response.content.decode()
    response = client.post(
        f"/shifts/{shift.pk}/assign/", {"staff": bob.email, "override_conflicts": "on", "confirming": "1"}
    )
    assert response.status_code == 302
    assert Assignment.objects.filter(shift=shift, user=bob).exists()
