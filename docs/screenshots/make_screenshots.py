"""Regenerate the screenshots in this folder: the dashboard, the week grid and Manage Account > Calendar Sync,
each at a phone's 375 px and a desktop's 1280 px, from the demo library in Chromium.

    python3 dev.py screenshots        (or: .venv/bin/python docs/screenshots/make_screenshots.py)

It builds a throwaway SQLite database with `seed_demo` (plus a connected Outlook calendar and a sync log for
the demo's regular staff member, so the Calendar Sync tab shows a working connection), starts ShiftDesk's
development server on a free local port, and writes dashboard-375.png, dashboard-1280.png, week-grid-375.png,
week-grid-1280.png, calendar-sync-375.png and calendar-sync-1280.png next to this file.
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(env: dict) -> None:
    """Migrate and seed in a child process that has the throwaway database's settings."""
    code = r"""
import django, io
django.setup()
from datetime import timedelta
from django.core.management import call_command
from django.utils import timezone
call_command("migrate", "--noinput", verbosity=0)
call_command("seed_demo", stdout=io.StringIO())
from shiftdesk.accounts.models import User
from shiftdesk.calendarsync.models import CalendarConnection, SyncLogEntry
from shiftdesk.microsoft.actions import do_save_azure_ad_settings
from shiftdesk.microsoft.models import AzureADSettings
from shiftdesk.scheduling.demo import ADMIN_EMAIL, DEMO_STAFF
admin = User.objects.get(email=ADMIN_EMAIL)
staff = User.objects.get(email=DEMO_STAFF[0].email)
azure = AzureADSettings.load()
azure.application_id = "0b9c7a3e-1111-4222-8333-944455566677"
azure.client_secret = "demo8Q~screenshots-only-not-a-real-secret0"
azure.secret_last4 = azure.client_secret[-4:]
azure.secret_expires_on = (timezone.now() + timedelta(days=180)).date()
azure.account_type = "multi_personal"
azure.enabled = True
do_save_azure_ad_settings(azure, by=admin, verified=True)
now = timezone.now()
connection = CalendarConnection.objects.create(
    user=staff, provider="microsoft", status="connected", account_email=staff.email, account_id="oid-demo",
    sync_calendar_id="cal-1", sync_calendar_name="Calendar", freebusy_calendar_id="cal-1",
    freebusy_calendar_name="Calendar", last_success_at=now,
)
shifts = [a.shift for a in staff.assignments.select_related("shift").order_by("shift__start")[:3]]
for i, shift in enumerate(shifts):
    SyncLogEntry.objects.create(connection=connection, action="create", outcome="ok", shift_ref=shift.pk,
                                message="Added to Outlook", at=now - timedelta(minutes=3 - i), ms=180)
"""
    # The demo's welcome emails go to the console backend: not wanted in this command's output.
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def wait_for(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - our own local server
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"ShiftDesk did not start at {url}")


def shoot(base: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT))
    from shiftdesk.scheduling.demo import ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, DEMO_STAFF, DEMO_STAFF_PASSWORD

    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for width, height in WIDTHS.items():
            for email, password, shots in (
                (
                    DEMO_STAFF[0].email,
                    DEMO_STAFF_PASSWORD,
                    [("dashboard", "/"), ("calendar-sync", "/account/calendar-sync/")],
                ),
                (ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, [("week-grid", None)]),
            ):
                context = browser.new_context(viewport={"width": width, "height": height})
                page = context.new_page()
                page.goto(base + "/login/")
                page.fill("#id_username", email)
                page.fill("#id_password", password)
                page.click("button[type=submit]")
                page.wait_for_url(base + "/")
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
    with tempfile.TemporaryDirectory(prefix="shiftdesk-screenshots-") as tmp:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "shiftdesk.settings",
            "SHIFTDESK_VAR_DIR": tmp,
            "DATABASE_URL": f"sqlite:///{tmp}/screenshots.sqlite3",
            "PYTHONPATH": str(ROOT),
            "DEBUG": "true",  # a local demo server: runserver serves the static files
        }
        prepare(env)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(base + "/login/")
            for path in shoot(base):
                print(f"wrote {path.relative_to(ROOT)}")
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
