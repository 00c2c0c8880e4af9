"""Google push notifications against googleemulator over HTTPS: events.watch channels on the chosen calendars
(with a secret token) where the public URL is https, real pushes from the emulator's sender replayed into
ShiftDesk's webhook, the verification / free/busy refresh made due at once, renewal before expiry,
channels.stop on a calendar change and on Remove Authorization, and polling alone when the URL is http."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from shiftdesk.availability.models import FreeBusyState
from shiftdesk.calendarsync.actions import do_choose_calendars
from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.google import push
from shiftdesk.google.models import GoogleChannel, GooglePushProblem
from tests.google_emulator.test_push import Receiver

PRIMARY = "bob@example.org"


@pytest.fixture
def receiver(tmp_path, gemu, connected_bob, settings):
    """An https receiver standing for ShiftDesk's public address (its own certificate, trusted by the
    emulator's push sender through push_ca_file); SHIFTDESK_PUBLIC_URL points at it."""
    r = Receiver(tmp_path / "receiver-tls")
    gemu.gcontrol.patch(
        "/settings", json={"push_ca_file": r.ca_file, "allow_http_push": False}
    ).raise_for_status()
    settings.PUBLIC_BASE_URL = r.url.removesuffix("/google/notifications")
    yield r
    r.close()


@pytest.fixture
def calendars(gemu, connected_bob):
    """Bob's primary calendar for sync, his calendar "Availability" for free/busy."""
    created = gemu.gcontrol.post("/calendars", json={"owner": PRIMARY, "summary": "Availability"})
    created.raise_for_status()
    availability = created.json()["id"]
    do_choose_calendars(connected_bob, sync_calendar_id=PRIMARY, sync_calendar_name=PRIMARY,
                        freebusy_calendar_id=availability, freebusy_calendar_name="Availability")  # fmt: skip
    return {"sync": PRIMARY, "freebusy": availability}


def delivered(gemu, receiver) -> list[dict]:
    """Every push made so far (the emulator's queue drained), then forgotten by the receiver."""
    gemu.gcontrol.get("/deliveries", params={"wait": "1"}).raise_for_status()
    got, receiver.received[:] = list(receiver.received), []
    return got


def replay(client, push_request: dict, **override) -> None:
    """POST a push Google made to ShiftDesk's webhook with its very headers (the receiver stood for it)."""
    headers = {k: v for k, v in push_request["headers"].items() if k.lower().startswith("x-goog-")}
    headers.update(override)
    response = client.post("/google/push/", data=push_request["body"], content_type="", headers=headers)
    assert response.status_code == 200


def live_channels(gemu) -> list[dict]:
    return gemu.gcontrol.get("/channels").json()["value"]


def settle(connection) -> None:
    """Nothing due: verified just now, free/busy refreshed just now with the next one an hour away."""
    now = timezone.now()
    CalendarConnection.objects.filter(pk=connection.pk).update(last_verified_at=now, sync_due_at=None)
    FreeBusyState.objects.update_or_create(
        user_id=connection.user_id,
        defaults={
            "last_attempt_at": now,
            "last_refreshed_at": now,
            "next_refresh_at": now + timedelta(hours=1),
        },
    )


def add_event(gemu, calendar: str) -> None:
    gemu.gcontrol.post(f"/calendars/{calendar}/events", json={
        "summary": "Dentist", "start": {"dateTime": "2030-03-04T09:00:00Z"}, "end": {"dateTime": "2030-03-04T10:00:00Z"},
    }).raise_for_status()  # fmt: skip


def test_a_change_in_each_watched_calendar_makes_its_work_due_at_once(
    client, gemu, receiver, connected_bob, calendars
):
    assert push.sweep_channels() == {"changed": 1}
    rows = {c.calendar_id: c for c in GoogleChannel.objects.all()}
    assert set(rows) == {PRIMARY, calendars["freebusy"]}
    at_google = {c["id"]: c for c in live_channels(gemu)}
    assert set(at_google) == {r.channel_id for r in rows.values()}
    assert all(at_google[r.channel_id]["address"] == push.push_url() for r in rows.values())
    assert push.push_url().startswith("https://")
    syncs = delivered(gemu, receiver)
    assert sorted(p["headers"]["X-Goog-Resource-State"] for p in syncs) == ["sync", "sync"]
    settle(connected_bob)
    for message in syncs:
        replay(client, message)  # "sync" says nothing changed
    bob = CalendarConnection.objects.get(pk=connected_bob.pk)
    assert bob.sync_due_at is None and bob.last_verified_at is not None
    assert FreeBusyState.objects.get(user_id=bob.user_id).next_refresh_at > timezone.now()

    add_event(gemu, calendars["freebusy"])  # Bob adds a meeting in Google Calendar
    (message,) = delivered(gemu, receiver)
    assert message["headers"]["X-Goog-Resource-State"] == "exists"
    assert message["headers"]["X-Goog-Channel-Token"] == rows[calendars["freebusy"]].token
    replay(client, message)
    assert FreeBusyState.objects.get(user_id=bob.user_id).next_refresh_at <= timezone.now()
    assert CalendarConnection.objects.get(pk=bob.pk).sync_due_at is None  # not the sync calendar

    add_event(gemu, PRIMARY)  # a change in the sync calendar: verification due
    (message,) = delivered(gemu, receiver)
    replay(client, message)
    bob = CalendarConnection.objects.get(pk=bob.pk)
    assert bob.sync_due_at is not None and bob.sync_due_at <= timezone.now() and bob.last_verified_at is None


