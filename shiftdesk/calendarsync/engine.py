"""The sync engine's step: bring one connection's dirty links from actual to desired, then record it.

`sync_one_connection(connection_id, worker_id=...)` is the whole unit of work (style.md habit 6): it takes
the connection's lease with a conditional UPDATE (another worker holding it -> returns False), plans from
desired state, sends the provider calls (at most the provider's concurrency in flight for this mailbox),
and records results so that a crash at any point only repeats work: creates carry a transactionId and a
link key the engine looks up before creating again. No Django ORM call happens while requests are in flight.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from shiftdesk.calendarsync.desired import Desired, Want, desired_for_links, pending_deletes_and_events
from shiftdesk.calendarsync.linkstate import Plan, creates_attempted
from shiftdesk.calendarsync.models import CalendarConnection, EventLink, SyncLogEntry
from shiftdesk.calendarsync.providers import get_backend
from shiftdesk.calendarsync.providers.base import Fate, Operation, ProviderError
from shiftdesk.calendarsync.recording import StepRecord, record_step
from shiftdesk.calendarsync.retiring import retire_previous_connections

log = logging.getLogger("shiftdesk.calendarsync")
Status = CalendarConnection.Status
# A worker runs more steps than it has network slots, so one connection's database work (planning,
# recording) overlaps other connections' requests instead of idling them. Its gate (a RequestGate of
# --concurrency x SYNC_MAX_CONCURRENCY_PER_MAILBOX requests, set on each of its threads) keeps the requests
# in flight within that budget: a step takes as many as it will use. No gate on a thread: no limit (one step
# at a time, tests).
_thread = threading.local()


class RequestGate:
    """A worker's budget of requests in flight, shared by its threads. A step takes what it will use (a
    Graph step with 40 writes: two $batch lanes of 20, each one request at a time) and gives it back when its
    requests are done. First come, first served: a step that needs 4 is never overtaken for good by steps
    that need 1."""

    def __init__(self, total: int) -> None:
        self.total = max(1, total)
        self._free = self.total
        self._waiting: deque[object] = deque()
        self._cond = threading.Condition()

    def acquire(self, requests: int) -> int:
        wanted = max(1, min(requests, self.total))
        ticket = object()
        with self._cond:
            self._waiting.append(ticket)
            while self._waiting[0] is not ticket or self._free < wanted:
                self._cond.wait()
            self._waiting.popleft()
            self._free -= wanted
            self._cond.notify_all()
        return wanted

    def release(self, requests: int) -> None:
        with self._cond:
            self._free += requests
            self._cond.notify_all()


def use_network_gate(gate: RequestGate | None) -> None:
    _thread.gate = gate


@contextmanager
def _network_phase(requests: int | None = None) -> Iterator[int]:
    """Hold `requests` of the worker's budget (default: a mailbox's limit) while sending; yields how many
    requests this step may have in flight."""
    wanted = requests or settings.SYNC_MAX_CONCURRENCY_PER_MAILBOX
    gate = getattr(_thread, "gate", None)
    if gate is None:
        yield wanted
        return
    held = gate.acquire(wanted)
    try:
        yield held
    finally:
        gate.release(held)


def _open(backend: Any, connection: CalendarConnection, token: str, client: Any, requests: int) -> Any:
    """A provider for one step, under the step's lease: nothing is sent after the lease could have passed
    to another worker (pacing.Pacer.hold; the lease was extended just before)."""
    provider = backend.open(connection, token, client=client)
    provider.max_concurrency = max(1, min(provider.max_concurrency, requests))
    pacer = getattr(provider, "pacer", None)
    if pacer is not None:
        pacer.hold(settings.SYNC_LEASE_SECONDS)
    return provider


_TXN_NAMESPACE = uuid.UUID("6f1d3c2e-5b0a-4c53-9a3e-2f1e6c7d8b90")


def transaction_id_for(link: EventLink, generation: int | None = None) -> str:
    """Graph's transactionId: the same for every retry of one create, new after the event was forgotten."""
    return str(
        uuid.uuid5(_TXN_NAMESPACE, f"{link.link_key}:{link.generation if generation is None else generation}")
    )


@dataclass
class LinkPlan:
    link: EventLink
    desired: Desired
    action: Plan
    first: Operation | None = None
    second: Operation | None = None
    # The row as the step planned from it: recording is compare-and-set onto it (recording.write_links).
    planned_state_seq: int = 0
    planned_event_id: str = ""
    planned_generation: int = 0


