"""Two workers on PostgreSQL at once never work the same connection (SKIP LOCKED claims + leases).

PostgreSQL only: SQLite has one writer at a time, so the question does not arise there.
"""

# Microsoft only: the claims are database code, the same for every provider.

from __future__ import annotations

import threading
import time
from collections import defaultdict

import pytest
from django.conf import settings
from django.db import connection, connections, transaction

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="needs PostgreSQL (SELECT ... FOR UPDATE SKIP LOCKED); run with DATABASE_URL=postgres://...",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_skip_locked_claims_hand_out_disjoint_connections(sync):
    from shiftdesk.calendarsync.models import CalendarConnection
    from shiftdesk.calendarsync.worker import claim_due_connections

    users = [sync.add_user(i) for i in range(6)]
    for user in users:
        sync.assign(sync.shift(), user)
    got: dict[str, list[int]] = {}
    holding = threading.Event()
    release = threading.Event()

    def slow_claimer():
        # Holds row locks on 3 due connections (as a claim in progress would), then lets go.
        try:
            with transaction.atomic():
                ids = list(
                    CalendarConnection.objects.filter(sync_due_at__isnull=False)
                    .order_by("id")
                    .select_for_update()
                    .values_list("id", flat=True)[:3]
                )
                got["locked"] = ids
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=slow_claimer)
    thread.start()
    assert holding.wait(10)
    started = time.monotonic()
    got["other"] = claim_due_connections("worker-b", 10)
    waited = time.monotonic() - started
    release.set()
    thread.join()
    assert waited < 2  # skipped the locked rows instead of waiting for them
    assert got["other"] and not set(got["other"]) & set(got["locked"])
    assert len(got["other"]) == 3


def test_two_workers_never_step_the_same_connection_at_once(sync, monkeypatch):
    from shiftdesk.calendarsync import engine
    from shiftdesk.calendarsync.worker import Worker

    users = [sync.add_user(i) for i in range(12)]  # more than one worker's threads (2 x 2 + 1) can hold
    for user in users:
        for d in range(6):
            sync.assign(sync.shift(days=1 + d), user)
    monkeypatch.setattr(settings, "SYNC_STEP_MAX_LINKS", 2)  # many small steps: many chances to collide
    intervals: dict[int, list[tuple[float, float, str]]] = defaultdict(list)
    lock = threading.Lock()
    real_step = engine._step

    def recording_step(connection_id, worker_id, client):
        start = time.monotonic()
        try:
            return real_step(connection_id, worker_id, client)
        finally:
            with lock:
                intervals[connection_id].append((start, time.monotonic(), worker_id))

    monkeypatch.setattr(engine, "_step", recording_step)
    workers = [Worker(concurrency=2, worker_id=f"worker-{n}") for n in "ab"]
    threads = [threading.Thread(target=w.run, kwargs={"once": True}) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    connections.close_all()
    assert [len(sync.events(u)) for u in users] == [6] * len(users)
    assert {w for spans in intervals.values() for _, _, w in spans} == {"worker-a", "worker-b"}
    for spans in intervals.values():
        spans.sort()
        for (_, end, _), (start, _, _) in zip(spans, spans[1:], strict=False):
            assert start >= end, "two steps of one connection overlapped"
    assert connection.vendor == "postgresql"
