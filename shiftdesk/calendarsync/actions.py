"""Every write to calendar connections, one function each (style.md habit 1). Views call these, never .save().

Providers (microsoft, exchange) call do_connect_calendar after a successful authorization and
do_disconnect_calendar for Remove Authorization. The sync engine's marks are recorded in the same transaction.
Pages call the do_* functions at the bottom (retry, confirm paused deletes, restore, export).
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from shiftdesk.accounts.models import User
from shiftdesk.calendarsync import linkstate, retiring
from shiftdesk.calendarsync.models import (
    CalendarConnection,
    EventLink,
    ExportJob,
    RetiringConnection,
    calendar_place,
)

log = logging.getLogger("shiftdesk.calendarsync")


@transaction.atomic
def do_connect_calendar(
    user: User,
    *,
    provider: str,
    account_email: str,
    account_name: str,
    account_id: str,
    credentials: str,
    provider_settings: dict | None = None,
) -> CalendarConnection:
    """Create or replace the user's connection. Re-authorizing the same account keeps the chosen calendars;
    connecting another one (OAuth 2 <-> password, or another account) is a switch: see _switch_connection."""
    existing = CalendarConnection.objects.select_for_update().filter(user=user).first()
    same_account = (
        existing is not None and existing.provider == provider and existing.account_id == account_id
    )
    inherited: list[EventLink] = []
    if existing is not None and not same_account:
        inherited = _switch_connection(existing, new_provider=provider, new_account_email=account_email)
        existing = None
    now = timezone.now()
    fields = {
        "account_email": account_email, "account_name": account_name, "account_id": account_id,
        "credentials": credentials, "provider_settings": provider_settings or {},
        "status": CalendarConnection.Status.CONNECTED, "last_error": "", "last_error_at": None,
        "reauth_email_sent_at": None, "paused_reason": "", "retry_after_until": None, "consecutive_failures": 0,
        "token_refreshed_at": now,
        "last_verified_at": now,  # nothing written yet: nothing to verify
        "sync_due_at": now,  # resume: links left dirty while it needed reauthorization
    }  # fmt: skip
    if existing is not None:
        # Named fields only (never a whole-row save): a worker's lease, a delta state or a chosen calendar
        # written meanwhile stay as they are. The row is locked (select_for_update) for this transaction.
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.save(update_fields=[*fields, "updated_at"])
        connection = existing
    else:
        connection = CalendarConnection.objects.create(
            user=user, provider=provider, authorized_at=now, **fields
        )
    if inherited:
        linkstate.handed_to(inherited, connection)
        EventLink.objects.bulk_create(inherited, batch_size=2000)
    # Deletes still owed to earlier connections (this one's, or a pending one from a switch before) are run
    # by this connection's worker step, before it writes anything.
    RetiringConnection.objects.filter(user=user, successor__isnull=True).update(successor=connection)
    return connection


def same_mailbox(provider: str, account_email: str, other_provider: str, other_email: str) -> bool:
    """Whether two connections reach one mailbox: the same address in the same calendar service. Outlook OAuth 2
    and Exchange password reach the same Exchange mailbox; Google Calendar is another service even at the same
    address (an organisation moving between Exchange and Google Workspace keeps its addresses)."""
    return (
        bool(account_email)
        and account_email.lower() == other_email.lower()
        and calendar_place(provider) == calendar_place(other_provider)
    )


def _switch_connection(
    old: CalendarConnection, *, new_provider: str, new_account_email: str
) -> list[EventLink]:
    """The user switches to another provider or account: "a user has at most one Outlook connection;
    switching moves their future events". Runs in do_connect_calendar's transaction, with no network call
    (no remote calls in the request path). Returns the unsaved links the new connection inherits.

    Decision (issue 7):
    - The new connection inherits every link of an upcoming shift (or an upcoming event of a deleted shift):
      same key, same `tracked`, `deleted_in_outlook` and `moved_in_outlook`, dirty, remote ids empty,
      `create_attempted` (when tracked and not deleted in Outlook) and generation + 1. So its first step
      *probes* each one by link key before creating: in the same mailbox (OAuth 2 and password both write the same extended property) the
      existing event is adopted (updated, or moved if another calendar is chosen), never duplicated; in
      another mailbox nothing is found and it is created. Graph's transactionId changes with the generation,
      so a create after switching back to an earlier mailbox is never answered with the event deleted there.
      The links wait, like any link, until the new connection has a chosen calendar.
    - Old events in *another* mailbox are deleted by a RetiringConnection (the old provider, account and an
      encrypted snapshot of its credentials, and the remote ids). Its deletes are run by the new connection's
      worker step before that step probes or creates anything (retiring.py), so even if two "different"
      accounts turn out to be one mailbox (an alias), a delete can never hit an event the new connection
      adopted: deleted first, then not found, then created — exactly once either way. Best-effort: a dead
      old credential only means the old events stay; the outcome is in the new connection's sync log.
    - Same mailbox = same account email (case-insensitive) in the same calendar service (same_mailbox): no
      deletes at all (adoption does the move), and
      a delete still pending from an earlier switch to this very mailbox is dropped, for the same reason.
    - The user's choices carry over: an event deleted or moved in Outlook is neither written in the new
      calendar nor deleted from the old one until the user restores it (a restore then probes: adopted in
      the same mailbox, created in another).
    - Past events stay where they are (history), as everywhere else in the engine.
    The old row goes now (one connection per user); a worker mid-step on it finds nothing to record into.
    Known gap: a create that such a worker sends after this transaction (its link already gone) leaves one
    event in the old mailbox; in the same mailbox the new connection's probe adopts it.
    """
    now = timezone.now()
    in_place = same_mailbox(old.provider, old.account_email, new_provider, new_account_email)
    upcoming = list(
        EventLink.objects.filter(connection=old).filter(Q(shift_end__isnull=True) | Q(shift_end__gt=now))
    )
    inherited = [linkstate.inherited(link, now=now) for link in upcoming]
    pending = RetiringConnection.objects.filter(user_id=old.user_id)
    if new_account_email:
        same_service = [
            p for p in CalendarConnection.Provider.values if calendar_place(p) == calendar_place(new_provider)
        ]
        pending.filter(account_email__iexact=new_account_email, provider__in=same_service).delete()
    pending.filter(successor=old).update(successor=None)  # re-pointed to the new connection by the caller
    events = [
        {
            "shift": link.shift_ref,
            "event_id": link.remote_event_id,
            "link_key": link.link_key,
            "calendar": link.remote_calendar_id,
        }
        for link in upcoming
        if not link.deleted_in_outlook
        and not link.moved_in_outlook
        and (link.remote_event_id or link.create_attempted)
    ]
    if events and not in_place:
        lease = old.lease_expires_at if old.lease_owner and old.lease_expires_at else None
        RetiringConnection.objects.create(
            user_id=old.user_id, provider=old.provider, account_email=old.account_email,
            account_name=old.account_name, account_id=old.account_id, credentials=old.credentials,
            provider_settings=old.provider_settings, events=events, not_before=max(lease or now, now),
        )  # fmt: skip
    log.info(
        "switch user=%s from=%s to another connection: inherited_links=%s old_deletes=%s same_mailbox=%s",
        old.user_id, old.provider, len(inherited), 0 if in_place else len(events), in_place,
    )  # fmt: skip
    # The row (its links and log with it) goes; never its remote events, which are handled above.
    CalendarConnection.objects.filter(pk=old.pk).delete()
    return inherited


@transaction.atomic
def do_choose_calendars(
    connection: CalendarConnection,
    *,
    sync_calendar_id: str,
    sync_calendar_name: str,
    freebusy_calendar_id: str,
    freebusy_calendar_name: str,
    sync_calendar_owner: str = "",
    freebusy_calendar_owner: str = "",
) -> CalendarConnection:
    """Save Calendars. The sync engine moves future events when the sync calendar changes.

    `connection` may have been loaded before a token refresh and a Graph call (the page lists the
    calendars first): only the four calendar fields (and the due time) are written, by name, onto the row as
    it is now, so a rotated refresh token, a status, a lease, a Retry-After or a delta state written meanwhile
    is never reverted. Returns the row as it is after the write."""
    current = CalendarConnection.objects.select_for_update().filter(pk=connection.pk).first()
    if current is None:
        return connection  # removed meanwhile (Remove Authorization): nothing to save
    updates: dict[str, object] = {
        "sync_calendar_id": sync_calendar_id, "sync_calendar_name": sync_calendar_name,
        "freebusy_calendar_id": freebusy_calendar_id, "freebusy_calendar_name": freebusy_calendar_name,
        # Another person's calendar (shared with the user): whose mailbox it is in; '' for the user's own.
        "sync_calendar_owner": sync_calendar_owner, "freebusy_calendar_owner": freebusy_calendar_owner,
        "updated_at": timezone.now(),
    }  # fmt: skip
    if sync_calendar_id != current.sync_calendar_id:
        # Level-triggered: every link whose event is in another calendar is now dirty; the engine deletes
        # it there and creates it in the new one. (Past events stay where they are.)
        linkstate.marked_for_sync(EventLink.objects.filter(connection=current))
        updates["sync_due_at"] = timezone.now()
    if current.status == CalendarConnection.Status.ERROR:
        # The error named the calendar (e.g. a share withdrawn: "Choose another Calendar to Sync shifts
        # with"): choosing another one is the fix, and so is saving the same one once its owner has shared it
        # again, so syncing starts again either way; a refusal that still holds stops it again at the next
        # step, with its own message (one step's requests, not a loop: the user pressed a button).
        updates.update(status=CalendarConnection.Status.CONNECTED, last_error="", consecutive_failures=0,
                       sync_due_at=timezone.now())  # fmt: skip
    CalendarConnection.objects.filter(pk=current.pk).update(**updates)
    current.refresh_from_db()
    for name in (*updates, "sync_due_at"):
        setattr(connection, name, getattr(current, name))
    return current


@transaction.atomic
def do_disconnect_calendar(connection: CalendarConnection, *, delete_future_events: bool = False) -> None:
    """Remove Authorization: the row (tokens, links, log) goes at once and syncing stops; events already
    written stay, unless `delete_future_events`. Then no remote call is made here (a web request must not
    wait on Microsoft): a RetiringConnection with no successor keeps an encrypted copy of the credentials and
    the upcoming events, and the worker deletes them (retiring.retire_disconnected), best-effort, while the
    Calendar Sync tab shows how far it got. A create a step may still have in flight is waited for (the
    deletes start after its lease) and found by link key. It always succeeds, even with a dead token."""
    current = CalendarConnection.objects.select_for_update().filter(pk=connection.pk).first()
    if current is None:
        return
    if delete_future_events:
        now = timezone.now()
        events = [
            {
                "shift": link.shift_ref,
                "event_id": link.remote_event_id,
                "link_key": link.link_key,
                "calendar": link.remote_calendar_id,
            }
            for link in EventLink.objects.filter(connection=current, shift_end__gt=now, tracked=True)
            if not link.deleted_in_outlook
            and not link.moved_in_outlook
            and (link.remote_event_id or link.create_attempted)
        ]
        if events:
            lease = current.lease_expires_at if current.lease_owner and current.lease_expires_at else None
            RetiringConnection.objects.create(
                user_id=current.user_id, successor=None, provider=current.provider,
                account_email=current.account_email, account_name=current.account_name,
                account_id=current.account_id, credentials=current.credentials,
                provider_settings=current.provider_settings, events=events, total=len(events),
                not_before=max(lease or now, now),
            )  # fmt: skip
        log.info(
            "disconnect user=%s: %s upcoming events left for the worker to delete",
            current.user_id,
            len(events),
        )
    if delete_future_events:
        # "Also delete my future events" covers what a switch still owes to delete from the previous calendar
        # too: those rows become Remove Authorization's deletes (no successor), run by the worker like this
        # connection's own (and a Google grant among them is revoked once they are done).
        RetiringConnection.objects.filter(successor=current).update(successor=None)
    else:
        # Without it, deletes still owed to its predecessors go with it (their events stay where they are); a
        # Google grant among them is revoked after commit.
        retiring.drop_with_successor(current)
    # The row (and its links and log) go at once; a worker mid-step finds nothing to record into.
    CalendarConnection.objects.filter(pk=current.pk).delete()


@transaction.atomic
def do_mark_needs_reauthorization(connection: CalendarConnection, reason: str) -> None:
    """The refresh token is dead (revoked, expired, password changed): stop syncing until the user re-authorizes."""
    CalendarConnection.objects.filter(pk=connection.pk).update(
        status=CalendarConnection.Status.NEEDS_REAUTHORIZATION,
        last_error=reason,
        last_error_at=timezone.now(),
    )
    if connection.pk is not None:  # None: a previous connection's detached copy (retiring.py)
        connection.refresh_from_db()


# --- the sync engine's user-facing actions (Integration Status, Calendar Sync tab) --------------------------


@transaction.atomic
def do_retry_connection(connection: CalendarConnection) -> None:
    """The Retry button: clear an error or backoff and make every pending change due now.

    A connection that needs reauthorization stays so: only the user can fix that, by authorizing again."""
    now = timezone.now()
    updates = {"sync_due_at": now, "retry_after_until": None, "consecutive_failures": 0}
    if connection.status == CalendarConnection.Status.ERROR:
        updates.update(status=CalendarConnection.Status.CONNECTED, last_error="")
    CalendarConnection.objects.filter(pk=connection.pk).update(**updates)
    linkstate.retried(EventLink.objects.filter(connection=connection))
    connection.refresh_from_db()


@transaction.atomic
def do_confirm_paused_deletes(connection: CalendarConnection) -> None:
    """A person confirmed what the safety brake held back: the deletes go ahead on the next pass."""
    CalendarConnection.objects.filter(pk=connection.pk, status=CalendarConnection.Status.PAUSED).update(
        status=CalendarConnection.Status.CONNECTED,
        paused_reason="",
        brake_confirmed=True,
        sync_due_at=timezone.now(),
    )
    connection.refresh_from_db()


@transaction.atomic
def do_restore_deleted_events(connection: CalendarConnection, *, link_ids: list[int] | None = None) -> int:
    """Put back events the user deleted or moved in Outlook (all, or the given links). Returns how many.

    A deleted event is created again; a moved one keeps its id and is rewritten to what it should be (its
    content hash cleared): back into the sync calendar (delete there, create here) or back to its time."""
    links = EventLink.objects.filter(connection=connection)
    if link_ids is not None:
        links = links.filter(id__in=link_ids)
    count = linkstate.restored(links)
    if count:
        CalendarConnection.objects.filter(pk=connection.pk).update(sync_due_at=timezone.now())
    return count


@transaction.atomic
def do_start_export(user: User, *, option: str, by: User | None = None) -> ExportJob:
    """Run the Export: queue an export of the user's upcoming assigned shifts; a worker runs it.

    Raises ValueError when the user has no connection with a chosen calendar."""
    if option not in ExportJob.Option.values:
        raise ValueError(f"Unknown export option {option!r}")
    connection = CalendarConnection.objects.filter(user=user).first()
    if connection is None or not connection.calendars_chosen:
        raise ValueError("Authorize Outlook and choose a calendar to sync shifts with first.")
    return ExportJob.objects.create(user=user, requested_by=by, option=option)


def previous_connection(user: User) -> tuple[str, str, str] | None:
    """(provider, account id, account email) of the user's connection before a connect, for switch_note."""
    rows = CalendarConnection.objects.filter(user=user).values_list("provider", "account_id", "account_email")
    return rows.first()


def switch_note(previous: tuple[str, str, str] | None, connection: CalendarConnection) -> str:
    """What connecting did to the events of the user's previous connection (see _switch_connection), in words
    for the success message; "" when nothing was switched."""
    if previous is None:
        return ""
    provider, account_id, account_email = previous
    if (provider, account_id) == (connection.provider, connection.account_id):
        return ""
    if same_mailbox(provider, account_email, connection.provider, connection.account_email):
        return (
            " Your upcoming shifts already in that mailbox stay where they are: ShiftDesk takes them over from your "
            "previous connection."
        )
    return (
        f" Your upcoming shifts move here from {account_email}: ShiftDesk creates them in the calendar you sync "
        "with and deletes them from the previous one where it still can."
    )
