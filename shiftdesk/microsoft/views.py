"""Views of the Azure AD OAuth 2 box (system admins) and the OAuth 2 Authorization box (each user, own account).

They parse, call auth/actions, and redirect back to the hosting page with a message; a refused Save Settings
re-renders Admin > Integrations with the bound form. Every failure ends in a sentence, never a stack trace.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from shiftdesk.accounts.permissions import system_admin_required
from shiftdesk.calendarsync import actions as sync_actions
from shiftdesk.calendarsync import oauth_views
from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.lib import crypto
from shiftdesk.microsoft import auth, identity
from shiftdesk.microsoft.actions import do_save_azure_ad_settings
from shiftdesk.microsoft.boxes import (
    MICROSOFT,
    SESSION_ADMIN_APPROVAL_KEY,
    get_microsoft_connection_for_user,
)
from shiftdesk.microsoft.errors import (
    IdentityError,
    IdentityUnavailable,
    ReauthorizationRequired,
)
from shiftdesk.microsoft.forms import AzureADSettingsForm, RemoveAuthorizationForm
from shiftdesk.microsoft.models import AzureADSettings, redirect_url

log = logging.getLogger(__name__)
SESSION_PENDING_KEY = "azure_ad_pending_settings"
SESSION_ADMIN_CONSENT_KEY = "microsoft_admin_consent_state"
UNREACHABLE_ADMIN_MESSAGE = (
    "Microsoft's identity platform could not be reached, so the Application ID and secret could not be "
    "checked. Nothing was saved. Try again in a few minutes, or press Save anyway to save them unchecked."
)


# --- Admin > Integrations > Azure AD OAuth 2 -----------------------------------------------------------------
def _rerender_integrations(request: HttpRequest, form: AzureADSettingsForm, status: int) -> HttpResponse:
    from shiftdesk.accounts.views import rerender_integrations

    return rerender_integrations(request, status, azure_ad_form=form)


def _saved_message(
    request: HttpRequest, saved: AzureADSettings, verified: bool | None, app_id_only: bool = False
) -> None:
    checked = " Microsoft accepted the Application ID and credentials." if verified else ""
    if app_id_only:
        checked = " " + identity.APP_ID_ACCEPTED_MESSAGE
    if saved.enabled:
        messages.success(
            request,
            f"Settings saved.{checked} Calendar Sync with Azure AD OAuth 2 is Enabled: users can now authorize "
            "syncing in Manage Account > Calendar Sync.",
        )
    else:
        messages.success(
            request,
            f"Settings saved.{checked} Calendar Sync with Azure AD OAuth 2 is Disabled: syncing has stopped for "
            "all users and nobody can set it up; events already in their calendars stay.",
        )


def _remember_pending(request: HttpRequest, candidate: AzureADSettings) -> None:
    """Keep the unchecked settings for "Save anyway" (the secret field is write-only and is not re-sent).
    The secret and key are encrypted inside the session as they are in the database."""
    request.session[SESSION_PENDING_KEY] = {
        "application_id": candidate.application_id,
        "account_type": candidate.account_type,
        "tenant_id": candidate.tenant_id,
        "enabled": candidate.enabled,
        "request_shared_calendars": candidate.request_shared_calendars,
        "client_secret": crypto.encrypt(candidate.client_secret) if candidate.client_secret else "",
        "secret_last4": candidate.secret_last4,
        "secret_expires_on": candidate.secret_expires_on.isoformat() if candidate.secret_expires_on else "",
        "certificate_private_key": (
            crypto.encrypt(candidate.certificate_private_key) if candidate.certificate_private_key else ""
        ),
        "certificate_thumbprint": candidate.certificate_thumbprint,
        "certificate_expires_on": (
            candidate.certificate_expires_on.isoformat() if candidate.certificate_expires_on else ""
        ),
    }


def _pending_candidate(pending: dict) -> AzureADSettings:
    candidate = AzureADSettings.load()
    for name in (
        "application_id",
        "account_type",
        "tenant_id",
        "enabled",
        "secret_last4",
        "certificate_thumbprint",
    ):
        setattr(candidate, name, pending[name])
    candidate.request_shared_calendars = bool(pending.get("request_shared_calendars"))
    candidate.client_secret = crypto.decrypt(pending["client_secret"]) if pending["client_secret"] else ""
    candidate.certificate_private_key = (
        crypto.decrypt(pending["certificate_private_key"]) if pending["certificate_private_key"] else ""
    )
    for name in ("secret_expires_on", "certificate_expires_on"):
        setattr(candidate, name, dt.date.fromisoformat(pending[name]) if pending[name] else None)
    return candidate


@require_POST
@system_admin_required
def save_azure_ad_settings(request: HttpRequest) -> HttpResponse:
    """Save Settings: validate, check live with Microsoft, then save. Who: system admins."""
    request.session.pop(SESSION_PENDING_KEY, None)
    stored = AzureADSettings.load()
    form = AzureADSettingsForm(request.POST, request.FILES, stored=stored)
    if not form.is_valid():
        return _rerender_integrations(request, form, status=400)
    candidate = form.candidate()
    verified: bool | None = None
    app_id_only = False
    if form.needs_check(candidate):
        try:
            # A multi-tenant check proves the Application ID only (AADSTS50059): said so, never "verified".
            app_id_only = auth.check_credentials(candidate) == auth.CHECK_APP_ID_ONLY
            verified = None if app_id_only else True
        except IdentityUnavailable:
            _remember_pending(request, candidate)
            form.add_error(None, UNREACHABLE_ADMIN_MESSAGE)
            request.azure_ad_unreachable = True  # type: ignore[attr-defined]
            # 200, not 503: Django does not save the session (the pending settings) on 5xx responses.
            return _rerender_integrations(request, form, status=200)
        except IdentityError as exc:
            form.add_error(None, exc.message + (f" ({exc.code})" if exc.code else ""))
            return _rerender_integrations(request, form, status=400)
    saved = do_save_azure_ad_settings(candidate, by=request.user, verified=verified, app_id_only=app_id_only)
    _saved_message(request, saved, verified, app_id_only)
    return redirect("admin_integrations")


@require_POST
@system_admin_required
def save_azure_ad_settings_anyway(request: HttpRequest) -> HttpResponse:
    """Save anyway: the settings whose check could not reach Microsoft, saved unchecked. Who: system admins."""
    pending = request.session.pop(SESSION_PENDING_KEY, None)
    if not pending:
        messages.error(
            request, "There are no unchecked settings to save. Enter them again and press Save Settings."
        )
        return redirect("admin_integrations")
    saved = do_save_azure_ad_settings(_pending_candidate(pending), by=request.user, verified=False)
    messages.warning(
        request,
        "Settings saved without checking them with Microsoft. If users cannot authorize, press Save Settings again "
        "once Microsoft can be reached.",
    )
    _saved_message(request, saved, None)
    return redirect("admin_integrations")


@require_GET
@system_admin_required
def admin_consent(request: HttpRequest) -> HttpResponse:
    """Send an organization's admin to Microsoft to approve ShiftDesk for every user. Who: system admins."""
    azure = AzureADSettings.load()
    if not azure.is_configured:
        messages.error(request, "Enter and save the Application ID and Client Secret Value first.")
        return redirect("admin_integrations")
    state = secrets.token_urlsafe(24)
    request.session[SESSION_ADMIN_CONSENT_KEY] = state
    return redirect(
        identity.admin_consent_url(
            settings.MICROSOFT_LOGIN_URL, azure.tenant_segment, azure.application_id, redirect_url(), state
        )
    )


