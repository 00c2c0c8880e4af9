"""The Google calendar provider under the sync engine, against googleemulator over HTTPS: a shift assigned to a
connected Google user reaches the calendar, an edit updates it, an unassignment deletes it, a lost answer on
insert does not duplicate, quota errors are backed off, a revoked grant needs reauthorization."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from shiftdesk.calendarsync.models import CalendarConnection, EventLink
from shiftdesk.google.provider import LINK_PROPERTY, event_id_for
from tests.google.conftest import CLIENT_ID

CALENDAR = "bob@example.org"


@pytest.fixture
def world(connected_bob, alice, settings):
    """Bob connected to his Google account, his primary calendar chosen, a schedule with Bob on its roster."""
    from shiftdesk.calendarsync.actions import do_choose_calendars
    from shiftdesk.scheduling.models import Position, Schedule

    settings.SYNC_BACKOFF_BASE_SECONDS = 0  # back-off stays exponential and jittered; tests need not wait
    do_choose_calendars(connected_bob, sync_calendar_id=CALENDAR, sync_calendar_name=CALENDAR,
                        freebusy_calendar_id=CALENDAR, freebusy_calendar_name=CALENDAR)  # fmt: skip
    schedule = Schedule.objects.create(name="Reference")
    schedule.staff.add(connected_bob.user)
    return {"bob": connected_bob.user, "admin": alice, "schedule": schedule,
            "position": Position.objects.create(name="Reference Desk")}  # fmt: skip


def make_shift(world, *, days: float = 2, location: str = "Main Library"):
    from shiftdesk.scheduling.actions import do_create_shift

    start = (timezone.now() + timedelta(days=days)).replace(second=0, microsecond=0)
    return do_create_shift(world["schedule"], position=world["position"], location=location, start=start,
                           end=start + timedelta(hours=4), staff_needed=5, note="Bring keys", by=world["admin"])  # fmt: skip


def step(user) -> bool:
    from shiftdesk.calendarsync.engine import sync_one_connection

    return sync_one_connection(CalendarConnection.objects.get(user=user).id, worker_id="test-worker")


def drain(user, max_steps: int = 20) -> None:
    for _ in range(max_steps):
        connection = CalendarConnection.objects.get(user=user)
        CalendarConnection.objects.filter(pk=connection.pk).update(retry_after_until=None)
        EventLink.objects.filter(connection=connection, dirty=True).update(next_attempt_at=None)
        if not EventLink.objects.filter(connection=connection, dirty=True).exists():
            return
        step(user)
    raise AssertionError("still dirty")


def live_events(gemu, calendar: str = CALENDAR) -> list[dict]:
    raw = gemu.gcontrol.get(f"/calendars/{calendar}").json()
    events = raw["events"].values() if isinstance(raw["events"], dict) else raw["events"]
    return [e for e in events if not e.get("_deleted") and e.get("status") != "cancelled"]


def test_an_assigned_shift_reaches_the_calendar_an_edit_updates_it_an_unassignment_deletes_it(world, gemu):
    from shiftdesk.scheduling.actions import do_assign_staff, do_unassign_staff, do_update_shift

    bob = world["bob"]
    shift = make_shift(world)
    do_assign_staff(shift, bob, by=world["admin"], override_conflicts=True)
    assert live_events(gemu) == []  # nothing in the request path
    drain(bob)
    [event] = live_events(gemu)
    link = EventLink.objects.get()
    assert re.fullmatch(r"[0-9a-v]{32}", event["id"])  # client-chosen, base32hex
    assert link.remote_event_id == f"{CALENDAR}/{event['id']}"
    assert event["extendedProperties"]["private"][LINK_PROPERTY] == link.link_key
    assert event["summary"] == "Reference Desk - Reference" and event["location"] == "Main Library"
    assert "Bring keys" in event["description"] and event.get("attendees") in (None, [])

    do_update_shift(shift, position=shift.position, location="Annex", start=shift.start + timedelta(hours=1),
                    end=shift.end + timedelta(hours=1), staff_needed=shift.staff_needed, note="New note",
                    by=world["admin"])  # fmt: skip
    drain(bob)
    [after] = live_events(gemu)
    assert after["id"] == event["id"] and after["location"] == "Annex" and "New note" in after["description"]
    assert after["etag"] != event["etag"]

    do_unassign_staff(shift, bob, by=world["admin"])
    drain(bob)
    assert live_events(gemu) == []


@pytest.mark.parametrize(("batch_size", "path"), [(1, "/google/calendar/v3"), (50, "/google/batch")])
def test_a_lost_answer_on_insert_does_not_duplicate(world, gemu, settings, batch_size, path):
    from shiftdesk.scheduling.actions import do_assign_staff

    settings.SYNC_GOOGLE_BATCH_SIZE = batch_size  # single requests, or the batch request whose answer is lost
    bob = world["bob"]
    gemu.gcontrol.put("/faults", json={"lost_response_rate": 1.0, "paths": [path],
                                        "remaining": 1}).raise_for_status()  # fmt: skip
    do_assign_staff(make_shift(world), bob, by=world["admin"], override_conflicts=True)
    drain(bob)
    assert gemu.gcontrol.get("/faults").json()["injected"]  # the insert's answer really was lost
    [event] = live_events(gemu)
    link = EventLink.objects.get()
    assert link.remote_event_id == f"{CALENDAR}/{event['id']}" and not link.dirty


def test_a_retried_insert_gets_409_and_adopts_the_event(world, gemu):
    """Google's own 409 for an id that exists: the provider adopts it (no second event, content current)."""
    import asyncio

    from shiftdesk.calendarsync.providers import get_backend
    from shiftdesk.calendarsync.providers.base import EventContent

    connection = CalendarConnection.objects.get(user=world["bob"])
    backend = get_backend("google")
    content = EventContent("Desk", {"dateTime": "2030-01-07T09:00:00", "timeZone": "Europe/London"},
                           {"dateTime": "2030-01-07T13:00:00", "timeZone": "Europe/London"}, "<p>x</p>", "Here", 15)  # fmt: skip

    credential = backend.credentials(connection)

    async def twice():
        provider = backend.open(connection, credential)
        try:
            first = await provider.create_event(CALENDAR, content, link_key="k1", transaction_id="t1")
            second = await provider.create_event(CALENDAR, content, link_key="k1", transaction_id="t1")
            return first, second
        finally:
            await provider.aclose()

    first, second = asyncio.run(twice())
    assert first.id == second.id == f"{CALENDAR}/{event_id_for('t1')}"
    assert len(live_events(gemu)) == 1


