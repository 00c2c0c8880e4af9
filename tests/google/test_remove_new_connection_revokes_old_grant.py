"""A user who switched away from Google removes the new connection before the worker deleted the old Google
events. Without "also delete" (the new connection is Exchange: Remove), the pending deletes go with the removed
connection (no stored credentials outlive it) and the old Google grant is revoked at Google at once instead of
never; the old events stay. With "also delete" (the new connection is another Google account: Remove
Authorization), the old calendar's pending deletes are future events too: the worker deletes them, then the old
grant is revoked. Through the pages, against the emulator."""

from __future__ import annotations

import pytest

from shiftdesk.calendarsync.models import CalendarConnection, RetiringConnection
from shiftdesk.calendarsync.retiring import retire_disconnected
from shiftdesk.google import oauth
from tests.google.conftest import BOB_G, CAROL_G
from tests.google.conftest import authorize as google_authorize
from tests.google.test_authorization import refresh_answer
from tests.google.test_provider_sync import live_events
from tests.google.test_remove_and_revoke import REMOVE, assign_two
from tests.google.test_switch_exchange_and_google import (
    clouds,
    connect_exchange,
    connect_google,
    exchange_upn,
)

__all__ = ["clouds", "exchange_upn"]  # the fixtures, from test_switch_exchange_and_google


def bob_world(bob, alice) -> dict:
    from shiftdesk.scheduling.models import Position, Schedule

    schedule = Schedule.objects.create(name="Reference")
    schedule.staff.add(bob)
    return {"bob": bob, "admin": alice, "schedule": schedule,
            "position": Position.objects.create(name="Reference Desk")}  # fmt: skip


def connect_carol(bob_client, clouds, exchange_upn) -> None:
    """Authorize with Google Account, signing in as another Google account."""
    response, _ = google_authorize(bob_client, clouds, *CAROL_G)
    assert response.status_code == 302
    assert CalendarConnection.objects.get().account_email == CAROL_G[0]


NEW = {
    "exchange": (connect_exchange, "/account/calendar-sync/exchange/remove/", {}),
    "another google account": (connect_carol, REMOVE, {"delete_future_events": "on"}),
}


@pytest.mark.parametrize("exchange_upn", ["bob@contoso.onmicrosoft.com"])
@pytest.mark.parametrize("new", list(NEW))
def test_removing_the_new_connection_before_the_old_deletes_revokes_the_old_google_grant(
    clouds, exchange_upn, bob_client, bob, alice, django_capture_on_commit_callbacks, caplog, new
):
    connect_new, remove, form = NEW[new]
    connect_google(bob_client, clouds, exchange_upn)
    assign_two(bob_world(bob, alice))
    assert len(live_events(clouds)) == 2
    old_token = oauth._tokens(CalendarConnection.objects.get())["refresh_token"]
    connect_new(bob_client, clouds, exchange_upn)  # the switch: the old Google deletes are owed, not yet run
    [owed] = RetiringConnection.objects.all()
    assert owed.account_email == BOB_G[0] and owed.successor is not None
    new_token = oauth._tokens(CalendarConnection.objects.get()).get("refresh_token")

    with django_capture_on_commit_callbacks(execute=True):
        response = bob_client.post(remove, form)
    assert response.status_code == 302 and not CalendarConnection.objects.exists()
    if new == "exchange":
        # The old deletes were dropped with the new connection, and the old grant ended at Google at once.
        assert not RetiringConnection.objects.filter(account_email=BOB_G[0]).exists()
        answer = refresh_answer(clouds, old_token)
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
        assert len(live_events(clouds)) == 2  # the dropped deletes leave the old events where they are
    else:
        # Both grants stay until the worker's deletes are done: the old calendar's owed deletes are Remove
        # Authorization's now, beside the new account's own.
        owed = RetiringConnection.objects.get(account_email=BOB_G[0])
        assert owed.successor is None and len(owed.events) == 2
        assert refresh_answer(clouds, old_token).status_code == 200
        assert refresh_answer(clouds, new_token).status_code == 200
        with django_capture_on_commit_callbacks(execute=True):
            retire_disconnected("test-worker")
        assert not RetiringConnection.objects.exists()
        assert live_events(clouds) == []  # the old events are gone
        for token in (old_token, new_token):
            answer = refresh_answer(clouds, token)
            assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert old_token not in caplog.text  # logged without the token
