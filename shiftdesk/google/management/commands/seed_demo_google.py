"""Give the demo's Google emulator (googleemulator, under /google of the same emulator process) Google accounts
for the demo staff, and with --preregister a Cloud project with a Web application OAuth client whose redirect
URI is ShiftDesk's Redirect URL, filled into Admin > Integrations > Google OAuth 2 and enabled (demo tooling
only; the Google twin of microsoft's seed_demo_emulator, run after it by `dev.py demo`).

It talks to the emulator's control API over HTTPS like any other client (ShiftDesk never imports the emulator).
Without --preregister the project and client are left to the person, through the emulator's Cloud console,
exactly as docs/google-setup.md walks an admin through Google's.

The Redirect URL must be one Google accepts: https, or http only for `localhost` (Google's rule, which the
emulator's console applies too). The demo's SHIFTDESK_PUBLIC_URL is therefore http://localhost:8000, not
http://127.0.0.1:8000 (dev.py).
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from shiftdesk.accounts.models import User
from shiftdesk.google.actions import do_save_google_settings
from shiftdesk.google.models import GoogleOAuthSettings, redirect_url
from shiftdesk.lib.http import google_ssl_context
from shiftdesk.scheduling.demo import ADMIN_EMAIL, DEMO_DOMAIN, DEMO_TIME_ZONE, demo_people

GOOGLE_PASSWORD = "demo-google-2026"
# The Workspace administrator who owns the Cloud project (the console), its own person as on the Microsoft side.
GOOGLE_ADMIN_EMAIL = f"google.admin@{DEMO_DOMAIN}"
PROJECT_NAME = "ShiftDesk demo"
CLIENT_NAME = "ShiftDesk Shift Sync"


class Command(BaseCommand):
    help = "Create the demo staff's Google accounts (and with --preregister the OAuth client) in the Google emulator."

    def add_arguments(self, parser):
        parser.add_argument("--emulator", required=True, help="emulator base URL (Google is under /google)")
        parser.add_argument(
            "--preregister", action="store_true", help="create the OAuth client and fill in Google OAuth 2"
        )

    def handle(self, *args, emulator: str, preregister: bool, **options):
        client = httpx.Client(
            base_url=emulator.rstrip("/") + "/_emulator/google", verify=google_ssl_context(), timeout=30
        )
        known: set[str] = set()
        state = client.get("/state")
        if state.status_code == 200:
            accounts = state.json().get("accounts") or {}
            known = set(accounts) if isinstance(accounts, dict) else {a.get("email") for a in accounts}
        people = [{"email": p["email"], "name": p["display_name"]} for p in demo_people()] + [
            {"email": GOOGLE_ADMIN_EMAIL, "name": "Riverside Google Workspace Admin"}
        ]
        # Accounts already there keep their passwords and calendars (a restarted demo keeps its world).
        spec = {
            "accounts": [
                {**p, "password": GOOGLE_PASSWORD, "time_zone": DEMO_TIME_ZONE}
                for p in people
                if p["email"].lower() not in known
            ]
        }
        if spec["accounts"]:
            seeded = client.post("/seed", json=spec)
            if seeded.status_code >= 400:
                raise CommandError(
                    f"Google emulator refused the demo accounts: {seeded.status_code} {seeded.text}"
                )
        self.stdout.write(f"Google emulator: {len(people)} accounts on {DEMO_DOMAIN}.")
        if preregister:
            self._preregister(client)
        path = settings.VAR_DIR / "demo-logins.json"
        logins = json.loads(path.read_text()) if path.exists() else {}
        logins.update({"google_admin_email": GOOGLE_ADMIN_EMAIL, "google_password": GOOGLE_PASSWORD})
        path.write_text(json.dumps(logins, indent=2))

    def _preregister(self, client: httpx.Client) -> None:
        if GoogleOAuthSettings.load().is_configured:
            self.stdout.write("Google OAuth 2 is already filled in; not registering again.")
            return
        url = redirect_url()
        parts = urlsplit(url)
        if parts.scheme != "https" and parts.hostname != "localhost":
            raise CommandError(
                f"Google accepts http Redirect URLs only on localhost; {url} would be refused. Set "
                "SHIFTDESK_PUBLIC_URL to http://localhost:<port> (or an https address)."
            )
        answer = client.post(
            "/seed",
            json={
                "projects": [
                    {
                        "name": PROJECT_NAME,
                        "owner": GOOGLE_ADMIN_EMAIL,
                        "calendar_api_enabled": True,
                        # Internal: every demo account is in the Workspace domain (no test users, no 7-day limit).
                        "consent_screen": {
                            "app_name": CLIENT_NAME,
                            "user_type": "internal",
                            "publishing_status": "production",
                            "support_email": GOOGLE_ADMIN_EMAIL,
                            "org_domain": DEMO_DOMAIN,
                        },
                        "clients": [{"name": CLIENT_NAME, "redirect_uris": [url]}],
                    }
                ]
            },
        )
        if answer.status_code >= 400:
            raise CommandError(
                f"Google emulator refused the OAuth client: {answer.status_code} {answer.text}"
            )
        made = answer.json()["projects"][0]["clients"][0]
        candidate = GoogleOAuthSettings.load()
        candidate.client_id = made["client_id"]
        candidate.client_secret = made["client_secret"]
        candidate.secret_last4 = made["client_secret"][-4:]
        candidate.enabled = True
        do_save_google_settings(candidate, by=User.objects.get(email=ADMIN_EMAIL), verified=False)
        self.stdout.write(
            f"Registered the Google OAuth client {made['client_id']} and enabled Google OAuth 2."
        )
