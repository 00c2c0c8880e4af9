"""OAuth 2 through MSAL: the admin's credentials check, a user's authorization, and the token function.

Other apps call `acquire_access_token(connection)`; the views call the rest. MSAL always gets our own
`http_client` (shiftdesk.lib.http.msal_http_session: the configured CA, trust_env off), an https authority
built from settings, and `instance_discovery=False` so the configured login host is used as given.
"""

from __future__ import annotations

import json
import logging
import threading
import warnings
from dataclasses import dataclass
from typing import Any

import msal
import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from shiftdesk.calendarsync import actions as sync_actions
from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.lib.http import msal_http_session
from shiftdesk.microsoft import identity
from shiftdesk.microsoft.errors import (
    AppCredentialsRejected,
    IdentityError,
    IdentityUnavailable,
    IntegrationDisabled,
    ReauthorizationRequired,
)
from shiftdesk.microsoft.models import AzureADSettings

log = logging.getLogger(__name__)

PROVIDER = CalendarConnection.Provider.MICROSOFT
# OAuth errors after which only the user can help (the refresh token is dead): see identity.REAUTH_REASONS.
REAUTH_ERRORS = {"invalid_grant", "interaction_required", "consent_required", "login_required"}
UNAVAILABLE_ERRORS = {"temporarily_unavailable", "server_error"}
NETWORK_ERRORS = (requests.RequestException, msal.exceptions.MsalServiceError, OSError)


# --- building MSAL applications ------------------------------------------------------------------------------
_thread_caches = threading.local()


def _shared_http_cache(azure: AzureADSettings) -> dict:
    """MSAL's http_cache (discovery documents, Retry-After holds) reused for the same settings within one
    thread, so a worker does not fetch the OpenID configuration before every token. Per thread because MSAL's
    cache is a plain dict; keyed by the settings fingerprint so saving new settings starts afresh (MSAL
    also remembers failed identical requests for 60 s: new credentials must not meet old failures)."""
    caches = getattr(_thread_caches, "by_fingerprint", None)
    if caches is None:
        caches = _thread_caches.by_fingerprint = {}
    key = azure.fingerprint()
    if key not in caches:
        caches.clear()
        caches[key] = {}
    return caches[key]


def build_app(
    azure: AzureADSettings,
    *,
    segment: str | None = None,
    token_cache: msal.TokenCache | None = None,
    fresh: bool = False,
) -> msal.ConfidentialClientApplication:
    """A ConfidentialClientApplication for these settings. `fresh` gives it its own empty HTTP cache (the
    admin's Save Settings check must never be answered from MSAL's memory of an earlier failure).

    Raises IdentityError (e.g. tenant not found, from OIDC discovery) or IdentityUnavailable."""
    authority = identity.authority_url(settings.MICROSOFT_LOGIN_URL, segment or azure.tenant_segment)
    try:
        return msal.ConfidentialClientApplication(
            azure.application_id,
            client_credential=azure.msal_credential(),
            authority=authority,
            token_cache=token_cache,
            http_client=msal_http_session(),
            http_cache={} if fresh else _shared_http_cache(azure),
            instance_discovery=False,
            azure_region=None,
        )
    except ValueError as exc:
        # OIDC discovery was refused (MSAL chains the response text): an unknown tenant answers AADSTS90002.
        detail = str(exc.__context__ or "")
        code = identity.aadsts_code({"error_description": detail}) or "AADSTS90002"
        raise IdentityError(
            identity.admin_message(code), error="invalid_tenant", code=code, permanent=True
        ) from None
    except NETWORK_ERRORS as exc:
        log.warning("identity platform unreachable during discovery: %s", type(exc).__name__)
        raise IdentityUnavailable("Microsoft's identity platform could not be reached.") from None


# --- Admin > Integrations: check credentials before saving -------------------------------------------------
CHECK_VERIFIED = "verified"  # a token came back: Application ID and secret/certificate proven
CHECK_APP_ID_ONLY = "app_id_accepted"  # AADSTS50059: the Application ID exists; the secret is not proven


