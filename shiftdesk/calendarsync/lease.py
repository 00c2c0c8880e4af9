"""A connection's lease (one worker at a time) and its due time. The bottom layer of the engine with
network.py: claim, hold, release, reschedule; conditional UPDATEs only.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone

from shiftdesk.calendarsync.models import CalendarConnection, EventLink


def claim(connection_id: int, worker_id: str) -> bool:
    """Take the connection's lease if it is free, expired or already ours (conditional UPDATE)."""
    now = timezone.now()
    return bool(
        CalendarConnection.objects.filter(id=connection_id)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now) | Q(lease_owner=worker_id))
        .update(lease_owner=worker_id, lease_expires_at=now + timedelta(seconds=settings.SYNC_LEASE_SECONDS))
    )


def hold_lease(connection_id: int, worker_id: str) -> bool:
    """Extend our lease before sending and before recording; False when another worker took the connection
    over after ours ran out (a step stuck behind the network gate or a long Retry-After can outlive it).
    Such a step neither sends nor records: two steps writing one connection's links would overwrite each
    other's remote ids. Whatever it already sent is safe to drop: its creates are committed as attempted
    (probed by the next step), its updates and deletes are simply repeated. Inside the recording
    transaction the UPDATE also holds the row, so nobody can claim it before the results are committed."""
    return bool(
        CalendarConnection.objects.filter(id=connection_id, lease_owner=worker_id).update(
            lease_expires_at=timezone.now() + timedelta(seconds=settings.SYNC_LEASE_SECONDS)
        )
    )


def release(connection_id: int, worker_id: str) -> None:
    CalendarConnection.objects.filter(id=connection_id, lease_owner=worker_id).update(
        lease_owner="", lease_expires_at=None
    )


def reschedule(connection_id: int) -> None:
    """Set when the connection next has work: now if due links remain, else the earliest backoff, else never."""
    now = timezone.now()
    agg = EventLink.objects.filter(connection_id=connection_id, dirty=True).aggregate(
        due=Count("id", filter=Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)),
        later=Min("next_attempt_at"),
    )
    due_at = now if agg["due"] else agg["later"]
    row = CalendarConnection.objects.filter(id=connection_id).values("retry_after_until").first()
    if row and due_at and row["retry_after_until"] and row["retry_after_until"] > due_at:
        due_at = row["retry_after_until"]
    CalendarConnection.objects.filter(id=connection_id).update(sync_due_at=due_at)
