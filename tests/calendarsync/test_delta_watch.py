"""Events the user deleted or moved in Outlook, noticed through Graph's change tracking (calendarView/delta on
the sync calendar, shiftdesk/calendarsync/verify.py): a first round lists the window, later rounds only what
changed, so a quiet check is one request and runs every SYNC_DELTA_MINUTES. All against the emulator, whose
control API edits the mailbox "as the user"; requests are counted from its request log."""

# Microsoft-only: Graph's calendarView/delta requests (Google's sync tokens run under the deleted/moved tests).

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db


def graph_gets(sync, since: int) -> list[str]:
    rows = sync.emulator.control.get("/graph/requests", params={"limit": 10000}).json()["value"]
    return [r["path"] for r in rows[since:] if r["path"].startswith("/v1.0") and r["method"] == "GET"]


def delta_path(sync, user) -> str:
    return f"/v1.0/me/calendars/{sync.connection(user).sync_calendar_id}/calendarView/delta"


def log_size(sync) -> int:
    return len(sync.emulator.control.get("/graph/requests", params={"limit": 10000}).json()["value"])


def check_now(sync, user, minutes: int = 16) -> list[str]:
    """Make the connection's check due as the sweep would, run the step, return the GETs it sent."""
    from shiftdesk.calendarsync.models import CalendarConnection
    from shiftdesk.calendarsync.worker import enqueue_verifications

    CalendarConnection.objects.filter(user=user).update(
        last_verified_at=timezone.now() - timedelta(minutes=minutes), sync_due_at=None
    )
    assert enqueue_verifications() == 1
    before = log_size(sync)
    assert sync.step(user) is True
    return graph_gets(sync, before)


@pytest.fixture
def synced(sync):
    """bob with three synced shifts, and a first change-tracking round already made."""
    bob = sync.add_user(0)
    for d in range(3):
        sync.assign(sync.shift(days=1 + d), bob)
    sync.drain(bob)
    gets = check_now(sync, bob, minutes=60 * 7)
    assert len(gets) == 1 and gets[0].endswith("/calendarView/delta")  # all three listed: nothing to look up
    return bob


def test_a_quiet_check_is_one_delta_request_and_runs_every_few_minutes(sync, synced, settings):
    from shiftdesk.calendarsync.models import CalendarConnection, EventLink
    from shiftdesk.calendarsync.worker import enqueue_verifications

    conn = sync.connection(synced)
    assert conn.delta_state["calendar"] == conn.sync_calendar_id and "deltatoken" in conn.delta_state["link"]
    CalendarConnection.objects.filter(id=conn.id).update(
        last_verified_at=timezone.now() - timedelta(minutes=settings.SYNC_DELTA_MINUTES - 1)
    )
    assert enqueue_verifications() == 0  # not yet
    assert check_now(sync, synced) == [delta_path(sync, synced)]  # the deltaLink: nothing changed
    assert not EventLink.objects.filter(deleted_in_outlook=True).exists()
    assert not EventLink.objects.filter(moved_in_outlook=True).exists()


def test_a_deleted_event_is_seen_as_removed_and_looked_up_once(sync, synced):
    from shiftdesk.calendarsync.models import EventLink, SyncLogEntry

    gone = sync.events(synced)[1]
    sync.emulator.control.delete(
        f"/graph/mailboxes/{sync.upns[synced.pk]}/events/{gone['id']}"
    ).raise_for_status()
    gets = check_now(sync, synced)
    assert gets[0] == delta_path(sync, synced)
    calendar = sync.connection(synced).sync_calendar_id
    # Only the removed one is looked up: not in the calendar we wrote it to (the documented path), nor
    # anywhere in the mailbox.
    assert gets[1:] == [f"/v1.0/me/calendars/{calendar}/events/{gone['id']}", f"/v1.0/me/events/{gone['id']}"]
    link = EventLink.objects.get(remote_event_id=gone["id"])
    assert link.deleted_in_outlook and not link.dirty
    assert SyncLogEntry.objects.filter(outcome="gone", remote_event_id=gone["id"]).exists()
    assert EventLink.objects.filter(deleted_in_outlook=True).count() == 1
    sync.drain(synced)
    assert len(sync.events(synced)) == 2  # never fought over


