"""Verification: are the upcoming events we wrote still where and when we put them?

Runs inside a sync step when the connection has nothing dirty (engine._step). An event the user deleted in
Outlook is marked *deleted in Outlook*; one moved to another calendar, or to another time, *moved in
Outlook*. Both are shown to the user, who may restore them; neither is ever rewritten on our own (never fight
the user). A permanent refusal (ErrorAccessDenied) stops the connection as a step would.

How it learns what changed:
- With change tracking (Graph: calendarView/delta on the sync calendar, `CalendarProvider.changes`), a round
  is one request when nothing changed, so it runs every SYNC_DELTA_MINUTES. A first round lists every event
  in the window (now - 1 day .. + SYNC_DELTA_WINDOW_DAYS): ours that are missing are looked up one by one
  (deleted, or moved to another calendar: immutable ids keep their id); ours that are listed are compared
  with the shift's time. Later rounds (the stored deltaLink) list only changed events and `@removed` ids.
  A first round is made again every SYNC_VERIFY_HOURS (it also catches a removal that arrived while the
  link was dirty and no write of ours found it), when half the window has passed, when the sync calendar
  changed, and when Graph forgot the link (410).
- Without it (EWS), or when a round fails, every upcoming event we wrote is looked up one by one, every
  SYNC_VERIFY_HOURS (at most SYNC_VERIFY_MAX_EVENTS of them).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F

from shiftdesk.calendarsync import linkstate
from shiftdesk.calendarsync.desired import Desired, desired_for_links
from shiftdesk.calendarsync.lease import hold_lease
from shiftdesk.calendarsync.models import CalendarConnection, EventLink, SyncLogEntry, calendar_place
from shiftdesk.calendarsync.network import event_loop, network_phase, run_ops
from shiftdesk.calendarsync.providers.base import ChangeSet, Fate, Operation, ProviderError, RemoteEvent
from shiftdesk.calendarsync.recording import StepRecord, record_step

log = logging.getLogger("shiftdesk.calendarsync")


def verification_interval(connection: CalendarConnection) -> timedelta:
    """A connection whose provider tracks changes is checked often; one checked event by event, rarely."""
    if connection.delta_state.get("link"):
        return timedelta(minutes=settings.SYNC_DELTA_MINUTES)
    return timedelta(hours=settings.SYNC_VERIFY_HOURS)


def verify_if_due(
    connection: CalendarConnection, backend: Any, client: Any, now: datetime, started: float, worker_id: str
) -> bool:
    if connection.last_verified_at and connection.last_verified_at > now - verification_interval(connection):
        return False
    links = list(
        EventLink.objects.filter(
            connection=connection, dirty=False, deleted_in_outlook=False, moved_in_outlook=False,
            shift_end__gt=now,
        )
        .exclude(remote_event_id="")
        .annotate(shift_start=F("shift__start"))
        .order_by("shift_end")[: settings.SYNC_VERIFY_MAX_EVENTS]
    )  # fmt: skip
    CalendarConnection.objects.filter(id=connection.id).update(last_verified_at=now)
    if not links:
        return False
    try:
        token = backend.credentials(connection)
    except ProviderError:
        return False  # verification is best-effort; the next sync step reports the problem
    loop = event_loop()
    ops: list[Operation] = []
    with network_phase():
        provider = backend.open(connection, token, client=client)
        try:
            watch = loop.run_until_complete(_watch(provider, connection, links, now))
            if watch.refused is None:
                ops = [
                    Operation("exists", link.id, event_id=link.remote_event_id,
                              calendar_id=link.remote_calendar_id or connection.sync_calendar_id)
                    for link in watch.suspects
                ]  # fmt: skip
                loop.run_until_complete(run_ops(provider, ops, started + settings.SYNC_LEASE_SECONDS / 2))
        finally:
            loop.run_until_complete(provider.aclose())
    refused = watch.refused or next(
        (op.error for op in ops if op.error is not None and op.error.stops_connection), None
    )
    if refused is not None:
        record_step(
            StepRecord(
                connection=connection, plans=[], now=now, worker_id=worker_id, connection_error=refused
            )
        )
        return True
    if watch.state is not None:
        CalendarConnection.objects.filter(id=connection.id).update(delta_state=watch.state)
    by_id = {link.id: link for link in links}
    answered = [op for op in ops if op.fate is Fate.ANSWERED and op.error is None]
    gone = [op.tag for op in answered if op.result is None]
    found: dict[int, RemoteEvent] = dict(watch.seen)
    found.update((op.tag, op.result) for op in answered if op.result is not None)
    wanted = desired_for_links(connection, [by_id[i] for i in found], now) if found else {}
    moved = {
        link_id: reason
        for link_id, remote in found.items()
        for reason in [moved_reason(connection, by_id[link_id], remote, wanted.get(link_id))]
        if reason
    }
    if gone or moved:
        _record(connection, by_id, gone, moved, now, worker_id)
    return True


class _Watch:
    def __init__(
        self,
        seen: dict[int, RemoteEvent] | None = None,
        suspects: list[EventLink] | None = None,
        state: dict | None = None,
        refused: ProviderError | None = None,
    ) -> None:
        self.seen = seen or {}  # link id -> the event as the change round showed it
        self.suspects = suspects or []  # links to look up one by one
        self.state = state  # the connection's next delta_state (None: leave it as it is)
        self.refused = refused  # a permanent refusal: the connection stops


async def _watch(
    provider: Any, connection: CalendarConnection, links: list[EventLink], now: datetime
) -> _Watch:
    """One round of change tracking, and what it says about our links."""
    state = connection.delta_state or {}
    calendar_id = connection.sync_calendar_id
    window = timedelta(days=settings.SYNC_DELTA_WINDOW_DAYS)
    first = (
        state.get("calendar") != calendar_id
        or not state.get("link")
        or _instant(state.get("window_end")) < now + window / 2
        or _instant(state.get("first_at")) < now - timedelta(hours=settings.SYNC_VERIFY_HOURS)
    )
    start, end = now - timedelta(days=1), now + window
    try:
        changes, first = await _round(provider, calendar_id, start, end, "" if first else state["link"])
    except ProviderError as error:
        if error.stops_connection:
            return _Watch(refused=error)
        log.info("sync connection=%s action=verify outcome=retry error=%r: checking events one by one",
                 connection.id, error.message)  # fmt: skip
        return _Watch(suspects=list(links), state={})  # a failed round: look each up, start over next time
    if changes is None:
        return _Watch(suspects=list(links))  # no change tracking here: look each up
    if first:
        state = {"calendar": calendar_id, "window_end": end.isoformat(), "first_at": now.isoformat()}
    state = {**state, "link": changes.next_link}
    by_remote = {link.remote_event_id: link for link in links}
    seen = {by_remote[e.id].id: e for e in changes.changed if e.id in by_remote}
    removed = set(changes.removed)
    # event-delta.md: a later round also lists under `@removed` events *outside* the window that were
    # added or updated since (our own updates of shifts far ahead, for one), and says to filter `@removed`
    # for the date range the scenario needs. Ours outside the window are not looked up for it: the first
    # round made every SYNC_VERIFY_HOURS looks up each of them (they are never listed in it).
    window_end = _instant(state.get("window_end"))
    suspects = [link for link in links if link.remote_event_id in removed and _in_window(link, window_end)]
    if (
        first
    ):  # every event in the window was listed: ours that were not are gone, moved, or out of the window
        accounted = {e.id for e in changes.changed} | removed
        suspects += [link for link in links if link.remote_event_id not in accounted]
    return _Watch(seen, suspects, state)


async def _round(
    provider: Any, calendar_id: str, start: datetime, end: datetime, link: str
) -> tuple[ChangeSet | None, bool]:
    """(the provider's round, None when it has no change tracking; whether it was a first round). A link
    Graph forgot (410) starts a first round."""
    if link:
        try:
            return await provider.changes(calendar_id, start, end, link), False
        except ProviderError as error:
            if error.status != 410:
                raise
    return await provider.changes(calendar_id, start, end, ""), True


def _in_window(link: EventLink, window_end: datetime) -> bool:
    start = getattr(link, "shift_start", None)
    return start is None or start < window_end


def _instant(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return datetime.min.replace(tzinfo=UTC)


def _record(
    connection: CalendarConnection,
    by_id: dict[int, EventLink],
    gone: list[int],
    moved: dict[int, tuple[str, str]],
    now: datetime,
    worker_id: str,
) -> None:
    with transaction.atomic():
        if not hold_lease(connection.id, worker_id):
            # Another worker took the connection over while we read: what we saw may be older than what it
            # wrote since. Nothing is marked; the next verification looks again.
            log.warning("sync connection=%s action=verify outcome=lease_lost", connection.id)
            return
        if gone:
            linkstate.noticed_deleted_in_outlook(EventLink.objects.filter(id__in=gone), now)
        for link_id, (reason, calendar_id) in moved.items():
            # The event's calendar as it is now: a restore then moves it back (delete there, create here).
            linkstate.noticed_moved_in_outlook(
                EventLink.objects.filter(id=link_id), reason=reason, calendar_id=calendar_id, now=now
            )
        SyncLogEntry.objects.bulk_create(
            [SyncLogEntry(connection=connection, action=SyncLogEntry.Action.SKIP, outcome=SyncLogEntry.Outcome.GONE,
                          shift_ref=by_id[i].shift_ref, remote_event_id=by_id[i].remote_event_id,
                          message=f"The event was deleted in {calendar_place(connection.provider)}.")
             for i in gone]
            + [SyncLogEntry(connection=connection, action=SyncLogEntry.Action.SKIP, outcome=SyncLogEntry.Outcome.MOVED,
                            shift_ref=by_id[i].shift_ref, remote_event_id=by_id[i].remote_event_id, message=reason)
               for i, (reason, _) in moved.items()]
        )  # fmt: skip
    for i in gone:
        log.info("sync connection=%s shift=%s action=verify outcome=gone remote_id=%s ms=0",
                 connection.id, by_id[i].shift_ref, by_id[i].remote_event_id)  # fmt: skip
    for i in moved:
        log.info("sync connection=%s shift=%s action=verify outcome=moved remote_id=%s ms=0",
                 connection.id, by_id[i].shift_ref, by_id[i].remote_event_id)  # fmt: skip


def moved_reason(
    connection: CalendarConnection, link: EventLink, remote: Any, desired: Desired | None
) -> tuple[str, str] | None:
    """(why, its calendar now) when the user moved the event we wrote; None when it is as we left it."""
    ours = link.remote_calendar_id or connection.sync_calendar_id
    if remote.calendar_id and ours and remote.calendar_id != ours:
        return (
            f"You moved the event to another calendar in {calendar_place(connection.provider)}.",
            remote.calendar_id,
        )
    if remote.start is None or remote.end is None:
        return None  # the provider did not say when the event is: nothing to compare
    if desired is None or desired.content is None or desired.hash != link.content_hash:
        return None  # not what we last wrote (a change is on its way): the next write decides
    start, end = _content_instant(desired.content.start), _content_instant(desired.content.end)
    if start is None or end is None or (start, end) == (remote.start, remote.end):
        return None
    return f"You changed the event's time in {calendar_place(connection.provider)}.", remote.calendar_id


def _content_instant(value: dict[str, str]) -> datetime | None:
    """EventContent's {"dateTime": wall time, "timeZone": IANA zone} as an aware datetime."""
    from zoneinfo import ZoneInfo

    try:
        wall = datetime.fromisoformat(value["dateTime"])
        return wall if wall.tzinfo else wall.replace(tzinfo=ZoneInfo(value["timeZone"]))
    except (KeyError, ValueError):
        return None
