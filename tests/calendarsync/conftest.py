"""Fixtures for the sync engine's tests: the real HTTPS emulator, ShiftDesk pointed at it, Azure AD settings
for a seeded app, and `Sync` — a small world of staff whose ShiftDesk accounts are connected to their own
emulator mailboxes through a real MSAL authorization-code flow (login + consent pages walked over HTTP).
`GoogleSync` is the same world on the Google emulator (googleemulator, served under /google by the same
server), connected through ShiftDesk's real Google OAuth flow (google-auth-oauthlib, Google's pages walked
over HTTP).

The engine's tests take the `provider` fixture ("microsoft" unless a test parametrises it with PROVIDERS) and
get the matching world as `sync`. Both worlds answer with events in one neutral shape (`Sync.events`): the
Graph fields the tests read (id, calendarId, subject, location, body.content, start/end in UTC, changeKey);
Google's raw events are translated into it (`google_view`), the raw event kept under "google".

Nothing of Graph or Google is mocked: the emulator is the fake, and tests read its raw state to count events.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from m365emulator.testing import STANDARD_SECRET, redirect_params, sign_in
from tests.conftest import PASSWORD

TENANT = "contoso.onmicrosoft.com"
STAFF_PASSWORD = "Staff-pw1"
GOOGLE_DOMAIN = "example.org"
# The engine's tests that run against both providers: `@pytest.mark.parametrize("provider", PROVIDERS)`.
PROVIDERS = ["microsoft", "google"]


# The session emulator is tests/conftest.py's `emulator_server` fixture (one per test process). This name is
# kept, as a plain value, for modules that import it from here: a fixture imported into another module would
# be a second session fixture (a second emulator).
emulator_server = None


@pytest.fixture
def emulator(emulator_server, settings):
    emulator_server.reset()
    emulator_server.control.delete("/faults")
    emulator_server.point_microsoft(settings)
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

    provider = "microsoft"

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

    def clear_faults(self) -> None:
        self.emulator.control.delete("/faults").raise_for_status()

    def injected(self) -> int:
        return self.emulator.control.get("/faults").json()["injected"]

    # --- the user's own hand in their calendar (provider-neutral; the emulator's control API) ----------------
    def add_calendar(self, user, name: str) -> dict:
        created = self.emulator.control.post(
            f"/graph/mailboxes/{self.upns[user.pk]}/calendars", json={"name": name}
        )
        created.raise_for_status()
        return {"id": created.json()["id"], "name": name}

    def _event_path(self, user, event: dict) -> str:
        return f"/graph/mailboxes/{self.upns[user.pk]}/events/{event['id']}"

    def user_deletes(self, user, event: dict) -> None:
        self.emulator.control.delete(self._event_path(user, event)).raise_for_status()

    def user_moves(self, user, event: dict, calendar_id: str) -> None:
        self.emulator.control.patch(
            self._event_path(user, event), json={"calendarId": calendar_id}
        ).raise_for_status()

    def user_retimes(self, user, event: dict, hours: float) -> None:
        """Moves the event `hours` later (start and end), as the user dragging it in Outlook."""
        later = {
            key: {"dateTime": (_utc(event[key]) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S"),
                  "timeZone": "UTC"}
            for key in ("start", "end")
        }  # fmt: skip
        self.emulator.control.patch(self._event_path(user, event), json=later).raise_for_status()

    def user_edits_subject(self, user, event: dict, subject: str) -> None:
        self.emulator.control.patch(
            self._event_path(user, event), json={"subject": subject}
        ).raise_for_status()

    def events_path(self, calendar_id: str) -> str:
        """The path the app creates events of a calendar at (for faults aimed at it)."""
        return f"/v1.0/me/calendars/{calendar_id}/events"

    def revoke_grant(self, user) -> None:
        """The user withdraws ShiftDesk's consent, and their access tokens run out."""
        upn = self.upns[user.pk]
        self.emulator.control.post("/revoke", json={"client_id": self.azure.application_id, "user": upn})
        self.emulator.control.post("/tokens/expire", json={"user": upn})

    def requests(self, user=None) -> list[dict]:
        """The calendar API requests the emulator logged (for one user's mailbox if given)."""
        log = self.emulator.control.get("/graph/requests", params={"limit": 10000}).json()
        rows = log.get("value", log) if isinstance(log, dict) else log
        rows = [r for r in rows if r.get("path", "").startswith("/v1.0")]
        if user is not None:
            oid = self.connection(user).account_id
            rows = [r for r in rows if r.get("mailbox") == oid]
        return rows

    def writes_to(self, event: dict) -> list[tuple[str, str]]:
        """The updates and deletes (PATCH/DELETE) the app sent for one event, from the emulator's request log."""
        rows = self.emulator.control.get("/graph/requests", params={"limit": 10000}).json()["value"]
        return [
            (r["method"], r["path"])
            for r in rows
            if r["method"] in ("PATCH", "DELETE") and event["id"] in r["path"]
        ]


