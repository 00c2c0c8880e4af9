"""Regenerate the screenshots in this folder: the dashboard, the week grid and Manage Account > Calendar Sync,
each at a phone's 375 px and a desktop's 1280 px, from the demo library in Chromium.

    python3 dev.py screenshots        (or: .venv/bin/python docs/screenshots/make_screenshots.py)

It builds a throwaway SQLite database with `seed_demo`, starts the Microsoft 365 emulator and ShiftDesk's
development server on free local ports, and walks the FAQ for the demo's regular staff member in Chromium
(Authorize with Microsoft Account, Accept, Save Calendars, Run the Export; then one pass of the sync worker and
the free/busy refresher), so the Calendar Sync tab shows a real connection. It writes dashboard-375.png,
dashboard-1280.png, week-grid-375.png, week-grid-1280.png, calendar-sync-375.png and calendar-sync-1280.png
next to this file.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CHROMIUM = os.environ.get("SHIFTDESK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
WIDTHS = {375: 812, 1280: 900}
MAILBOX_PASSWORD = "demo-mailbox-2026"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(env: dict, app_id: str, secret: str) -> None:
    """Migrate, seed the demo and save Admin > Integrations for the emulator's app, in a child process that
    has the throwaway database's settings."""
    code = r"""
import django, io, os
django.setup()
from datetime import timedelta
from django.core.management import call_command
from django.utils import timezone
call_command("migrate", "--noinput", verbosity=0)
call_command("seed_demo", stdout=io.StringIO())
from shiftdesk.accounts.models import User
from shiftdesk.microsoft.actions import do_save_azure_ad_settings
from shiftdesk.microsoft.models import AzureADSettings
from shiftdesk.scheduling.demo import ADMIN_EMAIL
azure = AzureADSettings.load()
azure.application_id = os.environ["SCREENSHOT_APP_ID"]
azure.client_secret = os.environ["SCREENSHOT_SECRET"]
azure.secret_last4 = azure.client_secret[-4:]
azure.secret_expires_on = (timezone.now() + timedelta(days=180)).date()
azure.account_type = "multi_personal"
azure.enabled = True
do_save_azure_ad_settings(azure, by=User.objects.get(email=ADMIN_EMAIL), verified=True)
"""
    # The demo's welcome emails go to the console backend: not wanted in this command's output.
    child = {**env, "SCREENSHOT_APP_ID": app_id, "SCREENSHOT_SECRET": secret}
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=child, check=True, stdout=subprocess.DEVNULL)


def emulator_world(base: str) -> dict:
    """The demo staff member's mailbox and ShiftDesk's app registration, redirecting to `base`."""
    from m365emulator.testing import STANDARD_SECRET
    from shiftdesk.scheduling.demo import DEMO_DOMAIN, DEMO_STAFF, DEMO_TIME_ZONE

    staff = DEMO_STAFF[0]
    return {
        "tenants": [
            {
                "domain": DEMO_DOMAIN,
                "display_name": "Riverside Public Library",
                "users": [
                    {"upn": staff.email, "mail": staff.email, "display_name": staff.display_name,
                     "password": MAILBOX_PASSWORD, "time_zone": DEMO_TIME_ZONE},
                ],
            }
        ],
        "apps": [
            {
                "tenant": DEMO_DOMAIN,
                "name": "ShiftDesk Shift Sync",
                "sign_in_audience": "AzureADandPersonalMicrosoftAccount",
                "redirect_uris": [base + "/microsoft/oauth2/callback/"],
                "delegated_permissions": ["offline_access", "User.Read", "Calendars.ReadWrite"],
                "secrets": [{"description": "ShiftDesk", "value": STANDARD_SECRET, "expires_in_days": 180}],
            }
        ],
    }  # fmt: skip


