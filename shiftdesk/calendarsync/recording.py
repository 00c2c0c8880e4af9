"""Recording a step's results: link rows, the per-connection log, the connection's state, export progress.

Everything a step learned is written in one transaction after the network phase. A crash before it only
repeats work (creates were marked as attempted before sending, so they are looked up, not duplicated).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from shiftdesk.calendarsync import linkstate
from shiftdesk.calendarsync.lease import hold_lease, reschedule
from shiftdesk.calendarsync.linkstate import Plan
from shiftdesk.calendarsync.models import (
    CalendarConnection,
    EventLink,
    ExportJob,
    SyncLogEntry,
    calendar_place,
)
from shiftdesk.calendarsync.pacing import backoff_seconds
from shiftdesk.calendarsync.providers.base import Fate, Operation, ProviderError

if TYPE_CHECKING:
    from shiftdesk.calendarsync.plan import LinkPlan

log = logging.getLogger("shiftdesk.calendarsync")
Status = CalendarConnection.Status
# TextChoices (str values at run time; without django-stubs mypy would see the ("value", "label") literals).
Action: Any = SyncLogEntry.Action
Outcome: Any = SyncLogEntry.Outcome
_LINK_FIELDS = [
    "remote_event_id", "remote_calendar_id", "change_key", "content_hash", "create_attempted",
    "delete_attempted", "generation",
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
            f"The calendar chosen to sync shifts with no longer exists in {calendar_place(rec.connection.provider)}. "
            "Choose another calendar.",
            permanent=True,
            status=404,
        )
        _entry(rec, plan, action, Outcome.FAILED, op, rec.connection_error.message)
        return
    rec.failures += 1
    linkstate.failed(
        link, error.message, rec.now + timedelta(seconds=_backoff(link.attempts + 1, error.permanent))
    )
    _entry(rec, plan, action, Outcome.FAILED if error.permanent else Outcome.RETRY, op, error.message)


def _backoff(attempts: int, permanent: bool) -> float:
    return settings.SYNC_BACKOFF_MAX_SECONDS if permanent else backoff_seconds(attempts)


def _written(link: EventLink, op: Operation, plan: LinkPlan, now: datetime) -> None:
    assert op.result is not None
    linkstate.written(
        link, event_id=op.result.id, calendar_id=op.result.calendar_id or op.calendar_id,
        change_key=op.result.change_key, content_hash=plan.desired.hash, now=now,
    )  # fmt: skip


def _undecided(op: Operation) -> bool:
    """Sent and never answered, with no error to show for it (its lane stopped before trying again): the
    link stays as it is and dirty (a create stays "attempted", so the next step probes)."""
    return op.fate is Fate.UNANSWERED and op.error is None and op.result is None


def _apply(rec: StepRecord, plan: LinkPlan) -> None:
    link, first = plan.link, plan.first
    linkstate.shift_ends(link, plan.desired.shift_end)
    if plan.action is Plan.CLEAN:
        rec.clean.append((link.id, link.mark_seq))
        return
    if first is None or first.fate is Fate.NOT_SENT:
        if first is not None and first.kind == "create":
            linkstate.create_unsent(link)  # certainly never sent: the next step creates without probing
        return  # never sent (deadline, throttled, or the token could not be had): stays dirty
    if _undecided(first):
        return
    if first.error is not None and not (first.error.not_found and first.kind in ("delete", "update", "find")):
        _fail(rec, plan, first, _ACTIONS[plan.action])
        return
    if plan.action is Plan.CREATE:
        _written(link, first, plan, rec.now)
        rec.clean.append((link.id, link.mark_seq))
        rec.successes += 1
        _entry(rec, plan, Action.CREATE, Outcome.OK, first)
    elif plan.action is Plan.UPDATE:
        if first.error is not None:  # 404: the user deleted it in Outlook; never recreate in a loop
            linkstate.gone_in_outlook(link, rec.now)
            rec.clean.append((link.id, link.mark_seq))
            place = calendar_place(rec.connection.provider)
            _entry(rec, plan, Action.UPDATE, Outcome.GONE, first, f"The event was deleted in {place}.")
            return
        _written(link, first, plan, rec.now)
        rec.clean.append((link.id, link.mark_seq))
        rec.successes += 1
        _entry(rec, plan, Action.UPDATE, Outcome.OK, first)
    elif plan.action is Plan.DELETE:
        _entry(rec, plan, Action.DELETE, Outcome.OK, first, "Already deleted." if first.error else "")
        linkstate.forgotten(link)
        rec.clean.append((link.id, link.mark_seq))
        rec.successes += 1
    elif plan.action is Plan.RETIRE:
        _entry(rec, plan, Action.DELETE, Outcome.OK, first, "Already deleted." if first.error else "")
        create_pending = link.create_attempted
        linkstate.forgotten(link)
        if create_pending:
            linkstate.create_may_have_landed(link)  # stays dirty: the next step probes for the newer event
        # else only our own unrecorded delete was pending: nothing else can be out there; stays dirty and
        # the next step creates (new generation, new transactionId) or finds nothing to do.
        rec.successes += 1
    else:
        _apply_two_step(rec, plan)


def _apply_two_step(rec: StepRecord, plan: LinkPlan) -> None:
    link, first, second = plan.link, plan.first, plan.second
    assert first is not None
    if plan.action is Plan.MOVE:
        linkstate.forgotten(link)  # the old event is gone (or was already)
        if second is not None and second.kind == "create" and second.fate is not Fate.NOT_SENT:
            linkstate.create_may_have_landed(link)  # the new one may be there, answered or not: probe first
    if second is None:
        if plan.action is Plan.PROBE_DELETE and first.result is None:
            linkstate.forgotten(link)
            rec.clean.append((link.id, link.mark_seq))
        return  # the second call was not sent: stays dirty, decided again next step
    if second.fate is Fate.NOT_SENT or _undecided(second):
        return
    if second.error is not None and not (second.error.not_found and second.kind == "delete"):
        if second.kind == "update" and second.error.not_found:
            return  # the found event vanished meanwhile: next step probes again and creates
        _fail(rec, plan, second, _ACTIONS[plan.action])
        return
    if second.kind == "delete":
        linkstate.forgotten(link)
        if plan.action is Plan.PROBE_DELETE:
            rec.clean.append((link.id, link.mark_seq))
        _entry(rec, plan, Action.DELETE, Outcome.OK, second)
        rec.successes += 1
        return
    _written(link, second, plan, rec.now)
    rec.clean.append((link.id, link.mark_seq))
    rec.successes += 1
    action = (
        Action.ADOPT
        if second.kind == "update"
        else Action.MOVE
        if plan.action is Plan.MOVE
        else Action.CREATE
    )
    _entry(rec, plan, action, Outcome.OK, second)


_ACTIONS = {
    Plan.CREATE: Action.CREATE, Plan.UPDATE: Action.UPDATE, Plan.DELETE: Action.DELETE, Plan.MOVE: Action.MOVE,
    Plan.PROBE: Action.CREATE, Plan.PROBE_MOVE: Action.MOVE, Plan.PROBE_DELETE: Action.DELETE,
    Plan.RETIRE: Action.DELETE,
}  # fmt: skip


def record_step(rec: StepRecord) -> None:
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
        write_links(rec.plans, dict(rec.clean))
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


def write_links(plans: list[LinkPlan], clean: dict[int, int]) -> None:
    """Record the step's links compare-and-set, in one executemany (plain SQL: bulk_update's CASE trees cost
    more CPU than the Graph requests they record, bench/sync_bulk.py):

    - in full only where `state_seq` is still the one the step planned from; `dirty` cleared only where no
      mark arrived meanwhile (`mark_seq` unchanged), and a failed link's backoff kept only then (a new mark
      makes it due now);
    - where a user action committed meanwhile (Restore, Leave it, an export, a shift wanted again), that
      action wins: only what the step learnt about the remote event is written (which event it is now, or
      that it is gone, with its generation), and only while the row still stands for the event the step
      planned from. Everything else is planned again by the next step from the user's state. Without this
      a Restore pressed during the step's requests was overwritten by its stale copy of the link."""
    if not plans:
        return
    meta = EventLink._meta
    quote = connection.ops.quote_name
    fields = [meta.get_field(name) for name in _LINK_FIELDS]
    marked = {"attempts", "next_attempt_at"}
    mark_seq, state_seq, dirty = quote("mark_seq"), quote("state_seq"), quote("dirty")
    sets = ", ".join(
        f"{quote(f.column)} = CASE WHEN {mark_seq} = %s THEN %s ELSE {quote(f.column)} END"
        if f.name in marked
        else f"{quote(f.column)} = %s"
        for f in fields
    )
    # Identifiers come from model metadata only; every value is a parameter.
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {sets}, {dirty} = CASE WHEN {mark_seq} = %s THEN %s ELSE {dirty} END "  # noqa: S608
        f"WHERE {quote('id')} = %s AND {state_seq} = %s"
    )
    params = []
    for plan in plans:
        link = plan.link
        row: list = []
        for f in fields:
            if f.name in marked:
                row.append(link.mark_seq)
            row.append(f.get_db_prep_save(getattr(link, f.attname), connection))
        row += [clean.get(link.id, -1), False, link.id, plan.planned_state_seq]
        params.append(row)
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
        written = cursor.rowcount
    if 0 <= written == len(plans):
        return
    facts = [
        p for p in plans
        if (p.link.remote_event_id, p.link.generation) != (p.planned_event_id, p.planned_generation)
    ]  # fmt: skip
    if not facts:
        return
    rid, cal, key, gen, att, chash, datt = (
        quote(meta.get_field(n).column)
        for n in (
            "remote_event_id",
            "remote_calendar_id",
            "change_key",
            "generation",
            "create_attempted",
            "content_hash",
            "delete_attempted",
        )
    )
    # The row now stands for another event (or none): a delete attempted of the planned one is settled.
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {rid} = %s, {cal} = %s, {key} = %s, {gen} = %s, {datt} = %s, "  # noqa: S608
        f"{att} = CASE WHEN %s THEN %s ELSE {att} END, {chash} = CASE WHEN %s THEN '' ELSE {chash} END "
        f"WHERE {quote('id')} = %s AND {state_seq} <> %s AND {rid} = %s AND {gen} = %s"
    )
    with connection.cursor() as cursor:
        cursor.executemany(
            sql,
            [
                [p.link.remote_event_id, p.link.remote_calendar_id, p.link.change_key, p.link.generation,
                 False, bool(p.link.remote_event_id), False, not p.link.remote_event_id,
                 p.link.id, p.planned_state_seq, p.planned_event_id, p.planned_generation]
                for p in facts
            ],
        )  # fmt: skip
    log.info("sync record: %s link(s) changed by a user action during the step; their facts only", len(facts))


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
    if not any(p.action in (Plan.DELETE, Plan.PROBE_DELETE) for p in rec.plans if p.first is not None):
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