def check_credentials(candidate: AzureADSettings) -> str:
    """Check the Application ID + secret/certificate by a client-credentials token request against the
    authority for the account type. Returns CHECK_VERIFIED or, for the multi-tenant types (no tenant to
    issue a token in: AADSTS50059), CHECK_APP_ID_ONLY: Microsoft does not document whether it checks the
    secret before answering 50059, so that answer proves the Application ID only (the emulator's variant
    multitenant_50059 plays both orders). Raises IdentityError with what the admin can act on, or
    IdentityUnavailable. Nothing is saved here."""
    app = build_app(candidate, fresh=True)
    try:
        with warnings.catch_warnings():
            # Multi-tenant types have no tenant of their own: MSAL warns that /common or /organizations is
            # "unreliable" for client credentials. Here that is the point: see AADSTS50059 below.
            warnings.simplefilter("ignore", DeprecationWarning)
            result = app.acquire_token_for_client(identity.APP_CHECK_SCOPES)
    except NETWORK_ERRORS as exc:
        log.warning("identity platform unreachable during credentials check: %s", type(exc).__name__)
        raise IdentityUnavailable("Microsoft's identity platform could not be reached.") from None
    if "access_token" in result:
        return CHECK_VERIFIED
    code = identity.aadsts_code(result)
    error = result.get("error", "")
    if code == identity.CLIENT_AUTHENTICATED_NO_TENANT:
        return CHECK_APP_ID_ONLY
    if error in UNAVAILABLE_ERRORS:
        raise IdentityUnavailable("Microsoft's identity platform is temporarily unavailable.")
    log.info("Azure AD credentials check refused: %s %s", error, code)
    raise IdentityError(identity.admin_message(code), error=error, code=code, permanent=True)


# --- Manage Account > Calendar Sync: authorize --------------------------------------------------------------
SESSION_FLOW_KEY = "microsoft_auth_flow"


@dataclass
class AuthorizationFailed(Exception):
    """The callback could not connect the account; `message` is for the user, never a stack trace."""

    message: str
    admin_approval: bool = False


def start_authorization(request: Any, azure: AzureADSettings) -> str:
    """Begin the authorization code flow (PKCE, state, nonce by MSAL), bind it to this user's session, and
    return Microsoft's authorize URL to redirect to."""
    from shiftdesk.microsoft.models import redirect_url

    app = build_app(azure)
    # response_mode=query: a form_post callback is a cross-site POST that carries no SameSite=Lax session
    # cookie, so the callback could not find the flow it belongs to.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*response_mode.*form_post.*", category=UserWarning)
        scopes = identity.user_scopes(azure.request_shared_calendars)
        flow = app.initiate_auth_code_flow(
            scopes,
            redirect_uri=redirect_url(),
            response_mode="query",
            prompt="select_account",
        )
    request.session[SESSION_FLOW_KEY] = {
        "flow": flow,
        "user_id": request.user.pk,
        "segment": azure.tenant_segment,
        "client_id": azure.application_id,
        "scopes": scopes,
    }
    return flow["auth_uri"]


