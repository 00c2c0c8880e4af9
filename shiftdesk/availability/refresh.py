"""The free/busy refresh step: read one user's busy times from Outlook and store them, or say why not.

`refresh_busy_for_user(user_id)` is the whole step (style.md habit 6): it claims the user's FreeBusyState with
a conditional UPDATE (so two workers, or a worker and a "Refresh now" click, never read the same user at
once), reads calendarView on the connection's free/busy calendar over the rolling horizon, replaces the
stored intervals in one transaction, and records the outcome. It is idempotent and safe to run concurrently.

Outcomes, and what the grid and the conflict check make of them:
- ok: intervals replaced; "no interval" means free.
- stale (reauthorization needed, integration disabled, Graph throttled or unreachable): the old intervals are
  kept and still warn, and the grid says the data is stale: never silently "free".
- error (free/busy calendar deleted in Outlook, none chosen): the intervals are cleared, the state says why.
- no calendar connection: the user's free/busy rows are removed; Outlook says nothing about them.

Outlook (OAuth 2) connections are read through Graph (microsoft/freebusy.py); Password Authentication (EWS)
connections through exchange/freebusy.py, which returns the same BusyEvent.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Iterable

import httpx
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from shiftdesk.availability.models import AvailabilitySettings, BusyInterval, FreeBusyState
from shiftdesk.calendarsync.models import CalendarConnection, EventLink
from shiftdesk.microsoft import freebusy
from shiftdesk.microsoft.errors import (
    GraphAccessDenied,
    GraphAuthenticationError,
    GraphError,
    GraphNotFound,
    IntegrationDisabled,
    MicrosoftError,
    ReauthorizationRequired,
)
from shiftdesk.microsoft.provider import LINK_PROPERTY_ID
from shiftdesk.scheduling.models import Site, localize

log = logging.getLogger(__name__)

CLAIM_SECONDS = 300  # longer than any read (30 s timeout x a few pages); a crashed worker's claim expires
MAX_BACKOFF = dt.timedelta(minutes=15)
Status = FreeBusyState.Status


def horizon(
    now: dt.datetime, tz: zoneinfo.ZoneInfo, settings: AvailabilitySettings
) -> tuple[dt.datetime, dt.datetime]:
    """[local midnight a week ago, the local midnight after now + horizon): the whole current grid week
    stays shaded whichever day it starts on, and the horizon ends on a day boundary."""
    today = now.astimezone(tz).date()
    first = today - dt.timedelta(days=7)
    last = (now + settings.horizon).astimezone(tz).date() + dt.timedelta(days=1)
    return localize(dt.datetime.combine(first, dt.time()), tz), localize(
        dt.datetime.combine(last, dt.time()), tz
    )


def claim(user_id: int, now: dt.datetime) -> FreeBusyState | None:
    """The user's state, claimed for this step; None when another worker holds it."""
    state, _ = FreeBusyState.objects.get_or_create(user_id=user_id)
    won = (
        FreeBusyState.objects.filter(pk=state.pk)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .update(claimed_until=now + dt.timedelta(seconds=CLAIM_SECONDS))
    )
    if not won:
        return None
    state.refresh_from_db()
    return state


def refresh_busy_for_user(user_id: int, *, http: httpx.Client | None = None) -> bool:
    """Refresh one user's busy intervals. True when fresh data was stored; False otherwise (another worker
    holds the user, no connection, stale or error: the state row says which and why)."""
    now = timezone.now()
    state = claim(user_id, now)
    if state is None:
        return False
    settings = AvailabilitySettings.load()
    try:
        return _refresh(state, now, settings, http)
    except Exception:  # noqa: BLE001 - one user's surprise must not stop the worker's pass or hold the claim
        log.exception("free/busy refresh of user %s failed unexpectedly", user_id)
        _finish(
            state, now, settings, Status.STALE, "Outlook could not be read (unexpected error).", failed=True
        )
        return False


