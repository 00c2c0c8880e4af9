"""The sync engine's unit of work: one step for one connection (style.md habit 6).

`sync_one_connection(connection_id, worker_id=...)` takes the connection's lease with a conditional UPDATE
(another worker holding it -> returns False), runs the deletes owed to the user's previous connection first
(retiring.py), then the dirty links' step (step.py: plan, send, record), or, with nothing dirty, the
verification of what the user did in Outlook (verify.py). A crash at any point only repeats work: creates
carry a transactionId and a link key the engine looks up before creating again.

Layers, each importing only those below it: lease, network (bottom); plan; recording; step; verify and
retiring; this module; the worker (docs/sync-engine.md, tests/calendarsync/test_structure.py).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from shiftdesk.calendarsync.lease import claim, release, reschedule
from shiftdesk.calendarsync.models import CalendarConnection, EventLink
from shiftdesk.calendarsync.providers import get_backend
from shiftdesk.calendarsync.retiring import retire_previous_connections
from shiftdesk.calendarsync.step import sync_links
from shiftdesk.calendarsync.tokens import refresh_if_idle
from shiftdesk.calendarsync.verify import verify_if_due

log = logging.getLogger("shiftdesk.calendarsync")
Status = CalendarConnection.Status


def sync_one_connection(connection_id: int, *, worker_id: str, client: Any = None) -> bool:
    """One step for one connection. True when it did remote work or changed the connection's state."""
    if not claim(connection_id, worker_id):
        return False
    try:
        return _step(connection_id, worker_id, client)
    finally:
        release(connection_id, worker_id)


def _step(connection_id: int, worker_id: str, client: Any) -> bool:
    started = time.monotonic()
    now = timezone.now()
    connection = CalendarConnection.objects.select_related("user").filter(id=connection_id).first()
    if connection is None:
        return False
    if connection.status == Status.CONNECTED:
        backend = get_backend(connection.provider)
        if not backend.disabled_reason():
            refresh_if_idle(connection, backend, now)  # before the token goes unused for 90 days (tokens.py)
    if connection.status != Status.CONNECTED or not connection.sync_calendar_id:
        CalendarConnection.objects.filter(id=connection_id).update(sync_due_at=None)
        return False
    backend = get_backend(connection.provider)
    if backend.disabled_reason():
        return False  # integration off for everyone: events stay, marks stay, resumes when enabled
    if connection.retry_after_until and connection.retry_after_until > now:
        CalendarConnection.objects.filter(id=connection_id).update(sync_due_at=connection.retry_after_until)
        return False
    if retire_previous_connections(connection, now):
        return True  # deletes owed to the user's previous connection come first (retiring.py)
    links = list(
        EventLink.objects.filter(connection=connection, dirty=True)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("id")[: settings.SYNC_STEP_MAX_LINKS]
    )
    if not links:
        verified = verify_if_due(connection, backend, client, now, started, worker_id)
        reschedule(connection_id)
        return verified
    # Plan from the calendar chosen *after* the links were read: a Save Calendars committed before this
    # read is planned now; one committed after it bumped the links' mark_seq, so they stay dirty and are
    # planned again. (Read before the links, a choice committed in between was lost: the links were cleared
    # with creates in the old calendar — the chaos test's "misplaced" events.)
    fresh = (
        CalendarConnection.objects.filter(id=connection_id).values("sync_calendar_id", "delta_state").first()
    )
    if fresh is None or not fresh["sync_calendar_id"]:
        return False
    connection.sync_calendar_id, connection.delta_state = fresh["sync_calendar_id"], fresh["delta_state"]
    return sync_links(connection, backend, client, links, now=now, started=started, worker_id=worker_id)
