"""The two boxes this app puts on other apps' pages (registered in GoogleConfig.ready()): "Google OAuth 2" in
Admin > Integrations and "Google Authorization" in Manage Account > Calendar Sync. A refused Save Settings
leaves its bound form on the request as `request.google_oauth_form`."""

from __future__ import annotations

from django.http import HttpRequest

from shiftdesk.calendarsync import oauth_views
from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.google import calendar_api, push
from shiftdesk.google.errors import (
    GoogleError,
    GoogleUnavailable,
    IntegrationDisabled,
    ReauthorizationRequired,
)
from shiftdesk.google.forms import GoogleOAuthSettingsForm, RemoveAuthorizationForm
from shiftdesk.google.models import GoogleOAuthSettings, redirect_url
from shiftdesk.google.oauth import PROVIDER, access_token


def get_google_connection_for_user(user) -> CalendarConnection | None:
    """The user's own Google connection, if any. The only way views find a connection."""
    if not user.is_authenticated:
        return None
    return CalendarConnection.objects.filter(user=user, provider=PROVIDER).first()


def google_oauth2_box(request: HttpRequest) -> dict:
    """Admin > Integrations > Google OAuth 2. Only rendered on a system-admin page."""
    stored = GoogleOAuthSettings.load()
    form = getattr(request, "google_oauth_form", None) or GoogleOAuthSettingsForm(stored=stored)
    return {"google": stored, "form": form, "redirect_url": redirect_url(), "push": push.push_summary()}


def user_calendars(connection: CalendarConnection) -> list[calendar_api.GoogleCalendar]:
    """The user's calendar list from Google (raises the typed errors of oauth and calendar_api)."""
    return calendar_api.list_calendars(access_token(connection))


# Google as the OAuth 2 views and box shared with Microsoft (calendarsync.oauth_views) see it.
GOOGLE = oauth_views.OAuthVendor(
    name="Google",
    calendar_app="Google Calendar",
    active_flag="google_active",
    own_connection=get_google_connection_for_user,
    list_calendars=user_calendars,
    error=GoogleError,
    unreachable=GoogleUnavailable,
    reauthorization_required=ReauthorizationRequired,
    integration_disabled=IntegrationDisabled,
)


def google_authorization_box(request: HttpRequest) -> dict:
    """Manage Account > Calendar Sync > Google Authorization, for the logged-in user about themselves."""
    return oauth_views.authorization_box(
        request, GOOGLE, active=GoogleOAuthSettings.load().is_active, remove_form=RemoveAuthorizationForm()
    )
