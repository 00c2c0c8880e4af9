"""Writes of the exchange app, one function each: connect a mailbox with a password, save the site's settings
(the switch and the allow-list of servers), count a user's connection tests."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shiftdesk.accounts.models import User
from shiftdesk.calendarsync import actions as sync_actions
from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.exchange.client import ServerSettings
from shiftdesk.exchange.models import ConnectionCheck, ExchangeSettings

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
def do_set_exchange_enabled(
    enabled: bool, *, by: User | None, allowed_hosts: str | None = None
) -> ExchangeSettings:
    """The Admin > Integrations box's Save: the switch, and the allow-list when given (None keeps it)."""
    stored = ExchangeSettings.load()
    stored.enabled = enabled
    if allowed_hosts is not None:
        stored.allowed_hosts = allowed_hosts
    stored.updated_at = timezone.now()
    stored.updated_by = by
    stored.save()
    if enabled:
        # Resume: whatever piled up while sync was off is due now.
        CalendarConnection.objects.filter(provider=PROVIDER).update(sync_due_at=timezone.now())
    return stored


@transaction.atomic
def do_count_connection_check(user: User) -> bool:
    """Count one connection test by `user`; False when they have used up EXCHANGE_CHECKS_PER_WINDOW in the last
    EXCHANGE_CHECK_WINDOW_SECONDS (then nothing is counted and no test may run). Each test makes the server
    connect where the user says, so it is rate-limited like a login: in the database, for every web process."""
    now = timezone.now()
    window_start = now - timedelta(seconds=settings.EXCHANGE_CHECK_WINDOW_SECONDS)
    ConnectionCheck.objects.filter(user=user, at__lt=window_start).delete()
    if ConnectionCheck.objects.filter(user=user).count() >= settings.EXCHANGE_CHECKS_PER_WINDOW:
        return False
    ConnectionCheck.objects.create(user=user, at=now)
    return True
