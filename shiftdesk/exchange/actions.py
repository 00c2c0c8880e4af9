"""Writes of the exchange app, one function each: connect a mailbox with a password, flip the site switch."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from shiftdesk.accounts.models import User
from shiftdesk.calendarsync import actions as sync_actions
from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.exchange.client import ServerSettings
from shiftdesk.exchange.models import ExchangeSettings

PROVIDER = CalendarConnection.Provider.EXCHANGE


@transaction.atomic
def do_connect_exchange(
    user: User, *, server: ServerSettings, password: str, calendars: list
) -> CalendarConnection:
    """Store a tested connection (replacing an OAuth 2 one: a user has one connection) and, the first time,
    choose the mailbox's default calendar for sync and free/busy, so syncing starts without a second step.

    `calendars` are (exchangelib folder, is_default) pairs from check_connection."""
    connection = sync_actions.do_connect_calendar(
        user,
        provider=PROVIDER,
        account_email=server.email,
        account_name=server.username,
        account_id=f"{server.endpoint}#{server.email.lower()}",
        credentials=password,
        provider_settings=server.as_dict(),
    )
    known = {folder.id: folder.name for folder, _ in calendars}
    if connection.sync_calendar_id not in known:
        default = next((f for f, is_default in calendars if is_default), None)
        if default is not None:
            connection = sync_actions.do_choose_calendars(
                connection,
                sync_calendar_id=default.id,
                sync_calendar_name=default.name,
                freebusy_calendar_id=default.id,
                freebusy_calendar_name=default.name,
            )
    return connection


@transaction.atomic
def do_set_exchange_enabled(enabled: bool, *, by: User | None) -> ExchangeSettings:
    stored = ExchangeSettings.load()
    stored.enabled = enabled
    stored.updated_at = timezone.now()
    stored.updated_by = by
    stored.save()
    if enabled:
        # Resume: whatever piled up while sync was off is due now.
        CalendarConnection.objects.filter(provider=PROVIDER).update(sync_due_at=timezone.now())
    return stored
