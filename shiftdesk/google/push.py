"""Google Calendar push notifications: an events.watch channel on each chosen calendar of a Google connection
(Calendar to Sync shifts with, Calendar to Check Free/Busy Status; one channel when they are the same), so a
change there makes that connection's verification (sync calendar) and/or free/busy refresh (free/busy
calendar) due at once. Polling stays as it is: a connection without a channel is verified and refreshed on its
interval, as before. The shape follows availability/notifications.py (Outlook's Graph subscriptions).

The worker keeps the channels right (`sweep_channels`, once a minute through `Sweeper.tick`, called by the
refreshbusy loop); web requests never call Google, except Remove Authorization, which stops the connection's
channels while it still has a token (`stop_connection_channels`). Per connection, `reconcile_connection`:
- a wanted calendar without a channel, or whose channel expires within RENEW_WHEN_LEFT, or was made for
  another public URL or account: events.watch with a new channel id (a UUID) and a new random token
  (encrypted at rest). Google has no renewal: the new channel is made first, then the old one stopped;
- a channel no calendar wants any more: channels.stop, and the row goes.
Only where SHIFTDESK_PUBLIC_URL is https: Google posts to https addresses only (push guide). Otherwise, or
when Google refuses, the reason is kept (GooglePushProblem, for admins) and watching is tried again later.

`accept_push` is the webhook's side (webhook view in views.py): a push is trusted only when its
X-Goog-Channel-ID is a live channel of ours and X-Goog-Channel-Token matches (constant-time compare).
X-Goog-Resource-State `sync` (the first message of every channel) changes nothing; `exists` and `not_exists`
(the calendar was deleted) make the work due, and that work finds out what changed.

Google facts (developers.google.com/calendar/api/guides/push; docs/google-behaviour.md): POST
calendars/{id}/events/watch {id, type: web_hook, address, token, params.ttl}; channels expire (the answer's
`expiration`, in ms; Google does not renew them); POST channels/stop {id, resourceId}; notifications carry
X-Goog-Channel-ID, -Token, -Expiration, X-Goog-Resource-ID, -URI, -State, X-Goog-Message-Number, no body.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
import time
import uuid
from collections.abc import Mapping
from urllib.parse import quote

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.google import oauth
from shiftdesk.google.calendar_api import CALENDAR_PATH, error_of
from shiftdesk.google.errors import GoogleError
from shiftdesk.google.models import GoogleChannel, GooglePushProblem
from shiftdesk.lib.http import google_client

log = logging.getLogger(__name__)

TTL = dt.timedelta(days=7)  # asked for; Google may give less (the answer's expiration is what counts)
RENEW_WHEN_LEFT = dt.timedelta(days=2)  # a worker down for a day loses nothing
FIRST_BACKOFF = dt.timedelta(minutes=5)
MAX_BACKOFF = dt.timedelta(hours=6)
SWEEP_EVERY_SECONDS = 60
MAX_HEADER = 512  # channel ids are at most 64 characters; tokens ours (43); anything longer is not ours
CONNECTED = CalendarConnection.Status.CONNECTED


def push_url() -> str:
    """Where Google posts: ShiftDesk's public URL (SHIFTDESK_PUBLIC_URL) and the webhook's path."""
    return settings.PUBLIC_BASE_URL + reverse("google_push")


def wanted_calendars(connection: CalendarConnection) -> set[str]:
    if connection.provider != oauth.PROVIDER or connection.status != CONNECTED:
        return set()
    return {c for c in (connection.sync_calendar_id, connection.freebusy_calendar_id) if c}


# --- the webhook's side ------------------------------------------------------------------------------------
def accept_push(headers: Mapping[str, str], *, now: dt.datetime | None = None) -> bool:
    """Act on one push from Google (its X-Goog-* headers). True when it was trusted."""
    channel_id = headers.get("X-Goog-Channel-ID", "")
    token = headers.get("X-Goog-Channel-Token", "")
    state = headers.get("X-Goog-Resource-State", "")
    if not channel_id or not token or len(channel_id) > MAX_HEADER or len(token) > MAX_HEADER:
        return False
    if "\x00" in channel_id:
        return False  # PostgreSQL refuses NUL in a string parameter: not ours anyway
    row = (
        GoogleChannel.objects.filter(channel_id=channel_id, connection__isnull=False)
        .select_related("connection")
        .first()
    )
    if row is None or not row.token or not hmac.compare_digest(row.token.encode(), token.encode()):
        log.info("ignored a Google push: unknown channel or wrong token")
        return False
    if state == "sync":
        return True  # the channel's first message: nothing changed yet
    now = now or timezone.now()
    GoogleChannel.objects.filter(pk=row.pk).update(last_notified_at=now)
    make_due(row.connection, row.calendar_id, now)
    return True


def make_due(connection: CalendarConnection, calendar_id: str, now: dt.datetime) -> None:
    """The work a change in `calendar_id` calls for, due now: the sync engine's verification when it is the
    sync calendar (last_verified_at cleared and the connection due, which is what enqueue_verifications does
    on its interval), the free/busy refresh when it is the free/busy calendar."""
    from shiftdesk.availability.notifications import make_due as make_refresh_due

    if calendar_id == connection.sync_calendar_id:
        CalendarConnection.objects.filter(pk=connection.pk, status=CONNECTED).update(last_verified_at=None)
        CalendarConnection.objects.filter(pk=connection.pk, status=CONNECTED).filter(
            Q(sync_due_at__isnull=True) | Q(sync_due_at__gt=now)
        ).update(sync_due_at=now)
    if calendar_id == connection.freebusy_calendar_id:
        make_refresh_due([connection.user_id], now)


def make_notified_users_due(now: dt.datetime | None = None) -> int:
    """Free/busy users pushed after their last refresh began are due again (a push that arrived while a
    refresh ran, which then set the next one an interval away). One UPDATE; every pass."""
    from shiftdesk.availability.models import FreeBusyState

    now = now or timezone.now()
    notified_since = GoogleChannel.objects.filter(
        user_id=OuterRef("user_id"),
        connection__isnull=False,
        calendar_id=F("connection__freebusy_calendar_id"),
        last_notified_at__gt=OuterRef("last_attempt_at"),
    )
    return (
        FreeBusyState.objects.filter(
            next_refresh_at__gt=now, consecutive_failures=0, last_attempt_at__isnull=False
        )
        .filter(Exists(notified_since))
        .update(next_refresh_at=now)
    )


# --- the worker's side ---------------------------------------------------------------------------------------
class Sweeper:
    """The refreshbusy loop's hook for Google: pushed users made due on every pass, channels reconciled once
    every `every` seconds. Never raises."""

    def __init__(self, every: float = SWEEP_EVERY_SECONDS) -> None:
        self.every = every
        self._last: float | None = None

    def tick(self) -> None:
        try:
            make_notified_users_due()
            if self._last is None or time.monotonic() - self._last >= self.every:
                self._last = time.monotonic()
                sweep_channels()
        except Exception:  # noqa: BLE001 - the worker's refreshes go on; the next tick tries again
            log.exception("Google push-channel sweep failed")


def sweep_channels(*, now: dt.datetime | None = None) -> dict[str, int]:
    """One pass: reconcile every connection whose channels do not match its chosen calendars (missing, to
    renew, made for another address or account, or no longer wanted); the count of each outcome. Reads all
    Google connections with their channels in two queries: a few thousand rows at most."""
    now = now or timezone.now()
    GoogleChannel.objects.filter(connection__isnull=True, expires_at__lte=now).delete()
    address = push_url()
    candidates = (
        CalendarConnection.objects.filter(Q(provider=oauth.PROVIDER) | Q(google_channels__isnull=False))
        .exclude(google_push_problem__next_attempt_at__gt=now)
        .distinct()
        .prefetch_related("google_channels")
    )
    outcomes: dict[str, int] = {}
    for connection in candidates:
        channels = list(connection.google_channels.all())
        if {c.calendar_id for c in channels if _current(c, connection, address, now)} == wanted_calendars(
            connection
        ) and all(_current(c, connection, address, now) for c in channels):
            continue
        result = reconcile_connection(connection.pk, now=now)
        outcomes[result] = outcomes.get(result, 0) + 1
    return outcomes


def _current(channel: GoogleChannel, connection: CalendarConnection, address: str, now: dt.datetime) -> bool:
    """A channel that may stay: on a wanted calendar, for this address and account, not due for renewal."""
    return (
        channel.calendar_id in wanted_calendars(connection)
        and channel.address == address
        and channel.account_id == connection.account_id
        and channel.expires_at is not None
        and channel.expires_at > now + RENEW_WHEN_LEFT
    )


def reconcile_connection(connection_id: int, *, now: dt.datetime | None = None) -> str:
    """Bring one connection's channels in line with its chosen calendars. Returns what was done."""
    now = now or timezone.now()
    connection = CalendarConnection.objects.filter(pk=connection_id).select_related("user").first()
    if connection is None:
        return "gone"
    wanted = wanted_calendars(connection)
    channels = list(GoogleChannel.objects.filter(connection=connection))
    address = push_url()
    if connection.provider != oauth.PROVIDER:
        # Switched to Outlook or Exchange: no Google token is left to stop them. They expire by themselves;
        # their pushes only make work due that finds nothing.
        GoogleChannel.objects.filter(connection=connection).delete()
        return "dropped"
    keep = {c.calendar_id: c for c in channels if _current(c, connection, address, now)}
    to_stop = [c for c in channels if keep.get(c.calendar_id) is not c]
    to_make = sorted(wanted - set(keep))
    if not to_make and not to_stop:
        GooglePushProblem.objects.filter(connection=connection).delete()
        return "ok"
    if to_make and not address.startswith("https://"):
        _problem(
            connection,
            f"Google sends push notifications to https addresses only; ShiftDesk's public URL is {address}. "
            "Changes are picked up on the polling interval instead.",
            now,
            retry=False,
        )
        to_make = []
    try:
        token = oauth.access_token(connection) if (to_make or to_stop) else ""
    except GoogleError as error:
        _problem(connection, f"No Google token to manage push channels: {error}", now)
        return "no token"
    made = 0
    with google_client(headers={"Authorization": f"Bearer {token}"}) as http:
        for calendar_id in to_make:
            try:
                _watch(http, connection, calendar_id, address, now)
                made += 1
            except GoogleError as error:
                log.info("Google refused a push channel for connection %s: %s", connection.pk, error.code)
                _problem(connection, f"Google did not accept push notifications to {address}: {error}", now)
            except httpx.HTTPError as exc:
                log.info("Google unreachable for a push channel (%s)", type(exc).__name__)
                _problem(connection, "Google could not be reached to set up push notifications.", now)
        for channel in to_stop:
            _stop(http, channel)
    if made == len(to_make) and (to_make or to_stop) and address.startswith("https://"):
        GooglePushProblem.objects.filter(connection=connection).delete()
    return "changed"


