"""The Graph provider's $batch lanes against the emulator, which runs a batch's independent items in parallel
(as Graph does) and throttles each item: lanes chain their items with dependsOn, so one mailbox never has more
than 4 requests in flight, and an item behind a failed one (424) is sent again."""

# Microsoft-only: Graph's $batch lanes (Google's batch lanes: tests/google/test_provider_sync.py).

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def mailbox_requests(sync, user) -> list[dict]:
    oid = sync.connection(user).account_id
    rows = sync.emulator.control.get("/graph/requests", params={"limit": 10000}).json()["value"]
    return [r for r in rows if r.get("mailbox") == oid]


@pytest.mark.parametrize(("writes", "batches"), [(12, 1), (50, 3), (90, 8)])
def test_lanes_keep_a_mailbox_within_its_4_concurrent_requests(sync, settings, writes, batches):
    """A lane per full $batch of 20 chained writes, at most 4 (the mailbox's limit): 12 writes are one batch,
    50 are 3 lanes (17+17+16), 90 are 4 lanes of 22-23 in 2 batches each; never a 429 inside a batch."""
    from shiftdesk.calendarsync.models import EventLink

    settings.SYNC_STEP_MAX_LINKS = 100
    bob = sync.add_user(0)
    for day in range(writes):
        sync.assign(sync.shift(days=1 + day), bob)
    sync.faults(latency_ms=20)
    sync.step(bob)
    assert len(sync.events(bob)) == writes
    rows = mailbox_requests(sync, bob)
    assert [r["status"] for r in rows if r.get("batch")] == [201] * writes  # not a single 429 inside a batch
    assert sum(1 for r in rows if r["path"].endswith("/$batch")) == batches
    assert not EventLink.objects.filter(dirty=True).exists()


def test_items_behind_a_failed_item_are_sent_again(sync):
    from shiftdesk.calendarsync.models import EventLink
    from shiftdesk.scheduling.actions import do_update_shift

    bob = sync.add_user(0)
    shifts = [sync.shift(days=1 + d) for d in range(8)]
    for s in shifts:
        sync.assign(s, bob)
    sync.step(bob)
    first = EventLink.objects.order_by("id").first()  # the head of lane 0's chain
    sync.emulator.control.delete(
        f"/graph/mailboxes/{sync.upns[bob.pk]}/events/{first.remote_event_id}"
    ).raise_for_status()
    for s in shifts:
        do_update_shift(s, position=s.position, location="Annex", start=s.start, end=s.end,
                        staff_needed=s.staff_needed, note=s.note, by=sync.admin)  # fmt: skip
    sync.step(bob)  # the 404 stops lane 0's chain (424 behind it); its other item goes in the next batch
    first.refresh_from_db()
    assert first.deleted_in_outlook
    events = sync.events(bob)
    assert len(events) == 7 and {e["location"] for e in events} == {"Annex"}
    assert not EventLink.objects.filter(dirty=True, deleted_in_outlook=False).exists()
    assert not EventLink.objects.filter(attempts__gt=0).exists()
