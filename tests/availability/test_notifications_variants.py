"""Outlook change notifications under the answers Microsoft might give, end to end through the emulator over TLS
and ShiftDesk's live webhook:
- the one-calendar resource refused (emulator variant calendar_subscriptions=refused; only me/events is
  documented, change-notifications-overview.md): ShiftDesk subscribes to me/events at once, and busy times
  stay those of the Calendar to Check Free/Busy Status;
- lifecycle notifications (change-notifications-lifecycle-events.md) sent by the emulator to the
  lifecycleNotificationUrl it validated: reauthorizationRequired → renewed (PATCH), subscriptionRemoved →
  created again and read again, missed → read again."""

# ruff: noqa: F811 - public_url is a fixture imported from test_notifications
from __future__ import annotations

import pytest
from django.utils import timezone

from shiftdesk.availability.models import BusyInterval, GraphSubscription
from tests.availability.test_notifications import (  # noqa: F401 - public_url is a fixture
    WEBHOOK,
    at,
    delivered,
    emulator_subscriptions,
    is_due,
    public_url,
    refresh,
    soon,
    subscription_requests,
    sweep,
    wait_until,
)


def lifecycle(emulator, subscription_id: str, event: str) -> None:
    sent = emulator.control.post(
        f"/graph/subscriptions/{subscription_id}/lifecycle", json={"lifecycleEvent": event}
    )
    assert sent.status_code == 200 and sent.json()["sent"] is True, sent.text


def answered(emulator, subscription_id: str, event: str) -> bool:
    """ShiftDesk's webhook answered the emulator's lifecycle POST with 202, as the docs ask."""
    return any(
        e.get("status") == 202 and any(n.get("lifecycleEvent") == event for n in e["payload"]["value"])
        for e in delivered(emulator, subscription_id)
    )


def test_a_refused_calendar_path_falls_back_to_me_events(
    bob, outlook, freebusy_calendar, public_url, emulator
):
    emulator.control.patch("/variants", json={"calendar_subscriptions": "refused"}).raise_for_status()
    refresh()
    assert sweep() == {"created": 1}
    row = GraphSubscription.objects.get(user=bob)
    assert row.problem == "" and row.consecutive_failures == 0
    assert emulator_subscriptions(emulator)[row.subscription_id].resource == "me/events"
    posts = subscription_requests(emulator, "POST")
    assert [p["status"] for p in posts] == [400, 201]  # the calendar path tried once, then the documented one

    d = soon(2)
    elsewhere = outlook.add_event(outlook.default_calendar(), "Lunch elsewhere", at(d, 12), at(d, 13))
    wait_until(lambda: is_due(bob), "a notification from the mailbox-wide subscription")
    refresh()
    assert BusyInterval.objects.filter(user=bob).count() == 0  # not the free/busy calendar: not busy
    meeting = outlook.add_event(freebusy_calendar, "Dentist", at(d, 9), at(d, 10))
    wait_until(lambda: is_due(bob), "the dentist's notification")
    refresh()
    assert [i.remote_id for i in BusyInterval.objects.filter(user=bob)] == [meeting["id"]]
    assert elsewhere["id"] != meeting["id"]


def test_a_validation_failure_is_not_mistaken_for_a_refused_path(bob, freebusy_calendar, settings, emulator):
    # An unreachable https URL fails Graph's handshake (ValidationError): trying me/events would fail the same
    # way, so ShiftDesk records the problem after one request instead of two.
    settings.PUBLIC_BASE_URL = "https://127.0.0.1:9"
    assert sweep() == {"failed": 1}
    assert [p["status"] for p in subscription_requests(emulator, "POST")] == [400]
    assert "did not accept" in GraphSubscription.objects.get(user=bob).problem


def test_reauthorization_required_renews_the_subscription(
    bob, outlook, freebusy_calendar, public_url, emulator
):
    assert sweep() == {"created": 1}
    refresh()
    row = GraphSubscription.objects.get(user=bob)
    sub = emulator_subscriptions(emulator)[row.subscription_id]
    assert sub.lifecycle_notification_url == public_url + WEBHOOK  # validated like the notification URL
    lifecycle(emulator, row.subscription_id, "reauthorizationRequired")
    wait_until(
        lambda: answered(emulator, row.subscription_id, "reauthorizationRequired"), "the webhook's 202"
    )
    assert sweep() == {"renewed": 1}
    assert len(subscription_requests(emulator, "PATCH")) == 1
    assert not emulator_subscriptions(emulator)[row.subscription_id].needs_reauthorization
    assert GraphSubscription.objects.get(pk=row.pk).subscription_id == row.subscription_id
    # Notifications flow again after the renewal.
    refresh()
    d = soon(3)
    outlook.add_event(freebusy_calendar, "Review", at(d, 9), at(d, 10))
    wait_until(lambda: is_due(bob), "a change notification after reauthorization")


def test_subscription_removed_creates_it_again_and_reads_again(bob, freebusy_calendar, public_url, emulator):
    sweep()
    refresh()
    assert not is_due(bob)
    old = GraphSubscription.objects.get(user=bob).subscription_id
    lifecycle(emulator, old, "subscriptionRemoved")
    wait_until(lambda: is_due(bob), "the removal to make Bob's busy times read again")
    assert GraphSubscription.objects.get(user=bob).subscription_id == ""
    assert old not in emulator_subscriptions(emulator)
    assert sweep() == {"created": 1}
    new = GraphSubscription.objects.get(user=bob).subscription_id
    assert new and new != old and new in emulator_subscriptions(emulator)


def test_missed_reads_the_calendar_again(bob, outlook, freebusy_calendar, public_url, emulator):
    sweep()
    refresh()
    row = GraphSubscription.objects.get(user=bob)
    # A meeting whose notification was lost (the subscription was paused for it), then Graph says "missed".
    emulator.state.graph.subscriptions[row.subscription_id].needs_reauthorization = True
    d = soon(4)
    lost = outlook.add_event(freebusy_calendar, "Lost meeting", at(d, 15), at(d, 16))
    emulator.state.graph.subscriptions[row.subscription_id].needs_reauthorization = False
    assert not is_due(bob)
    lifecycle(emulator, row.subscription_id, "missed")
    wait_until(lambda: is_due(bob), "the missed notification to make Bob due")
    refresh()
    assert [i.remote_id for i in BusyInterval.objects.filter(user=bob)] == [lost["id"]]
    assert GraphSubscription.objects.get(pk=row.pk).subscription_id == row.subscription_id
    assert GraphSubscription.objects.get(pk=row.pk).last_notified_at <= timezone.now()


@pytest.mark.parametrize("event", ["reauthorizationRequired", "subscriptionRemoved", "missed"])
def test_a_forged_lifecycle_notification_is_ignored(bob, freebusy_calendar, public_url, client, event):
    sweep()
    refresh()
    row = GraphSubscription.objects.get(user=bob)
    forged = {
        "value": [{"subscriptionId": row.subscription_id, "clientState": "not-ours", "lifecycleEvent": event}]
    }
    assert client.post(WEBHOOK, forged, content_type="application/json").status_code == 202
    after = GraphSubscription.objects.get(pk=row.pk)
    assert after.subscription_id == row.subscription_id and after.expires_at == row.expires_at
    assert not is_due(bob)
