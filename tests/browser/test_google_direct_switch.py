"""Issue 15's "the switch from Outlook to Google moves the upcoming shifts", in Chromium, as a user does it:
Charlie syncs with Outlook (Megan's Microsoft account) and his upcoming shift is in her Outlook calendar. With
that connection still in place he presses Authorize with Google Account in the Google Authorization box, goes
through the emulator's Google account chooser, sign-in and consent pages, and is back on Calendar Sync, told
that his upcoming shifts move from Megan's mailbox; he saves the Google calendar. After the worker's passes
the shift is gone from the Outlook viewer and is in the Google Calendar viewer, exactly once. (Remove
Authorization first, then Google and Export, is walked in test_google_export_edit_and_switch.py.)
Marked `browser` through its fixtures (own pytest process).

Set SHIFTDESK_SCREENSHOTS=/some/dir to keep screenshots of each step.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import oauth_support
from tests.browser import test_google_export_edit_and_switch as google_walk
from tests.browser.oauth_support import authorize_google, save_calendars, work_until
from tests.browser.test_google_export_edit_and_switch import CAROL_G, MEGAN

emulator_server = oauth_support.emulator_server
oauth_chromium = oauth_support.oauth_chromium
emulator = oauth_support.emulator
new_page = oauth_support.new_page
both_clouds = oauth_support.both_clouds
# The walk's schedule: Bob already on the first shift, the second one free for Charlie.
shifts = google_walk.shifts

pytestmark = pytest.mark.browser
screenshot = oauth_support.screenshots("google-switch")


def test_authorizing_google_while_synced_with_outlook_moves_the_upcoming_shift(
    new_page, live_server, both_clouds, shifts, alice, charlie
):
    from shiftdesk.calendarsync.models import CalendarConnection, EventLink, RetiringConnection

    emulator = both_clouds
    _, shift = shifts

    # Charlie syncs with Outlook; the shift he is assigned afterwards reaches Megan's Outlook calendar.
    page, outlook = google_walk.synced_with_outlook(new_page, live_server, emulator, charlie, shift, by=alice)
    screenshot(outlook, "1-in-outlook")

    # With the Outlook connection still there, he authorizes Google in the Google Authorization box.
    page.goto(live_server.url + "/account/calendar-sync/")
    expect(page.locator("#oauth2-connected-account")).to_contain_text(MEGAN[0])
    box = authorize_google(page, live_server, *CAROL_G)
    status = page.get_by_role("status").first
    expect(status).to_contain_text(
        f"Your Google account {CAROL_G[0]} is connected. Choose your calendars below and press Save Calendars."
    )
    expect(status).to_contain_text(
        f"Your upcoming shifts move here from {MEGAN[0]}: ShiftDesk creates them in the calendar you sync "
        "with and deletes them from the previous one where it still can."
    )
    expect(page.locator("#oauth2-connected-account")).to_have_count(0)  # one connection per user
    expect(box.locator("#google-connected-account")).to_contain_text(CAROL_G[0])
    screenshot(page, "2-google-connected")
    expect(box).to_contain_text(
        "Choose your calendars and press Save Calendars to start syncing your shifts."
    )
    save_calendars(page, box, CAROL_G[0])
    connection = CalendarConnection.objects.get(user=charlie)
    assert (connection.provider, connection.sync_calendar_id) == ("google", CAROL_G[0])

    # The worker deletes the event from Outlook (the retiring connection's step), then creates it in Google.
    work_until(
        lambda: (
            not RetiringConnection.objects.filter(user=charlie).exists()
            and EventLink.objects.filter(connection__user=charlie, connection__provider="google").exists()
            and not EventLink.objects.filter(connection__user=charlie, dirty=True).exists()
        )
    )
    outlook.reload()
    expect(outlook.locator("a.ev", has_text="Reference Desk")).to_have_count(0)
    screenshot(outlook, "3-gone-from-outlook")
    viewer = new_page()
    google_walk.expect_once_in_google(viewer, emulator, CAROL_G[0], shift, "America/New_York")
    screenshot(viewer, "4-in-google")
    google_walk.expect_syncing_with_google(page, CAROL_G[0])
