"""/healthz for load balancers and the workers' heartbeat on Integration Status (issue 11, item 8)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import DatabaseError
from django.utils import timezone

from shiftdesk.ops import heartbeat
from shiftdesk.ops.models import Heartbeat
from tests.ops.conftest import ROOT

STATUS = "/admin/accounts/integration-status/"


def test_healthz_answers_200_with_the_database_on_any_host_without_login(client, db):
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")  # a load balancer probing by address
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json" and response["Cache-Control"] == "no-store"
    assert json.loads(response.content) == {
        "status": "ok",
        "database": "ok",
        "workers": {"syncworker": "stale", "refreshbusy": "stale"},
    }
    assert client.head("/healthz/").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_healthz_is_not_redirected_to_https(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/login/").status_code == 301  # everything else is


def test_healthz_answers_503_when_the_database_does_not(client, db, monkeypatch):
    from django.db.backends.utils import CursorWrapper

    def refuse(self, sql, params=None):
        raise DatabaseError("connection refused")

    with monkeypatch.context() as patch:  # the database server gone (only for this request)
        patch.setattr(CursorWrapper, "execute", refuse)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.content) == {"status": "error", "database": "unreachable"}


def test_a_beat_makes_a_worker_alive_and_it_goes_stale_after_the_limit(db, settings, time_machine):
    settings.SHIFTDESK_HEARTBEAT_STALE_SECONDS = 300
    time_machine.move_to(dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC), tick=False)
    heartbeat.beat("syncworker", "host-a:1:abc")
    heartbeat.beat("syncworker", "host-a:1:abc")  # the same worker again: still one row
    assert Heartbeat.objects.count() == 1
    assert [k for k, _label, _last in heartbeat.stale_kinds()] == ["refreshbusy"]
    time_machine.move_to(dt.datetime(2026, 12, 4, 12, 5, 1, tzinfo=dt.UTC), tick=False)
    assert [k for k, _label, _last in heartbeat.stale_kinds()] == ["syncworker", "refreshbusy"]
    time_machine.move_to(dt.datetime(2026, 12, 5, 12, 10, tzinfo=dt.UTC), tick=False)
    heartbeat.beat("refreshbusy", "host-b:2")  # a new worker forgets those gone for a day
    assert list(Heartbeat.objects.values_list("worker", flat=True)) == ["host-b:2"]


def test_integration_status_warns_while_no_worker_is_alive(alice_client, settings):
    page = alice_client.get(STATUS).content.decode()
    assert 'data-worker-stale="syncworker"' in page and 'data-worker-stale="refreshbusy"' in page
    assert (
        "No Sync worker (manage.py syncworker) has been alive for the last few minutes (never seen)" in page
    )
    heartbeat.beat("syncworker", "host-a:1")
    heartbeat.beat("refreshbusy", "host-a:2")
    page = alice_client.get(STATUS).content.decode()
    assert "data-worker-stale" not in page
    Heartbeat.objects.filter(kind="refreshbusy").update(last_seen=timezone.now() - dt.timedelta(minutes=6))
    page = alice_client.get(STATUS).content.decode()
    assert 'data-worker-stale="refreshbusy"' in page and 'data-worker-stale="syncworker"' not in page
    assert "busy times from Outlook are not being refreshed" in page and "last seen" in page


def database_url(settings) -> str:
    """The URL of the database this test runs on, for the worker processes it starts."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_the_real_workers_beat_and_healthz_sees_them(client, settings):
    """`manage.py syncworker` (its sweep) and `manage.py refreshbusy` (its loop) record their heartbeat: the
    one-line calls in calendarsync/worker.py and the refreshbusy command. Real processes on this database."""
    env = {**os.environ, "DATABASE_URL": database_url(settings), "DEBUG": "true", "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, "manage.py", name],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for name in ("syncworker", "refreshbusy")
    ]
    try:
        deadline = time.monotonic() + 60
        while set(Heartbeat.objects.values_list("kind", flat=True)) != {"syncworker", "refreshbusy"}:
            assert time.monotonic() < deadline, [w.poll() for w in workers]
            assert all(w.poll() is None for w in workers), workers[0].stderr.read() + workers[1].stderr.read()
            time.sleep(0.05)  # polling for the rows; the deadline decides
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(30)
    assert json.loads(client.get("/healthz").content)["workers"] == {
        "syncworker": "alive",
        "refreshbusy": "alive",
    }
