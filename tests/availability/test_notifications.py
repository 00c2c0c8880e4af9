"""Outlook change notifications end to end, against the real emulator over TLS: the worker's sweep subscribes to
Bob's Calendar to Check Free/Busy Status, the emulator validates ShiftDesk's live webhook and posts to it when
Megan's meetings change there, and one refresh then reads them. Renewal, moving to another calendar, removal,
and the fall back to plain polling when notifications cannot be used."""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from shiftdesk.availability import notifications
from shiftdesk.availability.models import BusyInterval, FreeBusyState, GraphSubscription
from tests.availability.conftest import CHICAGO

WEBHOOK = "/freebusy/outlook-notifications/"


@pytest.fixture
def public_url(live_server, emulator, settings):
    """ShiftDesk served for real (the emulator must reach it), and the emulator told to accept its http URL
    as a demo would (Graph itself demands https)."""
    settings.PUBLIC_BASE_URL = live_server.url
    emulator.control.patch("/graph/settings", json={"allow_http_notifications": True}).raise_for_status()
    return live_server.url


def sweep() -> dict[str, int]:
    return notifications.sweep_subscriptions(threads=1)


def refresh() -> str:
    out = StringIO()
    call_command("refreshbusy", "--once", "--threads", "1", stdout=out)
    return out.getvalue()


def wait_until(predicate, what: str, timeout: float = 15.0) -> None:
    """Poll until `predicate()` holds; fail after `timeout` seconds (notifications arrive asynchronously)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def is_due(user) -> bool:
    state = FreeBusyState.objects.get(user=user)
    return state.next_refresh_at is None or state.next_refresh_at <= timezone.now()


def soon(days: int) -> date:
    return datetime.now(CHICAGO).date() + timedelta(days=days)


def at(d: date, hh: int) -> str:
    return f"{d.isoformat()}T{hh:02d}:00:00"


def emulator_subscriptions(emulator) -> dict:
    return dict(emulator.state.graph.subscriptions)


def subscription_requests(emulator, method: str) -> list[dict]:
    params = {"path_prefix": "/v1.0/subscriptions", "method": method}
    return emulator.control.get("/graph/requests", params=params).json()["value"]


def delivered(emulator, subscription_id: str) -> list[dict]:
    """Notifications the emulator delivered for this subscription, with ShiftDesk's answer."""
    entries = emulator.control.get("/graph/notifications").json()["value"]
    return [e for e in entries if any(n["subscriptionId"] == subscription_id for n in e["payload"]["value"])]


def test_it_subscribes_to_the_free_busy_calendar_through_a_validated_webhook(
    bob, freebusy_calendar, public_url, emulator
):
    refresh()
    assert not is_due(bob)
    assert sweep() == {"created": 1}
    row = GraphSubscription.objects.get(user=bob)
    assert row.problem == "" and row.subscription_id
    # The emulator stores a subscription only after ShiftDesk answered its validationToken handshake.
    sub = emulator_subscriptions(emulator)[row.subscription_id]
    assert sub.resource == f"me/calendars/{freebusy_calendar}/events"
    assert sub.change_type == "created,updated,deleted"
    assert sub.notification_url == public_url + WEBHOOK
    assert sub.client_state == row.client_state and len(row.client_state) >= 32
    expires = datetime.fromisoformat(sub.expiration.replace("Z", "+00:00"))
    assert timedelta(hours=60) < expires - datetime.now(UTC) < timedelta(minutes=4230)
    assert row.expires_at is not None and abs((row.expires_at - expires).total_seconds()) < 1
    # A new subscription makes the user due (changes made before it existed are read), and nothing more
    # happens until it needs renewing.
    assert is_due(bob)
    assert sweep() == {}


def test_a_meeting_added_or_deleted_in_outlook_is_read_after_one_refresh(
    bob, outlook, freebusy_calendar, public_url, emulator
):
    sweep()
    assert "refreshed 1 of 1 users" in refresh()
    assert not is_due(bob) and BusyInterval.objects.filter(user=bob).count() == 0
    d = soon(2)
    event = outlook.add_event(freebusy_calendar, "Dentist", at(d, 9), at(d, 10))
    wait_until(lambda: is_due(bob), "the created notification to make Bob due")
    assert "refreshed 1 of 1 users" in refresh()
    assert [i.remote_id for i in BusyInterval.objects.filter(user=bob)] == [event["id"]]
    assert not is_due(bob)

    assert outlook.http.delete(f"/me/events/{event['id']}").status_code == 204
    wait_until(lambda: is_due(bob), "the deleted notification to make Bob due")
    refresh()
    assert BusyInterval.objects.filter(user=bob).count() == 0
    # ShiftDesk answered every notification with 202.
    row = GraphSubscription.objects.get(user=bob)
    answers = [e["status"] for e in delivered(emulator, row.subscription_id)]
    assert answers and set(answers) == {202}


