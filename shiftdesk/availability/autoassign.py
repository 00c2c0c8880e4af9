"""Auto-assign: fill a schedule week's open slots with available rostered staff, spreading hours fairly.

`propose()` is the dry run; `apply()` re-computes the proposal and, if it is still the one the admin saw,
assigns it through scheduling's `do_bulk_assign_staff` (all or nothing, calendars told in the same
transaction, conflicts checked again there). Nothing here saves a model itself.

Who is available for a shift: active, on the schedule's roster, not already on it, and no conflict from any
registered conflict source (an overlapping shift, approved time off, busy or tentative in Outlook, busy data
that is stale, and whatever other apps register), nor an overlap with another shift of the same proposal.
Every conflict, even a mere warning, keeps auto-assign away: only a person may decide "Assign anyway".

The filling is greedy and never leaves a slot open while someone is available for it: shifts with the
fewest available people go first (they are the hardest to fill), and each slot goes to the available person
with the fewest hours this week (across all schedules, including what this proposal already gave them).
Only shifts that have not started are filled.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils import timezone

from shiftdesk.accounts.models import User
from shiftdesk.scheduling.actions import AssignResult, do_bulk_assign_staff
from shiftdesk.scheduling.conflicts import Conflict, find_conflicts_many
from shiftdesk.scheduling.models import Assignment, Schedule, Shift, Site, localize


class ProposalChanged(Exception):
    """The week changed since the admin saw the proposal; they should look at the new one."""


@dataclass(frozen=True)
class ProposedAssignment:
    shift: Shift
    user: User

    @property
    def hours(self) -> float:
        return (self.shift.end - self.shift.start).total_seconds() / 3600


@dataclass
class UnfilledShift:
    shift: Shift
    missing: int
    reasons: list[str]  # why each roster member who is not on the shift cannot take it


@dataclass
class Proposal:
    schedule: Schedule
    first_day: dt.date
    assignments: list[ProposedAssignment] = field(default_factory=list)
    unfilled: list[UnfilledShift] = field(default_factory=list)
    hours_before: dict[int, float] = field(default_factory=dict)
    roster: list[User] = field(default_factory=list)

    @property
    def pairs(self) -> list[tuple[int, int]]:
        return sorted((p.shift.pk, p.user.pk) for p in self.assignments)

    @property
    def digest(self) -> str:
        raw = f"{self.schedule.pk}|{self.first_day.isoformat()}|" + ";".join(
            f"{s},{u}" for s, u in self.pairs
        )
        return hashlib.sha256(raw.encode()).hexdigest()

    def hours_table(self) -> list[tuple[User, float, float]]:
        """(person, hours this week before, after) for the roster, most hours after first."""
        added: dict[int, float] = defaultdict(float)
        for p in self.assignments:
            added[p.user.pk] += p.hours
        rows = [
            (u, self.hours_before.get(u.pk, 0.0), self.hours_before.get(u.pk, 0.0) + added[u.pk])
            for u in self.roster
        ]
        return sorted(rows, key=lambda r: (-r[2], str(r[0])))


def week_bounds(first_day: dt.date, site: Site) -> tuple[dt.datetime, dt.datetime]:
    tz = site.tzinfo
    start = localize(dt.datetime.combine(first_day, dt.time()), tz)
    return start, localize(dt.datetime.combine(first_day + dt.timedelta(days=7), dt.time()), tz)


def _hours(shift: Shift) -> float:
    return (shift.end - shift.start).total_seconds() / 3600


def propose(schedule: Schedule, first_day: dt.date, *, now: dt.datetime | None = None) -> Proposal:
    """The dry run for the 7 days from `first_day` (local, in the site's zone)."""
    site = Site.load()
    now = now or timezone.now()
    start, end = week_bounds(first_day, site)
    roster = list(schedule.staff.filter(is_active=True).order_by("first_name", "last_name", "email", "id"))
    proposal = Proposal(schedule=schedule, first_day=first_day, roster=roster)
    shifts = list(
        Shift.objects.filter(schedule=schedule, start__gte=start, start__lt=end, start__gt=now)
        .select_related("schedule", "position")
        .prefetch_related("assignments")
        .order_by("start", "end", "id")
    )
    # Hours each rostered person already works this week, on any schedule (fairness across schedules).
    hours: dict[int, float] = defaultdict(float)
    for a in Assignment.objects.filter(
        user__in=roster, shift__start__lt=end, shift__end__gt=start
    ).select_related("shift"):
        hours[a.user_id] += _hours(a.shift)
    proposal.hours_before = dict(hours)
    # For each shift with open slots: who is not on it, and which of them conflict (every registered source).
    work: list[tuple[Shift, int, list[User], dict[int, list[Conflict]]]] = []
    for shift in shifts:
        on_shift = {a.user_id for a in shift.assignments.all()}
        missing = shift.staff_needed - len(on_shift)
        if missing <= 0:
            continue
        work.append((shift, missing, [u for u in roster if u.pk not in on_shift], defaultdict(list)))
    by_shift = {shift.pk: conflicts for shift, _missing, _candidates, conflicts in work}
    for c in find_conflicts_many([(shift, candidates) for shift, _missing, candidates, _conflicts in work]):
        by_shift[c.shift_id][c.user_id].append(c)
    # Hardest shifts first: the fewest people free of conflicts, then the earliest.
    work.sort(key=lambda w: (sum(1 for u in w[2] if u.pk not in w[3]), w[0].start, w[0].pk))
    given: dict[int, list[Shift]] = defaultdict(list)  # shifts this proposal gives each person
    count: dict[int, int] = defaultdict(int)
    for shift, missing, candidates, conflicts in work:
        filled = 0
        for _ in range(missing):
            chosen = {p.user.pk for p in proposal.assignments if p.shift.pk == shift.pk}
            available = [
                u for u in candidates
                if u.pk not in conflicts and u.pk not in chosen
                and not any(other.overlaps(shift.start, shift.end) for other in given[u.pk])
            ]  # fmt: skip
            if not available:
                break
            person = min(
                available, key=lambda u: (hours[u.pk], count[u.pk], u.first_name, u.last_name, u.email, u.pk)
            )
            proposal.assignments.append(ProposedAssignment(shift, person))
            given[person.pk].append(shift)
            hours[person.pk] += _hours(shift)
            count[person.pk] += 1
            filled += 1
        if filled < missing:
            proposal.unfilled.append(
                UnfilledShift(shift, missing - filled, _reasons(shift, candidates, conflicts, given))
            )
    proposal.assignments.sort(key=lambda p: (p.shift.start, p.shift.pk, str(p.user)))
    proposal.unfilled.sort(key=lambda u: (u.shift.start, u.shift.pk))
    return proposal


def _reasons(
    shift: Shift, candidates: list[User], conflicts: dict[int, list[Conflict]], given: dict[int, list[Shift]]
) -> list[str]:
    reasons = []
    for user in candidates:
        if user.pk in conflicts:
            reasons.extend(c.message for c in conflicts[user.pk])
        elif any(other.overlaps(shift.start, shift.end) for other in given[user.pk] if other.pk != shift.pk):
            reasons.append(f"{user} gets an overlapping shift in this proposal.")
    return reasons or ["Everyone on the roster is already on this shift."]


def apply(schedule: Schedule, first_day: dt.date, *, digest: str, by: User) -> AssignResult:
    """Assign the proposal the admin saw. Raises ProposalChanged when it is no longer what `propose` gives
    (someone assigned, time off approved, Outlook refreshed...), and whatever do_bulk_assign_staff raises
    (ConflictError, ValidationError) when the week changes between the check and the assignment."""
    proposal = propose(schedule, first_day)
    if proposal.digest != digest:
        raise ProposalChanged("The week changed since this proposal was made. Review the new proposal.")
    return do_bulk_assign_staff([(p.shift, p.user) for p in proposal.assignments], by=by)