def _utc(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def google_instant(when: dict) -> datetime:
    """A Google event's start/end ({dateTime, timeZone}) as an aware UTC instant."""
    parsed = datetime.fromisoformat(when["dateTime"].replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(when.get("timeZone") or "UTC"))
    return parsed.astimezone(UTC)


def google_view(calendar_id: str, event: dict, home: str = "") -> dict:
    """A raw Google event in the neutral shape the engine's tests read (the Graph names). `id` is the event as
    ShiftDesk's Google provider addresses it and records it on the link: "<calendar id>/<event id>", with the
    calendar it was written in (`home`): like Graph's immutable ids, it stays the same when the user moves the
    event to another calendar (Google keeps the event id; `calendarId` says where it is now)."""
    return {
        "id": f"{home or calendar_id}/{event['id']}",
        "calendarId": calendar_id,
        "subject": event.get("summary", ""),
        "location": event.get("location", ""),
        "body": {"content": event.get("description", "")},
        "start": google_instant(event["start"]).isoformat(),
        "end": google_instant(event["end"]).isoformat(),
        "startTimeZone": event["start"].get("timeZone", ""),
        "changeKey": event.get("etag", ""),
        "extendedProperties": event.get("extendedProperties") or {},
        "google": event,
    }


def google_world_spec(staff: int, redirect: str) -> dict:
    """Workspace example.org: alice@ (the admin, owner of the Cloud project) and staff0@..staff{n-1}@ (Chicago
    time), and the project's Web client registered with ShiftDesk's Google Redirect URL."""
    from googleemulator.testing import standard_world

    world = standard_world()
    world["accounts"] = [world["accounts"][0]] + [
        {"email": f"staff{i}@{GOOGLE_DOMAIN}", "password": STAFF_PASSWORD, "name": f"Staff {i}",
         "time_zone": "America/Chicago"}
        for i in range(staff)
    ]  # fmt: skip
    world["projects"][0]["clients"][0]["redirect_uris"] = [redirect]
    world["calendars"] = []
    return world


class GoogleSync(Sync):
    """`Sync` on Google: each staff user has a Google account staff<i>@example.org, authorized through
    ShiftDesk's own Google OAuth flow (start_authorization / complete_authorization, google-auth-oauthlib),
    Google's account chooser, password and consent pages walked over HTTP. Reads the emulator's raw calendars
    through /_emulator/google."""

    provider = "google"

    def __init__(self, emulator, google, admin):
        super().__init__(emulator, None, admin)
        self.google = google
        self.gcontrol = google_control(emulator)

    def add_user(self, index: int, *, connect: bool = True, choose: bool = True):
        user = super().add_user(index, connect=False)
        self.upns[user.pk] = f"staff{index}@{GOOGLE_DOMAIN}"
        if connect:
            self.connect(user, choose=choose)
        return user

    def connect(self, user, *, choose: bool = True):
        from types import SimpleNamespace

        from googleemulator.testing import sign_in as google_sign_in
        from shiftdesk.calendarsync.actions import do_choose_calendars
        from shiftdesk.google.models import GoogleOAuthSettings
        from shiftdesk.google.oauth import complete_authorization, start_authorization

        request = SimpleNamespace(session={}, user=user)  # what the two views use of the request
        url = start_authorization(request, GoogleOAuthSettings.load())
        with self.emulator.http() as browser:
            response = google_sign_in(browser, url, self.upns[user.pk], STAFF_PASSWORD)
        assert response.status_code in (302, 303), response.text[:500]
        query = {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}
        connection = complete_authorization(request, query)
        if choose:
            calendar = self.default_calendar(user)
            do_choose_calendars(connection, sync_calendar_id=calendar["id"], sync_calendar_name=calendar["name"],
                                freebusy_calendar_id=calendar["id"], freebusy_calendar_name=calendar["name"])  # fmt: skip
        return connection

    def mailbox(self, user) -> dict:
        return google_mailbox(self.gcontrol, self.upns[user.pk])

    def faults(self, **config):
        """The same fault shape as the Microsoft emulator's; Google's injector calls the shares `error_rates`."""
        if "status_rates" in config:
            config["error_rates"] = config.pop("status_rates")
        self.gcontrol.put("/faults", json=config).raise_for_status()

    def clear_faults(self) -> None:
        self.gcontrol.delete("/faults").raise_for_status()

    def injected(self) -> int:
        return self.gcontrol.get("/faults").json()["injected"]

    def add_calendar(self, user, name: str) -> dict:
        created = self.gcontrol.post("/calendars", json={"owner": self.upns[user.pk], "summary": name})
        created.raise_for_status()
        return {"id": created.json()["id"], "name": name}

    def _event_path(self, user, event: dict) -> str:
        calendar_id, _, event_id = event["id"].rpartition("/")
        return f"/calendars/{quote(calendar_id, safe='@')}/events/{event_id}"

    def user_deletes(self, user, event: dict) -> None:
        self.gcontrol.delete(self._event_path(user, event)).raise_for_status()

    def user_moves(self, user, event: dict, calendar_id: str) -> None:
        self.gcontrol.post(
            self._event_path(user, event) + "/move", json={"destination": calendar_id}
        ).raise_for_status()

    def user_retimes(self, user, event: dict, hours: float) -> None:
        later = {
            key: {"dateTime": (_utc(event[key]) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "timeZone": "UTC"}
            for key in ("start", "end")
        }  # fmt: skip
        self.gcontrol.patch(self._event_path(user, event), json=later).raise_for_status()

    def user_edits_subject(self, user, event: dict, subject: str) -> None:
        self.gcontrol.patch(self._event_path(user, event), json={"summary": subject}).raise_for_status()

    def events_path(self, calendar_id: str) -> str:
        return f"/google/calendar/v3/calendars/{calendar_id}/events"

    def revoke_grant(self, user) -> None:
        """The user removes ShiftDesk in their Google Account (its refresh tokens revoked), and the access token
        ShiftDesk holds runs out."""
        from shiftdesk.google.oauth import _tokens

        self.gcontrol.post("/revoke", json={"client_id": self.google.client_id, "email": self.upns[user.pk]})
        access = _tokens(self.connection(user)).get("access_token")
        if access:
            self.gcontrol.post("/tokens/expire", json={"access_token": access})

    def requests(self, user=None) -> list[dict]:
        """Single requests and batch items alike are logged per call (googleemulator/calendar/responses.py)."""
        rows = self.gcontrol.get("/requests", params={"limit": 10000}).json()["value"]
        return [r for r in rows if user is None or r["user"] == self.upns[user.pk]]

    def writes_to(self, event: dict) -> list[tuple[str, str]]:
        event_id = event["id"].rpartition("/")[2]
        return [
            (r["method"], r["path"])
            for r in self.requests()
            if r["method"] in ("PATCH", "PUT", "DELETE") and r["path"].rstrip("/").endswith("/" + event_id)
        ]


def google_mailbox(gcontrol, owner: str) -> dict:
    """The calendars `owner` owns and their live events (google_view), read from the emulator's raw state."""
    listed = gcontrol.get("/calendars", params={"owner": owner})
    listed.raise_for_status()
    calendars, live, tombstones = [], [], {}
    for cal in listed.json()["value"]:
        if cal.get("deleted") or cal["owner"] != owner:
            continue
        calendars.append({"id": cal["id"], "name": cal["summary"], "isDefaultCalendar": bool(cal["primary"])})
        raw = gcontrol.get(f"/calendars/{quote(cal['id'], safe='@')}")
        raw.raise_for_status()
        for e in raw.json()["events"]:
            if e.get("_deleted") or e.get("status") == "cancelled":
                tombstones.setdefault(e["id"], []).append((e.get("updated", ""), cal["id"]))
            else:
                live.append((cal["id"], e))
    # An event moved by the user (events.move) left a cancelled copy in each calendar it was moved out of:
    # the earliest of them is the calendar it was written in.
    events = [google_view(cal_id, e, min(tombstones.get(e["id"], [("", cal_id)]))[1]) for cal_id, e in live]
    return {"calendars": calendars, "events": events}


def google_control(emulator):
    """The Google emulator's control API (/_emulator/google) on the session emulator, one client per server."""
    client = getattr(emulator, "gcontrol", None)
    if client is None:
        client = emulator.gcontrol = emulator.http(base_url=emulator.base_url + "/_emulator/google")
    return client


def link_key_of(event: dict) -> str:
    from shiftdesk.google.provider import LINK_PROPERTY
    from shiftdesk.microsoft.provider import LINK_PROPERTY_ID

    if "extendedProperties" in event:  # Google
        return (event["extendedProperties"].get("private") or {}).get(LINK_PROPERTY, "")
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
def google(db, alice, emulator, settings):
    """The Google emulator emptied and seeded (google_world_spec, 60 staff), ShiftDesk's Google URLs and CA
    pointed at it, and saved, enabled Google OAuth 2 settings for the seeded client."""
    from googleemulator.testing import STANDARD_CLIENT_ID
    from googleemulator.testing import STANDARD_SECRET as GOOGLE_SECRET
    from shiftdesk.google.actions import do_save_google_settings
    from shiftdesk.google.models import GoogleOAuthSettings
    from shiftdesk.google.models import redirect_url as google_redirect_url

    control = google_control(emulator)
    control.post("/reset").raise_for_status()
    control.delete("/faults").raise_for_status()
    for name in ("GOOGLE_ACCOUNTS_URL", "GOOGLE_OAUTH_URL", "GOOGLE_API_URL"):
        setattr(settings, name, emulator.base_url + "/google")
    settings.GOOGLE_CA_BUNDLE = emulator.ca_file
    control.post("/seed", json=google_world_spec(60, google_redirect_url())).raise_for_status()
    candidate = GoogleOAuthSettings.load()
    candidate.client_id, candidate.client_secret = STANDARD_CLIENT_ID, GOOGLE_SECRET
    candidate.secret_last4 = GOOGLE_SECRET[-4:]
    candidate.enabled = True
    yield do_save_google_settings(candidate, by=alice, verified=True)
    control.delete("/faults")


@pytest.fixture
def provider() -> str:
    """The provider of the test's `sync` world: Microsoft unless the test parametrises it (PROVIDERS)."""
    return "microsoft"


@pytest.fixture
def sync(provider, request, emulator, alice):
    if provider == "google":
        return GoogleSync(emulator, request.getfixturevalue("google"), alice)
    return Sync(emulator, request.getfixturevalue("azure"), alice)
