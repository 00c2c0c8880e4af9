"""Why assigning someone to a shift may be a bad idea: typed conflicts from pluggable sources.

The assign form shows every conflict as a warning and asks for an explicit "Assign anyway". Scheduling ships
two sources (an overlapping shift, approved time off); other apps add theirs without scheduling importing them,
e.g. calendar sync registers "busy in Outlook" from its AppConfig.ready():

    register_conflict_source("outlook_busy", find_outlook_busy)

A source is called once per check with the shift and all candidate users, so it can answer with one query
(or one cached free/busy read) for the lot. It must not make network calls: it runs inside a request and
inside the assign transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from shiftdesk.accounts.models import User
from shiftdesk.scheduling.models import Assignment, Shift, Site, TimeOff


@dataclass(frozen=True)
class Conflict:
    """One reason `user` should not work `shift`. `kind` names the source ("overlap", "time_off", ...)."""

    kind: str
    user_id: int
    shift_id: int
    message: str


ConflictSource = Callable[[Shift, Sequence[User]], list[Conflict]]
_sources: dict[str, ConflictSource] = {}


def register_conflict_source(key: str, source: ConflictSource) -> None:
    """Add (or replace, by key) a conflict source. Call from AppConfig.ready()."""
    _sources[key] = source


def unregister_conflict_source(key: str) -> None:
    _sources.pop(key, None)


def find_conflicts(shift: Shift, users: Sequence[User]) -> list[Conflict]:
    """Every conflict of every source for putting each of `users` on `shift`, in source order."""
    if not users:
        return []
    found: list[Conflict] = []
    for source in list(_sources.values()):
        found.extend(source(shift, users))
    return found


def _fmt(dt, tz) -> str:
    return dt.astimezone(tz).strftime("%a %b %-d, %-I:%M %p")


def overlapping_shifts(shift: Shift, users: Sequence[User]) -> list[Conflict]:
    """The user already works a shift (any schedule) that overlaps this one."""
    tz = Site.load().tzinfo
    clashes = (
        Assignment.objects.filter(user__in=users, shift__start__lt=shift.end, shift__end__gt=shift.start)
        .exclude(shift_id=shift.pk)
        .select_related("shift__schedule", "shift__position", "user")
        .order_by("shift__start")
    )
    return [
        Conflict(
            kind="overlap",
            user_id=a.user_id,
            shift_id=shift.pk,
            message=(
                f"{a.user} already works {a.shift.position} on {a.shift.schedule} "
                f"{_fmt(a.shift.start, tz)}–{a.shift.end.astimezone(tz):%-I:%M %p}, which overlaps this shift."
            ),
        )
        for a in clashes
    ]


def approved_time_off(shift: Shift, users: Sequence[User]) -> list[Conflict]:
    """The user has approved time off (one-off or a weekly occurrence) during the shift."""
    tz = Site.load().tzinfo
    candidates = (
        TimeOff.objects.filter(user__in=users, status=TimeOff.Status.APPROVED, start__lt=shift.end)
        .select_related("user")
        .order_by("start")
    )
    found = []
    for time_off in candidates:
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
