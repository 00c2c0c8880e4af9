"""Issue 15's "Done means" in Chromium, after the admin's Google setup (walked in
tests/google/test_browser_setup_and_authorization.py): Bob, already assigned a shift, authorizes his Google
account and runs the Export; the shift appears in the emulator's Google Calendar viewer; the admin edits the
shift's time on its edit page and the new time reaches the viewer. Charlie syncs with Outlook (Megan's
Microsoft account), presses Remove Authorization with "also delete my future events", authorizes his Google
account and exports: his upcoming shift leaves the Outlook viewer and appears in the Google viewer.
The worker runs as `manage.py syncworker` would, one pass at a time (run_worker). Marked `browser` through its
fixtures (own pytest process).

Set SHIFTDESK_SCREENSHOTS=/some/dir to keep screenshots of each step.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser import oauth_support
from tests.browser.oauth_support import authorize_outlook, log_in, set_up_outlook
from tests.browser.test_shared_calendar_story import run_worker
from tests.google.conftest import world_spec
from tests.google.test_browser_setup_and_authorization import google_sign_in, point_at_google_emulator

emulator_server = oauth_support.emulator_server
oauth_chromium = oauth_support.oauth_chromium
emulator = oauth_support.emulator
new_page = oauth_support.new_page

pytestmark = pytest.mark.browser
MEGAN = ("megan@contoso.onmicrosoft.com", "Megan-pw1")
BOB_G = ("bob@example.org", "Bob-pw1")
CAROL_G = ("carol@gmail.com", "Carol-pw1")  # Charlie's Google account
TITLE = "Reference Desk - Reference"


@pytest.fixture
def both_clouds(emulator, live_server, settings, alice):
    """The Microsoft world (Azure AD OAuth 2 enabled) and the Google world (Google OAuth 2 enabled), both
    registered with this live server's Redirect URLs, as the admin leaves them after Save Settings."""
    from googleemulator.testing import STANDARD_CLIENT_ID, STANDARD_SECRET
    from shiftdesk.google.actions import do_save_google_settings
    from shiftdesk.google.models import GoogleOAuthSettings

    set_up_outlook(emulator, live_server, alice)
    point_at_google_emulator(settings, emulator, live_server)
    settings.SYNC_BACKOFF_BASE_SECONDS = 0
    with emulator.http(base_url=emulator.base_url + "/_emulator/google") as control:
        control.post("/reset").raise_for_status()
        control.delete("/faults").raise_for_status()
        control.post(
            "/seed", json=world_spec(redirect=live_server.url + "/google/oauth2/callback/")
        ).raise_for_status()
    candidate = GoogleOAuthSettings.load()
    candidate.client_id, candidate.client_secret = STANDARD_CLIENT_ID, STANDARD_SECRET
    candidate.secret_last4, candidate.enabled = STANDARD_SECRET[-4:], True
    do_save_google_settings(candidate, by=alice, verified=True)
    return emulator


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


def work_until(done, passes: int = 8) -> None:
    """Worker passes until `done()` holds (an export, then its writes, take more than one pass)."""
    for _ in range(passes):
        run_worker()
        if done():
            return
    raise AssertionError("the worker did not get there")


def google_week(viewer, emulator, email: str, day: dt.date) -> None:
    viewer.goto(f"{emulator.base_url}/google/calendar/view/{email}/?week={day.isoformat()}")


def viewer_when(shift, zone: str) -> str:
    """How the Google viewer writes an event's time: in the calendar's time zone, "Mon 07 Dec 15:00–18:00"."""
    start, end = shift.start.astimezone(ZoneInfo(zone)), shift.end.astimezone(ZoneInfo(zone))
    return f"{start:%a %d %b %H:%M}–{end:%H:%M}"


