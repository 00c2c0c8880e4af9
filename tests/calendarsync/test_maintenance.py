"""The sweep's upkeep: noticing events deleted in Outlook, and keeping idle refresh tokens alive."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from tests.calendarsync.conftest import PROVIDERS


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_verification_pass_notices_events_deleted_in_outlook_and_does_not_recreate_them(sync):
    from shiftdesk.calendarsync.models import CalendarConnection, EventLink, SyncLogEntry
    from shiftdesk.calendarsync.worker import enqueue_verifications

    bob = sync.add_user(0)
    shifts = [sync.shift(days=1 + d) for d in range(3)]
    for s in shifts:
        sync.assign(s, bob)
    sync.step(bob)
    gone = sync.events(bob)[0]
    sync.user_deletes(bob, gone)

    assert enqueue_verifications() == 0  # verified recently (at connect time)
    CalendarConnection.objects.update(last_verified_at=timezone.now() - timedelta(hours=7))
    assert enqueue_verifications() == 1
    assert sync.step(bob) is True
    link = EventLink.objects.get(remote_event_id=gone["id"])
    assert link.deleted_in_outlook
    assert SyncLogEntry.objects.filter(outcome="gone", remote_event_id=gone["id"]).exists()
    assert EventLink.objects.filter(deleted_in_outlook=False).count() == 2
    sync.step(bob)
    assert len(sync.events(bob)) == 2  # not fought over


def refresh_pass(sync) -> int:
    """The sweep makes idle connections due; the worker claims each and refreshes it in its step."""
    from shiftdesk.calendarsync.tokens import enqueue_idle_refreshes
    from shiftdesk.calendarsync.worker import Worker

    enqueued = enqueue_idle_refreshes(["microsoft"])
    Worker(concurrency=1, worker_id="refresh").run(once=True)
    return enqueued


def test_idle_connections_are_refreshed_before_the_90_day_limit_in_their_own_claimed_step(
    sync,
):  # Microsoft-only: Azure AD's 90-day refresh tokens
    from shiftdesk.calendarsync.models import CalendarConnection

    bob = sync.add_user(0)
    carol = sync.add_user(1)
    long_ago = timezone.now() - timedelta(days=40)
    CalendarConnection.objects.filter(user=bob).update(token_refreshed_at=long_ago)
    CalendarConnection.objects.update(sync_due_at=None)
    before = {c.user_id: c.credentials for c in CalendarConnection.objects.all()}
    assert refresh_pass(sync) == 1
    bob_conn, carol_conn = sync.connection(bob), sync.connection(carol)
    assert bob_conn.token_refreshed_at > long_ago
    assert bob_conn.credentials != before[bob.pk]  # the refresh token was used and the new one stored
    assert carol_conn.credentials == before[carol.pk]
    assert bob_conn.lease_owner == ""  # it was claimed like a step, and released
    assert refresh_pass(sync) == 0  # refreshed: not idle any more


def test_a_connection_that_cannot_be_refreshed_for_75_days_warns_its_user_once(
    sync, settings
):  # Microsoft-only: Azure AD's 90-day refresh tokens
    from shiftdesk.calendarsync.models import CalendarConnection

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    bob = sync.add_user(0)
    CalendarConnection.objects.filter(user=bob).update(
        token_refreshed_at=timezone.now() - timedelta(days=80), sync_due_at=None
    )
    # Microsoft's token endpoint is down (503) for as long as the test lasts.
    sync.faults(status_rates={"503": 1.0}, paths=["/organizations/oauth2/v2.0/token"])
    assert refresh_pass(sync) == 1
    assert refresh_pass(sync) == 0  # tried again only after the retry time
    CalendarConnection.objects.filter(user=bob).update(last_attempt_at=timezone.now() - timedelta(hours=2))
    assert refresh_pass(sync) == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["staff0@example.org"]
    assert "will stop soon" in mail.outbox[0].subject
    assert sync.connection(bob).status == "connected"  # not its fault: it is not marked
