"""Fixtures for the sync engine's tests: the real HTTPS emulator, ShiftDesk pointed at it, Azure AD settings
for a seeded app, and `Sync` — a small world of staff whose ShiftDesk accounts are connected to their own
emulator mailboxes through a real MSAL authorization-code flow (login + consent pages walked over HTTP).

Nothing of Graph is mocked: the emulator is the fake, and tests read its raw mailbox state to count events.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from m365emulator.testing import STANDARD_SECRET, redirect_params, sign_in
from tests.conftest import PASSWORD

TENANT = "contoso.onmicrosoft.com"
STAFF_PASSWORD = "Staff-pw1"


# The session emulator is tests/conftest.py's `emulator_server` fixture (one per test process). This name is
# kept, as a plain value, for modules that import it from here: a fixture imported into another module would
# be a second session fixture (a second emulator).
emulator_server = None


@pytest.fixture
def emulator(emulator_server, settings):
    emulator_server.reset()
    emulator_server.control.delete("/faults")
    settings.MICROSOFT_LOGIN_URL = emulator_server.base_url
    settings.MICROSOFT_GRAPH_URL = emulator_server.base_url
    settings.MICROSOFT_CA_BUNDLE = emulator_server.ca_file
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    settings.SYNC_BACKOFF_BASE_SECONDS = 0  # backoff still jittered/exponential, but tests need not wait
    yield emulator_server
    emulator_server.control.delete("/faults")


def world_spec(staff: int, redirect: str) -> dict:
    return {
        "tenants": [
            {
                "domain": TENANT,
                "display_name": "Contoso",
                "users": [
                    {
                        "upn": "adele@" + TENANT,
                        "display_name": "Adele Vance",
                        "password": "Adele-pw1",
                        "is_admin": True,
                    }
                ]
                + [
                    {
                        "upn": f"staff{i}@{TENANT}",
                        "display_name": f"Staff {i}",
                        "password": STAFF_PASSWORD,
                        "time_zone": "America/Chicago",
                    }
                    for i in range(staff)
                ],  # fmt: skip
            }
        ],
        "apps": [
            {
                "tenant": TENANT,
                "name": "ShiftDesk",
                "sign_in_audience": "AzureADMultipleOrgs",
                "redirect_uris": [redirect],
                "delegated_permissions": ["offline_access", "User.Read", "Calendars.ReadWrite"],
                "secrets": [{"description": "ShiftDesk", "value": STANDARD_SECRET, "expires_in_days": 730}],
            }
        ],
    }


class Sync:
    """The world of one test: staff users, their connections, a schedule and shifts, and the emulator."""

    def __init__(self, emulator, azure, admin):
        from shiftdesk.scheduling.models import Position, Schedule, Site

        self.emulator = emulator
        self.azure = azure
        self.admin = admin
        self.site = Site.load()
        self.schedule = Schedule.objects.create(name="Reference")
        self.position = Position.objects.create(name="Reference Desk")
        self.users = []
        self.upns = {}
        self._counter = itertools.count()
        self.worker_id = "test-worker"

    # --- people ----------------------------------------------------------------------------------
    def add_user(self, index: int, *, connect: bool = True, choose: bool = True):
        from shiftdesk.accounts.models import User

        user = User.objects.create_user(f"staff{index}@example.org", PASSWORD, first_name=f"Staff{index}")
        self.schedule.staff.add(user)
        self.upns[user.pk] = f"staff{index}@{TENANT}"
        self.users.append(user)
        if connect:
            self.connect(user, choose=choose)
        return user

    def connect(self, user, *, choose: bool = True):
        """Authorize like the Calendar Sync tab does: MSAL's auth-code flow against the emulator's pages."""
        import msal

        from shiftdesk.calendarsync.actions import do_choose_calendars, do_connect_calendar
        from shiftdesk.microsoft.auth import build_app
        from shiftdesk.microsoft.identity import USER_SCOPES
        from shiftdesk.microsoft.models import redirect_url

        cache = msal.SerializableTokenCache()
        app = build_app(self.azure, token_cache=cache, fresh=True)
        flow = app.initiate_auth_code_flow(USER_SCOPES, redirect_uri=redirect_url(), response_mode="query")
        with self.emulator.http() as browser:
            response = sign_in(browser, flow["auth_uri"], self.upns[user.pk], STAFF_PASSWORD)
        result = app.acquire_token_by_auth_code_flow(flow, redirect_params(response), scopes=USER_SCOPES)
        assert "access_token" in result, result
        claims = result["id_token_claims"]
        accounts = app.get_accounts()
        connection = do_connect_calendar(
            user,
            provider="microsoft",
            account_email=self.upns[user.pk],
            account_name=claims.get("name", ""),
            account_id=claims["oid"],
            credentials=cache.serialize(),
            provider_settings={
                "client_id": self.azure.application_id,
                "segment": self.azure.tenant_segment,
                "tenant_id": claims.get("tid", ""),
                "home_account_id": accounts[0]["home_account_id"],
            },
        )
        if choose:
            calendar = self.default_calendar(user)
            do_choose_calendars(connection, sync_calendar_id=calendar["id"], sync_calendar_name=calendar["name"],
                                freebusy_calendar_id=calendar["id"], freebusy_calendar_name=calendar["name"])  # fmt: skip
        return connection

    # --- scheduling ------------------------------------------------------------------------------
    def shift(self, *, days: float = 1, hours: float = 4, note: str = "", location: str = "Main Library"):
        from shiftdesk.scheduling.actions import do_create_shift

        n = next(self._counter)
        start = (timezone.now() + timedelta(days=days, minutes=n)).replace(second=0, microsecond=0)
        return do_create_shift(self.schedule, position=self.position, location=location, start=start,
                               end=start + timedelta(hours=hours), staff_needed=50, note=note, by=self.admin)  # fmt: skip

    def assign(self, shift, user):
        from shiftdesk.scheduling.actions import do_assign_staff

        return do_assign_staff(shift, user, by=self.admin, override_conflicts=True)

    # --- the engine --------------------------------------------------------------------------------
    def connection(self, user):
        from shiftdesk.calendarsync.models import CalendarConnection

        return CalendarConnection.objects.get(user=user)

    def step(self, user) -> bool:
        from shiftdesk.calendarsync.engine import sync_one_connection

        return sync_one_connection(self.connection(user).id, worker_id=self.worker_id)

    def drain(self, user, max_steps: int = 50) -> int:
        """Step until the connection has no due work (backoff made due at once for tests)."""
        from shiftdesk.calendarsync.models import CalendarConnection, EventLink

        steps = 0
        for steps in range(1, max_steps + 1):
            conn = self.connection(user)
            CalendarConnection.objects.filter(id=conn.id).update(retry_after_until=None)
            EventLink.objects.filter(connection=conn, dirty=True).update(next_attempt_at=None)
            if not EventLink.objects.filter(connection=conn, dirty=True, deleted_in_outlook=False).exists():
                return steps
            self.step(user)
        raise AssertionError(f"connection of {user} still dirty after {max_steps} steps")

    # --- the emulator ------------------------------------------------------------------------------
    def mailbox(self, user) -> dict:
        response = self.emulator.control.get(f"/graph/mailboxes/{self.upns[user.pk]}")
        response.raise_for_status()
        return response.json()

    def events(self, user) -> list[dict]:
        return self.mailbox(user)["events"]

    def default_calendar(self, user) -> dict:
        return next(c for c in self.mailbox(user)["calendars"] if c["isDefaultCalendar"])

    def faults(self, **config):
        self.emulator.control.put("/faults", json=config).raise_for_status()


def link_key_of(event: dict) -> str:
    from shiftdesk.microsoft.provider import LINK_PROPERTY_ID

    for prop in event["singleValueExtendedProperties"]:
        if prop["id"].lower() == LINK_PROPERTY_ID.lower():
            return prop["value"]
    return ""


@pytest.fixture
def azure(db, alice, emulator, settings):
    from shiftdesk.microsoft.actions import do_save_azure_ad_settings
    from shiftdesk.microsoft.identity import AccountType
    from shiftdesk.microsoft.models import AzureADSettings, redirect_url

    seeded = emulator.seed(world_spec(60, redirect_url()))
    candidate = AzureADSettings.load()
    candidate.application_id = seeded["apps"][0]["client_id"]
    candidate.client_secret = STANDARD_SECRET
    candidate.secret_last4 = STANDARD_SECRET[-4:]
    candidate.account_type = AccountType.MULTI
    candidate.enabled = True
    return do_save_azure_ad_settings(candidate, by=alice, verified=True)


@pytest.fixture
def sync(azure, emulator, alice):
    return Sync(emulator, azure, alice)
