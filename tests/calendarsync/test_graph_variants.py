"""ShiftDesk's sync engine under each answer Microsoft might give where its documentation is silent or has
changed (issue 13 points 2, 3 and 4), through the emulator's variants (m365emulator/variants.py,
/work/coord/emulator-variants.md). Each test runs the real step and verification code over HTTPS."""

# Microsoft-only: the Graph answers the documentation leaves open (the emulator's Graph variants).

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from tests.calendarsync.conftest import link_key_of

pytestmark = pytest.mark.django_db


def variants(sync, **values) -> None:
    sync.emulator.control.patch("/variants", json=values).raise_for_status()


def requests_since(sync, before: int) -> list[dict]:
    rows = sync.emulator.control.get("/graph/requests", params={"limit": 10000}).json()["value"]
    return [r for r in rows[before:] if r["path"].startswith("/v1.0")]


def log_size(sync) -> int:
    return len(sync.emulator.control.get("/graph/requests", params={"limit": 10000}).json()["value"])


def check_now(sync, user, minutes: int = 60 * 7) -> list[dict]:
    """Make the verification due as the sweep would, run the step; the Graph requests it sent."""
    from shiftdesk.calendarsync.models import CalendarConnection

    CalendarConnection.objects.filter(user=user).update(
        last_verified_at=timezone.now() - timedelta(minutes=minutes), sync_due_at=None
    )
    before = log_size(sync)
    assert sync.step(user) is True
    return requests_since(sync, before)


def use_work_calendar(sync, user) -> dict:
    from shiftdesk.calendarsync.actions import do_choose_calendars

    work = sync.emulator.control.post(
        f"/graph/mailboxes/{sync.upns[user.pk]}/calendars", json={"name": "Work"}
    )
    work = work.json()
    do_choose_calendars(sync.connection(user), sync_calendar_id=work["id"], sync_calendar_name="Work",
                        freebusy_calendar_id=work["id"], freebusy_calendar_name="Work")  # fmt: skip
    return work


@pytest.mark.parametrize("calendar_delta", ["accepted", "refused"])
def test_verification_on_a_non_default_calendar_falls_back_to_looking_up_each_event(sync, calendar_delta):
    """Point 2: delta on a non-default calendar is documented only by the concept page. Refused (400), the
    verification looks each event up instead, notices the one the user deleted, flags nothing else, and the
    next check is a normal one, not a loop of failing rounds."""
    from shiftdesk.calendarsync.models import CalendarConnection, EventLink

    variants(sync, calendar_delta=calendar_delta)
    bob = sync.add_user(0)
    work = use_work_calendar(sync, bob)
    for d in range(3):
        sync.assign(sync.shift(days=1 + d), bob)
    sync.drain(bob)
    events = sync.events(bob)
    assert {e["calendarId"] for e in events} == {work["id"]}
    gone = events[0]
    sync.emulator.control.delete(
        f"/graph/mailboxes/{sync.upns[bob.pk]}/events/{gone['id']}"
    ).raise_for_status()
    sent = check_now(sync, bob)
    assert EventLink.objects.get(remote_event_id=gone["id"]).deleted_in_outlook
    assert EventLink.objects.filter(deleted_in_outlook=True).count() == 1
    assert not EventLink.objects.filter(moved_in_outlook=True).exists()
    deltas = [r for r in sent if "/delta" in r["path"]]
    assert len(deltas) == 1
    conn = CalendarConnection.objects.get(user=bob)
    if calendar_delta == "refused":
        assert conn.delta_state == {}  # no link: the next check is SYNC_VERIFY_HOURS away, by lookups
        lookups = [r for r in sent if r["path"].endswith(tuple(e["id"] for e in events))]
        assert len(lookups) >= 3  # every event looked up
    else:
        assert conn.delta_state["link"]
    sync.drain(bob)
    assert len(sync.events(bob)) == 2  # never fought over


def test_our_updates_outside_the_window_reported_as_removed_cost_no_lookup(sync, settings):
    """Point 2: real Graph reports events *outside* the window that changed since the last round under
    `@removed` (event-delta.md). Our own update of a shift far ahead must neither be looked up each round
    nor be taken for a deletion."""
    from shiftdesk.calendarsync.models import EventLink
    from shiftdesk.scheduling.actions import do_update_shift
    from shiftdesk.scheduling.models import Shift

    settings.SYNC_DELTA_WINDOW_DAYS = 5
    variants(sync, delta_removed_outside_window="reported")
    bob = sync.add_user(0)
    near, far = sync.shift(days=1), sync.shift(days=20)
    sync.assign(near, bob)
    sync.assign(far, bob)
    sync.drain(bob)
    check_now(sync, bob)  # a first round (the far one is looked up: it is not in the window)
    far_event = next(e for e in sync.events(bob) if link_key_of(e).endswith(f"-{far.pk}"))
    for shift in Shift.objects.all():
        do_update_shift(shift, position=shift.position, location="Branch", start=shift.start, end=shift.end,
                        staff_needed=shift.staff_needed, note="", by=sync.admin)  # fmt: skip
    sync.drain(bob)
    sent = check_now(sync, bob, minutes=settings.SYNC_DELTA_MINUTES + 1)
    assert [r["path"].rsplit("/", 1)[-1] for r in sent] == ["delta"]  # the round only: no lookup of far
    assert not any(far_event["id"] in r["path"] for r in sent)
    assert not EventLink.objects.filter(deleted_in_outlook=True).exists()
    assert not EventLink.objects.filter(moved_in_outlook=True).exists()


