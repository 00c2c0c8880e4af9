"""google-auth-oauthlib's Flow and google-auth's Credentials, unmodified, against the emulator's OAuth 2.0
endpoints: authorization URL → sign-in and consent over HTTP → fetch_token → refresh; and Google's errors."""

from __future__ import annotations

import jwt
import pytest
from google.auth.exceptions import RefreshError
from google.oauth2 import id_token
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError

from googleemulator.testing import CALENDAR_SCOPES, STANDARD_CLIENT_ID, STANDARD_REDIRECT, sign_in
from tests.google_emulator.clients import auth_request, calendar_service, make_flow

SCOPES = ["openid", "https://www.googleapis.com/auth/userinfo.email", *CALENDAR_SCOPES]


def authorize(google, flow, email="alice@example.org", password="Alice-pw1", **kwargs):
    url, state = flow.authorization_url(access_type="offline", prompt="consent", **kwargs)
    with google.http() as http:
        response = sign_in(http, url, email, password)
    assert response.status_code == 302, response.text[:2000]
    return response.headers["location"], state


def test_it_runs_the_authorization_code_flow_with_pkce_and_refreshes(google, gworld):
    flow = make_flow(google, SCOPES)
    location, state = authorize(google, flow)
    assert location.startswith(STANDARD_REDIRECT) and f"state={state}" in location
    flow.fetch_token(authorization_response=location)
    creds = flow.credentials
    assert creds.token.startswith("ya29.") and creds.refresh_token.startswith("1//")
    assert set(creds.granted_scopes) == set(SCOPES)
    # The id_token is RS256, signed by a key of the emulator's JWKS, for this client and account.
    jwks = google.http().get(google.gbase + "/oauth2/v3/certs").json()
    key = jwt.PyJWK(jwks["keys"][0]).key
    claims = jwt.decode(creds.id_token, key, algorithms=["RS256"], audience=STANDARD_CLIENT_ID)
    assert (
        claims["email"] == "alice@example.org"
        and claims["iss"] == google.gbase
        and claims["hd"] == "example.org"
    )
    # google-auth's own verifier agrees (the emulator's JWKS as certs_url).
    verified = id_token.verify_token(
        creds.id_token,
        auth_request(google),
        audience=STANDARD_CLIENT_ID,
        certs_url=google.gbase + "/oauth2/v3/certs",
    )
    assert verified["sub"] == claims["sub"] and verified["email_verified"] is True
    old = creds.token
    creds.refresh(auth_request(google))
    assert creds.token != old and creds.valid
    # The refreshed token works on the Calendar API.
    service = calendar_service(google, creds)
    ids = [c["id"] for c in service.calendarList().list().execute()["items"]]
    assert ids[0] == "alice@example.org" and "rota@group.calendar.google.com" in ids


def test_it_sends_no_refresh_token_when_consent_was_not_shown_again(google, gworld):
    authorize(google, make_flow(google, SCOPES))  # first consent
    flow = make_flow(google, SCOPES)
    url, _ = flow.authorization_url(access_type="offline")  # no prompt=consent
    with google.http() as http:
        sign_in(http, url, "alice@example.org", "Alice-pw1")  # signs in; the grant exists
        response = sign_in(http, url, "alice@example.org", "Alice-pw1")  # chooser, no consent page
    assert "prompt=none" in response.headers["location"]
    flow.fetch_token(authorization_response=response.headers["location"])
    assert flow.credentials.refresh_token is None


def test_it_rejects_a_reused_code_and_a_wrong_verifier(google, gworld):
    flow = make_flow(google, SCOPES)
    location, _ = authorize(google, flow)
    flow.fetch_token(authorization_response=location)
    with pytest.raises(InvalidGrantError):
        flow.fetch_token(authorization_response=location)
    flow2 = make_flow(google, SCOPES)
    location2, _ = authorize(google, flow2)
    flow2.code_verifier = "x" * 50
    with pytest.raises(InvalidGrantError, match="Invalid code verifier"):
        flow2.fetch_token(authorization_response=location2)


def test_it_answers_invalid_client_and_redirect_uri_mismatch_json(google, gworld):
    code_flow = make_flow(google, SCOPES)
    location, _ = authorize(google, code_flow)
    code = location.split("code=")[1].split("&")[0]
    with google.http() as http:
        wrong = http.post(
            google.gbase + "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": STANDARD_CLIENT_ID,
                "client_secret": "nope",
                "redirect_uri": STANDARD_REDIRECT,
            },
        )
        assert wrong.status_code == 401 and wrong.json() == {
            "error": "invalid_client",
            "error_description": "Unauthorized",
        }
        unknown = http.post(
            google.gbase + "/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": "x",
                "client_id": "nobody.apps.googleusercontent.com",
                "client_secret": "s",
            },
        )
        assert (
            unknown.status_code == 401
            and unknown.json()["error_description"] == "The OAuth client was not found."
        )
    with google.http() as http:
        from urllib.parse import unquote

        mismatch = http.post(
            google.gbase + "/token",
            data={
                "grant_type": "authorization_code",
                "code": unquote(code),
                "client_id": STANDARD_CLIENT_ID,
                "client_secret": code_flow.client_config["client_secret"],
                "redirect_uri": "https://elsewhere.example/cb",
            },
        )
    assert mismatch.status_code == 400 and mismatch.json()["error"] == "redirect_uri_mismatch"