def test_quota_errors_are_backed_off_and_then_written(world, gemu):
    from shiftdesk.scheduling.actions import do_assign_staff

    bob = world["bob"]
    gemu.gcontrol.put("/faults", json={"error_rates": {"userRateLimitExceeded": 1.0}, "remaining": 2,
                                        "paths": ["/google/calendar/v3"]}).raise_for_status()  # fmt: skip
    do_assign_staff(make_shift(world), bob, by=world["admin"], override_conflicts=True)
    drain(bob)
    assert gemu.gcontrol.get("/faults").json()["injected"] == 2  # both tries refused, the third written
    assert len(live_events(gemu)) == 1
    assert CalendarConnection.objects.get(user=bob).status == CalendarConnection.Status.CONNECTED


def test_a_revoked_grant_stops_the_connection_until_reauthorization(world, gemu):
    from shiftdesk.scheduling.actions import do_assign_staff

    bob = world["bob"]
    CalendarConnection.objects.filter(user=bob).update(credentials='{"refresh_token": "x", "expires_at": 0}')
    gemu.gcontrol.post(
        "/revoke", json={"client_id": CLIENT_ID, "email": "bob@example.org"}
    ).raise_for_status()
    do_assign_staff(make_shift(world), bob, by=world["admin"], override_conflicts=True)
    step(bob)
    connection = CalendarConnection.objects.get(user=bob)
    assert connection.status == CalendarConnection.Status.NEEDS_REAUTHORIZATION
    assert "7 days" in connection.last_error and "Testing" in connection.last_error
    assert live_events(gemu) == []


