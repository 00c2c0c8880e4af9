"""Fixtures for the Outlook (Azure AD OAuth 2) tests: the real HTTPS emulator, ShiftDesk pointed at it, a
seeded world whose app registration carries ShiftDesk's Redirect URL, and saved Azure AD settings."""

from __future__ import annotations

import pytest

from m365emulator.testing import STANDARD_SECRET, redirect_params, sign_in, standard_world

REDIRECT_URL = "http://127.0.0.1:8000/microsoft/oauth2/callback/"
SECRET = STANDARD_SECRET
MEGAN = ("megan@contoso.onmicrosoft.com", "Megan-pw1")
PAT = ("pat@outlook.com", "Pat-pw1")


# The session emulator is tests/conftest.py's `emulator_server` fixture (one per test process). This name is
# kept, as a plain value, for modules that import it from here: a fixture imported into another module would
# be a second session fixture (a second emulator).
emulator_server = None


@pytest.fixture
def emulator(emulator_server, settings):
    """The emulator, emptied, with ShiftDesk's login/Graph URLs and CA bundle pointed at it."""
    emulator_server.reset()
    emulator_server.point_microsoft(settings)
    return emulator_server


def world_spec(audience: str = "AzureADandPersonalMicrosoftAccount", redirect: str = REDIRECT_URL) -> dict:
    world = standard_world()
    world["apps"][0]["redirect_uris"] = [redirect]
    world["apps"][0]["sign_in_audience"] = audience
    return world


@pytest.fixture
def world(emulator):
    """Contoso (Adele admin, Megan), Fabrikam, personal Pat, and the ShiftDesk app (multi-tenant + personal)."""
    return emulator.seed(world_spec())


@pytest.fixture
def app_id(world) -> str:
    return world["apps"][0]["client_id"]


@pytest.fixture
def azure(db, alice, app_id):
    """Saved, enabled settings for the seeded app (as an admin would leave them after Save Settings)."""
    from shiftdesk.microsoft.actions import do_save_azure_ad_settings
    from shiftdesk.microsoft.identity import AccountType
    from shiftdesk.microsoft.models import AzureADSettings

    candidate = AzureADSettings.load()
    candidate.application_id = app_id
    candidate.client_secret = SECRET
    candidate.secret_last4 = SECRET[-4:]
    candidate.account_type = AccountType.MULTI_AND_PERSONAL
    candidate.enabled = True
    return do_save_azure_ad_settings(candidate, by=alice, verified=True)


def authorize(client, emulator, login: str, password: str, consent: str | None = "accept"):
    """Press Authorize with Microsoft Account, walk the emulator's pages, follow the redirect back.
    Returns (ShiftDesk's callback response, the redirect parameters Microsoft sent)."""
    start = client.get("/account/calendar-sync/microsoft/authorize/")
    assert start.status_code == 302, start
    with emulator.http() as browser:
        response = sign_in(browser, start["Location"], login, password, consent)
    params = redirect_params(response)
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URL), location
    return client.get("/microsoft/oauth2/callback/", params), params


@pytest.fixture
def connected_bob(bob_client, emulator, azure):
    """Bob's ShiftDesk account authorized with Megan's Microsoft account."""
    response, _ = authorize(bob_client, emulator, *MEGAN)
    assert response.status_code == 302
    from shiftdesk.calendarsync.models import CalendarConnection

    return CalendarConnection.objects.get(user__email="bob@example.org")
