"""Issue 7: "A user has at most one Outlook connection: OAuth or password; switching moves their future
events." Against the real emulator, whose Graph and EWS sides share mailboxes: after a switch every tracked
upcoming shift is exactly once in the new calendar and no longer in the old one (different mailbox), or
adopted in place (same mailbox); the switch itself makes no remote call; a dead old credential only leaves
the old events behind, and says so in the sync log."""

# Microsoft-only: Outlook OAuth <-> Exchange password (Outlook -> Google: tests/google/test_switch_outlook_to_google.py).

from __future__ import annotations

from collections import Counter

import pytest

from m365emulator.ews.store import ews_settings
from tests.calendarsync.conftest import STAFF_PASSWORD, TENANT, Sync, link_key_of

STAFF0, STAFF1 = f"staff0@{TENANT}", f"staff1@{TENANT}"


@pytest.fixture
def ews(emulator, settings):
    settings.EXCHANGE_CA_BUNDLE = emulator.ca_file
    state = ews_settings(emulator.state)
    state.enabled, state.busy_requests = True, 0
    state.disabled_users.clear()
    return emulator


def connect_password(sync, user, upn, *, password=STAFF_PASSWORD, stored_password=None):
    """The Password Authentication box's Save: test the connection (network, as the box does), then store."""
    from shiftdesk.exchange.actions import do_connect_exchange
    from shiftdesk.exchange.client import check_connection

    server, calendars = check_connection(sync.emulator.base_url.removeprefix("https://"), upn, password, upn)
    return do_connect_exchange(user, server=server, password=stored_password or password, calendars=calendars)


def connect_oauth(sync, user, upn, *, choose=True):
    sync.upns[user.pk] = upn
    return Sync.connect(sync, user, choose=choose)


def events_in(sync, upn) -> list[dict]:
    response = sync.emulator.control.get(f"/graph/mailboxes/{upn}")
    response.raise_for_status()
    return response.json()["events"]


def keys_in(sync, upn) -> Counter:
    return Counter(link_key_of(e) for e in events_in(sync, upn))


def without_network(sync, action):
    """Run `action` and assert the emulator saw no request meanwhile (no remote call in the request path)."""
    log = sync.emulator.state.request_log
    marker = {"path": "/switch-marker"}
    log.append(marker)
    result = action()
    assert log[-1] is marker, f"the switch made a remote call: {log[-1]}"
    return result


def test_oauth_to_password_on_the_same_mailbox_keeps_each_future_event_exactly_once(sync, ews):
    from shiftdesk.calendarsync.models import EventLink, RetiringConnection, SyncLogEntry

    bob = sync.add_user(0, connect=False)
    before_auth = sync.shift(days=4)
    sync.assign(before_auth, bob)  # assigned before authorizing: never synced, not by the switch either
    connect_oauth(sync, bob, STAFF0)
    shifts = [sync.shift(days=d) for d in (1, 2, 3)]
    for shift in shifts:
        sync.assign(shift, bob)
    sync.drain(bob)
    old_ids = sorted(e["id"] for e in events_in(sync, STAFF0))
    assert len(old_ids) == 3

    from shiftdesk.exchange.client import check_connection

    server, calendars = check_connection(sync.emulator.base_url.removeprefix("https://"), STAFF0,
                                         STAFF_PASSWORD, STAFF0)  # fmt: skip
    from shiftdesk.exchange.actions import do_connect_exchange

    connection = without_network(
        sync, lambda: do_connect_exchange(bob, server=server, password=STAFF_PASSWORD, calendars=calendars)
    )
    assert connection.provider == "exchange" and connection.calendars_chosen
    assert not RetiringConnection.objects.exists()  # same mailbox: nothing to delete, the events are adopted
    assert EventLink.objects.filter(connection=connection, dirty=True, tracked=True).count() == 3

    sync.drain(bob)
    expected = {EventLink.key_for(bob.pk, s.pk) for s in shifts}
    assert keys_in(sync, STAFF0) == Counter(expected)  # each exactly once, the untracked one not at all
    assert sorted(e["id"] for e in events_in(sync, STAFF0)) == old_ids  # adopted in place, not re-created
    assert SyncLogEntry.objects.filter(connection=connection, action="adopt", outcome="ok").count() == 3
    assert not SyncLogEntry.objects.filter(connection=connection, action__in=["create", "delete"]).exists()

    # The new connection owns them now: a change reaches the same event through EWS.
    from shiftdesk.scheduling.actions import do_unassign_staff

    do_unassign_staff(shifts[0], bob, by=sync.admin)
    sync.drain(bob)
    assert keys_in(sync, STAFF0) == Counter(expected - {EventLink.key_for(bob.pk, shifts[0].pk)})


