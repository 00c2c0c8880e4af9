"""The portal and the sign-in pages in real Chromium: labels, radios, buttons as a person uses them."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import msal
import pytest

from m365emulator.testing import STANDARD_REDIRECT
from tests.browser.fixtures import CHROMIUM, CHROMIUM_ARGS, spki_pin

pytestmark = pytest.mark.browser


@pytest.fixture
def page(emulator, chromium):
    """A page in a Chromium that trusts exactly the emulator's key (launched by the shared Playwright)."""
    pin = spki_pin(emulator.state_dir / "server.pem")
    browser = chromium.browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={pin}"],
    )
    context = browser.new_context()
    context.set_default_timeout(15_000)
    yield context.new_page()
    browser.close()


def test_a_person_registers_the_app_and_signs_in_with_it(emulator, world, page):
    page.goto(emulator.base_url + "/portal/")
    page.get_by_label("Email, phone, or Skype").fill("adele@contoso.onmicrosoft.com")
    page.get_by_label("Password").fill("Adele-pw1")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="New registration").click()
    page.get_by_label("Name", exact=True).fill("ShiftDesk Shift Sync")
    page.get_by_label(re.compile(r"Multitenant\) and personal Microsoft accounts")).check()
    page.locator("#redirect_uri").fill(STANDARD_REDIRECT)
    page.get_by_role("button", name="Register").click()
    client_id = page.locator("#client-id").inner_text()
    assert page.locator("#tenant-id").inner_text() == world["tenants"][0]["id"]

    page.get_by_role("link", name="Certificates & secrets").click()
    page.get_by_role("link", name="New client secret").click()
    page.get_by_label("Description").fill("ShiftDesk")
    page.get_by_label("Expires").select_option(label="730 days (24 months)")
    page.get_by_role("button", name="Add").click()
    value = page.locator("td.value").inner_text()

    page.get_by_role("link", name="API permissions").click()
    page.get_by_role("link", name="Add a permission").click()
    page.get_by_role("link", name="Microsoft Graph").click()
    page.get_by_role("link", name="Delegated permissions").click()
    for name in ("offline_access", "Calendars.ReadWrite"):
        page.get_by_role("checkbox", name=re.compile(rf"^{re.escape(name)} ")).check()
    page.get_by_role("button", name="Add permissions").click()
    assert page.locator("#configured-permissions").get_by_text("Calendars.ReadWrite", exact=True).is_visible()

    app = msal.ConfidentialClientApplication(
        client_id, client_credential=value, authority=emulator.authority("common"),
        instance_discovery=False, http_client=emulator.requests_session(),
    )  # fmt: skip
    flow = app.initiate_auth_code_flow(["User.Read", "Calendars.ReadWrite"], redirect_uri=STANDARD_REDIRECT)
    landed = {}

    def capture(route):  # ShiftDesk is not running: catch the redirect back to it
        landed["url"] = route.request.url
        route.fulfill(status=200, body="back at ShiftDesk")

    page.route(STANDARD_REDIRECT + "*", capture)
    page.goto(flow["auth_uri"])  # Adele's portal session is reused: straight to consent
    assert page.get_by_text("Permissions requested").is_visible()
    assert page.get_by_text("Have full access to your calendars").is_visible()
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url(STANDARD_REDIRECT + "*")
    params = {k: v[0] for k, v in parse_qs(urlsplit(landed["url"]).query).items()}
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert result["id_token_claims"]["preferred_username"] == "adele@contoso.onmicrosoft.com", result


def test_the_login_page_shows_a_wrong_password(emulator, world, page):
    app = msal.ConfidentialClientApplication(
        world["apps"][0]["client_id"], client_credential="x", authority=emulator.authority(),
        instance_discovery=False, http_client=emulator.requests_session(),
    )  # fmt: skip
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=STANDARD_REDIRECT)
    page.goto(flow["auth_uri"])
    page.get_by_label("Email, phone, or Skype").fill("megan@contoso.onmicrosoft.com")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("Your account or password is incorrect.")