def _refresh(
    state: FreeBusyState, now: dt.datetime, settings: AvailabilitySettings, http: httpx.Client | None
) -> bool:
    user_id = state.user_id
    connection = CalendarConnection.objects.filter(user_id=user_id).first()
    if connection is None:
        # Outlook says nothing about this user any more: keep nothing.
        with transaction.atomic():
            BusyInterval.objects.filter(user_id=user_id).delete()
            FreeBusyState.objects.filter(pk=state.pk).delete()
        return False
    if connection.status == CalendarConnection.Status.NEEDS_REAUTHORIZATION:
        _finish(state, now, settings, Status.STALE, _reauth_reason(connection), failed=True)
        return False
    if not connection.freebusy_calendar_id:
        _replace(state, [])
        _finish(
            state, now, settings, Status.ERROR,
            "No Calendar to Check Free/Busy Status is chosen: choose one in Manage Account > Calendar Sync.",
        )  # fmt: skip
        return False
    tz = Site.load().tzinfo
    start, end = horizon(now, tz, settings)
    if connection.provider == CalendarConnection.Provider.EXCHANGE:
        return _refresh_exchange(state, connection, now, settings, tz, start, end)
    try:
        events = freebusy.read_freebusy(connection, start, end, link_property_id=LINK_PROPERTY_ID, http=http)
    except (ReauthorizationRequired, IntegrationDisabled) as error:
        _finish(state, now, settings, Status.STALE, str(error), failed=True)
        return False
    except GraphNotFound:
        _replace(state, [])
        name = connection.freebusy_calendar_name or "chosen for free/busy"
        _finish(
            state, now, settings, Status.ERROR,
            f"The calendar “{name}” no longer exists in Outlook. Choose another Calendar to Check Free/Busy "
            "Status in Manage Account > Calendar Sync.",
        )  # fmt: skip
        return False
    except (GraphAccessDenied, GraphAuthenticationError) as error:
        _finish(
            state,
            now,
            settings,
            Status.STALE,
            f"Outlook refused to show the calendar ({error}).",
            failed=True,
        )
        return False
    except (GraphError, MicrosoftError) as error:
        log.info("free/busy refresh of user %s failed: %s", user_id, error)
        _finish(
            state, now, settings, Status.STALE, f"Outlook could not be read: {error}", failed=True,
            retry_after=error.retry_after,
        )  # fmt: skip
        return False
    return _store(state, connection, events, now, settings, tz)


def _refresh_exchange(
    state: FreeBusyState,
    connection: CalendarConnection,
    now: dt.datetime,
    settings: AvailabilitySettings,
    tz: zoneinfo.ZoneInfo,
    start: dt.datetime,
    end: dt.datetime,
) -> bool:
    """The same step for a Password Authentication (EWS) connection, through exchange.freebusy."""
    from shiftdesk.exchange.client import ExchangeError
    from shiftdesk.exchange.freebusy import read_freebusy

    try:
        events = read_freebusy(connection, start, end)
    except ExchangeError as error:
        if error.kind == "not_found":
            _replace(state, [])
            name = connection.freebusy_calendar_name or "chosen for free/busy"
            _finish(
                state, now, settings, Status.ERROR,
                f"The calendar “{name}” no longer exists in the Exchange mailbox. Choose another Calendar to "
                "Check Free/Busy Status in Manage Account > Calendar Sync.",
            )  # fmt: skip
        else:
            _finish(
                state, now, settings, Status.STALE, f"Exchange could not be read: {error}", failed=True,
                retry_after=error.retry_after,
            )  # fmt: skip
        return False
    return _store(state, connection, events, now, settings, tz)


def _store(
    state: FreeBusyState,
    connection: CalendarConnection,
    events: list[freebusy.BusyEvent],
    now: dt.datetime,
    settings: AvailabilitySettings,
    tz: zoneinfo.ZoneInfo,
) -> bool:
    """Replace the user's intervals with what the calendar said, leaving out ShiftDesk's own shift events."""
    user_id = state.user_id
    own = set(
        EventLink.objects.filter(connection=connection)
        .exclude(remote_event_id="")
        .values_list("remote_event_id", flat=True)
    )
    rows = intervals_for(
        user_id, events, own_event_ids=own, show_subjects=state.show_subjects, tz=tz, now=now
    )
    _replace(state, rows)
    _finish(state, now, settings, Status.OK, "", refreshed=True)
    return True


