"""The rough edges of the first FAQ walk (issue 14), each as it shows on the page: the Free/Busy box after the
first Save Calendars, the Export hint when OAuth is off, names and times in the sync log, Retry only where
something failed, a useful word for a hidden meeting subject, and the FAQ's "Outlook/Exchange" tab."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from shiftdesk.availability.models import BusyInterval, FreeBusyState
from shiftdesk.calendarsync.models import CalendarConnection, SyncLogEntry
from shiftdesk.scheduling.models import Site
from tests.calendarsync.ui_factories import log, make_connection, make_shift

pytestmark = pytest.mark.django_db


def calendar_sync(client) -> str:
    return client.get(reverse("calendar_sync")).content.decode()


def section(html: str, box_id: str) -> str:
    return html.split(f'id="{box_id}"', 1)[1].split("</section>", 1)[0]


# --- Free/Busy right after the first Save Calendars -----------------------------------------------------


def refreshed_before_save_calendars(user) -> None:
    """The refresher's outcome when it read the connection before the calendar was saved."""
    FreeBusyState.objects.create(
        user=user,
        status=FreeBusyState.Status.ERROR,
        reason="No Calendar to Check Free/Busy Status is saved yet: pick one in Manage Account > Calendar Sync "
        "and save your calendars.",
    )


def test_the_free_busy_box_never_contradicts_the_saved_calendar(bob_client, bob):
    """The race: a refresh that ran between Authorize and Save Calendars stored "No Calendar ... saved yet";
    the box showed it beside the calendar just saved. Now the calendar's presence is the connection's fact."""
    make_connection(bob, freebusy_calendar_id="cal-1", freebusy_calendar_name="Calendar")
    refreshed_before_save_calendars(bob)
    box = section(calendar_sync(bob_client), "outlook-freebusy")
    assert "Calendar to Check Free/Busy Status: <b>Calendar</b>" in box
    assert "saved yet" not in box
    assert "freebusy-problem" not in box
    assert "have not been read yet" in box


def test_the_free_busy_box_says_no_calendar_when_none_is_saved_whatever_the_last_refresh(bob_client, bob):
    make_connection(bob)
    FreeBusyState.objects.create(user=bob, status=FreeBusyState.Status.OK)
    box = section(calendar_sync(bob_client), "outlook-freebusy")
    assert "No Calendar to Check Free/Busy Status is saved yet" in box
    assert box.count("No Calendar to Check Free/Busy Status is saved yet") == 1  # said once


def test_a_real_free_busy_problem_is_still_shown(bob_client, bob):
    make_connection(bob, freebusy_calendar_id="cal-1", freebusy_calendar_name="Calendar")
    FreeBusyState.objects.create(user=bob, status=FreeBusyState.Status.STALE, reason="Outlook said 503.")
    box = section(calendar_sync(bob_client), "outlook-freebusy")
    assert 'id="freebusy-problem"' in box and "Outlook said 503." in box
    assert box.count("Outlook said 503.") == 1


# --- Export hint -------------------------------------------------------------------------------------------


def _enable_exchange(on: bool):
    from shiftdesk.exchange.models import ExchangeSettings

    ExchangeSettings.objects.update_or_create(pk=1, defaults={"enabled": on})


def _enable_azure(admin):
    from shiftdesk.microsoft.actions import do_save_azure_ad_settings
    from shiftdesk.microsoft.models import AzureADSettings

    candidate = AzureADSettings.load()
    candidate.application_id = "11111111-2222-3333-4444-555555555555"
    candidate.client_secret = "s" * 40
    candidate.secret_last4 = "ssss"
    candidate.account_type = "multi_personal"
    candidate.enabled = True
    do_save_azure_ad_settings(candidate, by=admin, verified=True)


def test_the_export_hint_does_not_point_at_a_disabled_oauth_box(bob_client, bob):
    _enable_exchange(False)
    box = section(calendar_sync(bob_client), "calendar-sync-export")
    assert "OAuth2 Authorization box" not in box
    assert "Calendar Sync is not enabled on this ShiftDesk system" in box
    assert "contact your ShiftDesk admin" in box


def test_the_export_hint_points_at_password_authentication_when_only_it_is_on(bob_client, bob):
    _enable_exchange(True)
    box = section(calendar_sync(bob_client), "calendar-sync-export")
    assert "OAuth2 Authorization box" not in box
    assert "Password Authentication box above" in box


def test_the_export_hint_points_at_the_oauth_box_when_it_is_on(bob_client, bob, alice):
    _enable_exchange(False)
    _enable_azure(alice)
    box = section(calendar_sync(bob_client), "calendar-sync-export")
    assert "Authorize with Microsoft Account in the OAuth2 Authorization box above" in box


# --- Sync log --------------------------------------------------------------------------------------------


def test_the_sync_log_names_the_shift_and_its_time(bob_client, bob):
    from shiftdesk.scheduling.models import Site

    Site.load()
    connection = make_connection(bob)
    shift = make_shift(position="Reference Desk", schedule="Reference Desk")
    log(connection, "Created the event", shift_ref=shift.pk)
    log(connection, "Deleted the event", action=SyncLogEntry.Action.DELETE, shift_ref=999999)
    log(connection, "Connected", action=SyncLogEntry.Action.CONNECTION)
    html = section(calendar_sync(bob_client), "calendar-sync-status")
    rows = re.findall(r"<tr>(.*?)</tr>", html.split('class="sync-log"', 1)[1], re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in rows if "<td" in row]
    shift_cells = [c[2].strip() for c in cells]
    start = shift.start.astimezone(Site.load().tzinfo)
    hour = f"{start.hour % 12 or 12}:00 {'AM' if start.hour < 12 else 'PM'}"
    assert any(c.startswith("Reference Desk, ") and hour in c for c in shift_cells), shift_cells
    assert "A shift that no longer exists" in shift_cells
    assert "—" in shift_cells
    assert not any(re.fullmatch(r"\d+", c) for c in shift_cells)  # no bare internal ids
    assert "Reference Desk - Reference Desk" not in html


