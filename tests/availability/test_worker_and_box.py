"""The refreshbusy worker command, the Outlook Free/Busy box on Calendar Sync with its buttons, and the
site settings box on Admin > Integrations."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from shiftdesk.availability.models import AvailabilitySettings, BusyInterval, FreeBusyState
from tests.availability.test_refresh import at, soon

# Commands run with --threads 1: a test's transaction is invisible to other threads' database connections.
# bench/busy_refresh.py runs the threaded pass.


def test_the_worker_enrolls_connected_users_and_refreshes_them_once_per_interval(
    bob, outlook, freebusy_calendar
):
    d = soon(2)
    outlook.add_event(freebusy_calendar, "Meeting", at(d, 9), at(d, 10))
    assert not FreeBusyState.objects.exists()
    out = StringIO()
    call_command("refreshbusy", "--once", "--threads", "1", stdout=out)
    assert "refreshed 1 of 1 users" in out.getvalue()
    state = FreeBusyState.objects.get(user=bob)
    assert state.status == "ok" and state.claimed_until is None
    assert (state.next_refresh_at - state.last_attempt_at).total_seconds() == 15 * 60
    assert BusyInterval.objects.filter(user=bob).count() == 1
    # Not due again yet: the next pass does nothing.
    out = StringIO()
    call_command("refreshbusy", "--once", "--threads", "1", stdout=out)
    assert out.getvalue() == ""


def test_a_meeting_added_in_outlook_shows_up_after_the_next_due_refresh(bob, outlook, freebusy_calendar):
    call_command("refreshbusy", "--once", "--threads", "1", stdout=StringIO())
    d = soon(3)
    outlook.add_event(freebusy_calendar, "New meeting", at(d, 14), at(d, 15))
    FreeBusyState.objects.filter(user=bob).update(next_refresh_at=None)
    call_command("refreshbusy", "--once", "--threads", "1", stdout=StringIO())
    assert BusyInterval.objects.filter(user=bob).count() == 1


def test_the_box_shows_status_and_the_buttons(bob_client, bob, outlook, freebusy_calendar):
    page = bob_client.get("/account/calendar-sync/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Outlook Free/Busy" in html
    assert "Refresh now" in html
    assert "Show meeting subjects to schedulers" in html
    assert "Last refreshed: never" in html


def test_refresh_now_reads_outlook_at_once(bob_client, bob, outlook, freebusy_calendar):
    d = soon(2)
    outlook.add_event(freebusy_calendar, "Meeting", at(d, 9), at(d, 10))
    response = bob_client.post("/account/calendar-sync/freebusy/refresh/", follow=True)
    html = response.content.decode()
    # said inside the box the page scrolls to (#outlook-freebusy), not at the top of the page, out of sight
    box = html.split('id="outlook-freebusy"', 1)[1].split("</section>", 1)[0]
    assert "Your busy times were read from Outlook." in box
    assert html.count("Your busy times were read from Outlook.") == 1
    assert BusyInterval.objects.filter(user=bob).count() == 1
    assert "Last refreshed: never" not in response.content.decode()


def test_refresh_now_says_why_it_could_not(bob_client, bob, outlook, freebusy_calendar):
    outlook.delete_calendar(freebusy_calendar)
    response = bob_client.post("/account/calendar-sync/freebusy/refresh/", follow=True)
    assert "no longer exists in Outlook" in response.content.decode()


def test_show_subjects_is_the_users_own_choice(bob_client, bob, outlook, freebusy_calendar):
    bob_client.post("/account/calendar-sync/freebusy/subjects/", {"show_subjects": "on"})
    assert FreeBusyState.objects.get(user=bob).show_subjects is True
    bob_client.post("/account/calendar-sync/freebusy/subjects/", {})
    assert FreeBusyState.objects.get(user=bob).show_subjects is False


def test_the_box_buttons_are_for_logged_in_users_only(client, db):
    for url in ("/account/calendar-sync/freebusy/refresh/", "/account/calendar-sync/freebusy/subjects/"):
        response = client.post(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
        assert client.get(url).status_code in (302, 405)
    assert not FreeBusyState.objects.exists()


def test_only_system_admins_change_the_site_settings(client, alice, bob):
    data = {
        "horizon_weeks": 4,
        "refresh_minutes": 30,
        "unavailable_show_as": ["busy", "oof"],
        "warning_show_as": ["tentative", "workingElsewhere"],
    }
    client.force_login(bob)
    assert client.post("/admin/integrations/freebusy/", data).status_code == 403
    assert AvailabilitySettings.load().horizon_weeks == 8
    client.force_login(alice)
    assert "Outlook Free/Busy Settings" in client.get("/admin/integrations/").content.decode()
    assert client.post("/admin/integrations/freebusy/", data).status_code == 302
    settings = AvailabilitySettings.load()
    assert (settings.horizon_weeks, settings.refresh_minutes) == (4, 30)
    assert settings.severity("workingElsewhere") == "warning" and settings.severity("tentative") == "warning"
    bad = {**data, "warning_show_as": ["busy"]}
    assert client.post("/admin/integrations/freebusy/", bad).status_code == 400
    assert AvailabilitySettings.load().warning_show_as == ["workingElsewhere", "tentative"]
