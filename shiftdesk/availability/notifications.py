"""Outlook change notifications for free/busy: one Microsoft Graph subscription per Outlook (OAuth 2) connection
on its Calendar to Check Free/Busy Status, so a meeting added, changed or deleted there makes the user's refresh
due at once (the refreshbusy worker reads calendarView within its poll) instead of at the next interval.

The worker keeps the subscriptions right (`sweep_subscriptions`, once a minute through `Sweeper`); web requests
never call Graph. Per connection, `reconcile_connection` is the step (style.md habit 6: claimed with a conditional
UPDATE, idempotent, callable from a test):
- none yet, or gone at Graph (404 on renew), or the free/busy calendar, the account or ShiftDesk's public URL
  changed: POST /subscriptions (the old one, if any, is deleted first, best-effort), with a new random
  clientState kept encrypted; then the user's refresh is made due, for changes made before it existed;
- less than RENEW_WHEN_LEFT left: PATCH expirationDateTime;
- no longer wanted (free/busy calendar cleared, password connection): DELETE, best-effort, and the row goes.
When Graph refuses (an http URL, failed validation, errors), the user's busy times are simply read on the
interval as before; the reason is kept on the row for Admin > Integrations, logged once per connection, and
creating is tried again with a backoff (at once when the public URL or the calendar changes).

Remove Authorization deletes the connection and its tokens at once, so nothing can delete its subscription at
Graph then: the row stays (connection NULL, no credential) until the subscription's expiration, its
notifications are ignored, and if the same account is connected again its token deletes the old one.

`accept_notifications` is the webhook's side (webhook.py): a notification is trusted only when its
subscription id is one of ours and its clientState matches; it makes the user due. Lifecycle notifications:
reauthorizationRequired renews at the next sweep, subscriptionRemoved re-creates (and refreshes), missed
refreshes.

Graph facts (api-reference subscription-post-subscriptions / -update / -delete, outlook-change-notifications
-overview): notificationUrl must be https and answer the validationToken handshake; Outlook subscriptions last
at most 4,230 minutes by some pages and 10,080 by others (LIFETIME stays under both). The documented event
resources are mailbox-wide (`me/events`, change-notifications-overview.md); `me/calendars/{id}/events` is the
folder-scoped form Graph documents for messages (`mailFolders/{id}/messages`) but not for events. ShiftDesk
tries the calendar path first (fewer notifications) and, when Graph refuses it with a 400 that is not about
the URL, subscribes to `me/events` at once; a change in another calendar then only makes the user's refresh
due, and the refresh reads the chosen calendar (emulator variant calendar_subscriptions covers both answers).

Lifecycle notifications (change-notifications-lifecycle-events.md; the lifecycleNotificationUrl is the webhook
too, so Graph validates it the same way): reauthorizationRequired → the next sweep renews (PATCH), which also
reauthorizes; subscriptionRemoved → the next sweep creates a new one, and the user's busy times are read again;
missed → the busy times are read again.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from typing import Any

import httpx
from django.conf import settings
from django.db import connection as db_connection
from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from shiftdesk.availability.models import FreeBusyState, GraphSubscription
from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.microsoft.errors import (
    GraphAuthenticationError,
    GraphBadRequest,
    GraphNotFound,
    MicrosoftError,
)

log = logging.getLogger(__name__)

LIFETIME = dt.timedelta(minutes=4200)  # under 4,230 minutes, the smaller limit Graph's pages give for Outlook
# Renewed about every 34 hours: a worker down for a day loses nothing.
RENEW_WHEN_LEFT = dt.timedelta(hours=36)
CLAIM_SECONDS = 120  # longer than a create (Graph waits up to 10 s for our handshake) plus a delete
FIRST_BACKOFF = dt.timedelta(minutes=5)
MAX_BACKOFF = dt.timedelta(hours=6)
SWEEP_EVERY_SECONDS = 60
MAX_ITEMS_PER_POST = 1000  # Graph batches notifications; more in one POST is not Graph
CHANGE_TYPES = "created,updated,deleted"
MICROSOFT = CalendarConnection.Provider.MICROSOFT
NEEDS_REAUTHORIZATION = CalendarConnection.Status.NEEDS_REAUTHORIZATION


MAILBOX_RESOURCE = "me/events"  # documented (change-notifications-overview.md): every event of the mailbox


def calendar_resource(calendar_id: str) -> str:
    """The one-calendar resource, tried first: notifications only for that calendar. Not documented for
    events; when Graph refuses it (`refuses_calendar_path`), MAILBOX_RESOURCE is used instead."""
    return f"me/calendars/{calendar_id}/events"


def refuses_calendar_path(error: GraphBadRequest) -> bool:
    """Graph's answer to a resource it does not support: 400 with a code other than ValidationError (which is
    about our notification URL and would fail the same way for me/events)."""
    return error.code != "ValidationError" and "notificationurl" not in str(error).lower()


def notification_url() -> str:
    """Where Graph posts: ShiftDesk's public URL (SHIFTDESK_PUBLIC_URL) and the webhook's path."""
    return settings.PUBLIC_BASE_URL + reverse("availability_outlook_notifications")


def wants_subscription(connection: CalendarConnection) -> bool:
    """An Outlook connection with a Calendar to Check Free/Busy Status of the user's own. A calendar another
    person shared gets none: "The sharing permissions (Calendars.Read.Shared or Calendars.ReadWrite.Shared) ...
    do not support subscribing to change notifications on items in such folders"
    (concepts/outlook-get-shared-events-calendars.md); its busy times are read at every refresh instead."""
    return (
        connection.provider == MICROSOFT
        and bool(connection.freebusy_calendar_id)
        and not connection.freebusy_calendar_owner
    )


# --- the webhook's side ------------------------------------------------------------------------------------
def accept_notifications(items: Iterable[Any], *, now: dt.datetime | None = None) -> int:
    """Act on the notifications of one POST from Graph; returns how many were trusted. Anything whose
    subscription is not one of ours (or is retired) or whose clientState does not match is ignored."""
    now = now or timezone.now()
    by_subscription: dict[str, list[dict]] = {}
    for item in list(items)[:MAX_ITEMS_PER_POST]:
        if not isinstance(item, dict):
            continue
        sub_id, client_state = item.get("subscriptionId"), item.get("clientState")
        if isinstance(sub_id, str) and sub_id and isinstance(client_state, str) and client_state:
            by_subscription.setdefault(sub_id, []).append(item)
    if not by_subscription:
        return 0
    rows = GraphSubscription.objects.filter(
        subscription_id__in=list(by_subscription), connection__isnull=False
    )
    trusted, untrusted = 0, 0
    notified: set[int] = set()  # rows
    due_users: set[int] = set()
    for row in rows:
        for item in by_subscription.pop(row.subscription_id, []):
            if not row.client_state or not hmac.compare_digest(
                row.client_state.encode(), item["clientState"].encode()
            ):
                untrusted += 1
                continue
            trusted += 1
            lifecycle = item.get("lifecycleEvent")
            if lifecycle == "reauthorizationRequired":
                # Renewing is how Graph is reauthorized: the next sweep does it.
                GraphSubscription.objects.filter(pk=row.pk, subscription_id=row.subscription_id).update(
                    expires_at=now, next_attempt_at=None
                )
                continue
            if lifecycle == "subscriptionRemoved":
                GraphSubscription.objects.filter(pk=row.pk, subscription_id=row.subscription_id).update(
                    subscription_id="", expires_at=None, next_attempt_at=None
                )
            # A change, "missed" changes, or a removed subscription: read the calendar again.
            notified.add(row.pk)
            due_users.add(row.user_id)
    untrusted += sum(len(v) for v in by_subscription.values())
    if untrusted:
        log.info("ignored %s Outlook notification(s): unknown subscription or wrong clientState", untrusted)
    if notified:
        GraphSubscription.objects.filter(pk__in=notified).update(last_notified_at=now)
        make_due(due_users, now)
    return trusted


def make_due(user_ids: Iterable[int], now: dt.datetime) -> int:
    """Make these users' refresh due now. Not while a failure's backoff holds (a throttled mailbox must not be
    asked again sooner; that retry reads the whole calendar anyway)."""
    return FreeBusyState.objects.filter(user_id__in=list(user_ids), consecutive_failures=0).update(
        next_refresh_at=now
    )


def make_notified_users_due(now: dt.datetime | None = None) -> int:
    """Users notified after their last refresh began are due again. Covers a notification that arrived while
    a refresh was running (that refresh then set the next one an interval away). One UPDATE; every pass."""
    now = now or timezone.now()
    notified_since = GraphSubscription.objects.filter(
        user_id=OuterRef("user_id"),
        connection__isnull=False,
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
    """The refreshbusy loop's hook: notified users made due on every pass, subscriptions reconciled once a
    `every` seconds. Never raises: a failing sweep must not stop the refreshes."""

    def __init__(self, every: float = SWEEP_EVERY_SECONDS) -> None:
        self.every = every
        self._last: float | None = None

    def tick(self, http: httpx.Client | None = None) -> None:
        try:
            make_notified_users_due()
            if self._last is None or time.monotonic() - self._last >= self.every:
                self._last = time.monotonic()
                sweep_subscriptions(http=http)
        except Exception:  # noqa: BLE001 - the worker's refreshes go on; the next tick tries again
            log.exception("Outlook change-notification sweep failed")


def sweep_subscriptions(
    *, http: httpx.Client | None = None, threads: int = 4, limit: int = 200
) -> dict[str, int]:
    """One pass: reconcile the connections whose subscription needs work and clean up retired ones. Returns
    the count of each outcome."""
    now = timezone.now()
    url = notification_url()
    GraphSubscription.objects.filter(connection__isnull=True).filter(
        Q(subscription_id="") | Q(expires_at__isnull=True) | Q(expires_at__lte=now)
    ).delete()  # nothing left at Graph to delete
    # Each job takes its own "now": a long sweep must not claim rows with an instant already past.
    jobs: list[Callable[[httpx.Client], str]] = [
        (lambda client, cid=cid: reconcile_connection(cid, http=client))
        for cid in connections_to_reconcile(now, url, limit)
    ] + [
        (lambda client, rid=rid: retire_subscription(rid, http=client))
        for rid in retired_to_delete(now, limit)
    ]
    outcomes: dict[str, int] = {}
    if not jobs:
        return outcomes
    with _client(http) as client:
        if threads <= 1 or len(jobs) == 1:
            results = [job(client) for job in jobs]
        else:

            def run(chunk: list[Callable[[httpx.Client], str]]) -> list[str]:
                try:
                    return [job(client) for job in chunk]
                finally:
                    db_connection.close()  # each thread's own database connection

            chunks = [jobs[i::threads] for i in range(min(threads, len(jobs)))]
            with ThreadPoolExecutor(max_workers=len(chunks), thread_name_prefix="graphsubs") as pool:
                results = [r for chunk in pool.map(run, chunks) for r in chunk]
    for result in results:
        outcomes[result] = outcomes.get(result, 0) + 1
    return outcomes


def connections_to_reconcile(now: dt.datetime, url: str, limit: int = 200) -> list[int]:
    """Outlook connections that want a subscription and have none yet, and those whose subscription must be
    created again, renewed, moved to another calendar or URL, or removed. Rows another worker holds, and
    connections needing reauthorization (no token to use), wait."""
    fresh = (
        CalendarConnection.objects.filter(provider=MICROSOFT, graph_subscription__isnull=True)
        .exclude(freebusy_calendar_id="")
        .filter(freebusy_calendar_owner="")  # a shared calendar: no subscription (wants_subscription)
        .exclude(status=NEEDS_REAUTHORIZATION)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    changed = (
        ~Q(calendar_id=F("connection__freebusy_calendar_id"))
        | ~Q(account_id=F("connection__account_id"))
        | ~Q(notification_url=url)
        | ~Q(connection__provider=MICROSOFT)
        | ~Q(connection__freebusy_calendar_owner="")
    )
    not_backing_off = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    renew_or_create = (
        Q(subscription_id="") | Q(expires_at__isnull=True) | Q(expires_at__lte=now + RENEW_WHEN_LEFT)
    )
    rows = (
        GraphSubscription.objects.filter(connection__isnull=False)
        .exclude(connection__status=NEEDS_REAUTHORIZATION)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .filter(changed | (not_backing_off & renew_or_create))
        .order_by("id")
        .values_list("connection_id", flat=True)[:limit]
    )
    return list(fresh) + [cid for cid in rows if cid is not None]


def retired_to_delete(now: dt.datetime, limit: int = 200) -> list[int]:
    """Retired subscriptions (their connection was removed) whose account is connected again: its token can
    delete them."""
    same_account = CalendarConnection.objects.filter(
        user_id=OuterRef("user_id"), account_id=OuterRef("account_id"), provider=MICROSOFT
    ).exclude(status=NEEDS_REAUTHORIZATION)
    return list(
        GraphSubscription.objects.filter(connection__isnull=True)
        .exclude(subscription_id="")
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .filter(Exists(same_account))
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )


def reconcile_connection(
    connection_id: int, *, http: httpx.Client | None = None, now: dt.datetime | None = None
) -> str:
    """Bring one connection's subscription in line with what it should be. Returns what happened: "created",
    "renewed", "ok", "removed", "failed", "waiting" (needs reauthorization), "busy" (another worker holds it)
    or "gone" (no such connection)."""
    now = now or timezone.now()
    connection = CalendarConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        return "gone"
    row, _ = GraphSubscription.objects.get_or_create(
        connection=connection, defaults={"user_id": connection.user_id, "account_id": connection.account_id}
    )
    row = _claim(row.pk, now)
    if row is None:
        return "busy"
    if row.connection is None:  # removed meanwhile: a retired row now
        _save(row, claimed_until=None)
        return "gone"
    try:
        with _client(http) as client:
            return _reconcile(row, row.connection, client, now)
    except Exception:  # noqa: BLE001 - one connection's surprise must not stop the sweep or hold the claim
        log.exception("Outlook subscription of connection %s failed unexpectedly", connection_id)
        GraphSubscription.objects.filter(pk=row.pk).update(
            claimed_until=None, next_attempt_at=now + FIRST_BACKOFF
        )
        return "failed"


def retire_subscription(
    row_id: int, *, http: httpx.Client | None = None, now: dt.datetime | None = None
) -> str:
    """Delete a retired subscription with the token of the same account's current connection, best-effort;
    the row goes either way (unanswered, the subscription lapses at its expiration)."""
    now = now or timezone.now()
    row = _claim(row_id, now)
    if row is None:
        return "busy"
    connection = (
        CalendarConnection.objects.filter(user_id=row.user_id, account_id=row.account_id, provider=MICROSOFT)
        .exclude(status=NEEDS_REAUTHORIZATION)
        .first()
    )
    try:
        if connection is not None:
            with _client(http) as client:
                _delete_remote(row, connection, client)
    except Exception:  # noqa: BLE001 - best-effort by promise; the row goes all the same
        log.exception("retired Outlook subscription of user %s could not be deleted", row.user_id)
    row.delete()
    return "removed"


def _claim(row_pk: int, now: dt.datetime) -> GraphSubscription | None:
    won = (
        GraphSubscription.objects.filter(pk=row_pk)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .update(claimed_until=now + dt.timedelta(seconds=CLAIM_SECONDS))
    )
    if not won:
        return None
    return GraphSubscription.objects.select_related("connection").filter(pk=row_pk).first()


def _reconcile(
    row: GraphSubscription, connection: CalendarConnection, http: httpx.Client, now: dt.datetime
) -> str:
    url = notification_url()
    if connection.status == NEEDS_REAUTHORIZATION:
        # No token to use: renewed, or created again, once the user authorizes again.
        _save(row, claimed_until=None)
        return "waiting"
    if not wants_subscription(connection):
        _delete_remote(row, connection, http)
        row.delete()
        return "removed"
    moved = (
        row.calendar_id != connection.freebusy_calendar_id
        or row.account_id != connection.account_id
        or row.notification_url != url
    )
    if row.subscription_id and moved:
        _delete_remote(row, connection, http)
        _forget(row)
    if row.subscription_id:
        if row.expires_at is not None and row.expires_at - now > RENEW_WHEN_LEFT:
            _save(row, claimed_until=None)
            return "ok"
        try:
            body = _request(
                connection, http, "PATCH", f"/subscriptions/{row.subscription_id}",
                json={"expirationDateTime": _graph_instant(now + LIFETIME)},
            ).json()  # fmt: skip
        except GraphNotFound:
            _forget(row)  # expired or removed at Graph: create a new one below
        except MicrosoftError as error:
            return _failed(row, error, now, url)
        else:
            _save(
                row, expires_at=_parse_instant(body.get("expirationDateTime")) or now + LIFETIME,
                problem="", problem_since=None, consecutive_failures=0, next_attempt_at=None, claimed_until=None,
            )  # fmt: skip
            return "renewed"
    return _create(row, connection, http, now, url)


def _create(
    row: GraphSubscription, connection: CalendarConnection, http: httpx.Client, now: dt.datetime, url: str
) -> str:
    row.calendar_id = connection.freebusy_calendar_id
    row.account_id = connection.account_id
    row.notification_url = url
    client_state = secrets.token_urlsafe(48)  # 64 characters; Graph allows 128
    body = {
        "changeType": CHANGE_TYPES,
        "notificationUrl": url,
        "lifecycleNotificationUrl": url,
        "resource": calendar_resource(connection.freebusy_calendar_id),
        "expirationDateTime": _graph_instant(now + LIFETIME),
        "clientState": client_state,
    }
    try:
        try:
            created = _request(connection, http, "POST", "/subscriptions", json=body).json()
        except GraphBadRequest as error:
            if not refuses_calendar_path(error):
                raise
            # Graph does not take the one-calendar path (only me/events is documented): subscribe to the
            # documented mailbox-wide resource. A change in another calendar then makes the user due too;
            # the refresh reads only the Calendar to Check Free/Busy Status, so the busy times stay right.
            body["resource"] = MAILBOX_RESOURCE
            created = _request(connection, http, "POST", "/subscriptions", json=body).json()
    except MicrosoftError as error:
        return _failed(row, error, now, url)
    subscription_id = str(created.get("id") or "")
    if not subscription_id:
        return _failed(row, MicrosoftError("Microsoft Graph answered without a subscription id."), now, url)
    if row.problem:
        log.info("Outlook change notifications work again for connection %s", connection.pk)
    _save(
        row, calendar_id=row.calendar_id, account_id=row.account_id, notification_url=url,
        subscription_id=subscription_id, client_state=client_state,
        expires_at=_parse_instant(created.get("expirationDateTime")) or now + LIFETIME,
        # Changes made before the subscription existed (or while there was none) are read now; "notified"
        # also covers a refresh running at this moment (make_notified_users_due).
        last_notified_at=now, problem="", problem_since=None, consecutive_failures=0, next_attempt_at=None,
        claimed_until=None,
    )  # fmt: skip
    make_due([row.user_id], now)
    return "created"


def _failed(row: GraphSubscription, error: MicrosoftError, now: dt.datetime, url: str) -> str:
    """Record why notifications are not in use for this connection and when to try again. Logged once per
    connection (when it starts failing); the user's busy times are read on the interval meanwhile."""
    problem = _describe(error, url)
    failures = row.consecutive_failures + 1
    backoff = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** min(failures - 1, 10))
    if error.retry_after:
        backoff = max(backoff, dt.timedelta(seconds=error.retry_after))
    if not row.problem:
        log.warning(
            "Outlook change notifications are not in use for connection %s (busy times are read on the "
            "refresh interval instead): %s", row.connection_id, problem,
        )  # fmt: skip
    _save(
        row, calendar_id=row.calendar_id, account_id=row.account_id, notification_url=row.notification_url,
        subscription_id=row.subscription_id, client_state=row.client_state, expires_at=row.expires_at,
        problem=problem[:2000], problem_since=row.problem_since or now, consecutive_failures=failures,
        next_attempt_at=now + backoff, claimed_until=None,
    )  # fmt: skip
    return "failed"


