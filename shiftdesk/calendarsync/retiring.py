"""Deleting a user's upcoming events from their previous calendar after they switched connections.

When a user connects another provider or account (actions._switch_connection), the previous connection's
row goes at once (no network call in the request) and a RetiringConnection keeps its provider, account,
an encrypted copy of its credentials and the remote ids of the upcoming events ShiftDesk wrote there. The
*new* connection's worker step runs those deletes first (engine._step calls `retire_previous_connections`
before it reads its links), so the old events are gone before the new connection probes by link key and
creates: a delete can never hit an event the new connection adopted, even if both accounts turn out to be
one mailbox. Best-effort: a dead old credential, a disabled integration or a permanent error gives up at
once; transient failures are tried again (the new connection's writes wait) up to MAX_ATTEMPTS times. Every
outcome is written to the new connection's sync log, and the row (with the credentials) is then deleted.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from shiftdesk.calendarsync.models import CalendarConnection, RetiringConnection, SyncLogEntry, calendar_place
from shiftdesk.calendarsync.network import event_loop, run_ops
from shiftdesk.calendarsync.pacing import backoff_seconds
from shiftdesk.calendarsync.providers import get_backend
from shiftdesk.calendarsync.providers.base import Fate, Operation, ProviderError

log = logging.getLogger("shiftdesk.calendarsync")
MAX_ATTEMPTS = 5
DISCONNECT_CHUNK = 40  # deletes per claimed run after Remove Authorization: the page's progress moves
# TextChoices (str values at run time; without django-stubs mypy would see the ("value", "label") literals).
Action: Any = SyncLogEntry.Action
Outcome: Any = SyncLogEntry.Outcome

# provider name -> called once a retiring row of that provider is finished (its deletes done or given up, or
# dropped with its removed successor: drop_with_successor; the row deleted and committed), with the row as it
# was read (credentials still in memory). For a grant that must outlive the deletes: Google revokes it here, as
# Remove Authorization could not while the deletes still needed the token. Registered by the provider's app
# (GoogleConfig.ready); calendarsync imports no provider. Best-effort: a failing hook is logged, never retried.
WHEN_RETIRED: dict[str, Callable[[RetiringConnection], object]] = {}


def retire_previous_connections(connection: CalendarConnection, now: datetime) -> bool:
    """Run the due deletes owed to this connection's predecessors. True when some are still pending (a
    backoff, or the old connection's lease): the caller must not write anything for this connection yet;
    its next step is due when the first of them is."""
    pending = list(RetiringConnection.objects.filter(successor=connection).order_by("id"))
    if not pending:
        return False
    for retiring in pending:
        if retiring.not_before <= now:
            _retire(retiring, connection, now)
    later = RetiringConnection.objects.filter(successor=connection).aggregate(at=Min("not_before"))["at"]
    if later is None:
        return False
    CalendarConnection.objects.filter(id=connection.id).update(sync_due_at=later)
    return True


def drop_with_successor(connection: CalendarConnection) -> None:
    """Remove Authorization of `connection` without "also delete" drops the deletes its predecessors still owed
    (their rows cascade with it: no stored credentials outlive a removed connection; with "also delete" they
    become Remove Authorization's deletes instead, do_disconnect_calendar). Called inside that transaction.
    Decision: a dropped row is finished too, so its provider's WHEN_RETIRED hook runs once the removal is
    committed; an old Google grant is revoked at once instead of never (Google's own rule still applies)."""
    for retiring in RetiringConnection.objects.filter(successor=connection, provider__in=list(WHEN_RETIRED)):
        transaction.on_commit(functools.partial(_when_retired, retiring))


def disconnect_deletes_due(now: datetime) -> bool:
    """Whether Remove Authorization left deletes for the worker (one cheap query per worker poll)."""
    return RetiringConnection.objects.filter(successor__isnull=True, not_before__lte=now).exists()


def retire_disconnected(worker_id: str, *, limit: int = 10) -> int:
    """Run the deletes Remove Authorization ("also delete future events") left behind: rows with no
    successor. Each is claimed like a step (a conditional UPDATE of `not_before` to a lease), so one worker
    runs it; its events are deleted DISCONNECT_CHUNK at a time, the row keeping what is left (the progress
    the Calendar Sync tab shows). Returns how many rows it worked on."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.SYNC_LEASE_SECONDS)
    worked = 0
    for retiring_id in (
        RetiringConnection.objects.filter(successor__isnull=True, not_before__lte=now)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    ):
        if not RetiringConnection.objects.filter(
            id=retiring_id, successor__isnull=True, not_before__lte=now
        ).update(not_before=lease):
            continue  # another worker took it, or the user authorized again and a connection runs it
        retiring = RetiringConnection.objects.filter(id=retiring_id).first()
        if retiring is None:
            continue
        _retire(retiring, None, now, limit=DISCONNECT_CHUNK)
        worked += 1
        log.info("disconnect user=%s worker=%s: ran a round of Remove Authorization's deletes", retiring.user_id,
                 worker_id)  # fmt: skip
    return worked


def _where(retiring: RetiringConnection) -> str:
    return f"{retiring.get_provider_display()} {retiring.account_email or retiring.account_name}".strip()


def _retire(
    retiring: RetiringConnection,
    connection: CalendarConnection | None,
    now: datetime,
    *,
    limit: int | None = None,
) -> None:
    """Delete (up to `limit` of) the retiring row's events. `connection`: the successor whose sync log gets
    a line per event, or None after Remove Authorization (then only the log file says)."""

    events: list[dict] = list(retiring.events)
    rest = events[limit:] if limit is not None else []  # for a later call: not tried now
    events = events[:limit] if limit is not None else events
    done: list[tuple[dict, str, str]] = []  # (event, remote id, message)
    failed: list[tuple[dict, str]] = []  # given up: (event, why)
    stop: ProviderError | None = None  # the whole old connection is unusable
    backend = get_backend(retiring.provider)
    reason = backend.disabled_reason()
    if reason:
        stop = ProviderError(reason, permanent=True)
    else:
        old = retiring.as_connection()
        try:
            token = backend.credentials(old)
        except ProviderError as error:
            stop = error
        except Exception:  # noqa: BLE001 - best-effort: never let the old account block the new one
            log.warning("retire user=%s: the previous credentials failed", retiring.user_id, exc_info=True)
            stop = ProviderError("The previous connection's credentials could not be used.", permanent=True)
        if stop is None:
            deadline = time.monotonic() + settings.SYNC_LEASE_SECONDS / 2
            loop = event_loop()
            provider = backend.open(old, token)
            finds: list[Operation] = []
            deletes: list[Operation] = []
            ids: dict[int, str] = {}
            try:
                # Events whose create was never recorded are looked up by link key first.
                # (Every calendar of the old mailbox is searched: the provider lists them.)
                finds = [Operation("find", i, link_key=e["link_key"]) for i, e in enumerate(events)
                         if not e.get("event_id")]  # fmt: skip
                loop.run_until_complete(run_ops(provider, finds, deadline))
                ids = {i: e["event_id"] for i, e in enumerate(events) if e.get("event_id")}
                for op in finds:
                    if op.fate is Fate.ANSWERED and op.error is None:
                        if op.result is None:
                            done.append((events[op.tag], "", "No event was found in the previous calendar."))
                        else:
                            ids[op.tag] = op.result.id
                # Each event's calendar (recorded with the link; a found one's where it was found) goes with
                # its delete: a provider may need it to address the mailbox (a calendar another person shared).
                calendars = {i: e.get("calendar", "") for i, e in enumerate(events)}
                calendars.update((op.tag, op.result.calendar_id) for op in finds if op.result is not None)
                deletes = [Operation("delete", i, event_id=event_id, calendar_id=calendars.get(i, ""))
                           for i, event_id in ids.items()]  # fmt: skip
                loop.run_until_complete(run_ops(provider, deletes, deadline))
            except Exception:  # noqa: BLE001 - unexpected: counted as a failed attempt, tried again later
                log.warning("retire user=%s: deleting failed", retiring.user_id, exc_info=True)
                stop = ProviderError("Deleting from the previous calendar failed unexpectedly.")
            finally:
                loop.run_until_complete(provider.aclose())
            settled = {id(e) for e, _, _ in done}
            for op in [*finds, *deletes]:
                event = events[op.tag]
                if id(event) in settled or (op.kind == "find" and op.tag in ids and op.error is None):
                    continue  # found: its delete decides
                if not op.settled:
                    continue  # not sent (deadline, throttled) or never answered: still pending
                if op.error is None or (op.kind == "delete" and op.error.not_found):
                    message = "Already deleted." if op.error else ""
                    done.append((event, op.event_id, message))
                    settled.add(id(event))
                elif op.error.reauthorize or op.error.auth_expired or op.error.status in (401, 403):
                    # The old credentials are refused: nobody will fix them any more (the user moved on).
                    stop = stop or ProviderError(op.error.message, permanent=True)
                elif op.error.permanent and not op.error.retry_after:
                    failed.append((event, op.error.message))
                    settled.add(id(event))
    settled = {id(e) for e, _, _ in done} | {id(e) for e, _ in failed}
    remaining = [e for e in events if id(e) not in settled]
    attempts = retiring.attempts + 1
    give_up = stop is not None and (stop.permanent or stop.reauthorize) or attempts >= MAX_ATTEMPTS
    if give_up:
        why = stop.message if stop is not None else f"still failing after {attempts} attempts"
        failed += [(e, why) for e in remaining + (rest if stop is not None else [])]
        remaining = []
        rest = rest if stop is None else []
    entries = [
        SyncLogEntry(connection=connection, at=now, action=Action.DELETE, outcome=Outcome.OK,
                     shift_ref=e["shift"], remote_event_id=remote or e.get("event_id", ""),
                     message=f"Deleted from the previous calendar ({_where(retiring)}). {message}".strip())
        for e, remote, message in done
    ] + [
        SyncLogEntry(connection=connection, at=now, action=Action.DELETE, outcome=Outcome.FAILED,
                     shift_ref=e["shift"], remote_event_id=e.get("event_id", ""),
                     message=f"Not deleted from the previous calendar ({_where(retiring)}): {why} "
                             f"The event stays there; delete it in {calendar_place(retiring.provider)} if you no "
                             "longer want it.")
        for e, why in failed
    ]  # fmt: skip
    if connection is None:
        entries_to_save: list[SyncLogEntry] = []  # no connection any more: the log file only
    else:
        entries_to_save = entries
    finished = False
    with transaction.atomic():
        SyncLogEntry.objects.bulk_create(entries_to_save, batch_size=500)
        if remaining:
            RetiringConnection.objects.filter(id=retiring.id).update(
                events=remaining + rest, attempts=attempts,
                not_before=now + timedelta(seconds=max(backoff_seconds(attempts), (stop and stop.retry_after) or 0)),
            )  # fmt: skip
        elif rest:
            RetiringConnection.objects.filter(id=retiring.id).update(
                events=rest, not_before=now
            )  # next chunk
        else:
            # the old credentials go with it
            finished = RetiringConnection.objects.filter(id=retiring.id).delete()[0] > 0
    if finished and retiring.provider in WHEN_RETIRED:
        _when_retired(retiring)  # committed: the row is gone, no other worker can run these deletes again
    if connection is not None:
        from shiftdesk.calendarsync.recording import trim_log

        trim_log(connection.id)
    for entry in entries:
        log.info("sync connection=%s shift=%s action=retire_delete outcome=%s remote_id=%s ms=0%s",
                 connection.id if connection else "-", entry.shift_ref, entry.outcome, entry.remote_event_id or "-",
                 f" error={entry.message!r}" if entry.outcome != Outcome.OK else "")  # fmt: skip
    log.info("retire user=%s provider=%s deleted=%s failed=%s pending=%s", retiring.user_id,
             retiring.provider, len(done), len(failed), len(remaining))  # fmt: skip


def _when_retired(retiring: RetiringConnection) -> None:
    try:
        WHEN_RETIRED[retiring.provider](retiring)
    except Exception:  # noqa: BLE001 - best-effort, like the deletes
        log.warning("retire user=%s: the %s hook failed", retiring.user_id, retiring.provider, exc_info=True)
