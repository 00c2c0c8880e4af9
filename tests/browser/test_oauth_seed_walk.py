"""The seed FAQ walked in Chromium: Step 1A (Redirect URL), Step 1B (register the app in the emulator's
portal), Step 2 (Application ID + Client Secret Value, a wrong secret first), Step 3 (a user authorizes,
picks calendars, saves), then Remove Authorization."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.microsoft.models import AzureADSettings
from tests.browser import oauth_support
from tests.browser.oauth_support import log_in, microsoft_sign_in

# The fixtures this module uses, beside the shared ones of tests/browser/fixtures.py.
emulator_server = oauth_support.emulator_server
oauth_chromium = oauth_support.oauth_chromium
emulator = oauth_support.emulator
new_page = oauth_support.new_page

ADELE = ("adele@contoso.onmicrosoft.com", "Adele-pw1")
MEGAN = ("megan@contoso.onmicrosoft.com", "Megan-pw1")
TENANT = {
    "tenants": [
        {
            "domain": "contoso.onmicrosoft.com",
            "display_name": "Contoso",
            "users": [
                {"upn": ADELE[0], "display_name": "Adele Vance", "password": ADELE[1], "is_admin": True},
                {"upn": MEGAN[0], "display_name": "Megan Bowen", "password": MEGAN[1]},
            ],
        }
    ]
}


def register_app_in_portal(page, emulator, redirect_url: str) -> tuple[str, str, str]:
    """Seed Step 1B in the emulator's portal. Returns (Application ID, secret Value, Secret ID)."""
    page.goto(emulator.base_url + "/portal/")
    if page.locator("#passwd").count():
        page.fill("#login", ADELE[0])
        page.fill("#passwd", ADELE[1])
        page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="New registration").click()
    page.fill("#name", "ShiftDesk Shift Sync")
    page.check("input[name=sign_in_audience][value=AzureADandPersonalMicrosoftAccount]")
    expect(page.locator("#platform")).to_have_value("web")
    page.fill("#redirect_uri", redirect_url)
    page.get_by_role("button", name="Register").click()
    app_id = page.locator("#client-id").inner_text().strip()
    page.get_by_role("link", name="Certificates & secrets").click()
    page.get_by_role("link", name="New client secret").click()
    page.fill("#description", "ShiftDesk")
    page.select_option("#expires", "730")
    page.get_by_role("button", name="Add").click()
    row = page.locator("#client-secrets tbody tr").last
    value = row.locator("td.value").inner_text().strip()
    secret_id = row.locator("td.secret-id").inner_text().strip()
    page.get_by_role("link", name="API permissions").click()
    page.get_by_role("link", name="Add a permission").click()
    page.get_by_role("link", name="Microsoft Graph").click()
    page.get_by_role("link", name="Delegated permissions").click()
    page.check("input[name=permission][value=offline_access]")
    page.check("input[name=permission][value='Calendars.ReadWrite']")
    page.get_by_role("button", name="Add permissions").click()
    expect(page.locator("#configured-permissions")).to_contain_text("Calendars.ReadWrite")
    return app_id, value, secret_id


