"""End to end in Chromium: an admin creates a shift and assigns a staff member on the week grid; that staff
member logs in and finds it under My Upcoming Shifts."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest


@pytest.fixture
def reference(db, bob):
    from shiftdesk.scheduling.models import Position, Schedule, Site

    Site.load()
    Position.objects.create(name="Reference Desk")
    schedule = Schedule.objects.create(name="Reference")
    schedule.staff.add(bob)
    return schedule


def test_admin_assigns_a_shift_and_staff_see_it_on_the_dashboard(
    page, login, live_server, alice, bob, reference
):
    from shiftdesk.scheduling.models import Assignment

    tomorrow = (datetime.now(ZoneInfo("America/Chicago")) + timedelta(days=1)).date()

    login(alice)
    page.click("nav >> text=Schedules")
    page.click("text=Reference")
    page.click("text=Add shift")
    page.select_option("#id_position", label="Reference Desk")
    page.fill("#id_date", tomorrow.isoformat())
    page.fill("#id_start_time", "10:00")
    page.fill("#id_end_time", "14:00")
    page.fill("#id_location", "2nd floor")
    page.fill("#id_staff_needed", "1")
    page.click("button:has-text('Save shift')")
    page.wait_for_selector("text=Added a Reference Desk shift.")

    shift_box = page.locator(".week-grid .shift").first
    assert "Open" in shift_box.inner_text()
    shift_box.locator("input[name=staff]").fill(bob.email)
    shift_box.locator("button:has-text('Assign')").click()
    page.wait_for_selector("text=Assigned Bob Staff to Reference Desk.")
    assert "Bob Staff" in page.locator(".week-grid .shift").first.inner_text()
    assert Assignment.objects.filter(user=bob).count() == 1

    page.click("button:has-text('Log out')")
    page.wait_for_url(live_server.url + "/login/")
    login(bob)
    upcoming = page.locator("ol.upcoming-shifts")
    text = upcoming.inner_text()
    assert "Reference Desk" in text and "Reference" in text and "2nd floor" in text
    assert "10:00 AM – 2:00 PM" in text
    assert page.locator("a.nav-email").inner_text() == bob.email
