"""Browser fixtures for the Outlook OAuth walks: the HTTPS emulator, ShiftDesk's live server pointed at it,
and a Chromium that trusts exactly the emulator's certificate key (--ignore-certificate-errors-spki-list).

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
    settings.MICROSOFT_LOGIN_URL = emulator_server.base_url
    settings.MICROSOFT_GRAPH_URL = emulator_server.base_url
    settings.MICROSOFT_CA_BUNDLE = emulator_server.ca_file
    settings.PUBLIC_BASE_URL = live_server.url
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


def screenshots(prefix: str) -> Callable:
    """screenshot(page, name) for a story: with SHIFTDESK_SCREENSHOTS=/some/dir set, keeps the whole page as
    <dir>/<prefix>-<name>.png; otherwise does nothing."""

    def screenshot(page, name: str) -> None:
        folder = os.environ.get("SHIFTDESK_SCREENSHOTS")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(folder) / f"{prefix}-{name}.png"), full_page=True)

    return screenshot
