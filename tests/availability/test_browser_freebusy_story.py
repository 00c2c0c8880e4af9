"""Issue 6's "Done means", walked in Chromium: a meeting added in the emulator's Outlook viewer shades the week
grid after a refresh, and assigning into it warns "busy in Outlook: <subject>" until "Assign anyway".

Bob connects his ShiftDesk account to Megan's Microsoft account through the real OAuth pages and picks a
calendar "Meetings" (not the one shifts sync to) as his Calendar to Check Free/Busy Status. Her mailbox is in
Europe/Paris while the library is in America/Chicago, so the viewer's times and the grid's differ by the
zones' offset. A meeting in the other calendar (the one shifts sync to) must not count. With "Show meeting
subjects to schedulers" off, the shading and the warning say only "busy".

Set SHIFTDESK_SCREENSHOTS=/some/dir to keep screenshots of each step.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from shiftdesk.scheduling.grid import week_start
from tests.browser import oauth_support
from tests.browser.oauth_support import authorize_outlook, log_in, set_up_outlook

# The fixtures this module uses, beside the shared ones of tests/browser/fixtures.py. They replace the
# directory's `emulator` (which points ShiftDesk at a fixed, not the live server's, public URL).
emulator_server = oauth_support.emulator_server
oauth_chromium = oauth_support.oauth_chromium
emulator = oauth_support.emulator
new_page = oauth_support.new_page

MEGAN = ("megan@contoso.onmicrosoft.com", "Megan-pw1")
CHICAGO = ZoneInfo("America/Chicago")
PARIS = ZoneInfo("Europe/Paris")  # Megan's mailbox time zone in the standard world
SUBJECT = "Dentist appointment"


screenshot = oauth_support.screenshots("freebusy-story")


def in_paris(day: dt.date, hour: int, minute: int = 0) -> str:
    """Chicago wall-clock time on `day` as the viewer's datetime-local value in Megan's zone."""
    return (
        dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHICAGO)
        .astimezone(PARIS)
        .strftime("%Y-%m-%dT%H:%M")
    )


@pytest.fixture
def reference(transactional_db, bob):
    """The Reference schedule with Bob on its roster, and one open shift 1 PM–5 PM two days from now."""
    from shiftdesk.scheduling.models import Position, Schedule, Shift, Site

    Site.load()
    schedule = Schedule.objects.create(name="Reference")
    schedule.staff.add(bob)
    day = dt.datetime.now(CHICAGO).date() + dt.timedelta(days=2)
    start = dt.datetime(day.year, day.month, day.day, 13, tzinfo=CHICAGO)
    Shift.objects.create(
        schedule=schedule,
        position=Position.objects.create(name="Reference Desk"),
        location="2nd floor",
        start=start,
        end=start + dt.timedelta(hours=4),
        staff_needed=1,
    )
    return schedule, day


def connect_outlook(page, live_server) -> None:
    """Manage Account > Calendar Sync: authorize as Megan, check free/busy in "Meetings", show subjects."""
    page.get_by_role("link", name="bob@example.org").click()
    page.get_by_role("link", name="Calendar Sync").click()
    box = authorize_outlook(page, live_server, *MEGAN)
    expect(page.get_by_role("status").first).to_contain_text(f"{MEGAN[0]} is connected")
    box.get_by_label("Calendar to Sync shifts with").select_option(label="Calendar")
    box.get_by_label("Calendar to Check Free/Busy Status").select_option(label="Meetings")
    box.get_by_role("button", name="Save Calendars").click()
    expect(page.get_by_role("status").first).to_contain_text("free/busy status checked in “Meetings”")
    freebusy = page.locator("#outlook-freebusy")
    expect(freebusy).to_contain_text("Calendar to Check Free/Busy Status: Meetings")
    freebusy.get_by_label("Show meeting subjects to schedulers").check()
    freebusy.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("Schedulers will see your meeting subjects")


def add_event_in_outlook(viewer, emulator, day: dt.date, calendar: str, subject: str, hours) -> None:
    """The Outlook viewer's "New event" form, in Megan's own time zone."""
    viewer.goto(f"{emulator.base_url}/outlook/{MEGAN[0]}?week={day.isoformat()}")
    expect(viewer.locator("header")).to_contain_text("Europe/Paris")
    viewer.get_by_text("New event", exact=True).click()
    form = viewer.locator("form.event")
    form.locator("select[name=calendar]").select_option(label=calendar)  # its label holds the options
    form.get_by_label("Subject", exact=True).fill(subject)
    form.get_by_label("Start", exact=True).fill(in_paris(day, *hours[0]))
    form.get_by_label("End", exact=True).fill(in_paris(day, *hours[1]))
    form.get_by_label("Show as").select_option("busy")
    form.get_by_role("button", name="Save").click()
    expect(viewer.locator(f'.day[data-date="{day.isoformat()}"] a.ev', has_text=subject)).to_be_visible()


def refresh_now(page) -> None:
    page.locator("#outlook-freebusy").get_by_role("button", name="Refresh now").click()
    expect(page.get_by_role("status").first).to_have_text("Your busy times were read from Outlook.")


def busy_cell(admin, day: dt.date):
    """Bob's cell for `day` in the grid's "Outlook busy times" section."""
    section = admin.get_by_role("region", name="Outlook busy times")
    row = section.locator("tbody tr").filter(has=admin.get_by_role("rowheader", name="Bob Staff"))
    return row.locator("td").nth((day - week_start(day)).days)


def assign_from_grid(admin, email: str) -> None:
    shift = admin.locator(".week-grid .shift")
    expect(shift).to_have_count(1)
    shift.get_by_role("combobox").fill(email)
    shift.get_by_role("combobox").press("Escape")  # close the suggestions; the cell updates in place
    shift.get_by_role("button", name="Assign", exact=True).click()
    expect(shift.get_by_role("alert")).to_be_visible()


def test_a_meeting_added_in_outlook_shades_the_grid_and_assigning_into_it_warns(
    new_page, live_server, emulator, reference, alice, bob
):
    from shiftdesk.scheduling.models import Assignment

    schedule, day = reference
    set_up_outlook(emulator, live_server, alice)
    emulator.control.post(
        f"/graph/mailboxes/{MEGAN[0]}/calendars", json={"name": "Meetings"}
    ).raise_for_status()

    # Bob connects Outlook, then (as Megan in Outlook) adds a meeting to "Meetings" during the shift, and a
    # call to the calendar ShiftDesk does not check.
    user = log_in(new_page(), live_server, bob)
    connect_outlook(user, live_server)
    viewer = user.context.new_page()
    add_event_in_outlook(viewer, emulator, day, "Meetings", SUBJECT, ((14, 0), (15, 0)))
    screenshot(viewer, "1-outlook-viewer")
    add_event_in_outlook(viewer, emulator, day, "Calendar", "Book club call", ((15, 30), (16, 0)))

    user.bring_to_front()
    refresh_now(user)
    expect(user.locator("#freebusy-status")).to_contain_text("Up to date.")
    expect(user.locator("#freebusy-last-refreshed")).to_contain_text("1 busy time stored")
    screenshot(user, "2-calendar-sync")

    # The admin opens the week grid: Bob's row is shaded at the meeting's time, in the library's zone.
    admin = log_in(new_page(), live_server, alice)
    admin.get_by_role("navigation").get_by_role("link", name="Schedules").click()
    admin.get_by_role("link", name="Reference", exact=True).click()
    expect(admin.get_by_role("heading", name="Reference", exact=True)).to_be_visible()
    admin.goto(f"{live_server.url}/schedules/{schedule.pk}/?week={day.isoformat()}")
    cell = busy_cell(admin, day)
    expect(cell).to_have_class("busy")
    expect(cell).to_have_text(f"2 PM–3 PM {SUBJECT}")
    expect(admin.get_by_role("region", name="Outlook busy times")).not_to_contain_text("Book club")
    screenshot(admin, "3-grid-shaded")

    # Assigning Bob to the 1 PM–5 PM shift warns, and assigns nothing until "Assign anyway" is ticked.
    assign_from_grid(admin, bob.email)
    warning = admin.get_by_role("alert").filter(has_text="would create a conflict")
    expect(warning).to_contain_text(f"Bob Staff is busy in Outlook: {SUBJECT} (")
    expect(warning).not_to_contain_text("Book club")
    screenshot(admin, "4-assign-warning")
    assert not Assignment.objects.filter(user=bob).exists()
    admin.get_by_role("button", name="Assign anyway").click()
    expect(admin.locator("#grid-status")).to_have_text(
        "Assigned Bob Staff to Reference Desk despite the warnings."
    )
    assert Assignment.objects.filter(user=bob, shift__schedule=schedule).count() == 1

    # Bob hides his subjects; after the next refresh the admin sees only "busy", in the grid and the warning.
    user.bring_to_front()
    user.reload()
    freebusy = user.locator("#outlook-freebusy")
    freebusy.get_by_label("Show meeting subjects to schedulers").uncheck()
    freebusy.get_by_role("button", name="Save", exact=True).click()
    expect(user.get_by_role("status").first).to_contain_text("Schedulers see only that you are busy")
    refresh_now(user)

    admin.bring_to_front()
    admin.get_by_role("button", name="Unassign Bob Staff").click()
    expect(admin.locator("#grid-status")).to_have_text("Unassigned Bob Staff from Reference Desk.")
    admin.reload()  # the unassign updated only the shift's cell; the busy shading comes with the page
    expect(busy_cell(admin, day)).to_have_text("2 PM–3 PM busy")
    screenshot(admin, "5-grid-busy-only")
    assign_from_grid(admin, bob.email)
    warning = admin.get_by_role("alert").filter(has_text="would create a conflict")
    expect(warning).to_contain_text("Bob Staff is busy in Outlook, ")
    expect(warning).to_contain_text("(subject not shared)")
    expect(admin.locator("main")).not_to_contain_text(re.compile("Dentist"))
    screenshot(admin, "6-assign-warning-busy")
    assert not Assignment.objects.filter(user=bob).exists()
