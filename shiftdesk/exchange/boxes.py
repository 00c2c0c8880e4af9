"""The two boxes this app puts on other apps' pages (registered in ExchangeConfig.ready()):
"Password Authentication" in Manage Account > Calendar Sync, and its on/off switch in Admin > Integrations.

A view of this app that re-renders the hosting page (a refused Save) leaves its bound form on the request as
`request.exchange_form` and the failure in words as `request.exchange_error`.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest

from shiftdesk.calendarsync.calendar_choice import calendar_choice_context
from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.calendarsync.providers.base import RemoteCalendar
from shiftdesk.exchange.client import (
    ExchangeError,
    ServerSettings,
    account_for,
    list_calendar_folders,
    translate_errors,
)
from shiftdesk.exchange.forms import (
    ExchangeSettingsForm,
    PasswordAuthenticationForm,
    RemoveForm,
)
from shiftdesk.exchange.models import ExchangeSettings

log = logging.getLogger(__name__)
PROVIDER = CalendarConnection.Provider.EXCHANGE


def get_exchange_connection_for_user(user) -> CalendarConnection | None:
    """The user's own Exchange (password) connection, if any. The only way views find one."""
    if not user.is_authenticated:
        return None
    return CalendarConnection.objects.filter(user=user, provider=PROVIDER).first()


def other_connection_for_user(user) -> CalendarConnection | None:
    """The user's connection through another provider (OAuth 2), which saving a password would replace."""
    if not user.is_authenticated:
        return None
    return CalendarConnection.objects.filter(user=user).exclude(provider=PROVIDER).first()


def mailbox_calendars(connection: CalendarConnection) -> list[RemoteCalendar]:
    """The connection's calendar folders, read live (raises ExchangeError in words)."""
    server = ServerSettings.from_dict(connection.provider_settings)
    with translate_errors(server):
        account = account_for(server, connection.credentials)
        return [RemoteCalendar(f.id, f.name, default) for f, default in list_calendar_folders(account)]


def password_authentication_box(request: HttpRequest) -> dict:
    """Manage Account > Calendar Sync > Password Authentication, for the logged-in user about themselves."""
    enabled = ExchangeSettings.load().enabled
    connection = get_exchange_connection_for_user(request.user)
    initial = {}
    if connection is not None:
        stored = connection.provider_settings
        initial = {"server": stored.get("server", ""), "username": stored.get("username", ""),
                   "email": stored.get("email", "")}  # fmt: skip
    context: dict = {
        "enabled": enabled,
        "connection": connection,
        "other_connection": other_connection_for_user(request.user),
        "form": getattr(request, "exchange_form", None) or PasswordAuthenticationForm(initial=initial),
        "save_error": getattr(request, "exchange_error", ""),
        "needs_reauthorization": bool(
            connection and connection.status == CalendarConnection.Status.NEEDS_REAUTHORIZATION
        ),
        "remove_form": RemoveForm(),
        "calendars_form": None,
        "calendar_error": "",
    }
    if connection is None or not enabled or context["needs_reauthorization"]:
        return context
    try:
        calendars = mailbox_calendars(connection)
    except ExchangeError as exc:
        log.info("listing EWS calendars for user %s failed: %s", request.user.pk, exc.kind)
        context["calendar_error"] = f"Your calendars could not be listed: {exc.message}"
        return context
    context.update(calendar_choice_context(connection, calendars))
    return context


def admin_box(request: HttpRequest) -> dict:
    """Admin > Integrations > Password Authentication: the site-wide switch. Only on a system-admin page."""
    stored = ExchangeSettings.load()
    connected = CalendarConnection.objects.filter(provider=PROVIDER).count()
    return {
        "exchange": stored,
        # A refused Save leaves its bound form on the request (views.save_settings): shown with what was typed.
        "form": getattr(request, "exchange_settings_form", None)
        or ExchangeSettingsForm(
            initial={"enabled": "1" if stored.enabled else "0", "allowed_hosts": stored.allowed_hosts}
        ),
        "connected_users": connected,
    }
