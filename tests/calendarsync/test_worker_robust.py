"""The worker keeps going: a failing sweep is logged and the steps still run; and local times keep `fold`, so
a shift in the repeated hour of the DST fall-back night lands at its own instant."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.calendarsync.conftest import PROVIDERS
from tests.dst import next_dst_changes

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)  # the pool's threads have their own database connections
@pytest.mark.parametrize("concurrency", [1, 2])  # Microsoft only: worker code, the same for every provider
def test_a_failing_sweep_is_logged_and_the_worker_goes_on(sync, monkeypatch, caplog, concurrency):
    from shiftdesk.calendarsync import worker

    bob = sync.add_user(0)
    sync.assign(sync.shift(), bob)

    def broken():
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(worker, "requeue_lost_wakeups", broken)
    monkeypatch.setattr(worker, "enqueue_verifications", broken)
    worker.Worker(concurrency=concurrency, worker_id="robust").run(once=True)
    assert len(sync.events(bob)) == 1  # the steps ran
    failed = [r for r in caplog.records if "sweep part" in r.getMessage()]
    assert {r.getMessage().split()[2] for r in failed} == {"requeue", "verify"}
    assert all(r.exc_info for r in failed)


def test_local_wall_times_keep_fold_in_the_repeated_hour():
    from shiftdesk.calendarsync.render import to_local_datetime

    first = datetime(2027, 11, 7, 6, 30, tzinfo=UTC)  # 01:30 CDT, America/Chicago
    second = datetime(2027, 11, 7, 7, 30, tzinfo=UTC)  # 01:30 CST, an hour later
    a, b = to_local_datetime(first, "America/Chicago"), to_local_datetime(second, "America/Chicago")
    assert a != b  # the same wall time would name both
    for instant, written in ((first, a), (second, b)):
        wall = datetime.fromisoformat(written["dateTime"])
        from zoneinfo import ZoneInfo

        assert wall.replace(tzinfo=ZoneInfo(written["timeZone"])) == instant
    ordinary = to_local_datetime(datetime(2027, 11, 8, 7, 30, tzinfo=UTC), "America/Chicago")
    assert ordinary == {"dateTime": "2027-11-08T01:30:00", "timeZone": "America/Chicago"}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_shift_in_the_repeated_hour_of_the_fall_back_night_is_synced_at_its_instant(sync):
    from shiftdesk.scheduling.actions import do_create_shift
    from shiftdesk.scheduling.models import Site

    Site.objects.filter(pk=Site.load().pk).update(time_zone="America/Chicago")
    bob = sync.add_user(0)
    # 01:30 in Chicago twice on the next fall-back night: 06:30 UTC (still CDT) and 07:30 UTC (CST again).
    chicago = ZoneInfo("America/Chicago")
    _, fall = next_dst_changes(chicago, datetime.now(chicago).date() + timedelta(days=1))
    starts = [datetime.combine(fall, time(6, 30), UTC), datetime.combine(fall, time(7, 30), UTC)]
    for start in starts:
        shift = do_create_shift(sync.schedule, position=sync.position, location="Main", start=start,
                                end=start + timedelta(minutes=45), staff_needed=1, note="", by=sync.admin)  # fmt: skip
        sync.assign(shift, bob)
    sync.drain(bob)
    got = sorted(datetime.fromisoformat(e["start"]).replace(tzinfo=UTC) for e in sync.events(bob))
    assert got == starts


# Microsoft-only: the page's progress (Google's retiring deletes: test_engine_failures' Remove Authorization test).
def test_remove_authorization_deletes_future_events_in_the_worker_with_progress_on_the_page(
    sync, client, settings
):
    """No Graph call in the web request (gunicorn would kill a long one): the worker deletes the events a round
    of DISCONNECT_CHUNK at a time, and the Calendar Sync tab says how far it got."""
    from shiftdesk.calendarsync import retiring
    from shiftdesk.calendarsync.models import RetiringConnection
    from shiftdesk.calendarsync.worker import Worker

    monkey_chunk = 3
    bob = sync.add_user(0)
    for d in range(5):
        sync.assign(sync.shift(days=1 + d), bob)
    sync.drain(bob)
    before = len(sync.emulator.control.get("/graph/requests", params={"limit": 10000}).json()["value"])
    client.force_login(bob)
    response = client.post("/account/calendar-sync/microsoft/remove/", {"delete_future_events": "on"})
    assert response.status_code == 302
    rows = sync.emulator.control.get("/graph/requests", params={"limit": 10000}).json()["value"][before:]
    assert [r for r in rows if r["path"].startswith("/v1.0")] == []  # nothing sent by the request
    assert len(sync.events(bob)) == 5
    page = client.get("/account/calendar-sync/").content.decode()
    assert 'data-removal-progress="0/5"' in page

    original = retiring.DISCONNECT_CHUNK
    retiring.DISCONNECT_CHUNK = monkey_chunk
    try:
        assert retiring.retire_disconnected("w") == 1  # one round: 3 of 5
    finally:
        retiring.DISCONNECT_CHUNK = original
    assert len(sync.events(bob)) == 2
    assert 'data-removal-progress="3/5"' in client.get("/account/calendar-sync/").content.decode()
    Worker(concurrency=1, worker_id="w").run(once=True)
    assert sync.events(bob) == []
    assert not RetiringConnection.objects.exists()  # the credentials copy is gone with it
    assert "data-removal-progress" not in client.get("/account/calendar-sync/").content.decode()
