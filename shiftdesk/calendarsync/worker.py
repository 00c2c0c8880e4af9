"""The sync worker's loop: claim due connections, run their steps on a pool of threads, sweep periodically.

Any number of workers on any number of hosts share the work through the database only: a connection is
claimed with `SELECT ... FOR UPDATE SKIP LOCKED` (PostgreSQL) or a conditional UPDATE (SQLite) and its lease
expires, so a killed worker's connections are taken over after SYNC_LEASE_SECONDS. The sweep re-enqueues
anything due (a lost wake-up only delays), starts export jobs and refreshes idle tokens.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

from shiftdesk.calendarsync.engine import sync_one_connection
from shiftdesk.calendarsync.exports import run_queued_exports
from shiftdesk.calendarsync.lease import reschedule
from shiftdesk.calendarsync.models import CalendarConnection, EventLink
from shiftdesk.calendarsync.network import RequestGate, event_loop, use_network_gate
from shiftdesk.calendarsync.providers import get_backend
from shiftdesk.calendarsync.retiring import disconnect_deletes_due, retire_disconnected
from shiftdesk.calendarsync.tokens import enqueue_idle_refreshes, idle
from shiftdesk.ops import heartbeat

log = logging.getLogger("shiftdesk.calendarsync.worker")
Status = CalendarConnection.Status


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _enabled_providers() -> list[str]:
    return [name for name in settings.SYNC_PROVIDERS if not get_backend(name).disabled_reason()]


def due_connections() -> Any:
    now = timezone.now()
    return (
        CalendarConnection.objects.filter(
            status=Status.CONNECTED, sync_due_at__lte=now, provider__in=_enabled_providers()
        )
        .filter(~Q(sync_calendar_id="") | idle(now))  # no calendar chosen yet: only to keep its token alive
        .filter(Q(retry_after_until__isnull=True) | Q(retry_after_until__lte=now))
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
    )


def claim_due_connections(
    worker_id: str, limit: int, exclude: set[int] | frozenset[int] = frozenset()
) -> list[int]:
    """Lease up to `limit` due connections to this worker; returns their ids (oldest due first)."""
    if limit <= 0:
        return []
    now = timezone.now()
    lease = now + timedelta(seconds=settings.SYNC_LEASE_SECONDS)
    candidates = due_connections().exclude(id__in=exclude).order_by("sync_due_at")
    if connection.vendor == "postgresql":
        with transaction.atomic():
            ids = list(
                candidates.select_for_update(skip_locked=True, of=("self",)).values_list("id", flat=True)[
                    :limit
                ]
            )
            if ids:
                CalendarConnection.objects.filter(id__in=ids).update(
                    lease_owner=worker_id, lease_expires_at=lease
                )
            return ids
    claimed = []
    for connection_id in candidates.values_list("id", flat=True)[: limit * 2]:
        # Conditional UPDATE: 0 rows means another worker took it first.
        if (
            CalendarConnection.objects.filter(id=connection_id)
            .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
            .update(lease_owner=worker_id, lease_expires_at=lease)
        ):
            claimed.append(connection_id)
            if len(claimed) >= limit:
                break
    return claimed


def requeue_lost_wakeups() -> int:
    """Connections with dirty links but no due time (a mark lost to a crash or bug) get one again."""
    ids = list(
        CalendarConnection.objects.filter(status=Status.CONNECTED, sync_due_at__isnull=True)
        .filter(id__in=EventLink.objects.filter(dirty=True).values("connection_id"))
        .values_list("id", flat=True)
    )
    for connection_id in ids:
        reschedule(connection_id)
    return len(ids)


def enqueue_verifications() -> int:
    """Connections with nothing to do whose events were not checked for a while get a step: every
    SYNC_DELTA_MINUTES with change tracking (one cheap request), else every SYNC_VERIFY_HOURS (verify.py)."""
    now = timezone.now()
    slow = now - timedelta(hours=settings.SYNC_VERIFY_HOURS)
    fast = now - timedelta(minutes=settings.SYNC_DELTA_MINUTES)
    return (
        CalendarConnection.objects.filter(status=Status.CONNECTED, sync_due_at__isnull=True)
        .filter(
            Q(last_verified_at__lt=slow)
            | Q(last_verified_at__isnull=True)
            | (Q(last_verified_at__lt=fast) & Q(delta_state__has_key="link"))
        )
        .exclude(sync_calendar_id="")
        .update(sync_due_at=timezone.now())
    )


def sweep(worker_id: str) -> None:
    """The periodic upkeep. Each part runs on its own: one failing (a database hiccup, a bug) is logged and
    the others still run, and the worker goes on (tests/calendarsync/test_worker_robust.py)."""
    if not connection.in_atomic_block:
        close_old_connections()
    for name, part in (
        ("requeue", requeue_lost_wakeups),
        ("verify", enqueue_verifications),
        ("exports", lambda: run_queued_exports(worker_id)),
        ("idle_refresh", lambda: enqueue_idle_refreshes(_enabled_providers())),
        ("heartbeat", lambda: heartbeat.beat("syncworker", worker_id)),  # Integration Status: a live worker
    ):
        try:
            part()
        except Exception:
            log.exception("sweep part %s failed; the worker goes on", name)
            if not connection.in_atomic_block and not connection.is_usable():
                connection.close()


def _sweep_safely(worker_id: str) -> None:
    try:
        sweep(worker_id)
    except Exception:  # e.g. close_old_connections itself: never end the worker
        log.exception("sweep failed; the worker goes on")


class Worker:
    """`run()` until stopped (SIGTERM sets `stopping`; each step in flight is allowed to finish)."""

    def __init__(self, concurrency: int | None = None, worker_id: str | None = None) -> None:
        self.concurrency = concurrency or settings.SYNC_WORKER_CONCURRENCY
        self.worker_id = worker_id or new_worker_id()
        self.stopping = threading.Event()
        self._local = threading.local()
        self.steps = 0
        self._gate: RequestGate | None = None  # set by run() with a thread pool

    def _client(self, provider: str) -> Any:
        clients = getattr(self._local, "clients", None)
        if clients is None:
            clients = self._local.clients = {}
        if provider not in clients:
            event_loop()  # the thread's event loop first: the client's pool binds to it
            clients[provider] = get_backend(provider).new_client()
        return clients[provider]

    def _step(self, connection_id: int) -> bool:
        try:
            provider = (
                CalendarConnection.objects.filter(id=connection_id).values_list("provider", flat=True).first()
            )
            if provider is None:
                return False
            use_network_gate(self._gate)
            return sync_one_connection(connection_id, worker_id=self.worker_id, client=self._client(provider))
        except Exception:
            log.exception("sync step failed for connection %s", connection_id)
            # Release our lease so another step (ours or another worker's) can try again soon.
            CalendarConnection.objects.filter(id=connection_id, lease_owner=self.worker_id).update(
                lease_owner="", lease_expires_at=None
            )
            return False
        finally:
            # Keep this thread's database connection across steps (reconnecting costs more than a step's
            # queries); drop it only when it failed. close_old_connections() runs with the sweep.
            if connection.errors_occurred and not connection.in_atomic_block and not connection.is_usable():
                connection.close()

    def _retire_disconnected(self) -> int:
        """Remove Authorization's deletes ("also delete future events"), a round at a time; never raises."""
        try:
            return retire_disconnected(self.worker_id)
        except Exception:
            log.exception("deleting events after Remove Authorization failed; tried again later")
            return 0
        finally:
            if connection.errors_occurred and not connection.in_atomic_block and not connection.is_usable():
                connection.close()

    def run(self, *, once: bool = False) -> int:
        """Work until stopped; with `once`, until nothing is due (then return). Returns steps run."""
        if self.concurrency == 1:
            return self._run_inline(once=once)
        in_flight: dict[Future, int] = {}
        last_sweep = 0.0
        # The budget: `concurrency` mailboxes' worth of requests in flight (x SYNC_MAX_CONCURRENCY_PER_MAILBOX).
        # A Graph step with up to 40 writes uses 2 of a mailbox's 4 (two $batch lanes of 20), so up to twice
        # `concurrency` steps send at once; half as many threads again run their database phases meanwhile.
        self._gate = RequestGate(self.concurrency * settings.SYNC_MAX_CONCURRENCY_PER_MAILBOX)
        threads = 2 * self.concurrency + max(1, self.concurrency // 2)
        return self._run_pool(threads, in_flight, last_sweep, once=once)

    def _run_pool(self, threads: int, in_flight: dict[Future, int], last_sweep: float, *, once: bool) -> int:
        deleting: Future | None = None
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sync") as pool:
            while not self.stopping.is_set():
                if time.monotonic() - last_sweep >= settings.SYNC_SWEEP_SECONDS or once and not in_flight:
                    _sweep_safely(self.worker_id)
                    last_sweep = time.monotonic()
                # "Run the Export" should start within a poll, not a sweep: one cheap query when none is queued.
                run_queued_exports(self.worker_id)
                # Remove Authorization's deletes: on a pool thread, one round at a time (never the claim thread).
                if (deleting is None or deleting.done()) and disconnect_deletes_due(timezone.now()):
                    deleting = pool.submit(self._retire_disconnected)
                busy = set(in_flight.values())
                for connection_id in claim_due_connections(self.worker_id, threads - len(in_flight), busy):
                    in_flight[pool.submit(self._step, connection_id)] = connection_id
                if not in_flight:
                    if once:  # until nothing is due: the deletes round in flight, then more rounds if due
                        if deleting is not None and not deleting.done():
                            deleting.result()
                            continue
                        if disconnect_deletes_due(timezone.now()):
                            continue
                        break
                    self.stopping.wait(settings.SYNC_WORKER_POLL_SECONDS)
                    continue
                done, _ = wait(
                    list(in_flight), timeout=settings.SYNC_WORKER_POLL_SECONDS, return_when=FIRST_COMPLETED
                )
                for future in done:
                    in_flight.pop(future)
                    self.steps += 1
            for future in list(in_flight):  # SIGTERM: let the steps in flight finish and record
                future.result()
        return self.steps

    def _run_inline(self, *, once: bool) -> int:
        """Concurrency 1: steps on this thread (one database connection; what a small SQLite site runs)."""
        last_sweep = 0.0
        while not self.stopping.is_set():
            if time.monotonic() - last_sweep >= settings.SYNC_SWEEP_SECONDS or once:
                _sweep_safely(self.worker_id)
                last_sweep = time.monotonic()
            run_queued_exports(self.worker_id)
            while disconnect_deletes_due(timezone.now()) and not self.stopping.is_set():
                if not self._retire_disconnected():
                    break
            claimed = claim_due_connections(self.worker_id, 1)
            if not claimed:
                if once:
                    break
                self.stopping.wait(settings.SYNC_WORKER_POLL_SECONDS)
                continue
            self._step(claimed[0])
            self.steps += 1
        return self.steps
