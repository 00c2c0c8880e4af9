"""In Chromium: the admin fills Admin > Integrations > Google OAuth 2 (copies the Redirect URL, a wrong secret
first, then the right one), then a user presses Authorize with Google Account, signs in and consents on the
emulator's Google pages, chooses the calendar to sync with and saves. Marked `browser` (own pytest process)."""

from __future__ import annotations

from playwright.sync_api import expect

from googleemulator.testing import STANDARD_CLIENT_ID, STANDARD_SECRET
from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.google.models import GoogleOAuthSettings
from tests.browser import oauth_support
from tests.browser.oauth_support import log_in
from tests.google.conftest import world_spec

emulator_server = oauth_support.emulator_server
oauth_chromium = oauth_support.oauth_chromium
new_page = oauth_support.new_page


def point_at_google_emulator(settings, server, live_server) -> None:
    base = server.base_url + "/google"
    settings.GOOGLE_ACCOUNTS_URL = settings.GOOGLE_OAUTH_URL = settings.GOOGLE_API_URL = base
    settings.GOOGLE_CA_BUNDLE = server.ca_file
    settings.PUBLIC_BASE_URL = live_server.url


def google_sign_in(page, email: str, password: str) -> None:
    """Google's pages in the emulator: account chooser or email, password, then the consent page."""
    page.wait_for_selector("#identifier, ul.accounts")
    if page.locator("ul.accounts").count():
        page.get_by_role("button", name="Use another account").click()
    page.fill("#identifier", email)
    page.get_by_role("button", name="Next").click()
    page.fill("#password", password)
    page.get_by_role("button", name="Next").click()


def test_admin_sets_up_google_and_a_user_authorizes_and_chooses_a_calendar(
    new_page, live_server, emulator_server, settings, transactional_db, alice, bob
):
    point_at_google_emulator(settings, emulator_server, live_server)
    redirect = live_server.url + "/google/oauth2/callback/"
    with emulator_server.http(base_url=emulator_server.base_url + "/_emulator/google") as control:
        control.post("/reset").raise_for_status()
        control.post("/seed", json=world_spec(redirect=redirect)).raise_for_status()

    # The admin: Admin > Integrations > Google OAuth 2, the Redirect URL copied as it must be registered.
    admin = log_in(new_page(), live_server, alice)
    admin.goto(live_server.url + "/admin/integrations/")
    box = admin.locator("#google-oauth2")
    expect(box.get_by_role("heading", name="Google OAuth 2")).to_be_visible()
    assert box.locator("#google-redirect-url").input_value() == redirect
    box.get_by_role("button", name="Copy").click()
    assert admin.evaluate("navigator.clipboard.readText()") == redirect
    box.get_by_label("Client ID").fill(STANDARD_CLIENT_ID)
    box.get_by_label("Client Secret", exact=True).fill("GOCSPX-not-the-secret")
    box.get_by_label("Enable Calendar Sync with Google OAuth 2").select_option(label="Enabled")
    box.get_by_role("button", name="Save Settings").click()
    expect(admin.locator("#google-oauth2-error")).to_contain_text("Google refused the Client Secret")
    assert not GoogleOAuthSettings.objects.exists()
    box = admin.locator("#google-oauth2")
    box.get_by_label("Client Secret", exact=True).fill(STANDARD_SECRET)
    box.get_by_label("Enable Calendar Sync with Google OAuth 2").select_option(label="Enabled")
    box.get_by_role("button", name="Save Settings").click()
    expect(admin.get_by_role("status").first).to_contain_text("Google accepted the Client ID")
    expect(admin.locator("#google-secret-stored")).to_contain_text(STANDARD_SECRET[-4:])
    assert STANDARD_SECRET not in admin.content()

    # The user: Manage Account > Calendar Sync > Google Authorization.
    user = log_in(new_page(), live_server, bob)
    user.goto(live_server.url + "/account/calendar-sync/")
    gbox = user.locator("#google-authorization")
    expect(gbox.get_by_role("heading", name="Google Authorization")).to_be_visible()
    gbox.get_by_role("button", name="Authorize with Google Account").click()
    google_sign_in(user, "bob@example.org", "Bob-pw1")
    for checkbox in user.locator("input[name=granted]").all():
        checkbox.check()
    user.get_by_role("button", name="Continue").click()
    user.wait_for_url(live_server.url + "/account/calendar-sync/")
    expect(user.get_by_role("status").first).to_contain_text("bob@example.org is connected")
    gbox = user.locator("#google-authorization")
    expect(gbox.locator("#google-connected-account")).to_contain_text("bob@example.org")
    sync_select = gbox.get_by_label("Calendar to Sync shifts with")
    expect(sync_select.locator("option:checked")).to_have_text("bob@example.org")  # the primary calendar
    sync_select.select_option(label="Rota")
    gbox.get_by_role("button", name="Save Calendars").click()
    expect(user.get_by_role("status").first).to_contain_text("Calendars saved")
    connection = CalendarConnection.objects.get(user=bob)
    assert (connection.provider, connection.sync_calendar_name) == ("google", "Rota")
    assert connection.freebusy_calendar_id == "bob@example.org"
