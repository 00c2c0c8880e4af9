"""Events the user moved in Outlook (to another calendar, or to another time): the periodic verification
notices them, ShiftDesk stops writing them (never fights the user), shows them beside the deleted ones on the
Calendar Sync tab with Restore / Leave it and counts them on Integration Status. All against the emulator,
where the control API edits the mailbox "as the user"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.calendarsync.conftest import PROVIDERS

pytestmark = pytest.mark.django_db


def verify_now(sync, user) -> None:
    from shiftdesk.calendarsync.models import CalendarConnection

    CalendarConnection.objects.filter(user=user).update(last_verified_at=timezone.now() - timedelta(hours=7))
    assert sync.step(user) is True


def writes_to(sync, event_id: str) -> list[tuple[str, str]]:
    """Writes (PATCH/DELETE) the app sent for one event id, from the emulator's request log."""
    return sync.writes_to({"id": event_id})


@pytest.fixture
def moved(sync):
    """bob's three synced shifts; in Outlook he moves one to another calendar and another to 2 hours later."""
    bob = sync.add_user(0)
    shifts = [sync.shift(days=1 + d) for d in range(3)]
    for s in shifts:
        sync.assign(s, bob)
    sync.drain(bob)
    by_start = sorted(sync.events(bob), key=lambda e: e["start"])
    other = sync.add_calendar(bob, "Personal")
    sync.user_moves(bob, by_start[0], other["id"])
    sync.user_retimes(bob, by_start[1], hours=2)
    return bob, shifts, by_start, other


@pytest.mark.parametrize("provider", PROVIDERS)
def test_verification_notices_events_moved_to_another_calendar_or_time_and_never_fights(sync, moved):
    from shiftdesk.calendarsync.models import EventLink, SyncLogEntry, calendar_place
    from shiftdesk.scheduling.actions import do_update_shift

    bob, shifts, (to_other, retimed, untouched), other = moved
    verify_now(sync, bob)
    place = calendar_place(sync.connection(bob).provider)  # "Outlook" / "Google Calendar": the user's words
    links = {link.remote_event_id: link for link in EventLink.objects.all()}
    assert links[to_other["id"]].moved_in_outlook
    assert (
        links[to_other["id"]].moved_in_outlook_reason
        == f"You moved the event to another calendar in {place}."
    )
    assert links[to_other["id"]].remote_calendar_id == other["id"]
    assert links[retimed["id"]].moved_in_outlook
    assert links[retimed["id"]].moved_in_outlook_reason == f"You changed the event's time in {place}."
    assert not links[untouched["id"]].moved_in_outlook and not links[untouched["id"]].deleted_in_outlook
    assert SyncLogEntry.objects.filter(outcome="moved").count() == 2

    # The shifts change in ShiftDesk: the moved events are left as the user put them, the other is updated.
    for s in shifts:
        do_update_shift(s, position=s.position, location="Branch", start=s.start, end=s.end,
                        staff_needed=s.staff_needed, note="changed", by=sync.admin)  # fmt: skip
    sync.drain(bob)
    verify_now(sync, bob)
    sync.drain(bob)
    assert writes_to(sync, to_other["id"]) == [] and writes_to(sync, retimed["id"]) == []
    assert [m for m, _ in writes_to(sync, untouched["id"])] == ["PATCH"]
    now = {e["id"]: e for e in sync.events(bob)}
    assert now[to_other["id"]]["calendarId"] == other["id"] and now[to_other["id"]]["location"] != "Branch"
    assert now[retimed["id"]]["start"] != retimed["start"] and now[retimed["id"]]["location"] != "Branch"
    assert now[untouched["id"]]["location"] == "Branch"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_restore_puts_moved_events_back_in_the_sync_calendar_at_the_shift_time(sync, moved):
    from shiftdesk.calendarsync.actions import do_restore_deleted_events
    from shiftdesk.calendarsync.models import EventLink
    from tests.calendarsync.conftest import link_key_of

    bob, shifts, (to_other, retimed, untouched), other = moved
    verify_now(sync, bob)
    assert do_restore_deleted_events(sync.connection(bob)) == 2
    sync.drain(bob)
    sync_calendar = sync.connection(bob).sync_calendar_id
    events = sync.events(bob)
    assert len(events) == 3 and {e["calendarId"] for e in events} == {sync_calendar}
    assert len({link_key_of(e) for e in events}) == 3  # the moved one re-created here, deleted there
    assert to_other["id"] not in {e["id"] for e in events}
    back = next(e for e in events if e["id"] == retimed["id"])
    assert (back["start"], back["end"]) == (retimed["start"], retimed["end"])  # same id, the shift's time
    assert not EventLink.objects.filter(moved_in_outlook=True).exists()
    verify_now(sync, bob)
    assert not EventLink.objects.filter(moved_in_outlook=True).exists()  # as we left them: nothing flagged


# Microsoft-only: the page's Outlook words and Integration Status's Outlook count.
def test_the_tab_lists_moved_events_with_restore_and_leave_it_and_integration_status_counts_them(
    sync, moved, client, alice
):
    from shiftdesk.calendarsync.models import EventLink

    bob, shifts, (to_other, retimed, untouched), other = moved
    verify_now(sync, bob)
    client.force_login(bob)
    box = client.get(reverse("calendar_sync")).content.decode().split('id="calendar-sync-deleted"', 1)[1]
    box = box.split("Recent sync log", 1)[0]
    assert box.count('data-kind="moved"') == 2 and 'data-kind="deleted"' not in box
    assert "Moved in Outlook: You moved the event to another calendar in Outlook." in box
    assert "Moved in Outlook: You changed the event&#x27;s time in Outlook." in box
    assert box.count(">Restore</button>") == 2 and box.count(">Leave it</button>") == 2

    retimed_link = EventLink.objects.get(remote_event_id=retimed["id"])
    client.post(reverse("calendar_sync_leave", args=[retimed_link.pk]))
    retimed_link.refresh_from_db()
    assert not retimed_link.tracked and retimed_link.moved_in_outlook
    moved_link = EventLink.objects.get(remote_event_id=to_other["id"])
    client.post(reverse("calendar_sync_restore", args=[moved_link.pk]))
    sync.drain(bob)
    events = {e["id"]: e for e in sync.events(bob)}
    assert events[retimed["id"]]["start"] != retimed["start"]  # left where the user put it
    assert to_other["id"] not in events and len(events) == 3
    assert writes_to(sync, retimed["id"]) == []

    client.force_login(alice)
    # Another moved event, so Integration Status has something to count.
    sync.user_moves(bob, untouched, other["id"])
    verify_now(sync, bob)
    html = client.get("/admin/accounts/integration-status/").content.decode()
    row = next(r for r in html.split("<tr data-user=")[1:] if bob.email in r)
    assert 'data-moved="1"' in row and "1 event moved in Outlook" in row
    assert "deleted in Outlook" not in row


def test_access_denied_while_verifying_stops_the_connection(sync):  # Graph-only: ErrorAccessDenied
    from shiftdesk.calendarsync.models import CalendarConnection

    bob = sync.add_user(0)
    sync.assign(sync.shift(), bob)
    sync.drain(bob)
    sync.emulator.control.put(
        f"/graph/mailboxes/{sync.upns[bob.pk]}/access", json={"deny": True}
    ).raise_for_status()
    verify_now(sync, bob)
    conn = sync.connection(bob)
    assert conn.status == CalendarConnection.Status.ERROR and "ErrorAccessDenied" in conn.last_error
