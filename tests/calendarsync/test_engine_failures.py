"""How the step behaves when things go wrong: crashes, 404s, throttling, dead tokens, the safety brake."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.calendarsync.conftest import PROVIDERS


def graph_requests(sync, user=None) -> list[dict]:
    return sync.requests(user)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_it_adopts_an_event_created_before_a_crash_instead_of_duplicating(sync, monkeypatch):
    from shiftdesk.calendarsync import step as engine
    from shiftdesk.calendarsync.models import EventLink, SyncLogEntry

    bob = sync.add_user(0)
    shift = sync.shift()
    sync.assign(shift, bob)

    def crash(record):
        raise RuntimeError("worker died before recording")

    monkeypatch.setattr(engine, "record_step", crash)
    with pytest.raises(RuntimeError):
        sync.step(bob)
    monkeypatch.undo()
    [event] = sync.events(bob)  # created remotely, not recorded locally
    link = EventLink.objects.get()
    assert link.remote_event_id == "" and link.create_attempted and link.dirty

    sync.step(bob)
    [again] = sync.events(bob)
    assert again["id"] == event["id"]
    link.refresh_from_db()
    assert link.remote_event_id == event["id"] and not link.dirty
    assert SyncLogEntry.objects.filter(action="adopt", outcome="ok").exists()


@pytest.mark.parametrize("unassign", [False, True])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_create_whose_answer_was_lost_is_found_again_never_orphaned(sync, unassign):
    """The emulator carries the $batch out and drops the connection before answering. The link must stay
    "create attempted" (it once went back to False when the step recorded the failure, and an unassignment
    before the retry then left the event in Outlook for good: the chaos test's 2 orphans)."""
    from shiftdesk.calendarsync.models import EventLink
    from shiftdesk.scheduling.actions import do_unassign_staff

    bob = sync.add_user(0)
    shift = sync.shift()
    sync.assign(shift, bob)
    sync.faults(lost_response_rate=1.0)  # every answer lost, the step's own retries' too
    sync.step(bob)
    sync.clear_faults()
    [event] = sync.events(bob)  # landed (once: the retries carried the same transactionId); never heard
    link = EventLink.objects.get()
    assert (link.remote_event_id, link.create_attempted, link.dirty) == ("", True, True)
    assert link.last_error

    if unassign:
        do_unassign_staff(shift, bob, by=sync.admin)
    sync.drain(bob)
    link.refresh_from_db()
    if unassign:
        assert sync.events(bob) == []
        assert (link.remote_event_id, link.create_attempted) == ("", False)
    else:
        assert [e["id"] for e in sync.events(bob)] == [event["id"]]  # adopted, not duplicated
        assert link.remote_event_id == event["id"] and not link.create_attempted


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_step_that_lost_its_lease_records_nothing_and_the_new_holder_adopts(sync, monkeypatch):
    """A step stuck past its lease (behind the network gate, a long Retry-After) while another worker took the
    connection over must not write its stale view of the links over the new holder's."""
    from shiftdesk.calendarsync import step as engine
    from shiftdesk.calendarsync.models import CalendarConnection, EventLink, SyncLogEntry

    bob = sync.add_user(0)
    shift = sync.shift()
    sync.assign(shift, bob)
    real_send = engine._send_requests

    def send_then_lose_the_lease(connection, *args, **kwargs):
        real_send(connection, *args, **kwargs)
        CalendarConnection.objects.filter(id=connection.id).update(lease_owner="another-worker")

    monkeypatch.setattr(engine, "_send_requests", send_then_lose_the_lease)
    sync.step(bob)
    monkeypatch.undo()
    [event] = sync.events(bob)
    link = EventLink.objects.get()
    assert (link.remote_event_id, link.create_attempted, link.dirty) == ("", True, True)
    assert not SyncLogEntry.objects.exists()  # nothing recorded by the step that lost the connection
    conn = CalendarConnection.objects.get()
    assert conn.lease_owner == "another-worker"  # and it did not release the other worker's lease

    CalendarConnection.objects.filter(id=conn.id).update(lease_owner="", lease_expires_at=None)
    sync.drain(bob)
    link.refresh_from_db()
    assert [e["id"] for e in sync.events(bob)] == [event["id"]]
    assert link.remote_event_id == event["id"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_404_on_delete_counts_as_done(sync):
    from shiftdesk.calendarsync.models import EventLink, SyncLogEntry
    from shiftdesk.scheduling.actions import do_unassign_staff

    bob = sync.add_user(0)
    shift = sync.shift()
    sync.assign(shift, bob)
    sync.step(bob)
    [event] = sync.events(bob)
    sync.user_deletes(bob, event)

    do_unassign_staff(shift, bob, by=sync.admin)
    sync.step(bob)
    link = EventLink.objects.get()
    assert (link.dirty, link.remote_event_id, link.attempts) == (False, "", 0)
    assert SyncLogEntry.objects.filter(action="delete", outcome="ok").exists()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_404_on_update_means_deleted_in_outlook_and_is_not_recreated_until_restored(sync):
    from shiftdesk.calendarsync.actions import do_restore_deleted_events
    from shiftdesk.calendarsync.models import EventLink
    from shiftdesk.scheduling.actions import do_update_shift

    bob = sync.add_user(0)
    shift = sync.shift()
    sync.assign(shift, bob)
    sync.step(bob)
    [event] = sync.events(bob)
    sync.user_deletes(bob, event)

    def edit(note):
        do_update_shift(shift, position=shift.position, location=shift.location, start=shift.start, end=shift.end,
                        staff_needed=shift.staff_needed, note=note, by=sync.admin)  # fmt: skip

    edit("first edit")
    sync.step(bob)
    link = EventLink.objects.get()
    assert link.deleted_in_outlook and not link.dirty
    before = len(graph_requests(sync, bob))
    edit("second edit")
    sync.step(bob)
    assert sync.events(bob) == []
    assert len(graph_requests(sync, bob)) == before  # no fight, not even a request

    assert do_restore_deleted_events(sync.connection(bob)) == 1
    sync.step(bob)
    [restored] = sync.events(bob)
    assert "second edit" in restored["body"]["content"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_safety_brake_pauses_a_pass_deleting_more_than_half_until_confirmed(sync):
    from shiftdesk.calendarsync.actions import do_confirm_paused_deletes
    from shiftdesk.calendarsync.models import CalendarConnection
    from shiftdesk.scheduling.actions import do_unassign_staff

    bob = sync.add_user(0)
    shifts = [sync.shift(days=1 + i) for i in range(8)]
    for s in shifts:
        sync.assign(s, bob)
    sync.drain(bob)
    assert len(sync.events(bob)) == 8
    for s in shifts[:5]:
        do_unassign_staff(s, bob, by=sync.admin)

    sync.step(bob)
    conn = sync.connection(bob)
    assert conn.status == CalendarConnection.Status.PAUSED
    assert "delete 5 of this user's 8 upcoming events" in conn.paused_reason
    assert len(sync.events(bob)) == 8
    assert sync.step(bob) is False  # paused: nothing happens

    do_confirm_paused_deletes(conn)
    sync.drain(bob)
    assert len(sync.events(bob)) == 3
    conn = sync.connection(bob)
    assert conn.status == CalendarConnection.Status.CONNECTED and not conn.brake_confirmed


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_few_deletes_do_not_trip_the_brake(sync):
    from shiftdesk.scheduling.actions import do_unassign_staff

    bob = sync.add_user(0)
    shifts = [sync.shift(days=1 + i) for i in range(2)]
    for s in shifts:
        sync.assign(s, bob)
    sync.step(bob)
    do_unassign_staff(shifts[0], bob, by=sync.admin)
    do_unassign_staff(shifts[1], bob, by=sync.admin)
    sync.step(bob)
    assert sync.events(bob) == [] and sync.connection(bob).status == "connected"


def test_it_honours_a_short_retry_after_for_the_mailbox(
    sync,
):  # Graph-only: timings from the Graph request log (Google sends no Retry-After)
    bob = sync.add_user(0)
    for d in range(3):
        sync.assign(sync.shift(days=1 + d), bob)
    sync.faults(status_rates={"429": 1.0}, retry_after=1, remaining=1)
    sync.step(bob)
    assert len(sync.events(bob)) == 3
    rows = sorted(graph_requests(sync), key=lambda r: r["time"])  # an injected 429 names no mailbox
    throttled = [r for r in rows if r["status"] == 429]
    assert len(throttled) == 1
    # Requests already in flight when the 429 came back are fine; nothing may start within Retry-After.
    answered = _seconds(throttled[0]["time"]) + throttled[0]["ms"] / 1000
    gaps = [_seconds(r["time"]) - answered for r in rows if _seconds(r["time"]) > answered]
    assert not [g for g in gaps if 0.1 < g < 0.95]  # (< 0.1 s: sent before the 429 reached us)
    assert any(g >= 0.95 for g in gaps)  # the throttled create, retried after the wait


def _seconds(value) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_long_retry_after_is_stored_on_the_connection_for_every_worker(sync, settings):
    from shiftdesk.calendarsync.worker import claim_due_connections

    settings.SYNC_INLINE_RETRY_AFTER_MAX_SECONDS = 1
    bob = sync.add_user(0)
    sync.assign(sync.shift(), bob)
    sync.faults(status_rates={"429": 1.0}, retry_after=30, remaining=1)
    sync.step(bob)
    conn = sync.connection(bob)
    assert conn.retry_after_until > timezone.now() + timedelta(seconds=25)
    before = len(graph_requests(sync))
    assert sync.step(bob) is False
    assert claim_due_connections("another-worker", 10) == []
    assert len(graph_requests(sync)) == before


def test_it_refreshes_the_token_on_401_and_retries_once(
    sync,
):  # Microsoft-only: MSAL's rotated refresh token (Google's 401 refresh: tests/google)
    from shiftdesk.calendarsync.models import SyncLogEntry

    bob = sync.add_user(0)
    sync.assign(sync.shift(), bob)
    credentials = sync.connection(bob).credentials
    sync.emulator.control.post("/tokens/expire", json={"user": sync.upns[bob.pk]}).raise_for_status()
    sync.step(bob)
    assert len(sync.events(bob)) == 1
    assert sync.connection(bob).credentials != credentials  # the rotated refresh token was stored
    assert any(r["status"] == 401 for r in graph_requests(sync))  # refused tokens name no mailbox
    assert not SyncLogEntry.objects.exclude(outcome="ok").exists()


def test_a_revoked_grant_needs_reauthorization_and_is_not_retried(
    sync,
):  # Microsoft-only: Azure AD's revoke (Google's invalid_grant: tests/google)
    from shiftdesk.calendarsync.models import CalendarConnection
    from shiftdesk.calendarsync.worker import claim_due_connections

    bob = sync.add_user(0)
    sync.assign(sync.shift(), bob)
    sync.emulator.control.post(
        "/revoke", json={"client_id": sync.azure.application_id, "user": sync.upns[bob.pk]}
    )
    sync.emulator.control.post("/tokens/expire", json={"user": sync.upns[bob.pk]}).raise_for_status()
    sync.step(bob)
    conn = sync.connection(bob)
    assert conn.status == CalendarConnection.Status.NEEDS_REAUTHORIZATION
    assert conn.last_error
    before = len(graph_requests(sync))
    assert sync.step(bob) is False
    assert claim_due_connections("w", 10) == []
    assert len(graph_requests(sync)) == before


def test_access_denied_stops_the_connection_with_a_clear_status_and_no_retry_loop(
    sync,
):  # Graph-only: ErrorAccessDenied on a mailbox
    from shiftdesk.calendarsync.actions import do_retry_connection
    from shiftdesk.calendarsync.models import CalendarConnection, EventLink, SyncLogEntry
    from shiftdesk.calendarsync.worker import Worker, due_connections

    bob, carol = sync.add_user(0), sync.add_user(1)
    sync.emulator.control.put(
        f"/graph/mailboxes/{sync.upns[bob.pk]}/access", json={"deny": True}
    ).raise_for_status()
    for _ in range(3):
        shift = sync.shift()
        sync.assign(shift, bob)
        sync.assign(shift, carol)
    sync.step(bob)
    conn = sync.connection(bob)
    assert conn.status == CalendarConnection.Status.ERROR
    assert "denied ShiftDesk access" in conn.last_error and "ErrorAccessDenied" in conn.last_error
    assert conn.get_status_display() == "Error"
    assert SyncLogEntry.objects.filter(connection=conn, action="connection", outcome="failed").exists()
    denied = [r for r in graph_requests(sync, bob) if r["status"] == 403]
    assert denied, "the step must have reached Graph and been refused"
    before = len(graph_requests(sync, bob))

    # Nothing retries it: not the step, not the claim, not whole worker passes (sweep included).
    assert sync.step(bob) is False
    assert not due_connections().filter(id=conn.id).exists()
    for _ in range(3):
        Worker(concurrency=1, worker_id="w2").run(once=True)
    assert len(graph_requests(sync, bob)) == before
    assert len(sync.events(carol)) == 3 and sync.events(bob) == []  # other mailboxes are unaffected
    assert EventLink.objects.filter(connection=conn, dirty=True).count() == 3  # nothing lost

    # Once access is given back, the Retry button resumes it.
    sync.emulator.control.put(
        f"/graph/mailboxes/{sync.upns[bob.pk]}/access", json={"deny": False}
    ).raise_for_status()
    do_retry_connection(sync.connection(bob))
    Worker(concurrency=1, worker_id="w2").run(once=True)
    assert sync.connection(bob).status == "connected" and len(sync.events(bob)) == 3


def test_a_deleted_sync_calendar_stops_the_connection_with_a_clear_error(
    sync,
):  # Microsoft-only: Graph's words for a deleted calendar
    from shiftdesk.calendarsync.actions import do_choose_calendars, do_retry_connection

    bob = sync.add_user(0)
    cal = sync.emulator.control.post(
        f"/graph/mailboxes/{sync.upns[bob.pk]}/calendars", json={"name": "Shifts"}
    ).json()
    do_choose_calendars(sync.connection(bob), sync_calendar_id=cal["id"], sync_calendar_name="Shifts",
                        freebusy_calendar_id=cal["id"], freebusy_calendar_name="Shifts")  # fmt: skip
    sync.emulator.control.delete(
        f"/graph/mailboxes/{sync.upns[bob.pk]}/calendars/{cal['id']}"
    ).raise_for_status()
    sync.assign(sync.shift(), bob)
    sync.step(bob)
    conn = sync.connection(bob)
    assert conn.status == "error" and "no longer exists" in conn.last_error
    assert sync.step(bob) is False
    do_retry_connection(conn)
    assert sync.connection(bob).status == "connected"


def test_disabling_the_integration_stops_syncing_at_once(sync):  # Microsoft-only: the Azure AD switch
    from shiftdesk.calendarsync.worker import claim_due_connections
    from shiftdesk.microsoft.models import AzureADSettings

    bob = sync.add_user(0)
    sync.assign(sync.shift(), bob)
    AzureADSettings.objects.update(enabled=False)
    assert claim_due_connections("w", 10) == []
    assert sync.step(bob) is False
    assert sync.events(bob) == []
    AzureADSettings.objects.update(enabled=True)
    assert sync.step(bob) is True
    assert len(sync.events(bob)) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_remove_authorization_keeps_events_or_deletes_future_ones_even_with_a_dead_token(sync):
    from shiftdesk.calendarsync.actions import do_disconnect_calendar
    from shiftdesk.calendarsync.models import CalendarConnection, EventLink, RetiringConnection
    from shiftdesk.calendarsync.worker import Worker

    bob = sync.add_user(0)
    carol = sync.add_user(1)
    for user in (bob, carol):
        sync.assign(sync.shift(days=2), user)
        sync.step(user)
    do_disconnect_calendar(sync.connection(bob))
    assert len(sync.events(bob)) == 1
    assert not CalendarConnection.objects.filter(user=bob).exists()

    do_disconnect_calendar(sync.connection(carol), delete_future_events=True)
    assert len(sync.events(carol)) == 1  # no remote call in the web request: the worker deletes it
    assert not EventLink.objects.filter(connection__user=carol).exists()
    Worker(concurrency=1, worker_id="w").run(once=True)
    assert sync.events(carol) == []

    dave = sync.add_user(2)
    sync.assign(sync.shift(days=3), dave)
    sync.step(dave)
    sync.revoke_grant(dave)
    do_disconnect_calendar(sync.connection(dave), delete_future_events=True)  # must not raise
    assert not CalendarConnection.objects.filter(user=dave).exists()
    Worker(concurrency=1, worker_id="w").run(once=True)  # a dead grant: given up; done or not, the row and
    assert not RetiringConnection.objects.exists()  # its credentials are gone


def test_it_sends_prefer_immutable_ids_on_every_request(sync):  # Graph-only: immutable ids
    import httpx

    from shiftdesk.calendarsync.engine import sync_one_connection
    from shiftdesk.lib.http import async_graph_client, ssl_context

    seen = []

    class Recording(httpx.AsyncBaseTransport):
        """Forwards to the real emulator over TLS; only remembers the headers it saw."""

        def __init__(self):
            self.inner = httpx.AsyncHTTPTransport(verify=ssl_context())

        async def handle_async_request(self, request):
            seen.append(dict(request.headers))
            return await self.inner.handle_async_request(request)

    bob = sync.add_user(0)
    shift = sync.shift()
    sync.assign(shift, bob)
    from shiftdesk.calendarsync.models import EventLink

    EventLink.objects.update(create_attempted=True)  # make it probe (GET) before creating (POST)
    client = async_graph_client(transport=Recording())
    assert sync_one_connection(sync.connection(bob).id, worker_id="w", client=client)
    assert len(seen) >= 2
    assert all(h.get("prefer") == 'IdType="ImmutableId"' for h in seen)
