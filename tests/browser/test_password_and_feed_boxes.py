"""End to end in Chromium: the Password Authentication box (Save tests the connection against the emulator's
EWS, says what failed, then connects; Save Calendars; Remove) and the iCal feed box (copy, regenerate)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

UPN, PW = "bob@contoso.onmicrosoft.com", "Bob-ews-pw1"


@pytest.fixture
def ews_emulator(emulator_server):
    return emulator_server  # the session's emulator (tests/conftest.py)


@pytest.fixture
def ews(ews_emulator, settings):
    ews_emulator.reset()
    ews_emulator.seed({"tenants": [{"domain": "contoso.onmicrosoft.com", "display_name": "Contoso",
                                    "users": [{"upn": UPN, "display_name": "Bob", "password": PW}]}]})  # fmt: skip
    settings.EXCHANGE_CA_BUNDLE = ews_emulator.ca_file
    user = ews_emulator.state.directory.user_by_login(UPN)
    ews_emulator.state.graph.ensure_mailbox(user).create_calendar("Shifts")
    return ews_emulator


def test_password_authentication_box_end_to_end(page, login, live_server, bob, ews):
    from shiftdesk.calendarsync.models import CalendarConnection

    login(bob)
    page.goto(live_server.url + "/account/calendar-sync/")
    box = page.locator("#password-authentication")
    box.locator("#id_server").fill(ews.base_url.removeprefix("https://"))
    box.locator("#id_username").fill(UPN)
    box.locator("#id_password").fill("Wrong-pw-1")
    box.locator("#id_email").fill(UPN)
    box.locator("#exchange-save").click()
    error = page.locator("#exchange-save-error")
    error.wait_for()
    assert "wrong credentials (401)" in error.inner_text()
    assert page.locator("#id_password").input_value() == ""  # write-only: not refilled
    assert not CalendarConnection.objects.filter(user=bob).exists()

    page.locator("#id_password").fill(PW)
    page.locator("#exchange-save").click()
    page.locator("#exchange-connected-account").wait_for()
    assert UPN in page.locator("#exchange-connected-account").inner_text()
    assert "Connected to the Exchange mailbox" in page.locator("[role=status]").first.inner_text()

    page.select_option("#exchange-calendars select[name=sync_calendar]", label="Shifts")
    page.click("#exchange-calendars button[type=submit]")
    page.locator("text=Calendars saved").wait_for()
    assert CalendarConnection.objects.get(user=bob).sync_calendar_name == "Shifts"

    page.click("#exchange-remove button[type=submit]")
    page.locator("text=Password Authentication removed").wait_for()
    assert not CalendarConnection.objects.filter(user=bob).exists()


def test_ical_feed_box_copy_and_regenerate(page, login, live_server, bob):
    from shiftdesk.scheduling.actions import do_assign_staff
    from shiftdesk.scheduling.models import Position, Schedule, Shift, Site

    Site.load()
    schedule = Schedule.objects.create(name="Reference")
    schedule.staff.add(bob)
    start = timezone.now() + timedelta(days=1)
    shift = Shift.objects.create(schedule=schedule, position=Position.objects.create(name="Reference Desk"),
                                 start=start, end=start + timedelta(hours=3))  # fmt: skip
    do_assign_staff(shift, bob, by=None)

    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    login(bob)
    page.goto(live_server.url + "/account/calendar-sync/")
    old_url = page.locator("#ical-feed-url").input_value()
    assert old_url.endswith("/shifts.ics")
    page.click("#ical-feed-box button[data-copy]")
    page.locator("#ical-feed-box button:has-text('Copied')").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == old_url

    path = "/" + old_url.split("/", 3)[3]
    feed = page.request.get(live_server.url + path)
    assert feed.status == 200 and b"Reference Desk (Reference)" in feed.body()

    page.click("#ical-feed-box button:has-text('Regenerate URL')")
    page.locator("text=The old URL no longer works").wait_for()
    new_url = page.locator("#ical-feed-url").input_value()
    assert new_url != old_url
    assert page.request.get(live_server.url + path).status == 404
    assert page.request.get(live_server.url + "/" + new_url.split("/", 3)[3]).status == 200
