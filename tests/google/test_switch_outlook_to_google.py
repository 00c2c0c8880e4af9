"""Switching from Outlook (Azure AD OAuth 2) to Google moves the upcoming shifts, as switching does today: one
emulator process plays both clouds; Bob authorizes Megan's Microsoft account, his shift reaches her Outlook
calendar, then he authorizes his Google account and the shift leaves Outlook and lands in Google Calendar."""

from __future__ import annotations

import pytest

from shiftdesk.calendarsync.actions import do_choose_calendars
from shiftdesk.calendarsync.models import CalendarConnection, EventLink
from shiftdesk.scheduling.actions import do_assign_staff
from tests.google.conftest import BOB_G
from tests.google.conftest import authorize as google_authorize
from tests.google.test_provider_sync import CALENDAR, drain, live_events, make_shift
from tests.microsoft.conftest import MEGAN, SECRET
from tests.microsoft.conftest import authorize as microsoft_authorize
from tests.microsoft.conftest import world_spec as microsoft_world


@pytest.fixture
def both(gemu, google_settings, alice, settings):
    from shiftdesk.microsoft.actions import do_save_azure_ad_settings
    from shiftdesk.microsoft.identity import AccountType
    from shiftdesk.microsoft.models import AzureADSettings

    gemu.reset()
    settings.MICROSOFT_LOGIN_URL = settings.MICROSOFT_GRAPH_URL = gemu.base_url
    settings.MICROSOFT_CA_BUNDLE = gemu.ca_file
    settings.SYNC_BACKOFF_BASE_SECONDS = 0
    app_id = gemu.seed(microsoft_world())["apps"][0]["client_id"]
    candidate = AzureADSettings.load()
    candidate.application_id, candidate.client_secret, candidate.secret_last4 = app_id, SECRET, SECRET[-4:]
    candidate.account_type = AccountType.MULTI_AND_PERSONAL
    candidate.enabled = True
    do_save_azure_ad_settings(candidate, by=alice, verified=True)
    return gemu


def outlook_events(gemu) -> list[dict]:
    return gemu.control.get(f"/graph/mailboxes/{MEGAN[0]}").json()["events"]


def test_switching_from_outlook_to_google_moves_the_upcoming_shifts(both, bob_client, bob, alice):
    from shiftdesk.scheduling.models import Position, Schedule

    microsoft_authorize(bob_client, both, *MEGAN)
    outlook = CalendarConnection.objects.get(user=bob)
    calendar = next(c for c in both.control.get(f"/graph/mailboxes/{MEGAN[0]}").json()["calendars"]
                    if c["isDefaultCalendar"])  # fmt: skip
    do_choose_calendars(outlook, sync_calendar_id=calendar["id"], sync_calendar_name=calendar["name"],
                        freebusy_calendar_id=calendar["id"], freebusy_calendar_name=calendar["name"])  # fmt: skip
    schedule = Schedule.objects.create(name="Reference")
    schedule.staff.add(bob)
    world = {"schedule": schedule, "position": Position.objects.create(name="Reference Desk"), "admin": alice}
    do_assign_staff(make_shift(world), bob, by=alice, override_conflicts=True)
    drain(bob)
    assert len(outlook_events(both)) == 1

    response, _ = google_authorize(bob_client, both, *BOB_G)
    assert response.status_code == 302
    google = CalendarConnection.objects.get(user=bob)
    assert google.provider == "google"
    do_choose_calendars(google, sync_calendar_id=CALENDAR, sync_calendar_name=CALENDAR,
                        freebusy_calendar_id=CALENDAR, freebusy_calendar_name=CALENDAR)  # fmt: skip
    # The first step runs the deletes owed to the Outlook connection, the next ones write to Google.
    drain(bob)
    assert outlook_events(both) == []  # deleted from Outlook by the retiring step
    [event] = live_events(both)
    assert EventLink.objects.get().remote_event_id == f"{CALENDAR}/{event['id']}"
