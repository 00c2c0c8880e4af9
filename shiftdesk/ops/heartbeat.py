"""Workers say they are alive (`beat`); Integration Status and /healthz ask (`stale_kinds`, `latest`).

`syncworker` beats on each sweep (every SYNC_SWEEP_SECONDS), `refreshbusy` on each pass (at least every
`--poll` seconds). A worker is alive while its last beat is younger than SHIFTDESK_HEARTBEAT_STALE_SECONDS.
Rows of workers gone for a day are deleted by the next beat of any worker.
"""

from __future__ import annotations

import datetime as dt
import os
import socket

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from shiftdesk.ops.models import Heartbeat

FORGET_AFTER = dt.timedelta(days=1)


def beat(kind: str, worker: str | None = None) -> None:
    """Record that this worker process is alive. One UPDATE (an INSERT on its first beat)."""
    now = timezone.now()
    worker = worker or f"{socket.gethostname()}:{os.getpid()}"
    updated = Heartbeat.objects.filter(worker=worker).update(last_seen=now, kind=kind)
    if not updated:
        Heartbeat.objects.update_or_create(
            worker=worker, defaults={"kind": kind, "last_seen": now, "started_at": now}
        )
        Heartbeat.objects.filter(last_seen__lt=now - FORGET_AFTER).delete()


def latest() -> dict[str, dt.datetime | None]:
    """The newest beat of each kind of worker (None: never seen)."""
    seen = dict(Heartbeat.objects.values_list("kind").annotate(last=Max("last_seen")))
    return {kind: seen.get(kind) for kind in Heartbeat.Kind.values}


def stale_kinds(now: dt.datetime | None = None) -> list[tuple[str, str, dt.datetime | None]]:
    """(kind, label, last seen) of each kind of worker none of which is alive now."""
    now = now or timezone.now()
    limit = now - dt.timedelta(seconds=settings.SHIFTDESK_HEARTBEAT_STALE_SECONDS)
    labels = dict(Heartbeat.Kind.choices)
    return [(kind, labels[kind], last) for kind, last in latest().items() if last is None or last < limit]