def verify_now(user) -> None:
    CalendarConnection.objects.filter(user=user).update(last_verified_at=timezone.now() - timedelta(hours=7))
    assert step(user) is True


def test_an_event_deleted_or_moved_in_google_is_noticed_and_not_written_again(world, gemu):
    from shiftdesk.scheduling.actions import do_assign_staff

    bob = world["bob"]
    shifts = [make_shift(world, days=2 + d) for d in range(2)]
    for shift in shifts:
        do_assign_staff(shift, bob, by=world["admin"], override_conflicts=True)
    drain(bob)
    first, second = (EventLink.objects.get(shift=s) for s in shifts)
    gemu.gcontrol.delete(
        f"/calendars/{CALENDAR}/events/{first.remote_event_id.split('/')[-1]}"
    ).raise_for_status()
    gemu.gcontrol.post(f"/calendars/{CALENDAR}/events/{second.remote_event_id.split('/')[-1]}/move",
                       json={"destination": "rota@group.calendar.google.com"}).raise_for_status()  # fmt: skip
    verify_now(bob)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.deleted_in_outlook and not first.dirty
    assert second.moved_in_outlook and second.remote_calendar_id == "rota@group.calendar.google.com"
    drain(bob)
    assert live_events(gemu) == []  # neither written back into the sync calendar: never fights the user
    assert len(live_events(gemu, "rota@group.calendar.google.com")) == 1


def test_switching_to_another_google_account_moves_the_upcoming_shifts(world, gemu, bob_client):
    from shiftdesk.calendarsync.actions import do_choose_calendars
    from shiftdesk.scheduling.actions import do_assign_staff
    from tests.google.conftest import CAROL_G, authorize

    bob = world["bob"]
    do_assign_staff(make_shift(world), bob, by=world["admin"], override_conflicts=True)
    drain(bob)
    assert len(live_events(gemu)) == 1
    authorize(bob_client, gemu, *CAROL_G)  # Bob authorizes with another Google account
    connection = CalendarConnection.objects.get(user=bob)
    assert connection.account_email == "carol@gmail.com"
    do_choose_calendars(connection, sync_calendar_id="carol@gmail.com", sync_calendar_name="carol@gmail.com",
                        freebusy_calendar_id="carol@gmail.com", freebusy_calendar_name="carol@gmail.com")  # fmt: skip
    drain(bob)
    step(bob)  # the old account's deletes run first in the new connection's steps (retiring)
    drain(bob)
    assert live_events(gemu) == []  # gone from bob@example.org's calendar
    [moved] = live_events(gemu, "carol@gmail.com")
    assert moved["extendedProperties"]["private"][LINK_PROPERTY] == EventLink.objects.get().link_key


