"""Google OAuth 2 through google-auth-oauthlib / google-auth: the admin's live check, a user's authorization
(authorization code flow with PKCE, access_type=offline), access tokens for the engine, and revocation.

Google's facts (endpoints under the three GOOGLE_*_URL settings, scopes, error meanings) live here. Every
request goes through shiftdesk.lib.http's Google session (GOOGLE_CA_BUNDLE, trust_env off, timeouts).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

import google.auth.exceptions
import google.auth.transport.requests
import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from google.oauth2 import id_token as google_id_token
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow  # type: ignore[import-untyped]
from oauthlib.oauth2.rfc6749.errors import OAuth2Error  # type: ignore[import-untyped]

from shiftdesk.calendarsync import actions as sync_actions
from shiftdesk.calendarsync.models import CalendarConnection, RetiringConnection
from shiftdesk.google.errors import (
    GoogleError,
    GoogleUnavailable,
    IntegrationDisabled,
    ReauthorizationRequired,
)
from shiftdesk.google.models import GoogleOAuthSettings, redirect_url
from shiftdesk.lib.http import configure_google_session, google_http_session

log = logging.getLogger(__name__)

# The connection's `provider`. calendarsync's Provider choices do not list it yet (see the report of issue 15):
# the column is a plain CharField, so the value is stored as is.
PROVIDER = "google"

# Only what ShiftDesk needs: write events, read the calendar list, read free/busy. `openid` and the email
# scope (non-sensitive) give the id_token naming the Google account (shown in the box; `sub` tells the same
# account from another on reauthorization). Spelled as Google answers them, so the granted scope compares equal.
CALENDAR_SCOPES = [
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
    "https://www.googleapis.com/auth/calendar.freebusy",
]
IDENTITY_SCOPES = ["openid", "https://www.googleapis.com/auth/userinfo.email"]
SCOPES = IDENTITY_SCOPES + CALENDAR_SCOPES


def auth_uri() -> str:
    return settings.GOOGLE_ACCOUNTS_URL + "/o/oauth2/v2/auth"


def token_uri() -> str:
    return settings.GOOGLE_OAUTH_URL + "/token"


def revoke_uri() -> str:
    return settings.GOOGLE_OAUTH_URL + "/revoke"


def certs_uri() -> str:
    return settings.GOOGLE_API_URL + "/oauth2/v3/certs"


UNREACHABLE_MESSAGE = "Google could not be reached. Try again in a few minutes."
STATE_MESSAGE = (
    "This authorization was not started from this browser session (or it was already used). "
    "Press Authorize with Google Account again."
)
DISABLED_MEANWHILE_MESSAGE = (
    "Google OAuth 2 was disabled or changed by an admin while you were signing in. Nothing was connected."
)
# invalid_grant on refresh: revoked by the user, password change, unused 6 months, or an External app in
# Testing (Google ends its refresh tokens after 7 days). Said to the user and, through Integration Status, the admin.
REAUTH_REASON = (
    "Google no longer accepts ShiftDesk's authorization for this account (it was revoked or it expired; Google "
    "ends them after 7 days while the app's OAuth consent screen is External with Publishing status Testing). "
    "Press Authorize with Google Account again."
)


# --- Admin > Integrations: the live check --------------------------------------------------------------------
def check_settings(client_id: str, client_secret: str) -> None:
    """Ask Google, without a user, whether the Client ID exists, the Client Secret is its secret, and the
    Redirect URL is registered for it. Raises GoogleError with a sentence for the admin, or GoogleUnavailable.

    The token endpoint with a dummy code tells the client apart: 401 invalid_client "The OAuth client was not
    found." (unknown Client ID) or "Unauthorized" (wrong secret); a known client with its secret gets 400
    invalid_grant (the dummy code). The authorization endpoint shows its "Error 400: redirect_uri_mismatch"
    page for an unregistered Redirect URL, and its sign-in page otherwise (googleemulator README)."""
    session = google_http_session()
    try:
        answer = session.post(
            token_uri(),
            data={
                "grant_type": "authorization_code",
                "code": "shiftdesk-settings-check",
                "client_id": client_id,
                "client_secret": client_secret,
                "redirect_uri": redirect_url(),
            },
        )
    except requests.RequestException as exc:
        log.warning("Google token endpoint unreachable during the settings check: %s", type(exc).__name__)
        raise GoogleUnavailable(UNREACHABLE_MESSAGE) from None
    body = _json(answer)
    error, description = str(body.get("error", "")), str(body.get("error_description", ""))
    if answer.status_code >= 500 or answer.status_code == 429:
        raise GoogleUnavailable(UNREACHABLE_MESSAGE)
    if error in ("invalid_client", "unauthorized_client", "deleted_client"):
        log.info("Google settings check refused the client: %s %s", error, description)
        if "not found" in description.lower() or error == "deleted_client":
            raise GoogleError(
                "Google does not know this Client ID (the OAuth client was not found, or it was deleted). Copy the "
                "Client ID again from Google Cloud's Credentials page.",
                code=error,
            )
        raise GoogleError(
            "Google refused the Client Secret for this Client ID: copy the Client Secret of this OAuth client again "
            "from Google Cloud's Credentials page (or add a new secret there).",
            code=error,
        )
    if error != "invalid_grant" and error != "redirect_uri_mismatch":
        raise GoogleError(f"Google did not accept the settings ({error or answer.status_code}).", code=error)
    try:
        page = session.get(
            auth_uri(),
            params={
                "client_id": client_id,
                "redirect_uri": redirect_url(),
                "response_type": "code",
                "scope": "openid",
            },
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        log.warning(
            "Google authorization endpoint unreachable during the settings check: %s", type(exc).__name__
        )
        raise GoogleUnavailable(UNREACHABLE_MESSAGE) from None
    if page.status_code >= 500:
        raise GoogleUnavailable(UNREACHABLE_MESSAGE)
    if error == "redirect_uri_mismatch" or (page.status_code == 400 and "redirect_uri_mismatch" in page.text):
        raise GoogleError(
            f"The Redirect URL {redirect_url()} is not registered for this OAuth client: add it exactly as shown "
            "under Authorized redirect URIs in Google Cloud's Credentials page, save there, and try again (Google "
            "may take a few minutes to apply it).",
            code="redirect_uri_mismatch",
        )
    if page.status_code >= 400:
        raise GoogleError(f"Google refused the sign-in page for this client ({page.status_code}).")


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


# --- Manage Account > Calendar Sync: authorize ------------------------------------------------------------
SESSION_FLOW_KEY = "google_auth_flow"


@dataclass
class AuthorizationFailed(Exception):
    """The callback could not connect the account; `message` is for the user."""

    message: str


def _flow(conf: GoogleOAuthSettings, **kwargs: Any) -> Flow:
    config = {
        "web": {
            "client_id": conf.client_id,
            "client_secret": conf.client_secret,
            "auth_uri": auth_uri(),
            "token_uri": token_uri(),
            "redirect_uris": [redirect_url()],
        }
    }
    flow = Flow.from_client_config(config, scopes=SCOPES, redirect_uri=redirect_url(), **kwargs)
    configure_google_session(flow.oauth2session)
    return flow


def start_authorization(request: Any, conf: GoogleOAuthSettings) -> str:
    """Begin the code flow (PKCE S256 verifier made by the library, a fresh state) bound to this user's session;
    returns Google's authorization URL. prompt=consent: Google sends a refresh token only when the consent page
    was shown, and a reauthorization must get a new one."""
    flow = _flow(conf, autogenerate_code_verifier=True)
    url, state = flow.authorization_url(
        access_type="offline",
        prompt="consent",
        state=secrets.token_urlsafe(32),
        include_granted_scopes="false",
    )
    request.session[SESSION_FLOW_KEY] = {
        "state": state,
        "code_verifier": flow.code_verifier,
        "user_id": request.user.pk,
        "client_id": conf.client_id,
    }
    return url


def pending_state(request: Any) -> str:
    """The state of the flow this session started, '' when none is pending. Read-only: the callback compares it
    (calendarsync.oauth_views.state_matches) before anything touches the pending flow."""
    pending = request.session.get(SESSION_FLOW_KEY) or {}
    return str(pending.get("state") or "")


def complete_authorization(request: Any, query: dict[str, str]) -> CalendarConnection:
    """Finish the flow from the callback's query and connect the user's calendar. The caller has checked the
    state. Raises AuthorizationFailed with a sentence for the user for every outcome but success."""
    stored = request.session.pop(SESSION_FLOW_KEY, None)
    if not stored or stored.get("user_id") != request.user.pk:
        raise AuthorizationFailed(STATE_MESSAGE)
    if query.get("error"):
        if query["error"] == "access_denied":
            raise AuthorizationFailed(
                "You cancelled on Google's page (or Google refused access), so nothing was connected. Press "
                "Authorize with Google Account to try again."
            )
        raise AuthorizationFailed(f"Google did not authorize ShiftDesk ({query['error']}).")
    conf = GoogleOAuthSettings.load()
    if not conf.is_active or conf.client_id != stored.get("client_id"):
        raise AuthorizationFailed(DISABLED_MEANWHILE_MESSAGE)
    flow = _flow(conf, state=stored["state"], code_verifier=stored["code_verifier"])
    try:
        token = dict(flow.fetch_token(code=query.get("code", ""), timeout=settings.HTTP_TIMEOUT_SECONDS))
    except Warning as changed:
        # oauthlib raises Warning("Scope has changed ...") when Google granted fewer scopes than asked (the
        # user unticked a box on the consent page): the token came back; what was granted is checked below.
        token = dict(getattr(changed, "token", None) or {})
    except OAuth2Error as exc:
        log.info("Google refused the authorization code: %s", exc.error)
        if exc.error in ("invalid_client", "unauthorized_client"):
            raise AuthorizationFailed(
                "Google refused ShiftDesk's Client ID or Client Secret. Please tell your ShiftDesk admin "
                "(Admin > Integrations > Google OAuth 2)."
            ) from None
        raise AuthorizationFailed(
            "Google did not accept this sign-in (the code expired or was already used). Press Authorize with "
            "Google Account again."
        ) from None
    except requests.RequestException:
        raise AuthorizationFailed(UNREACHABLE_MESSAGE) from None
    granted = token.get("scope") or []
    granted = granted.split() if isinstance(granted, str) else list(granted)
    missing = [s for s in CALENDAR_SCOPES if s not in granted]
    if missing:
        revoke_token(token.get("refresh_token") or token.get("access_token") or "")
        raise AuthorizationFailed(
            "Google did not grant everything ShiftDesk needs. Press Authorize with Google Account again and tick "
            "every box on Google's page (see, edit, create and delete events; see your calendar list; see your "
            "free/busy information)."
        )
    if not token.get("refresh_token"):
        raise AuthorizationFailed("Google sent no refresh token. Press Authorize with Google Account again.")
    try:
        claims = google_id_token.verify_token(
            token.get("id_token", ""),
            google.auth.transport.requests.Request(google_http_session()),
            audience=conf.client_id,
            certs_url=certs_uri(),
        )
    except (ValueError, google.auth.exceptions.GoogleAuthError) as exc:
        log.warning("Google id_token rejected: %s", type(exc).__name__)
        raise AuthorizationFailed("Google's answer could not be verified. Press Authorize again.") from None
    issuers = {settings.GOOGLE_ACCOUNTS_URL, settings.GOOGLE_ACCOUNTS_URL.removeprefix("https://")}
    if claims.get("iss") not in issuers:
        raise AuthorizationFailed("Google's answer could not be verified. Press Authorize again.")
    if not GoogleOAuthSettings.load().is_active:
        raise AuthorizationFailed(DISABLED_MEANWHILE_MESSAGE)
    return sync_actions.do_connect_calendar(
        request.user,
        provider=PROVIDER,
        account_email=str(claims.get("email") or ""),
        account_name=str(claims.get("name") or ""),
        account_id=str(claims["sub"]),
        credentials=serialize_tokens(token),
        provider_settings={"client_id": conf.client_id},
    )


def serialize_tokens(token: dict) -> str:
    """What goes into the connection's (encrypted) credentials: the refresh token and the current access token."""
    expires_at = token.get("expires_at") or (time.time() + float(token.get("expires_in") or 0))
    return json.dumps(
        {
            "refresh_token": token.get("refresh_token", ""),
            "access_token": token.get("access_token", ""),
            "expires_at": float(expires_at),
        }
    )


