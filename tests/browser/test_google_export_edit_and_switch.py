"""Issue 15's "Done means" in Chromium, after the admin's Google setup (walked in
tests/google/test_browser_setup_and_authorization.py): Bob, already assigned a shift, authorizes his Google
account and runs the Export; the shift appears in the emulator's Google Calendar viewer; the admin edits the
shift's time on its edit page and the new time reaches the viewer. Charlie syncs with Outlook (Megan's
Microsoft account), presses Remove Authorization with "also delete my future events", authorizes his Google
account and exports: his upcoming shift leaves the Outlook viewer and appears in the Google viewer.
The worker runs as `manage.py syncworker` would, one pass at a time (oauth_support.work_until). Marked
`browser` through its fixtures (own pytest process). The direct switch (Google authorized while the Outlook
connection is still there) is walked in test_google_direct_switch.py, with this module's helpers.

Set SHIFTDESK_SCREENSHOTS=/some/dir to keep screenshots of each step.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser import oauth_support
from tests.browser.oauth_support import (
    authorize_google,
    connect_outlook,
    google_week,
    log_in,
    outlook_week,
    save_calendars,
    work_until,
)

emulator_server = oauth_support.emulator_server
oauth_chromium = oauth_support.oauth_chromium
emulator = oauth_support.emulator
new_page = oauth_support.new_page
both_clouds = oauth_support.both_clouds

pytestmark = pytest.mark.browser
MEGAN = ("megan@contoso.onmicrosoft.com", "Megan-pw1")
BOB_G = ("bob@example.org", "Bob-pw1")
CAROL_G = ("carol@gmail.com", "Carol-pw1")  # Charlie's Google account
TITLE = "Reference Desk - Reference"
PARIS = ZoneInfo("Europe/Paris")  # megan@contoso's mailbox zone in the Microsoft emulator's standard world
LONDON = ZoneInfo("Europe/London")  # bob@example.org's calendar zone in the Google emulator's standard world


@pytest.fixture
def shifts(transactional_db, alice, bob, charlie):
    """The Reference schedule with Bob and Charlie on its roster; Bob already assigned the first shift."""
    from django.utils import timezone

    from shiftdesk.scheduling.actions import do_assign_staff, do_create_shift
    from shiftdesk.scheduling.models import Position, Schedule, Site

    tz = Site.load().tzinfo
    schedule = Schedule.objects.create(name="Reference")
    schedule.staff.add(bob, charlie)
    desk = Position.objects.create(name="Reference Desk")
    day = (timezone.now().astimezone(tz) + dt.timedelta(days=2)).date()
    start = dt.datetime.combine(
        day, dt.time(10), tzinfo=tz
    )  # 10:00 at the site: an hour later stays that day
    made = [
        do_create_shift(
            schedule,
            position=desk,
            location="2nd floor",
            start=start + dt.timedelta(days=d),
            end=start + dt.timedelta(days=d, hours=3),
            staff_needed=2,
            note="",
            by=alice,
        )  # fmt: skip
        for d in range(2)
    ]
    do_assign_staff(made[0], bob, by=alice, override_conflicts=True)
    return made


screenshot = oauth_support.screenshots("google-story")


def viewer_when(shift, zone: str) -> str:
    """How the Google viewer writes an event's time: in the calendar's time zone, "Mon 07 Dec 15:00–18:00"."""
    start, end = shift.start.astimezone(ZoneInfo(zone)), shift.end.astimezone(ZoneInfo(zone))
    return f"{start:%a %d %b %H:%M}–{end:%H:%M}"


def connect_google(page, live_server, email: str, password: str) -> None:
    """Authorize with Google Account from Calendar Sync; the primary calendar is offered first; Save Calendars."""
    page.goto(live_server.url + "/account/calendar-sync/")
    box = authorize_google(page, live_server, email, password)
    expect(page.get_by_role("status").first).to_contain_text(f"{email} is connected")
    expect(box.get_by_label("Calendar to Sync shifts with").locator("option:checked")).to_have_text(email)
    save_calendars(page, box, email)


def synced_with_outlook(new_page, live_server, emulator, user, shift, *, by):
    """`user` logs in, authorizes Megan's Microsoft account and saves its calendar; then `by` assigns him
    `shift` and the worker writes it. Returns his Calendar Sync page and the Outlook viewer, showing it once."""
    from shiftdesk.calendarsync.models import EventLink
    from shiftdesk.scheduling.actions import do_assign_staff

    page = log_in(new_page(), live_server, user)
    connect_outlook(page, live_server, *MEGAN)
    do_assign_staff(shift, user, by=by, override_conflicts=True)
    work_until(lambda: EventLink.objects.filter(connection__user=user, dirty=False).exists())
    outlook = new_page()
    outlook_week(outlook, emulator, MEGAN[0], shift.start.astimezone(PARIS).date())
    expect(outlook.locator("a.ev", has_text="Reference Desk")).to_have_count(1)
    return page, outlook


def expect_once_in_google(viewer, emulator, email: str, shift, zone: str) -> None:
    """The Google Calendar viewer's week of `shift` shows its event exactly once, at its time in `zone`."""
    google_week(viewer, emulator, email, shift.start.astimezone(ZoneInfo(zone)).date())
    row = viewer.locator("tr", has_text=TITLE)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(viewer_when(shift, zone))


