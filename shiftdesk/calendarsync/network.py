"""The network side of a step: a worker's budget of requests in flight, the per-thread event loop, and
opening a provider under the step's lease. The bottom layer of the engine with lease.py (docs/sync-engine.md):
it imports nothing of plan, record or step.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.conf import settings

from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.calendarsync.providers.base import Operation

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
def network_phase(requests: int | None = None) -> Iterator[int]:
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


def open_provider(
    backend: Any, connection: CalendarConnection, token: str, client: Any, requests: int
) -> Any:
    """A provider for one step, under the step's lease: nothing is sent after the lease could have passed
    to another worker (pacing.Pacer.hold; the lease was extended just before)."""
    provider = backend.open(connection, token, client=client)
    provider.max_concurrency = max(1, min(provider.max_concurrency, requests))
    pacer = getattr(provider, "pacer", None)
    if pacer is not None:
        pacer.hold(settings.SYNC_LEASE_SECONDS)
    return provider


async def run_ops(provider: Any, ops: Sequence[Operation], deadline: float) -> None:
    if ops:
        await provider.run(ops, deadline=deadline)


def event_loop() -> asyncio.AbstractEventLoop:
    """One event loop per thread, kept: a reusable HTTP client is bound to it."""
    try:
        loop = asyncio.get_event_loop_policy().get_event_loop()
        if loop.is_closed():
            raise RuntimeError
    except RuntimeError:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
    return loop
