"""The refreshbusy loop's hook for Outlook change notifications: notified users made due on every pass, the
subscriptions reconciled once a minute, and a failing sweep never stopping the worker."""

from __future__ import annotations

import logging

from shiftdesk.availability import notifications


def test_it_reconciles_once_an_interval_and_makes_notified_users_due_every_pass(db, monkeypatch):
    calls = {"sweep": 0, "due": 0}

    def sweep(**kwargs):
        calls["sweep"] += 1
        return {}

    def due(now=None):
        calls["due"] += 1
        return 0

    monkeypatch.setattr(notifications, "sweep_subscriptions", sweep)
    monkeypatch.setattr(notifications, "make_notified_users_due", due)
    sweeper = notifications.Sweeper(every=3600)
    for _ in range(3):
        sweeper.tick()
    assert calls == {"sweep": 1, "due": 3}
    sweeper.every = 0
    sweeper.tick()
    assert calls == {"sweep": 2, "due": 4}


def test_a_failing_sweep_is_logged_and_does_not_stop_the_worker(db, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(notifications, "sweep_subscriptions", broken)
    with caplog.at_level(logging.ERROR, logger="shiftdesk.availability.notifications"):
        notifications.Sweeper().tick()
    assert "sweep failed" in caplog.text


def test_with_nothing_to_do_the_sweep_sends_nothing(db):
    # No connection at all: no Graph client is even made (it would fail: no emulator here).
    assert notifications.sweep_subscriptions(threads=1) == {}
