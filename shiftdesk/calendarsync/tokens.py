"""Keeping idle refresh tokens alive: Microsoft ends a refresh token unused for 90 days.

A connection whose token was last refreshed more than SYNC_IDLE_REFRESH_DAYS ago is made due by the sweep
(`enqueue_idle_refreshes`, one UPDATE); its refresh then runs inside that connection's claimed step
(engine._step -> `refresh_if_idle`), on the worker's step threads and under the connection's lease, so one
worker refreshes one connection, and the claim thread never waits for Microsoft's token endpoint. A failed
refresh is tried again after SYNC_IDLE_REFRESH_RETRY_MINUTES; after SYNC_REFRESH_WARN_DAYS without one the
user is emailed once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.calendarsync.providers.base import ProviderError

log = logging.getLogger("shiftdesk.calendarsync")
RETRY_MINUTES = 60


def idle(now: datetime) -> Q:
    """Connections whose refresh token has not been used for SYNC_IDLE_REFRESH_DAYS."""
    before = now - timedelta(days=settings.SYNC_IDLE_REFRESH_DAYS)
    return Q(token_refreshed_at__lt=before) | Q(token_refreshed_at__isnull=True, created_at__lt=before)


def enqueue_idle_refreshes(providers: list[str]) -> int:
    """Make idle connected connections due (those with nothing else due, not tried within the retry time)."""
    now = timezone.now()
    retry = now - timedelta(minutes=RETRY_MINUTES)
    candidates: QuerySet[CalendarConnection] = CalendarConnection.objects.filter(
        status=CalendarConnection.Status.CONNECTED, provider__in=providers, sync_due_at__isnull=True
    )
    return (
        candidates.filter(idle(now))
        .filter(Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lt=retry))
        .update(sync_due_at=now)
    )


def refresh_if_idle(connection: CalendarConnection, backend: Any, now: datetime) -> bool:
    """Refresh the connection's token if it is idle (the caller holds its lease). True when it tried."""
    last = connection.token_refreshed_at or connection.created_at
    if last >= now - timedelta(days=settings.SYNC_IDLE_REFRESH_DAYS):
        return False
    CalendarConnection.objects.filter(id=connection.id).update(last_attempt_at=now)
    try:
        backend.credentials(connection, force_refresh=True)
    except ProviderError as error:
        log.info("sync connection=%s action=refresh outcome=retry error=%r", connection.id, error.message)
        _warn_if_dying(connection, error, last)
        return True
    CalendarConnection.objects.filter(id=connection.id).update(token_refreshed_at=now)
    connection.token_refreshed_at = now
    log.info("sync connection=%s action=refresh outcome=ok", connection.id)
    return True


def _warn_if_dying(conn: CalendarConnection, error: ProviderError, last: datetime) -> None:
    if error.reauthorize or last > timezone.now() - timedelta(days=settings.SYNC_REFRESH_WARN_DAYS):
        return  # reauthorization emails are sent where the connection is marked
    if CalendarConnection.objects.filter(id=conn.id, reauth_email_sent_at__isnull=True).update(
        reauth_email_sent_at=timezone.now()
    ):
        link = settings.PUBLIC_BASE_URL + reverse("calendar_sync")
        send_mail(
            "ShiftDesk: your Outlook calendar sync will stop soon",
            f"Hello {conn.user.get_short_name()},\n\nShiftDesk has not been able to renew its access to your "
            f"Outlook calendar since {last:%Y-%m-%d}. Microsoft ends access that is not renewed for 90 days.\n\n"
            f"Open {link} and press Authorize with Microsoft Account to keep your shifts in sync.\n",
            None,
            [conn.user.email],
            fail_silently=True,
        )