# --- Integration Status: Retry only where something failed ----------------------------------------------


def test_retry_is_offered_only_on_rows_where_something_failed(admin_client_for_alice, bob, charlie):
    make_connection(bob)  # healthy
    make_connection(charlie, status=CalendarConnection.Status.ERROR, last_error="The calendar was deleted.")
    html = admin_client_for_alice.get(reverse("integration_status")).content.decode()
    rows = {
        m.group(1): m.group(0)
        for m in re.finditer(
            r'<tr data-user="\d+" data-status="[^"]*">.*?<span class="muted">([^<]+@[^<]+)</span>.*?</tr>',
            html,
            re.S,
        )
    }
    assert ">Retry</button>" not in rows["bob@example.org"]
    assert ">Retry</button>" in rows["charlie@example.org"]


@pytest.fixture
def admin_client_for_alice(client, alice):
    client.force_login(alice)
    return client


# --- "busy in Outlook" with a useful word -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("show_as", "said"),
    [
        ("busy", "is busy in Outlook, "),
        ("oof", "is out of office in Outlook, "),
        ("workingElsewhere", "is working elsewhere in Outlook, "),
    ],
)
def test_a_hidden_subject_says_what_outlook_says_they_are(bob, alice, show_as, said):
    from django.utils import timezone

    from shiftdesk.scheduling.actions import ConflictError, do_assign_staff

    shift = make_shift()
    shift.schedule.staff.add(bob)
    FreeBusyState.objects.create(user=bob, status="ok", last_refreshed_at=timezone.now())
    BusyInterval.objects.create(
        user=bob,
        start=shift.start,
        end=shift.start + timedelta(hours=1),
        show_as=show_as,
        subject="",
        remote_id="x",
    )
    with pytest.raises(ConflictError) as caught:
        do_assign_staff(shift, bob, by=alice)
    message = caught.value.conflicts[0].message
    assert said in message and message.endswith("(subject not shared).")
    assert ": busy" not in message


# --- The FAQ's "Outlook/Exchange tab" -----------------------------------------------------------------------


def test_the_calendar_sync_tab_answers_to_the_faqs_outlook_exchange(bob_client):
    html = bob_client.get(reverse("manage_account")).content.decode()
    tab = re.search(r'<a href="/account/calendar-sync/"[^>]*>(.*?)</a>', html, re.S).group(1)
    text = re.sub(r"<[^>]+>", "", tab)
    assert "Calendar Sync" in text and "Outlook/Exchange" in text


# --- Client Secret: Expires ----------------------------------------------------------------------------------


def test_the_secret_expiry_is_prefilled_with_the_portals_default(admin_client_for_alice):
    import datetime as dt

    from django.utils import timezone

    html = admin_client_for_alice.get(reverse("admin_integrations")).content.decode()
    field = re.search(r'<input[^>]*name="secret_expires_on"[^>]*>', html).group(0)
    default = timezone.localdate() + dt.timedelta(days=180)  # the portal's "Recommended: 180 days"
    assert f'value="{default.isoformat()}"' in field


def test_a_secret_cannot_be_saved_without_its_expiry(admin_client_for_alice):
    from shiftdesk.microsoft.models import AzureADSettings

    response = admin_client_for_alice.post(
        reverse("azure_ad_settings"),
        {
            "application_id": "11111111-2222-3333-4444-555555555555",
            "client_secret": "abc8Q~" + "v" * 34,
            "secret_expires_on": "",
            "account_type": "multi_personal",
            "enabled": "enabled",
        },
    )
    assert response.status_code == 400
    assert "Enter the secret&#x27;s Expires date as the portal shows it" in response.content.decode()
    assert not AzureADSettings.objects.exists()


def test_the_authorize_button_says_which_button_microsoft_shows(bob_client, alice):
    _enable_azure(alice)
    box = section(calendar_sync(bob_client), "oauth2-authorization")
    assert 'aria-describedby="authorize-microsoft-hint"' in box
    hint = re.search(r'id="authorize-microsoft-hint">(.*?)</p>', box, re.S).group(1)
    assert "press Accept (or Yes, for a personal Microsoft account)" in hint


def test_the_grid_does_not_say_no_calendar_for_someone_who_saved_one(admin_client_for_alice, bob):
    """The same race, seen by the admins who schedule: the week grid's busy times said "busy times
    unavailable: No Calendar ... is saved yet" beside a person who had just saved one, until the next refresh."""
    shift = make_shift()
    shift.schedule.staff.add(bob)
    make_connection(bob, freebusy_calendar_id="cal-1", freebusy_calendar_name="Calendar")
    refreshed_before_save_calendars(bob)
    local_day = shift.start.astimezone(Site.load().tzinfo).date()  # the grid's weeks are the site's
    week = reverse("schedule_week", args=[shift.schedule.pk]) + f"?week={local_day.isoformat()}"
    html = admin_client_for_alice.get(week).content.decode()
    busy = html.split('class="busy-times"', 1)[1]
    assert "saved yet" not in busy
    assert "(busy times not read from Outlook yet)" in busy

    # With no calendar saved, the grid still says so.
    CalendarConnection.objects.filter(user=bob).update(freebusy_calendar_id="", freebusy_calendar_name="")
    busy = admin_client_for_alice.get(week).content.decode().split('class="busy-times"', 1)[1]
    assert "busy times unavailable: No Calendar to Check Free/Busy Status is saved yet" in busy
