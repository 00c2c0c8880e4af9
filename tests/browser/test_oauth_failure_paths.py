"""The seed's failure paths in Chromium: consent cancelled, admin approval required, integration disabled,
and a revoked refresh token (needs reauthorization)."""

from __future__ import annotations

import datetime as dt

import time_machine
from playwright.sync_api import expect

from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.microsoft.auth import acquire_access_token
from shiftdesk.microsoft.errors import ReauthorizationRequired
from tests.browser import oauth_support
from tests.browser.oauth_support import authorize_outlook, log_in, microsoft_sign_in, set_up_outlook

# The fixtures this module uses, beside the shared ones of tests/browser/fixtures.py.
emulator_server = oauth_support.emulator_server
oauth_chromium = oauth_support.oauth_chromium
emulator = oauth_support.emulator
new_page = oauth_support.new_page

MEGAN = ("megan@contoso.onmicrosoft.com", "Megan-pw1")


def open_calendar_sync(page, live_server):
    page.goto(live_server.url + "/account/calendar-sync/")
    return page.locator("#oauth2-authorization")


def start_authorization(page, live_server):
    box = open_calendar_sync(page, live_server)
    box.get_by_role("button", name="Authorize with Microsoft Account").click()
    microsoft_sign_in(page, *MEGAN)


def test_consent_cancelled(new_page, live_server, emulator, transactional_db, alice, bob):
    set_up_outlook(emulator, live_server, alice)
    page = log_in(new_page(), live_server, bob)
    start_authorization(page, live_server)
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url(live_server.url + "/account/calendar-sync/")
    expect(page.get_by_role("alert").first).to_contain_text("You cancelled the authorization at Microsoft")
    assert not CalendarConnection.objects.exists()


def test_admin_approval_required(new_page, live_server, emulator, transactional_db, alice, bob):
    set_up_outlook(emulator, live_server, alice)
    emulator.control.patch("/tenants/contoso.onmicrosoft.com", json={"users_may_consent": False})
    page = log_in(new_page(), live_server, bob)
    start_authorization(page, live_server)
    expect(page.get_by_role("heading", name="Need admin approval")).to_be_visible()
    page.get_by_role("button", name="Return to the application without granting consent").click()
    page.wait_for_url(live_server.url + "/account/calendar-sync/")
    expect(page.get_by_role("alert").first).to_contain_text("requires an administrator to approve ShiftDesk")
    assert not CalendarConnection.objects.exists()


def test_integration_disabled_by_the_admin(new_page, live_server, emulator, transactional_db, alice, bob):
    set_up_outlook(emulator, live_server, alice)
    admin = log_in(new_page(), live_server, alice)
    admin.goto(live_server.url + "/admin/integrations/")
    box = admin.locator("#azure-ad-oauth2")
    box.get_by_label("Enable Calendar Sync with Azure AD OAuth 2").select_option(label="Disabled")
    box.get_by_role("button", name="Save Settings").click()
    expect(admin.get_by_role("status")).to_contain_text("syncing has stopped for all users")
    user = log_in(new_page(), live_server, bob)
    box = open_calendar_sync(user, live_server)
    expect(box.locator("#oauth2-not-enabled")).to_contain_text("not currently set up or enabled")
    expect(box.locator("#oauth2-not-enabled")).to_contain_text("Password Authentication")
    expect(box.get_by_role("button", name="Authorize with Microsoft Account")).to_have_count(0)


def test_revoked_refresh_token_needs_reauthorization(
    new_page, live_server, emulator, transactional_db, alice, bob
):
    app_id = set_up_outlook(emulator, live_server, alice)
    page = log_in(new_page(), live_server, bob)
    open_calendar_sync(page, live_server)
    authorize_outlook(page, live_server, *MEGAN)
    expect(page.get_by_role("status").first).to_contain_text("is connected")
    # Megan removes the app from her Microsoft account; the next refresh (the access token is stale) fails.
    emulator.control.post("/revoke", json={"client_id": app_id, "user": MEGAN[0]}).raise_for_status()
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2), tick=True):
        try:
            acquire_access_token(CalendarConnection.objects.get(user=bob))
        except ReauthorizationRequired:
            pass
        else:
            raise AssertionError("a revoked grant still produced a token")
    box = open_calendar_sync(page, live_server)
    expect(box.locator("#oauth2-needs-reauthorization")).to_contain_text("needs reauthorization")
    authorize_outlook(page, live_server, *MEGAN)
    expect(page.locator("#oauth2-needs-reauthorization")).to_have_count(0)
    assert CalendarConnection.objects.get(user=bob).status == "connected"