def _admin_consent_result(request: HttpRequest) -> HttpResponse:
    request.session.pop(SESSION_ADMIN_CONSENT_KEY, None)
    granted, message = identity.admin_consent_outcome(request.GET.dict())  # a decline is never "granted"
    (messages.success if granted else messages.error)(request, message)
    return redirect("admin_integrations" if request.user.is_system_admin else "calendar_sync")


# --- Manage Account > Calendar Sync > OAuth 2 Authorization -------------------------------------------------
@require_GET
@login_required
def authorize(request: HttpRequest) -> HttpResponse:
    """Authorize with Microsoft Account: start the flow for the logged-in user. Who: any logged-in user.

    GET (the button is a link): the Content-Security-Policy's form-action 'self' also governs where a form's
    response may redirect, so a POST answered with a redirect to Microsoft would be blocked by the browser.
    Starting a flow changes nothing but this session's pending flow; the callback is what connects, and it
    only accepts the state of the flow this session started."""
    azure = AzureADSettings.load()
    if not azure.is_active:
        messages.warning(request, "OAuth 2 Authorization is not currently set up or enabled for this system.")
        return redirect("calendar_sync")
    try:
        return redirect(auth.start_authorization(request, azure))
    except IdentityUnavailable:
        messages.error(request, identity.UNREACHABLE_MESSAGE)
    except IdentityError as exc:
        messages.error(request, identity.APP_CREDENTIALS_MESSAGE.format(code=exc.code or exc.error))
    return redirect("calendar_sync")