def _watch(
    http: httpx.Client, connection: CalendarConnection, calendar_id: str, address: str, now: dt.datetime
) -> None:
    """events.watch with a new channel id and token; the row is saved only once Google accepted it."""
    channel_id = str(uuid.uuid4())
    token = secrets.token_urlsafe(32)
    body = {
        "id": channel_id,
        "type": "web_hook",
        "address": address,
        "token": token,
        "params": {"ttl": str(int(TTL.total_seconds()))},
    }
    response = http.post(f"{CALENDAR_PATH}/calendars/{quote(calendar_id, safe='')}/events/watch", json=body)
    if response.status_code != 200:
        raise error_of(response)
    answer = response.json()
    expires = dt.datetime.fromtimestamp(int(answer.get("expiration") or 0) / 1000, tz=dt.UTC)
    with transaction.atomic():
        GoogleChannel.objects.create(
            user_id=connection.user_id,
            connection=connection,
            account_id=connection.account_id,
            calendar_id=calendar_id,
            address=address,
            channel_id=channel_id,
            resource_id=str(answer.get("resourceId") or ""),
            token=token,
            expires_at=expires if expires > now else now + TTL,
        )
    # Changes made before the channel existed: the work is due once now.
    make_due(connection, calendar_id, now)


def _stop(http: httpx.Client, channel: GoogleChannel) -> bool:
    """channels.stop, best-effort; the row goes whatever Google says (an unknown channel is already gone; one
    Google could not stop expires by itself and its pushes are ignored once its row is gone)."""
    stopped = False
    try:
        response = http.post(
            f"{CALENDAR_PATH}/channels/stop",
            json={"id": channel.channel_id, "resourceId": channel.resource_id},
        )
        stopped = response.status_code in (200, 204)
        if not stopped:
            log.info("Google channels.stop answered %s", response.status_code)
    except httpx.HTTPError as exc:
        log.info("Google unreachable to stop a channel (%s)", type(exc).__name__)
    GoogleChannel.objects.filter(pk=channel.pk).delete()
    return stopped