def test_password_to_oauth_on_another_mailbox_moves_the_events_once_calendars_are_chosen(sync, ews):
    from shiftdesk.calendarsync.actions import do_choose_calendars
    from shiftdesk.calendarsync.models import EventLink, RetiringConnection, SyncLogEntry
    from shiftdesk.calendarsync.worker import Worker

    bob = sync.add_user(0, connect=False)
    connect_password(sync, bob, STAFF0)
    shifts = [sync.shift(days=d) for d in (1, 2, 3)]
    for shift in shifts:
        sync.assign(shift, bob)
    past = sync.shift(days=-2)
    sync.drain(bob)
    expected = Counter({EventLink.key_for(bob.pk, s.pk): 1 for s in shifts})
    assert keys_in(sync, STAFF0) == expected
    # One create whose outcome was never recorded (a crash): the retirement finds it by key and deletes it.
    EventLink.objects.filter(shift_ref=shifts[2].pk).update(remote_event_id="", create_attempted=True)
    del past

    # The OAuth 2 callback stores the connection without calendars (the user chooses them next).
    import msal

    from m365emulator.testing import redirect_params, sign_in
    from shiftdesk.calendarsync.actions import do_connect_calendar
    from shiftdesk.microsoft.auth import build_app
    from shiftdesk.microsoft.identity import USER_SCOPES
    from shiftdesk.microsoft.models import redirect_url

    cache = msal.SerializableTokenCache()
    app = build_app(sync.azure, token_cache=cache, fresh=True)
    flow = app.initiate_auth_code_flow(USER_SCOPES, redirect_uri=redirect_url(), response_mode="query")
    with sync.emulator.http() as browser:
        response = sign_in(browser, flow["auth_uri"], STAFF1, STAFF_PASSWORD)
    result = app.acquire_token_by_auth_code_flow(flow, redirect_params(response), scopes=USER_SCOPES)
    claims = result["id_token_claims"]
    connection = without_network(sync, lambda: do_connect_calendar(
        bob, provider="microsoft", account_email=STAFF1, account_name=claims["name"], account_id=claims["oid"],
        credentials=cache.serialize(),
        provider_settings={"client_id": sync.azure.application_id, "segment": sync.azure.tenant_segment,
                           "tenant_id": claims["tid"], "home_account_id": app.get_accounts()[0]["home_account_id"]},
    ))  # fmt: skip
    retiring = RetiringConnection.objects.get()
    assert retiring.successor_id == connection.id and retiring.provider == "exchange"
    assert len(retiring.events) == 3

    # No calendar chosen yet: the worker leaves both mailboxes alone.
    Worker(concurrency=1, worker_id="w1").run(once=True)
    assert keys_in(sync, STAFF0) == expected and keys_in(sync, STAFF1) == Counter()

    sync.upns[bob.pk] = STAFF1
    calendar = sync.default_calendar(bob)
    do_choose_calendars(connection, sync_calendar_id=calendar["id"], sync_calendar_name=calendar["name"],
                        freebusy_calendar_id=calendar["id"], freebusy_calendar_name=calendar["name"])  # fmt: skip
    Worker(concurrency=1, worker_id="w1").run(once=True)

    assert keys_in(sync, STAFF1) == expected  # each exactly once in the new calendar
    assert keys_in(sync, STAFF0) == Counter()  # and gone from the old one
    assert not RetiringConnection.objects.exists()  # the old password is no longer stored
    assert not EventLink.objects.filter(connection=connection, dirty=True).exists()
    deleted = SyncLogEntry.objects.filter(connection=connection, action="delete", outcome="ok")
    assert sorted(deleted.values_list("shift_ref", flat=True)) == sorted(s.pk for s in shifts)
    assert all("previous calendar" in m for m in deleted.values_list("message", flat=True))


