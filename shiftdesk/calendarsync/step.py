"""A step's link work: plan the dirty links, send what they need, record what happened.

Called by engine.sync_one_connection under the connection's lease. Layers (docs/sync-engine.md): this module
uses lease, network, plan and recording below it, and nothing above it (verify, retiring, the worker). No
Django ORM call happens while requests are in flight.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from shiftdesk.calendarsync.desired import desired_for_links, pending_deletes_and_events
from shiftdesk.calendarsync.lease import hold_lease
from shiftdesk.calendarsync.linkstate import Plan, creates_attempted, deletes_attempted
from shiftdesk.calendarsync.models import CalendarConnection, EventLink, SyncLogEntry, calendar_place
from shiftdesk.calendarsync.network import event_loop, network_phase, open_provider, run_ops
from shiftdesk.calendarsync.plan import LinkPlan, plan_link, second_operation
from shiftdesk.calendarsync.providers.base import Fate, ProviderError
from shiftdesk.calendarsync.recording import StepRecord, record_step

log = logging.getLogger("shiftdesk.calendarsync")
Status = CalendarConnection.Status


def sync_links(
    connection: CalendarConnection,
    backend: Any,
    client: Any,
    links: list[EventLink],
    *,
    now: datetime,
    started: float,
    worker_id: str,
) -> bool:
    """Plan, send and record one step for these dirty links of a connection whose lease we hold."""
    desired = desired_for_links(connection, links, now)
    plans = [plan_link(connection, link, desired[link.id]) for link in links]
    record = StepRecord(connection=connection, plans=plans, now=now, worker_id=worker_id)
    if any(p.action in (Plan.DELETE, Plan.PROBE_DELETE) for p in plans) and _brake(connection, now):
        return True
    work = [p for p in plans if p.first is not None]
    prepared = time.monotonic()
    if work:
        _send(connection, backend, client, work, record, started)
    sent = time.monotonic()
    record_step(record)
    log.debug(
        "step connection=%s links=%s prepare_ms=%d send_ms=%d record_ms=%d", connection.id, len(links),
        (prepared - started) * 1000, (sent - prepared) * 1000, (time.monotonic() - sent) * 1000,
    )  # fmt: skip
    return True


def _brake(connection: CalendarConnection, now: datetime) -> bool:
    """The safety brake: pause instead of deleting more than half of the user's upcoming events."""
    if connection.brake_confirmed or not connection.user.is_active:
        return False  # confirmed by a person, or the user was deactivated on purpose
    doomed, total = pending_deletes_and_events(connection, now)
    if doomed < settings.SYNC_SAFETY_BRAKE_MIN_DELETES or doomed * 2 <= total:
        return False
    reason = (
        f"Paused: the next sync would delete {doomed} of this user's {total} upcoming events in "
        f"{calendar_place(connection.provider)}. "
        "An administrator must confirm before ShiftDesk deletes them."
    )
    with transaction.atomic():
        CalendarConnection.objects.filter(id=connection.id, status=Status.CONNECTED).update(
            status=Status.PAUSED, paused_reason=reason, sync_due_at=None, last_error=reason, last_error_at=now
        )
        SyncLogEntry.objects.create(
            connection=connection,
            action=SyncLogEntry.Action.PAUSE,
            outcome=SyncLogEntry.Outcome.FAILED,
            message=reason,
        )
    log.warning(
        "sync connection=%s action=pause outcome=paused deletes=%s of=%s", connection.id, doomed, total
    )
    return True


def _send(
    connection: CalendarConnection,
    backend: Any,
    client: Any,
    work: list[LinkPlan],
    record: StepRecord,
    started: float,
) -> None:
    """The network phase: token, first calls, second calls; one retry of 401s with a forced refresh."""
    if not hold_lease(connection.id, record.worker_id):
        record.lease_lost = True
        return
    creates_attempted(p.link for p in work if p.first is not None and p.first.kind == "create")
    # A first delete is always of the recorded event (DELETE, MOVE, RETIRE); a probe's second delete is of
    # an event found by link key, covered by create_attempted.
    deletes_attempted(p.link for p in work if p.first is not None and p.first.kind == "delete")
    try:
        token = backend.credentials(connection)
    except ProviderError as error:
        record.connection_error = error
        return
    deadline = started + settings.SYNC_LEASE_SECONDS / 2
    wanted = backend.requests_in_flight(len(work))
    with network_phase(wanted) as requests:  # only the requests: the database work overlaps others'
        if not hold_lease(connection.id, record.worker_id):  # the wait for a network slot can be long
            record.lease_lost = True
            return
        _send_requests(connection, backend, client, work, record, token, deadline, requests)


def _send_requests(
    connection: CalendarConnection,
    backend: Any,
    client: Any,
    work: list[LinkPlan],
    record: StepRecord,
    token: str,
    deadline: float,
    requests: int,
) -> None:
    loop = event_loop()
    provider = open_provider(backend, connection, token, client, requests)
    try:
        firsts = [p.first for p in work if p.first is not None]
        loop.run_until_complete(run_ops(provider, firsts, deadline))
        if any(op.error is not None and op.error.auth_expired for op in firsts):
            provider = _refreshed(connection, backend, client, provider, loop, record, requests)
            if provider is not None:
                again = [op for op in firsts if op.error is not None and op.error.auth_expired]
                for op in again:
                    op.error = (
                        None  # a 401 was not carried out: as good as never sent, unless a try went unanswered
                    )
                    if op.fate is Fate.ANSWERED:
                        op.fate = Fate.NOT_SENT
                loop.run_until_complete(run_ops(provider, again, deadline))
        if provider is None:
            return
        seconds = []
        for plan in work:
            plan.second = second_operation(connection, plan)
            if plan.second is not None:
                seconds.append(plan.second)
        creates_attempted(
            plan.link for plan in work if plan.second is not None and plan.second.kind == "create"
        )
        stopped = any(
            op.error is not None and (op.error.retry_after or op.error.permanent and not op.error.not_found)
            for op in firsts
        )
        if seconds and not stopped:
            loop.run_until_complete(run_ops(provider, seconds, deadline))
        # else: left Fate.NOT_SENT, decided again next step
    finally:
        if provider is not None:
            loop.run_until_complete(provider.aclose())


def _refreshed(connection, backend, client, provider, loop, record, requests):
    """A 401: get a new token (forcing a refresh) and reopen the provider; None if the grant is dead."""
    loop.run_until_complete(provider.aclose())
    try:
        token = backend.credentials(connection, force_refresh=True)
    except ProviderError as error:
        record.connection_error = error
        return None
    if not hold_lease(connection.id, record.worker_id):  # the refresh can be slow: the lease first
        record.lease_lost = True
        return None
    return open_provider(backend, connection, token, client, requests)