def intervals_for(
    user_id: int,
    events: Iterable[freebusy.BusyEvent],
    *,
    own_event_ids: set[str],
    show_subjects: bool,
    tz: zoneinfo.ZoneInfo,
    now: dt.datetime,
) -> list[BusyInterval]:
    """BusyInterval rows for the events that make someone less available: not free, not ShiftDesk's own
    shift events. All-day events cover their local dates in the site's zone (midnight to midnight, DST
    included); a subject is kept only when the user allows it and the event is not private."""
    rows = []
    for event in events:
        if event.show_as == "free" or event.link_value or event.id in own_event_ids:
            continue
        if event.is_all_day:
            start = localize(dt.datetime.combine(event.start_date, dt.time()), tz)
            end = localize(
                dt.datetime.combine(max(event.end_date, event.start_date + dt.timedelta(days=1)), dt.time()),
                tz,
            )
        else:
            start, end = event.start, event.end
        if end <= start:
            continue  # a zero-length event blocks nothing
        subject = event.subject[:255] if show_subjects and not event.is_private else ""
        rows.append(
            BusyInterval(
                user_id=user_id, start=start, end=end, show_as=event.show_as, subject=subject,
                is_all_day=event.is_all_day, remote_id=event.id, refreshed_at=now,
            )
        )  # fmt: skip
    return rows


def _reauth_reason(connection: CalendarConnection) -> str:
    return "the Outlook connection needs reauthorization" + (
        f" ({connection.last_error})" if connection.last_error else "."
    )


@transaction.atomic
def _replace(state: FreeBusyState, rows: list[BusyInterval]) -> None:
    BusyInterval.objects.filter(user_id=state.user_id).delete()
    BusyInterval.objects.bulk_create(rows, batch_size=500)


def _finish(
    state: FreeBusyState,
    now: dt.datetime,
    settings: AvailabilitySettings,
    status: str,
    reason: str,
    *,
    refreshed: bool = False,
    failed: bool = False,
    retry_after: float | None = None,
) -> None:
    """Record the outcome and release the claim, in one UPDATE."""
    failures = state.consecutive_failures + 1 if failed else 0
    if failed:
        backoff = min(MAX_BACKOFF, dt.timedelta(minutes=2 ** min(failures - 1, 6)), settings.refresh_interval)
        if retry_after:
            backoff = max(backoff, dt.timedelta(seconds=retry_after))
        next_at = now + backoff
    else:
        next_at = now + settings.refresh_interval
    values = {
        "status": status,
        "reason": reason[:2000],
        "last_attempt_at": now,
        "next_refresh_at": next_at,
        "claimed_until": None,
        "consecutive_failures": failures,
    }
    if refreshed:
        values["last_refreshed_at"] = now
    FreeBusyState.objects.filter(pk=state.pk).update(**values)
    for key, value in values.items():
        setattr(state, key, value)


# --- the worker's side ---------------------------------------------------------------------------------
def enroll_connected_users() -> int:
    """Give every user with a calendar connection (Outlook or Exchange) a FreeBusyState, due now, so the
    worker finds them. Cheap: one query for the missing ones and one bulk insert."""
    missing = (
        CalendarConnection.objects.all()
        .exclude(user__freebusy_state__isnull=False)
        .values_list("user_id", flat=True)
    )
    created = FreeBusyState.objects.bulk_create(
        [FreeBusyState(user_id=uid) for uid in missing], ignore_conflicts=True
    )
    return len(created)


def due_user_ids(now: dt.datetime, limit: int = 500) -> list[int]:
    """Users whose refresh is due and whom no worker holds, the longest-waiting first."""
    return list(
        FreeBusyState.objects.filter(Q(next_refresh_at__isnull=True) | Q(next_refresh_at__lte=now))
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .order_by(F("next_refresh_at").asc(nulls_first=True), "user_id")
        .values_list("user_id", flat=True)[:limit]
    )
