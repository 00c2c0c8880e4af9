"""Google's unmodified Python clients pointed at the emulator: google-auth-oauthlib's Flow, google-auth
Credentials, google-api-python-client's Calendar service over an httplib2 transport that trusts the
emulator's CA (nothing disables certificate checks)."""

from __future__ import annotations

import google.auth.transport.requests
import google_auth_httplib2
import httplib2
import requests
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow
from googleapiclient.discovery import build

from googleemulator.testing import STANDARD_CLIENT_ID, STANDARD_REDIRECT, STANDARD_SECRET


def requests_session(emu) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE silently replaces verify
    session.verify = emu.ca_file
    return session


def make_flow(emu, scopes: list[str], client_id=STANDARD_CLIENT_ID, secret=STANDARD_SECRET) -> Flow:
    config = {
        "web": {
            "client_id": client_id,
            "client_secret": secret,
            "auth_uri": emu.gbase + "/o/oauth2/v2/auth",
            "token_uri": emu.gbase + "/token",
            "redirect_uris": [STANDARD_REDIRECT],
        }
    }
    flow = Flow.from_client_config(
        config, scopes=scopes, redirect_uri=STANDARD_REDIRECT, autogenerate_code_verifier=True
    )
    flow.oauth2session.trust_env = False
    flow.oauth2session.verify = emu.ca_file
    return flow


def auth_request(emu) -> google.auth.transport.requests.Request:
    return google.auth.transport.requests.Request(requests_session(emu))


def calendar_service(emu, creds: Credentials, *, static: bool = False):
    """`static=False`: the discovery document served by the emulator (its rootUrl is the emulator, so batches
    go there too). `static=True`: the library's bundled document with client_options api_endpoint."""
    http = google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(ca_certs=emu.ca_file))
    if static:
        return build("calendar", "v3", http=http, static_discovery=True,
                     client_options={"api_endpoint": emu.gbase + "/calendar/v3/"})  # fmt: skip
    return build(
        "calendar",
        "v3",
        http=http,
        static_discovery=False,
        discoveryServiceUrl=emu.gbase + "/discovery/v1/apis/{api}/{apiVersion}/rest",
    )


def token_credentials(emu, email: str, scopes: list[str]) -> Credentials:
    """Credentials from the control API (no browser): access + refresh token for the standard client."""
    body = emu.gcontrol.post(
        "/tokens", json={"client_id": STANDARD_CLIENT_ID, "email": email, "scopes": scopes}
    ).json()
    return Credentials(
        body["access_token"], refresh_token=body["refresh_token"], token_uri=emu.gbase + "/token",
        client_id=STANDARD_CLIENT_ID, client_secret=STANDARD_SECRET, scopes=scopes,
    )  # fmt: skip
