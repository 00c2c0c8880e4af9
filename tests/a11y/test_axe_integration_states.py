"""axe-core's WCAG 2.0/2.1 A and AA rules, at desktop and phone width, over the states of the integration boxes
the demo world's page sweep (test_axe_pages.py) never shows: every way in switched on and set up (Azure AD
OAuth 2 with a secret about to expire, Google OAuth 2, Password Authentication), and each box after a Save the
server refused (the field errors beside their fields). These are the boxes whose fields the first walk found
with a duplicate id_enabled and help-text ids that did not exist. At phone width nothing scrolls sideways."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests.a11y.support import DESKTOP, PHONE, note_problems

ANY_TEXT = re.compile(r"\w")


@pytest.fixture
def every_way_in(demo):
    """Azure AD OAuth 2 set up and Enabled (its secret expires in 10 days: the warning shows), Google OAuth 2
    set up and Enabled, Password Authentication Enabled (its default)."""
    from shiftdesk.google.actions import do_save_google_settings
    from shiftdesk.google.models import GoogleOAuthSettings
    from shiftdesk.microsoft.actions import do_save_azure_ad_settings
    from shiftdesk.microsoft.models import AzureADSettings

    azure = AzureADSettings.load()
    azure.application_id = "11111111-2222-3333-4444-555555555555"
    azure.client_secret = "s" * 40
    azure.secret_last4 = "ssss"
    azure.secret_expires_on = timezone.localdate() + dt.timedelta(days=10)
    azure.account_type = "multi_personal"
    azure.enabled = True
    do_save_azure_ad_settings(azure, by=demo.admin, verified=True)
    google = GoogleOAuthSettings(client_id="123-abc.apps.googleusercontent.com", client_secret="g" * 24,
                                 secret_last4="gggg", enabled=True)  # fmt: skip
    do_save_google_settings(google, by=demo.admin, verified=True)
    return demo


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_integration_boxes_set_up_and_refused_pass_axe(every_way_in, demo_login, live_server, viewport):
    failures: list[str] = []
    admin = demo_login(every_way_in.admin, viewport)
    admin.goto(live_server.url + reverse("admin_integrations"))
    expect(admin.locator("#azure-ad-oauth2")).to_contain_text("expires in 10 days")
    note_problems(admin, "Admin > Integrations, everything set up", failures, viewport)
    # One "Enable" dropdown per box, each named by its own label (there were two id_enabled: the Password
    # Authentication one had no name, and clicking its label focused the Azure one).
    admin.get_by_text("Enable Calendar Sync with Password Authentication", exact=True).click()
    expect(admin.locator("#password-authentication-admin select")).to_be_focused()
    admin.get_by_text("Enable Calendar Sync with Azure AD OAuth 2", exact=True).click()
    expect(admin.locator("#azure-ad-oauth2 select[name=enabled]")).to_be_focused()
    # The fields whose aria-describedby pointed at help texts that did not exist read their help text.
    for label in ("Application ID", "Client Secret: Value", "Client Secret: Expires"):
        expect(admin.locator("#azure-ad-oauth2").get_by_label(label)).to_have_accessible_description(ANY_TEXT)

    # Each box's Save, refused by the server (novalidate: the browser sends what is there).
    azure = admin.locator("#azure-ad-oauth2")
    azure.get_by_label("Application ID").fill("not an id")
    azure.get_by_label("Client Secret: Value").fill("x")
    azure.get_by_label("Client Secret: Expires").fill("")
    azure.get_by_role("button", name="Save Settings").click()
    expect(azure.locator(".errorlist").first).to_be_visible()
    note_problems(admin, "Admin > Integrations, Azure AD OAuth 2 refused", failures, viewport)

    admin.goto(live_server.url + reverse("admin_integrations"))
    box = admin.locator("#password-authentication-admin")
    box.get_by_label("Allowed Exchange servers").fill("not a host!")
    box.get_by_role("button", name="Save Settings").click()
    expect(admin.get_by_role("alert").filter(has_text="is not a host name")).to_be_visible()
    expect(box.get_by_label("Allowed Exchange servers")).to_have_value("not a host!")  # kept to correct
    note_problems(admin, "Admin > Integrations, Password Authentication refused", failures, viewport)

    admin.goto(live_server.url + reverse("admin_integrations"))
    box = admin.locator("#google-oauth2")
    box.get_by_label("Client ID").fill("")
    box.get_by_role("button", name="Save Settings").click()
    expect(box.locator(".errorlist, [role=alert]").first).to_be_visible()
    note_problems(admin, "Admin > Integrations, Google OAuth 2 refused", failures, viewport)

    # A user with no connection sees every way in: both Authorize buttons and the Password Authentication form.
    user = demo_login(every_way_in.schedule_admin, viewport)
    user.goto(live_server.url + reverse("calendar_sync"))
    expect(user.get_by_role("button", name="Authorize with Microsoft Account")).to_be_visible()
    expect(user.get_by_role("button", name="Authorize with Google Account")).to_be_visible()
    note_problems(user, "Calendar Sync, every way in", failures, viewport)
    for label in ("Server Address", "Username"):
        expect(user.locator("#password-authentication").get_by_label(label)).to_have_accessible_description(
            ANY_TEXT
        )
    box = user.locator("#password-authentication")
    box.get_by_role("button", name="Save").click()
    expect(box.locator(".errorlist").first).to_be_visible()
    note_problems(user, "Calendar Sync, Password Authentication refused", failures, viewport)
    assert not failures, "\n\n".join(failures)
