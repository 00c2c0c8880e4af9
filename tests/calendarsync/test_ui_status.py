"""The user's own Sync Status box on the Calendar Sync tab: status in words, last successful sync, pending
changes, the recent sync log, the safety brake's Confirm, and Restore / Leave it for events deleted in Outlook."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from shiftdesk.calendarsync.models import CalendarConnection, EventLink, SyncLogEntry
from tests.calendarsync.ui_factories import (
    assign,
    deleted_in_outlook,
    log,
    make_connection,
    make_link,
    make_shift,
)

pytestmark = pytest.mark.django_db
Status = CalendarConnection.Status


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client


def status_box(client) -> str:
    html = client.get(reverse("calendar_sync")).content.decode()
    return html.split('id="calendar-sync-status"', 1)[1]


def test_it_says_not_connected(bob_client):
    box = status_box(bob_client)
    assert 'data-sync-status="not_connected"' in box and "Not connected." in box


def test_it_shows_a_healthy_connection_with_its_facts(bob_client, bob):
    connection = make_connection(bob, account_email="bob@contoso.example", last_success_at=timezone.now())
    shifts = [make_shift(days_ahead=d) for d in range(1, 6)]
    make_link(connection, shifts[0], dirty=True)  # an edit not yet written: pending
    make_link(connection, shifts[1], dirty=True, remote_event_id="")  # a create not yet made: pending
    make_link(
        connection, shifts[2], dirty=True, tracked=False, remote_event_id=""
    )  # untracked: nothing to do
    deleted_in_outlook(connection, shifts[3], dirty=True)  # the user deleted it: ShiftDesk does nothing
    make_link(connection, shifts[4])  # in sync
    box = status_box(bob_client)
    assert re.search(r'data-sync-status="connected"><strong class="status-ok">Connected</strong>', box)
    assert "bob@contoso.example" in box and "Shifts" in box
    assert 'data-pending="2"' in box
    assert "Never" not in box.split("Last successful sync", 1)[1].split("</dd>", 1)[0]


def test_it_asks_to_authorize_again_with_a_link(bob_client, bob):
    make_connection(
        bob, status=Status.NEEDS_REAUTHORIZATION, last_error="Your Microsoft sign-in has expired."
    )
    box = status_box(bob_client)
    assert "Needs reauthorization" in box and "Your Microsoft sign-in has expired." in box
    assert re.search(rf'<a href="{reverse("calendar_sync")}#outlook-settings">authorize again</a>', box)


def test_it_shows_an_error_in_words(bob_client, bob):
    make_connection(
        bob, status=Status.ERROR, last_error="The calendar chosen to sync shifts with no longer exists."
    )
    box = status_box(bob_client)
    assert 'data-sync-status="error"' in box
    assert "Syncing has stopped: The calendar chosen to sync shifts with no longer exists." in box


def test_it_explains_the_safety_brake_and_confirms_it(bob_client, bob):
    connection = make_connection(
        bob, status=Status.PAUSED, paused_reason="Paused: the next sync would delete 8 of 10 upcoming events."
    )
    box = status_box(bob_client)
    assert "Paused for confirmation" in box and "would delete 8 of 10 upcoming events" in box
    assert "safety brake" in box and "more than half of your upcoming events" in box
    assert re.search(r'action="/account/calendar-sync/confirm/".*>Confirm</button>', box, re.S)
    response = bob_client.post(reverse("calendar_sync_confirm"))
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.status == Status.CONNECTED and connection.brake_confirmed
    assert connection.paused_reason == "" and connection.sync_due_at is not None


def test_confirm_does_nothing_to_a_connection_that_is_not_paused(bob_client, bob):
    connection = make_connection(bob, status=Status.ERROR)
    response = bob_client.post(reverse("calendar_sync_confirm"), follow=True)
    assert "not paused" in response.content.decode()
    connection.refresh_from_db()
    assert connection.status == Status.ERROR and not connection.brake_confirmed


def test_it_shows_the_20_newest_log_entries(bob_client, bob):
    connection = make_connection(bob)
    start = timezone.now() - timedelta(hours=1)
    for i in range(25):
        log(connection, f"entry number {i:02d}", at=start + timedelta(minutes=i))
    log(connection, "a failure in words", outcome=SyncLogEntry.Outcome.FAILED, at=timezone.now())
    box = status_box(bob_client)
    assert "a failure in words" in box
    shown = re.findall(r"entry number (\d\d)", box)
    assert shown == [f"{i:02d}" for i in range(24, 5, -1)]  # 19 of them + the failure = 20 rows


def test_it_lists_events_deleted_in_outlook_with_restore_and_leave_it(bob_client, bob):
    connection = make_connection(bob)
    upcoming = make_shift(days_ahead=2, position="Circulation Desk", schedule="Circulation")
    assign(upcoming, bob)
    listed = deleted_in_outlook(connection, upcoming)
    past = make_shift(days_ahead=-3)
    deleted_in_outlook(connection, past)  # history: nothing to decide
    left = deleted_in_outlook(connection, make_shift(days_ahead=4), tracked=False)  # already left
    box = status_box(bob_client)
    rows = re.findall(r'data-link="(\d+)"', box)
    assert rows == [str(listed.pk)]
    assert "Circulation Desk - Circulation" in box
    assert reverse("calendar_sync_restore", args=[listed.pk]) in box and ">Restore</button>" in box
    assert reverse("calendar_sync_leave", args=[listed.pk]) in box and ">Leave it</button>" in box
    assert str(left.pk) not in rows


def test_restore_marks_the_event_to_be_created_again(bob_client, bob):
    connection = make_connection(bob)
    shift = make_shift()
    assign(shift, bob)
    link = deleted_in_outlook(connection, shift, remote_event_id="evt-gone", content_hash="abc")
    generation = link.generation
    response = bob_client.post(reverse("calendar_sync_restore", args=[link.pk]))
    assert response["Location"].endswith("#calendar-sync-deleted")
    link.refresh_from_db()
    connection.refresh_from_db()
    assert not link.deleted_in_outlook and link.dirty and link.tracked
    assert link.remote_event_id == "" and link.generation == generation + 1
    assert connection.sync_due_at is not None
    assert f'data-link="{link.pk}"' not in status_box(bob_client)


def test_leave_it_stops_tracking_that_shift(bob_client, bob):
    connection = make_connection(bob)
    shift = make_shift()
    assign(shift, bob)
    link = deleted_in_outlook(connection, shift, dirty=True)
    bob_client.post(reverse("calendar_sync_leave", args=[link.pk]))
    link.refresh_from_db()
    assert not link.tracked and not link.dirty
    assert link.deleted_in_outlook  # the engine's "never fight the user" rule keeps it untouched
    box = status_box(bob_client)
    assert f'data-link="{link.pk}"' not in box
    assert "Left out of the calendar at the request of bob@example.org." in box
    assert EventLink.objects.get(pk=link.pk).remote_event_id  # nothing was deleted or forgotten


def test_it_says_when_syncing_is_off_for_everyone(bob_client, bob):
    # No admin has enabled Azure AD OAuth 2 in this test: the connection is fine, but nothing syncs.
    make_connection(bob)
    box = status_box(bob_client)
    assert "data-integration-off" in box and "Syncing is off for everyone at the moment" in box
    assert "Calendar Sync with Azure AD OAuth 2 is not enabled" in box