def stop_connection_channels(connection: CalendarConnection) -> int:
    """Remove Authorization's side: stop every channel of the connection while its token still works.
    Best-effort and never raises; returns how many Google confirmed stopped."""
    channels = list(GoogleChannel.objects.filter(connection=connection))
    if not channels:
        return 0
    try:
        token = oauth.access_token(connection)
    except GoogleError:
        return 0  # the rows stay (connection NULL after the delete) until they expire; pushes are ignored
    with google_client(headers={"Authorization": f"Bearer {token}"}) as http:
        return sum(_stop(http, channel) for channel in channels)


def _problem(connection: CalendarConnection, text: str, now: dt.datetime, *, retry: bool = True) -> None:
    """Record why push is not in use (for admins, logged once) and when to try again: with a backoff, or
    (the public URL is not https) at the next sweep after RENEW_WHEN_LEFT, since only a settings change helps."""
    row, created = GooglePushProblem.objects.get_or_create(connection=connection, defaults={"problem": text})
    failures = row.consecutive_failures + 1
    backoff = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** min(failures - 1, 10)) if retry else MAX_BACKOFF
    if created or row.problem != text:
        log.info("Google push notifications not in use for connection %s", connection.pk)
    GooglePushProblem.objects.filter(pk=row.pk).update(
        problem=text[:2000], consecutive_failures=failures, next_attempt_at=now + backoff
    )


# --- for admins ------------------------------------------------------------------------------------------------
def push_summary(*, problems_listed: int = 5) -> dict:
    """Admin > Integrations > Google OAuth 2's line about push notifications: how many Google connections have
    a live channel, how many have none because of a recorded problem, and those problems in words, the most
    common first (one problem, e.g. an http public URL, usually stands for every connection). Three queries."""
    watched = (
        GoogleChannel.objects.filter(connection__isnull=False, connection__provider=oauth.PROVIDER)
        .values("connection")
        .distinct()
        .count()
    )
    problems = list(
        GooglePushProblem.objects.filter(connection__provider=oauth.PROVIDER)
        .values("problem")
        .annotate(connections=Count("pk"))
        .order_by("-connections", "problem")
    )
    return {
        "watched": watched,
        "failing": sum(p["connections"] for p in problems),
        "problems": problems[:problems_listed],
        "more": max(0, len(problems) - problems_listed),
    }
