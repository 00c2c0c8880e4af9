"""The two boxes this app puts on other apps' pages (registered in GoogleConfig.ready()): "Google OAuth 2" in
Admin > Integrations and "Google Authorization" in Manage Account > Calendar Sync. A refused Save Settings
leaves its bound form on the request as `request.google_oauth_form`."""

from __future__ import annotations

import logging

from django.http import HttpRequest

from shiftdesk.calendarsync.calendar_choice import calendar_choice_context
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

log = logging.getLogger(__name__)


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


def google_authorization_box(request: HttpRequest) -> dict:
    """Manage Account > Calendar Sync > Google Authorization, for the logged-in user about themselves."""
    conf = GoogleOAuthSettings.load()
    connection = get_google_connection_for_user(request.user)
    context: dict = {
        "google_active": conf.is_active,
        "connection": connection,
        "needs_reauthorization": bool(
            connection and connection.status == CalendarConnection.Status.NEEDS_REAUTHORIZATION
        ),
        "remove_form": RemoveAuthorizationForm(),
        "calendars_form": None,
        "calendar_error": "",
    }
    if connection is None or not conf.is_active or context["needs_reauthorization"]:
        return context
    try:
        calendars = user_calendars(connection)
    except ReauthorizationRequired:
        connection.refresh_from_db()
        context["needs_reauthorization"] = True
        return context
    except IntegrationDisabled:
        context["google_active"] = False
        return context
    except GoogleUnavailable:
        context["calendar_error"] = "Google could not be reached to list your calendars. Try again shortly."
        return context
    except GoogleError as exc:
        log.info("listing Google calendars for user %s failed: %s", request.user.pk, exc.code or exc.status)
        context["calendar_error"] = f"Your calendars could not be listed: {exc.message}"
        return context
    context.update(calendar_choice_context(connection, calendars))
    return context