def test_a_dead_old_credential_still_fills_the_new_calendar_and_reports_the_old_events(sync, ews):
    from shiftdesk.calendarsync.models import CalendarConnection, EventLink, RetiringConnection, SyncLogEntry

    bob = sync.add_user(0, connect=False)
    connect_password(sync, bob, STAFF0)
    shifts = [sync.shift(days=d) for d in (1, 2)]
    for shift in shifts:
        sync.assign(shift, bob)
    sync.drain(bob)
    # The stored password stopped working (changed in Exchange meanwhile).
    CalendarConnection.objects.filter(user=bob).update(credentials="no-longer-the-password")

    connection = connect_oauth(sync, bob, STAFF1)
    assert RetiringConnection.objects.filter(successor=connection).exists()
    sync.drain(bob)

    expected = Counter({EventLink.key_for(bob.pk, s.pk): 1 for s in shifts})
    assert keys_in(sync, STAFF1) == expected
    assert keys_in(sync, STAFF0) == expected  # best-effort: they stay in the old calendar
    assert not RetiringConnection.objects.exists()  # given up at once, the dead password not kept
    failed = SyncLogEntry.objects.filter(connection=connection, action="delete", outcome="failed")
    assert sorted(failed.values_list("shift_ref", flat=True)) == sorted(s.pk for s in shifts)
    assert all(
        "Not deleted from the previous calendar" in m for m in failed.values_list("message", flat=True)
    )
    connection.refresh_from_db()
    assert connection.status == CalendarConnection.Status.CONNECTED and connection.last_error == ""


def test_an_alias_of_the_same_mailbox_is_deleted_first_then_created_once(sync, ews):
    """Two accounts that look different but are one mailbox: the old deletes run before the new connection
    probes or creates, so the events end up exactly once (never deleted after being adopted)."""
    from shiftdesk.calendarsync.actions import do_connect_calendar
    from shiftdesk.calendarsync.models import EventLink, RetiringConnection
    from shiftdesk.exchange.client import check_connection

    bob = sync.add_user(0, connect=False)
    connect_oauth(sync, bob, STAFF0)
    shifts = [sync.shift(days=d) for d in (1, 2)]
    for shift in shifts:
        sync.assign(shift, bob)
    sync.drain(bob)
    server, calendars = check_connection(sync.emulator.base_url.removeprefix("https://"), STAFF0,
                                         STAFF_PASSWORD, STAFF0)  # fmt: skip
    default = next(f for f, is_default in calendars if is_default)
    connection = do_connect_calendar(
        bob, provider="exchange", account_email="bob.alias@example.org", account_name="bob", account_id="alias",
        credentials=STAFF_PASSWORD, provider_settings=server.as_dict(),
    )  # fmt: skip
    from shiftdesk.calendarsync.actions import do_choose_calendars

    do_choose_calendars(connection, sync_calendar_id=default.id, sync_calendar_name=default.name,
                        freebusy_calendar_id=default.id, freebusy_calendar_name=default.name)  # fmt: skip
    assert RetiringConnection.objects.filter(successor=connection).exists()
    sync.drain(bob)
    assert keys_in(sync, STAFF0) == Counter({EventLink.key_for(bob.pk, s.pk): 1 for s in shifts})
    assert not RetiringConnection.objects.exists()
    assert EventLink.objects.filter(connection=connection).exclude(remote_event_id="").count() == 2


