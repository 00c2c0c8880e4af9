"""Fixtures for the Google OAuth 2 tests: the real HTTPS emulator (googleemulator, served under /google by the
session's m365emulator server, tests/conftest.py's `emulator_server`), ShiftDesk's GOOGLE_* settings pointed at
it, a standard Google world whose OAuth client carries ShiftDesk's Redirect URL, and saved Google OAuth 2
settings."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from googleemulator.testing import STANDARD_CLIENT_ID, STANDARD_SECRET, sign_in, standard_world

REDIRECT_URL = "http://127.0.0.1:8000/google/oauth2/callback/"
CLIENT_ID = STANDARD_CLIENT_ID
SECRET = STANDARD_SECRET
ALICE_G = ("alice@example.org", "Alice-pw1")
BOB_G = ("bob@example.org", "Bob-pw1")
CAROL_G = ("carol@gmail.com", "Carol-pw1")


@pytest.fixture
def google_emulator_server(emulator_server):
    """The session emulator of tests/conftest.py (one server plays both clouds; `gcontrol`, `gbase` are its
    Google side). A plain alias, not a session fixture: modules import it by name, and each import of a
    fixture that started a server would start another."""
    return emulator_server


@pytest.fixture
def gemu(google_emulator_server, settings):
    """The emulator with an empty Google world, and ShiftDesk's Google URLs and CA bundle pointed at it."""
    server = google_emulator_server
    server.gcontrol.post("/reset").raise_for_status()
    server.gcontrol.delete("/faults").raise_for_status()
    settings.GOOGLE_ACCOUNTS_URL = server.gbase
    settings.GOOGLE_OAUTH_URL = server.gbase
    settings.GOOGLE_API_URL = server.gbase
    settings.GOOGLE_CA_BUNDLE = server.ca_file
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    return server


def world_spec(redirect: str = REDIRECT_URL, **consent) -> dict:
    world = standard_world()
    world["projects"][0]["clients"][0]["redirect_uris"] = [redirect]
    world["projects"][0]["consent_screen"].update(consent)
    return world


@pytest.fixture
def gworld(gemu):
    """Workspace example.org (alice@, bob@ with a "Rota" calendar shared with alice as writer), carol@gmail.com,
    and the project's Web client registered with ShiftDesk's Redirect URL."""
    response = gemu.gcontrol.post("/seed", json=world_spec())
    response.raise_for_status()
    return response.json()


@pytest.fixture
def google_settings(db, alice, gworld):
    """Saved, enabled settings for the seeded client (as an admin leaves them after Save Settings)."""
    from shiftdesk.google.actions import do_save_google_settings
    from shiftdesk.google.models import GoogleOAuthSettings

    candidate = GoogleOAuthSettings.load()
    candidate.client_id, candidate.client_secret, candidate.secret_last4 = CLIENT_ID, SECRET, SECRET[-4:]
    candidate.enabled = True
    return do_save_google_settings(candidate, by=alice, verified=True)


def authorize(client, gemu, email: str, password: str, consent: str = "allow", grant=None):
    """Press Authorize with Google Account, walk the emulator's Google pages over HTTP as a person would,
    follow the redirect back. Returns (ShiftDesk's callback response, Google's redirect query)."""
    start = client.get("/account/calendar-sync/google/authorize/")
    assert start.status_code == 302, start
    with gemu.http() as browser:
        response = sign_in(browser, start["Location"], email, password, consent=consent, grant=grant)
    assert response.status_code in (302, 303), response.text[:500]
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URL), location
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    return client.get("/google/oauth2/callback/", params), params


@pytest.fixture
def connected_bob(bob_client, gemu, google_settings):
    """Bob's ShiftDesk account authorized with bob@example.org's Google account."""
    response, _ = authorize(bob_client, gemu, *BOB_G)
    assert response.status_code == 302
    from shiftdesk.calendarsync.models import CalendarConnection

    return CalendarConnection.objects.get(user__email="bob@example.org")