def test_a_meeting_in_another_calendar_sends_nothing(bob, outlook, freebusy_calendar, public_url, emulator):
    sweep()
    refresh()
    d = soon(2)
    outlook.add_event(outlook.default_calendar(), "Elsewhere", at(d, 9), at(d, 10))
    marker = outlook.add_event(freebusy_calendar, "Marker", at(d, 11), at(d, 12))
    row = GraphSubscription.objects.get(user=bob)
    wait_until(lambda: delivered(emulator, row.subscription_id), "the marker's notification")
    ids = [
        n["resourceData"]["id"]
        for e in delivered(emulator, row.subscription_id)
        for n in e["payload"]["value"]
    ]
    assert ids == [marker["id"]]


def test_it_renews_before_expiry_and_re_creates_a_subscription_gone_at_graph(
    bob, freebusy_calendar, public_url, emulator
):
    sweep()
    refresh()
    row = GraphSubscription.objects.get(user=bob)
    assert sweep() == {}
    assert subscription_requests(emulator, "PATCH") == []
    # A day and a half later: with less than RENEW_WHEN_LEFT to go it is renewed in place (PATCH).
    later = datetime.now(UTC) + timedelta(hours=30)
    emulator.state.graph.subscriptions[row.subscription_id].expiration = later.strftime("%Y-%m-%dT%H:%M:%SZ")
    GraphSubscription.objects.filter(pk=row.pk).update(expires_at=later)
    assert sweep() == {"renewed": 1}
    renewed = GraphSubscription.objects.get(pk=row.pk)
    assert renewed.subscription_id == row.subscription_id
    assert renewed.expires_at > timezone.now() + timedelta(hours=60)
    at_graph = emulator_subscriptions(emulator)[row.subscription_id].expiration
    assert datetime.fromisoformat(at_graph.replace("Z", "+00:00")) > later + timedelta(hours=30)
    assert len(subscription_requests(emulator, "PATCH")) == 1

    # Gone at Graph (expired, or removed): the renewal's 404 makes a new one, and the user is read again.
    emulator.state.graph.subscriptions.pop(row.subscription_id)
    FreeBusyState.objects.filter(user=bob).update(next_refresh_at=timezone.now() + timedelta(minutes=10))
    GraphSubscription.objects.filter(pk=row.pk).update(expires_at=timezone.now() + timedelta(minutes=5))
    assert sweep() == {"created": 1}
    again = GraphSubscription.objects.get(pk=row.pk)
    assert again.subscription_id != row.subscription_id
    assert again.subscription_id in emulator_subscriptions(emulator)
    assert is_due(bob)


def test_a_changed_free_busy_calendar_moves_the_subscription(
    bob, connected_bob, outlook, freebusy_calendar, public_url, emulator
):
    from shiftdesk.calendarsync.actions import do_choose_calendars

    sweep()
    old = GraphSubscription.objects.get(user=bob).subscription_id
    other = outlook.create_calendar("Other commitments")
    do_choose_calendars(
        connected_bob, sync_calendar_id=connected_bob.sync_calendar_id, sync_calendar_name="Calendar",
        freebusy_calendar_id=other, freebusy_calendar_name="Other commitments",
    )  # fmt: skip
    assert sweep() == {"created": 1}
    row = GraphSubscription.objects.get(user=bob)
    subs = emulator_subscriptions(emulator)
    assert old not in subs  # deleted at Graph
    assert list(subs) == [row.subscription_id]
    assert subs[row.subscription_id].resource == f"me/calendars/{other}/events"
    refresh()
    d = soon(3)
    outlook.add_event(other, "Board meeting", at(d, 13), at(d, 14))
    wait_until(lambda: is_due(bob), "a notification from the newly chosen calendar")
    refresh()
    assert BusyInterval.objects.filter(user=bob).count() == 1


def test_no_free_busy_calendar_any_more_deletes_the_subscription(
    bob, connected_bob, freebusy_calendar, public_url, emulator
):
    from shiftdesk.calendarsync.actions import do_choose_calendars

    sweep()
    do_choose_calendars(
        connected_bob, sync_calendar_id=connected_bob.sync_calendar_id, sync_calendar_name="Calendar",
        freebusy_calendar_id="", freebusy_calendar_name="",
    )  # fmt: skip
    assert sweep() == {"removed": 1}
    assert not GraphSubscription.objects.exists()
    assert emulator_subscriptions(emulator) == {}


