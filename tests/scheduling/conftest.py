"""Scheduling fixtures: a site in America/Chicago, a schedule with bob on its roster, a position, shifts, and
a recorder subscribed to the calendar-sync seam."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

CHICAGO = ZoneInfo("America/Chicago")


def local(*args) -> datetime:
    """An aware datetime from Chicago wall-clock time."""
    return datetime(*args, tzinfo=CHICAGO)


class SeamRecorder:
    def __init__(self):
        self.calls: list[list] = []

    def __call__(self, changes):
        self.calls.append(list(changes))

    @property
    def changes(self):
        return [c for call in self.calls for c in call]


@pytest.fixture
def recorder():
    from shiftdesk.scheduling import seam

    rec = SeamRecorder()
    seam.subscribe(rec)
    yield rec
    seam.unsubscribe(rec)


@pytest.fixture
def site(db):
    from shiftdesk.scheduling.models import Site

    return Site.load()


@pytest.fixture
def position(db):
    from shiftdesk.scheduling.models import Position

    return Position.objects.create(name="Reference Desk")


@pytest.fixture
def schedule(db, site, bob):
    from shiftdesk.scheduling.models import Schedule

    schedule = Schedule.objects.create(name="Reference")
    schedule.staff.add(bob)
    return schedule


@pytest.fixture
def other_schedule(db, site, charlie):
    from shiftdesk.scheduling.models import Schedule

    schedule = Schedule.objects.create(name="Circulation")
    schedule.staff.add(charlie)
    return schedule


@pytest.fixture
def future_start():
    """Tomorrow 09:00 Chicago time, so shifts count as upcoming."""
    tomorrow = datetime.now(CHICAGO).date() + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, tzinfo=CHICAGO)


@pytest.fixture
def shift(schedule, position, future_start):
    from shiftdesk.scheduling.models import Shift

    return Shift.objects.create(
        schedule=schedule,
        position=position,
        location="2nd floor",
        start=future_start,
        end=future_start + timedelta(hours=4),
        staff_needed=2,
        note="Bring keys",
    )
