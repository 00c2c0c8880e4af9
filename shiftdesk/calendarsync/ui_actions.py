"""The one write of the Calendar Sync tab the engine's actions.py does not provide: "Leave it".

Rows only, in one transaction; the worker never touches a link left this way. Every other button of the tab
and of Integration Status calls calendarsync.actions (do_start_export, do_restore_deleted_events,
do_confirm_paused_deletes, do_retry_connection).
"""

from __future__ import annotations

from django.db import transaction

from shiftdesk.accounts.models import User
from shiftdesk.calendarsync import linkstate
from shiftdesk.calendarsync.models import EventLink, SyncLogEntry


@transaction.atomic
def do_leave_deleted_event(link: EventLink, *, by: User) -> None:
    """Leave it: stop tracking a shift whose event the user deleted or moved in Outlook.

    The link stays marked deleted in Outlook, so the engine neither re-creates nor deletes its event (a moved
    copy stays where the user put it), and it leaves the "Deleted or moved in Outlook" list. Assigning the
    shift again later is a new decision: the listener tracks it again."""
    linkstate.left(EventLink.objects.filter(pk=link.pk))
    SyncLogEntry.objects.create(
        connection_id=link.connection_id,
        action=SyncLogEntry.Action.SKIP,
        outcome=SyncLogEntry.Outcome.OK,
        shift_ref=link.shift_ref,
        message=f"Left out of the calendar at the request of {by.email}.",
    )
    link.refresh_from_db()