def _describe(error: MicrosoftError, url: str) -> str:
    if isinstance(error, GraphBadRequest):
        text = f"Outlook did not accept change notifications to {url}: {error}"
        if not url.startswith("https://"):
            text += " Microsoft requires an https address: set SHIFTDESK_PUBLIC_URL to ShiftDesk's public https URL."
        return text
    return f"Outlook change notifications could not be set up: {error}"


def _delete_remote(row: GraphSubscription, connection: CalendarConnection, http: httpx.Client) -> None:
    """DELETE the subscription at Graph, best-effort: unanswered, it lapses at its expiration, and its
    notifications no longer match a row."""
    if not row.subscription_id:
        return
    try:
        _request(connection, http, "DELETE", f"/subscriptions/{row.subscription_id}")
    except GraphNotFound:
        pass
    except MicrosoftError as error:
        log.info(
            "Outlook subscription of user %s could not be deleted (%s); it lapses at %s",
            row.user_id, error, row.expires_at,
        )  # fmt: skip


def _forget(row: GraphSubscription) -> None:
    row.subscription_id = ""
    row.client_state = ""
    row.expires_at = None


def _save(row: GraphSubscription, **values: Any) -> None:
    """One targeted UPDATE of the row (never .save(): a concurrent removal of the connection is not undone).
    QuerySet.update() encrypts `client_state` too (EncryptedTextField.get_prep_value)."""
    GraphSubscription.objects.filter(pk=row.pk).update(**values)
    for key, value in values.items():
        setattr(row, key, value)


