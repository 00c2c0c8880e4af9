"""Chaos: 50 users x 20 shifts (half of them syncing with a non-default "Work" calendar), a burst of edits,
unassignments and calendar switches, while the emulator injects 2% 429 and 1% 503 with a Retry-After above the
engine's inline maximum (so steps stop early and store it), 1% dropped connections and 1% lost responses
(carried out, never answered); one user's access token expires mid-run; a worker process is SIGKILLed twice,
each time at a moment it is known to be mid-pass: frozen (SIGSTOP) while one of its creates has landed in
Outlook and is not yet recorded (the database and the emulator's raw state say so), never after a sleep.
When the queue drains, every mailbox holds exactly the desired events, once, in the chosen calendar, with
current content, and every link records the event and calendar it really has — counted from the raw state.

Runs on a database of its own (an SQLite file, or a fresh PostgreSQL database when the session uses
PostgreSQL) so real worker processes share it with the scenario steps.

The same run for each provider: Outlook (Graph's 429/503 with Retry-After) and Google Calendar (429, 403
rateLimitExceeded and 503 without Retry-After, as Google sends them: the engine backs off exponentially, 1 to
4 s here, above the inline maximum too; drops and lost answers hit whole batch requests, Google's batch
items fail one by one). About a minute each.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from django.db import connection

from tests.calendarsync.conftest import (
    PROVIDERS,
    google_control,
    google_mailbox,
    google_world_spec,
    link_key_of,
    world_spec,
)

ROOT = Path(__file__).resolve().parents[2]
USERS, SHIFTS = 50, 20
# Seconds of Retry-After a step waits out itself (SYNC_INLINE_RETRY_AFTER_MAX_SECONDS, 5 in production, lowered
# here so the run stays short); every injected 429/503 says RETRY_AFTER, above it: the step stops early and
# stores it on the connection, and no worker sends to that mailbox before then.
INLINE_MAX = 1
RETRY_AFTER = INLINE_MAX + 1


@pytest.fixture
def chaos_db(db, tmp_path):
    """A DATABASE_URL for subprocesses, migrated; dropped afterwards on PostgreSQL."""
    if connection.vendor == "postgresql":
        import psycopg

        s = connection.settings_dict
        name = f"shiftdesk_chaos_{uuid.uuid4().hex[:8]}"
        base = f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}"
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{base}/{name}"
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        yield f"sqlite:///{tmp_path / 'chaos.sqlite3'}"


def _env(emulator, database_url: str, tmp_path: Path, client_id: str, provider: str) -> dict:
    env = dict(os.environ)
    env.update(
        CHAOS_PROVIDER=provider,
        GOOGLE_ACCOUNTS_URL=emulator.base_url + "/google",
        GOOGLE_OAUTH_URL=emulator.base_url + "/google",
        GOOGLE_API_URL=emulator.base_url + "/google",
        GOOGLE_CA_BUNDLE=emulator.ca_file,
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="shiftdesk.settings",
        SHIFTDESK_VAR_DIR=str(tmp_path / "var"),
        SHIFTDESK_PUBLIC_URL="http://127.0.0.1:8000",
        MICROSOFT_LOGIN_URL=emulator.base_url,
        MICROSOFT_GRAPH_URL=emulator.base_url,
        MICROSOFT_CA_BUNDLE=emulator.ca_file,
        SHIFTDESK_FAST_PASSWORD_HASHER="true",
        SHIFTDESK_SYNC_LEASE_SECONDS="5",  # a killed worker's connections come back quickly
        SHIFTDESK_SYNC_BACKOFF_BASE_SECONDS="1",
        SHIFTDESK_SYNC_BACKOFF_MAX_SECONDS="4",
        SHIFTDESK_SYNC_POLL_SECONDS="0.2",
        SHIFTDESK_SYNC_SWEEP_SECONDS="2",
        SHIFTDESK_SYNC_STEP_MAX_LINKS="25",  # small steps: kills land mid-pass
        # Google batches of 5: a step's 25 writes are 5 batches in its 4 lanes, so creates answered in one
        # batch wait unrecorded while another lane's batch runs (the moment a kill needs; with one batch of 25
        # per step that moment was too short to meet, and the second kill timed out on PostgreSQL). A Graph
        # step's 25 writes are already two $batch requests (20 a batch).
        SHIFTDESK_SYNC_GOOGLE_BATCH_SIZE="5",
        SHIFTDESK_SYNC_INLINE_RETRY_AFTER_MAX_SECONDS=str(INLINE_MAX),
        CHAOS_CLIENT_ID=client_id,
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    return env


def _run(env, *args) -> dict:
    out = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else {}


def _worker(env, tmp_path: Path, name: str) -> subprocess.Popen:
    log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "manage.py", "syncworker", "--concurrency", "8"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip


def _unrecorded_creates(database_url: str) -> list[tuple[str, str, str]]:
    """(link key, account, lease owner) of links whose create was attempted and is not recorded, read straight
    from the chaos database (no Django here: the test process's own database is another one)."""
    sql = (
        "SELECT l.link_key, c.account_email, c.lease_owner FROM calendarsync_eventlink l "
        "JOIN calendarsync_calendarconnection c ON c.id = l.connection_id "
        "WHERE l.create_attempted AND l.remote_event_id = '' AND l.dirty"
    )
    if database_url.startswith("sqlite:///"):
        import sqlite3

        # The workers are frozen (SIGSTOP) while this reads. One frozen in the middle of a WAL reset, or all
        # read-mark slots held by frozen readers of older snapshots, keeps a new reader out until they run
        # again: then nothing can be seen this time ("no unrecorded create"), the workers go on, and the
        # caller looks again. Waiting here would wait for processes that cannot move.
        try:
            with sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=1) as db:
                return db.execute(sql).fetchall()
        except sqlite3.OperationalError as error:
            if "locked" not in str(error):
                raise
            return []
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as db:
        return db.execute(sql).fetchall()