def _tokens(connection: CalendarConnection) -> dict:
    try:
        data = json.loads(connection.credentials or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


# --- the sync engine's token function and revocation ---------------------------------------------------------
def access_token(connection: CalendarConnection, *, force_refresh: bool = False) -> str:
    """A valid access token for this connection, refreshed through google-auth when it has under a minute
    left. Raises IntegrationDisabled, ReauthorizationRequired (the connection is marked), GoogleUnavailable."""
    if connection.status == CalendarConnection.Status.NEEDS_REAUTHORIZATION:
        raise ReauthorizationRequired(connection.last_error or REAUTH_REASON)
    conf = GoogleOAuthSettings.load()
    if not conf.is_active:
        raise IntegrationDisabled(
            "Calendar Sync with Google OAuth 2 is not enabled on this ShiftDesk system."
        )
    data = _tokens(connection)
    if (connection.provider_settings or {}).get("client_id", conf.client_id) != conf.client_id:
        _mark_reauthorization(
            connection,
            "ShiftDesk now uses a different Google OAuth client. Authorize with Google Account again to resume.",
        )
    if (
        not force_refresh
        and data.get("access_token")
        and float(data.get("expires_at") or 0) > time.time() + 60
    ):
        return str(data["access_token"])
    if not data.get("refresh_token"):
        _mark_reauthorization(connection, REAUTH_REASON)
    creds = Credentials(
        None,
        refresh_token=data["refresh_token"],
        token_uri=token_uri(),
        client_id=conf.client_id,
        client_secret=conf.client_secret,
        scopes=SCOPES,
    )
    try:
        creds.refresh(google.auth.transport.requests.Request(google_http_session()))
    except google.auth.exceptions.RefreshError as exc:
        body = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
        error = str(body.get("error", ""))
        log.info(
            "Google token refresh for connection %s refused: %s", connection.pk, error or "no error code"
        )
        if error == "invalid_grant":
            _mark_reauthorization(connection, REAUTH_REASON)
        if getattr(exc, "retryable", False) or not error:
            raise GoogleUnavailable() from None
        raise GoogleError(f"Google refused to refresh the authorization ({error}).", code=error) from None
    except google.auth.exceptions.TransportError as exc:
        log.warning(
            "Google token refresh for connection %s: unreachable (%s)", connection.pk, type(exc).__name__
        )
        raise GoogleUnavailable() from None
    expiry = creds.expiry.replace(tzinfo=dt.UTC).timestamp() if creds.expiry else time.time() + 3000
    fresh = {"refresh_token": creds.refresh_token or data["refresh_token"], "access_token": creds.token,
             "expires_at": expiry}  # fmt: skip
    _store_tokens(connection, json.dumps(fresh))
    return str(creds.token)


def _store_tokens(connection: CalendarConnection, serialized: str) -> None:
    """A targeted UPDATE (never a whole-row save): a concurrent Remove Authorization or reauthorization wins."""
    with transaction.atomic():
        updated = CalendarConnection.objects.filter(
            pk=connection.pk, provider=PROVIDER, account_id=connection.account_id
        ).update(credentials=serialized, updated_at=timezone.now(), token_refreshed_at=timezone.now())
    if updated:
        connection.credentials = serialized


def _mark_reauthorization(connection: CalendarConnection, reason: str) -> None:
    """Mark the connection, email the user once (as for Outlook), and raise ReauthorizationRequired."""
    sync_actions.do_mark_needs_reauthorization(connection, reason)
    first = CalendarConnection.objects.filter(pk=connection.pk, reauth_email_sent_at__isnull=True).update(
        reauth_email_sent_at=timezone.now()
    )
    if first:
        user = connection.user
        link = settings.PUBLIC_BASE_URL + reverse("calendar_sync")
        transaction.on_commit(
            lambda: send_mail(
                "ShiftDesk: please reauthorize your Google Calendar sync",
                f"Hello {user.get_short_name()},\n\nShiftDesk can no longer sync your shifts to your Google "
                f"calendar. {reason}\n\nOpen {link} and press Authorize with Google Account.\n\n"
                "Shifts already in your calendar stay there.\n",
                None,
                [user.email],
                fail_silently=True,
            )
        )
    raise ReauthorizationRequired(reason)


def revoke_token(token: str) -> bool:
    """Revoke at Google (a refresh or access token ends the whole grant). Best-effort: False when Google could
    not be reached or refused; never raises, never logs the token."""
    if not token:
        return False
    try:
        answer = google_http_session().post(revoke_uri(), data={"token": token})
    except requests.RequestException as exc:
        log.warning("Google revoke unreachable: %s", type(exc).__name__)
        return False
    if answer.status_code != 200:
        log.info("Google revoke answered %s", answer.status_code)
    return answer.status_code == 200


def revoke_connection(connection: CalendarConnection) -> bool:
    data = _tokens(connection)
    return revoke_token(str(data.get("refresh_token") or data.get("access_token") or ""))


def revoke_retired(retiring: RetiringConnection) -> bool:
    """calendarsync's WHEN_RETIRED hook for Google (registered in GoogleConfig.ready): a previous Google
    connection's deletes are done (Remove Authorization with "also delete", or a switch away from Google) or
    dropped (the connection that owed them was removed: retiring.drop_with_successor), so its grant is revoked
    now; it could not be before, the deletes needed it. Not when the user's current connection is this same
    Google account again: Google ends a grant as a whole, and that grant is the current connection's too.
    Returns whether Google confirmed the revocation."""
    if CalendarConnection.objects.filter(
        user_id=retiring.user_id, provider=PROVIDER, account_id=retiring.account_id
    ).exists():
        log.info("Google grant of user %s kept: the same account is connected again", retiring.user_id)
        return False
    revoked = revoke_connection(retiring.as_connection())
    log.info(
        "Google grant of user %s revoked, its previous connection finished: %s", retiring.user_id, revoked
    )
    return revoked