def test_it_shows_the_redirect_uri_mismatch_and_invalid_client_pages(google, gworld):
    flow = make_flow(google, SCOPES)
    flow.redirect_uri = "https://evil.example/cb"
    url, _ = flow.authorization_url()
    page = google.http().get(url)
    assert page.status_code == 400 and "Error 400: redirect_uri_mismatch" in page.text
    assert "redirect_uri=https://evil.example/cb" in page.text and "evil.example/cb?" not in page.headers.get(
        "location", ""
    )
    other = make_flow(google, SCOPES, client_id="999-nobody.apps.googleusercontent.com")
    url, _ = other.authorization_url()
    page = google.http().get(url)
    assert page.status_code == 401 and "Error 401: invalid_client" in page.text


def test_cancel_on_consent_returns_access_denied_with_state(google, gworld):
    flow = make_flow(google, SCOPES)
    url, state = flow.authorization_url(access_type="offline", prompt="consent")
    with google.http() as http:
        response = sign_in(http, url, "bob@example.org", "Bob-pw1", consent="cancel")
    assert response.status_code == 302
    assert (
        "error=access_denied" in response.headers["location"]
        and f"state={state}" in response.headers["location"]
    )


def test_unticked_scopes_are_not_granted(google, gworld):
    flow = make_flow(google, SCOPES)
    url, _ = flow.authorization_url(access_type="offline", prompt="consent")
    with google.http() as http:
        response = sign_in(http, url, "bob@example.org", "Bob-pw1", grant=[CALENDAR_SCOPES[0]])
    location = response.headers["location"]
    assert "calendar.freebusy" not in location and "calendar.events" in location


def test_testing_apps_admit_only_test_users_and_their_refresh_tokens_expire_after_7_days(google, gworld):
    google.gcontrol.patch(
        "/projects/shiftdesk-demo",
        json={"consent_screen": {"publishing_status": "testing", "test_users": ["alice@example.org"]}},
    ).raise_for_status()
    flow = make_flow(google, SCOPES)
    url, _ = flow.authorization_url(access_type="offline", prompt="consent")
    with google.http() as http:
        blocked = sign_in(http, url, "bob@example.org", "Bob-pw1")
    assert blocked.status_code == 403 and "Error 403: access_denied" in blocked.text
    assert "has not completed the Google verification process" in blocked.text
    location, _ = authorize(google, flow)
    flow.fetch_token(authorization_response=location)
    creds = flow.credentials
    google.gcontrol.put("/clock", json={"advance_seconds": 6 * 86400}).raise_for_status()
    creds.refresh(auth_request(google))  # six days on: still fine
    google.gcontrol.put("/clock", json={"advance_seconds": 1 * 86400 + 60}).raise_for_status()
    with pytest.raises(RefreshError, match="invalid_grant.*Token has been expired or revoked"):
        creds.refresh(auth_request(google))


def test_internal_apps_admit_only_their_workspace(google, gworld):
    google.gcontrol.patch(
        "/projects/shiftdesk-demo", json={"consent_screen": {"user_type": "internal"}}
    ).raise_for_status()
    flow = make_flow(google, SCOPES)
    url, _ = flow.authorization_url(access_type="offline")
    with google.http() as http:
        blocked = sign_in(http, url, "carol@gmail.com", "Carol-pw1")
    assert blocked.status_code == 403 and "Error 403: org_internal" in blocked.text
    authorize(google, make_flow(google, SCOPES))  # alice@example.org is in the organisation


def test_revoke_ends_the_refresh_token(google, gworld):
    flow = make_flow(google, SCOPES)
    location, _ = authorize(google, flow)
    flow.fetch_token(authorization_response=location)
    creds = flow.credentials
    with google.http() as http:
        assert http.post(google.gbase + "/revoke", data={"token": creds.refresh_token}).status_code == 200
        again = http.post(google.gbase + "/revoke", data={"token": creds.refresh_token})
    assert again.status_code == 400 and again.json()["error"] == "invalid_token"
    with pytest.raises(RefreshError, match="invalid_grant"):
        creds.refresh(auth_request(google))


def test_discovery_and_userinfo(google, gworld):
    flow = make_flow(google, SCOPES)
    location, _ = authorize(google, flow)
    flow.fetch_token(authorization_response=location)
    with google.http() as http:
        config = http.get(google.gbase + "/.well-known/openid-configuration").json()
        assert config["code_challenge_methods_supported"] == ["plain", "S256"]
        info = http.get(
            config["userinfo_endpoint"], headers={"Authorization": f"Bearer {flow.credentials.token}"}
        ).json()
        assert info["email"] == "alice@example.org" and info["email_verified"] is True
        assert (
            http.get(config["userinfo_endpoint"], headers={"Authorization": "Bearer nope"}).status_code == 401
        )
