"""The seam listener: turns scheduling's CalendarChanges into dirty EventLinks, in the change's transaction.

No network and no per-change queries: a bulk assignment of 20,000 shifts costs one SELECT of connections,
one bulk upsert of links and one UPDATE of the connections' due time. The worker does the rest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from django.db.models import Q
from django.utils import timezone

from shiftdesk.calendarsync import linkstate
from shiftdesk.calendarsync.models import CalendarConnection, EventLink
from shiftdesk.scheduling.seam import CalendarChange, ChangeKind

_UPSERT_BATCH = 2000


def record_calendar_changes(changes: Sequence[CalendarChange]) -> None:
    """Mark the links of every (user, shift) in `changes` dirty, creating links for new assignments."""
    user_ids = {c.user_id for c in changes}
    connections = dict(CalendarConnection.objects.filter(user_id__in=user_ids).values_list("user_id", "id"))
    if not connections:
        return
    now = timezone.now()
    new_links: dict[tuple[int, int], EventLink] = {}
    touched: dict[int, set[int]] = defaultdict(set)  # connection id -> shift ids of existing links
    for change in changes:
        connection_id = connections.get(change.user_id)
        if connection_id is None:
            continue
        after = change.after
        if change.kind == ChangeKind.ASSIGNED and after is not None and after.end > now:
            # Assigned while authorized: tracked from now on (past shifts are history, not synced).
            new_links[(connection_id, change.shift_id)] = linkstate.assigned(
                connection_id, user_id=change.user_id, shift_id=change.shift_id, shift_end=after.end, now=now
            )
        else:
            touched[connection_id].add(change.shift_id)
    # Links that already exist (a shift assigned again after an unassignment) are updated; new ones are
    # inserted already dirty. One SELECT finds the former; in a fresh bulk assignment it finds nothing.
    existing: set[tuple[int, int]] = set()
    if new_links:
        shift_ids = {sid for _, sid in new_links}
        conn_ids = {cid for cid, _ in new_links}
        for i in range(0, len(conn_ids), _UPSERT_BATCH):
            chunk = list(conn_ids)[i : i + _UPSERT_BATCH]
            existing.update(
                pair
                for pair in EventLink.objects.filter(
                    connection_id__in=chunk, shift_ref__in=shift_ids
                ).values_list("connection_id", "shift_ref")
                if pair in new_links
            )
    EventLink.objects.bulk_create(
        [link for key, link in new_links.items() if key not in existing],
        batch_size=_UPSERT_BATCH,
        ignore_conflicts=True,
    )
    again: dict[int, list[int]] = defaultdict(list)
    for connection_id, shift_id in existing:
        again[connection_id].append(shift_id)
    for connection_id, again_ids in again.items():
        # Assigning again is a new decision: wanted again even if the user had deleted the old event (it is
        # created anew, with a new transactionId) or moved it (it is rewritten where the shift says).
        linkstate.wanted_again(EventLink.objects.filter(connection_id=connection_id, shift_ref__in=again_ids))
    for connection_id, shift_ids in touched.items():
        ids = list(shift_ids)
        for i in range(0, len(ids), _UPSERT_BATCH):
            linkstate.marked_for_sync(
                EventLink.objects.filter(
                    connection_id=connection_id, shift_ref__in=ids[i : i + _UPSERT_BATCH]
                )
            )
    due_ids = {cid for cid, _ in new_links} | set(touched)
    if due_ids:
        CalendarConnection.objects.filter(id__in=due_ids).filter(
            Q(sync_due_at__isnull=True) | Q(sync_due_at__gt=now)
        ).update(sync_due_at=now)
