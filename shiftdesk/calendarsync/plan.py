"""Planning a step: what each dirty link's event needs (create, update, delete, move, probe) and the provider
operations that do it. Above lease/network, below recording and the step; plain functions of rows and
desired state, no database writes and no network.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shiftdesk.calendarsync.desired import Desired, Want
from shiftdesk.calendarsync.linkstate import Plan
from shiftdesk.calendarsync.models import CalendarConnection, EventLink
from shiftdesk.calendarsync.providers.base import Fate, Operation

_TXN_NAMESPACE = uuid.UUID("6f1d3c2e-5b0a-4c53-9a3e-2f1e6c7d8b90")


def transaction_id_for(link: EventLink, calendar_id: str, generation: int | None = None) -> str:
    """Graph's transactionId: the same for every retry of one create, new after the event was forgotten, and
    different per target calendar. Graph answers a repeated transactionId with the event it created first,
    wherever that is (the emulator does too): with the calendar in the seed, a create in "Work" can never be
    answered with an event of an earlier connection left in "Calendar" (which the link would then record as
    being in Work), while a retry into the same calendar still finds its own event."""
    gen = link.generation if generation is None else generation
    return str(uuid.uuid5(_TXN_NAMESPACE, f"{link.link_key}:{gen}:{calendar_id}"))


@dataclass
class LinkPlan:
    link: EventLink
    desired: Desired
    action: Plan
    first: Operation | None = None
    second: Operation | None = None
    # The row as the step planned from it: recording is compare-and-set onto it (recording.write_links).
    planned_state_seq: int = 0
    planned_event_id: str = ""
    planned_generation: int = 0


def plan_link(connection: CalendarConnection, link: EventLink, desired: Desired) -> LinkPlan:
    calendar_id = connection.sync_calendar_id
    plan = LinkPlan(link, desired, Plan.CLEAN, planned_state_seq=link.state_seq,
                    planned_event_id=link.remote_event_id, planned_generation=link.generation)  # fmt: skip
    if link.deleted_in_outlook or link.moved_in_outlook or desired.want is Want.LEAVE:
        return plan  # never fight the user; history stays as it is
    if link.remote_event_id and (
        link.create_attempted or link.delete_attempted and desired.want is not Want.ABSENT
    ):
        # A move's create was sent after its delete and never recorded (a kill, a lost lease): the recorded
        # event was probably deleted and a new one may be anywhere. Delete the recorded one (a 404 is fine) and
        # keep the attempt: the next step probes by link key and adopts, moves or deletes what it finds.
        # Likewise a delete of the recorded event that was sent and never recorded, when the shift is wanted
        # again (or the chosen calendar is the old one again): the event is probably gone by our hand, so an
        # update's 404 would be taken for the user's deletion. Retired, it is forgotten and created anew.
        plan.action = Plan.RETIRE
        plan.first = Operation("delete", link.id, event_id=link.remote_event_id,
                               calendar_id=_event_calendar(connection, link))  # fmt: skip
        return plan
    if desired.want is Want.ABSENT:
        if link.remote_event_id:
            plan.action = Plan.DELETE
            plan.first = Operation("delete", link.id, event_id=link.remote_event_id,
                                   calendar_id=_event_calendar(connection, link))  # fmt: skip
        elif link.create_attempted:
            plan.action = Plan.PROBE_DELETE  # a create may have landed unrecorded: find it, then delete
            plan.first = _find_op(connection, link)
        return plan
    if not link.remote_event_id:
        if link.create_attempted:
            plan.action = Plan.PROBE
            plan.first = _find_op(connection, link)
        else:
            plan.action = Plan.CREATE
            plan.first = _create_op(link, calendar_id, desired)
    elif link.remote_calendar_id and link.remote_calendar_id != calendar_id:
        plan.action = Plan.MOVE
        plan.first = Operation("delete", link.id, event_id=link.remote_event_id,
                               calendar_id=link.remote_calendar_id)  # fmt: skip
    elif link.content_hash != desired.hash:
        plan.action = Plan.UPDATE
        plan.first = Operation(
            "update", link.id, link_key=link.link_key, event_id=link.remote_event_id, content=desired.content,
            calendar_id=_event_calendar(connection, link),
        )  # fmt: skip
    return plan


def _event_calendar(connection: CalendarConnection, link: EventLink) -> str:
    """The calendar the link's event is in (recorded, else the chosen one): an update or delete carries it
    so a provider can address the mailbox it lives in (a calendar another person shared with the user)."""
    return link.remote_calendar_id or connection.sync_calendar_id


def _find_op(connection: CalendarConnection, link: EventLink) -> Operation:
    """Look for the link's event wherever we may have put it: the chosen calendar, then every calendar the
    link or the connection recorded (the provider then searches the rest of the mailbox)."""
    recorded = (
        connection.sync_calendar_id,
        link.remote_calendar_id,
        (connection.delta_state or {}).get("calendar", ""),
    )
    calendar_ids = tuple(dict.fromkeys(c for c in recorded if c))
    return Operation("find", link.id, link_key=link.link_key, calendar_ids=calendar_ids)


def _create_op(
    link: EventLink, calendar_id: str, desired: Desired, generation: int | None = None
) -> Operation:
    return Operation(
        "create",
        link.id,
        link_key=link.link_key,
        calendar_id=calendar_id,
        content=desired.content,
        transaction_id=transaction_id_for(link, calendar_id, generation),
    )


def second_operation(connection: CalendarConnection, plan: LinkPlan) -> Operation | None:
    """What follows a first call that succeeded: a create after a move's delete, an update or create after
    a probe, a delete of a found orphan."""
    op, link, desired = plan.first, plan.link, plan.desired
    if op is None or op.fate is not Fate.ANSWERED or (op.error is not None and not op.error.not_found):
        return None  # not sent, fate unknown, or failed: decided again next step
    if plan.action is Plan.MOVE:
        # The old event is forgotten when recorded (generation + 1): the new create's transactionId too.
        return _create_op(link, connection.sync_calendar_id, desired, link.generation + 1)
    if plan.action is Plan.PROBE:
        if op.result is None:
            return _create_op(link, connection.sync_calendar_id, desired)
        if op.result.calendar_id != connection.sync_calendar_id:
            plan.action = Plan.PROBE_MOVE  # ours, but in a calendar no longer chosen: moved by us
            return Operation("delete", link.id, event_id=op.result.id, calendar_id=op.result.calendar_id)
        return Operation("update", link.id, link_key=link.link_key, event_id=op.result.id,
                         calendar_id=op.result.calendar_id, content=desired.content)  # fmt: skip
    if plan.action is Plan.PROBE_DELETE and op.result is not None:
        return Operation("delete", link.id, event_id=op.result.id, calendar_id=op.result.calendar_id)
    return None