def _plan(connection: CalendarConnection, link: EventLink, desired: Desired) -> LinkPlan:
    calendar_id = connection.sync_calendar_id
    plan = LinkPlan(link, desired, Plan.CLEAN, planned_state_seq=link.state_seq,
                    planned_event_id=link.remote_event_id, planned_generation=link.generation)  # fmt: skip
    if link.deleted_in_outlook or link.moved_in_outlook or desired.want is Want.LEAVE:
        return plan  # never fight the user; history stays as it is
    if desired.want is Want.ABSENT:
        if link.remote_event_id:
            plan.action = Plan.DELETE
            plan.first = Operation("delete", link.id, event_id=link.remote_event_id)
        elif link.create_attempted:
            plan.action = Plan.PROBE_DELETE  # a create may have landed unrecorded: find it, then delete
            plan.first = _find_op(connection, link)
        return plan
    if not link.remote_event_id:
        if link.create_attempted:
            plan.action = Plan.PROBE
            plan.first = _find_op(connection, link)
        else:
            plan.action = Plan.CREATE
            plan.first = _create_op(link, calendar_id, desired)
    elif link.remote_calendar_id and link.remote_calendar_id != calendar_id:
        plan.action = Plan.MOVE
        plan.first = Operation("delete", link.id, event_id=link.remote_event_id)
    elif link.content_hash != desired.hash:
        plan.action = Plan.UPDATE
        plan.first = Operation(
            "update", link.id, link_key=link.link_key, event_id=link.remote_event_id, content=desired.content
        )
    return plan


def _find_op(connection: CalendarConnection, link: EventLink) -> Operation:
    """Look for the link's event wherever we may have put it: the chosen calendar, then every calendar the
    link or the connection recorded (the provider then searches the rest of the mailbox)."""
    recorded = (
        connection.sync_calendar_id,
        link.remote_calendar_id,
        (connection.delta_state or {}).get("calendar", ""),
    )
    calendar_ids = tuple(dict.fromkeys(c for c in recorded if c))
    return Operation("find", link.id, link_key=link.link_key, calendar_ids=calendar_ids)


def _create_op(
    link: EventLink, calendar_id: str, desired: Desired, generation: int | None = None
) -> Operation:
    return Operation(
        "create",
        link.id,
        link_key=link.link_key,
        calendar_id=calendar_id,
        content=desired.content,
        transaction_id=transaction_id_for(link, generation),
    )


def _second_op(connection: CalendarConnection, plan: LinkPlan) -> Operation | None:
    """What follows a first call that succeeded: a create after a move's delete, an update or create after
    a probe, a delete of a found orphan."""
    op, link, desired = plan.first, plan.link, plan.desired
    if op is None or op.fate is not Fate.ANSWERED or (op.error is not None and not op.error.not_found):
        return None  # not sent, fate unknown, or failed: decided again next step
    if plan.action is Plan.MOVE:
        # The old event is forgotten when recorded (generation + 1): the new create's transactionId too.
        return _create_op(link, connection.sync_calendar_id, desired, link.generation + 1)
    if plan.action is Plan.PROBE:
        if op.result is None:
            return _create_op(link, connection.sync_calendar_id, desired)
        if op.result.calendar_id != connection.sync_calendar_id:
            plan.action = Plan.PROBE_MOVE  # ours, but in a calendar no longer chosen: moved by us
            return Operation("delete", link.id, event_id=op.result.id)
        return Operation("update", link.id, link_key=link.link_key, event_id=op.result.id,
                         calendar_id=op.result.calendar_id, content=desired.content)  # fmt: skip
    if plan.action is Plan.PROBE_DELETE and op.result is not None:
        return Operation("delete", link.id, event_id=op.result.id)
    return None


async def _run(provider: Any, ops: list[Operation], deadline: float) -> None:
    if ops:
        await provider.run(ops, deadline=deadline)


def _loop() -> asyncio.AbstractEventLoop:
    """One event loop per thread, kept: a reusable HTTP client is bound to it."""
    try:
        loop = asyncio.get_event_loop_policy().get_event_loop()
        if loop.is_closed():
            raise RuntimeError
    except RuntimeError:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
    return loop


def claim(connection_id: int, worker_id: str) -> bool:
    """Take the connection's lease if it is free, expired or already ours (conditional UPDATE)."""
    now = timezone.now()
    return bool(
        CalendarConnection.objects.filter(id=connection_id)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now) | Q(lease_owner=worker_id))
        .update(lease_owner=worker_id, lease_expires_at=now + timedelta(seconds=settings.SYNC_LEASE_SECONDS))
    )


def hold_lease(connection_id: int, worker_id: str) -> bool:
    """Extend our lease before sending and before recording; False when another worker took the connection
    over after ours ran out (a step stuck behind the network gate or a long Retry-After can outlive it).
    Such a step neither sends nor records: two steps writing one connection's links would overwrite each
    other's remote ids. Whatever it already sent is safe to drop: its creates are committed as attempted
    (probed by the next step), its updates and deletes are simply repeated. Inside the recording
    transaction the UPDATE also holds the row, so nobody can claim it before the results are committed."""
    return bool(
        CalendarConnection.objects.filter(id=connection_id, lease_owner=worker_id).update(
            lease_expires_at=timezone.now() + timedelta(seconds=settings.SYNC_LEASE_SECONDS)
        )
    )


def release(connection_id: int, worker_id: str) -> None:
    CalendarConnection.objects.filter(id=connection_id, lease_owner=worker_id).update(
        lease_owner="", lease_expires_at=None
    )


def sync_one_connection(connection_id: int, *, worker_id: str, client: Any = None) -> bool:
    """One step for one connection. True when it did remote work or changed the connection's state."""
    if not claim(connection_id, worker_id):
        return False
    try:
        return _step(connection_id, worker_id, client)
    finally:
        release(connection_id, worker_id)


