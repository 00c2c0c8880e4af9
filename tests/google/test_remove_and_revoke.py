"""Remove Authorization with "also delete my future events" on Google: the worker deletes the events with the
grant, and only then is the grant revoked at Google (calendarsync's WHEN_RETIRED hook). A user who authorizes
the same Google account again before the deletes ran keeps the grant; one who moves to another Google account
has the old grant revoked once the old events are gone. All through the real emulator over HTTPS."""

from __future__ import annotations

from shiftdesk.calendarsync.models import CalendarConnection, RetiringConnection
from shiftdesk.calendarsync.retiring import retire_disconnected
from shiftdesk.google import oauth
from shiftdesk.scheduling.actions import do_assign_staff
from tests.google.conftest import BOB_G, CAROL_G, authorize
from tests.google.test_authorization import page, refresh_answer
from tests.google.test_provider_sync import drain, live_events, make_shift, step, world

__all__ = ["world"]  # the fixture, from test_provider_sync
REMOVE = "/account/calendar-sync/google/remove/"


def assign_two(world) -> None:
    for days in (2, 3):
        do_assign_staff(
            make_shift(world, days=days), world["bob"], by=world["admin"], override_conflicts=True
        )
    drain(world["bob"])


def test_the_grant_is_revoked_only_after_the_workers_deletes(world, gemu, bob_client):
    assign_two(world)
    assert len(live_events(gemu)) == 2
    refresh_token = oauth._tokens(CalendarConnection.objects.get(user=world["bob"]))["refresh_token"]

    response = bob_client.post(REMOVE, {"delete_future_events": "on"})
    assert response.status_code == 302 and not CalendarConnection.objects.exists()
    html = page(bob_client)
    assert "being deleted from your Google calendar" in html
    assert "revoked at Google once they are deleted" in html
    # The request deleted nothing and revoked nothing: the worker's deletes need the grant.
    assert len(live_events(gemu)) == 2
    assert refresh_answer(gemu, refresh_token).status_code == 200

    assert retire_disconnected("test-worker") == 1
    assert live_events(gemu) == []
    assert not RetiringConnection.objects.exists()
    answer = refresh_answer(gemu, refresh_token)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def remove_also_deleting_while_google_fails(world, gemu, bob_client) -> str:
    """Bob's two synced shifts; Remove Authorization with "also delete"; every Calendar call answers 503 from
    now on. Returns the refresh token of the removed grant."""
    assign_two(world)
    refresh_token = oauth._tokens(CalendarConnection.objects.get(user=world["bob"]))["refresh_token"]
    bob_client.post(REMOVE, {"delete_future_events": "on"})
    gemu.gcontrol.put(
        "/faults", json={"error_rates": {"503": 1.0}, "paths": ["/google/calendar/v3", "/google/batch"]}
    ).raise_for_status()
    return refresh_token


def test_a_failed_delete_round_keeps_the_grant_until_the_deletes_are_done(world, gemu, bob_client):
    refresh_token = remove_also_deleting_while_google_fails(world, gemu, bob_client)
    retire_disconnected("test-worker")
    assert RetiringConnection.objects.exists()  # tried, failed, kept for later
    assert len(live_events(gemu)) == 2
    gemu.gcontrol.delete("/faults").raise_for_status()
    assert refresh_answer(gemu, refresh_token).status_code == 200  # still needed: not revoked

    RetiringConnection.objects.update(not_before=RetiringConnection.objects.get().created_at)
    retire_disconnected("test-worker")
    assert live_events(gemu) == [] and not RetiringConnection.objects.exists()
    assert refresh_answer(gemu, refresh_token).status_code == 400


def test_authorizing_the_same_google_account_again_before_the_deletes_keeps_the_grant(
    world, gemu, bob_client
):
    from shiftdesk.calendarsync.actions import do_choose_calendars
    from tests.google.test_provider_sync import CALENDAR

    assign_two(world)
    bob_client.post(REMOVE, {"delete_future_events": "on"})
    authorize(bob_client, gemu, *BOB_G)  # the same account, before any worker ran the deletes
    connection = CalendarConnection.objects.get(user=world["bob"])
    assert RetiringConnection.objects.get().successor == connection  # the new connection runs them first
    do_choose_calendars(connection, sync_calendar_id=CALENDAR, sync_calendar_name=CALENDAR,
                        freebusy_calendar_id=CALENDAR, freebusy_calendar_name=CALENDAR)  # fmt: skip
    step(world["bob"])
    assert not RetiringConnection.objects.exists()
    # Google ends a grant as a whole: revoking the old token would have cut off the new connection too.
    connection.refresh_from_db()
    assert oauth.access_token(connection, force_refresh=True)
    assert connection.status == CalendarConnection.Status.CONNECTED


def test_moving_to_another_google_account_revokes_the_old_grant_after_its_events_are_gone(
    world, gemu, bob_client
):
    from shiftdesk.calendarsync.actions import do_choose_calendars

    assign_two(world)
    old_token = oauth._tokens(CalendarConnection.objects.get(user=world["bob"]))["refresh_token"]
    authorize(bob_client, gemu, *CAROL_G)
    connection = CalendarConnection.objects.get(user=world["bob"])
    assert refresh_answer(gemu, old_token).status_code == 200  # the deletes still need it
    do_choose_calendars(connection, sync_calendar_id="carol@gmail.com", sync_calendar_name="carol@gmail.com",
                        freebusy_calendar_id="carol@gmail.com", freebusy_calendar_name="carol@gmail.com")  # fmt: skip
    drain(world["bob"])
    assert live_events(gemu) == [] and len(live_events(gemu, "carol@gmail.com")) == 2
    assert refresh_answer(gemu, old_token).status_code == 400
    new_token = oauth._tokens(CalendarConnection.objects.get(user=world["bob"]))["refresh_token"]
    assert refresh_answer(gemu, new_token).status_code == 200


def test_deletes_given_up_end_the_grant_too(world, gemu, bob_client):
    # Google keeps failing the deletes: after MAX_ATTEMPTS rounds the worker gives up (the events stay, the log
    # says so), the retiring row is finished, and the grant is revoked as after deletes that worked.
    from shiftdesk.calendarsync.retiring import MAX_ATTEMPTS

    refresh_token = remove_also_deleting_while_google_fails(world, gemu, bob_client)
    for _ in range(MAX_ATTEMPTS - 1):
        retire_disconnected("test-worker")
        assert refresh_answer(gemu, refresh_token).status_code == 200  # not given up yet: still needed
        RetiringConnection.objects.update(not_before=RetiringConnection.objects.get().created_at)
    retire_disconnected("test-worker")
    gemu.gcontrol.delete("/faults").raise_for_status()
    assert not RetiringConnection.objects.exists()
    assert len(live_events(gemu)) == 2  # given up: they stay in Google Calendar
    answer = refresh_answer(gemu, refresh_token)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
