"""Recording a step's results: link rows, the per-connection log, the connection's state, export progress.

Everything a step learned is written in one transaction after the network phase. A crash before it only
repeats work (creates were marked as attempted before sending, so they are looked up, not duplicated).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from shiftdesk.calendarsync.models import CalendarConnection, EventLink, ExportJob, SyncLogEntry
from shiftdesk.calendarsync.providers.base import Operation, ProviderError

if TYPE_CHECKING:
    from shiftdesk.calendarsync.engine import LinkPlan

log = logging.getLogger("shiftdesk.calendarsync")
Status = CalendarConnection.Status
Action = SyncLogEntry.Action
Outcome = SyncLogEntry.Outcome
_LINK_FIELDS = [
    "remote_event_id", "remote_calendar_id", "change_key", "content_hash", "create_attempted", "generation",
    "attempts", "next_attempt_at", "last_error", "deleted_in_outlook", "deleted_in_outlook_at", "synced_at",
    "shift_end",
]  # fmt: skip


@dataclass
class StepRecord:
    connection: CalendarConnection
    plans: list[LinkPlan]
    now: datetime
    worker_id: str
    connection_error: ProviderError | None = None
    retry_after: float | None = None
    entries: list[SyncLogEntry] = field(default_factory=list)
    clean: list[tuple[int, int]] = field(default_factory=list)
    successes: int = 0
    failures: int = 0
    lease_lost: bool = False


def _forget(link: EventLink) -> None:
    """The remote event is gone (deleted by us, or already): the next create gets a new transactionId."""
    link.remote_event_id = ""
    link.remote_calendar_id = ""
    link.change_key = ""
    link.content_hash = ""
    link.create_attempted = False
    link.generation += 1


def _written(link: EventLink, op: Operation, plan: LinkPlan, now: datetime) -> None:
    assert op.result is not None
    link.remote_event_id = op.result.id
    link.remote_calendar_id = op.result.calendar_id or op.calendar_id or link.remote_calendar_id
    link.change_key = op.result.change_key
    link.content_hash = plan.desired.hash
    link.create_attempted = False
    link.attempts = 0
    link.next_attempt_at = None
    link.last_error = ""
    link.synced_at = now


def _entry(
    rec: StepRecord, plan: LinkPlan, action: str, outcome: str, op: Operation | None, message: str = ""
) -> None:
    link = plan.link
    remote = ""
    if op is not None:
        remote = op.result.id if op.result is not None else op.event_id
    ms = op.ms if op is not None else 0
    rec.entries.append(
        SyncLogEntry(
            connection_id=link.connection_id, at=rec.now, action=action, outcome=outcome,
            shift_ref=link.shift_ref, remote_event_id=remote or link.remote_event_id, message=message, ms=ms,
        )
    )  # fmt: skip
    log.info(
        "sync connection=%s shift=%s action=%s outcome=%s remote_id=%s ms=%s%s",
        link.connection_id, link.shift_ref, action, outcome, remote or link.remote_event_id or "-", ms,
        f" error={message!r}" if message else "",
    )  # fmt: skip


def _fail(rec: StepRecord, plan: LinkPlan, op: Operation, action: str) -> None:
    error = op.error
    assert error is not None
    link = plan.link
    if error.retry_after:
        # Throttling is the mailbox's state, not this link's fault: wait, don't count an attempt.
        rec.retry_after = max(rec.retry_after or 0, error.retry_after)
        _entry(rec, plan, action, Outcome.RETRY, op, error.message)
        return
    if error.stops_connection:
        rec.connection_error = rec.connection_error or error
        _entry(rec, plan, action, Outcome.FAILED, op, error.message)
        return
    if error.not_found and op.kind == "create":
        rec.connection_error = rec.connection_error or ProviderError(
            "The calendar chosen to sync shifts with no longer exists in Outlook. Choose another calendar.",
            permanent=True,
            status=404,
        )
        _entry(rec, plan, action, Outcome.FAILED, op, rec.connection_error.message)
        return
    rec.failures += 1
    link.attempts += 1
    link.last_error = error.message
    link.next_attempt_at = rec.now + timedelta(seconds=_backoff(link.attempts, error.permanent))
    _entry(rec, plan, action, Outcome.FAILED if error.permanent else Outcome.RETRY, op, error.message)


def _backoff(attempts: int, permanent: bool) -> float:
    from shiftdesk.calendarsync.engine import backoff_seconds

    return settings.SYNC_BACKOFF_MAX_SECONDS if permanent else backoff_seconds(attempts)


def _not_run(op: Operation | None) -> bool:
    return op is not None and not op.extra.get("ran")


def _apply(rec: StepRecord, plan: LinkPlan) -> None:
    link, first = plan.link, plan.first
    link.shift_end = plan.desired.shift_end or link.shift_end
    if plan.action == "clean":
        rec.clean.append((link.id, link.mark_seq))
        return
    if first is None or _not_run(first):
        if first is not None and first.kind == "create":
            link.create_attempted = False  # certainly never sent: the next step creates without probing
        return  # never sent (deadline, throttled, or the token could not be had): stays dirty
    if first.error is not None and not (first.error.not_found and first.kind in ("delete", "update", "find")):
        _fail(rec, plan, first, _ACTIONS[plan.action])
        return
    if plan.action == "create":
        _written(link, first, plan, rec.now)
        rec.clean.append((link.id, link.mark_seq))
        rec.successes += 1
        _entry(rec, plan, Action.CREATE, Outcome.OK, first)
    elif plan.action == "update":
        if first.error is not None:  # 404: the user deleted it in Outlook; never recreate in a loop
            link.deleted_in_outlook = True
            link.deleted_in_outlook_at = rec.now
            rec.clean.append((link.id, link.mark_seq))
            _entry(rec, plan, Action.UPDATE, Outcome.GONE, first, "The event was deleted in Outlook.")
            return
        _written(link, first, plan, rec.now)
        rec.clean.append((link.id, link.mark_seq))
        rec.successes += 1
        _entry(rec, plan, Action.UPDATE, Outcome.OK, first)
    elif plan.action == "delete":
        _entry(rec, plan, Action.DELETE, Outcome.OK, first, "Already deleted." if first.error else "")
        _forget(link)
        link.attempts, link.last_error, link.next_attempt_at = 0, "", None
        rec.clean.append((link.id, link.mark_seq))
        rec.successes += 1
    elif plan.action in ("move", "probe", "probe_move", "probe_delete"):
        _apply_two_step(rec, plan)


def _apply_two_step(rec: StepRecord, plan: LinkPlan) -> None:
    link, first, second = plan.link, plan.first, plan.second
    assert first is not None
    if plan.action == "move":
        _forget(link)  # the old event is gone (or was already)
    if second is None:
        if plan.action == "probe_delete" and first.result is None:
            _forget(link)
            rec.clean.append((link.id, link.mark_seq))
        return  # the second call was not sent: stays dirty, decided again next step
    if _not_run(second):
        return
    if second.error is not None and not (second.error.not_found and second.kind == "delete"):
        if second.kind == "update" and second.error.not_found:
            return  # the found event vanished meanwhile: next step probes again and creates
        _fail(rec, plan, second, _ACTIONS[plan.action])
        return
    if second.kind == "delete":
        _forget(link)
        if plan.action == "probe_delete":
            rec.clean.append((link.id, link.mark_seq))
        _entry(rec, plan, Action.DELETE, Outcome.OK, second)
        rec.successes += 1
        return
    _written(link, second, plan, rec.now)
    rec.clean.append((link.id, link.mark_seq))
    rec.successes += 1
    action = (
        Action.ADOPT if second.kind == "update" else Action.MOVE if plan.action == "move" else Action.CREATE
    )
    _entry(rec, plan, action, Outcome.OK, second)


_ACTIONS = {
    "create": Action.CREATE, "update": Action.UPDATE, "delete": Action.DELETE, "move": Action.MOVE,
    "probe": Action.CREATE, "probe_move": Action.MOVE, "probe_delete": Action.DELETE,
}  # fmt: skip


def record_step(rec: StepRecord) -> None:
    from shiftdesk.calendarsync.engine import hold_lease, reschedule

    connection = rec.connection
    if rec.lease_lost:
        _lease_lost(rec)
        return
    for plan in rec.plans:
        _apply(rec, plan)
    with transaction.atomic():
        if not hold_lease(connection.id, rec.worker_id):
            _lease_lost(rec)
            return
        write_links([p.link for p in rec.plans], dict(rec.clean))
        SyncLogEntry.objects.bulk_create(rec.entries, batch_size=500)
        _update_connection(rec)
        trim_log(connection.id)
        jobs = {p.link.export_job_id for p in rec.plans if p.link.export_job_id}
        update_export_progress(jobs)
    reschedule(connection.id)


def _lease_lost(rec: StepRecord) -> None:
    log.warning(
        "sync connection=%s action=step outcome=lease_lost worker=%s: another worker took the connection "
        "over; this step's results are left for it to find again",
        rec.connection.id, rec.worker_id,
    )  # fmt: skip


def write_links(links: list[EventLink], clean: dict[int, int]) -> None:
    """One executemany for all of a step's links: their recorded state, and `dirty` cleared only where no
    new mark arrived while the step worked (mark_seq unchanged). Plain SQL because bulk_update's CASE trees
    cost more CPU than the Graph requests they record (bench/sync_bulk.py)."""
    if not links:
        return
    meta = EventLink._meta
    fields = [meta.get_field(name) for name in _LINK_FIELDS]
    quote = connection.ops.quote_name
    sets = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    dirty = quote("dirty")
    # Identifiers come from model metadata only; every value is a parameter.
    case = f"CASE WHEN {quote('mark_seq')} = %s THEN %s ELSE {dirty} END"
    sql = f"UPDATE {quote(meta.db_table)} SET {sets}, {dirty} = {case} WHERE {quote('id')} = %s"  # noqa: S608
    params = [
        [f.get_db_prep_save(getattr(link, f.attname), connection) for f in fields]
        + [clean.get(link.id, -1), False, link.id]
        for link in links
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _update_connection(rec: StepRecord) -> None:
    connection, now = rec.connection, rec.now
    updates: dict = {"last_attempt_at": now}
    if rec.successes:
        updates.update(last_success_at=now, consecutive_failures=0, last_error="", last_error_at=None)
    if rec.retry_after:
        updates["retry_after_until"] = now + timedelta(seconds=rec.retry_after)
    error = rec.connection_error
    if error is not None:
        if error.reauthorize:
            updates.update(status=Status.NEEDS_REAUTHORIZATION)
        elif error.permanent:
            updates.update(status=Status.ERROR)
        else:
            failures = connection.consecutive_failures + 1
            from shiftdesk.calendarsync.engine import backoff_seconds

            updates.update(
                consecutive_failures=failures,
                retry_after_until=now
                + timedelta(seconds=max(backoff_seconds(failures), rec.retry_after or 0)),
            )
        updates.update(last_error=error.message, last_error_at=now)
        SyncLogEntry.objects.create(
            connection=connection, at=now, action=Action.CONNECTION,
            outcome=Outcome.FAILED if error.permanent else Outcome.RETRY, message=error.message,
        )  # fmt: skip
        log.warning("sync connection=%s action=connection outcome=%s error=%r", connection.id,
                    "stopped" if error.permanent else "retry", error.message)  # fmt: skip
        if error.permanent:
            ExportJob.objects.filter(user_id=connection.user_id, status=ExportJob.Status.RUNNING).update(
                status=ExportJob.Status.FAILED, message=error.message, finished_at=now
            )
    elif rec.failures and not rec.successes:
        updates["consecutive_failures"] = connection.consecutive_failures + 1
    if not any(p.action in ("delete", "probe_delete") for p in rec.plans if p.first is not None):
        pass
    elif (
        connection.brake_confirmed
        and not EventLink.objects.filter(connection=connection, dirty=True).exists()
    ):
        updates["brake_confirmed"] = False  # the confirmed pass is over: the brake is armed again
    CalendarConnection.objects.filter(id=connection.id).update(**updates)


def trim_log(connection_id: int) -> None:
    """Keep the newest SYNC_LOG_KEEP_PER_CONNECTION entries of a connection."""
    keep = settings.SYNC_LOG_KEEP_PER_CONNECTION
    cutoff = (
        SyncLogEntry.objects.filter(connection_id=connection_id)
        .order_by("-id")
        .values_list("id", flat=True)[keep : keep + 1]
    )
    cutoff_id = next(iter(cutoff), None)
    if cutoff_id is not None:
        SyncLogEntry.objects.filter(connection_id=connection_id, id__lte=cutoff_id).delete()


def update_export_progress(job_ids: set[int]) -> None:
    """n of m and errors, from the job's links; the job is done when none of its links is dirty."""
    for job_id in job_ids:
        agg = EventLink.objects.filter(export_job_id=job_id).aggregate(
            done=Count("id", filter=Q(dirty=False)),
            errors=Count("id", filter=~Q(last_error="")),
            total=Count("id"),
        )
        updates = {"done": agg["done"], "errors": agg["errors"]}
        if agg["done"] >= agg["total"]:
            updates.update(status=ExportJob.Status.DONE, finished_at=timezone.now())
        ExportJob.objects.filter(id=job_id, status=ExportJob.Status.RUNNING).update(**updates)
