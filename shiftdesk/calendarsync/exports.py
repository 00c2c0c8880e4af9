"""Run the Export: turn an ExportJob into tracked, dirty links; the sync step does the remote work.

"Export shifts which have not been exported previously" takes the user's upcoming assigned shifts that
have no tracked link; "Export all shifts" takes them all and rewrites existing events. Either way every new
link is looked up by its link key before it is created, so an event already in Outlook (from an earlier
export, or an earlier connection of the same user) is updated, never duplicated.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from shiftdesk.calendarsync import linkstate
from shiftdesk.calendarsync.models import CalendarConnection, EventLink, ExportJob
from shiftdesk.scheduling.models import Assignment

Status = ExportJob.Status


def run_queued_exports(worker_id: str, limit: int = 10) -> int:
    """Claim and run queued export jobs; returns how many were started."""
    started = 0
    for job_id in (
        ExportJob.objects.filter(status=Status.QUEUED).order_by("id").values_list("id", flat=True)[:limit]
    ):
        if run_export(job_id, worker_id=worker_id):
            started += 1
    return started


@transaction.atomic
def run_export(job_id: int, *, worker_id: str) -> bool:
    """Claim the job (conditional UPDATE) and mark its links, in one transaction: a crash leaves it queued."""
    now = timezone.now()
    if not ExportJob.objects.filter(id=job_id, status=Status.QUEUED).update(
        status=Status.RUNNING, claimed_by=worker_id, started_at=now
    ):
        return False
    job = ExportJob.objects.get(id=job_id)
    connection = CalendarConnection.objects.filter(user_id=job.user_id).first()
    if connection is None or not connection.calendars_chosen:
        ExportJob.objects.filter(id=job_id).update(
            status=Status.FAILED,
            finished_at=now,
            message="No calendar is authorized (Outlook or Google), or no calendar is chosen.",
        )
        return True
    shifts = dict(
        Assignment.objects.filter(
            user_id=job.user_id, shift__end__gt=now, shift__schedule__active=True
        ).values_list("shift_id", "shift__end")
    )
    existing = {
        link.shift_ref: link
        for link in EventLink.objects.filter(connection=connection, shift_ref__in=list(shifts))
    }
    if job.option == ExportJob.Option.NOT_EXPORTED:
        targets = [sid for sid in shifts if sid not in existing or not existing[sid].tracked]
    else:
        targets = list(shifts)
    EventLink.objects.bulk_create(
        [
            linkstate.assigned(
                connection.id, user_id=job.user_id, shift_id=sid, shift_end=shifts[sid], now=now, export_job_id=job.id
            )
            for sid in targets
            if sid not in existing
        ],
        batch_size=1000,
        ignore_conflicts=True,
    )  # fmt: skip
    old = [sid for sid in targets if sid in existing]
    if old:
        # Deleted in Outlook: exporting again is the user's choice to have them back; moved ones are put
        # back; every event is rewritten with current content; one not recorded is probed before creating.
        linkstate.exported(EventLink.objects.filter(connection=connection, shift_ref__in=old), job_id=job.id)
    total = len(targets)
    updates: dict[str, object] = {"total": total}
    if total == 0:
        updates.update(status=Status.DONE, finished_at=now, message="Nothing to export.")
    ExportJob.objects.filter(id=job_id).update(**updates)
    CalendarConnection.objects.filter(id=connection.id).update(sync_due_at=now)
    return True


def export_progress(job: ExportJob) -> dict:
    """For the page's live progress: n of m, errors, status in words."""
    job.refresh_from_db()
    return {
        "status": job.status,
        "status_display": job.get_status_display(),
        "done": job.done,
        "total": job.total,
        "errors": job.errors,
        "message": job.message,
        "finished": job.finished,
    }
