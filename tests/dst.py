"""The next daylight-saving changes of a time zone, for tests about them: a test that wrote its DST dates out
(2027-03-14, ...) would fail once those dates are past, since ShiftDesk reads and writes only what lies ahead."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def day_length(day: date, zone: ZoneInfo) -> timedelta:
    """How long the local day `day` really lasts in `zone`: 24 hours, or 23/25 on a DST change."""
    midnight = datetime.combine(day, time(0), zone).astimezone(UTC)
    return datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC) - midnight


def next_dst_changes(zone: ZoneInfo, after: date) -> tuple[date, date]:
    """(spring forward, fall back): the first local day after `after` that lasts 23 hours, and the first that
    lasts 25. Both lie within a year and a week of `after` in a zone that keeps DST every year."""
    spring = fall = None
    day = after
    while spring is None or fall is None:
        day += timedelta(days=1)
        if day - after > timedelta(days=372):
            raise ValueError(f"{zone.key} has no DST change in the year after {after}")
        length = day_length(day, zone)
        if spring is None and length < timedelta(hours=24):
            spring = day
        elif fall is None and length > timedelta(hours=24):
            fall = day
    return spring, fall