def _events_reader(provider: str, emulator):
    """upn -> the live events of that mailbox / Google account, in the neutral shape (conftest.google_view)."""
    if provider == "google":
        control = google_control(emulator)
        return lambda upn: google_mailbox(control, upn)["events"]
    return lambda upn: emulator.control.get(f"/graph/mailboxes/{upn}").json()["events"]


def _kill_mid_pass(events_of, database_url: str, workers: dict, name: str, timeout: float = 120) -> str:
    """SIGKILL workers[name] at a known moment: all workers are frozen (SIGSTOP), and only if a create that
    this worker's step sent has landed in Outlook (its event is in the raw mailbox) while its link is not
    recorded (and the connection is still leased to this worker) does the kill land; else they go on and we
    look again. Returns the link key of the create the killed worker left unrecorded."""
    victim = workers[name]
    mark = f":{victim.pid}:"  # worker ids are host:pid:random (worker.new_worker_id)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in workers.values():
            proc.send_signal(signal.SIGSTOP)
        try:
            for key, upn, owner in _unrecorded_creates(database_url):
                if mark not in owner:
                    continue
                if any(link_key_of(e) == key for e in events_of(upn)):
                    victim.send_signal(signal.SIGKILL)
                    victim.wait()
                    return key
        finally:
            for proc in workers.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGCONT)
        time.sleep(0.02)  # only the polling interval: the state observed above decides the kill
    raise AssertionError(f"worker {name} never had a create that landed and was not recorded")