def _step(connection_id: int, worker_id: str, client: Any) -> bool:
    started = time.monotonic()
    now = timezone.now()
    connection = CalendarConnection.objects.select_related("user").filter(id=connection_id).first()
    if connection is None:
        return False
    if connection.status != Status.CONNECTED or not connection.sync_calendar_id:
        CalendarConnection.objects.filter(id=connection_id).update(sync_due_at=None)
        return False
    backend = get_backend(connection.provider)
    if backend.disabled_reason():
        return False  # integration off for everyone: events stay, marks stay, resumes when enabled
    if connection.retry_after_until and connection.retry_after_until > now:
        CalendarConnection.objects.filter(id=connection_id).update(sync_due_at=connection.retry_after_until)
        return False
    if retire_previous_connections(connection, now):
        return True  # deletes owed to the user's previous connection come first (retiring.py)
    links = list(
        EventLink.objects.filter(connection=connection, dirty=True)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("id")[: settings.SYNC_STEP_MAX_LINKS]
    )
    if not links:
        from shiftdesk.calendarsync.verify import verify_if_due

        verified = verify_if_due(connection, backend, client, now, started, worker_id)
        reschedule(connection_id)
        return verified
    desired = desired_for_links(connection, links, now)
    plans = [_plan(connection, link, desired[link.id]) for link in links]
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
        "step connection=%s links=%s prepare_ms=%d send_ms=%d record_ms=%d", connection_id, len(links),
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
        f"Paused: the next sync would delete {doomed} of this user's {total} upcoming events in Outlook. "
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
    try:
        token = backend.credentials(connection)
    except ProviderError as error:
        record.connection_error = error
        return
    deadline = started + settings.SYNC_LEASE_SECONDS / 2
    wanted = backend.requests_in_flight(len(work))
    with _network_phase(wanted) as requests:  # only the requests: the database work overlaps others'
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
    loop = _loop()
    provider = _open(backend, connection, token, client, requests)
    try:
        firsts = [p.first for p in work if p.first is not None]
        loop.run_until_complete(_run(provider, firsts, deadline))
        if any(op.error is not None and op.error.auth_expired for op in firsts):
            provider = _refreshed(connection, backend, client, provider, loop, record, requests)
            if provider is not None:
                again = [op for op in firsts if op.error is not None and op.error.auth_expired]
                for op in again:
                    op.error = None
                loop.run_until_complete(_run(provider, again, deadline))
        if provider is None:
            return
        seconds = []
        for plan in work:
            plan.second = _second_op(connection, plan)
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
            loop.run_until_complete(_run(provider, seconds, deadline))
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
    return _open(backend, connection, token, client, requests)


def reschedule(connection_id: int) -> None:
    """Set when the connection next has work: now if due links remain, else the earliest backoff, else never."""
    now = timezone.now()
    agg = EventLink.objects.filter(connection_id=connection_id, dirty=True).aggregate(
        due=Count("id", filter=Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)),
        later=Min("next_attempt_at"),
    )
    due_at = now if agg["due"] else agg["later"]
    row = CalendarConnection.objects.filter(id=connection_id).values("retry_after_until").first()
    if row and due_at and row["retry_after_until"] and row["retry_after_until"] > due_at:
        due_at = row["retry_after_until"]
    CalendarConnection.objects.filter(id=connection_id).update(sync_due_at=due_at)


# --- Remove Authorization with "delete future events" --------------------------------------------------------


@dataclass
class CapturedEvents:
    """What a disconnect needs to delete upcoming events after the connection row is gone."""

    user_id: int
    connection: CalendarConnection  # detached copy: credentials and provider, never saved again
    event_ids: list[str]


def capture_future_events(connection: CalendarConnection) -> CapturedEvents:
    now = timezone.now()
    ids = list(
        EventLink.objects.filter(connection=connection, shift_end__gt=now, deleted_in_outlook=False)
        .exclude(remote_event_id="")
        .values_list("remote_event_id", flat=True)
    )
    fresh = CalendarConnection.objects.select_related("user").get(pk=connection.pk)
    return CapturedEvents(connection.user_id, fresh, ids)


def delete_captured_events(captured: CapturedEvents) -> int:
    """Best-effort remote deletes after a disconnect; returns how many succeeded (404 counts)."""
    if not captured.event_ids:
        return 0
    backend = get_backend(captured.connection.provider)
    if backend.disabled_reason():
        return 0
    token = backend.credentials(captured.connection)
    ops = [Operation("delete", i, event_id=event_id) for i, event_id in enumerate(captured.event_ids)]
    loop = _loop()
    provider = backend.open(captured.connection, token)
    try:
        loop.run_until_complete(_run(provider, ops, time.monotonic() + settings.SYNC_LEASE_SECONDS))
    finally:
        loop.run_until_complete(provider.aclose())
    done = sum(1 for op in ops if op.fate is Fate.ANSWERED and (op.error is None or op.error.not_found))
    log.info("disconnect user=%s deleted_future_events=%s of=%s", captured.user_id, done, len(ops))
    return done
