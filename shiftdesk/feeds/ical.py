"""Render a user's assigned shifts as an RFC 5545 VCALENDAR with the `icalendar` library.

One VEVENT per assigned shift of an active schedule (unassigned, deleted and deactivated-schedule shifts are
simply absent: a subscribed calendar drops what the feed no longer lists). UIDs are the sync engine's link key
for (user, shift), so they never change; SEQUENCE comes from feeds.models.FeedEvent; times carry the site's
TZID with a VTIMEZONE generated from zoneinfo, so clients show them right across DST changes.

The body is a pure function of the database, so its hash is a stable ETag.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import icalendar
from django.utils import timezone

from shiftdesk.accounts.models import User
from shiftdesk.scheduling.models import Assignment, Site
from shiftdesk.scheduling.seam import ShiftSnapshot
from shiftdesk.scheduling.snapshots import shift_snapshot

PAST_DAYS = 60  # recently ended shifts stay on the calendar for a while, as history
PRODID = "-//ShiftDesk//Assigned shifts feed//EN"
X_SCHEDULE = "X-SHIFTDESK-SCHEDULE"
X_POSITION = "X-SHIFTDESK-POSITION"
X_SHIFT_ID = "X-SHIFTDESK-SHIFT-ID"
X_STAFF_NEEDED = "X-SHIFTDESK-STAFF-NEEDED"


@dataclass(frozen=True)
class FeedItem:
    snapshot: ShiftSnapshot
    staff_needed: int
    reminder_minutes: int

    @property
    def summary(self) -> str:
        s = self.snapshot  # the position alone when the schedule has the same name (seam.shift_title)
        return s.position_name if s.title() == s.position_name else f"{s.position_name} ({s.schedule_name})"

    def content_hash(self) -> str:
        s = self.snapshot
        data = [
            s.schedule_name,
            s.position_name,
            s.location,
            s.note,
            s.start.isoformat(),
            s.end.isoformat(),
            s.time_zone,
            self.staff_needed,
            self.reminder_minutes,
        ]
        return hashlib.sha256(json.dumps(data).encode()).hexdigest()


def feed_uid(user_id: int, shift_id: int) -> str:
    # The same key the sync engine puts on Outlook events (EventLink.key_for), plus a domain part.
    return f"shiftdesk-{user_id}-{shift_id}@shiftdesk"


def feed_items(user: User, *, now: datetime | None = None) -> list[FeedItem]:
    """The shifts the feed lists: assigned to `user`, schedule active, not ended more than PAST_DAYS ago."""
    now = now or timezone.now()
    site = Site.load()
    assignments = (
        Assignment.objects.filter(
            user=user, shift__schedule__active=True, shift__end__gt=now - timedelta(days=PAST_DAYS)
        )
        .select_related("shift__schedule", "shift__position")
        .order_by("shift__start", "shift_id")
    )
    return [
        FeedItem(
            shift_snapshot(a.shift, time_zone=site.time_zone), a.shift.staff_needed, site.reminder_minutes
        )
        for a in assignments
    ]


def _event(
    user: User, item: FeedItem, sequence: int, created: datetime, changed: datetime
) -> icalendar.Event:
    s = item.snapshot
    zone = Site(time_zone=s.time_zone).tzinfo
    event = icalendar.Event()
    event.add("uid", feed_uid(user.pk, s.shift_id))
    event.add("dtstamp", changed)
    event.add("created", created)
    event.add("last-modified", changed)
    event.add("sequence", sequence)
    event.add("summary", item.summary)
    event.add("dtstart", s.start.astimezone(zone))
    event.add("dtend", s.end.astimezone(zone))
    if s.location:
        event.add("location", s.location)
    if s.note:
        event.add("description", s.note)
    event.add("categories", [s.schedule_name])
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add(X_SCHEDULE, s.schedule_name)
    event.add(X_POSITION, s.position_name)
    event.add(X_SHIFT_ID, str(s.shift_id))
    event.add(X_STAFF_NEEDED, str(item.staff_needed))
    if item.reminder_minutes:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", item.summary)
        alarm.add("trigger", timedelta(minutes=-item.reminder_minutes))
        event.add_component(alarm)
    return event


def render_feed(
    user: User, items: list[FeedItem], sequences: dict[int, tuple[int, datetime, datetime]]
) -> bytes:
    """The VCALENDAR bytes. `sequences` maps shift id -> (SEQUENCE, first served, last changed)."""
    site = Site.load()
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{site.name} shifts: {user.get_full_name() or user.email}")
    cal.add("x-wr-timezone", site.time_zone)
    # Hints for clients that honour them (Apple, Outlook); Google polls on its own schedule.
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    for item in items:
        sequence, created, changed = sequences[item.snapshot.shift_id]
        cal.add_component(_event(user, item, sequence, created, changed))
    # The zone's rules a year either side of the listed shifts: every offset they use, and both observances.
    today = timezone.now().date()
    first = min([i.snapshot.start.date() for i in items] + [today]) - timedelta(days=366)
    last = max([i.snapshot.end.date() for i in items] + [today]) + timedelta(days=366)
    if items:
        cal.add_missing_timezones(first_date=first, last_date=last)
    else:  # no event names the zone, but X-WR-TIMEZONE does: clients still get its definition
        cal.add_component(icalendar.Timezone.from_tzinfo(site.tzinfo, site.time_zone, first, last))
    return cal.to_ical()
