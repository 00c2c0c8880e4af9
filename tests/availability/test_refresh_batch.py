"""Refreshing many users in one step against the real emulator over HTTPS: a query count that does not grow with
the users, every outcome recorded together, Outlook's Retry-After, a refused token renewed once, and what a
refresh finds changed in ShiftDesk when it comes to store its results."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shiftdesk.accounts.models import User
from shiftdesk.availability import refresh
from shiftdesk.availability.models import BusyInterval, FreeBusyState
from shiftdesk.availability.refresh import refresh_busy_for_user, refresh_busy_for_users
from shiftdesk.calendarsync.models import CalendarConnection
from tests.availability.test_refresh import at, soon
from tests.microsoft.conftest import MEGAN, authorize

DOMAIN = "contoso.onmicrosoft.com"


def calendar_views(emulator) -> list[int]:
    """The statuses of the calendarView requests Graph has answered so far, in order."""
    return [e["status"] for e in emulator.state.request_log if e["path"].endswith("/calendarView")]


@pytest.fixture
def connect_staff(emulator, world, azure):
    """connect_staff(n): n new staff, each authorized with a Contoso account of their own, the default
    calendar chosen for free/busy, and one meeting on it."""
    from shiftdesk.calendarsync.actions import do_choose_calendars

    made = []

    def connect(n: int) -> list[User]:
        users = []
        for _ in range(n):
            i = len(made)
            upn = f"staff{i}@{DOMAIN}"
            emulator.control.post(
                "/users", json={"tenant": DOMAIN, "upn": upn, "password": "Staff-pw1"}
            ).raise_for_status()
            user = User.objects.create_user(
                f"staff{i}@example.org", None, first_name="Staff", last_name=str(i)
            )
            browser = Client()
            browser.force_login(user)
            response, _ = authorize(browser, emulator, upn, "Staff-pw1")
            assert response.status_code == 302
            box = emulator.control.get(f"/graph/mailboxes/{upn}").json()
            calendar = next(c for c in box["calendars"] if c["isDefaultCalendar"])
            do_choose_calendars(
                CalendarConnection.objects.get(user=user), sync_calendar_id=calendar["id"],
                sync_calendar_name="Calendar", freebusy_calendar_id=calendar["id"], freebusy_calendar_name="Calendar",
            )  # fmt: skip
            d = soon(2 + i % 5)
            emulator.control.post(
                f"/graph/mailboxes/{upn}/events",
                json={"subject": "Meeting", "start": {"dateTime": at(d, 9), "timeZone": "America/Chicago"},
                      "end": {"dateTime": at(d, 10), "timeZone": "America/Chicago"}, "showAs": "busy"},
            ).raise_for_status()  # fmt: skip
            made.append(user)
            users.append(user)
        return users

    return connect


def test_it_refreshes_many_users_in_a_number_of_queries_that_does_not_grow(connect_staff, site):
    few, many = connect_staff(2), connect_staff(6)
    counts = []
    for users in (few, many):
        with CaptureQueriesContext(db_connection) as ctx:
            results = refresh_busy_for_users([u.pk for u in users])
        assert results == {u.pk: True for u in users}
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] <= 16
    assert BusyInterval.objects.filter(user__in=few + many).count() == 8
    assert set(FreeBusyState.objects.values_list("status", "claimed_until")) == {("ok", None)}


def test_one_step_records_every_outcome_together(bob, charlie, alice, outlook, freebusy_calendar):
    from shiftdesk.calendarsync.actions import do_connect_calendar

    d = soon(2)
    outlook.add_event(freebusy_calendar, "Meeting", at(d, 9), at(d, 10))
    # Charlie's connection is gone but something of him was left; Alice connected without choosing a calendar.
    FreeBusyState.objects.create(user=charlie)
    BusyInterval.objects.create(
        user=charlie,
        start=timezone.now(),
        end=timezone.now() + timedelta(hours=1),
        show_as="busy",
        remote_id="x",
    )
    do_connect_calendar(
        alice, provider="microsoft", account_email="adele@contoso.onmicrosoft.com", account_name="Adele",
        account_id="adele", credentials="",
    )  # fmt: skip
    results = refresh_busy_for_users([bob.pk, charlie.pk, alice.pk])
    assert results == {bob.pk: True, charlie.pk: False, alice.pk: False}
    assert BusyInterval.objects.filter(user=bob).count() == 1
    assert not BusyInterval.objects.filter(user=charlie).exists()
    assert not FreeBusyState.objects.filter(user=charlie).exists()
    state = FreeBusyState.objects.get(user=alice)
    assert state.status == "error" and "No Calendar to Check Free/Busy Status is saved yet" in state.reason
    assert state.claimed_until is None


def test_a_short_retry_after_is_waited_out_for_that_mailbox(bob, emulator, outlook, freebusy_calendar):
    d = soon(2)
    outlook.add_event(freebusy_calendar, "Meeting", at(d, 9), at(d, 10))
    emulator.control.put(
        "/faults", json={"status_rates": {"429": 1.0}, "retry_after": 0, "remaining": 1}
    ).raise_for_status()
    assert refresh_busy_for_user(bob.pk) is True
    assert calendar_views(emulator) == [429, 200]
    assert BusyInterval.objects.filter(user=bob).count() == 1


def test_a_long_retry_after_leaves_busy_data_stale_until_then(bob, emulator, outlook, freebusy_calendar):
    d = soon(2)
    outlook.add_event(freebusy_calendar, "Meeting", at(d, 9), at(d, 10))
    assert refresh_busy_for_user(bob.pk)
    emulator.control.put(
        "/faults", json={"status_rates": {"429": 1.0}, "retry_after": 3600}
    ).raise_for_status()
    before = timezone.now()
    assert refresh_busy_for_user(bob.pk) is False
    assert calendar_views(emulator) == [200, 429]  # not tried again within the step
    state = FreeBusyState.objects.get(user=bob)
    assert state.status == "stale" and "429" in state.reason
    assert state.next_refresh_at >= before + timedelta(hours=1)
    assert BusyInterval.objects.filter(user=bob).count() == 1  # the last known busy times still warn


def test_an_access_token_graph_refuses_is_renewed_once(bob, emulator, outlook, freebusy_calendar):
    d = soon(2)
    assert refresh_busy_for_user(bob.pk)
    outlook.add_event(freebusy_calendar, "Meeting", at(d, 9), at(d, 10))
    emulator.control.post("/tokens/expire", json={"user": MEGAN[0]}).raise_for_status()
    assert refresh_busy_for_user(bob.pk) is True
    assert calendar_views(emulator) == [200, 401, 200]
    assert BusyInterval.objects.filter(user=bob).count() == 1
    assert CalendarConnection.objects.get(user=bob).status != CalendarConnection.Status.NEEDS_REAUTHORIZATION


def test_a_user_another_worker_took_over_meanwhile_is_left_to_it(
    bob, outlook, freebusy_calendar, monkeypatch
):
    d = soon(2)
    outlook.add_event(freebusy_calendar, "Meeting", at(d, 9), at(d, 10))
    later = timezone.now() + timedelta(minutes=9)
    store = refresh._Run._store

    def claim_ran_out_meanwhile(run, outcomes):
        FreeBusyState.objects.filter(user=bob).update(claimed_until=later)
        return store(run, outcomes)

    monkeypatch.setattr(refresh._Run, "_store", claim_ran_out_meanwhile)
    assert refresh_busy_for_user(bob.pk) is False
    state = FreeBusyState.objects.get(user=bob)
    assert state.claimed_until == later and state.last_attempt_at is None
    assert not BusyInterval.objects.filter(user=bob).exists()


def test_subjects_hidden_while_the_calendar_was_being_read_are_not_stored(
    bob, outlook, freebusy_calendar, monkeypatch
):
    from shiftdesk.availability.actions import do_set_show_subjects

    d = soon(2)
    outlook.add_event(freebusy_calendar, "Dentist", at(d, 9), at(d, 10))
    do_set_show_subjects(bob, show=True)
    store = refresh._Run._store

    def hidden_meanwhile(run, outcomes):
        do_set_show_subjects(bob, show=False)
        return store(run, outcomes)

    monkeypatch.setattr(refresh._Run, "_store", hidden_meanwhile)
    assert refresh_busy_for_user(bob.pk) is True
    assert list(BusyInterval.objects.filter(user=bob).values_list("subject", flat=True)) == [""]


@pytest.mark.django_db(transaction=True)
def test_the_worker_refreshes_tokens_on_threads_of_its_own(connect_staff):
    from io import StringIO

    from django.core.management import call_command

    from shiftdesk.microsoft.auth import without_access_tokens
    from shiftdesk.microsoft.freebusy import has_cached_access_token

    users = connect_staff(5)
    # Three have no usable access token left in their stored cache: MSAL must ask for new ones.
    for conn in CalendarConnection.objects.filter(user__in=users[:3]):
        conn.credentials = without_access_tokens(conn.credentials)
        conn.save(update_fields=["credentials"])
    out = StringIO()
    call_command("refreshbusy", "--once", "--threads", "3", "--connections", "2", stdout=out)
    assert "refreshed 5 of 5 users" in out.getvalue()
    assert BusyInterval.objects.filter(user__in=users).count() == 5
    now = timezone.now().timestamp()
    assert all(has_cached_access_token(c.credentials, now) for c in CalendarConnection.objects.all())


def test_it_knows_when_msal_has_a_usable_access_token_cached():
    from shiftdesk.microsoft.freebusy import has_cached_access_token

    now = 1_800_000_000

    def cache(**entry) -> str:
        return json.dumps({"AccessToken": {"k": {"secret": "x", **entry}}, "RefreshToken": {}})

    assert has_cached_access_token(cache(expires_on=str(now + 3600)), now)
    assert has_cached_access_token(cache(expires_on=str(now + 3600), refresh_on=str(now + 60)), now)
    assert not has_cached_access_token(cache(expires_on=str(now + 240)), now)  # MSAL's 5 minutes
    assert not has_cached_access_token(cache(expires_on=str(now + 3600), refresh_on=str(now - 1)), now)
    assert not has_cached_access_token(json.dumps({"AccessToken": {}}), now)
    assert not has_cached_access_token("", now) and not has_cached_access_token("not json", now)
