"""Password Authentication box actions (any logged-in user, own connection only) and the Admin > Integrations
switch (system admins). Views parse, call one action, redirect or re-render; Save tests the connection first."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from shiftdesk.accounts.permissions import system_admin_required
from shiftdesk.calendarsync import actions as sync_actions
from shiftdesk.calendarsync.calendar_choice import save_calendar_choice
from shiftdesk.exchange import actions
from shiftdesk.exchange.boxes import get_exchange_connection_for_user, mailbox_calendars
from shiftdesk.exchange.client import ExchangeError, check_connection
from shiftdesk.exchange.forms import (
    ExchangeSettingsForm,
    PasswordAuthenticationForm,
    RemoveForm,
)
from shiftdesk.exchange.models import ExchangeSettings

log = logging.getLogger(__name__)


def _rerender(request: HttpRequest, form: PasswordAuthenticationForm, error: str) -> HttpResponse:
    from shiftdesk.calendarsync.views import calendar_sync

    request.exchange_form = form  # type: ignore[attr-defined]
    request.exchange_error = error  # type: ignore[attr-defined]
    request.method = "GET"  # the hosting page renders as on a GET, with our bound form in the box
    response = calendar_sync(request)
    response.status_code = 400
    return response


@require_POST
@login_required
def save_password_authentication(request: HttpRequest) -> HttpResponse:
    """Save: test the connection with the typed values; store them only if Exchange accepted them."""
    if not ExchangeSettings.load().enabled:
        messages.error(request, "Password Authentication is turned off on this ShiftDesk system.")
        return redirect("calendar_sync")
    form = PasswordAuthenticationForm(request.POST)
    if not form.is_valid():
        return _rerender(request, form, "")
    data = form.cleaned_data
    if not actions.do_count_connection_check(request.user):
        log.info("EWS connection check for user %s refused: too many in the window", request.user.pk)
        response = _rerender(request, form, "Nothing was saved. Too many connection tests in a short time: "
                                            "please wait a few minutes and try again.")  # fmt: skip
        response.status_code = 429
        return response
    try:
        server, calendars = check_connection(
            data["server"], data["username"], data["password"], data["email"]
        )
    except ExchangeError as exc:
        log.info("EWS connection check for user %s failed: %s", request.user.pk, exc.kind)
        return _rerender(request, form, f"Nothing was saved. {exc.message}")
    previous = sync_actions.previous_connection(request.user)
    connection = actions.do_connect_exchange(request.user, server=server, password=data["password"],
                                             calendars=calendars)  # fmt: skip
    messages.success(
        request,
        f"Connected to the Exchange mailbox {connection.account_email}. Your shifts will be synced with "
        f"“{connection.sync_calendar_name}”; you can choose another calendar below."
        + sync_actions.switch_note(previous, connection),
    )
    return redirect("calendar_sync")


@require_POST
@login_required
def save_calendars(request: HttpRequest) -> HttpResponse:
    """Save Calendars for the logged-in user's own Exchange connection."""
    connection = get_exchange_connection_for_user(request.user)
    if connection is None:
        messages.error(request, "Your account is not connected with Password Authentication.")
        return redirect("calendar_sync")
    try:
        calendars = mailbox_calendars(connection)
    except ExchangeError as exc:
        messages.error(
            request, f"Your calendars could not be read from Exchange, so nothing was saved: {exc}"
        )
        return redirect("calendar_sync")
    save_calendar_choice(request, connection, calendars, where="Exchange")
    return redirect("calendar_sync")


@require_POST
@login_required
def remove(request: HttpRequest) -> HttpResponse:
    """Remove: disconnect the logged-in user's own Exchange connection, as Remove Authorization does."""
    connection = get_exchange_connection_for_user(request.user)
    if connection is None:
        messages.info(request, "Your account is not connected with Password Authentication.")
        return redirect("calendar_sync")
    form = RemoveForm(request.POST)
    delete_future = form.is_valid() and form.cleaned_data["delete_future_events"]
    sync_actions.do_disconnect_calendar(connection, delete_future_events=delete_future)
    messages.success(
        request,
        "Password Authentication removed: your password is no longer stored and shifts are no longer synced."
        + (
            " Your future ShiftDesk events are being deleted from your calendar."
            if delete_future
            else " Events already in your calendar stay there."
        ),  # fmt: skip
    )
    return redirect("calendar_sync")


@system_admin_required
@require_POST
def save_settings(request: HttpRequest) -> HttpResponse:
    """Admin > Integrations > Password Authentication: turn password sync on or off for everyone, and say which
    Exchange servers users may connect to."""
    form = ExchangeSettingsForm(request.POST)
    if not form.is_valid():
        from shiftdesk.accounts.views import rerender_integrations

        # The box again with what the admin typed and each field's error beside it (boxes.admin_box).
        return rerender_integrations(request, 400, exchange_settings_form=form)
    actions.do_set_exchange_enabled(
        form.cleaned_data["enabled"], by=request.user, allowed_hosts=form.cleaned_data["allowed_hosts"]
    )
    messages.success(
        request,
        "Password Authentication is enabled." if form.cleaned_data["enabled"] else
        "Password Authentication is disabled: syncing through it has stopped for everyone; events already in "
        "calendars stay there.",
    )  # fmt: skip
    return redirect("admin_integrations")