def connect_outlook(page, base: str, email: str) -> None:
    """The FAQ's Step 3 as the staff member does it: authorize, accept, save calendars, run the export."""
    page.goto(base + "/account/calendar-sync/")
    page.get_by_role("button", name="Authorize with Microsoft Account").click()
    page.fill("#login", email)
    page.fill("#passwd", MAILBOX_PASSWORD)
    page.click("#idSIButton9")
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url(base + "/account/calendar-sync/")
    box = page.locator("#oauth2-authorization")
    box.get_by_label("Calendar to Check Free/Busy Status").select_option(label="Calendar")
    box.get_by_role("button", name="Save Calendars").click()
    page.wait_for_selector("text=Calendars saved")
    export = page.locator("#calendar-sync-export")
    export.get_by_label("Export Option").select_option(label="Export all shifts")
    export.get_by_role("button", name="Run the Export").click()
    page.wait_for_selector("text=Your export has started")


def wait_for(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - our own local server
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"ShiftDesk did not start at {url}")


def log_in(browser, base: str, email: str, password: str, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(base + "/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    return context, page


def shoot(base: str, pin: str, env: dict) -> list[Path]:
    from playwright.sync_api import sync_playwright

    from shiftdesk.scheduling.demo import ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, DEMO_STAFF, DEMO_STAFF_PASSWORD

    written = []
    with sync_playwright() as p:
        args = [*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={pin}"]  # trusts the emulator only
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        context, page = log_in(browser, base, DEMO_STAFF[0].email, DEMO_STAFF_PASSWORD, 1280, 900)
        connect_outlook(page, base, DEMO_STAFF[0].email)
        context.close()
        for command in (["syncworker", "--once"], ["refreshbusy", "--once"]):
            subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        for width, height in WIDTHS.items():
            for email, password, shots in (
                (
                    DEMO_STAFF[0].email,
                    DEMO_STAFF_PASSWORD,
                    [("dashboard", "/"), ("calendar-sync", "/account/calendar-sync/")],
                ),
                (ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, [("week-grid", None)]),
            ):
                context, page = log_in(browser, base, email, password, width, height)
                for name, path in shots:
                    if path is None:  # the first schedule's week grid, this week
                        page.goto(base + "/schedules/")
                        page.get_by_role("link", name="Reference Desk", exact=True).first.click()
                        page.wait_for_selector(".week-grid")
                    else:
                        page.goto(base + path)
                    page.wait_for_load_state("networkidle")
                    target = HERE / f"{name}-{width}.png"
                    page.screenshot(path=str(target), full_page=True)
                    written.append(target)
                context.close()
        browser.close()
    return written


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from m365emulator.testing import STANDARD_SECRET, EmulatorServer
    from m365emulator.tls import ensure_tls
    from tests.browser.oauth_support import spki_sha256

    with tempfile.TemporaryDirectory(prefix="shiftdesk-screenshots-") as tmp:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with EmulatorServer(state_dir=Path(tmp) / "emulator") as emulator:
            app_id = emulator.seed(emulator_world(base))["apps"][0]["client_id"]
            pin = spki_sha256(ensure_tls(emulator.state_dir).cert_file.read_bytes())
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "shiftdesk.settings",
                "SHIFTDESK_VAR_DIR": tmp,
                "DATABASE_URL": f"sqlite:///{tmp}/screenshots.sqlite3",
                "PYTHONPATH": str(ROOT),
                "DEBUG": "true",  # a local demo server: runserver serves the static files
                "SHIFTDESK_PUBLIC_URL": base,
                "MICROSOFT_LOGIN_URL": emulator.base_url,
                "MICROSOFT_GRAPH_URL": emulator.base_url,
                "MICROSOFT_CA_BUNDLE": str(emulator.ca_file),
            }
            prepare(env, app_id, STANDARD_SECRET)
            server = subprocess.Popen(
                [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                wait_for(base + "/login/")
                for path in shoot(base, pin, env):
                    print(f"wrote {path.relative_to(ROOT)}")
            finally:
                server.terminate()
                server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