def expect_syncing_with_google(page, email: str) -> None:
    """After a reload, the user's Sync Status names the Google account."""
    page.reload()
    expect(page.locator("#calendar-sync-status")).to_contain_text("Google account")
    expect(page.locator("#calendar-sync-status")).to_contain_text(email)


def run_the_export(page) -> None:
    box = page.locator("#calendar-sync-export")
    box.get_by_label("Export Option").select_option(
        label="Export shifts which have not been exported previously"
    )
    box.get_by_role("button", name="Run the Export").click()
    expect(page.get_by_role("status").first).to_contain_text("Your export has started")


def test_export_an_edit_and_a_switch_from_outlook_reach_the_google_calendar_viewer(
    new_page, live_server, both_clouds, shifts, alice, bob, charlie
):
    from shiftdesk.calendarsync.models import CalendarConnection, EventLink, ExportJob

    emulator = both_clouds
    first, second = shifts

    # Bob authorizes Google; the shift he was assigned before is not synced until he runs the Export.
    user = log_in(new_page(), live_server, bob)
    connect_google(user, live_server, *BOB_G)
    viewer = new_page()
    google_week(viewer, emulator, BOB_G[0], first.start.astimezone(LONDON).date())
    expect(viewer.locator("main")).to_contain_text("No events in the week")
    run_the_export(user)
    work_until(lambda: ExportJob.objects.filter(user=bob, status="done").exists()
               and not EventLink.objects.filter(connection__user=bob, dirty=True).exists())  # fmt: skip
    expect(user.locator("#calendar-sync-export [data-export-status]")).to_have_attribute(
        "data-export-status", "done"
    )  # the progress line, polled by htmx
    expect(user.locator("#calendar-sync-export .export-count")).to_have_text("1 of 1")
    screenshot(user, "1-exported")
    expect_once_in_google(viewer, emulator, BOB_G[0], first, "Europe/London")
    screenshot(viewer, "2-in-the-viewer")

    # The admin moves the shift an hour later on its edit page; the new time reaches Google.
    admin = log_in(new_page(), live_server, alice)
    admin.goto(f"{live_server.url}/shifts/{first.pk}/")
    start_field, end_field = admin.locator("#id_start_time"), admin.locator("#id_end_time")
    start_field.fill(_later(start_field.input_value()))
    end_field.fill(_later(end_field.input_value()))
    admin.get_by_role("button", name="Save shift").click()
    expect(admin.get_by_role("status").first).to_contain_text("Saved the shift.")
    first.refresh_from_db()
    work_until(lambda: not EventLink.objects.filter(connection__user=bob, dirty=True).exists())
    google_week(viewer, emulator, BOB_G[0], first.start.astimezone(LONDON).date())
    expect(viewer.locator("tr", has_text=TITLE)).to_contain_text(viewer_when(first, "Europe/London"))
    screenshot(viewer, "3-edited")

    # Charlie syncs with Outlook first: his upcoming shift is in Megan's Outlook calendar.
    charlie_page, outlook = synced_with_outlook(new_page, live_server, emulator, charlie, second, by=alice)
    screenshot(outlook, "4-charlie-in-outlook")

    # He removes the Outlook authorization (also deleting his future events there) and authorizes Google.
    charlie_page.goto(live_server.url + "/account/calendar-sync/")
    outlook_box = charlie_page.locator("#oauth2-authorization")
    outlook_box.get_by_label("Also delete my future ShiftDesk events from my Outlook calendar").check()
    outlook_box.get_by_role("button", name="Remove Authorization").click()
    expect(charlie_page.get_by_role("status").first).to_contain_text("Authorization removed")
    connect_google(charlie_page, live_server, *CAROL_G)
    assert CalendarConnection.objects.get(user=charlie).provider == "google"
    run_the_export(charlie_page)
    work_until(lambda: ExportJob.objects.filter(user=charlie, status="done").exists()
               and not EventLink.objects.filter(connection__user=charlie, dirty=True).exists())  # fmt: skip

    outlook.reload()
    expect(outlook.locator("a.ev", has_text="Reference Desk")).to_have_count(0)
    expect_once_in_google(viewer, emulator, CAROL_G[0], second, "America/New_York")
    screenshot(viewer, "5-charlie-in-google")
    expect_syncing_with_google(charlie_page, CAROL_G[0])


def _later(hh_mm: str) -> str:
    hour, minute = (int(part) for part in hh_mm.split(":")[:2])
    return f"{(hour + 1) % 24:02d}:{minute:02d}"
