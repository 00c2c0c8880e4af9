"""Views of the Google OAuth 2 box (system admins) and the Google Authorization box (each user, own account).
They parse, call oauth/actions, and redirect back to the hosting page with a message; every failure ends in a
sentence, never a stack trace."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from shiftdesk.accounts.permissions import system_admin_required
from shiftdesk.calendarsync import actions as sync_actions
from shiftdesk.calendarsync import oauth_views
from shiftdesk.calendarsync.models import RetiringConnection
from shiftdesk.google import oauth, push
from shiftdesk.google.actions import do_save_google_settings
from shiftdesk.google.boxes import GOOGLE, get_google_connection_for_user
from shiftdesk.google.errors import GoogleError, GoogleUnavailable
from shiftdesk.google.forms import GoogleOAuthSettingsForm, RemoveAuthorizationForm
from shiftdesk.google.models import GoogleOAuthSettings

log = logging.getLogger(__name__)


def _rerender_integrations(request: HttpRequest, form: GoogleOAuthSettingsForm, status: int) -> HttpResponse:
    from shiftdesk.accounts.views import rerender_integrations

    return rerender_integrations(request, status, google_oauth_form=form)


@require_POST
@system_admin_required
def save_google_settings(request: HttpRequest) -> HttpResponse:
    """Save Settings: validate, check live with Google, then save. Who: system admins."""
    stored = GoogleOAuthSettings.load()
    form = GoogleOAuthSettingsForm(request.POST, stored=stored)
    if not form.is_valid():
        return _rerender_integrations(request, form, status=400)
    candidate = form.candidate()
    verified = False
    if form.needs_check(candidate):
        try:
            oauth.check_settings(candidate.client_id, candidate.client_secret)
            verified = True
        except GoogleUnavailable as exc:
            form.add_error(None, exc.message + " Nothing was saved.")
            return _rerender_integrations(request, form, status=200)
        except GoogleError as exc:
            form.add_error(None, exc.message)
            return _rerender_integrations(request, form, status=400)
    saved = do_save_google_settings(candidate, by=request.user, verified=verified)
    checked = " Google accepted the Client ID, the Client Secret and the Redirect URL." if verified else ""
    if saved.enabled:
        messages.success(
            request,
            f"Settings saved.{checked} Calendar Sync with Google OAuth 2 is Enabled: users can now authorize "
            "syncing in Manage Account > Calendar Sync.",
        )
    else:
        messages.success(
            request,
            f"Settings saved.{checked} Calendar Sync with Google OAuth 2 is Disabled: syncing with Google has "
            "stopped for all users; events already in their calendars stay.",
        )
    return redirect("admin_integrations")


@require_GET
@login_required
def authorize(request: HttpRequest) -> HttpResponse:
    """Authorize with Google Account: start the flow for the logged-in user. Who: any logged-in user.
    GET (a link) for the same reason as Microsoft's: CSP form-action would block a form redirecting to Google."""
    conf = GoogleOAuthSettings.load()
    if not conf.is_active:
        messages.warning(request, "Google OAuth 2 is not currently set up or enabled for this system.")
        return redirect("calendar_sync")
    return redirect(oauth.start_authorization(request, conf))


@require_GET
@login_required
def callback(request: HttpRequest) -> HttpResponse:
    """The Redirect URL: Google sends the browser back here with a code or an error. Who: the logged-in user
    who started the flow in this session."""
    return oauth_views.finish_authorization(
        request,
        GOOGLE,
        expected_state=oauth.pending_state(request),
        state_message=oauth.STATE_MESSAGE,
        complete=oauth.complete_authorization,
        failures=(oauth.AuthorizationFailed,),
    )


@require_POST
@login_required
def save_calendars(request: HttpRequest) -> HttpResponse:
    """Save Calendars for the logged-in user's own Google connection. Who: any logged-in user, own account."""
    return oauth_views.save_calendars(request, GOOGLE)


@require_POST
@login_required
def remove_authorization(request: HttpRequest) -> HttpResponse:
    """Remove Authorization of the logged-in user's own Google connection. Who: any logged-in user, own account.

    Without "also delete", the grant is revoked at Google at once. With it, the worker still needs the token to
    delete the events (calendarsync's retiring step keeps an encrypted copy), so it is revoked only once those
    deletes are done (oauth.revoke_retired, calendarsync's WHEN_RETIRED hook): Google ends a grant as a whole,
    and a revoked one could delete nothing. With nothing to delete, it is revoked at once."""
    connection = get_google_connection_for_user(request.user)
    if connection is None:
        messages.info(request, "Your account is not connected to Google.")
        return redirect("calendar_sync")
    form = RemoveAuthorizationForm(request.POST)
    delete_future = form.is_valid() and form.cleaned_data["delete_future_events"]
    tokens_holder = connection  # its in-memory copy keeps the (decrypted) tokens after the row is gone
    push.stop_connection_channels(connection)  # channels.stop while the token still works (best-effort)
    sync_actions.do_disconnect_calendar(connection, delete_future_events=delete_future)
    if (
        delete_future
        and RetiringConnection.objects.filter(
            user=request.user,
            successor__isnull=True,
            provider=oauth.PROVIDER,
            account_id=tokens_holder.account_id,
        ).exists()
    ):
        messages.success(
            request,
            "Authorization removed. Your future ShiftDesk events are being deleted from your Google calendar; "
            "shifts will no longer be synced to it. ShiftDesk's access is revoked at Google once they are deleted.",
        )
        return redirect("calendar_sync")
    revoked = oauth.revoke_connection(tokens_holder)
    messages.success(
        request,
        "Authorization removed"
        + (" and ShiftDesk's access revoked at Google." if revoked else ".")
        + " Shifts will no longer be synced to your calendar"
        + (
            ": there were no future ShiftDesk events in it to delete."
            if delete_future
            else "; events already in it stay."
        )
        + (
            ""
            if revoked
            else " Google could not be reached to revoke ShiftDesk's access: you can remove it yourself in your "
            "Google Account under Security > Third-party apps."
        ),
    )
    return redirect("calendar_sync")


@csrf_exempt
@require_POST
def push_notification(request: HttpRequest) -> HttpResponse:
    """The address Google posts Calendar push notifications to (push.py watches it). Public: Google cannot log
    in or send a CSRF token. Nothing is trusted but a live channel id of ours with its token (checked in
    push.accept_push); the body is empty and ignored. The answer comes at once, with no call to Google:
    200 whatever the outcome, so nothing can learn which channel ids exist."""
    push.accept_push(request.headers)
    return HttpResponse(status=200)
