"""Chaos subset over EWS: 6 users x 8 shifts, a burst of edits and unassignments, while the emulator answers
5% of EWS requests with 503, 5% with 429, drops 2% of connections, sends ErrorServerBusy, and the worker
"dies" after sending but before recording now and then. When everything drains, each mailbox holds exactly
the desired events (one per assigned shift, with the latest content), counted from the emulator's raw state."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from m365emulator.ews.store import ews_settings
from tests.calendarsync.conftest import link_key_of


@pytest.mark.slow  # chaos: dev.py test --fast leaves it out
def test_ews_sync_converges_to_exactly_the_desired_events_under_faults(sync, monkeypatch):
    from shiftdesk.calendarsync import step as engine
    from shiftdesk.scheduling.actions import do_unassign_staff, do_update_shift
    from shiftdesk.scheduling.models import Assignment

    rng = random.Random(20261125)
    users = [sync.add_user(i) for i in range(6)]
    shifts = [sync.shift(days=1 + i) for i in range(8)]
    for user in users:
        for shift in shifts:
            sync.assign(shift, user)

    sync.faults(status_rates={"503": 0.05, "429": 0.05}, drop_rate=0.02, seed=11, paths=["/EWS"])
    ews_settings(sync.emulator.state).busy_requests = 3
    real_record = engine.record_step

    def sometimes_die(record):
        if rng.random() < 0.15:
            raise RuntimeError("worker killed between sending and recording")
        return real_record(record)

    monkeypatch.setattr(engine, "record_step", sometimes_die)

    deaths = []

    def churn():
        for _ in range(3):
            for user in users:
                try:
                    sync.step(user)
                except RuntimeError:
                    deaths.append(user.pk)

    churn()
    for shift in shifts[:3]:  # the burst: edits for everyone on them...
        do_update_shift(shift, position=shift.position, location="Annex", start=shift.start, end=shift.end,
                        staff_needed=shift.staff_needed, note="moved", by=sync.admin)  # fmt: skip
    for user in users[:3]:  # ...and a few unassignments (under the safety brake's half)
        do_unassign_staff(shifts[7], user, by=sync.admin)
    churn()

    monkeypatch.undo()
    injected = sync.emulator.control.get("/faults").json()["injected"]
    assert injected > 0 and deaths  # the chaos really happened
    sync.emulator.control.delete("/faults")
    ews_settings(sync.emulator.state).busy_requests = 0
    for user in users:
        sync.drain(user)

    for user in users:
        events = sync.events(user)
        keys = Counter(link_key_of(e) for e in events)
        desired = {f"shiftdesk-{user.pk}-{a.shift_id}" for a in Assignment.objects.filter(user=user)}
        assert set(keys) == desired, user
        assert all(n == 1 for n in keys.values()), keys  # never a duplicate
        for event in events:
            shift_id = int(link_key_of(event).rsplit("-", 1)[1])
            expected = "Annex" if shift_id in {s.pk for s in shifts[:3]} else "Main Library"
            assert event["location"] == expected