def test_events_moved_to_another_calendar_or_time_are_told_apart(sync, synced):
    from shiftdesk.calendarsync.models import EventLink

    upn = sync.upns[synced.pk]
    to_other, retimed, untouched = sorted(sync.events(synced), key=lambda e: e["start"])
    other = sync.emulator.control.post(f"/graph/mailboxes/{upn}/calendars", json={"name": "Personal"}).json()
    sync.emulator.control.patch(
        f"/graph/mailboxes/{upn}/events/{to_other['id']}", json={"calendarId": other["id"]}
    ).raise_for_status()
    later = {
        key: {"dateTime": (datetime.fromisoformat(retimed[key]) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S"),
              "timeZone": "UTC"}
        for key in ("start", "end")
    }  # fmt: skip
    sync.emulator.control.patch(
        f"/graph/mailboxes/{upn}/events/{retimed['id']}", json=later
    ).raise_for_status()

    gets = check_now(sync, synced)
    calendar = sync.connection(synced).sync_calendar_id
    # Where it is, through documented paths only (never `$expand=calendar` ids compared with /me/calendars):
    # not in our calendar, still in the mailbox, found in the other calendar.
    assert gets == [
        delta_path(sync, synced),
        f"/v1.0/me/calendars/{calendar}/events/{to_other['id']}",
        f"/v1.0/me/events/{to_other['id']}",
        "/v1.0/me/calendars",
        f"/v1.0/me/calendars/{other['id']}/events/{to_other['id']}",
    ]
    links = {link.remote_event_id: link for link in EventLink.objects.all()}
    assert links[to_other["id"]].moved_in_outlook
    assert (
        links[to_other["id"]].moved_in_outlook_reason == "You moved the event to another calendar in Outlook."
    )
    assert links[to_other["id"]].remote_calendar_id == other["id"]
    assert links[retimed["id"]].moved_in_outlook
    assert links[retimed["id"]].moved_in_outlook_reason == "You changed the event's time in Outlook."
    assert not links[untouched["id"]].moved_in_outlook and not links[untouched["id"]].deleted_in_outlook


def test_our_own_updates_come_back_in_the_next_round_and_are_not_taken_for_the_user(sync, synced):
    from shiftdesk.calendarsync.models import EventLink
    from shiftdesk.scheduling.actions import do_update_shift
    from shiftdesk.scheduling.models import Shift

    for s in Shift.objects.all():
        do_update_shift(s, position=s.position, location="Branch", start=s.start, end=s.end,
                        staff_needed=s.staff_needed, note="", by=sync.admin)  # fmt: skip
    sync.drain(synced)
    gets = check_now(sync, synced)
    assert gets == [delta_path(sync, synced)]  # three changed events, all as we wrote them
    assert not EventLink.objects.filter(moved_in_outlook=True).exists()
    assert not EventLink.objects.filter(deleted_in_outlook=True).exists()


def test_a_forgotten_delta_link_starts_a_first_round_again(sync, synced):
    from shiftdesk.calendarsync.models import EventLink

    upn = sync.upns[synced.pk]
    old_link = sync.connection(synced).delta_state["link"]
    gone = sync.events(synced)[0]
    sync.emulator.control.delete(f"/graph/mailboxes/{upn}/events/{gone['id']}").raise_for_status()
    sync.emulator.control.post(f"/graph/mailboxes/{upn}/expire-delta-tokens").raise_for_status()
    gets = check_now(sync, synced)
    # the old link answers 410, a first round lists the window, the missing one is looked up
    calendar = sync.connection(synced).sync_calendar_id
    assert gets == [delta_path(sync, synced)] * 2 + [
        f"/v1.0/me/calendars/{calendar}/events/{gone['id']}",
        f"/v1.0/me/events/{gone['id']}",
    ]
    assert EventLink.objects.get(remote_event_id=gone["id"]).deleted_in_outlook
    assert sync.connection(synced).delta_state["link"] != old_link


def test_a_first_round_is_made_again_after_verify_hours(sync, synced, settings):
    """A removal consumed by a round while the link was dirty (and no write of ours found it) is caught by
    the periodic first round: simulated here by a user deletion the stored link never reports."""
    from shiftdesk.calendarsync.models import CalendarConnection, EventLink

    upn = sync.upns[synced.pk]
    gone = sync.events(synced)[2]
    sync.emulator.control.delete(f"/graph/mailboxes/{upn}/events/{gone['id']}").raise_for_status()
    conn = sync.connection(synced)
    conn.refresh_from_db()
    # consume the removal in a round whose answer is ignored (as if the link had been dirty then)
    state = dict(conn.delta_state)
    import httpx

    from shiftdesk.calendarsync.providers import get_backend

    token = get_backend(conn.provider).credentials(conn)
    with httpx.Client(verify=sync.emulator.ca_file, headers={"Authorization": f"Bearer {token}"}) as http:
        data = http.get(state["link"]).json()
    assert any("@removed" in item for item in data["value"])
    CalendarConnection.objects.filter(id=conn.id).update(
        delta_state={**state, "link": data["@odata.deltaLink"]}
    )

    check_now(sync, synced)
    assert not EventLink.objects.filter(deleted_in_outlook=True).exists()  # the link no longer says so
    first_at = timezone.now() - timedelta(hours=settings.SYNC_VERIFY_HOURS, minutes=1)
    conn.refresh_from_db()
    CalendarConnection.objects.filter(id=conn.id).update(
        delta_state={**conn.delta_state, "first_at": first_at.isoformat()}
    )
    gets = check_now(sync, synced)
    assert gets[-1] == f"/v1.0/me/events/{gone['id']}"
    assert EventLink.objects.get(remote_event_id=gone["id"]).deleted_in_outlook


def test_a_new_sync_calendar_starts_tracking_it_from_a_first_round(sync, synced):
    from shiftdesk.calendarsync.models import CalendarConnection

    upn = sync.upns[synced.pk]
    other = sync.emulator.control.post(f"/graph/mailboxes/{upn}/calendars", json={"name": "Shifts"}).json()
    CalendarConnection.objects.filter(user=synced).update(sync_calendar_id=other["id"])
    check_now(sync, synced)
    assert sync.connection(synced).delta_state["calendar"] == other["id"]
