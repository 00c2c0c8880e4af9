"""Run the Export (both options, never duplicating), the worker loop, the sweep, and the listener's contract."""

from __future__ import annotations

import pytest
from django.db import transaction

from tests.calendarsync.conftest import PROVIDERS


@pytest.mark.parametrize("provider", PROVIDERS)
def test_export_not_exported_creates_events_for_shifts_assigned_before_authorization(sync):
    from shiftdesk.calendarsync.actions import do_start_export
    from shiftdesk.calendarsync.exports import export_progress
    from shiftdesk.calendarsync.models import ExportJob
    from shiftdesk.calendarsync.worker import Worker

    bob = sync.add_user(0, connect=False)
    for d in range(3):
        sync.assign(sync.shift(days=1 + d), bob)
    sync.connect(bob)
    job = do_start_export(bob, option=ExportJob.Option.NOT_EXPORTED, by=bob)
    assert export_progress(job)["status"] == "queued"

    Worker(concurrency=1, worker_id="w1").run(once=True)
    progress = export_progress(job)
    assert progress["status"] == "done", progress
    assert (progress["done"], progress["total"], progress["errors"]) == (3, 3, 0)
    assert len(sync.events(bob)) == 3

    # Nothing left that was not exported: a second run has nothing to do.
    again = do_start_export(bob, option=ExportJob.Option.NOT_EXPORTED, by=bob)
    Worker(concurrency=1, worker_id="w1").run(once=True)
    assert export_progress(again)["total"] == 0 and export_progress(again)["status"] == "done"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_export_all_finds_and_updates_events_instead_of_duplicating(sync):
    from shiftdesk.calendarsync.actions import do_disconnect_calendar, do_start_export
    from shiftdesk.calendarsync.models import ExportJob
    from shiftdesk.calendarsync.worker import Worker
    from shiftdesk.scheduling.models import Position

    bob = sync.add_user(0)
    for d in range(3):
        sync.assign(sync.shift(days=1 + d), bob)
    sync.drain(bob)
    ids = sorted(e["id"] for e in sync.events(bob))
    # Reconnect: the new connection knows nothing of the old events (links are gone with the old one).
    do_disconnect_calendar(sync.connection(bob))
    sync.connect(bob)
    Position.objects.filter(pk=sync.position.pk).update(name="Info Desk")
    job = do_start_export(bob, option=ExportJob.Option.ALL, by=sync.admin)
    Worker(concurrency=1, worker_id="w1").run(once=True)
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == ("done", 3, 3)
    events = sync.events(bob)
    assert sorted(e["id"] for e in events) == ids  # the same events, found by link key
    assert {e["subject"] for e in events} == {"Info Desk - Reference"}  # and rewritten


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_worker_drains_many_connections_and_the_sweep_requeues_lost_wakeups(sync):
    from shiftdesk.calendarsync.models import CalendarConnection
    from shiftdesk.calendarsync.worker import Worker

    users = [sync.add_user(i) for i in range(4)]
    for user in users:
        for d in range(3):
            sync.assign(sync.shift(days=1 + d), user)
    # A lost wake-up: the marks are there but the connection's due time was lost.
    CalendarConnection.objects.filter(user=users[0]).update(sync_due_at=None)
    Worker(concurrency=1, worker_id="w1").run(once=True)
    assert [len(sync.events(u)) for u in users] == [3, 3, 3, 3]
    assert CalendarConnection.objects.filter(sync_due_at__isnull=False).count() == 0


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_listener_marks_in_the_same_transaction(sync):
    from shiftdesk.calendarsync.models import EventLink

    bob = sync.add_user(0)
    shift = sync.shift()
    with pytest.raises(RuntimeError), transaction.atomic():
        sync.assign(shift, bob)
        assert EventLink.objects.filter(dirty=True).count() == 1
        raise RuntimeError("the assignment rolls back")
    assert not EventLink.objects.exists()
    assert sync.step(bob) is False


def test_the_structured_log_names_the_action_and_never_a_token(
    sync, caplog
):  # Microsoft-only: Graph ids and MSAL's cache
    import json

    bob = sync.add_user(0)
    sync.assign(sync.shift(), bob)
    caplog.set_level("INFO", logger="shiftdesk.calendarsync")
    sync.step(bob)
    lines = [r.getMessage() for r in caplog.records if r.name == "shiftdesk.calendarsync"]
    assert any("action=create outcome=ok" in line and f"connection={sync.connection(bob).id}" in line
               and "ms=" in line and "remote_id=AAMk" in line for line in lines)  # fmt: skip
    cache = json.loads(sync.connection(bob).credentials)
    secrets = [v["secret"] for kind in ("AccessToken", "RefreshToken") for v in cache[kind].values()]
    assert secrets and not any(s in line for s in secrets for line in caplog.text.splitlines())


@pytest.mark.django_db(transaction=True)
def test_the_worker_overlaps_database_work_but_never_has_more_requests_in_flight_than_its_budget(
    sync, monkeypatch
):
    """--concurrency 2 is a budget of 2 x 4 = 8 requests in flight. Each step here has 45 writes: 3 $batch
    lanes of 15, so 3 requests; two steps send at once (6), a third waits for the budget (9 > 8) while the
    other threads plan or record."""
    import threading
    import time

    from shiftdesk.calendarsync import engine
    from shiftdesk.calendarsync import step as step_module
    from shiftdesk.calendarsync.worker import Worker

    users = [sync.add_user(i) for i in range(4)]
    shifts = [sync.shift(days=1 + d) for d in range(45)]
    from shiftdesk.scheduling.actions import do_bulk_assign_staff

    do_bulk_assign_staff([(s, u) for s in shifts for u in users], by=sync.admin, override_conflicts=True)
    lock = threading.Lock()
    counts = {
        "sending": 0,
        "max_sending": 0,
        "requests": 0,
        "max_requests": 0,
        "stepping": 0,
        "max_stepping": 0,
    }

    def bump(key: str, by: int) -> None:
        with lock:
            counts[key] += by
            counts[f"max_{key}"] = max(counts[f"max_{key}"], counts[key])

    real_send, real_record = step_module._send_requests, step_module.record_step

    def send(*args, **kwargs):
        requests = args[-1]
        bump("sending", 1)
        bump("requests", requests)
        try:
            time.sleep(0.2)  # a slow network phase: steps waiting for the gate pile up
            return real_send(*args, **kwargs)
        finally:
            bump("requests", -requests)
            bump("sending", -1)

    def step(connection_id, **kwargs):
        bump("stepping", 1)
        try:
            return real_step(connection_id, **kwargs)
        finally:
            bump("stepping", -1)

    real_step = engine.sync_one_connection
    monkeypatch.setattr(step_module, "_send_requests", send)
    monkeypatch.setattr("shiftdesk.calendarsync.worker.sync_one_connection", step)
    monkeypatch.setattr(step_module, "record_step", real_record)
    Worker(concurrency=2, worker_id="gate").run(once=True)
    assert [len(sync.events(u)) for u in users] == [45] * 4
    assert counts["max_requests"] == 6  # the budget (8): never a third step of 3 requests at once
    assert counts["max_sending"] == 2
    assert counts["max_stepping"] >= 3  # but other steps plan or record meanwhile
