"""The scheduling domain: the site, schedules with their roster and schedule admins, positions, shifts,
assignments and time off. Row rules live here as model methods; multi-row writes live in actions.py.

Instants are stored in UTC. The site's IANA time zone is how people enter and read them.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

DEFAULT_TIME_ZONE = "America/Chicago"


class Site(models.Model):
    """The one ShiftDesk site (a library system): its name, time zone and calendar-event defaults.

    A singleton row with pk=1, created on first use, so a fresh database needs no setup step.
    """

    name = models.CharField("Site name", max_length=200, default="ShiftDesk")
    time_zone = models.CharField("Time zone", max_length=64, default=DEFAULT_TIME_ZONE)
    reminder_minutes = models.PositiveIntegerField(
        "Reminder before shift (minutes)",
        default=15,
        help_text="The reminder calendar events of shifts get, in minutes before the shift starts.",
    )

    def __str__(self) -> str:
        return self.name

    @classmethod
    def load(cls) -> Site:
        site, _ = cls.objects.get_or_create(pk=1)
        return site

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Schedule(models.Model):
    """A schedule (e.g. Reference Desk): its roster of staff and the Regular users who administer it."""

    name = models.CharField("Name", max_length=200, unique=True)
    active = models.BooleanField("Active", default=True)
    staff = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="schedules", blank=True)
    admins = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="administered_schedules", blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Position(models.Model):
    """What a person does on a shift (e.g. "Reference Desk", "Circulation"); shared by all schedules."""

    name = models.CharField("Name", max_length=200, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


NOTE_MAX_LENGTH = 2000


class Shift(models.Model):
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="shifts")
    position = models.ForeignKey(Position, on_delete=models.PROTECT, related_name="shifts")
    location = models.CharField("Location", max_length=200, blank=True)
    start = models.DateTimeField("Start")
    end = models.DateTimeField("End")
    staff_needed = models.PositiveIntegerField("Staff needed", default=1)
    # A note goes into every grid cell and every Outlook event body of the shift: bounded (issue 11 found
    # 200 kB notes). The form and do_create_shift/do_update_shift refuse longer ones in words.
    note = models.TextField("Note", blank=True, max_length=NOTE_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["start", "end", "id"]
        indexes = [models.Index(fields=["schedule", "start"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="shift_end_after_start"
            ),
            models.CheckConstraint(condition=models.Q(staff_needed__gte=1), name="shift_needs_staff"),
        ]

    def __str__(self) -> str:
        return f"{self.position} {self.start.astimezone(UTC):%Y-%m-%d %H:%M}Z"

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end


class Assignment(models.Model):
    shift = models.ForeignKey(Shift, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    assigned_at = models.DateTimeField(default=timezone.now)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shift", "user"], name="one_assignment_per_user")]
        indexes = [models.Index(fields=["user", "shift"])]

    def __str__(self) -> str:
        return f"{self.user} on shift {self.shift_id}"


class TimeOff(models.Model):
    """Time a staff member asks to be away: one-off, or weekly at the same local wall-clock time.

    A weekly request repeats its first occurrence (start..end, read in the site's zone) every 7 days up to
    and including `repeat_until`. Approved time off marks the person unavailable; it never removes
    assignments (the admin decides what to do with those, warned by the conflict check).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="time_off")
    start = models.DateTimeField("Start")
    end = models.DateTimeField("End")
    repeat_weekly = models.BooleanField("Repeats weekly", default=False)
    repeat_until = models.DateField("Repeat until", null=True, blank=True)
    reason = models.CharField("Reason", max_length=300, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["start", "id"]
        indexes = [models.Index(fields=["user", "status", "start"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="time_off_end_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"Time off of {self.user} from {self.start.astimezone(UTC):%Y-%m-%d %H:%M}Z"

    def describe(self, tz: zoneinfo.ZoneInfo) -> str:
        """When, in words and local time: whole days read as dates ("Mon Dec 14, 2026 (all day)")."""
        start, end = self.start.astimezone(tz), self.end.astimezone(tz)
        midnight = time(0)
        if start.time() == midnight and end.time() == midnight:
            last = end.date() - timedelta(days=1)
            if last == start.date():
                return f"{start:%a %b %-d, %Y} (all day)"
            return f"{start:%a %b %-d} – {last:%a %b %-d, %Y} (all days)"
        if start.date() == end.date():
            return f"{start:%a %b %-d, %Y %-I:%M %p} – {end:%-I:%M %p}"
        return f"{start:%a %b %-d, %Y %-I:%M %p} – {end:%a %b %-d, %Y %-I:%M %p}"

    def occurrences(
        self, tz: zoneinfo.ZoneInfo, until: datetime | None = None
    ) -> Iterator[tuple[datetime, datetime]]:
        """Each (start, end) occurrence as aware UTC datetimes, keeping local wall-clock time across DST."""
        if not self.repeat_weekly:
            yield self.start, self.end
            return
        local_start = self.start.astimezone(tz).replace(tzinfo=None)
        duration_local = self.end.astimezone(tz).replace(tzinfo=None) - local_start
        week = 0
        while True:
            naive = local_start + timedelta(weeks=week)
            if self.repeat_until and naive.date() > self.repeat_until:
                return
            start = localize(naive, tz)
            if until is not None and start >= until:
                return
            yield start, localize(naive + duration_local, tz)
            week += 1

    def overlapping(
        self, tz: zoneinfo.ZoneInfo, start: datetime, end: datetime
    ) -> tuple[datetime, datetime] | None:
        """The first occurrence overlapping [start, end), if any."""
        for occ_start, occ_end in self.occurrences(tz, until=end):
            if occ_start < end and start < occ_end:
                return occ_start, occ_end
        return None


def localize(naive: datetime, tz: zoneinfo.ZoneInfo) -> datetime:
    """A local wall-clock time in `tz` as an aware UTC datetime.

    Times that do not exist (spring-forward gap) move forward by the gap, as clocks do; ambiguous times
    (fall-back hour) take the first, daylight-time reading (fold=0), which is what people mean by "1:30".
    """
    # zoneinfo reads a gap time with the pre-gap offset, which lands it after the gap in UTC: "forward".
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