def _request(
    connection: CalendarConnection, http: httpx.Client, method: str, path: str, **kwargs: Any
) -> httpx.Response:
    """One Graph request with the connection's token (auth.acquire_access_token, as freebusy.py does). A 401
    drops the cached access token and tries once more with the refresh token."""
    from shiftdesk.microsoft.auth import acquire_access_token, without_access_tokens
    from shiftdesk.microsoft.graph import GraphClient

    try:
        return GraphClient(acquire_access_token(connection), http).request(method, path, **kwargs)
    except GraphAuthenticationError:
        connection.credentials = without_access_tokens(connection.credentials)
        return GraphClient(acquire_access_token(connection), http).request(method, path, **kwargs)


def _client(http: httpx.Client | None) -> Any:
    from shiftdesk.lib.http import graph_client

    return nullcontext(http) if http is not None else graph_client()


def _graph_instant(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _parse_instant(value: Any) -> dt.datetime | None:
    """Graph's DateTimeOffset (`2024-01-01T00:00:00.1234567Z`, or with an offset) as an aware datetime.
    Python 3.11's fromisoformat takes the Z and truncates a 7-digit fraction to microseconds."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


# --- what admins see -----------------------------------------------------------------------------------------
def notification_summary() -> dict[str, Any]:
    """For Admin > Integrations: how many connections get notifications, and why the others do not."""
    rows = GraphSubscription.objects.filter(connection__isnull=False)
    failing = rows.exclude(problem="")
    latest = failing.order_by("-problem_since", "-id").first()
    return {
        "active": rows.exclude(subscription_id="").filter(problem="").count(),
        "failing": failing.count(),
        "problem": latest.problem if latest else "",
    }