def complete_authorization(request: Any, query: dict[str, str]) -> CalendarConnection:
    """Finish the flow from the callback's query parameters and connect the user's calendar.

    Raises AuthorizationFailed with a message for the user for every outcome other than success."""
    stored = request.session.pop(SESSION_FLOW_KEY, None)
    if not stored or stored.get("user_id") != request.user.pk or not query.get("state"):
        raise AuthorizationFailed(identity.STATE_MESSAGE)
    flow = stored["flow"]
    if flow.get("state") != query.get("state"):
        raise AuthorizationFailed(identity.STATE_MESSAGE)
    if query.get("error"):
        code = identity.aadsts_code({"error_description": query.get("error_description", "")})
        message = identity.user_message(query["error"], code, query.get("error_subcode", ""))
        raise AuthorizationFailed(message, admin_approval=identity.shows_admin_path(message))
    azure = AzureADSettings.load()
    if not azure.is_active or azure.application_id != stored.get("client_id"):
        raise AuthorizationFailed(identity.DISABLED_MEANWHILE_MESSAGE)
    cache = msal.SerializableTokenCache()
    try:
        app = build_app(azure, segment=stored["segment"], token_cache=cache)
        scopes = stored.get("scopes") or identity.USER_SCOPES
        result = app.acquire_token_by_auth_code_flow(flow, dict(query), scopes=scopes)
    except IdentityUnavailable:
        raise AuthorizationFailed(identity.UNREACHABLE_MESSAGE) from None
    except IdentityError as exc:
        _note_refused_credentials(azure, exc.code)
        raise AuthorizationFailed(identity.user_message(exc.error, exc.code)) from None
    except ValueError:  # MSAL's own state/nonce checks
        raise AuthorizationFailed(identity.STATE_MESSAGE) from None
    except NETWORK_ERRORS:
        raise AuthorizationFailed(identity.UNREACHABLE_MESSAGE) from None
    if "error" in result:
        code = identity.aadsts_code(result)
        log.info("authorization code redemption refused: %s %s", result.get("error"), code)
        _note_refused_credentials(azure, code)
        message = identity.user_message(result.get("error", ""), code)
        raise AuthorizationFailed(message, admin_approval=identity.shows_admin_path(message))
    claims = result.get("id_token_claims") or {}
    account_email = claims.get("preferred_username") or claims.get("email") or ""
    account_name = claims.get("name") or ""
    account_id = claims.get("oid") or claims.get("sub") or ""
    try:  # Graph's view of the mailbox is the better name and address; the id token suffices if it fails.
        from shiftdesk.microsoft.graph import GraphClient

        with GraphClient.for_token(result["access_token"]) as graph:
            me = graph.get_me()
        account_email = me.mail or me.user_principal_name or account_email
        account_name = me.display_name or account_name
        account_id = me.id or account_id
    except Exception:  # noqa: BLE001 - optional enrichment; any Graph failure keeps the id-token values
        log.info("Graph /me unavailable right after authorization; using id token claims")
    accounts = app.get_accounts()
    # Re-read under the settings that will use the token: disabled between the redirect and now?
    if not AzureADSettings.load().is_active:
        raise AuthorizationFailed(identity.DISABLED_MEANWHILE_MESSAGE)
    connection = sync_actions.do_connect_calendar(
        request.user,
        provider=PROVIDER,
        account_email=account_email,
        account_name=account_name,
        account_id=account_id,
        credentials=cache.serialize(),
        provider_settings={
            "client_id": azure.application_id,
            "segment": stored["segment"],
            "tenant_id": claims.get("tid", ""),
            "home_account_id": accounts[0]["home_account_id"] if accounts else "",
            "scopes": scopes,  # what this grant covers: tokens are asked for these (never more) later
        },
    )
    # Microsoft redeemed the code with the saved Application ID and secret: that proves them (Save Settings
    # of a multi-tenant type could not). Recorded once, with who and when, for the admin's box.
    from shiftdesk.microsoft.actions import do_mark_credentials_verified

    do_mark_credentials_verified(azure.fingerprint(), by=request.user)
    return connection


def _note_refused_credentials(azure: AzureADSettings, code: str) -> None:
    """A code redemption refused for the app's credentials (wrong or expired secret, unknown app): tell the
    admin on the Azure AD OAuth 2 box in the FAQ's words ("App ID or Secret is incorrect")."""
    if code in identity.APP_CREDENTIAL_CODES:
        from shiftdesk.microsoft.actions import do_record_credentials_problem

        do_record_credentials_problem(azure.fingerprint(), identity.admin_message(code) + f" ({code})")


