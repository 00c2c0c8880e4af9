"""The two boxes this app puts on other apps' pages (registered in MicrosoftConfig.ready()):
"Azure AD OAuth 2" in Admin > Integrations and "OAuth 2 Authorization" in Manage Account > Calendar Sync.

Each function builds its box's template context from the request. A view of this app that re-renders the
hosting page (a refused Save Settings) leaves its bound form on the request as `request.azure_ad_form`.
"""

from __future__ import annotations

from django.http import HttpRequest

from shiftdesk.calendarsync import oauth_views
from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.microsoft.auth import PROVIDER, acquire_access_token
from shiftdesk.microsoft.errors import (
    IdentityUnavailable,
    IntegrationDisabled,
    MicrosoftError,
    ReauthorizationRequired,
)
from shiftdesk.microsoft.forms import AzureADSettingsForm, RemoveAuthorizationForm
from shiftdesk.microsoft.graph import GraphCalendar, GraphClient
from shiftdesk.microsoft.models import AzureADSettings, redirect_url

SESSION_ADMIN_APPROVAL_KEY = "microsoft_admin_approval_needed"


def get_microsoft_connection_for_user(user) -> CalendarConnection | None:
    """The user's own Outlook (OAuth 2) connection, if any. The only way views find a connection."""
    if not user.is_authenticated:
        return None
    return CalendarConnection.objects.filter(user=user, provider=PROVIDER).first()


def azure_ad_box(request: HttpRequest) -> dict:
    """Admin > Integrations > Azure AD OAuth 2. Only rendered on a system-admin page."""
    stored = AzureADSettings.load()
    form = getattr(request, "azure_ad_form", None) or AzureADSettingsForm(stored=stored)
    account_type = form["account_type"].value() if form.is_bound else stored.account_type
    return {
        "azure": stored,
        "form": form,
        "redirect_url": redirect_url(),
        "tenant_hidden": account_type != "single",
        "check_unreachable": getattr(request, "azure_ad_unreachable", False),
        "expiry_warning": stored.expiry_warning(),
    }


def user_calendars(connection: CalendarConnection) -> list[GraphCalendar]:
    """The user's calendars from Graph (raises the typed errors of auth and graph)."""
    token = acquire_access_token(connection)
    with GraphClient.for_token(token) as graph:
        return graph.list_calendars()


# Microsoft as the OAuth 2 views and box shared with Google (calendarsync.oauth_views) see it. Only the identity
# platform's IdentityUnavailable says "could not be reached": an unreachable Graph (GraphUnavailable) reads as
# "Your calendars could not be listed: <its message>", as before the views were shared.
MICROSOFT = oauth_views.OAuthVendor(
    name="Microsoft",
    calendar_app="Outlook",
    active_flag="azure_active",
    own_connection=get_microsoft_connection_for_user,
    list_calendars=user_calendars,
    error=MicrosoftError,
    unreachable=IdentityUnavailable,
    reauthorization_required=ReauthorizationRequired,
    integration_disabled=IntegrationDisabled,
)


def oauth2_authorization_box(request: HttpRequest) -> dict:
    """Manage Account > Calendar Sync > OAuth 2 Authorization, for the logged-in user about themselves."""
    return oauth_views.authorization_box(
        request,
        MICROSOFT,
        active=AzureADSettings.load().is_active,
        show_admin_consent=bool(
            request.session.pop(SESSION_ADMIN_APPROVAL_KEY, False) and request.user.is_system_admin
        ),
        remove_form=RemoveAuthorizationForm(),
    )
