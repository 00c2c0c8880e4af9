"""What the OAuth 2 boxes of Manage Account > Calendar Sync (Microsoft's "OAuth 2 Authorization", Google's
"Google Authorization") do alike, written once: the callback's common part (the state compared before anything
touches the pending flow, the previous connection for the switch note, every failure ending in a sentence),
Save Calendars, and the box's calendar list with the ways listing it can fail.

Each vendor app describes itself as an `OAuthVendor` and keeps what is its own (how a flow starts, Microsoft's
admin consent, Google's revocation on Remove Authorization). calendarsync imports no vendor app
(tests/test_import_rules.py): the vendor's functions and error types come in through the OAuthVendor.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from shiftdesk.calendarsync import actions as sync_actions
from shiftdesk.calendarsync.calendar_choice import calendar_choice_context, save_calendar_choice
from shiftdesk.calendarsync.models import CalendarConnection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OAuthVendor:
    """One vendor's facts, as the shared views and box need them. Every error type has `.message` for people."""

    name: str  # in the user's sentences: "Microsoft", "Google"
    calendar_app: str  # where the calendars live, for Save Calendars' message: "Outlook", "Google Calendar"
    active_flag: str  # the box template's name for "the integration is set up and enabled"
    own_connection: Callable[[Any], CalendarConnection | None]  # the user's own connection (get_*_for_user)
    list_calendars: Callable[[CalendarConnection], Sequence[Any]]  # raises the vendor's errors
    error: type[Exception]  # base of the vendor's errors
    unreachable: type[Exception]  # the vendor could not be reached (try again shortly)
    reauthorization_required: type[Exception]  # the grant is dead; the connection is already marked
    integration_disabled: type[Exception]  # an admin disabled the integration meanwhile


def state_matches(expected: str, given: str) -> bool:
    """Whether `given` is the state of the flow this session started, `expected` ('' when none is pending).
    Constant time; compared as UTF-8 bytes, since compare_digest refuses non-ASCII str (a forged state may be)."""
    return bool(expected) and secrets.compare_digest(expected.encode(), (given or "").encode())


def finish_authorization(
    request: HttpRequest,
    vendor: OAuthVendor,
    *,
    expected_state: str,
    state_message: str,
    complete: Callable[[HttpRequest, dict[str, str]], CalendarConnection],
    failures: tuple[type[Exception], ...],
) -> HttpResponse:
    """The Redirect URL's work once the vendor's own cases are handled: compare the state, then `complete`
    (which connects, or raises one of `failures` with a sentence for the user), and say what happened.

    The state is compared before anything touches the pending flow: a request that is not the answer to this
    session's flow (a stray or forged one, e.g. an <img> on another site) must not discard it, or the user's
    real answer, arriving next, would find no flow and fail."""
    if not state_matches(expected_state, request.GET.get("state", "")):
        messages.error(request, state_message)
        return redirect("calendar_sync")
    previous = sync_actions.previous_connection(request.user)
    try:
        connection = complete(request, request.GET.dict())
    except failures as failure:
        messages.error(request, failure.message)  # type: ignore[attr-defined]
        return redirect("calendar_sync")
    shown = connection.account_email or connection.account_name
    messages.success(
        request,
        f"Your {vendor.name} account {shown} is connected. Choose your calendars below and press Save Calendars."
        + sync_actions.switch_note(previous, connection),
    )
    return redirect("calendar_sync")


def save_calendars(request: HttpRequest, vendor: OAuthVendor) -> HttpResponse:
    """Save Calendars for the logged-in user's own connection with `vendor` (the caller requires a logged-in
    POST): the calendars are listed again, so only ones that still exist can be chosen."""
    connection = vendor.own_connection(request.user)
    if connection is None:
        messages.error(
            request,
            f"Your account is not connected to {vendor.name}. Authorize with {vendor.name} Account first.",
        )
        return redirect("calendar_sync")
    try:
        calendars = vendor.list_calendars(connection)
    except vendor.error as exc:
        messages.error(
            request,
            f"Your calendars could not be read from {vendor.name}, so nothing was saved: {exc.message}",  # type: ignore[attr-defined]
        )
        return redirect("calendar_sync")
    save_calendar_choice(request, connection, calendars, where=vendor.calendar_app)
    return redirect("calendar_sync")


def authorization_box(request: HttpRequest, vendor: OAuthVendor, *, active: bool, **extra: Any) -> dict:
    """The box's context for the logged-in user about themselves: the connection, whether it needs
    reauthorization, and, while it works, the calendars to choose from (or the sentence saying why they could
    not be listed). `extra` adds the vendor's own keys (the remove form, Microsoft's admin-consent hint)."""
    connection = vendor.own_connection(request.user)
    context: dict = {
        vendor.active_flag: active,
        "connection": connection,
        "needs_reauthorization": bool(
            connection and connection.status == CalendarConnection.Status.NEEDS_REAUTHORIZATION
        ),
        "calendars_form": None,
        "calendar_error": "",
        **extra,
    }
    if connection is None or not active or context["needs_reauthorization"]:
        return context
    try:
        calendars = vendor.list_calendars(connection)
    except vendor.reauthorization_required:
        connection.refresh_from_db()
        context["needs_reauthorization"] = True
        return context
    except vendor.integration_disabled:
        context[vendor.active_flag] = False
        return context
    except vendor.unreachable:
        context["calendar_error"] = (
            f"{vendor.name} could not be reached to list your calendars. Try again shortly."
        )
        return context
    except vendor.error as exc:
        reason = getattr(exc, "code", "") or getattr(exc, "status", 0) or type(exc).__name__
        log.info("listing %s calendars for user %s failed: %s", vendor.name, request.user.pk, reason)
        context["calendar_error"] = f"Your calendars could not be listed: {exc.message}"  # type: ignore[attr-defined]
        return context
    context.update(calendar_choice_context(connection, calendars))
    return context