# --- the sync engine's token function -------------------------------------------------------------------
def acquire_access_token(connection: CalendarConnection, *, azure: AzureADSettings | None = None) -> str:
    """A valid Graph access token for this connection, refreshing silently when it is stale. `azure`: the
    settings already loaded (a worker getting tokens for many connections reads them once).

    A rotated refresh token is written back to the connection at once. Raises:
    - IntegrationDisabled: Azure AD OAuth 2 is not set up or Disabled (pause; do not mark the connection).
    - ReauthorizationRequired: the grant is dead; the connection is already marked and the user emailed once.
      Also raised at once, without a network call, while the connection is already marked.
    - AppCredentialsRejected: the app's secret/certificate was refused; an admin must act (pause).
    - IdentityUnavailable: network trouble or a 5xx/429; retry later.
    """
    if connection.status == CalendarConnection.Status.NEEDS_REAUTHORIZATION:
        raise ReauthorizationRequired(connection.last_error or identity.reauth_reason(""))
    azure = AzureADSettings.load() if azure is None else azure
    if not azure.is_active:
        raise IntegrationDisabled(
            "Calendar Sync with Azure AD OAuth 2 is not enabled on this ShiftDesk system."
        )
    provider_settings = connection.provider_settings or {}
    if provider_settings.get("client_id", azure.application_id).lower() != azure.application_id.lower():
        # The admin registered a different app: this user's grant belongs to the old one.
        _mark_reauthorization(
            connection,
            "ShiftDesk now uses a different Microsoft app registration. Authorize with Microsoft Account again "
            "to resume syncing.",
        )
    cache = msal.SerializableTokenCache()
    if connection.credentials:
        cache.deserialize(connection.credentials)
    app = build_app(
        azure, segment=provider_settings.get("segment") or azure.tenant_segment, token_cache=cache
    )
    accounts = app.get_accounts()
    home = provider_settings.get("home_account_id")
    account = next(
        (a for a in accounts if a.get("home_account_id") == home), accounts[0] if accounts else None
    )
    if account is None:
        _mark_reauthorization(connection, identity.reauth_reason(""))
    try:
        # The scopes this user granted: an admin who later asks for Calendars.ReadWrite.Shared must not break
        # the grants made before (a refresh asking for an unconsented scope fails with AADSTS65001).
        scopes = provider_settings.get("scopes") or identity.USER_SCOPES
        result = app.acquire_token_silent_with_error(scopes, account)
    except NETWORK_ERRORS as exc:
        log.warning(
            "token refresh for connection %s: identity platform unreachable (%s)",
            connection.pk,
            type(exc).__name__,
        )
        raise IdentityUnavailable("Microsoft's identity platform could not be reached.") from None
    if result and "access_token" in result:
        if cache.has_state_changed:
            _store_cache(connection, cache.serialize())
        return result["access_token"]
    result = result or {"error": "invalid_grant"}  # nothing usable in the cache: no refresh token
    error = result.get("error", "")
    code = identity.aadsts_code(result)
    log.info("token refresh for connection %s refused: %s %s", connection.pk, error, code)
    if error in UNAVAILABLE_ERRORS:
        raise IdentityUnavailable("Microsoft's identity platform is temporarily unavailable.")
    if error in ("invalid_client", "unauthorized_client"):
        raise AppCredentialsRejected(identity.admin_message(code), error=error, code=code)
    if error in REAUTH_ERRORS:
        _mark_reauthorization(connection, identity.reauth_reason(code))
    raise IdentityError(identity.admin_message(code), error=error, code=code, permanent=False)


def _store_cache(connection: CalendarConnection, serialized: str) -> None:
    """Write the rotated refresh token back. A targeted UPDATE (not .save()) so a concurrent Remove
    Authorization or reauthorization is never overwritten: if the row is gone, nothing is written."""
    with transaction.atomic():
        updated = CalendarConnection.objects.filter(
            pk=connection.pk, provider=PROVIDER, account_id=connection.account_id
        ).update(credentials=serialized, updated_at=timezone.now())
    if updated:
        connection.credentials = serialized


def _mark_reauthorization(connection: CalendarConnection, reason: str) -> None:
    """Mark the connection (MSAL keeps the dead refresh token in its cache, so we must), email the user once,
    and raise ReauthorizationRequired."""
    sync_actions.do_mark_needs_reauthorization(connection, reason)
    first = CalendarConnection.objects.filter(pk=connection.pk, reauth_email_sent_at__isnull=True).update(
        reauth_email_sent_at=timezone.now()
    )
    if first:
        user = connection.user
        link = settings.PUBLIC_BASE_URL + reverse("calendar_sync")
        transaction.on_commit(
            lambda: send_mail(
                "ShiftDesk: please reauthorize your Outlook calendar sync",
                f"Hello {user.get_short_name()},\n\nShiftDesk can no longer sync your shifts to your Outlook "
                f"calendar. {reason}\n\nOpen {link} and press Authorize with Microsoft Account.\n\n"
                "Shifts already in your calendar stay there.\n",
                None,
                [user.email],
                fail_silently=True,
            )
        )
    raise ReauthorizationRequired(reason)


def without_access_tokens(serialized: str) -> str:
    """An MSAL SerializableTokenCache without its access tokens (the refresh token is kept): handed to MSAL
    after Graph refused an access token (401), so the next acquisition must use the refresh token."""
    try:
        data = json.loads(serialized) if serialized else None
    except ValueError:
        return serialized
    if not isinstance(data, dict):
        return serialized
    data["AccessToken"] = {}
    return json.dumps(data)
