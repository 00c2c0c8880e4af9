"""axe-core's WCAG 2.0/2.1 A and AA rules over every page of the emulator a ShiftDesk admin or user meets in
the FAQ walk: the portal (sign-in, app list, registration, overview, authentication, certificates & secrets,
new secret, API permissions), Microsoft's sign-in and consent pages, and the Outlook viewer. Also the portal's
copy buttons and monospace Value, and the sign-in page's initial focus."""

from __future__ import annotations

import re

import msal
import pytest
from playwright.sync_api import expect

from m365emulator.testing import STANDARD_REDIRECT, standard_world
from tests.a11y.support import PHONE, assert_accessible
from tests.browser import oauth_support

emulator_server = oauth_support.emulator_server
oauth_chromium = oauth_support.oauth_chromium


@pytest.fixture
def world(emulator_server):
    emulator_server.reset()
    return emulator_server.seed(standard_world())


@pytest.fixture
def browser_page(oauth_chromium, emulator_server):
    contexts = []

    def make(viewport=None):
        context = oauth_chromium.new_context(viewport=viewport or {"width": 1280, "height": 900})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=emulator_server.base_url)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def check(page, where: str, failures: list[str]) -> None:
    try:
        assert_accessible(page, where)
    except AssertionError as e:
        failures.append(str(e))
    # axe files "one main landmark" under best practices, not WCAG tags; screen-reader users jump by it.
    if page.get_by_role("main").count() != 1:
        failures.append(f"{where}: {page.get_by_role('main').count()} main landmarks, not 1")


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_the_portal_passes_axe_and_has_copy_buttons(emulator_server, world, browser_page, viewport):
    page = browser_page(viewport)
    failures: list[str] = []
    page.goto(emulator_server.base_url + "/portal/")
    check(page, "portal sign-in", failures)
    page.get_by_label("Email, phone, or Skype").fill("adele@contoso.onmicrosoft.com")
    page.get_by_label("Password").fill("Adele-pw1")
    page.get_by_role("button", name="Sign in").click()
    check(page, "portal app list", failures)
    page.get_by_role("link", name="New registration").click()
    check(page, "portal registration", failures)
    page.get_by_label("Name", exact=True).fill("ShiftDesk Shift Sync")
    page.locator("#redirect_uri").fill(STANDARD_REDIRECT)
    page.get_by_role("button", name="Register").click()
    check(page, "portal overview", failures)

    # Copy buttons beside the ids, which are in a monospace font.
    client_id = page.locator("#client-id").inner_text()
    page.get_by_role("button", name="Copy Application (client) ID").click()
    assert page.evaluate("navigator.clipboard.readText()") == client_id
    page.get_by_role("button", name="Copy Directory (tenant) ID").click()
    assert page.evaluate("navigator.clipboard.readText()") == page.locator("#tenant-id").inner_text()
    assert "monospace" in page.locator("#client-id").evaluate("e => getComputedStyle(e).fontFamily")

    for link in ("Authentication", "Certificates & secrets"):
        page.get_by_role("link", name=link).click()
        check(page, f"portal {link}", failures)
    page.get_by_role("link", name="New client secret").click()
    check(page, "portal new client secret", failures)
    page.get_by_label("Description").fill("ShiftDesk")
    page.get_by_role("button", name="Add").click()
    check(page, "portal secret just added", failures)
    value_cell = page.locator("#client-secrets td.value").last
    value = value_cell.inner_text().strip()
    assert "monospace" in value_cell.evaluate("e => getComputedStyle(e).fontFamily")
    page.get_by_role("button", name="Copy Value").click()
    assert page.evaluate("navigator.clipboard.readText()") == value
    expect(page.get_by_role("status")).to_have_text("Copied to clipboard")

    page.get_by_role("link", name="API permissions").click()
    check(page, "portal API permissions", failures)
    page.get_by_role("link", name="Add a permission").click()
    check(page, "portal add a permission", failures)
    assert not failures, "\n\n".join(failures)


def test_sign_in_consent_and_outlook_viewer_pass_axe(emulator_server, world, browser_page):
    page = browser_page()
    failures: list[str] = []
    app = world["apps"][0]
    client = msal.ConfidentialClientApplication(
        app["client_id"],
        client_credential="unused",
        authority=emulator_server.authority("common"),
        instance_discovery=False,
        http_client=emulator_server.requests_session(),
    )
    flow = client.initiate_auth_code_flow(
        ["User.Read", "Calendars.ReadWrite"], redirect_uri=STANDARD_REDIRECT
    )
    page.route(STANDARD_REDIRECT + "*", lambda route: route.fulfill(status=200, body="back at ShiftDesk"))
    page.goto(flow["auth_uri"])
    expect(page.get_by_label("Email, phone, or Skype")).to_be_focused()  # initial focus, as Microsoft's
    check(page, "sign-in", failures)
    page.get_by_label("Email, phone, or Skype").fill("megan@contoso.onmicrosoft.com")
    page.get_by_label("Password").fill("Megan-pw1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Accept")).to_be_visible()
    check(page, "consent", failures)
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url(STANDARD_REDIRECT + "*")

    page.goto(emulator_server.base_url + "/outlook/")
    check(page, "Outlook viewer: mailboxes", failures)
    page.get_by_role("link", name="Megan Bowen").click()
    check(page, "Outlook viewer: week", failures)
    page.locator("summary", has_text="New event").click()
    page.get_by_label("Subject").fill("Dentist")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("link", name=re.compile("Dentist")).first.click()
    check(page, "Outlook viewer: edit event", failures)

    # The owner's Share panel (issue 13): the form, then the share listed with its Withdraw button.
    page.goto(emulator_server.base_url + "/outlook/megan@contoso.onmicrosoft.com")
    page.locator("summary", has_text="Share").click()
    check(page, "Outlook viewer: share form", failures)
    page.get_by_label("Share with (email address)").fill("adele@contoso.onmicrosoft.com")
    page.get_by_label("Permission").select_option(label="Can edit")
    page.get_by_role("button", name="Share", exact=True).click()
    page.locator("summary", has_text="Share").click()
    expect(
        page.get_by_role("button", name="Withdraw share with adele@contoso.onmicrosoft.com")
    ).to_be_visible()
    check(page, "Outlook viewer: calendar shared", failures)
    assert not failures, "\n\n".join(failures)
