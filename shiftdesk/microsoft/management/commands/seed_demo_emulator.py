"""Give the demo's Microsoft 365 emulator a tenant whose mailboxes are the demo staff (demo tooling only).

The demo launcher runs this after `seed_demo`. It talks to the emulator's control API over HTTPS like any other
client (ShiftDesk never imports the emulator). Without --preregister the app registration is left to the person,
through the emulator's portal, exactly as the FAQ's Step 1 says; with it, the app is registered, a secret made
and Admin > Integrations filled in and enabled, for the impatient.
"""

from __future__ import annotations

import json

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from shiftdesk.accounts.models import User
from shiftdesk.lib.http import ssl_context
from shiftdesk.microsoft.actions import do_save_azure_ad_settings
from shiftdesk.microsoft.identity import AccountType
from shiftdesk.microsoft.models import AzureADSettings, redirect_url
from shiftdesk.scheduling.demo import (
    ADMIN_EMAIL,
    DEMO_ADMIN_PASSWORD,
    DEMO_DOMAIN,
    DEMO_STAFF,
    DEMO_STAFF_PASSWORD,
    DEMO_TIME_ZONE,
    demo_people,
)

MAILBOX_PASSWORD = "demo-mailbox-2026"
PERSONAL_ACCOUNT = "riverside.staff@outlook.com"  # a personal Microsoft account (tenant `consumers`)
# The tenant's Microsoft 365 administrator (the portal and admin consent) is its own person, not ShiftDesk's
# admin: with one address and two passwords, newcomers typed the wrong one (issue 14).
TENANT_ADMIN_EMAIL = f"m365.admin@{DEMO_DOMAIN}"
TENANT_ADMIN_NAME = "Riverside Microsoft 365 Admin"
APP_NAME = "ShiftDesk Shift Sync"


class Command(BaseCommand):
    help = "Create the demo tenant and staff mailboxes in the Microsoft 365 emulator."

    def add_arguments(self, parser):
        parser.add_argument("--emulator", default=settings.MICROSOFT_LOGIN_URL, help="emulator base URL")
        parser.add_argument(
            "--preregister", action="store_true", help="register the app and fill in Integrations"
        )

    def handle(self, *args, emulator: str, preregister: bool, **options):
        client = httpx.Client(base_url=emulator.rstrip("/") + "/_emulator", verify=ssl_context(), timeout=30)
        people = demo_people()
        seed = {
            "tenants": [
                {
                    "domain": DEMO_DOMAIN,
                    "display_name": "Riverside Public Library",
                    "users": [
                        {
                            "upn": p["email"],
                            "mail": p["email"],
                            "display_name": p["display_name"],
                            "password": MAILBOX_PASSWORD,
                            "time_zone": DEMO_TIME_ZONE,
                            "is_admin": False,
                        }
                        for p in people
                    ]
                    + [
                        {
                            "upn": TENANT_ADMIN_EMAIL,
                            "mail": TENANT_ADMIN_EMAIL,
                            "display_name": TENANT_ADMIN_NAME,
                            "password": MAILBOX_PASSWORD,
                            "time_zone": DEMO_TIME_ZONE,
                            "is_admin": True,
                        }
                    ],
                }
            ],
            # The FAQ's personal-account path: a personal Microsoft account on the `consumers` tenant, which
            # an app registered for "any organizational directory and personal Microsoft accounts" admits.
            "personal_users": [
                {
                    "upn": PERSONAL_ACCOUNT,
                    "display_name": f"{DEMO_STAFF[0].first_name} {DEMO_STAFF[0].last_name} (personal)",
                    "password": MAILBOX_PASSWORD,
                    "time_zone": DEMO_TIME_ZONE,
                }
            ],
        }
        response = client.post("/seed", json=seed)
        if response.status_code == 400 and "exists" in response.text.lower():
            self.stdout.write("Emulator tenant already seeded.")
        elif response.status_code >= 400:
            raise CommandError(f"emulator refused the demo tenant: {response.status_code} {response.text}")
        else:
            self.stdout.write(f"Emulator tenant {DEMO_DOMAIN} with {len(people)} mailboxes.")

        if preregister:
            self._preregister(client)
        logins = {
            "admin_email": ADMIN_EMAIL,
            "admin_password": DEMO_ADMIN_PASSWORD,
            "staff_email": DEMO_STAFF[0].email,
            "staff_password": DEMO_STAFF_PASSWORD,
            "tenant_admin_email": TENANT_ADMIN_EMAIL,
            "tenant_admin_password": MAILBOX_PASSWORD,
            "mailbox_password": MAILBOX_PASSWORD,
            "personal_account": PERSONAL_ACCOUNT,
        }
        (settings.VAR_DIR / "demo-logins.json").write_text(json.dumps(logins, indent=2))

    def _preregister(self, client: httpx.Client) -> None:
        current = AzureADSettings.load()
        if current.is_configured:
            self.stdout.write("Admin > Integrations is already filled in; not registering again.")
            return
        app = client.post(
            "/apps",
            json={
                "tenant": DEMO_DOMAIN,
                "name": APP_NAME,
                # What ShiftDesk recommends (the FAQ's advice): work accounts and personal accounts.
                "sign_in_audience": "AzureADandPersonalMicrosoftAccount",
                "redirect_uris": [redirect_url()],
                "delegated_permissions": ["offline_access", "User.Read", "Calendars.ReadWrite"],
            },
        )
        if app.status_code >= 400:
            raise CommandError(f"emulator refused the app registration: {app.status_code} {app.text}")
        client_id = app.json()["client_id"]
        secret = client.post(f"/apps/{client_id}/secrets", json={"description": "ShiftDesk demo"})
        if secret.status_code >= 400:
            raise CommandError(f"emulator refused the client secret: {secret.status_code} {secret.text}")
        value = secret.json()["value"]
        candidate = AzureADSettings.load()
        candidate.application_id = client_id
        candidate.client_secret = value
        candidate.secret_last4 = value[-4:]
        candidate.account_type = AccountType.MULTI_AND_PERSONAL
        candidate.enabled = True
        admin = User.objects.get(email=ADMIN_EMAIL)
        do_save_azure_ad_settings(candidate, by=admin, verified=None)
        self.stdout.write(
            f"Registered {APP_NAME} ({client_id}) and enabled Azure AD OAuth 2 in Integrations."
        )