def test_change_tracking_uses_sync_tokens_and_restarts_when_google_expires_them(world, gemu):
    from shiftdesk.scheduling.actions import do_assign_staff

    bob = world["bob"]
    shifts = [make_shift(world, days=2 + d) for d in range(3)]
    for shift in shifts:
        do_assign_staff(shift, bob, by=world["admin"], override_conflicts=True)
    drain(bob)
    verify_now(bob)  # a first round: lists the window, keeps Google's nextSyncToken
    token = CalendarConnection.objects.get(user=bob).delta_state.get("link")
    assert token  # Google's nextSyncToken
    links = [EventLink.objects.get(shift=s) for s in shifts]
    before = len(gemu.gcontrol.get("/requests", params={"limit": 100000}).json()["value"])

    gemu.gcontrol.delete(
        f"/calendars/{CALENDAR}/events/{links[0].remote_event_id.split('/')[-1]}"
    ).raise_for_status()
    verify_now(bob)  # an incremental round with the token sees the deletion
    this_round = gemu.gcontrol.get("/requests", params={"limit": 100000}).json()["value"][before:]
    # One incremental list, then lookups of the removed event only (not of every upcoming event).
    assert this_round[0]["method"] == "GET" and this_round[0]["path"].endswith(
        f"/calendars/{CALENDAR}/events"
    )
    event_gets = {r["path"].rsplit("/", 1)[-1] for r in this_round if "/events/" in r["path"]}
    assert event_gets == {links[0].remote_event_id.split("/")[-1]}
    links[0].refresh_from_db()
    assert links[0].deleted_in_outlook

    gemu.gcontrol.post(f"/calendars/{CALENDAR}/expire-sync-tokens").raise_for_status()
    gemu.gcontrol.delete(
        f"/calendars/{CALENDAR}/events/{links[1].remote_event_id.split('/')[-1]}"
    ).raise_for_status()
    verify_now(bob)  # 410 fullSyncRequired: the round is started again, and still notices the deletion
    links[1].refresh_from_db()
    assert links[1].deleted_in_outlook
    assert CalendarConnection.objects.get(user=bob).delta_state.get("link") not in ("", None, token)
    links[2].refresh_from_db()
    assert not links[2].deleted_in_outlook and not links[2].moved_in_outlook


def test_writes_go_through_googles_batch_endpoint(world, gemu, settings, monkeypatch):
    """30 new shifts with batches of 10: 3 batch requests (across the lanes), not 30 inserts."""
    import shiftdesk.google.provider as provider_module
    from shiftdesk.scheduling.actions import do_assign_staff

    settings.SYNC_GOOGLE_BATCH_SIZE = 10
    sent: list[str] = []
    real = provider_module.async_google_client

    def counting_client(**kwargs):
        async def record(request):
            sent.append(f"{request.method} {request.url.path}")

        return real(event_hooks={"request": [record]}, **kwargs)

    monkeypatch.setattr(provider_module, "async_google_client", counting_client)
    bob = world["bob"]
    for d in range(30):
        do_assign_staff(make_shift(world, days=2 + d), bob, by=world["admin"], override_conflicts=True)
    drain(bob)
    assert len(live_events(gemu)) == 30
    writes = [s for s in sent if s.startswith("POST")]
    assert len(writes) == 3 and all(s.endswith("/batch/calendar/v3") for s in writes)
    assert not EventLink.objects.filter(remote_event_id="").exists()


def test_a_batched_insert_answered_409_adopts_the_event_already_there(world, gemu, settings):
    """An earlier try of this very create landed (its answer lost): Google answers the part 409 and the event
    is adopted with the current content, never duplicated."""
    from shiftdesk.calendarsync.plan import transaction_id_for
    from shiftdesk.scheduling.actions import do_assign_staff

    settings.SYNC_GOOGLE_BATCH_SIZE = 50
    bob = world["bob"]
    do_assign_staff(make_shift(world, location="Annex"), bob, by=world["admin"], override_conflicts=True)
    link = EventLink.objects.get()
    earlier = event_id_for(transaction_id_for(link, CALENDAR))
    gemu.gcontrol.post(f"/calendars/{CALENDAR}/events", json={
        "id": earlier, "summary": "an earlier try", "start": {"dateTime": "2030-01-01T09:00:00Z"},
        "end": {"dateTime": "2030-01-01T10:00:00Z"},
    }).raise_for_status()  # fmt: skip
    drain(bob)
    [event] = live_events(gemu)
    assert event["id"] == earlier and event["location"] == "Annex" and event["summary"] != "an earlier try"
    link.refresh_from_db()
    assert link.remote_event_id == f"{CALENDAR}/{earlier}" and not link.dirty
