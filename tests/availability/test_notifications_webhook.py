"""The webhook Microsoft Graph posts Outlook change notifications to: the validation handshake, which
notifications are trusted (our subscription id and its clientState, nothing else), lifecycle notifications, and
what a trusted one does (the user's refresh is due now). Driven through the HTTP client; no Graph needed."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from shiftdesk.availability.models import FreeBusyState, GraphSubscription
from shiftdesk.availability.notifications import make_notified_users_due

URL = "/freebusy/outlook-notifications/"
STATE = "the-right-client-state-" + "x" * 40


@pytest.fixture
def subscribed(bob):
    """Bob's Outlook connection with a subscription, and a free/busy state refreshed a minute ago."""
    from shiftdesk.calendarsync.actions import do_connect_calendar

    connection = do_connect_calendar(
        bob, provider="microsoft", account_email="megan@contoso.onmicrosoft.com", account_name="Megan",
        account_id="oid-megan", credentials="{}",
    )  # fmt: skip
    now = timezone.now()
    FreeBusyState.objects.create(
        user=bob, last_refreshed_at=now - timedelta(minutes=1), last_attempt_at=now - timedelta(minutes=1),
        next_refresh_at=now + timedelta(minutes=14),
    )  # fmt: skip
    return GraphSubscription.objects.create(
        user=bob, connection=connection, account_id="oid-megan", calendar_id="cal-1",
        notification_url="http://testserver" + URL, subscription_id="sub-1", client_state=STATE,
        expires_at=now + timedelta(days=2),
    )  # fmt: skip


def notify(client, *items: dict):
    return client.post(URL, data=json.dumps({"value": list(items)}), content_type="application/json")


def change(subscription_id="sub-1", client_state=STATE, change_type="created", **extra) -> dict:
    return {
        "subscriptionId": subscription_id,
        "subscriptionExpirationDateTime": "2030-01-01T00:00:00.0000000Z",
        "changeType": change_type,
        "resource": "Users/oid-megan/Events/AAMkAGI1",
        "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "id": "AAMkAGI1"},
        "clientState": client_state,
        "tenantId": "tenant",
        **extra,
    }


def is_due(user) -> bool:
    return FreeBusyState.objects.get(user=user).next_refresh_at <= timezone.now()


def test_it_answers_the_validation_handshake_with_the_token_as_plain_text(client, db):
    response = client.post(
        URL + "?validationToken=Validation%3A%20Testing%20client%20%3Cb%3E", content_type="text/plain"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == "Validation: Testing client <b>"


def test_it_takes_posts_only_and_refuses_what_is_not_a_notification(client, db):
    assert client.get(URL).status_code == 405
    assert client.post(URL, data="not json", content_type="application/json").status_code == 400
    assert (
        client.post(URL, data=json.dumps({"value": "x"}), content_type="application/json").status_code == 400
    )


def test_a_notification_with_the_right_client_state_makes_the_user_due(client, bob, subscribed):
    assert not is_due(bob)
    response = notify(client, change())
    assert response.status_code == 202
    assert is_due(bob)
    assert GraphSubscription.objects.get(pk=subscribed.pk).last_notified_at is not None


def test_a_wrong_client_state_or_an_unknown_subscription_is_ignored(client, bob, subscribed):
    assert notify(client, change(client_state="guessed")).status_code == 202
    assert notify(client, change(client_state=STATE[:-1])).status_code == 202
    assert notify(client, change(subscription_id="sub-2")).status_code == 202
    assert notify(client, {k: v for k, v in change().items() if k != "clientState"}).status_code == 202
    assert not is_due(bob)
    assert GraphSubscription.objects.get(pk=subscribed.pk).last_notified_at is None


def test_a_retired_subscription_is_ignored(client, bob, subscribed):
    from shiftdesk.calendarsync.actions import do_disconnect_calendar

    do_disconnect_calendar(subscribed.connection)
    retired = GraphSubscription.objects.get(pk=subscribed.pk)
    assert retired.connection_id is None and retired.subscription_id == "sub-1"
    assert notify(client, change()).status_code == 202
    assert GraphSubscription.objects.get(pk=subscribed.pk).last_notified_at is None
    assert not is_due(bob)


def test_a_user_in_backoff_is_not_asked_again_sooner(client, bob, subscribed):
    FreeBusyState.objects.filter(user=bob).update(consecutive_failures=2)
    notify(client, change())
    assert not is_due(bob)


def test_lifecycle_notifications(client, bob, subscribed):
    # reauthorizationRequired: renewed at the next sweep (expiry brought forward), no refresh needed.
    notify(client, change(lifecycleEvent="reauthorizationRequired"))
    row = GraphSubscription.objects.get(pk=subscribed.pk)
    assert row.expires_at <= timezone.now() and row.subscription_id == "sub-1"
    assert not is_due(bob)
    # missed: changes were lost, so read the calendar again.
    notify(client, change(lifecycleEvent="missed"))
    assert is_due(bob)
    # subscriptionRemoved: created again at the next sweep, and read again.
    FreeBusyState.objects.filter(user=bob).update(next_refresh_at=timezone.now() + timedelta(minutes=10))
    notify(client, change(lifecycleEvent="subscriptionRemoved"))
    assert GraphSubscription.objects.get(pk=subscribed.pk).subscription_id == ""
    assert is_due(bob)
    # A lifecycle notification with a wrong clientState does nothing.
    GraphSubscription.objects.filter(pk=subscribed.pk).update(subscription_id="sub-1", expires_at=None)
    notify(client, change(client_state="nope", lifecycleEvent="subscriptionRemoved"))
    assert GraphSubscription.objects.get(pk=subscribed.pk).subscription_id == "sub-1"


def test_a_notification_that_arrived_during_a_refresh_makes_the_user_due_again(bob, subscribed):
    now = timezone.now()
    # A refresh began at `now - 5 s` and set the next one 15 minutes away; a notification came at `now - 2 s`.
    FreeBusyState.objects.filter(user=bob).update(
        last_attempt_at=now - timedelta(seconds=5), next_refresh_at=now + timedelta(minutes=15)
    )
    GraphSubscription.objects.filter(pk=subscribed.pk).update(last_notified_at=now - timedelta(seconds=10))
    assert make_notified_users_due(now) == 0  # notified before that refresh began: it read the change
    GraphSubscription.objects.filter(pk=subscribed.pk).update(last_notified_at=now - timedelta(seconds=2))
    assert make_notified_users_due(now) == 1
    assert is_due(bob)


def test_the_client_state_is_encrypted_at_rest_and_not_in_repr(subscribed):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT client_state FROM availability_graphsubscription WHERE id = %s", [subscribed.pk]
        )
        (raw,) = cursor.fetchone()
    assert STATE not in raw
    assert GraphSubscription.objects.get(pk=subscribed.pk).client_state == STATE
    assert STATE not in repr(subscribed) and STATE not in str(subscribed)
