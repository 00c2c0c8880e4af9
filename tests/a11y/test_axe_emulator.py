"""axe-core's WCAG 2.0/2.1 A and AA rules over every page of the emulator a ShiftDesk admin or user meets in
the FAQ walk: the portal (sign-in, app list, registration, overview, authentication, certificates & secrets,
new secret, API permissions), Microsoft's sign-in and consent pages (and those off the happy path), and the
Outlook viewer, at desktop and phone width; at 375 px no page may scroll sideways. Also the portal's copy
buttons and monospace Value, and the sign-in page's initial focus."""

from __future__ import annotations

import re
from datetime import date, timedelta

import msal
import pytest
from playwright.sync_api import expect

from m365emulator.testing import STANDARD_REDIRECT, standard_world
from tests.a11y.support import PHONE, note_problems, sideways_overflow, sticking_out
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
    note_problems(page, where, failures, PHONE if page.viewport_size == PHONE else None)
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


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_sign_in_consent_and_outlook_viewer_pass_axe(emulator_server, world, browser_page, viewport):
    page = browser_page(viewport)
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


def test_the_outlook_viewer_fits_a_phone_in_every_week_of_a_year(emulator_server, world, browser_page):
    """The viewer's day headings change with the week ("Wed 10 Mar" is wider than "Mon 07 Dec"); a March week
    once scrolled 2 px sideways at 375 px, since a grid column would not shrink below its heading. Every week of
    a year, at 375 px and at WCAG 1.4.10's 320 px."""
    page = browser_page(PHONE)
    first = date(2027, 1, 4)  # a Monday: 53 weeks hold every month name and every day of the month
    for width in (375, 320):
        page.set_viewport_size({**PHONE, "width": width})
        for n in range(53):
            week = first + timedelta(weeks=n)
            page.goto(f"{emulator_server.base_url}/outlook/megan@contoso.onmicrosoft.com?week={week}")
            assert sideways_overflow(page) == 0, f"week of {week} at {width} px: {sticking_out(page)}"


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_microsofts_other_sign_in_pages_pass_axe(emulator_server, world, browser_page, viewport):
    """The identity pages a user or admin meets off the happy path: a wrong password, the consent page of a
    tenant admin (with "Consent on behalf of your organization") and of a personal account (No / Yes), the
    admin consent page ShiftDesk's "grant admin consent" link opens, "Need admin approval" for a user who is
    not an admin, the AADSTS error page (an unregistered redirect URI) and the signed-out page."""
    from urllib.parse import urlencode

    page = browser_page(viewport)
    failures: list[str] = []
    client_id = world["apps"][0]["client_id"]
    page.route(STANDARD_REDIRECT + "*", lambda route: route.fulfill(status=200, body="back at ShiftDesk"))

    def authorize(redirect_uri: str = STANDARD_REDIRECT) -> str:
        query = {"client_id": client_id, "response_type": "code", "redirect_uri": redirect_uri,
                 "scope": "offline_access User.Read Calendars.ReadWrite", "state": "s1", "prompt": "login"}  # fmt: skip
        return emulator_server.authority("common") + "/oauth2/v2.0/authorize?" + urlencode(query)

    def sign_in(email: str, password: str) -> None:
        page.get_by_label("Email, phone, or Skype").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()

    page.goto(authorize())
    sign_in("adele@contoso.onmicrosoft.com", "wrong")
    expect(page.get_by_role("alert")).to_be_visible()
    check(page, "sign-in: wrong password", failures)
    sign_in("adele@contoso.onmicrosoft.com", "Adele-pw1")
    expect(page.get_by_label("Consent on behalf of your organization")).to_be_visible()
    check(page, "consent: a tenant admin", failures)

    page.goto(authorize())
    sign_in("pat@outlook.com", "Pat-pw1")
    expect(page.get_by_role("button", name="Yes")).to_be_visible()
    check(page, "consent: a personal account", failures)

    admin_consent = (
        emulator_server.authority("contoso.onmicrosoft.com")
        + "/adminconsent?"
        + urlencode({"client_id": client_id, "redirect_uri": STANDARD_REDIRECT, "state": "s2"})
    )
    page.goto(admin_consent)
    sign_in("adele@contoso.onmicrosoft.com", "Adele-pw1")
    expect(page.get_by_role("heading", name=re.compile("Accept for your organization"))).to_be_visible()
    check(page, "admin consent", failures)
    page.goto(admin_consent)
    sign_in("megan@contoso.onmicrosoft.com", "Megan-pw1")
    expect(page.get_by_role("heading", name="Need admin approval")).to_be_visible()
    check(page, "need admin approval", failures)

    page.goto(authorize("https://elsewhere.example/cb"))
    expect(page.locator("#error")).to_contain_text("AADSTS50011")
    check(page, "error page (AADSTS50011)", failures)
    page.goto(emulator_server.authority("common") + "/oauth2/v2.0/logout")
    expect(page.get_by_role("heading", name="You signed out of your account")).to_be_visible()
    check(page, "signed out", failures)
    assert not failures, "\n\n".join(failures)
