"""The one owner of an EventLink's state: every transition of a link, named as the user would say it.

No other module assigns a link's fields (tests/calendarsync/test_structure.py greps for it). Two kinds of
transitions, and the rule that keeps them from undoing each other:

- **What the user (or scheduling) decided**, written at once as row updates: a change in the schedule to look
  at again (`marked_for_sync`), a shift wanted again (`wanted_again`), Restore (`restored`), Leave it
  (`left`), an export (`exported`), verification noticing what the user did in Outlook
  (`noticed_deleted_in_outlook`, `noticed_moved_in_outlook`). Each bumps `mark_seq` (the link is dirty
  again); each that changes what the link *is* (its flags, or the remote event it stands for) also bumps
  `state_seq`.
- **What a step learned from the provider**, applied to the step's in-memory copies (`written`,
  `forgotten`, `create_unsent`, `failed`, `gone_in_outlook`) and recorded by `recording.write_links`
  *compare-and-set*: the full row only where `state_seq` is still the one the step planned from; where a
  user action committed meanwhile, only the facts about the remote event (which event, or that it is gone)
  and only while the link still stands for the same event. Whatever the user did wins and is planned again
  by the next step.

States (docs/sync-engine.md draws them): *wanted, not written* (no remote id) -> *create attempted* (sent
or about to be; its fate may be unknown, so the next step probes by link key before creating) -> *written*
(remote id, calendar, content hash) -> *delete attempted* (sent; a later 404 is ours) -> *forgotten* (deleted by us; generation + 1, so a new create gets a new
transactionId) | *deleted in Outlook* / *moved in Outlook* (never written again) -> *restored* / *wanted
again* (forgotten or to be rewritten, then written) | *left* (untracked for good).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

from django.db.models import F, QuerySet

from shiftdesk.calendarsync.models import CalendarConnection, EventLink


class Plan(enum.StrEnum):
    """What a step does for one link."""

    CLEAN = "clean"  # nothing to send
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    MOVE = "move"  # delete in the recorded calendar, create in the chosen one
    PROBE = "probe"  # a create may have landed unrecorded: find it by link key, then adopt, move or create
    PROBE_MOVE = "probe_move"  # found in a calendar no longer chosen: delete there, create here
    PROBE_DELETE = "probe_delete"  # not wanted, a create may have landed: find it, then delete it
    # A recorded event with an unrecorded create after it, or with our own unrecorded delete of it: delete it
    # (a 404 is fine), then probe if a create is pending, else create anew if wanted.
    RETIRE = "retire"


# --- what a step learned (in memory; recorded compare-and-set by recording.write_links) --------------------


def written(
    link: EventLink, *, event_id: str, calendar_id: str, change_key: str, content_hash: str, now: datetime
) -> None:
    """The event is in Outlook as we last wrote it, in `calendar_id` (where it really is)."""
    link.remote_event_id = event_id
    link.remote_calendar_id = calendar_id or link.remote_calendar_id
    link.change_key = change_key
    link.content_hash = content_hash
    link.create_attempted = False
    link.delete_attempted = False
    link.attempts = 0
    link.next_attempt_at = None
    link.last_error = ""
    link.synced_at = now


def forgotten(link: EventLink) -> None:
    """The remote event is gone (deleted by us, or already): a new create gets a new transactionId."""
    link.remote_event_id = ""
    link.remote_calendar_id = ""
    link.change_key = ""
    link.content_hash = ""
    link.create_attempted = False
    link.delete_attempted = False
    link.generation += 1
    link.attempts, link.last_error, link.next_attempt_at = 0, "", None


def create_unsent(link: EventLink) -> None:
    """A planned create certainly never left (Fate.NOT_SENT): the next step creates without probing."""
    link.create_attempted = False


def create_may_have_landed(link: EventLink) -> None:
    """A create was sent (answered or not): until it is recorded, the next step probes before creating."""
    link.create_attempted = True


def failed(link: EventLink, message: str, retry_at: datetime) -> None:
    link.attempts += 1
    link.last_error = message
    link.next_attempt_at = retry_at


def gone_in_outlook(link: EventLink, now: datetime) -> None:
    """An update answered 404: the user deleted the event in Outlook; never recreated until restored."""
    link.deleted_in_outlook = True
    link.deleted_in_outlook_at = now


def shift_ends(link: EventLink, shift_end: datetime | None) -> None:
    link.shift_end = shift_end or link.shift_end


def creates_attempted(links: Iterable[EventLink]) -> None:
    """Creates about to be sent, committed *before* sending: after a crash or a lost answer the next step
    probes by link key first. The in-memory links say so too (recording writes them back)."""
    links = list(links)
    if links:
        EventLink.objects.filter(id__in=[link.id for link in links]).update(create_attempted=True)
        for link in links:
            link.create_attempted = True


def deletes_attempted(links: Iterable[EventLink]) -> None:
    """Deletes of the recorded events about to be sent, committed *before* sending: if the step dies or loses
    the answer, the next step knows a later 404 for that event is ours, never the user's deletion in
    Outlook (plan.plan_link retires such a link instead of updating it)."""
    links = list(links)
    if links:
        EventLink.objects.filter(id__in=[link.id for link in links]).update(delete_attempted=True)
        for link in links:
            link.delete_attempted = True


# --- what the user or scheduling decided (rows, at once) --------------------------------------------------

_DIRTY = {"dirty": True, "next_attempt_at": None, "attempts": 0}
_FORGET = {
    "remote_event_id": "", "remote_calendar_id": "", "change_key": "", "content_hash": "",
    "create_attempted": False, "delete_attempted": False,
}  # fmt: skip
_NOT_DELETED = {"deleted_in_outlook": False, "deleted_in_outlook_at": None}
_NOT_MOVED = {"moved_in_outlook": False, "moved_in_outlook_reason": "", "moved_in_outlook_at": None}


def _seq(**extra: object) -> dict[str, object]:
    return {"mark_seq": F("mark_seq") + 1, **extra}


def _changed(**extra: object) -> dict[str, object]:
    return {"mark_seq": F("mark_seq") + 1, "state_seq": F("state_seq") + 1, **extra}


def marked_for_sync(links: QuerySet[EventLink]) -> int:
    """Something in the schedule changed: look at these links again (the step derives what they should be)."""
    return links.update(**_DIRTY, **_seq())


def wanted_again(links: QuerySet[EventLink]) -> None:
    """The shift is assigned again: a new decision. An event the user had deleted is created anew (forgotten,
    new transactionId); one they had moved is rewritten where and when the shift says."""
    links.filter(deleted_in_outlook=True).update(
        **_FORGET, **_NOT_DELETED, **_NOT_MOVED, **_changed(generation=F("generation") + 1)
    )
    links.filter(moved_in_outlook=True).update(**_NOT_MOVED, **_changed(content_hash=""))
    links.update(tracked=True, **_DIRTY, **_seq())


def restored(links: QuerySet[EventLink]) -> int:
    """Restore: a deleted event is created again; a moved one keeps its id and is rewritten (back into the
    sync calendar: deleted there and created here, or back to its time). Returns how many."""
    count = links.filter(moved_in_outlook=True, deleted_in_outlook=False).update(
        **_NOT_MOVED, **_DIRTY, **_changed(content_hash="")
    )
    count += links.filter(deleted_in_outlook=True).update(
        **_FORGET, **_NOT_DELETED, **_NOT_MOVED, **_DIRTY, **_changed(generation=F("generation") + 1)
    )
    return count


def left(links: QuerySet[EventLink]) -> int:
    """Leave it: stop tracking; the event stays as the user left it (still marked deleted/moved)."""
    return links.update(tracked=False, dirty=False, state_seq=F("state_seq") + 1)


def exported(links: QuerySet[EventLink], *, job_id: int) -> None:
    """Export all (or not exported): tracked again, part of the job, every event rewritten with current
    content; deleted ones created anew, moved ones put back; no recorded event: probed before creating."""
    links.filter(deleted_in_outlook=True).update(
        **_FORGET, **_NOT_DELETED, **_changed(generation=F("generation") + 1)
    )
    links.filter(moved_in_outlook=True).update(**_NOT_MOVED, **_changed())
    links.filter(remote_event_id="").update(create_attempted=True, **_changed())
    links.update(tracked=True, export_job_id=job_id, content_hash="", last_error="", **_DIRTY, **_changed())


def retried(links: QuerySet[EventLink]) -> None:
    """The Retry button: pending links are due now."""
    links.filter(dirty=True).update(next_attempt_at=None, attempts=0)


def noticed_deleted_in_outlook(links: QuerySet[EventLink], now: datetime) -> int:
    """Verification found the event gone: the user deleted it in Outlook (only links not dirty: a change on
    its way is decided by its own step)."""
    return links.filter(dirty=False).update(
        deleted_in_outlook=True, deleted_in_outlook_at=now, state_seq=F("state_seq") + 1
    )


def noticed_moved_in_outlook(
    links: QuerySet[EventLink], *, reason: str, calendar_id: str, now: datetime
) -> int:
    """Verification found the event in another calendar or at another time than we wrote it. The link
    records the calendar it is in now, so a Restore moves it back (delete there, create here)."""
    updates: dict[str, object] = {
        "moved_in_outlook": True, "moved_in_outlook_reason": reason, "moved_in_outlook_at": now,
        "state_seq": F("state_seq") + 1,
    }  # fmt: skip
    if calendar_id:
        updates["remote_calendar_id"] = calendar_id
    return links.filter(dirty=False).update(**updates)


def assigned(
    connection_id: int,
    *,
    user_id: int,
    shift_id: int,
    shift_end: datetime,
    now: datetime,
    export_job_id: int | None = None,
) -> EventLink:
    """The unsaved link of a shift assigned while the user is authorized (tracked from now on, dirty), or
    taken in by an export: an exported one may already be in Outlook (an earlier export or connection), so it
    is probed by link key before it is created."""
    return EventLink(
        connection_id=connection_id, shift_id=shift_id, shift_ref=shift_id, link_key=EventLink.key_for(user_id, shift_id),
        tracked=True, dirty=True, create_attempted=export_job_id is not None, shift_end=shift_end,
        export_job_id=export_job_id, created_at=now,
    )  # fmt: skip


def inherited(link: EventLink, *, now: datetime) -> EventLink:
    """The unsaved link a new connection of the same user takes over (actions._switch_connection): same key
    and user choices, dirty, no remote ids, and (when wanted) create attempted, so its first step probes by
    link key before creating; generation + 1, so a create in another mailbox gets a new transactionId."""
    return EventLink(
        shift_id=link.shift_id, shift_ref=link.shift_ref, link_key=link.link_key, tracked=link.tracked,
        dirty=True, create_attempted=link.tracked and not link.deleted_in_outlook,
        generation=link.generation + 1, shift_end=link.shift_end,
        deleted_in_outlook=link.deleted_in_outlook, deleted_in_outlook_at=link.deleted_in_outlook_at,
        moved_in_outlook=link.moved_in_outlook, moved_in_outlook_reason=link.moved_in_outlook_reason,
        moved_in_outlook_at=link.moved_in_outlook_at, created_at=now,
    )  # fmt: skip


def handed_to(links: Iterable[EventLink], connection: CalendarConnection) -> None:
    """The inherited (unsaved) links belong to the user's new connection."""
    for link in links:
        link.connection = connection