def test_remove_authorization_retires_it_and_a_later_connection_of_the_account_deletes_it(
    bob, bob_client, connected_bob, outlook, freebusy_calendar, public_url, emulator, settings
):
    from shiftdesk.calendarsync.actions import do_choose_calendars
    from shiftdesk.calendarsync.models import CalendarConnection
    from tests.microsoft.conftest import MEGAN, authorize

    sweep()
    refresh()
    old = GraphSubscription.objects.get(user=bob).subscription_id
    assert bob_client.post("/account/calendar-sync/microsoft/remove/").status_code == 302
    # No token survives Remove Authorization, so nothing can delete it at Graph yet: it is kept, retired.
    retired = GraphSubscription.objects.get(user=bob)
    assert retired.connection_id is None and retired.subscription_id == old
    assert sweep() == {}
    assert old in emulator_subscriptions(emulator)
    # Its notifications are answered and ignored.
    FreeBusyState.objects.update_or_create(
        user=bob, defaults={"next_refresh_at": timezone.now() + timedelta(hours=1)}
    )
    d = soon(2)
    outlook.add_event(freebusy_calendar, "After removal", at(d, 9), at(d, 10))
    wait_until(lambda: delivered(emulator, old), "the notification to the retired subscription")
    assert [e["status"] for e in delivered(emulator, old)] == [202]
    assert not is_due(bob)

    # Bob connects the same Microsoft account again: its token deletes the old subscription at Graph, and a
    # new one is made once a free/busy calendar is chosen.
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"  # the Redirect URL registered in the seeded world
    response, _ = authorize(bob_client, emulator, *MEGAN)
    assert response.status_code == 302
    settings.PUBLIC_BASE_URL = public_url
    connection = CalendarConnection.objects.get(user=bob)
    do_choose_calendars(
        connection, sync_calendar_id=freebusy_calendar, sync_calendar_name="Availability",
        freebusy_calendar_id=freebusy_calendar, freebusy_calendar_name="Availability",
    )  # fmt: skip
    assert sweep() == {"created": 1, "removed": 1}
    subs = emulator_subscriptions(emulator)
    assert old not in subs
    assert list(subs) == [GraphSubscription.objects.get(user=bob).subscription_id]


def test_a_retired_subscription_is_forgotten_once_it_expired(bob, bob_client, freebusy_calendar, public_url):
    sweep()
    bob_client.post("/account/calendar-sync/microsoft/remove/")
    GraphSubscription.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    sweep()
    assert not GraphSubscription.objects.exists()


# --- the fall back: polling as before, said once to the admin -------------------------------------------------
def test_an_http_url_refused_by_graph_falls_back_to_polling_said_once_and_shown_to_admins(
    bob, bob_client, alice, outlook, freebusy_calendar, emulator, settings, caplog, client
):
    # The emulator's default, as Graph: notification URLs must be https.
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    with caplog.at_level(logging.WARNING, logger="shiftdesk.availability.notifications"):
        assert sweep() == {"failed": 1}
        GraphSubscription.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        assert sweep() == {"failed": 1}  # tried again after its backoff: still refused, not logged again
    warnings = [r for r in caplog.records if r.name == "shiftdesk.availability.notifications"]
    assert len(warnings) == 1
    assert "not in use for connection" in warnings[0].getMessage()
    row = GraphSubscription.objects.get(user=bob)
    assert row.subscription_id == "" and row.consecutive_failures == 2
    assert row.next_attempt_at > timezone.now() + timedelta(minutes=5)
    assert "https" in row.problem and "SHIFTDESK_PUBLIC_URL" in row.problem
    assert sweep() == {}  # backing off
    # Polling goes on as before, silently for Bob.
    d = soon(2)
    outlook.add_event(freebusy_calendar, "Meeting", at(d, 9), at(d, 10))
    refresh()
    assert BusyInterval.objects.filter(user=bob).count() == 1
    assert "https" not in bob_client.get("/account/calendar-sync/").content.decode()
    client.force_login(alice)
    page = client.get("/admin/integrations/").content.decode()
    assert "Outlook change notifications" in page and "SHIFTDESK_PUBLIC_URL" in page


def test_a_failed_validation_falls_back_and_a_fixed_url_is_used_at_once(
    bob, freebusy_calendar, emulator, settings, live_server
):
    emulator.control.patch("/graph/settings", json={"allow_http_notifications": True}).raise_for_status()
    settings.PUBLIC_BASE_URL = live_server.url + "/nothing-here"  # answers 404 to the handshake
    assert sweep() == {"failed": 1}
    row = GraphSubscription.objects.get(user=bob)
    assert "validation" in row.problem.lower()
    assert emulator_subscriptions(emulator) == {}
    settings.PUBLIC_BASE_URL = live_server.url  # the admin fixes the public URL: no backoff to wait out
    assert sweep() == {"created": 1}
    row = GraphSubscription.objects.get(user=bob)
    assert row.problem == "" and row.subscription_id in emulator_subscriptions(emulator)
