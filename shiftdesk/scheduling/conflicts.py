"""Why assigning someone to a shift may be a bad idea: typed conflicts from pluggable sources.

The assign form shows every conflict as a warning and asks for an explicit "Assign anyway". Scheduling ships
two sources (an overlapping shift, approved time off); other apps add theirs without scheduling importing them,
e.g. calendar sync registers "busy in Outlook" from its AppConfig.ready():

    register_conflict_source("outlook_busy", find_outlook_busy)

A source is called once with every check at hand, each a shift and its candidate users (one shift on the week
grid, every shift of a week for auto-assign or a bulk assignment), so it answers with one query for the lot
whatever their number. It must not make network calls: it runs inside a request and inside the assign
transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from shiftdesk.accounts.models import User
from shiftdesk.scheduling.models import Assignment, Shift, Site, TimeOff


@dataclass(frozen=True)
class Conflict:
    """One reason `user` should not work `shift`. `kind` names the source ("overlap", "time_off", ...)."""

    kind: str
    user_id: int
    shift_id: int
    message: str


Check = tuple[Shift, Sequence[User]]  # a shift and the people who might work it
ConflictSource = Callable[[Sequence[Check]], list[Conflict]]
_sources: dict[str, ConflictSource] = {}


def register_conflict_source(key: str, source: ConflictSource) -> None:
    """Add (or replace, by key) a conflict source. Call from AppConfig.ready()."""
    _sources[key] = source


def unregister_conflict_source(key: str) -> None:
    _sources.pop(key, None)


def find_conflicts(shift: Shift, users: Sequence[User]) -> list[Conflict]:
    """Every conflict of every source for putting each of `users` on `shift`, in source order."""
    return find_conflicts_many([(shift, users)])


def find_conflicts_many(checks: Sequence[Check]) -> list[Conflict]:
    """find_conflicts for several shifts at once (each shift once), in the same order as calling it for each
    check in turn: by check, then by source. Each source reads the database once for all of them."""
    checks = [(shift, users) for shift, users in checks if users]
    if not checks:
        return []
    found: list[Conflict] = []
    for source in list(_sources.values()):
        found.extend(source(checks))
    position = {shift.pk: i for i, (shift, _users) in enumerate(checks)}
    found.sort(key=lambda c: position[c.shift_id])  # stable: source order within a shift
    return found


def span_of(checks: Sequence[Check]) -> tuple[datetime, datetime]:
    """The earliest start and latest end of the checks' shifts: one query reads what overlaps any of them."""
    return min(shift.start for shift, _ in checks), max(shift.end for shift, _ in checks)


def user_ids_of(checks: Sequence[Check]) -> set[int]:
    return {user.pk for _, users in checks for user in users}


def _fmt(dt, tz) -> str:
    return dt.astimezone(tz).strftime("%a %b %-d, %-I:%M %p")


def overlapping_shifts(checks: Sequence[Check]) -> list[Conflict]:
    """The user already works a shift (any schedule) that overlaps this one."""
    start, end = span_of(checks)
    held = list(
        Assignment.objects.filter(user_id__in=user_ids_of(checks), shift__start__lt=end, shift__end__gt=start)
        .select_related("shift__schedule", "shift__position", "user")
        .order_by("shift__start")
    )
    if not held:
        return []
    tz = Site.load().tzinfo  # words the times; read only when someone works in the span
    # Per person, what they work, with its place in `held` (time order across people, as the query gives it).
    mine = _by_user((i, a.shift.start, a.shift.end, a) for i, a in enumerate(held))
    found = []
    for shift, users in checks:
        clashes = sorted(
            (i, a)
            for pk in {user.pk for user in users}
            for i, a_start, a_end, a in mine.get(pk, ())
            if a_start < shift.end and shift.start < a_end and a.shift_id != shift.pk
        )
        found += [
            Conflict(
                kind="overlap",
                user_id=a.user_id,
                shift_id=shift.pk,
                message=(
                    f"{a.user} already works {a.shift.position} on {a.shift.schedule} "
                    f"{_fmt(a.shift.start, tz)}–{a.shift.end.astimezone(tz):%-I:%M %p}, which overlaps this shift."
                ),
            )
            for _, a in clashes
        ]
    return found


def _by_user(rows: Iterable[tuple]) -> dict[int, list[tuple]]:
    """Rows ending in a record with a user_id, grouped by it (each check looks only at its own people's rows:
    a bulk assignment of hundreds of people to dozens of shifts must not compare every row with every shift)."""
    grouped: dict[int, list[tuple]] = {}
    for row in rows:
        grouped.setdefault(row[-1].user_id, []).append(row)
    return grouped


def approved_time_off(checks: Sequence[Check]) -> list[Conflict]:
    """The user has approved time off (one-off or a weekly occurrence) during the shift."""
    _start, end = span_of(checks)
    candidates = list(
        TimeOff.objects.filter(user_id__in=user_ids_of(checks), status=TimeOff.Status.APPROVED, start__lt=end)
        .select_related("user")
        .order_by("start")
    )
    if not candidates:
        return []
    tz = Site.load().tzinfo  # a weekly time off repeats in the site's time zone; read only when one may apply
    mine = _by_user((i, t) for i, t in enumerate(candidates))
    found = []
    for shift, users in checks:
        for _, time_off in sorted(row for pk in {user.pk for user in users} for row in mine.get(pk, ())):
            if time_off.start >= shift.end:
                continue
            hit = time_off.overlapping(tz, shift.start, shift.end)
            if hit is None:
                continue
            found.append(
                Conflict(
                    kind="time_off",
                    user_id=time_off.user_id,
                    shift_id=shift.pk,
                    message=(
                        f"{time_off.user} has approved time off {_fmt(hit[0], tz)} – {_fmt(hit[1], tz)}"
                        f"{' (' + time_off.reason + ')' if time_off.reason else ''}."
                    ),
                )
            )
    return found


register_conflict_source("overlap", overlapping_shifts)
register_conflict_source("time_off", approved_time_off)