@require_GET
@login_required
def callback(request: HttpRequest) -> HttpResponse:
    """The Redirect URL: Microsoft sends the browser back here with a code or an error. Who: the logged-in
    user who started the flow in this session (anyone else gets the "not started here" message)."""
    admin_state = request.session.get(SESSION_ADMIN_CONSENT_KEY)
    if admin_state and request.GET.get("state") == admin_state and request.user.is_system_admin:
        return _admin_consent_result(request)
    return oauth_views.finish_authorization(
        request,
        MICROSOFT,
        expected_state=_pending_state(request),
        state_message=identity.STATE_MESSAGE,
        complete=_complete_authorization,
        failures=(auth.AuthorizationFailed, ReauthorizationRequired),
    )


def _pending_state(request: HttpRequest) -> str:
    """The state of the flow this session started (MSAL keeps it in its auth code flow), '' when none."""
    pending = request.session.get(auth.SESSION_FLOW_KEY) or {}
    return str((pending.get("flow") or {}).get("state") or "")


def _complete_authorization(request: HttpRequest, query: dict[str, str]) -> CalendarConnection:
    """auth.complete_authorization, remembering when the failure needs an organization's admin to approve
    ShiftDesk: the box then offers a system admin the admin-consent link."""
    try:
        return auth.complete_authorization(request, query)
    except auth.AuthorizationFailed as failure:
        if failure.admin_approval:
            request.session[SESSION_ADMIN_APPROVAL_KEY] = True
        raise


@require_POST
@login_required
def save_calendars(request: HttpRequest) -> HttpResponse:
    """Save Calendars for the logged-in user's own connection. Who: any logged-in user, own account."""
    return oauth_views.save_calendars(request, MICROSOFT)


@require_POST
@login_required
def remove_authorization(request: HttpRequest) -> HttpResponse:
    """Remove Authorization of the logged-in user's own connection. Who: any logged-in user, own account."""
    connection = get_microsoft_connection_for_user(request.user)
    if connection is None:
        messages.info(request, "Your account is not connected to Microsoft.")
        return redirect("calendar_sync")
    form = RemoveAuthorizationForm(request.POST)
    delete_future = form.is_valid() and form.cleaned_data["delete_future_events"]
    sync_actions.do_disconnect_calendar(connection, delete_future_events=delete_future)
    if delete_future:
        messages.success(
            request,
            "Authorization removed. Your future ShiftDesk events are being deleted from your Outlook calendar; "
            "shifts will no longer be synced to it.",
        )
    else:
        messages.success(
            request,
            "Authorization removed. Shifts will no longer be synced to your calendar; events already in it stay.",
        )
    return redirect("calendar_sync")
