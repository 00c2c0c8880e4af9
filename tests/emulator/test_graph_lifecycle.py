"""Lifecycle notifications (concepts/change-notifications-lifecycle-events.md) and the calendar-path variant of
subscriptions (variants.calendar_subscriptions): lifecycleNotificationUrl validated like notificationUrl, the
three lifecycle events sent through the control API, reauthorization pausing notifications until a renew or
/reauthorize, and subscriptionRemoved deleting the subscription."""

from __future__ import annotations

import pytest

from .graph_helpers import assert_graph_error, shift
from .test_graph_subscriptions import MEGAN, Listener, expiry, listener, megan, subscribe  # noqa: F401


@pytest.fixture
def second(emulator, listener):  # noqa: F811 - a second HTTPS receiver (the lifecycle URL)
    hook = Listener(emulator.state_dir)
    yield hook
    hook.close()


def test_lifecycle_url_is_validated_like_the_notification_url(megan, listener, second):  # noqa: F811
    response = subscribe(megan, listener, lifecycleNotificationUrl=second.url)
    assert response.status_code == 201, response.text
    assert response.json()["lifecycleNotificationUrl"] == second.url
    assert len(listener.validations) == 1 and len(second.validations) == 1
    second.mode = "wrong"
    assert_graph_error(
        subscribe(megan, listener, lifecycleNotificationUrl=second.url), 400, "ValidationError"
    )
    bad = subscribe(megan, listener, lifecycleNotificationUrl="http://127.0.0.1:1/hook")
    assert_graph_error(bad, 400, "ValidationError")


def _sub_id(emulator):
    subs = emulator.control.get("/graph/subscriptions").json()["value"]
    assert len(subs) == 1
    return subs[0]["id"]


def test_reauthorization_required_pauses_until_renewed(megan, listener, second, emulator):  # noqa: F811
    sub = subscribe(megan, listener, lifecycleNotificationUrl=second.url).json()
    sent = emulator.control.post(f"/graph/subscriptions/{sub['id']}/lifecycle",
                                 json={"lifecycleEvent": "reauthorizationRequired"}).json()  # fmt: skip
    assert sent["sent"] is True
    (note,) = second.wait_for(1)
    assert note == {
        "subscriptionId": sub["id"],
        "subscriptionExpirationDateTime": sub["expirationDateTime"],
        "tenantId": emulator.state.directory.user_by_login(MEGAN).tenant_id,
        "clientState": "secret-123",
        "lifecycleEvent": "reauthorizationRequired",
    }
    megan.post("/me/events", json=shift())  # paused: no change notification
    assert (
        megan.patch(f"/subscriptions/{sub['id']}", json={"expirationDateTime": expiry(90)}).status_code == 200
    )
    after = megan.post("/me/events", json=shift(subject="After renewal")).json()
    received = listener.wait_for(1)
    assert [n["resourceData"]["id"] for n in received] == [after["id"]]  # the paused change never came


def test_reauthorize_action(megan, listener, second, emulator):  # noqa: F811
    sub = subscribe(megan, listener, lifecycleNotificationUrl=second.url).json()
    emulator.control.post(f"/graph/subscriptions/{sub['id']}/lifecycle",
                          json={"lifecycleEvent": "reauthorizationRequired"}).raise_for_status()  # fmt: skip
    megan.post("/me/events", json=shift())  # paused
    assert megan.post(f"/subscriptions/{sub['id']}/reauthorize").status_code == 204
    after = megan.post("/me/events", json=shift()).json()
    assert [n["resourceData"]["id"] for n in listener.wait_for(1)] == [after["id"]]


def test_subscription_removed_deletes_it_and_missed_only_tells(megan, listener, second, emulator):  # noqa: F811
    sub = subscribe(megan, listener, lifecycleNotificationUrl=second.url).json()
    emulator.control.post(f"/graph/subscriptions/{sub['id']}/lifecycle",
                          json={"lifecycleEvent": "missed"}).raise_for_status()  # fmt: skip
    assert megan.get(f"/subscriptions/{sub['id']}").status_code == 200
    emulator.control.post(f"/graph/subscriptions/{sub['id']}/lifecycle",
                          json={"lifecycleEvent": "subscriptionRemoved"}).raise_for_status()  # fmt: skip
    # Each lifecycle notification is its own concurrent POST (subscriptions._deliver): any arrival order.
    events = sorted(n["lifecycleEvent"] for n in second.wait_for(2))
    assert events == ["missed", "subscriptionRemoved"]
    assert_graph_error(megan.get(f"/subscriptions/{sub['id']}"), 404, "ResourceNotFound")
    bad = emulator.control.post(
        f"/graph/subscriptions/{sub['id']}/lifecycle", json={"lifecycleEvent": "missed"}
    )
    assert bad.status_code == 404


def test_unknown_lifecycle_event_is_refused(megan, listener, emulator):  # noqa: F811
    sub = subscribe(megan, listener).json()
    bad = emulator.control.post(
        f"/graph/subscriptions/{sub['id']}/lifecycle", json={"lifecycleEvent": "nope"}
    )
    assert bad.status_code == 400
    ok = emulator.control.post(
        f"/graph/subscriptions/{sub['id']}/lifecycle", json={"lifecycleEvent": "missed"}
    )
    assert ok.json()["sent"] is False  # no lifecycleNotificationUrl: nothing to send to


@pytest.mark.parametrize("mode", ["accepted", "refused"])
def test_calendar_path_subscription_variant(megan, listener, emulator, mode):  # noqa: F811
    emulator.control.patch("/variants", json={"calendar_subscriptions": mode}).raise_for_status()
    cal = megan.post("/me/calendars", json={"name": "Shifts"}).json()["id"]
    response = subscribe(megan, listener, resource=f"me/calendars/{cal}/events")
    if mode == "accepted":
        assert response.status_code == 201
    else:
        error = assert_graph_error(response, 400, "ExtensionError")
        assert "is not supported" in error["message"]
        assert listener.validations == []  # refused before any handshake
    assert subscribe(megan, listener).status_code == 201  # the documented me/events always works