def _instant(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@pytest.mark.slow  # tens of seconds: dev.py test --fast leaves it out
@pytest.mark.parametrize("provider", PROVIDERS)
def test_chaos_leaves_exactly_the_desired_events(provider, emulator, chaos_db, tmp_path):
    from shiftdesk.google.models import redirect_url as google_redirect_url
    from shiftdesk.microsoft.models import redirect_url

    if provider == "google":
        control = google_control(emulator)
        control.post("/reset").raise_for_status()
        control.post("/seed", json=google_world_spec(USERS, google_redirect_url())).raise_for_status()
        client_id = ""
        # 1% each of 429, 403 rateLimitExceeded and 503, none with a Retry-After (Google sends none): the
        # engine's exponential back-off, above the inline maximum from the second try on, stops steps early.
        # 0-20 ms on each request: answers come back out of step across a step's batch lanes.
        faults = {"error_rates": {"429": 0.01, "rateLimitExceeded": 0.01, "503": 0.01}, "drop_rate": 0.01,
                  "lost_response_rate": 0.01, "latency_ms": {"min": 0, "max": 20}, "seed": 7}  # fmt: skip
        expire = ("/tokens/expire", {"email": "staff7@example.org"})
    else:
        control = emulator.control
        client_id = emulator.seed(world_spec(USERS, redirect_url()))["apps"][0]["client_id"]
        # Every 429/503 carries a Retry-After above the inline maximum: the step stops and the connection waits
        # it out. 2% + 1% of requests (each $batch item drawn on its own): a step of 20 links with probes sends
        # 20-60 requests, so most steps of a busy connection stop early once (5%/3% made the drain take minutes).
        faults = {"status_rates": {"429": 0.02, "503": 0.01}, "drop_rate": 0.01, "lost_response_rate": 0.01,
                  "retry_after": RETRY_AFTER, "seed": 7}  # fmt: skip
        expire = ("/tokens/expire", {"user": "staff7@contoso.onmicrosoft.com"})
    events_of = _events_reader(provider, emulator)
    env = _env(emulator, chaos_db, tmp_path, client_id, provider)
    _run(env, "manage.py", "migrate", "--verbosity", "0")
    _run(env, "-m", "tests.calendarsync.chaos_scenario", "setup", str(USERS), str(SHIFTS))
    control.put("/faults", json=faults).raise_for_status()
    workers = {"a": _worker(env, tmp_path, "a1"), "b": _worker(env, tmp_path, "b1")}
    killed = []
    try:
        # Mid-pass: a lease, a landed-but-unrecorded create and the rest of the pass left behind.
        killed.append(_kill_mid_pass(events_of, chaos_db, workers, "a"))
        workers["a"] = _worker(env, tmp_path, "a2")
        _run(env, "-m", "tests.calendarsync.chaos_scenario", "burst", "11")
        control.post(expire[0], json=expire[1]).raise_for_status()
        killed.append(_kill_mid_pass(events_of, chaos_db, workers, "b"))
        workers["b"] = _worker(env, tmp_path, "b2")
        deadline = time.monotonic() + 200
        state = _run(env, "-m", "tests.calendarsync.chaos_scenario", "desired")
        while state["dirty"] and time.monotonic() < deadline:
            time.sleep(2)
            state = _run(env, "-m", "tests.calendarsync.chaos_scenario", "desired")
        assert state["dirty"] == 0, f"not drained: {state['dirty']} dirty links"
        injected = control.get("/faults").json()["injected"]
    finally:
        for proc in workers.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)  # never leave one frozen
            proc.send_signal(signal.SIGTERM)
        for proc in workers.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        control.delete("/faults")
    assert set(state["status"].values()) == {"connected"}, state["status"]

    duplicates = missing = stale = orphans = misplaced = unrecorded = total = 0
    details: list = []
    for upn, want in state["desired"].items():
        events = events_of(upn)
        chosen, recorded = state["calendars"][upn], state["recorded"][upn]
        keys = Counter(link_key_of(e) for e in events)
        duplicates += sum(n - 1 for n in keys.values() if n > 1)
        orphans += sum(1 for k in keys if k not in want)
        missing += sum(1 for k in want if k not in keys)
        for event in events:
            expected = want.get(link_key_of(event))
            if expected and event["calendarId"] != chosen:
                misplaced += 1
                details.append(("misplaced", upn, link_key_of(event), recorded.get(link_key_of(event))))
            if expected and recorded.get(link_key_of(event), [])[:2] != [event["id"], event["calendarId"]]:
                unrecorded += 1
                details.append(("unrecorded", upn, link_key_of(event), recorded.get(link_key_of(event))))
            if expected and (
                event["subject"] != expected["subject"]
                or event["location"] != expected["location"]
                or abs(_instant(event["start"]) - _instant(expected["start"])) > 1
            ):
                stale += 1
        total += len(events)
    assert (duplicates, missing, stale, orphans, misplaced, unrecorded) == (0, 0, 0, 0, 0, 0), (
        killed,
        details[:8],
    )
    assert total > USERS * SHIFTS * 0.7
    assert injected > 20  # the faults really happened
