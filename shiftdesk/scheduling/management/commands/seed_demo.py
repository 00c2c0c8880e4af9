"""`manage.py seed_demo [--reset]`: the Riverside Public Library demo (site, 3 schedules, 25 staff, two weeks
of shifts from this week with assignments, some time off). Safe to run twice: existing rows are kept and
only what is missing is added. `--reset` deletes the demo's schedules, positions, time off and
@riverside-library.org accounts first.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from shiftdesk.accounts import actions as account_actions
from shiftdesk.accounts.models import User
from shiftdesk.scheduling import actions
from shiftdesk.scheduling.demo import (
    ADMIN_EMAIL,
    DEMO_ADMIN_PASSWORD,
    DEMO_DOMAIN,
    DEMO_SCHEDULES,
    DEMO_SITE_NAME,
    DEMO_STAFF,
    DEMO_STAFF_PASSWORD,
    DEMO_TIME_ZONE,
    demo_people,
)
from shiftdesk.scheduling.grid import week_start
from shiftdesk.scheduling.models import Position, Schedule, Shift, Site, TimeOff, localize


class Command(BaseCommand):
    help = "Create (or complete) the Riverside Public Library demo data and print the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="delete the demo data first and start over")

    def handle(self, *args, reset: bool, **options):
        with transaction.atomic():
            if reset:
                self._reset()
            admin = self._people()
            site = Site.load()
            if site.name != DEMO_SITE_NAME or site.time_zone != DEMO_TIME_ZONE:
                actions.do_update_site(
                    site,
                    name=DEMO_SITE_NAME,
                    time_zone=DEMO_TIME_ZONE,
                    reminder_minutes=site.reminder_minutes,
                    by=admin,
                )
            created = sum(
                self._schedule(name, pattern, admin, site) for name, pattern in DEMO_SCHEDULES.items()
            )
            self._time_off(admin, site)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({created} shifts added)."))
        self.stdout.write(f"  Admin login:   {ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}")
        self.stdout.write(f"  Regular login: {DEMO_STAFF[0].email} / {DEMO_STAFF_PASSWORD}")
        self.stdout.write(f"  (every staff member: firstname.lastname@{DEMO_DOMAIN} / {DEMO_STAFF_PASSWORD})")

    def _reset(self) -> None:
        # A demo reset, not a domain change: rows go directly, and with them any calendar-sync state that
        # cascades from the demo users. Nothing outside the demo's domain and names is touched.
        Schedule.objects.filter(name__in=DEMO_SCHEDULES).delete()
        TimeOff.objects.filter(user__email__endswith="@" + DEMO_DOMAIN).delete()
        User.objects.filter(email__endswith="@" + DEMO_DOMAIN).delete()
        Position.objects.filter(shifts__isnull=True).delete()

    def _people(self) -> User:
        people = demo_people()
        existing = {u.email: u for u in User.objects.filter(email__in=[p["email"] for p in people])}
        hashes = {
            DEMO_ADMIN_PASSWORD: make_password(DEMO_ADMIN_PASSWORD),
            DEMO_STAFF_PASSWORD: make_password(DEMO_STAFF_PASSWORD),
        }
        new_ids: dict[str, list[int]] = {DEMO_ADMIN_PASSWORD: [], DEMO_STAFF_PASSWORD: []}
        for i, p in enumerate(people):
            if p["email"] in existing:
                continue
            user = account_actions.do_create_user(
                email=p["email"],
                first_name=p["first_name"],
                last_name=p["last_name"],
                role=User.Role.ADMIN if i == 0 else User.Role.REGULAR,
                password=None,
                by=None,
            )
            new_ids[p["password"]].append(user.pk)
        # One PBKDF2 hash per demo password instead of 26: the demo starts seconds sooner.
        for password, ids in new_ids.items():
            User.objects.filter(pk__in=ids).update(password=hashes[password])
        return User.objects.get(email=ADMIN_EMAIL)

    def _schedule(self, name: str, pattern, admin: User, site: Site) -> int:
        schedule = Schedule.objects.filter(name=name).first() or actions.do_create_schedule(
            name=name, by=admin
        )
        staff = list(
            User.objects.filter(email__in=[p.email for p in DEMO_STAFF if p.schedule == name]).order_by("pk")
        )
        if set(schedule.staff.all()) != set(staff):
            actions.do_set_schedule_roster(schedule, staff=staff, by=admin)
        if schedule.shifts.exists():
            return 0
        if staff and not schedule.admins.exists():
            actions.do_set_schedule_admins(schedule, admins=[staff[1]], by=admin)  # a Regular schedule admin
        first = week_start(timezone.now().astimezone(site.tzinfo).date())
        shifts: list[Shift] = []
        for position_name, start, end, needed, weekdays, location in pattern:
            position = Position.objects.filter(name=position_name).first() or actions.do_create_position(
                name=position_name, by=admin
            )
            shifts += actions.do_create_weekly_shifts(
                schedule,
                position=position,
                location=location,
                first_date=first,
                last_date=first + timedelta(days=13),
                weekdays=weekdays,
                start_time=time.fromisoformat(start),
                end_time=time.fromisoformat(end),
                staff_needed=needed,
                note="",
                by=admin,
            )
        actions.do_bulk_assign_staff(_round_robin(shifts, staff), by=admin)
        return len(shifts)

    def _time_off(self, admin: User, site: Site) -> None:
        staff = {u.email: u for u in User.objects.filter(email__endswith="@" + DEMO_DOMAIN)}
        if TimeOff.objects.filter(user__in=staff.values()).exists():
            return
        tz = site.tzinfo
        today = timezone.now().astimezone(tz).date()

        def at(day: date, hour: int) -> datetime:
            return localize(datetime.combine(day, time(hour)), tz)

        requests = [
            # (person index, start, end, weekly until, reason, decision)
            (
                2,
                at(today + timedelta(days=16), 0),
                at(today + timedelta(days=19), 0),
                None,
                "Family visit",
                True,
            ),
            (9, at(today + timedelta(days=20), 0), at(today + timedelta(days=21), 0), None, "Dentist", None),
            (
                18,
                at(today + timedelta(days=15), 14),
                at(today + timedelta(days=15), 17),
                today + timedelta(days=60),
                "Evening class",
                True,
            ),
            (
                12,
                at(today + timedelta(days=25), 0),
                at(today + timedelta(days=27), 0),
                None,
                "Conference",
                False,
            ),
        ]
        for index, start, end, until, reason, decision in requests:
            user = staff[DEMO_STAFF[index].email]
            t = actions.do_request_time_off(
                user,
                start=start,
                end=end,
                repeat_weekly=until is not None,
                repeat_until=until,
                reason=reason,
                by=user,
            )
            if decision is not None:
                actions.do_decide_time_off(t, approve=decision, by=admin)


def _round_robin(shifts: list[Shift], staff: list[User]) -> list[tuple[Shift, User]]:
    """Fill slots in turn, never giving anyone two overlapping shifts; every 7th shift keeps one slot open
    so the demo grid shows open slots."""
    if not staff:
        return []
    pairs: list[tuple[Shift, User]] = []
    taken: dict[int, list[Shift]] = {u.pk: [] for u in staff}
    turn = 0
    for n, shift in enumerate(sorted(shifts, key=lambda s: (s.start, s.pk))):
        wanted = shift.staff_needed - (1 if n % 7 == 3 else 0)
        for _ in range(len(staff)):
            if wanted <= 0:
                break
            user = staff[turn % len(staff)]
            turn += 1
            if any(other.overlaps(shift.start, shift.end) for other in taken[user.pk]):
                continue
            taken[user.pk].append(shift)
            pairs.append((shift, user))
            wanted -= 1
    return pairs
