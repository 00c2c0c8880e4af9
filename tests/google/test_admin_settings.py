"""Admin > Integrations > Google OAuth 2: the box, Save Settings with Google's live check in words, the secret
write-only and encrypted at rest, and who may do it. Against googleemulator over HTTPS."""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.test import Client

from shiftdesk.google.models import GoogleOAuthSettings
from tests.google.conftest import CLIENT_ID, REDIRECT_URL, SECRET, world_spec

PAGE = "/admin/integrations/"
SAVE = "/admin/integrations/google/"


def save(client, client_id=CLIENT_ID, secret=SECRET, enabled="enabled"):
    return client.post(SAVE, {"client_id": client_id, "client_secret": secret, "enabled": enabled})


def test_it_shows_the_box_with_the_redirect_url_and_a_copy_button(alice_client, gemu):
    html = alice_client.get(PAGE).content.decode()
    assert "Google OAuth 2" in html
    assert f'id="google-redirect-url" value="{REDIRECT_URL}" readonly' in html
    assert 'data-copy="#google-redirect-url"' in html
    for label in ("Client ID", "Client Secret", "Enable Calendar Sync with Google OAuth 2", "Save Settings"):
        assert label in html


def test_save_settings_checks_with_google_then_saves_the_secret_encrypted_and_never_shows_it(
    alice_client, gworld
):
    response = save(alice_client)
    assert response.status_code == 302 and response["Location"] == PAGE
    html = alice_client.get(PAGE).content.decode()
    assert "Google accepted the Client ID, the Client Secret and the Redirect URL" in html
    assert "Calendar Sync with Google OAuth 2 is Enabled" in html
    assert SECRET not in html and f"ending in <code>{SECRET[-4:]}</code>" in html
    saved = GoogleOAuthSettings.load()
    assert (saved.client_id, saved.client_secret, saved.enabled) == (CLIENT_ID, SECRET, True)
    assert saved.is_active and saved.verified_at is not None
    with db.cursor() as cursor:
        cursor.execute("SELECT client_secret FROM google_googleoauthsettings")
        (raw,) = cursor.fetchone()
    assert SECRET not in raw and raw.startswith("gAAAA")  # Fernet token at rest
    assert SECRET not in repr(saved)


def test_an_unknown_client_id_is_said_in_words_and_nothing_is_saved(alice_client, gworld):
    response = save(alice_client, client_id="999999999999-nosuchclient.apps.googleusercontent.com")
    assert response.status_code == 400
    assert "Google does not know this Client ID" in response.content.decode()
    assert not GoogleOAuthSettings.objects.exists()


def test_a_wrong_secret_is_said_in_words(alice_client, gworld):
    response = save(alice_client, secret="GOCSPX-wrong-secret")
    assert response.status_code == 400
    assert "Google refused the Client Secret for this Client ID" in response.content.decode()
    assert not GoogleOAuthSettings.objects.exists()


def test_an_unregistered_redirect_url_is_said_in_words(alice_client, gemu):
    gemu.gcontrol.post("/seed", json=world_spec(redirect="https://elsewhere.example/cb")).raise_for_status()
    response = save(alice_client)
    html = response.content.decode()
    assert response.status_code == 400
    assert f"The Redirect URL {REDIRECT_URL} is not registered for this OAuth client" in html
    assert not GoogleOAuthSettings.objects.exists()


def test_google_unreachable_saves_nothing_and_says_so(alice_client, gworld, settings):
    settings.GOOGLE_OAUTH_URL = "https://127.0.0.1:9"  # nothing listens there
    response = save(alice_client)
    assert response.status_code == 200
    assert "Google could not be reached" in response.content.decode()
    assert not GoogleOAuthSettings.objects.exists()


def test_switching_to_disabled_alone_does_not_ask_google(alice_client, google_settings, settings):
    settings.GOOGLE_OAUTH_URL = "https://127.0.0.1:9"  # an outage must not stop an admin turning sync off
    response = save(alice_client, secret="", enabled="disabled")
    assert response.status_code == 302
    saved = GoogleOAuthSettings.load()
    assert not saved.enabled and saved.client_secret == SECRET  # an empty secret field keeps the stored one


@pytest.mark.parametrize(
    ("client_id", "secret", "words"),
    [
        ("not-a-client-id", SECRET, "Enter the Client ID exactly as Google Cloud shows it"),
        (CLIENT_ID, "", "Enter the Client Secret."),
        (CLIENT_ID, "GOCSPX with space", "contains spaces"),
        (CLIENT_ID, CLIENT_ID, "This is the Client ID"),
    ],
)
def test_malformed_input_is_refused_before_any_call(alice_client, gemu, settings, client_id, secret, words):
    # Google "unreachable": had the form called it, the answer would be 200 "could not be reached", not 400.
    settings.GOOGLE_OAUTH_URL = settings.GOOGLE_ACCOUNTS_URL = "https://127.0.0.1:9"
    response = save(alice_client, client_id=client_id, secret=secret)
    assert response.status_code == 400 and words in response.content.decode()
    assert "could not be reached" not in response.content.decode()
    assert not GoogleOAuthSettings.objects.exists()


# --- who may do what -----------------------------------------------------------------------------------------
ADMIN_PAGES = [("get", PAGE), ("post", SAVE)]
USER_PAGES = [
    ("get", "/account/calendar-sync/google/authorize/"),
    ("post", "/account/calendar-sync/google/calendars/"),
    ("post", "/account/calendar-sync/google/remove/"),
    ("get", "/google/oauth2/callback/"),
]


def as_user(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize(("method", "url"), ADMIN_PAGES + USER_PAGES)
def test_anonymous_goes_to_the_login_page(db, method, url):
    response = getattr(Client(), method)(url)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize(("method", "url"), ADMIN_PAGES)
def test_regular_users_get_403(bob, method, url):
    assert getattr(as_user(bob), method)(url).status_code == 403


def test_a_regular_user_cannot_change_the_settings(bob, google_settings):
    as_user(bob).post(SAVE, {"client_id": CLIENT_ID, "client_secret": "x", "enabled": "disabled"})
    saved = GoogleOAuthSettings.load()
    assert saved.enabled and saved.client_secret == SECRET


@pytest.mark.parametrize(("method", "url"), ADMIN_PAGES)
def test_system_admins_reach_the_box(alice, gemu, method, url):
    assert getattr(as_user(alice), method)(url).status_code in (200, 400)


@pytest.mark.parametrize(("method", "url"), USER_PAGES)
def test_users_reach_only_their_own_google_pages(bob, gemu, method, url):
    # No connection and nothing set up: each answers by sending them back to Calendar Sync with a message.
    response = getattr(as_user(bob), method)(url)
    assert response.status_code == 302 and response["Location"] == "/account/calendar-sync/"


def test_the_integrations_page_keeps_every_id_unique_beside_the_azure_box(alice_client, gemu):
    import collections
    import re

    ids = re.findall(r'\sid="([^"]+)"', alice_client.get(PAGE).content.decode())
    assert [i for i, n in collections.Counter(ids).items() if n > 1] == []