def test_transient_failures_of_the_old_mailbox_hold_the_new_writes_then_give_up(sync, ews, monkeypatch):
    from shiftdesk.calendarsync import retiring
    from shiftdesk.calendarsync.models import EventLink, RetiringConnection, SyncLogEntry

    bob = sync.add_user(0, connect=False)
    connect_password(sync, bob, STAFF0)
    shift = sync.shift(days=2)
    sync.assign(shift, bob)
    sync.drain(bob)
    ews_settings(sync.emulator.state).busy_requests = 1000  # the old server answers ErrorServerBusy
    connection = connect_oauth(sync, bob, STAFF1)
    monkeypatch.setattr(retiring, "MAX_ATTEMPTS", 2)

    sync.step(bob)  # attempt 1 fails transiently: the new calendar is not written yet
    pending = RetiringConnection.objects.get()
    assert pending.attempts == 1 and keys_in(sync, STAFF1) == Counter()
    assert EventLink.objects.filter(connection=connection, dirty=True).count() == 1

    RetiringConnection.objects.update(not_before=pending.created_at)
    sync.drain(bob)  # attempt 2 gives up; then the new calendar is filled
    assert not RetiringConnection.objects.exists()
    assert keys_in(sync, STAFF1) == Counter({EventLink.key_for(bob.pk, shift.pk): 1})
    assert SyncLogEntry.objects.filter(connection=connection, action="delete", outcome="failed").count() == 1
    ews_settings(sync.emulator.state).busy_requests = 0
    assert len(events_in(sync, STAFF0)) == 1


def test_remove_authorization_after_a_switch_drops_the_pending_deletes_and_their_credentials(sync, ews):
    from shiftdesk.calendarsync.actions import do_disconnect_calendar
    from shiftdesk.calendarsync.models import RetiringConnection

    bob = sync.add_user(0, connect=False)
    connect_password(sync, bob, STAFF0)
    sync.assign(sync.shift(days=2), bob)
    sync.drain(bob)
    connection = connect_oauth(sync, bob, STAFF1, choose=False)
    assert RetiringConnection.objects.filter(successor=connection).exists()
    do_disconnect_calendar(connection)
    assert not RetiringConnection.objects.exists()


def test_an_event_the_user_moved_in_outlook_is_left_alone_by_the_switch_until_restored(sync, ews):
    from shiftdesk.calendarsync.actions import do_restore_deleted_events
    from shiftdesk.calendarsync.models import EventLink, RetiringConnection

    bob = sync.add_user(0, connect=False)
    connect_password(sync, bob, STAFF0)
    kept, moved = sync.shift(days=1), sync.shift(days=2)
    for shift in (kept, moved):
        sync.assign(shift, bob)
    sync.drain(bob)
    # What the periodic verify records when the user moves an event in Outlook.
    EventLink.objects.filter(shift_ref=moved.pk).update(
        moved_in_outlook=True, moved_in_outlook_reason="moved"
    )

    connection = connect_oauth(sync, bob, STAFF1)
    assert [e["shift"] for e in RetiringConnection.objects.get().events] == [kept.pk]
    sync.drain(bob)
    key = EventLink.key_for
    assert keys_in(sync, STAFF1) == Counter({key(bob.pk, kept.pk): 1})
    assert keys_in(sync, STAFF0) == Counter({key(bob.pk, moved.pk): 1})  # the user's own now: not deleted

    assert do_restore_deleted_events(connection) == 1
    sync.drain(bob)
    assert keys_in(sync, STAFF1) == Counter({key(bob.pk, kept.pk): 1, key(bob.pk, moved.pk): 1})


def test_a_revoked_old_oauth_grant_only_leaves_its_events_and_touches_no_connection(sync, ews, mailoutbox):
    from shiftdesk.calendarsync.models import CalendarConnection, EventLink, RetiringConnection, SyncLogEntry

    bob = sync.add_user(0, connect=False)
    connect_oauth(sync, bob, STAFF0)
    shift = sync.shift(days=2)
    sync.assign(shift, bob)
    sync.drain(bob)
    sync.emulator.control.post("/revoke", json={"client_id": sync.azure.application_id, "user": STAFF0})
    sync.emulator.control.post("/tokens/expire", json={"user": STAFF0})

    connection = connect_password(sync, bob, STAFF1)
    assert RetiringConnection.objects.filter(successor=connection, provider="microsoft").exists()
    sync.drain(bob)

    expected = Counter({EventLink.key_for(bob.pk, shift.pk): 1})
    assert keys_in(sync, STAFF1) == expected and keys_in(sync, STAFF0) == expected
    assert not RetiringConnection.objects.exists()
    [failed] = SyncLogEntry.objects.filter(connection=connection, action="delete", outcome="failed")
    assert failed.shift_ref == shift.pk
    connection.refresh_from_db()  # the old grant's death is not the new connection's: no mark, no email
    assert connection.status == CalendarConnection.Status.CONNECTED
    assert mailoutbox == []