@pytest.mark.parametrize("expand_calendar_id", ["equal", "different_encoding"])
def test_an_events_calendar_is_checked_through_documented_paths_only(sync, expand_calendar_id):
    """Point 3: `$expand=calendar` may return another encoding of the calendar id. Verification must flag
    the event the user moved to another calendar, and only that one, whatever the encoding."""
    from shiftdesk.calendarsync.models import EventLink

    variants(sync, expand_calendar_id=expand_calendar_id)
    bob = sync.add_user(0)
    for d in range(3):
        sync.assign(sync.shift(days=1 + d), bob)
    sync.drain(bob)
    upn = sync.upns[bob.pk]
    moved, retimed, untouched = sorted(sync.events(bob), key=lambda e: e["start"])
    other = sync.emulator.control.post(f"/graph/mailboxes/{upn}/calendars", json={"name": "Personal"}).json()
    sync.emulator.control.patch(f"/graph/mailboxes/{upn}/events/{moved['id']}",
                                json={"calendarId": other["id"]}).raise_for_status()  # fmt: skip
    later = {
        key: {"dateTime": (datetime.fromisoformat(retimed[key]) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S"),
              "timeZone": "UTC"}
        for key in ("start", "end")
    }  # fmt: skip
    sync.emulator.control.patch(
        f"/graph/mailboxes/{upn}/events/{retimed['id']}", json=later
    ).raise_for_status()
    from shiftdesk.calendarsync.models import CalendarConnection

    CalendarConnection.objects.filter(user=bob).update(delta_state={})  # no change tracking: look each up
    sent = check_now(sync, bob)
    assert not any("$expand" in (r.get("query") or "") for r in sent)
    links = {link.remote_event_id: link for link in EventLink.objects.all()}
    assert links[moved["id"]].moved_in_outlook and links[moved["id"]].remote_calendar_id == other["id"]
    assert links[retimed["id"]].moved_in_outlook
    assert not links[untouched["id"]].moved_in_outlook and not links[untouched["id"]].deleted_in_outlook


@pytest.mark.parametrize("batch_throttling", ["per_item", "whole_batch_429", "outer_424"])
def test_a_throttled_batch_is_retried_never_failed_for_good(sync, batch_throttling, settings):
    """Point 4: throttling.md says a batch may fail as a whole (424 in its earlier text; a front door may
    answer 429). Either way the writes are retried after the Retry-After, never failed for good, and each
    event is created exactly once."""
    from shiftdesk.calendarsync.models import EventLink, SyncLogEntry

    variants(sync, batch_throttling=batch_throttling)
    sync.emulator.control.patch(
        "/graph/throttling", json={"requests": 20, "window_seconds": 1}
    ).raise_for_status()
    bob = sync.add_user(0)
    shifts = [sync.shift(days=1 + d) for d in range(30)]
    for shift in shifts:
        sync.assign(shift, bob)
    steps = 0
    while EventLink.objects.filter(dirty=True).exists() and steps < 20:
        sync.step(bob)  # the real pace: no test shortcut past Retry-After or backoff
        steps += 1
        conn = sync.connection(bob)
        assert conn.status == "connected", conn.last_error
        if conn.retry_after_until and conn.retry_after_until > timezone.now():
            wait = (conn.retry_after_until - timezone.now()).total_seconds()
            assert wait <= 5
            from shiftdesk.calendarsync.models import CalendarConnection

            CalendarConnection.objects.filter(id=conn.id).update(retry_after_until=None)  # waited
    sync.emulator.control.delete("/graph/throttling").raise_for_status()
    outer = {r["status"] for r in requests_since(sync, 0) if r["path"] == "/v1.0/$batch"}
    assert {"whole_batch_429": 429, "outer_424": 424}.get(batch_throttling, 200) in outer  # it did bite
    keys = sorted(link_key_of(e) for e in sync.events(bob))
    assert keys == sorted(f"shiftdesk-{bob.pk}-{s.pk}" for s in shifts)  # each exactly once
    assert not SyncLogEntry.objects.filter(outcome="failed").exists()
    assert not EventLink.objects.filter(next_attempt_at__gt=timezone.now() + timedelta(minutes=5)).exists()
