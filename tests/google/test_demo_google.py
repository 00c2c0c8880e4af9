"""The demo's Google side: `seed_demo_google --preregister` (run by `dev.py demo --preregister`) gives every
demo staff member a Google account in the emulator, registers a Web application OAuth client whose redirect
URI is ShiftDesk's Redirect URL (http only on localhost, as Google and the emulator's console require), fills
in and enables the Google OAuth 2 box, and a demo user can then authorize with Google; the banner names the
Google emulator's pages and a Google test account."""

from __future__ import annotations

import io
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from googleemulator.testing import sign_in
from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.google.models import GoogleOAuthSettings


@pytest.fixture
def demo(db, gemu, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.PUBLIC_BASE_URL = "http://localhost:8000"  # what dev.py demo sets
    call_command("seed_demo", stdout=io.StringIO())
    return gemu


def test_preregister_fills_in_google_oauth_2_and_a_demo_user_authorizes(demo, client, tmp_path):
    from shiftdesk.accounts.models import User
    from shiftdesk.scheduling.demo import DEMO_STAFF

    call_command("seed_demo_google", emulator=demo.base_url, preregister=True, stdout=io.StringIO())
    conf = GoogleOAuthSettings.load()
    assert conf.is_active and conf.client_id.endswith(".apps.googleusercontent.com")
    clients = {c["client_id"]: c for c in demo.gcontrol.get("/state").json()["clients"]}
    assert clients[conf.client_id]["redirect_uris"] == ["http://localhost:8000/google/oauth2/callback/"]
    logins = json.loads((tmp_path / "demo-logins.json").read_text())

    staff = User.objects.get(email=DEMO_STAFF[0].email)
    client.force_login(staff)
    start = client.get("/account/calendar-sync/google/authorize/")
    assert start.status_code == 302
    with demo.http() as browser:
        answer = sign_in(browser, start["Location"], staff.email, logins["google_password"])
    location = answer.headers["location"]
    assert location.startswith("http://localhost:8000/google/oauth2/callback/")
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert client.get("/google/oauth2/callback/", params).status_code == 302
    connection = CalendarConnection.objects.get(user=staff)
    assert connection.provider == "google" and connection.account_email == staff.email.lower()

    # Run again (a restarted demo): nothing is registered twice, the accounts keep working.
    call_command("seed_demo_google", emulator=demo.base_url, preregister=True, stdout=io.StringIO())
    assert GoogleOAuthSettings.load().client_id == conf.client_id


def test_the_banner_names_the_google_emulator_and_a_google_account(demo, tmp_path, settings):
    import dev

    settings.MICROSOFT_CA_BUNDLE = demo.ca_file  # the same emulator process serves both clouds
    call_command("seed_demo_emulator", emulator=demo.base_url, stdout=io.StringIO())
    call_command("seed_demo_google", emulator=demo.base_url, stdout=io.StringIO())
    logins = json.loads((tmp_path / "demo-logins.json").read_text())
    banner = dev.DEMO_BANNER.format(
        web="http://localhost:8000", emulator="https://localhost:8443", ca="ca.pem", **logins
    )
    assert "https://localhost:8443/google/console/" in banner
    assert "https://localhost:8443/google/calendar/view/" in banner
    assert f"{logins['staff_email']} / {logins['google_password']}" in banner
    assert not GoogleOAuthSettings.load().is_configured  # without --preregister the admin does it


def test_an_http_redirect_url_not_on_localhost_is_refused_before_google_would(demo, settings):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    with pytest.raises(CommandError, match="only on localhost"):
        call_command("seed_demo_google", emulator=demo.base_url, preregister=True, stdout=io.StringIO())
