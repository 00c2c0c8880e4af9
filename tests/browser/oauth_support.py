"""Browser fixtures for the Outlook and Google OAuth walks: the HTTPS emulator, ShiftDesk's live server pointed
at it, and a Chromium that trusts exactly the emulator's certificate key (--ignore-certificate-errors-spki-list);
the sign-in steps of both boxes, the worker passes and the Google viewer the walks share.

Test modules import the fixtures they use from here (the shared Chromium comes from tests/browser/fixtures.py).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import expect

from m365emulator.testing import STANDARD_SECRET, standard_world
from m365emulator.tls import ensure_tls
from tests.browser.fixtures import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import PASSWORD


def spki_sha256(cert_pem: bytes) -> str:
    """base64(sha256(SubjectPublicKeyInfo)) of a certificate: what Chromium's SPKI allow-list takes."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


# The session emulator is tests/conftest.py's `emulator_server` fixture (one per test process). This name is
# kept, as a plain value, for modules that import it from here: a fixture imported into another module would
# be a second session fixture (a second emulator).
emulator_server = None


@pytest.fixture(scope="session")
def oauth_chromium(chromium, emulator_server):
    """Chromium trusting the emulator's leaf key only; every other certificate is still verified.

    Launched through the Playwright instance of conftest's `chromium` (one sync Playwright per process)."""
    leaf = ensure_tls(emulator_server.state_dir).cert_file
    args = [*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={spki_sha256(leaf.read_bytes())}"]
    browser = chromium.browser_type.launch(executable_path=CHROMIUM, args=args, headless=True)
    yield browser
    browser.close()


@pytest.fixture
def emulator(emulator_server, live_server, settings):
    """A reset emulator; ShiftDesk's Microsoft URLs, CA bundle and public URL set for this test."""
    emulator_server.reset()
    emulator_server.point_microsoft(settings, public_url=live_server.url)
    return emulator_server


@pytest.fixture
def new_page(oauth_chromium, live_server):
    """new_page() -> a page in a fresh browser context (one per person: admin, user)."""
    contexts = []

    def make():
        context = oauth_chromium.new_context()
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def set_up_outlook(emulator, live_server, admin, world: dict | None = None) -> str:
    """The standard world (or `world`) with ShiftDesk registered for this live server, and Azure AD OAuth 2
    saved and enabled as the admin leaves it after Save Settings. Returns the Application ID."""
    from shiftdesk.microsoft.actions import do_save_azure_ad_settings
    from shiftdesk.microsoft.models import AzureADSettings

    world = world or standard_world()
    world["apps"][0]["redirect_uris"] = [live_server.url + "/microsoft/oauth2/callback/"]
    app_id = emulator.seed(world)["apps"][0]["client_id"]
    candidate = AzureADSettings.load()
    candidate.application_id = app_id
    candidate.client_secret = STANDARD_SECRET
    candidate.secret_last4 = STANDARD_SECRET[-4:]
    candidate.account_type = "multi_personal"
    candidate.enabled = True
    do_save_azure_ad_settings(candidate, by=admin, verified=True)
    return app_id


def log_in(page, live_server, user, password: str = PASSWORD):
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", user.email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    return page


def microsoft_sign_in(page, login: str, password: str) -> None:
    """The emulator's (Microsoft's) sign-in page."""
    try:
        page.wait_for_selector("#passwd")
    except Exception as exc:  # noqa: BLE001 - say where the browser is instead of a bare timeout
        raise AssertionError(
            f"no Microsoft sign-in page at {page.url}:\n{page.inner_text('body')[:1500]}"
        ) from exc
    page.fill("#login", login)
    page.fill("#passwd", password)
    page.click("#idSIButton9")


def authorize_outlook(page, live_server, login: str, password: str):
    """On Manage Account > Calendar Sync (already open): Authorize with Microsoft Account in the OAuth 2
    Authorization box, sign in at the emulator as `login`, Accept on the consent page, and wait to be back on
    Calendar Sync. Returns the box."""
    page.locator("#oauth2-authorization").get_by_role(
        "button", name="Authorize with Microsoft Account"
    ).click()
    microsoft_sign_in(page, login, password)
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url(live_server.url + "/account/calendar-sync/")
    return page.locator("#oauth2-authorization")


@pytest.fixture
def both_clouds(emulator, live_server, settings, alice):
    """The Microsoft world (Azure AD OAuth 2 enabled) and the Google world (Google OAuth 2 enabled), both
    registered with this live server's Redirect URLs, as the admin leaves them after Save Settings."""
    from googleemulator.testing import STANDARD_CLIENT_ID
    from googleemulator.testing import STANDARD_SECRET as GOOGLE_SECRET
    from shiftdesk.google.actions import do_save_google_settings
    from shiftdesk.google.models import GoogleOAuthSettings
    from tests.google.conftest import world_spec
    from tests.google.test_browser_setup_and_authorization import point_at_google_emulator

    set_up_outlook(emulator, live_server, alice)
    point_at_google_emulator(settings, emulator, live_server)
    settings.SYNC_BACKOFF_BASE_SECONDS = 0
    with emulator.http(base_url=emulator.base_url + "/_emulator/google") as control:
        control.post("/reset").raise_for_status()
        control.delete("/faults").raise_for_status()
        control.post(
            "/seed", json=world_spec(redirect=live_server.url + "/google/oauth2/callback/")
        ).raise_for_status()
    candidate = GoogleOAuthSettings.load()
    candidate.client_id, candidate.client_secret = STANDARD_CLIENT_ID, GOOGLE_SECRET
    candidate.secret_last4, candidate.enabled = GOOGLE_SECRET[-4:], True
    do_save_google_settings(candidate, by=alice, verified=True)
    return emulator


def connect_outlook(page, live_server, login: str, password: str) -> None:
    """From Calendar Sync: authorize_outlook, then Save Calendars as offered (the default calendar)."""
    page.goto(live_server.url + "/account/calendar-sync/")
    box = authorize_outlook(page, live_server, login, password)
    box.get_by_role("button", name="Save Calendars").click()
    expect(page.get_by_role("status").first).to_contain_text("your shifts will be synced with")


def authorize_google(page, live_server, email: str, password: str):
    """On Manage Account > Calendar Sync (already open): Authorize with Google Account in the Google
    Authorization box, sign in on the emulator's Google pages as `email` (account chooser, email, password),
    tick every box on the consent page, Continue, and wait to be back on Calendar Sync. Returns the box."""
    # Imported here: that module imports this one at its top.
    from tests.google.test_browser_setup_and_authorization import google_sign_in

    page.locator("#google-authorization").get_by_role("button", name="Authorize with Google Account").click()
    google_sign_in(page, email, password)
    consent = page.get_by_role("button", name="Continue")
    consent.wait_for()  # the consent page is loaded before its boxes are listed (.all() does not wait)
    for checkbox in page.locator("input[name=granted]").all():
        checkbox.check()
    consent.click()
    page.wait_for_url(live_server.url + "/account/calendar-sync/")
    return page.locator("#google-authorization")


def save_calendars(page, box, calendar: str) -> None:
    """In an authorization box: `calendar` as the Calendar to Sync shifts with, then Save Calendars."""
    box.get_by_label("Calendar to Sync shifts with").select_option(label=calendar)
    box.get_by_role("button", name="Save Calendars").click()
    expect(page.get_by_role("status").first).to_contain_text("Calendars saved")


def work_until(done: Callable[[], bool], passes: int = 8) -> None:
    """Worker passes (as `manage.py syncworker` runs them) until `done()` holds: an export, then its writes,
    or a switch's deletes, then its creates, take more than one pass."""
    from tests.browser.test_shared_calendar_story import run_worker

    for _ in range(passes):
        run_worker()
        if done():
            return
    raise AssertionError("the worker did not get there")


def google_week(viewer, emulator, email: str, day) -> None:
    """The emulator's Google Calendar viewer: `email`'s primary calendar, the week of `day`."""
    viewer.goto(f"{emulator.base_url}/google/calendar/view/{email}/?week={day.isoformat()}")


def outlook_week(viewer, emulator, mailbox: str, day) -> None:
    """The emulator's Outlook viewer: `mailbox`'s calendar, the week of `day`."""
    viewer.goto(f"{emulator.base_url}/outlook/{mailbox}?week={day.isoformat()}")


def screenshots(prefix: str) -> Callable:
    """screenshot(page, name) for a story: with SHIFTDESK_SCREENSHOTS=/some/dir set, keeps the whole page as
    <dir>/<prefix>-<name>.png; otherwise does nothing."""

    def screenshot(page, name: str) -> None:
        folder = os.environ.get("SHIFTDESK_SCREENSHOTS")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(folder) / f"{prefix}-{name}.png"), full_page=True)

    return screenshot