def authorize_google(page, live_server, email: str, password: str) -> None:
    page.goto(live_server.url + "/account/calendar-sync/")
    page.locator("#google-authorization").get_by_role("button", name="Authorize with Google Account").click()
    google_sign_in(page, email, password)
    for checkbox in page.locator("input[name=granted]").all():
        checkbox.check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(live_server.url + "/account/calendar-sync/")
    expect(page.get_by_role("status").first).to_contain_text(f"{email} is connected")
    box = page.locator("#google-authorization")
    expect(box.get_by_label("Calendar to Sync shifts with").locator("option:checked")).to_have_text(email)
    box.get_by_role("button", name="Save Calendars").click()
    expect(page.get_by_role("status").first).to_contain_text("Calendars saved")


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
    from shiftdesk.scheduling.actions import do_assign_staff

    emulator = both_clouds
    first, second = shifts

    # Bob authorizes Google; the shift he was assigned before is not synced until he runs the Export.
    user = log_in(new_page(), live_server, bob)
    authorize_google(user, live_server, *BOB_G)
    viewer = new_page()
    google_week(viewer, emulator, BOB_G[0], first.start.date())
    expect(viewer.locator("main")).to_contain_text("No events in the week")
    run_the_export(user)
    work_until(lambda: ExportJob.objects.filter(user=bob, status="done").exists()
               and not EventLink.objects.filter(connection__user=bob, dirty=True).exists())  # fmt: skip
    expect(user.locator("#calendar-sync-export [data-export-status]")).to_have_attribute(
        "data-export-status", "done"
    )  # the progress line, polled by htmx
    expect(user.locator("#calendar-sync-export .export-count")).to_have_text("1 of 1")
    screenshot(user, "1-exported")
    google_week(viewer, emulator, BOB_G[0], first.start.date())
    row = viewer.locator("tr", has_text=TITLE)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(viewer_when(first, "Europe/London"))
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
    google_week(viewer, emulator, BOB_G[0], first.start.date())
    expect(viewer.locator("tr", has_text=TITLE)).to_contain_text(viewer_when(first, "Europe/London"))
    screenshot(viewer, "3-edited")

    # Charlie syncs with Outlook first: his upcoming shift is in Megan's Outlook calendar.
    charlie_page = log_in(new_page(), live_server, charlie)
    charlie_page.goto(live_server.url + "/account/calendar-sync/")
    outlook_box = authorize_outlook(charlie_page, live_server, *MEGAN)
    outlook_box.get_by_role("button", name="Save Calendars").click()
    expect(charlie_page.get_by_role("status").first).to_contain_text("your shifts will be synced with")
    do_assign_staff(second, charlie, by=alice, override_conflicts=True)
    work_until(lambda: EventLink.objects.filter(connection__user=charlie, dirty=False).exists())
    outlook = new_page()
    outlook.goto(f"{emulator.base_url}/outlook/{MEGAN[0]}?week={second.start.date().isoformat()}")
    expect(outlook.locator("a.ev", has_text="Reference Desk")).to_have_count(1)
    screenshot(outlook, "4-charlie-in-outlook")

    # He removes the Outlook authorization (also deleting his future events there) and authorizes Google.
    charlie_page.goto(live_server.url + "/account/calendar-sync/")
    outlook_box = charlie_page.locator("#oauth2-authorization")
    outlook_box.get_by_label("Also delete my future ShiftDesk events from my Outlook calendar").check()
    outlook_box.get_by_role("button", name="Remove Authorization").click()
    expect(charlie_page.get_by_role("status").first).to_contain_text("Authorization removed")
    authorize_google(charlie_page, live_server, *CAROL_G)
    assert CalendarConnection.objects.get(user=charlie).provider == "google"
    run_the_export(charlie_page)
    work_until(lambda: ExportJob.objects.filter(user=charlie, status="done").exists()
               and not EventLink.objects.filter(connection__user=charlie, dirty=True).exists())  # fmt: skip

    outlook.reload()
    expect(outlook.locator("a.ev", has_text="Reference Desk")).to_have_count(0)
    google_week(viewer, emulator, CAROL_G[0], second.start.date())
    row = viewer.locator("tr", has_text=TITLE)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(viewer_when(second, "America/New_York"))
    screenshot(viewer, "5-charlie-in-google")
    charlie_page.reload()
    expect(charlie_page.locator("#calendar-sync-status")).to_contain_text("Google account")
    expect(charlie_page.locator("#calendar-sync-status")).to_contain_text(CAROL_G[0])


def _later(hh_mm: str) -> str:
    hour, minute = (int(part) for part in hh_mm.split(":")[:2])
    return f"{(hour + 1) % 24:02d}:{minute:02d}"
