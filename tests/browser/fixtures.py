"""Chromium through Playwright, Debian's build (Playwright's own browser download does not work here).

Loaded for the whole suite by tests/conftest.py (pytest_plugins), so every browser test in any folder shares
one sync Playwright: a second sync_playwright() in the same process fails. Tests that use these fixtures are
marked `browser`, and dev.py runs them in a pytest process of their own, because Playwright's sync API leaves
an event loop on the main thread that breaks later asyncio.run() calls (msgraph-sdk, throttling tests).
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

CHROMIUM = os.environ.get("SHIFTDESK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


BROWSER_FIXTURES = {"chromium"}  # page, login and every browser fixture depend on it


def spki_pin(cert_file: Path) -> str:
    """For --ignore-certificate-errors-spki-list: Chromium trusts exactly the emulator's key this way, and
    certificate checks stay on for everything else."""
    cert = x509.load_pem_x509_certificate(Path(cert_file).read_bytes())
    der = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def mark_browser_tests(items) -> None:
    for item in items:
        if BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        # The test command installs Chromium (dev.py); a missing browser is a broken setup, not a skip.
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `python3 dev.py test`, which installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(ignore_https_errors=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def login(page, live_server):
    """Log a persona in through the real login form: login(user) -> page on the dashboard."""
    from tests.conftest import PASSWORD

    def do_login(user, password: str = PASSWORD):
        page.goto(live_server.url + "/login/")
        page.fill("#id_username", user.email)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_url(live_server.url + "/")
        return page

    return do_login
