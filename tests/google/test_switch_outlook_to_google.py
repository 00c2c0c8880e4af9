"""Switching between Outlook (Azure AD OAuth 2) and Google moves the upcoming shifts, as switching does today: one
emulator process plays both clouds; Bob authorizes Megan's Microsoft account, his shift reaches her Outlook
calendar, then he authorizes his Google account and the shift leaves Outlook and lands in Google Calendar; and
the other way round."""

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
    gemu.point_microsoft(settings)
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


def connect_outlook(bob_client, both, bob) -> None:
    microsoft_authorize(bob_client, both, *MEGAN)
    outlook = CalendarConnection.objects.get(user=bob)
    assert outlook.provider == "microsoft"
    calendar = next(c for c in both.control.get(f"/graph/mailboxes/{MEGAN[0]}").json()["calendars"]
                    if c["isDefaultCalendar"])  # fmt: skip
    do_choose_calendars(outlook, sync_calendar_id=calendar["id"], sync_calendar_name=calendar["name"],
                        freebusy_calendar_id=calendar["id"], freebusy_calendar_name=calendar["name"])  # fmt: skip


def connect_google(bob_client, both, bob) -> None:
    response, _ = google_authorize(bob_client, both, *BOB_G)
    assert response.status_code == 302
    google = CalendarConnection.objects.get(user=bob)
    assert google.provider == "google"
    do_choose_calendars(google, sync_calendar_id=CALENDAR, sync_calendar_name=CALENDAR,
                        freebusy_calendar_id=CALENDAR, freebusy_calendar_name=CALENDAR)  # fmt: skip


def assign_a_shift(bob, alice) -> None:
    from shiftdesk.scheduling.models import Position, Schedule

    schedule = Schedule.objects.create(name="Reference")
    schedule.staff.add(bob)
    world = {"schedule": schedule, "position": Position.objects.create(name="Reference Desk"), "admin": alice}
    do_assign_staff(make_shift(world), bob, by=alice, override_conflicts=True)


def google_events(gemu) -> list[dict]:
    return live_events(gemu)


CLOUDS = {"outlook": (connect_outlook, outlook_events), "google": (connect_google, google_events)}


@pytest.mark.parametrize("old, new", [("outlook", "google"), ("google", "outlook")])
def test_switching_between_outlook_and_google_moves_the_upcoming_shifts(
    both, bob_client, bob, alice, old, new
):
    (connect_old, old_events), (connect_new, new_events) = CLOUDS[old], CLOUDS[new]
    connect_old(bob_client, both, bob)
    assign_a_shift(bob, alice)
    drain(bob)
    assert len(old_events(both)) == 1 and new_events(both) == []

    connect_new(bob_client, both, bob)
    # The first step runs the deletes owed to the old connection (with its own credentials), the next ones
    # write through the new one.
    drain(bob)
    assert old_events(both) == []  # deleted there by the retiring step
    [event] = new_events(both)
    link = EventLink.objects.get()
    assert link.connection.provider == {"outlook": "microsoft", "google": "google"}[new]
    assert link.remote_event_id == (f"{CALENDAR}/{event['id']}" if new == "google" else event["id"])