def test_the_seed_as_written(new_page, live_server, emulator, transactional_db, alice, bob):
    emulator.seed(TENANT)

    # Step 1A: the admin finds the Redirect URL in Admin > Integrations > Azure AD OAuth 2 and copies it.
    admin = log_in(new_page(), live_server, alice)
    admin.get_by_text("Admin", exact=True).click()
    admin.get_by_role("link", name="Integrations").click()
    box = admin.locator("#azure-ad-oauth2")
    expect(box.get_by_role("heading", name="Azure AD OAuth 2")).to_be_visible()
    redirect_url = box.locator("#azure-redirect-url").input_value()
    assert redirect_url == live_server.url + "/microsoft/oauth2/callback/"
    box.get_by_role("button", name="Copy").click()
    expect(box.get_by_role("button", name="Copied")).to_be_visible()
    copied = admin.evaluate("navigator.clipboard.readText()")
    assert copied == redirect_url

    # Step 1B: register the app in the portal, in another tab, pasting the Redirect URL.
    portal = admin.context.new_page()
    app_id, value, secret_id = register_app_in_portal(portal, emulator, copied)

    # Step 2: Application ID and Client Secret Value; a wrong secret first.
    admin.bring_to_front()
    box.get_by_label("Application ID").fill(app_id)
    box.get_by_label("Client Secret: Value").fill(value[:-1] + ("x" if value[-1] != "x" else "y"))
    box.get_by_label("Supported Account Type").select_option(
        label="Accounts in any organizational directory and personal Microsoft accounts"
    )
    expect(admin.locator("#azure-tenant-row")).to_be_hidden()
    box.get_by_label("Enable Calendar Sync with Azure AD OAuth 2").select_option(label="Enabled")
    box.get_by_role("button", name="Save Settings").click()
    box = admin.locator("#azure-ad-oauth2")
    expect(box.locator("#azure-ad-error")).to_contain_text("App ID or Secret is incorrect")
    expect(box.locator("#azure-ad-error")).to_contain_text("wait several minutes")
    assert not AzureADSettings.objects.exists()
    # Pasting the Secret ID instead of the Value is caught before asking Microsoft.
    box.get_by_label("Client Secret: Value").fill(secret_id)
    box.get_by_role("button", name="Save Settings").click()
    expect(admin.locator("#azure-ad-oauth2")).to_contain_text("This looks like the Secret ID")
    box = admin.locator("#azure-ad-oauth2")
    box.get_by_label("Client Secret: Value").fill(value)
    box.get_by_label("Enable Calendar Sync with Azure AD OAuth 2").select_option(label="Enabled")
    box.get_by_role("button", name="Save Settings").click()
    expect(admin.get_by_role("status")).to_contain_text("Settings saved")
    expect(admin.locator("#azure-secret-stored")).to_contain_text(value[-4:])
    assert value not in admin.content()
    # The Tenant ID row appears only for the single-directory type.
    admin.locator("#azure-ad-oauth2").get_by_label("Supported Account Type").select_option(value="single")
    expect(admin.locator("#azure-tenant-row")).to_be_visible()

    # Step 3: a user authorizes in Manage Account > Calendar Sync.
    user = log_in(new_page(), live_server, bob)
    user.get_by_role("link", name=bob.email).click()
    user.get_by_role("link", name="Calendar Sync").click()
    oauth_box = user.locator("#oauth2-authorization")
    expect(oauth_box.get_by_role("heading", name="OAuth 2 Authorization")).to_be_visible()
    oauth_box.get_by_role("button", name="Authorize with Microsoft Account").click()
    microsoft_sign_in(user, *MEGAN)
    expect(user.get_by_text("ShiftDesk Shift Sync").first).to_be_visible()  # Microsoft's consent page
    user.get_by_role("button", name="Accept").click()
    user.wait_for_url(live_server.url + "/account/calendar-sync/")
    expect(user.get_by_role("status").first).to_contain_text("megan@contoso.onmicrosoft.com is connected")
    oauth_box = user.locator("#oauth2-authorization")
    sync_select = oauth_box.get_by_label("Calendar to Sync shifts with")
    expect(sync_select.locator("option:checked")).to_have_text("Calendar")  # the default preselected
    oauth_box.get_by_label("Calendar to Check Free/Busy Status").select_option(label="Calendar")
    oauth_box.get_by_role("button", name="Save Calendars").click()
    expect(user.get_by_role("status").first).to_contain_text("Calendars saved")
    connection = CalendarConnection.objects.get(user=bob)
    assert connection.sync_calendar_name == "Calendar" and connection.status == "connected"

    # Remove Authorization: tokens go, events stay (the delete option is off by default).
    oauth_box = user.locator("#oauth2-authorization")
    expect(oauth_box.get_by_label(re.compile("Also delete my future ShiftDesk events"))).not_to_be_checked()
    oauth_box.get_by_role("button", name="Remove Authorization").click()
    expect(user.get_by_role("status").first).to_contain_text("Authorization removed")
    assert not CalendarConnection.objects.filter(user=bob).exists()
    expect(
        user.locator("#oauth2-authorization").get_by_role("button", name="Authorize with Microsoft Account")
    ).to_be_visible()
