"""The demo library as the world every a11y page sweep runs over: its admin (system admin), a regular staff
member with a calendar connection and a sync log, and a schedule admin (a regular user who administers the
Reference Desk schedule). Real rows through seed_demo, so the pages show what a newcomer sees."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

# The scheduling personas' world (bob on the Reference roster, a Reference Desk shift tomorrow, the seam
# recorder) for the non-browser tests of the grid's in-place answers.
from tests.scheduling.conftest import (  # noqa: F401
    future_start,
    other_schedule,
    position,
    recorder,
    schedule,
    shift,
    site,
)


@dataclass
class DemoWorld:
    admin: object
    staff: object
    schedule_admin: object
    schedule: object
    shift: object
    position: object
    time_off: object


@pytest.fixture
def demo(transactional_db, settings):
    from django.core.management import call_command

    from shiftdesk.accounts.models import User
    from shiftdesk.calendarsync.models import SyncLogEntry
    from shiftdesk.scheduling.demo import ADMIN_EMAIL, DEMO_STAFF
    from shiftdesk.scheduling.models import Position, Schedule, TimeOff
    from tests.calendarsync.ui_factories import log, make_connection

    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115 - closed with the process
    admin = User.objects.get(email=ADMIN_EMAIL)
    staff = User.objects.get(email=DEMO_STAFF[0].email)
    schedule_admin = User.objects.get(email=DEMO_STAFF[1].email)
    reference = Schedule.objects.get(name="Reference Desk")
    reference.admins.add(schedule_admin)
    last = staff.assignments.select_related("shift").order_by("shift__start").last().shift
    connection = make_connection(staff, account_email=staff.email)
    log(connection, "Created the event", shift_ref=last.pk)
    log(
        connection,
        "Outlook said the calendar is full",
        action=SyncLogEntry.Action.UPDATE,
        outcome=SyncLogEntry.Outcome.FAILED,
        shift_ref=last.pk,
    )
    time_off = TimeOff.objects.filter(user=staff).first() or TimeOff.objects.create(
        user=staff, start=last.start, end=last.end, reason="Dentist"
    )
    return DemoWorld(admin, staff, schedule_admin, reference, last, Position.objects.first(), time_off)


@pytest.fixture
def demo_login(chromium, live_server):
    """demo_login(user, viewport=None) -> a page logged in as that demo user, in a fresh browser context."""
    from shiftdesk.scheduling.demo import ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, DEMO_STAFF_PASSWORD

    contexts = []

    def do_login(user, viewport=None):
        context = chromium.new_context(viewport=viewport or {"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        if user is None:
            return page
        page.goto(live_server.url + "/login/")
        page.fill("#id_username", user.email)
        page.fill("#id_password", DEMO_ADMIN_PASSWORD if user.email == ADMIN_EMAIL else DEMO_STAFF_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(live_server.url + "/")
        return page

    yield do_login
    for context in contexts:
        context.close()