def test_a_push_with_a_wrong_token_or_an_unknown_channel_changes_nothing(
    client, gemu, receiver, connected_bob, calendars
):
    push.sweep_channels()
    delivered(gemu, receiver)
    settle(connected_bob)
    add_event(gemu, calendars["freebusy"])
    (message,) = delivered(gemu, receiver)
    replay(client, message, **{"X-Goog-Channel-Token": "guessed"})
    replay(client, message, **{"X-Goog-Channel-ID": "00000000-0000-0000-0000-000000000000"})
    replay(client, message, **{"X-Goog-Channel-ID": "a\x00b"})
    assert FreeBusyState.objects.get(user_id=connected_bob.user_id).next_refresh_at > timezone.now()
    assert GoogleChannel.objects.filter(last_notified_at__isnull=False).count() == 0
    replay(client, message)  # the real one still works
    assert FreeBusyState.objects.get(user_id=connected_bob.user_id).next_refresh_at <= timezone.now()


def test_an_http_public_url_means_polling_and_says_why(gemu, connected_bob, calendars, settings):
    settings.PUBLIC_BASE_URL = "http://shiftdesk.example.org"
    gemu.gcontrol.patch("/settings", json={"allow_http_push": False}).raise_for_status()
    push.sweep_channels()
    assert not GoogleChannel.objects.exists() and live_channels(gemu) == []
    problem = GooglePushProblem.objects.get(connection=connected_bob)
    assert "https addresses only" in problem.problem and "polling interval" in problem.problem
    assert push.sweep_channels() == {}  # not asked again at every sweep


def test_a_channel_is_renewed_before_it_expires_and_the_old_one_stopped(
    gemu, receiver, connected_bob, calendars
):
    push.sweep_channels()
    old = GoogleChannel.objects.get(calendar_id=PRIMARY)
    assert old.expires_at > timezone.now() + push.RENEW_WHEN_LEFT  # Google gave the 7 days asked
    assert push.sweep_channels() == {}  # nothing to do while both are fresh
    GoogleChannel.objects.filter(pk=old.pk).update(expires_at=timezone.now() + timedelta(days=1))
    assert push.sweep_channels() == {"changed": 1}
    new = GoogleChannel.objects.get(calendar_id=PRIMARY)
    assert new.channel_id != old.channel_id and new.token != old.token
    ids = {c["id"] for c in live_channels(gemu)}
    assert new.channel_id in ids and old.channel_id not in ids and len(ids) == 2


def test_choosing_other_calendars_moves_the_channels(gemu, receiver, connected_bob, calendars):
    push.sweep_channels()
    do_choose_calendars(connected_bob, sync_calendar_id=PRIMARY, sync_calendar_name=PRIMARY,
                        freebusy_calendar_id=PRIMARY, freebusy_calendar_name=PRIMARY)  # fmt: skip
    push.sweep_channels()
    (row,) = GoogleChannel.objects.all()
    assert row.calendar_id == PRIMARY
    assert [c["id"] for c in live_channels(gemu)] == [row.channel_id]


def test_remove_authorization_stops_the_channels_at_google(client, gemu, receiver, connected_bob, calendars):
    push.sweep_channels()
    assert len(live_channels(gemu)) == 2
    client.force_login(connected_bob.user)
    response = client.post("/account/calendar-sync/google/remove/", {})
    assert response.status_code == 302
    assert live_channels(gemu) == []
    assert not GoogleChannel.objects.exists()


def test_a_push_about_an_event_deleted_in_google_gets_it_noticed_at_the_next_step(
    client, gemu, receiver, connected_bob, calendars, alice, settings
):
    """End to end: the push makes the verification due, and the very next sync step notices the deletion
    (without the push that step would not verify: it was verified just now)."""
    from shiftdesk.calendarsync.models import EventLink
    from shiftdesk.scheduling.actions import do_assign_staff
    from shiftdesk.scheduling.models import Position, Schedule, Shift
    from tests.google.test_provider_sync import drain, live_events, step

    settings.SYNC_BACKOFF_BASE_SECONDS = 0
    schedule = Schedule.objects.create(name="Reference")
    schedule.staff.add(connected_bob.user)
    start = timezone.now().replace(microsecond=0) + timedelta(days=2)
    shift = Shift.objects.create(schedule=schedule, position=Position.objects.create(name="Desk"), staff_needed=1,
                                 start=start, end=start + timedelta(hours=4))  # fmt: skip
    do_assign_staff(shift, connected_bob.user, by=alice)
    drain(connected_bob.user)
    (event,) = live_events(gemu)
    push.Sweeper().tick()  # the refreshbusy loop's hook makes the channels
    assert GoogleChannel.objects.count() == 2
    delivered(gemu, receiver)
    settle(connected_bob)
    step(connected_bob.user)
    assert not EventLink.objects.get().deleted_in_outlook  # nothing changed yet
    gemu.gcontrol.delete(f"/calendars/{PRIMARY}/events/{event['id']}").raise_for_status()  # Bob deletes it
    settle(connected_bob)
    step(connected_bob.user)
    assert not EventLink.objects.get().deleted_in_outlook  # verified just now: not looked at again
    for message in delivered(gemu, receiver):
        replay(client, message)
    step(connected_bob.user)
    assert EventLink.objects.get().deleted_in_outlook
    assert live_events(gemu) == []  # and never written back
